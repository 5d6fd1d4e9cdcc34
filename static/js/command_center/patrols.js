/* The command center's patrol page (巡查监管): a day's tracks (tracks tiles), coverage per unit
   grid as a choropleth with the grids overdue for a visit outlined (grid tiles coloured from the
   coverage and visits APIs), the overdue list, patrol indicators per inspector and per grid
   beside the case indicators, and the replay of one inspector's day: the track, a marker moving
   along it with a time slider and a play button, and the reports of the day at their time with
   their path check. Works without a basemap. */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData("pt-config");
  var T = {  // the script's words: gettext() from the djangojs catalogue (/jsi18n/)
    loading: gettext("正在加载…"),
    failed: gettext("部分数据未能加载："),
    forbidden: gettext("您的角色无权查看指挥中心数据，请重新登录。"),
    none: "—",
    cards: {
      patrols: gettext("巡查人次"),
      distance: gettext("巡查里程"),
      hours: gettext("巡查时长"),
      coverage: gettext("责任网格覆盖率"),
      inspectorReports: gettext("监督员上报"),
      flagged: gettext("轨迹异常上报"),
      overdueGrids: gettext("超期未巡网格"),
      reported: gettext("上报数"),
      closing_rate: gettext("结案率"),
      on_time_rate: gettext("按期结案率")
    },
    cardSub: {
      patrols: gettext("{n} 名监督员巡查"),
      distance: gettext("平均每人 {km} 公里"),
      hours: gettext("每小时上报 {rate} 件"),
      coverage: gettext("各监督员责任网格平均"),
      inspectorReports: gettext("占全部上报 {share}"),
      flagged: gettext("偏离轨迹 {off}，无巡查轨迹 {none}"),
      overdueGrids: gettext("其中从未巡查 {n} 个"),
      reported: gettext("案件指标（全部来源）"),
      closing_rate: gettext("{closed} / {due} 应结案"),
      on_time_rate: gettext("{closed_on_time} / {closed} 结案")
    },
    km: gettext("{km} 公里"),
    hoursMinutes: gettext("{h} 小时 {m} 分"),
    minutes: gettext("{m} 分"),
    perHour: gettext("{n} 件/小时"),
    flaggedCell: gettext("{n}（偏离 {off}，无轨迹 {none}）"),
    replay: gettext("回放"),
    legendTitle: gettext("当日网格覆盖率"),
    legendNone: gettext("未巡查"),
    legendOverdue: gettext("超期未巡"),
    legendTrack: gettext("巡查轨迹"),
    legendReplay: gettext("回放轨迹"),
    overdueMore: gettext("另有 {n} 个未列出。"),
    neverVisited: gettext("从未巡查"),
    lastVisit: gettext("最近 {when}"),
    everyDays: gettext("每 {n} 个工作日"),
    everyCalendarDays: gettext("每 {n} 天"),
    inspectorNote: gettext("{n} 名，按里程排序"),
    gridNote: gettext("{n} 个网格，按覆盖率排序"),
    gridMore: gettext("显示前 {shown} 个，共 {n} 个"),
    replayNone: gettext("{name} 在 {day} 没有巡查轨迹。"),
    replayFacts: gettext("{name} · {n} 次巡查 · {km} 公里 · 剔除 {rejected} 个异常点"),
    play: gettext("播放"),
    pause: gettext("暂停"),
    notRecording: gettext("（未记录轨迹）"),
    onPatrol: gettext("第 {n} 次巡查"),
    reportAt: gettext("#{id} {name}"),
    distance: gettext("距轨迹 {d} 米"),
    pathCheck: {
      on_track: gettext("轨迹相符"),
      off_track: gettext("偏离轨迹"),
      no_track: gettext("无巡查轨迹"),
      "": gettext("未核查")
    },
    openInDesk: gettext("查看案件"),
    openInDeskTitle: gettext("在案件受理台打开"),
    choose: gettext("请选择监督员。")
  };
  var EN = GeoGrid.english;
  var LOCALE = GeoGrid.locale;
  // Coverage classes (share walked): ColorBrewer Greens, the upper bounds of each class.
  var SHARE_CLASSES = [[0.25, "#c7e9c0"], [0.5, "#74c476"], [0.75, "#31a354"], [1.0001, "#006d2c"]];
  // Dark, saturated lines that stand out on the greens; orange is the replay's.
  var TRACK_COLOURS = ["#1f4e9c", "#6a3d9a", "#c2185b", "#00838f", "#5d4037", "#283593", "#ad1457"];
  var CHECK_COLOURS = { on_track: "#2e9d4a", off_track: "#c0281c", no_track: "#e08a00", "": "#8a939b" };
  // A silence longer than this is not drawn across (GEOGRID_PATROL_GAP_S, docs/domain.md §8.2).
  var GAP_S = cfg.patrolGapSeconds || 300;
  var REFRESH_MS = 60 * 1000;

  function $(id) { return document.getElementById(id); }
  var fmt = GeoGrid.fmt, el = GeoGrid.el, say = GeoGrid.say;
  function number(n) { return n === null || n === undefined ? T.none : Number(n).toLocaleString(LOCALE); }
  function percent(rate) {
    return rate === null || rate === undefined ? T.none : (rate * 100).toFixed(1).replace(/\.0$/, "") + "%";
  }
  function km(metres) { return fmt(T.km, { km: (metres / 1000).toFixed(1) }); }
  function duration(seconds) {
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) { return fmt(T.minutes, { m: minutes }); }
    return fmt(T.hoursMinutes, { h: Math.floor(minutes / 60), m: minutes % 60 });
  }
  function localName(item, field) { return (EN && item[field + "_en"]) || item[field] || ""; }
  function gridLabel(name, code) { return !name || name === code ? code : name + " · " + code; }
  function clock(epochSeconds) {
    return GeoGrid.when(new Date(epochSeconds * 1000).toISOString(),
                        { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function shortWhen(iso) {
    return GeoGrid.when(iso, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) || T.none;
  }
  function api(address) {
    return GeoGridApi.request(address).catch(function (error) {
      if (error.status === 403) { error.message = T.forbidden; }
      throw error;
    });
  }
  function query(params) {
    var search = new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      if (params[key] !== null && params[key] !== undefined && params[key] !== "") { search.set(key, params[key]); }
    });
    return "?" + search.toString();
  }

  var cityToday = GeoGrid.days.today, addDays = GeoGrid.days.add, midnight = GeoGrid.days.midnight;

  var wanted = new URLSearchParams(window.location.search);
  var state = {
    day: /^\d{4}-\d{2}-\d{2}$/.test(wanted.get("day") || "") ? wanted.get("day") : cityToday(),
    days: ["1", "7", "30"].indexOf(wanted.get("days")) >= 0 ? Number(wanted.get("days")) : 1
  };
  function period() {
    var first = addDays(state.day, 1 - state.days);
    return { first: first, last: state.day, since: midnight(first), until: midnight(addDays(state.day, 1)) };
  }
  function remember(inspector) {
    var params = new URLSearchParams();
    params.set("day", state.day);
    if (state.days !== 1) { params.set("days", String(state.days)); }
    if (inspector) { params.set("inspector", inspector); }
    history.replaceState(null, "", window.location.pathname + "?" + params.toString());
  }

  // --- Map ------------------------------------------------------------------------------------
  var map = GeoGrid.createMap("pt-map", { preferCanvas: true, maxZoom: 19, zoomSnap: 1,
                                          view: !cfg.bounds });
  cfg.map = map;
  if (cfg.bounds) {
    map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], { animate: false });
  }
  var shares = {};    // unit grid code -> share walked on the day (coverage API)
  var overdue = {};   // unit grid code -> true when overdue for a visit (visits API)
  function shareColour(share) {
    if (!share) { return null; }
    for (var i = 0; i < SHARE_CLASSES.length; i++) {
      if (share < SHARE_CLASSES[i][0]) { return SHARE_CLASSES[i][1]; }
    }
    return SHARE_CLASSES[SHARE_CLASSES.length - 1][1];
  }
  // Unit grids from the vector tiles, filled by the day's coverage; the overdue ones outlined
  // in red. Non-interactive (docs/architecture.md §8.4).
  var gridLayer = L.vectorGrid.protobuf(cfg.urls.gridTiles + "?level=unit", {
    interactive: false, maxNativeZoom: Math.min(18, cfg.tileMaxZoom),
    rendererFactory: L.canvas.tile,
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: {
      grids: function (properties, zoom) {
        var fill = shareColour(shares[properties.code]);
        var late = overdue[properties.code];
        // Overdue and not walked on the day: a faint red fill (thousands of red outlines would
        // hide everything zoomed out); close up (zoom 16) a red outline as well.
        var near = zoom >= 16;
        if (!fill && late) {
          return { weight: near ? 1.2 : 0.4, color: near ? "#c0281c" : "#5b6b7b",
                   opacity: near ? 0.8 : 0.2, fill: true, fillColor: "#e4572e", fillOpacity: 0.14 };
        }
        return { weight: late && near ? 1.2 : 0.4,
                 color: late && near ? "#c0281c" : "#5b6b7b",
                 opacity: late && near ? 0.8 : (zoom >= 15 ? 0.35 : 0.12),
                 fill: !!fill, fillColor: fill || "#000", fillOpacity: fill ? 0.72 : 0 };
      }
    }
  }).addTo(map);
  map.createPane("streets").style.zIndex = 420;
  map.getPane("streets").style.pointerEvents = "none";
  L.vectorGrid.protobuf(cfg.urls.gridTiles + "?level=street", {
    interactive: false, maxNativeZoom: Math.min(18, cfg.tileMaxZoom),
    rendererFactory: L.canvas.tile, pane: "streets",
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: { grids: { weight: 1.4, color: "#12355b", opacity: 0.6, fill: false } }
  }).addTo(map);

  // The day's tracks (tracks tiles: ended patrols' lines and the lines of patrols still
  // walking), one colour per inspector.
  map.createPane("tracks").style.zIndex = 440;
  map.getPane("tracks").style.pointerEvents = "none";
  function trackColour(inspectorId) { return TRACK_COLOURS[Number(inspectorId) % TRACK_COLOURS.length]; }
  var trackLayer = null;
  var trackTiles = 0;
  function showTracks() {
    if (trackLayer) { map.removeLayer(trackLayer); }
    trackLayer = L.vectorGrid.protobuf(cfg.urls.trackTiles + query({ day: state.day }), {
      interactive: false, maxNativeZoom: Math.min(18, cfg.tileMaxZoom),
      rendererFactory: L.canvas.tile, pane: "tracks",
      fetchOptions: { credentials: "same-origin" },
      vectorTileLayerStyles: {
        tracks: function (properties) {
          return { weight: 2.5, color: trackColour(properties.inspector), opacity: 0.85,
                   dashArray: properties.status === "active" ? "6 4" : null };
        }
      }
    });
    trackLayer.on("tileload", function () {
      trackTiles += 1;
      document.body.dataset.trackTiles = String(trackTiles);
    });
    trackLayer.addTo(map);
  }

  // Legend (a Leaflet control).
  var Legend = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "cc-map-panel pt-legend");
      L.DomEvent.disableClickPropagation(box);
      box.appendChild(el("div", { className: "legend-title" }, T.legendTitle));
      var list = el("ul", { className: "legend-classes", id: "pt-legend" });
      var low = 0;
      SHARE_CLASSES.forEach(function (item) {
        var swatch = el("span", { className: "swatch" });
        swatch.style.background = item[1];
        var high = Math.min(1, item[0]);
        list.appendChild(el("li", {}, [swatch, Math.round(low * 100) + "–" + Math.round(high * 100) + "%"]));
        low = high;
      });
      list.appendChild(el("li", {}, [el("span", { className: "swatch zero" }), T.legendNone]));
      list.appendChild(el("li", {}, [el("span", { className: "swatch late" }), T.legendOverdue]));
      list.appendChild(el("li", {}, [el("span", { className: "line-swatch" }), T.legendTrack]));
      list.appendChild(el("li", {}, [el("span", { className: "line-swatch replay" }), T.legendReplay]));
      box.appendChild(list);
      return box;
    }
  });
  new Legend().addTo(map);

  // --- Cards ----------------------------------------------------------------------------------
  var CARD_KEYS = ["patrols", "distance", "hours", "coverage", "inspectorReports", "flagged",
                   "overdueGrids", "reported", "closing_rate", "on_time_rate"];
  var cardNodes = {};
  CARD_KEYS.forEach(function (key) {
    var value = el("span", { className: "kpi-value" }, T.none);
    var sub = el("span", { className: "kpi-sub" }, "");
    var card = el("div", { className: "kpi" + (key === "reported" || /_rate$/.test(key) ? " case-kpi" : ""),
                           dataset: { key: key } },
                  [el("span", { className: "kpi-label", title: T.cards[key] }, T.cards[key]), value, sub]);
    $("pt-cards").appendChild(card);
    cardNodes[key] = { card: card, value: value, sub: sub };
  });
  function setCard(key, shown, raw, sub) {
    var node = cardNodes[key];
    node.value.textContent = shown;
    node.card.dataset.value = raw === null || raw === undefined ? "" : String(raw);
    node.sub.textContent = sub || "";
    node.sub.title = node.sub.textContent;
  }
  var totals = { inspectors: null, cases: null, visits: null };
  function fillCards() {
    var rows = totals.inspectors, cases = totals.cases, visits = totals.visits;
    if (rows) {
      var sum = function (key) { return rows.reduce(function (a, r) { return a + (r[key] || 0); }, 0); };
      var walkers = rows.filter(function (r) { return r.patrols > 0; }).length;
      var seconds = sum("seconds"), reports = sum("reports");
      var withGrids = rows.filter(function (r) { return r.mean_share !== null; });
      var coverage = withGrids.length ?
        withGrids.reduce(function (a, r) { return a + r.mean_share; }, 0) / withGrids.length : null;
      setCard("patrols", number(sum("patrols")), sum("patrols"), fmt(T.cardSub.patrols, { n: walkers }));
      setCard("distance", km(sum("distance_m")), Math.round(sum("distance_m")),
              fmt(T.cardSub.distance, { km: walkers ? (sum("distance_m") / walkers / 1000).toFixed(1) : 0 }));
      setCard("hours", duration(seconds), Math.round(seconds),
              fmt(T.cardSub.hours, { rate: seconds ? (reports / (seconds / 3600)).toFixed(2) : T.none }));
      setCard("coverage", percent(coverage), coverage, T.cardSub.coverage);
      setCard("inspectorReports", number(reports), reports,
              cases && cases.reported ? fmt(T.cardSub.inspectorReports, { share: percent(reports / cases.reported) }) : "");
      setCard("flagged", number(sum("flagged")), sum("flagged"),
              fmt(T.cardSub.flagged, { off: sum("off_track"), none: sum("no_track") }));
      cardNodes.flagged.card.classList.toggle("alert", sum("flagged") > 0);
    }
    if (visits) {
      var never = (visits.results || []).filter(function (r) { return !r.last_visit; }).length;
      setCard("overdueGrids", number(visits.overdue), visits.overdue,
              fmt(T.cardSub.overdueGrids, { n: number(never) }));
      cardNodes.overdueGrids.card.classList.toggle("alert", visits.overdue > 0);
    }
    if (cases) {
      setCard("reported", number(cases.reported), cases.reported, T.cardSub.reported);
      setCard("closing_rate", percent(cases.closing_rate), cases.closing_rate,
              fmt(T.cardSub.closing_rate, { closed: number(cases.closed), due: number(cases.due) }));
      setCard("on_time_rate", percent(cases.on_time_rate), cases.on_time_rate,
              fmt(T.cardSub.on_time_rate, { closed_on_time: number(cases.closed_on_time), closed: number(cases.closed) }));
    }
  }

  // --- Indicator tables -------------------------------------------------------------------------
  function cell(value, className) { return el("td", { className: className || "num" }, value); }
  function flaggedCell(row) {
    var td = cell(row.flagged ? fmt(T.flaggedCell, { n: row.flagged, off: row.off_track, none: row.no_track })
                              : "0");
    if (row.flagged) { td.classList.add("flagged"); }
    return td;
  }
  function fillInspectors(body) {
    var tbody = $("inspector-table").querySelector("tbody");
    tbody.replaceChildren();
    var rows = body.rows || [];
    totals.inspectors = rows;
    $("inspector-empty").hidden = rows.length > 0;
    $("inspector-note").textContent = fmt(T.inspectorNote, { n: rows.length });
    rows.forEach(function (row) {
      var button = el("button", { type: "button", className: "link replay-link",
                                  dataset: { inspector: row.inspector_id } }, T.replay);
      button.addEventListener("click", function () { loadReplay(String(row.inspector_id)); });
      tbody.appendChild(el("tr", { dataset: { inspector: row.inspector_id } }, [
        el("th", { scope: "row" }, [el("span", { className: "dot" }), row.name]),
        cell(number(row.patrols)),
        cell(km(row.distance_m)),
        cell(duration(row.seconds)),
        cell(percent(row.mean_share)),
        cell(number(row.reports)),
        cell(row.reports_per_hour === null ? T.none : fmt(T.perHour, { n: row.reports_per_hour })),
        flaggedCell(row),
        el("td", {}, button)
      ]));
      tbody.lastChild.querySelector(".dot").style.background = trackColour(row.inspector_id);
    });
  }
  function fillGrids(body) {
    var tbody = $("grid-table").querySelector("tbody");
    tbody.replaceChildren();
    var rows = body.rows || [];
    $("grid-empty").hidden = rows.length > 0;
    $("grid-note").textContent = body.count > rows.length ?
      fmt(T.gridMore, { shown: rows.length, n: body.count }) : fmt(T.gridNote, { n: body.count });
    rows.forEach(function (row) {
      var button = el("button", { type: "button", className: "link", dataset: { code: row.code } },
                      gridLabel(row.name, row.code));
      button.addEventListener("click", function () { zoomToGrid(row.code); });
      tbody.appendChild(el("tr", { dataset: { code: row.code } }, [
        el("th", { scope: "row", className: "code" }, button),
        cell(percent(row.share)),
        cell(duration(row.seconds)),
        cell(number(row.visits)),
        cell(shortWhen(row.last_visit), ""),
        cell(km(row.distance_m)),
        cell(number(row.reports)),
        flaggedCell(row)
      ]));
    });
  }

  // --- Overdue grids ----------------------------------------------------------------------------
  var OVERDUE_SHOWN = 50;
  function fillOverdue(body) {
    overdue = {};
    var rows = (body.results || []).slice();
    rows.forEach(function (r) { overdue[r.grid] = true; });
    totals.visits = body;
    // Longest without a visit first: never visited, then the oldest last visit.
    rows.sort(function (a, b) {
      if (!a.last_visit !== !b.last_visit) { return a.last_visit ? 1 : -1; }
      return (a.last_visit || "").localeCompare(b.last_visit || "") || a.grid.localeCompare(b.grid);
    });
    var list = $("overdue-grid-list");
    list.replaceChildren();
    $("overdue-grid-count").textContent = number(body.overdue);
    $("overdue-grid-count").hidden = !body.overdue;
    $("overdue-grid-empty").hidden = body.overdue > 0;
    $("overdue-grid-more").hidden = rows.length <= OVERDUE_SHOWN;
    $("overdue-grid-more").textContent = fmt(T.overdueMore, { n: number(rows.length - OVERDUE_SHOWN) });
    rows.slice(0, OVERDUE_SHOWN).forEach(function (r) {
      var button = el("button", { type: "button", className: "overdue-item", dataset: { code: r.grid } }, [
        el("span", { className: "ov-main" }, [
          el("span", { className: "ov-title hot-name" }, gridLabel(r.name, r.grid)),
          el("span", { className: "ov-sub" },
             (r.working_days_only ? fmt(T.everyDays, { n: r.every_days }) : fmt(T.everyCalendarDays, { n: r.every_days })))
        ]),
        el("span", { className: "ov-meta" },
           el("strong", { className: "ov-late" }, r.last_visit ? fmt(T.lastVisit, { when: shortWhen(r.last_visit) })
                                                               : T.neverVisited))
      ]);
      button.addEventListener("click", function () { zoomToGrid(r.grid); });
      list.appendChild(el("li", {}, button));
    });
  }
  var focus = L.layerGroup().addTo(map);
  function zoomToGrid(code) {
    return api("/api/v1/grids/" + encodeURIComponent(code) + "/").then(function (feature) {
      focus.clearLayers();
      var shape = L.geoJSON(feature, { style: { color: "#12355b", weight: 3, fill: false } }).addTo(focus);
      map.fitBounds(shape.getBounds(), { maxZoom: 17, animate: false, padding: [30, 30] });
    }).catch(function (error) { say(T.failed + error.message, "error"); });
  }

  // --- Replay of one inspector's day ------------------------------------------------------------
  var select = $("replay-inspector");
  cfg.inspectors.forEach(function (i) { select.appendChild(el("option", { value: String(i.id) }, i.name)); });
  var replay = { timeline: [], reports: [], playing: false, last: null, generation: 0 };
  var replayLayer = L.layerGroup().addTo(map);
  var progressLine = null, marker = null, reportMarkers = [];
  var slider = $("replay-slider");

  // Where the inspector was at `t` (epoch seconds): between two points of one piece of track,
  // interpolated; in a silence or outside a patrol, at the last point, marked as not recording.
  function positionAt(t) {
    var line = replay.timeline;
    if (!line.length) { return null; }
    var lo = 0, hi = line.length - 1;
    if (t <= line[0][0]) { return { lat: line[0][1], lng: line[0][2], index: 0, recording: t === line[0][0] }; }
    if (t >= line[hi][0]) { return { lat: line[hi][1], lng: line[hi][2], index: hi, recording: t === line[hi][0] }; }
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (line[mid][0] <= t) { lo = mid; } else { hi = mid; }
    }
    var a = line[lo], b = line[hi];
    if (a[3] !== b[3] || b[0] - a[0] > GAP_S) { return { lat: a[1], lng: a[2], index: lo, recording: false }; }
    var share = (t - a[0]) / (b[0] - a[0]);
    return { lat: a[1] + (b[1] - a[1]) * share, lng: a[2] + (b[2] - a[2]) * share, index: lo, recording: true };
  }
  function pieces() {
    var out = [], current = [];
    replay.timeline.forEach(function (p, i) {
      var prev = replay.timeline[i - 1];
      if (prev && (prev[3] !== p[3] || p[0] - prev[0] > GAP_S)) { if (current.length > 1) { out.push(current); } current = []; }
      current.push([p[1], p[2]]);
    });
    if (current.length > 1) { out.push(current); }
    return out;
  }
  function setTime(t) {
    slider.value = String(Math.round(t));
    var at = positionAt(t);
    if (!at) { return; }
    marker.setLatLng([at.lat, at.lng]);
    marker.setStyle({ fillColor: at.recording ? "#12355b" : "#8a939b" });
    progressLine.setLatLngs(replay.timeline.slice(0, at.index + 1).map(function (p) { return [p[1], p[2]]; })
      .concat(at.recording ? [[at.lat, at.lng]] : []));
    $("replay-time").textContent = clock(t);
    $("replay-time").dateTime = new Date(t * 1000).toISOString();
    $("replay-where").textContent = at.recording ?
      fmt(T.onPatrol, { n: replay.timeline[at.index][3] + 1 }) : T.notRecording;
    reportMarkers.forEach(function (item) {
      var shown = item.report.t <= t;
      item.marker.setStyle({ opacity: shown ? 1 : 0.35, fillOpacity: shown ? 0.95 : 0.25 });
      item.li.classList.toggle("passed", shown);
    });
    document.body.dataset.replayTime = String(Math.round(t));
  }
  function play(on) {
    replay.playing = on;
    var button = $("replay-play");
    button.textContent = on ? T.pause : T.play;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    replay.last = null;
    if (on) {
      if (Number(slider.value) >= Number(slider.max)) { setTime(Number(slider.min)); }
      window.requestAnimationFrame(step);
    }
  }
  function step(now) {
    if (!replay.playing) { return; }
    if (replay.last !== null) {
      var t = Number(slider.value) + (now - replay.last) / 1000 * Number($("replay-speed").value);
      if (t >= Number(slider.max)) { setTime(Number(slider.max)); play(false); return; }
      setTime(t);
    }
    replay.last = now;
    window.requestAnimationFrame(step);
  }
  $("replay-play").addEventListener("click", function () { play(!replay.playing); });
  slider.addEventListener("input", function () { play(false); setTime(Number(slider.value)); });

  function reportItem(report) {
    var check = report.path_check || "";
    var badge = el("span", { className: "check-badge check-" + (check || "none") }, T.pathCheck[check]);
    var parts = [badge];
    if (report.path_distance_m !== null && check !== "on_track") {
      parts.push(el("small", { className: "check-distance" }, fmt(T.distance, { d: Math.round(report.path_distance_m) })));
    }
    var button = el("button", { type: "button", className: "replay-report", dataset: { id: report.case_id, check: check } }, [
      el("time", { dateTime: report.at }, clock(report.t)),
      el("span", { className: "rr-main" }, [
        el("span", { className: "rr-title" }, fmt(T.reportAt, { id: report.case_id, name: localName(report, "class_name") })),
        el("span", { className: "rr-sub" }, parts)
      ])
    ]);
    var link = el("a", { className: "ov-link", title: T.openInDeskTitle,
                         href: cfg.urls.caseDesk + "?case=" + report.case_id }, T.openInDesk);
    return el("li", {}, [button, link]);
  }
  function drawReplay(body) {
    replayLayer.clearLayers();
    reportMarkers = [];
    replay.timeline = [];
    body.patrols.forEach(function (patrol, index) {
      patrol.points.forEach(function (p) { replay.timeline.push([p[0], p[2], p[1], index]); });
    });
    var distance = body.patrols.reduce(function (a, p) { return a + p.distance_m; }, 0);
    var rejected = body.patrols.reduce(function (a, p) { return a + p.rejected; }, 0);
    replay.reports = body.reports.map(function (r) {
      return Object.assign({ t: new Date(r.at).getTime() / 1000 }, r);
    });
    var empty = !replay.timeline.length;
    $("replay-empty").hidden = !empty;
    $("replay-empty").textContent = empty ? fmt(T.replayNone, { name: body.inspector.name, day: body.day }) : "";
    $("replay-player").hidden = empty && !replay.reports.length;
    $("replay-facts").textContent = fmt(T.replayFacts, { name: body.inspector.name, n: body.patrols.length,
                                                          km: (distance / 1000).toFixed(1), rejected: rejected });
    var bounds = L.latLngBounds([]);
    pieces().forEach(function (piece) {
      L.polyline(piece, { color: "#12355b", weight: 5, opacity: 0.25 }).addTo(replayLayer);
      piece.forEach(function (p) { bounds.extend(p); });
    });
    progressLine = L.polyline([], { color: "#f08c00", weight: 4, opacity: 0.95 }).addTo(replayLayer);
    var first = replay.timeline[0] || null;
    var list = $("replay-reports");
    list.replaceChildren();
    replay.reports.forEach(function (report) {
      var check = report.path_check || "";
      var where = [report.lat, report.lon];
      bounds.extend(where);
      var m = L.circleMarker(where, { radius: 8, weight: 2, color: "#fff", fillColor: CHECK_COLOURS[check],
                                      fillOpacity: 0.95 }).addTo(replayLayer);
      m.bindTooltip(GeoGrid.lines(fmt(T.reportAt, { id: report.case_id, name: localName(report, "class_name") }),
                                  clock(report.t) + " · " + T.pathCheck[check] +
                                  (report.path_distance_m !== null && check !== "on_track" ?
                                    " · " + fmt(T.distance, { d: Math.round(report.path_distance_m) }) : "")));
      // Off the track: a dashed line to where the track was at that moment.
      var at = positionAt(report.t);
      if (check === "off_track" && at) {
        L.polyline([where, [at.lat, at.lng]], { color: CHECK_COLOURS.off_track, weight: 2, dashArray: "5 5" })
          .addTo(replayLayer);
      }
      var li = reportItem(report);
      li.querySelector("button").addEventListener("click", function () {
        play(false);
        setTime(Math.min(Math.max(report.t, Number(slider.min)), Number(slider.max)));
        m.openTooltip();
      });
      list.appendChild(li);
      reportMarkers.push({ report: report, marker: m, li: li });
    });
    $("replay-report-count").textContent = String(replay.reports.length);
    $("replay-no-reports").hidden = replay.reports.length > 0;
    var times = replay.timeline.map(function (p) { return p[0]; })
      .concat(replay.reports.map(function (r) { return r.t; }));
    slider.min = String(Math.floor(Math.min.apply(null, times.length ? times : [0])));
    slider.max = String(Math.ceil(Math.max.apply(null, times.length ? times : [1])));
    marker = L.circleMarker(first ? [first[1], first[2]] : map.getCenter(),
                            { radius: 9, weight: 3, color: "#fff", fillColor: "#12355b", fillOpacity: 1 })
      .addTo(replayLayer);
    setTime(Number(slider.min));
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.1), { maxZoom: 17, animate: false }); }
    document.body.dataset.replayPoints = String(replay.timeline.length);
    document.body.dataset.replayReports = String(replay.reports.length);
  }
  function loadReplay(inspectorId) {
    if (!inspectorId) { say(T.choose, "hint"); return Promise.resolve(); }
    select.value = inspectorId;
    play(false);
    remember(inspectorId);
    var mine = ++replay.generation;
    say(T.loading, "busy");
    return api(cfg.urls.replay + query({ inspector: inspectorId, day: state.day })).then(function (body) {
      if (mine !== replay.generation) { return; }
      say("");
      drawReplay(body);
      $("replay-box").scrollIntoView({ block: "nearest" });
    }).catch(function (error) { if (mine === replay.generation) { say(T.failed + error.message, "error"); } });
  }
  $("replay-form").addEventListener("submit", function (event) {
    event.preventDefault();
    loadReplay(select.value);
  });

  // --- Loading ----------------------------------------------------------------------------------
  var generation = 0;
  // `quietly`: the minute's refresh of today's page; the track tiles are asked again (their
  // ETags answer 304 unless a patrol moved) instead of the layer being rebuilt.
  function refresh(quietly) {
    var mine = ++generation;
    var p = period();
    $("pt-period").textContent = p.first === p.last ? p.first : p.first + " – " + p.last;
    document.querySelectorAll("#pt-window button").forEach(function (b) {
      b.setAttribute("aria-pressed", Number(b.dataset.days) === state.days ? "true" : "false");
    });
    if (quietly && trackLayer) { trackLayer.redraw(); } else { say(T.loading, "busy"); showTracks(); }
    var range = { since: p.since, until: p.until };
    var jobs = [
      api(cfg.urls.indicators + query(Object.assign({ by: "inspector" }, range))).then(function (body) {
        if (mine === generation) { fillInspectors(body); }
      }),
      api(cfg.urls.indicators + query(Object.assign({ by: "grid", limit: 50 }, range))).then(function (body) {
        if (mine === generation) { fillGrids(body); }
      }),
      api(cfg.urls.caseIndicators + query(range)).then(function (body) {
        if (mine === generation) { totals.cases = body.indicators; }
      }),
      api(cfg.urls.coverage + query({ day: state.day })).then(function (body) {
        if (mine !== generation) { return; }
        shares = {};
        (body.results || []).forEach(function (r) { if (r.share > 0) { shares[r.grid] = r.share; } });
        document.body.dataset.coveredGrids = String(Object.keys(shares).length);
      }),
      api(cfg.urls.visits + "?overdue=1").then(function (body) {
        if (mine === generation) { fillOverdue(body); }
      })
    ];
    return Promise.allSettled(jobs).then(function (results) {
      if (mine !== generation) { return; }
      gridLayer.redraw();
      fillCards();
      var failures = results.filter(function (r) { return r.status === "rejected"; });
      if (failures.length) { say(T.failed + failures[0].reason.message, "error"); } else { say(""); }
      document.body.dataset.ready = "1";
      document.body.dataset.day = state.day;
    });
  }

  $("pt-day").value = state.day;
  $("pt-day").max = cityToday();
  $("pt-day").addEventListener("change", function () {
    if (!/^\d{4}-\d{2}-\d{2}$/.test($("pt-day").value)) { return; }
    state.day = $("pt-day").value;
    remember(select.value);
    refresh();
    if (select.value) { loadReplay(select.value); }
  });
  document.querySelectorAll("#pt-window button").forEach(function (button) {
    button.addEventListener("click", function () {
      state.days = Number(button.dataset.days);
      remember(select.value);
      refresh();
    });
  });
  refresh().then(function () {
    var inspector = wanted.get("inspector");
    if (inspector && /^\d+$/.test(inspector)) { loadReplay(inspector); }
  });
  // Today's tracks grow while inspectors walk: refresh every minute (an earlier day stays put).
  window.setInterval(function () {
    if (state.day === cityToday() && !replay.playing) { refresh(true); }
  }, REFRESH_MS);
})();
