/* The inspector's component finder: search by code / name / class, near a point, in my grids;
   clustered markers coloured by status; a card with the decoded code and the status buttons.
   Everything comes from the components API; works without a basemap. */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData("inspector-config");
  var T = {  // the script's words: gettext() from the djangojs catalogue (/jsi18n/)
    statuses: {
      intact: gettext("完好"),
      damaged: gettext("破损"),
      lost: gettext("丢失"),
      occupied: gettext("占用"),
      abandoned: gettext("废弃")
    },
    loading: gettext("正在加载…"),
    searching: gettext("正在查询…"),
    enterQuery: gettext("请输入部件编码、名称或类别。"),
    notFoundCode: gettext("未找到编码为 {code} 的部件。"),
    notFoundQuery: gettext("没有找到与“{q}”相符的部件。"),
    badCode: gettext("编码有误："),
    network: gettext("网络连接失败，请检查网络后重试。"),
    failed: gettext("加载失败："),
    found: gettext("共 {n} 个部件"),
    foundMore: gettext("共 {n} 个部件，显示前 {shown} 个，请缩小范围。"),
    nearTitle: gettext("{where}附近 {r} 米内：{n} 个部件，由近到远"),
    nearHere: gettext("您的位置"),
    nearPoint: gettext("所选地点"),
    nearNone: gettext("{where}附近 {r} 米内没有部件（该处可能不在任何网格内）。"),
    locating: gettext("正在获取您的位置…"),
    geoUnsupported: gettext("此浏览器无法定位。"),
    geoDenied: gettext("您没有允许定位。"),
    geoUnavailable: gettext("暂时无法获取您的位置。"),
    geoPick: gettext("请在地图上点击您所在的位置，查询附近的部件。"),
    mapClickHint: gettext("提示：点击地图任意位置，可查询该处附近的部件。"),
    noGrids: gettext("您没有负责的网格。请按编码或名称查询，或点击地图查询附近部件。"),
    gridTitle: gettext("我的网格：{n} 个部件"),
    gridNone: gettext("您的网格内没有部件。"),
    zoomIn: gettext("放大地图即可显示视野内的全部部件。"),
    photo: gettext("部件照片"),
    uploading: gettext("正在上传照片…"),
    uploaded: gettext("照片已上传。"),
    uploadFailed: gettext("照片未能上传："),
    photoTooBig: gettext("这张照片有 {size} MB，超过了 {mb} MB 的上限。请换一张较小的照片。"),
    photoBy: gettext("{who} 上传于 {when}"),
    inView: gettext("视野内 {n} 个部件"),
    inViewMore: gettext("视野内部件较多，只显示了 {shown} 个（共 {n} 个），请继续放大。"),
    distance: gettext("{d} 米"),
    distanceKm: gettext("{d} 公里"),
    none: gettext("无"),
    explainFailed: gettext("无法解读此编码："),
    changed: gettext("已将状态改为“{s}”。"),
    saving: gettext("正在保存…"),
    changeFailed: gettext("状态修改失败："),
    outsideScope: gettext("该部件不在您负责的网格内，或已不存在。"),
    forbidden: gettext("您的角色不能修改部件状态。")
  };
  var EN = GeoGrid.english;
  var NEAR_RADIUS = 300;
  var SEARCH_PAGE = 200;
  var BROWSE_PAGE = 1000;
  var STATUS_COLOURS = {
    intact: "#2e9d4a", damaged: "#f08c00", lost: "#d62d20", occupied: "#8e44ad", abandoned: "#8a939b"
  };

  // --- Map ----------------------------------------------------------------------------------
  var map = GeoGrid.createMap("inspector-map", { preferCanvas: true, maxZoom: 19, zoomControl: true });
  cfg.map = map;  // for the console and the browser tests
  var gridLayer = L.geoJSON(null, {
    interactive: false,
    style: { color: "#12355b", weight: 2, dashArray: "6 4", fill: true, fillOpacity: 0.04 }
  }).addTo(map);
  var cluster = L.markerClusterGroup({
    chunkedLoading: true, disableClusteringAtZoom: 19, maxClusterRadius: 50,
    showCoverageOnHover: false, spiderfyOnMaxZoom: false
  }).addTo(map);
  var selectedLayer = L.layerGroup().addTo(map);
  // A line on the map about what it shows (browsing), apart from the panel's messages.
  var HintControl = L.Control.extend({
    options: { position: "topright" },
    onAdd: function () {
      var div = L.DomUtil.create("div", "map-hint");
      div.id = "map-hint";
      div.setAttribute("aria-live", "polite");
      L.DomEvent.disableClickPropagation(div);
      return div;
    }
  });
  new HintControl().addTo(map);
  var whereLayer = L.layerGroup().addTo(map);
  var markers = {};          // code → circle marker currently on the map
  var features = {};         // code → feature (last known properties)
  var search = null;         // the active search ({kind, ...}); null = browsing the map
  var generation = 0;        // bumps on every new request; stale answers are dropped
  var browseAbort = null;

  // --- Elements ---------------------------------------------------------------------------------
  var $ = function (id) { return document.getElementById(id); };
  var sheet = $("sheet"), handle = $("sheet-handle");
  var form = $("search-form"), input = $("search-input");
  var message = $("message"), results = $("results"), list = $("result-list");
  var summary = $("results-summary"), card = $("component-card"), cardError = $("card-error");
  var clearButton = $("clear-search"), gridSelect = $("my-grid-select");
  var currentCode = null;

  // --- Helpers --------------------------------------------------------------------------------
  var fmt = GeoGrid.fmt;
  function url(name, code) { return cfg.urls[name].replace(cfg.placeholder, encodeURIComponent(code)); }

  var api = GeoGridApi.request;  // static/js/core/page.js

  var say = GeoGrid.say;
  function hint(text) {
    var box = document.getElementById("map-hint");
    box.textContent = text || "";
    box.hidden = !text;
  }
  function failureText(error) {
    return error.network ? T.network : T.failed + error.message;
  }
  function statusLabel(props) { return T.statuses[props.status] || props.status_label || props.status; }
  function className(props) { return (EN && props.class_name_en) || props.class_name; }
  function departmentName(dep) { return (EN && dep.name_en) || dep.name; }
  function distanceText(metres) {
    if (metres === null || metres === undefined) { return ""; }
    if (metres >= 1000) { return fmt(T.distanceKm, { d: (metres / 1000).toFixed(1) }); }
    return fmt(T.distance, { d: Math.round(metres) });
  }
  function latLngOf(feature) {
    var g = feature.geometry;
    if (!g) { return null; }
    if (g.type === "Point") { return L.latLng(g.coordinates[1], g.coordinates[0]); }
    return L.geoJSON(g).getBounds().getCenter();
  }
  var csrfToken = GeoGridApi.csrfToken;

  // --- Bottom sheet (narrow screens) ------------------------------------------------------------
  function expandSheet(open) {
    sheet.classList.toggle("expanded", open);
    handle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  handle.addEventListener("click", function () { expandSheet(!sheet.classList.contains("expanded")); });
  if (window.ResizeObserver) {
    new ResizeObserver(function () { map.invalidateSize(); }).observe($("inspector-map"));
  }

  // --- Markers --------------------------------------------------------------------------------
  function markerFor(feature) {
    var at = latLngOf(feature);
    if (!at) { return null; }
    var marker = L.circleMarker(at, {
      radius: 7, weight: 2, color: "#fff", fillOpacity: 0.95, bubblingMouseEvents: false,
      fillColor: STATUS_COLOURS[feature.properties.status] || "#555"
    });
    marker.bindTooltip(GeoGrid.lines(className(feature.properties) + " · " + feature.id));
    marker.on("click", function () { openComponent(feature.id); });
    return marker;
  }

  function showMarkers(featureList) {
    cluster.clearLayers();
    markers = {};
    var layers = [];
    featureList.forEach(function (feature) {
      features[feature.id] = feature;
      var marker = markerFor(feature);
      if (marker) { markers[feature.id] = marker; layers.push(marker); }
    });
    cluster.addLayers(layers);
    document.body.dataset.markers = String(layers.length);
  }

  function recolour(feature) {
    var marker = markers[feature.id];
    if (marker) { marker.setStyle({ fillColor: STATUS_COLOURS[feature.properties.status] || "#555" }); }
  }

  // --- Result list ----------------------------------------------------------------------------
  function renderList(featureList, heading) {
    list.replaceChildren();
    summary.textContent = heading;
    featureList.forEach(function (feature) {
      var p = feature.properties;
      var li = document.createElement("li");
      li.dataset.code = feature.id;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      var dot = document.createElement("i");
      dot.className = "dot";
      dot.style.background = STATUS_COLOURS[p.status] || "#555";
      var main = document.createElement("span");
      main.className = "r-main";
      var title = document.createElement("span");
      title.className = "r-class";
      title.textContent = className(p) + (p.name && p.name !== p.class_name ? " · " + p.name : "");
      var code = document.createElement("span");
      code.className = "r-code";
      code.textContent = feature.id;
      main.appendChild(title);
      main.appendChild(code);
      var meta = document.createElement("span");
      meta.className = "r-meta";
      var status = document.createElement("span");
      status.className = "r-status st-" + p.status;
      status.textContent = statusLabel(p);
      meta.appendChild(status);
      if (p.distance_m !== null && p.distance_m !== undefined) {
        var distance = document.createElement("span");
        distance.className = "r-distance";
        distance.dataset.metres = String(p.distance_m);
        distance.textContent = distanceText(p.distance_m);
        meta.appendChild(distance);
      }
      button.appendChild(dot);
      button.appendChild(main);
      button.appendChild(meta);
      button.addEventListener("click", function () { openComponent(feature.id, true); });
      li.appendChild(button);
      list.appendChild(li);
    });
    results.hidden = false;
    card.hidden = true;
  }

  function updateListItem(feature) {
    var li = list.querySelector('li[data-code="' + feature.id + '"]');
    if (!li) { return; }
    var status = li.querySelector(".r-status");
    status.className = "r-status st-" + feature.properties.status;
    status.textContent = statusLabel(feature.properties);
    li.querySelector(".dot").style.background = STATUS_COLOURS[feature.properties.status];
  }

  // --- Searches -------------------------------------------------------------------------------
  function startSearch(kind) {
    generation += 1;
    if (browseAbort) { browseAbort.abort(); browseAbort = null; }
    search = { kind: kind };
    clearButton.hidden = false;
    hint(T.mapClickHint);
    whereLayer.clearLayers();
    say(T.searching, "busy");
    return generation;
  }

  function showResults(featureList, heading, fit) {
    showMarkers(featureList);
    renderList(featureList, heading);
    if (fit && featureList.length) {
      var bounds = L.latLngBounds(featureList.map(latLngOf).filter(Boolean));
      map.fitBounds(bounds.pad(0.3), { maxZoom: 18 });
    }
  }

  function countHeading(data, shown) {
    var total = typeof data.count === "number" ? data.count : shown;
    return total > shown ? fmt(T.foundMore, { n: total, shown: shown }) : fmt(T.found, { n: total });
  }

  function searchText(raw) {
    var text = raw.trim();
    var compact = text.replace(/\s+/g, "");
    if (!text) { say(T.enterQuery, "error"); input.focus(); return; }
    var mine = startSearch("text");
    if (/^\d{16,17}$/.test(compact)) {
      api(url("component", compact)).then(function (feature) {
        if (mine !== generation) { return; }
        say("");
        showResults([feature], fmt(T.found, { n: 1 }), false);
        openComponent(feature.id, true);
      }).catch(function (error) {
        if (mine !== generation) { return; }
        showResults([], "", false);
        results.hidden = true;
        if (error.status === 404) { say(fmt(T.notFoundCode, { code: compact }), "error"); }
        else if (error.status === 400) { say(T.badCode + error.message, "error"); }
        else { say(failureText(error), "error"); }
      });
      return;
    }
    var query = /^\d+$/.test(compact) ? compact : text;
    api(cfg.urls.components + "?page_size=" + SEARCH_PAGE + "&q=" + encodeURIComponent(query))
      .then(function (data) {
        if (mine !== generation) { return; }
        if (!data.features.length) {
          showResults([], "", false);
          results.hidden = true;
          say(fmt(T.notFoundQuery, { q: text }), "error");
          return;
        }
        say("");
        showResults(data.features, countHeading(data, data.features.length), true);
      })
      .catch(function (error) { if (mine === generation) { say(failureText(error), "error"); } });
  }

  function searchNear(latlng, where) {
    var mine = startSearch("near");
    var label = where === "me" ? T.nearHere : T.nearPoint;
    L.circle(latlng, { radius: NEAR_RADIUS, color: "#12355b", weight: 1, fillOpacity: 0.05,
                       interactive: false }).addTo(whereLayer);
    L.circleMarker(latlng, { radius: 6, color: "#12355b", fillColor: "#3b82f6", fillOpacity: 1,
                             weight: 3, interactive: false }).addTo(whereLayer);
    var address = cfg.urls.components + "?page_size=" + SEARCH_PAGE + "&radius=" + NEAR_RADIUS
      + "&near=" + latlng.lng.toFixed(7) + "," + latlng.lat.toFixed(7);
    api(address).then(function (data) {
      if (mine !== generation) { return; }
      if (!data.features.length) {
        showResults([], "", false);
        results.hidden = true;
        say(fmt(T.nearNone, { where: label, r: NEAR_RADIUS }), "error");
        return;
      }
      say("");
      var heading = fmt(T.nearTitle, { where: label, r: NEAR_RADIUS, n: data.count });
      showResults(data.features, heading, false);
      var bounds = L.latLngBounds([latlng]);
      data.features.forEach(function (f) { var at = latLngOf(f); if (at) { bounds.extend(at); } });
      map.fitBounds(bounds.pad(0.2), { maxZoom: 18 });
    }).catch(function (error) { if (mine === generation) { say(failureText(error), "error"); } });
  }

  function nearMe() {
    if (!navigator.geolocation || !window.isSecureContext) {
      say(T.geoUnsupported + " " + T.geoPick, "warn");
      return;
    }
    say(T.locating, "busy");
    var answered = false;
    var fallback = window.setTimeout(function () {
      if (!answered) { answered = true; say(T.geoUnavailable + " " + T.geoPick, "warn"); }
    }, 12000);
    navigator.geolocation.getCurrentPosition(function (position) {
      if (answered) { return; }
      answered = true;
      window.clearTimeout(fallback);
      searchNear(L.latLng(position.coords.latitude, position.coords.longitude), "me");
    }, function (failure) {
      if (answered) { return; }
      answered = true;
      window.clearTimeout(fallback);
      var reason = failure && failure.code === 1 ? T.geoDenied : T.geoUnavailable;
      say(reason + " " + T.geoPick, "warn");
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
  }

  function searchMyGrids() {
    if (!cfg.myGrids.length) { say(T.noGrids, "warn"); return; }
    var chosen = gridSelect && gridSelect.value ? [gridSelect.value]
      : cfg.myGrids.map(function (g) { return g.code; });
    var mine = startSearch("grid");
    Promise.all(chosen.map(function (code) {
      return api(cfg.urls.components + "?page_size=" + BROWSE_PAGE + "&grid=" + encodeURIComponent(code));
    })).then(function (pages) {
      if (mine !== generation) { return; }
      var seen = {}, all = [], total = 0;
      pages.forEach(function (page) {
        total += typeof page.count === "number" ? page.count : page.features.length;
        page.features.forEach(function (f) { if (!seen[f.id]) { seen[f.id] = true; all.push(f); } });
      });
      all.sort(function (a, b) { return a.id < b.id ? -1 : 1; });
      if (!all.length) { showResults([], "", false); results.hidden = true; say(T.gridNone, "warn"); return; }
      say("");
      var heading = total > all.length ? fmt(T.foundMore, { n: total, shown: all.length })
        : fmt(T.gridTitle, { n: all.length });
      showResults(all, heading, true);
    }).catch(function (error) { if (mine === generation) { say(failureText(error), "error"); } });
  }

  function clearSearch() {
    generation += 1;
    search = null;
    input.value = "";
    clearButton.hidden = true;
    whereLayer.clearLayers();
    selectedLayer.clearLayers();
    results.hidden = true;
    card.hidden = true;
    currentCode = null;
    cluster.clearLayers();
    markers = {};
    say("");
    browse();
  }

  // --- Browsing: the components in view when zoomed in, with no search active ------------------
  function browse() {
    if (search) { return; }
    if (browseAbort) { browseAbort.abort(); browseAbort = null; }
    if (map.getZoom() < cfg.browseMinZoom) {
      cluster.clearLayers();
      markers = {};
      document.body.dataset.markers = "0";
      hint(T.zoomIn + " " + T.mapClickHint);
      return;
    }
    var mine = ++generation;
    browseAbort = window.AbortController ? new AbortController() : null;
    var address = cfg.urls.components + "?page_size=" + BROWSE_PAGE + "&bbox="
      + map.getBounds().toBBoxString();
    api(address, browseAbort ? { signal: browseAbort.signal } : {}).then(function (data) {
      if (mine !== generation || search) { return; }
      showMarkers(data.features);
      var shown = data.features.length;
      hint(data.count > shown ? fmt(T.inViewMore, { n: data.count, shown: shown })
           : fmt(T.inView, { n: shown }) + " · " + T.mapClickHint);
    }).catch(function (error) {
      if (error.name === "AbortError" || mine !== generation) { return; }
      hint(failureText(error));
    });
  }
  var browseTimer = null;
  map.on("moveend", function () {
    window.clearTimeout(browseTimer);
    browseTimer = window.setTimeout(browse, 150);
  });

  // --- Component card -------------------------------------------------------------------------
  function text(id, value) { $(id).textContent = value === null || value === undefined || value === "" ? T.none : value; }

  function fillDepartment(id, dep) {
    var cell = $(id);
    cell.replaceChildren();
    if (!dep) { cell.textContent = T.none; return; }
    var name = document.createElement("span");
    name.textContent = departmentName(dep);
    cell.appendChild(name);
    if (dep.contact) {
      cell.appendChild(document.createTextNode(" "));
      var phone = document.createElement("a");
      phone.href = "tel:" + dep.contact.replace(/[^\d+]/g, "");
      phone.className = "phone";
      phone.textContent = dep.contact;
      cell.appendChild(phone);
    }
  }

  function fillCard(feature) {
    var p = feature.properties;
    features[feature.id] = feature;
    card.dataset.code = feature.id;
    card.dataset.status = p.status;
    text("card-title", p.name && p.name !== p.class_name ? p.name : className(p));
    text("card-code", feature.id);
    var badge = $("card-status");
    badge.textContent = statusLabel(p);
    badge.className = "status-badge st-" + p.status;
    text("card-name", p.name);
    text("card-class", className(p) + " (" + p.class_code + ")");
    text("card-status-text", statusLabel(p));
    text("card-grid", p.grid ? p.grid.code + (p.grid.name && p.grid.name !== p.grid.code ? " " + p.grid.name : "") : null);
    text("card-location", p.location_description);
    fillDepartment("card-competent", p.competent_department);
    fillDepartment("card-owner", p.owner_department);
    fillDepartment("card-maintainer", p.maintainer_department);
    document.querySelectorAll("#status-actions button[data-status]").forEach(function (button) {
      button.disabled = button.dataset.status === p.status;
    });
    // Lists and status changes answer without photos; only the detail lists them.
    if (p.photos) { fillPhotos(p.photos); }
  }

  function photoItem(photo) {
    return GeoGrid.photoItem(photo, photo.caption || T.photo, (photo.caption ? photo.caption + " · " : "")
      + fmt(T.photoBy, { who: photo.uploaded_by || "—", when: GeoGrid.when(photo.created_at) }));
  }

  function fillPhotos(photos) {
    var strip = $("card-photos");
    strip.replaceChildren();
    photos.forEach(function (photo) { strip.appendChild(photoItem(photo)); });
    $("card-no-photos").hidden = photos.length > 0;
  }

  function fillParts(explained) {
    (explained.parts || []).forEach(function (part) {
      var row = card.querySelector('[data-part="' + part.level + '"]');
      if (!row) { return; }
      row.querySelector(".seg").textContent = part.segment;
      var name = part.name || "";
      if (part.level === "minor" && EN && explained["class"] && explained["class"].name_en) {
        name = explained["class"].name_en;
      }
      row.querySelector(".part-name").textContent = name;
    });
  }

  function clearParts(code) {
    card.querySelectorAll("[data-part]").forEach(function (row) {
      row.querySelector(".seg").textContent = "";
      row.querySelector(".part-name").textContent = "";
    });
    $("card-code").textContent = code;
  }

  function highlight(feature) {
    selectedLayer.clearLayers();
    var g = feature.geometry;
    if (g && g.type !== "Point") {
      L.geoJSON(g, { interactive: false, style: { color: "#12355b", weight: 5, opacity: 0.8 } })
        .addTo(selectedLayer);
    }
    var at = latLngOf(feature);
    if (at) {
      L.circleMarker(at, { radius: 13, color: "#12355b", weight: 3, fill: false, interactive: false })
        .addTo(selectedLayer);
    }
    return at;
  }

  function openComponent(code, pan) {
    currentCode = code;
    delete card.dataset.loaded;
    cardError.hidden = true;
    clearParts(code);
    var mine = code;
    say(T.loading, "busy");
    var known = features[code];
    if (known) { fillCard(known); }
    card.hidden = false;
    results.hidden = true;
    expandSheet(true);
    Promise.all([api(url("component", code)), api(url("explain", code)).catch(function (e) { return { failed: e }; })])
      .then(function (answers) {
        if (currentCode !== mine) { return; }
        var feature = answers[0], explained = answers[1];
        fillCard(feature);
        if (explained.failed) {
          cardError.textContent = T.explainFailed + explained.failed.message;
          cardError.hidden = false;
        } else {
          fillParts(explained);
        }
        say("");
        var at = highlight(feature);
        if (pan && at) { map.setView(at, Math.max(map.getZoom(), 18)); }
        card.dataset.loaded = "1";
      })
      .catch(function (error) {
        if (currentCode !== mine) { return; }
        card.hidden = true;
        if (list.children.length) { results.hidden = false; }
        if (error.status === 404) { say(fmt(T.notFoundCode, { code: code }), "error"); }
        else { say(failureText(error), "error"); }
      });
  }

  $("card-back").addEventListener("click", function () {
    card.hidden = true;
    currentCode = null;
    selectedLayer.clearLayers();
    delete card.dataset.loaded;
    if (list.children.length && search) { results.hidden = false; }
    else if (!search) { browse(); }
  });

  // --- Status change --------------------------------------------------------------------------
  function showCardError(prefix, error) { GeoGrid.showError(cardError, prefix, error); }
  document.querySelectorAll("#status-actions button[data-status]").forEach(function (button) {
    button.addEventListener("click", function () {
      var code = card.dataset.code;
      var note = $("status-note");
      var buttons = document.querySelectorAll("#status-actions button[data-status]");
      buttons.forEach(function (b) { b.disabled = true; });
      cardError.hidden = true;
      say(T.saving, "busy");
      api(url("status", code), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ status: button.dataset.status, note: note.value.trim() })
      }).then(function (feature) {
        fillCard(feature);
        recolour(feature);
        updateListItem(feature);
        note.value = "";
        say(fmt(T.changed, { s: statusLabel(feature.properties) }), "ok");
      }).catch(function (error) {
        var prefix = error.status === 404 ? T.outsideScope
          : error.status === 403 ? T.forbidden : T.changeFailed;
        showCardError(prefix, error);
        say("");
        var known = features[code];
        if (known) { fillCard(known); } else { buttons.forEach(function (b) { b.disabled = false; }); }
      });
    });
  });

  // --- Photos ---------------------------------------------------------------------------------
  var photoInput = $("photo-input");
  if (photoInput) {
    photoInput.addEventListener("change", function () {
      var file = photoInput.files && photoInput.files[0];
      var code = card.dataset.code;
      if (!file || !code) { return; }
      cardError.hidden = true;
      if (file.size > cfg.maxPhotoMB * 1024 * 1024) {
        showCardError(fmt(T.photoTooBig, { size: (file.size / 1048576).toFixed(1), mb: cfg.maxPhotoMB }));
        photoInput.value = "";
        return;
      }
      var body = new FormData();
      body.append("image", file);
      body.append("caption", $("photo-caption").value.trim());
      photoInput.disabled = true;
      say(T.uploading, "busy");
      api(url("photos", code), {
        method: "POST", body: body,
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() }
      }).then(function (photo) {
        var known = features[code];
        if (known) { known.properties.photos = (known.properties.photos || []).concat([photo]); }
        if (card.dataset.code === code) {
          $("card-photos").appendChild(photoItem(photo));
          $("card-no-photos").hidden = true;
          $("photo-caption").value = "";
        }
        say(T.uploaded, "ok");
      }).catch(function (error) {
        say("");
        var prefix = error.status === 404 ? T.outsideScope
          : error.status === 403 ? T.forbidden : T.uploadFailed;
        showCardError(prefix, error);
      }).then(function () {
        photoInput.disabled = false;
        photoInput.value = "";
      });
    });
  }

  // --- Wiring ---------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) { event.preventDefault(); searchText(input.value); });
  $("near-me").addEventListener("click", nearMe);
  $("my-grids-button").addEventListener("click", searchMyGrids);
  if (gridSelect) { gridSelect.addEventListener("change", searchMyGrids); }
  clearButton.addEventListener("click", clearSearch);
  map.on("click", function (event) { searchNear(event.latlng, "point"); });

  // --- Start: outline my grids (or the districts) and fit the map to them ----------------------
  function outline(featureList) {
    gridLayer.addData(featureList);
    if (gridLayer.getLayers().length) { map.fitBounds(gridLayer.getBounds(), { maxZoom: 18 }); }
    document.body.dataset.ready = "1";
    browse();
  }
  var start = cfg.myGrids.length
    ? Promise.all(cfg.myGrids.slice(0, 60).map(function (g) {
        return api(url("grid", g.code)).catch(function () { return null; });
      })).then(function (found) { return found.filter(Boolean); })
    : api(cfg.urls.grids + "?level=district&page_size=100").then(function (d) { return d.features; });
  start.then(outline).catch(function (error) {
    say(failureText(error), "error");
    document.body.dataset.ready = "1";
  });
})();
