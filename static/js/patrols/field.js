/* The inspector's field app (巡查, docs/domain.md §8, docs/architecture.md §11.5): start and
   stop a patrol, the track drawn live over the inspector's grids with the ones visited today
   shaded, the grids still to visit, components looked up by code, problems reported with
   photos — with or without a network. Everything the inspector does goes through the outbox
   (outbox.js), which sends it, once, when it can; the service worker keeps the page, its
   files and the API answers it read. */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData("field-config");
  var T = {
    idle: gettext("未在巡查"),
    walking: gettext("巡查中"),
    stats: gettext("{time} · {km} 公里 · {n} 个定位点"),
    start: gettext("开始巡查"),
    stop: gettext("结束巡查"),
    started: gettext("巡查已开始。请保持本页打开，定位会自动记录。"),
    stopped: gettext("巡查已结束，轨迹会自动上传。"),
    online: gettext("在线"),
    offline: gettext("离线：数据先保存在手机上"),
    waitingNet: gettext("等待网络：{n} 项待发送"),
    geoUnsupported: gettext("此浏览器无法定位，无法记录巡查轨迹。"),
    geoDenied: gettext("您没有允许定位：请在浏览器设置中允许本站使用位置信息。"),
    geoUnavailable: gettext("暂时无法获取位置，正在重试…"),
    noScope: gettext("您还没有负责的网格，请联系管理员。"),
    visitsSummary: gettext("您负责的 {total} 个网格中，今日还需巡查 {n} 个。"),
    visitsNone: gettext("今日的网格都已巡查。"),
    visitsOffline: gettext("（离线：按上次联网时的数据和本机轨迹计算）"),
    overdue: gettext("已超期"),
    lastVisit: gettext("上次巡查 {when}"),
    never: gettext("从未巡查"),
    visitedNow: gettext("今日已巡"),
    chooseClass: gettext("请选择问题类别。"),
    noPosition: gettext("还没有定位：问题的位置取自地图中心，请把地图移到问题所在处。"),
    whereFix: gettext("位置：当前定位（精度约 {m} 米）"),
    whereMap: gettext("位置：地图中心（未定位）"),
    tooManyPhotos: gettext("每个问题最多 {n} 张照片。"),
    photoTooBig: gettext("照片“{name}”超过 {mb} MB，请换一张较小的照片。"),
    saved: gettext("问题已保存，正在上报…"),
    savedOffline: gettext("问题已保存在手机上，联网后自动上报。"),
    queueSummary: gettext("待发送 {waiting} 项 · 已发送 {sent} 项 · 被拒绝 {refused} 项"),
    queueEmpty: gettext("没有待发送的数据。"),
    kinds: {
      start: gettext("开始巡查"),
      points: gettext("轨迹 {n} 个定位点"),
      end: gettext("结束巡查"),
      report: gettext("上报：{what}")
    },
    states: { waiting: gettext("待发送"), sent: gettext("已发送"), refused: gettext("被拒绝") },
    caseNumber: gettext("案件 #{id}"),
    repeated: gettext("（重复发送，已识别为同一案件）"),
    pointsKept: gettext("保留 {a} 个，剔除 {r} 个"),
    retry: gettext("重试"),
    photos: gettext("{n} 张照片"),
    lookupNone: gettext("手机上保存的部件中没有“{q}”。"),
    lookupFound: gettext("找到 {n} 个部件（本机保存的您网格内的部件）"),
    lookupEmpty: gettext("请输入部件编码或名称。"),
    componentsKept: gettext("已保存您网格内的 {n} 个部件，离线也可查询。"),
    statuses: {
      intact: gettext("完好"), damaged: gettext("破损"), lost: gettext("丢失"),
      occupied: gettext("占用"), abandoned: gettext("废弃")
    },
    loadFailed: gettext("网格数据加载失败：")
  };
  var fmt = GeoGrid.fmt, el = GeoGrid.el, say = GeoGrid.say;
  var $ = function (id) { return document.getElementById(id); };
  var page = document.querySelector(".field-page");
  var today = (function () {  // the phone's own date: the day it is where the inspector walks
    var d = new Date(), pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  })();
  var STATE_KEY = "geogrid-patrol-" + cfg.user;
  var TRACK_KEY = "geogrid-track-" + cfg.user;
  var MAX_TRACK = 20000;

  // --- The map ----------------------------------------------------------------------------------
  var map = GeoGrid.createMap("field-map", { maxZoom: 19, zoomControl: true });
  cfg.map = map;
  var gridLayer = L.geoJSON(null, { interactive: false, style: gridStyle }).addTo(map);
  var componentLayer = L.layerGroup();  // shown from COMPONENTS_FROM_ZOOM on: a blur below it
  var COMPONENTS_FROM_ZOOM = 17;
  map.on("zoomend", function () {
    if (map.getZoom() >= COMPONENTS_FROM_ZOOM) { componentLayer.addTo(map); } else { componentLayer.remove(); }
  });
  var trackLine = L.polyline([], { color: "#1c7ed6", weight: 4, opacity: 0.9, interactive: false }).addTo(map);
  var here = L.circleMarker([0, 0], { radius: 7, color: "#fff", weight: 2, fillColor: "#1c7ed6", fillOpacity: 1, interactive: false });

  var grids = [];            // the unit grids of the inspector's scope (GeoJSON features)
  var visitedToday = {};     // code → true: from the server's coverage and this phone's fixes
  var dueToday = {};         // code → the server's visit state
  var components = [];       // the components of the scope, kept for offline look-ups
  var outbox = null;
  var lastFix = null;        // the latest position (any accuracy), for reports
  var patrol = load(STATE_KEY, null);   // {client, startedAt}
  var track = load(TRACK_KEY, { day: today, fixes: [] });
  if (track.day !== today) { track = { day: today, fixes: [] }; }
  var buffer = [];           // fixes kept but not yet in the outbox
  var watchId = null, lastKeptAt = 0;

  function load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function store(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full: the outbox has the fixes */ }
  }

  // Grids and components are GeoJSON features whose id is their code.
  function codeOf(feature) { return String(feature.id != null ? feature.id : feature.properties.code); }

  function gridStyle(feature) {
    var code = codeOf(feature);
    if (visitedToday[code]) {
      return { color: "#2e9d4a", weight: 2, fillColor: "#7cc68d", fillOpacity: 0.45 };
    }
    if (dueToday[code]) {
      return { color: "#e8590c", weight: 3, dashArray: "6 4", fillOpacity: 0.05, fillColor: "#e8590c" };
    }
    return { color: "#12355b", weight: 2, fillOpacity: 0.04 };
  }

  // Point in polygon (ray casting) over a GeoJSON Polygon/MultiPolygon: grids are ~100 m.
  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
    }
    return inside;
  }
  function inGeometry(x, y, geometry) {
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return polygons.some(function (rings) {
      return inRing(x, y, rings[0]) && !rings.slice(1).some(function (hole) { return inRing(x, y, hole); });
    });
  }
  function gridAt(x, y) {
    var found = grids.find(function (f) { return f.geometry && inGeometry(x, y, f.geometry); });
    return found ? codeOf(found) : null;
  }

  // --- Loading what the page shows (the service worker keeps these answers) --------------------
  function getAll(url) {
    return GeoGridApi.request(url).then(function (body) { return body.features || body.results || []; });
  }
  function loadGrids() {
    if (!cfg.scope.length) { say(T.noScope, "warn"); return Promise.resolve(); }
    return Promise.all(cfg.scope.map(function (s) {
      return getAll(cfg.urls.grids + "?within=" + encodeURIComponent(s.code) + "&level=" + encodeURIComponent(cfg.leafLevel) + "&page_size=1000");
    })).then(function (lists) {
      var seen = {};
      grids = [].concat.apply([], lists).filter(function (f) {
        if (seen[codeOf(f)]) { return false; }
        seen[codeOf(f)] = true;
        return true;
      });
      gridLayer.clearLayers();
      gridLayer.addData(grids);
      if (grids.length) { map.fitBounds(gridLayer.getBounds(), { padding: [20, 20], maxZoom: 18 }); }
      track.fixes.forEach(function (fix) { markVisited(fix[0], fix[1]); });
    }, function (error) { GeoGrid.showError($("message"), T.loadFailed, error); });
  }
  function loadVisits() {
    var day = "?day=" + today;
    return Promise.all([
      GeoGridApi.request(cfg.urls.visits + "?today=1").catch(function () { return null; }),
      GeoGridApi.request(cfg.urls.coverage + day).catch(function () { return null; })
    ]).then(function (answers) {
      if (answers[0]) {
        dueToday = {};
        answers[0].results.forEach(function (row) { dueToday[row.grid] = row; });
      }
      if (answers[1]) {
        answers[1].results.forEach(function (row) { if (row.visits > 0) { visitedToday[row.grid] = true; } });
      }
      redrawVisits(!answers[0]);
    });
  }
  function loadComponents() {
    return Promise.all(cfg.scope.map(function (s) {
      return getAll(cfg.urls.components + "?grid=" + encodeURIComponent(s.code) + "&page_size=1000");
    })).then(function (lists) {
      components = [].concat.apply([], lists);
      componentLayer.clearLayers();
      components.forEach(function (f) {
        if (!f.geometry || f.geometry.type !== "Point") { return; }
        var c = f.geometry.coordinates;
        L.circleMarker([c[1], c[0]], { radius: 4, color: "#fff", weight: 1, fillColor: "#6b7785", fillOpacity: 0.9, interactive: false }).addTo(componentLayer);
      });
      if (components.length) { $("lookup-summary").textContent = fmt(T.componentsKept, { n: components.length }); }
    }, function () { /* offline without a kept copy: look-ups say so */ });
  }
  function loadClasses() {
    return GeoGridApi.request(cfg.urls.classes).then(function (body) {
      var rows = Array.isArray(body) ? body : (body.results || []);
      var select = $("report-class");
      // A component's category needs the component's code: the component finder reports those.
      rows.filter(function (c) { return c.kind !== "component"; })
        .forEach(function (c) {
          select.appendChild(el("option", { value: c.service_code }, c.service_code + " " + (GeoGrid.english && c.name_en ? c.name_en : c.name)));
        });
    }).catch(function () { /* offline without a kept copy */ });
  }

  // --- Visits -------------------------------------------------------------------------------------
  function markVisited(x, y) {
    var code = gridAt(x, y);
    if (code && !visitedToday[code]) {
      visitedToday[code] = true;
      gridLayer.setStyle(gridStyle);
      redrawVisits(false);
    }
  }
  function redrawVisits(offline) {
    gridLayer.setStyle(gridStyle);
    var list = $("visit-list");
    list.replaceChildren();
    var due = Object.keys(dueToday).filter(function (code) { return !visitedToday[code]; }).sort();
    due.forEach(function (code) {
      var row = dueToday[code];
      list.appendChild(el("li", { dataset: { grid: code } }, [
        el("span", { className: "what" }, row.name && row.name !== code ? [row.name, el("br"), el("span", { className: "code" }, code)] : el("span", { className: "code" }, code)),
        el("span", { className: "muted" }, row.overdue ? T.overdue : (row.last_visit ? fmt(T.lastVisit, { when: GeoGrid.when(row.last_visit, { month: "numeric", day: "numeric" }) }) : T.never))
      ]));
    });
    var text = due.length ? fmt(T.visitsSummary, { total: grids.length || Object.keys(dueToday).length, n: due.length }) : T.visitsNone;
    $("visits-summary").textContent = text + (offline ? " " + T.visitsOffline : "");
  }

  // --- The patrol -------------------------------------------------------------------------------
  function startPatrol() {
    if (!navigator.geolocation) { say(T.geoUnsupported, "error"); return; }
    var client = GeoGridOutbox.uuid();
    patrol = { client: client, startedAt: new Date().toISOString() };
    store(STATE_KEY, patrol);
    outbox.add({ kind: "start", patrol: client, body: { id: client, started_at: patrol.startedAt } })
      .then(function () { return outbox.flush(); });
    watch();
    say(T.started, "ok");
    drawState();
  }
  function stopPatrol() {
    var client = patrol.client;
    stopWatching();
    sendFixes().then(function () {
      return outbox.add({ kind: "end", patrol: client, body: { ended_at: new Date().toISOString() } });
    }).then(function () { return outbox.flush(); });
    patrol = null;
    localStorage.removeItem(STATE_KEY);
    say(T.stopped, "ok");
    drawState();
  }
  function watch() {
    if (watchId !== null || !navigator.geolocation) { return; }
    watchId = navigator.geolocation.watchPosition(onFix, onFixError, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
  }
  function stopWatching() {
    if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
  }
  function onFix(position) {
    var c = position.coords;
    var at = position.timestamp || Date.now();
    lastFix = { x: c.longitude, y: c.latitude, accuracy: c.accuracy, at: at };
    here.setLatLng([c.latitude, c.longitude]);
    if (!map.hasLayer(here)) { here.addTo(map); }
    drawWhere();
    if (!patrol || at - lastKeptAt < cfg.fixEverySeconds * 1000) { return; }
    lastKeptAt = at;
    buffer.push({ id: GeoGridOutbox.uuid(), t: new Date(at).toISOString(), x: c.longitude, y: c.latitude, accuracy: Math.round(c.accuracy * 10) / 10 });
    track.fixes.push([c.longitude, c.latitude, at]);
    if (track.fixes.length > MAX_TRACK) { track.fixes.shift(); }
    store(TRACK_KEY, track);
    trackLine.addLatLng([c.latitude, c.longitude]);
    markVisited(c.longitude, c.latitude);
    drawState();
  }
  function onFixError(error) {
    say(error.code === 1 ? T.geoDenied : T.geoUnavailable, error.code === 1 ? "error" : "warn");
  }
  function sendFixes() {
    if (!patrol || !buffer.length) { return Promise.resolve(); }
    var points = buffer.splice(0, buffer.length);
    return outbox.add({ kind: "points", patrol: patrol.client, body: { crs: "EPSG:4326", points: points } })
      .then(function () { return outbox.flush(); });
  }

  function metresAlong(fixes) {
    var total = 0;
    for (var i = 1; i < fixes.length; i++) {
      total += map.distance([fixes[i - 1][1], fixes[i - 1][0]], [fixes[i][1], fixes[i][0]]);
    }
    return total;
  }
  function drawState() {
    page.classList.toggle("walking", !!patrol);
    $("patrol-state").textContent = patrol ? T.walking : T.idle;
    $("patrol-toggle").textContent = patrol ? T.stop : T.start;
    if (patrol) {
      var since = Date.parse(patrol.startedAt);
      var mine = track.fixes.filter(function (f) { return f[2] >= since; });
      var seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
      var time = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60]
        .map(function (n) { return (n < 10 ? "0" : "") + n; }).join(":");
      $("patrol-stats").textContent = fmt(T.stats, { time: time, km: (metresAlong(mine) / 1000).toFixed(2), n: mine.length });
    } else {
      $("patrol-stats").textContent = "";
    }
  }

  // --- Reports ------------------------------------------------------------------------------------
  function drawWhere() {
    $("report-where").textContent = lastFix ? fmt(T.whereFix, { m: Math.round(lastFix.accuracy) }) : T.whereMap;
  }
  function submitReport(event) {
    event.preventDefault();
    var code = $("report-class").value;
    if (!code) { say(T.chooseClass, "error"); return; }
    var files = Array.prototype.slice.call($("report-photo").files || []);
    if (files.length > cfg.maxPhotos) { say(fmt(T.tooManyPhotos, { n: cfg.maxPhotos }), "error"); return; }
    var big = files.find(function (f) { return f.size > cfg.maxPhotoMB * 1024 * 1024; });
    if (big) { say(fmt(T.photoTooBig, { name: big.name, mb: cfg.maxPhotoMB }), "error"); return; }
    var where = lastFix || (function () { var c = map.getCenter(); return { x: c.lng, y: c.lat }; })();
    if (!lastFix) { say(T.noPosition, "warn"); }
    var id = GeoGridOutbox.uuid();
    var item = {
      id: id,
      kind: "report",
      label: $("report-class").selectedOptions[0].textContent,
      body: {
        service_code: code,
        description: $("report-description").value.trim(),
        lon: where.x,
        lat: where.y,
        crs: "EPSG:4326",
        channel: "inspector",
        client_id: id,
        observed_at: new Date().toISOString()
      },
      photos: files.map(function (f) { return { blob: f, name: f.name }; })
    };
    outbox.add(item).then(function () {
      $("report-form").reset();
      say(navigator.onLine ? T.saved : T.savedOffline, "ok");
      return outbox.flush();
    });
  }

  // --- Component look-up among the kept components ------------------------------------------------
  function lookup(event) {
    event.preventDefault();
    var q = $("lookup-input").value.trim();
    var list = $("lookup-list");
    list.replaceChildren();
    if (!q) { $("lookup-summary").textContent = T.lookupEmpty; return; }
    var found = components.filter(function (f) {
      var p = f.properties;
      return codeOf(f).indexOf(q) === 0 || (p.name || "").indexOf(q) >= 0 || (p.class_name || "").indexOf(q) >= 0;
    }).slice(0, 50);
    $("lookup-summary").textContent = found.length ? fmt(T.lookupFound, { n: found.length }) : fmt(T.lookupNone, { q: q });
    found.forEach(function (f) {
      var p = f.properties;
      list.appendChild(el("li", {}, [
        el("span", { className: "what" }, [el("strong", {}, p.class_name || p.name || ""), el("br"), el("span", { className: "code" }, codeOf(f))]),
        el("span", { className: "muted" }, T.statuses[p.status] || p.status_label || p.status || "")
      ]));
    });
  }

  // --- The queue ------------------------------------------------------------------------------------
  function describe(item) {
    if (item.kind === "points") {
      var fixes = item.batches.reduce(function (n, b) { return n + b.body.points.length; }, 0);
      return fmt(T.kinds.points, { n: fixes });
    }
    if (item.kind === "report") {
      var text = fmt(T.kinds.report, { what: item.label || item.body.service_code });
      var n = (item.photos || []).length || (item.photoCount || 0);
      return n ? text + " · " + fmt(T.photos, { n: n }) : text;
    }
    return T.kinds[item.kind];
  }
  function outcome(item) {
    var a = item.answer || {};
    if (item.status !== "sent") { return ""; }
    if (item.kind === "report") { return fmt(T.caseNumber, { id: a.id }) + (a.repeated ? " " + T.repeated : ""); }
    if (item.kind === "points") {
      var kept = 0, dropped = 0;
      item.batches.forEach(function (b) {
        var s = b.answer || {};
        kept += s.accepted || 0;
        dropped += (s.jump || 0) + (s.inaccurate || 0);
      });
      return fmt(T.pointsKept, { a: kept, r: dropped });
    }
    return "";
  }
  function drawQueue() {
    return outbox.list().then(function (items) {
      var counts = { waiting: 0, sent: 0, refused: 0 };
      items.forEach(function (i) { counts[i.status] += 1; });
      $("queue-count").textContent = counts.waiting ? String(counts.waiting) : "";
      $("queue-summary").textContent = items.length ? fmt(T.queueSummary, counts) + (outbox.blocked ? " · " + outbox.blocked : "") : T.queueEmpty;
      var list = $("queue-list");
      list.replaceChildren();
      // What needs the inspector first (refused), then what waits, then what went; newest
      // first in each; a patrol's batches of fixes in a row shown as one line.
      var rank = { refused: 0, waiting: 1, sent: 2 };
      var rows = [];
      items.slice().reverse().forEach(function (item) {
        var last = rows[rows.length - 1];
        if (last && item.kind === "points" && last.kind === "points" && last.patrol === item.patrol && last.status === item.status) {
          last.batches.push(item);
          return;
        }
        rows.push(Object.assign({}, item, { batches: [item] }));
      });
      rows.sort(function (a, b) { return rank[a.status] - rank[b.status]; });
      rows.slice(0, 200).forEach(function (item) {
        var parts = [
          el("span", { className: "state" }, T.states[item.status]),
          el("span", { className: "what" }, describe(item)),
          el("span", { className: "when" }, GeoGrid.when(item.created, { hour: "2-digit", minute: "2-digit", second: "2-digit" }))
        ];
        var result = outcome(item);
        if (result) { parts.push(el("span", { className: "muted" }, result)); }
        if (item.status === "refused") {
          parts.push(el("span", { className: "reason" }, item.error || ""));
          var again = el("button", { type: "button" }, T.retry);
          again.addEventListener("click", function () { outbox.retry(item.id); });
          parts.push(again);
        }
        list.appendChild(el("li", { className: item.status, dataset: { kind: item.kind, id: item.id } }, parts));
      });
      drawNet(counts.waiting);
      page.dataset.waiting = String(counts.waiting);
      page.dataset.sent = String(counts.sent);
      page.dataset.refused = String(counts.refused);
    });
  }
  function drawNet(waiting) {
    var net = $("net-state");
    var offline = !navigator.onLine;
    net.className = "net" + (offline ? " offline" : (waiting ? " waiting" : ""));
    net.textContent = offline ? T.offline : (waiting ? fmt(T.waitingNet, { n: waiting }) : T.online);
  }

  // --- Tabs --------------------------------------------------------------------------------------------
  var tabs = ["visits", "report", "lookup", "queue"];
  tabs.forEach(function (name) {
    $("tab-" + name).addEventListener("click", function () {
      tabs.forEach(function (other) {
        $("tab-" + other).setAttribute("aria-selected", String(other === name));
        $("pane-" + other).hidden = other !== name;
      });
      // Not patrolling, the last fix may be old: a report needs where the inspector is now.
      if (name === "report" && watchId === null && navigator.geolocation) {
        navigator.geolocation.getCurrentPosition(onFix, function () { drawWhere(); }, { enableHighAccuracy: true, maximumAge: 0, timeout: 15000 });
      }
    });
  });

  // --- Offline: the service worker keeps this page, its files and what it read ------------------
  function keepForOffline() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register(cfg.urls.serviceWorker, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var urls = [location.pathname];
      document.querySelectorAll("script[src]").forEach(function (s) { urls.push(s.getAttribute("src")); });
      document.querySelectorAll("link[rel=stylesheet], link[rel=manifest], link[rel=apple-touch-icon]").forEach(function (l) { urls.push(l.getAttribute("href")); });
      cfg.keep.forEach(function (u) { urls.push(u); });
      cfg.scope.forEach(function (s) {
        urls.push(cfg.urls.grids + "?within=" + encodeURIComponent(s.code) + "&level=" + encodeURIComponent(cfg.leafLevel) + "&page_size=1000");
        urls.push(cfg.urls.components + "?grid=" + encodeURIComponent(s.code) + "&page_size=1000");
      });
      urls.push(cfg.urls.classes, cfg.urls.visits + "?today=1", cfg.urls.coverage + "?day=" + today);
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "precached") { document.body.dataset.offlineReady = "1"; }
      });
      registration.active.postMessage({ type: "precache", urls: urls });
    }).catch(function () { /* no service worker (an insecure origin): online only */ });
  }

  // --- Start -----------------------------------------------------------------------------------------
  $("patrol-toggle").addEventListener("click", function () { if (patrol) { stopPatrol(); } else { startPatrol(); } });
  $("report-form").addEventListener("submit", submitReport);
  $("lookup-form").addEventListener("submit", lookup);
  $("send-now").addEventListener("click", function () { outbox.flush(); });
  window.addEventListener("online", function () { drawQueue(); outbox.flush(); loadVisits(); });
  window.addEventListener("offline", function () { drawQueue(); });
  window.addEventListener("pagehide", function () { sendFixes(); });

  trackLine.setLatLngs(track.fixes.map(function (f) { return [f[1], f[0]]; }));
  drawWhere();
  GeoGridOutbox.open(cfg.user, cfg.urls, cfg.placeholder).then(function (box) {
    outbox = box;
    cfg.outbox = box;  // for the console and the browser tests
    outbox.onchange(function () { drawQueue(); });
    drawState();
    drawQueue();
    outbox.tidy();
    if (patrol) { watch(); }
    setInterval(function () { sendFixes(); drawState(); }, cfg.sendEverySeconds * 1000);
    setInterval(function () { if (navigator.onLine) { outbox.flush(); } }, 15000);
    return Promise.all([loadGrids(), loadClasses()]).then(function () {
      return Promise.all([loadVisits(), loadComponents()]);
    });
  }).then(function () {
    outbox.flush();
    keepForOffline();
    document.body.dataset.ready = "1";
  });
})();
