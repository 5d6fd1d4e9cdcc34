/* The command center (指挥中心): a heatmap of reports (server-binned heat tiles drawn with
   Leaflet.heat), a choropleth of reports per unit grid (grid tiles coloured from the grid-counts
   API) with its legend, the hot-grid ranking, the overdue list, indicator cards and three charts.
   A period and a category filter drive it; it refreshes itself every minute; a click on a grid
   (on the map or in the ranking) opens that grid's summary. Works without a basemap. */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData("cc-config");
  var T = {  // the script's words: gettext() from the djangojs catalogue (/jsi18n/)
    loading: gettext("正在加载…"),
    network: gettext("网络连接失败，请检查网络后重试。"),
    failed: gettext("部分数据未能加载："),
    forbidden: gettext("您的角色无权查看指挥中心数据，请重新登录。"),
    updated: gettext("更新于 {time}"),
    retry: gettext("更新失败，{s} 秒后自动重试"),
    badRange: gettext("结束日期不能早于开始日期。"),
    allClasses: gettext("全部类别"),
    events: GeoGrid.capfirst(gettext("事件")),
    components: GeoGrid.capfirst(gettext("部件")),
    none: "—",
    cards: {
      reported: gettext("上报数"),
      filed: gettext("立案数"),
      closed: gettext("结案数"),
      closing_rate: gettext("结案率"),
      on_time_rate: gettext("按期结案率"),
      rework_rate: gettext("返工率"),
      extension_rate: gettext("延期率"),
      overdue_open: gettext("当前超期"),
      mean_handling_hours: gettext("平均处置用时")
    },
    cardSub: {
      closing_rate: gettext("{closed} / {due} 应结案"),
      on_time_rate: gettext("{closed_on_time} / {closed} 结案"),
      rework_rate: gettext("{reworked} / {handled} 处置"),
      extension_rate: gettext("{extended} / {filed} 立案"),
      mean_handling_hours: gettext("中位数 {median_handling_hours} 工作时"),
      overdue_open: gettext("处置中且已过时限")
    },
    hoursUnit: gettext("工作时"),
    series: {
      reported: gettext("上报数"),
      filed: gettext("立案数"),
      handled: gettext("处置数"),
      closed: gettext("结案数")
    },
    byMonth: gettext("按月"),
    generated: gettext("含生成的演示历史数据：本期 {n} 件上报为演示生成，并非真实案件。"),
    outsideStreets: gettext("街道以外"),
    reports: gettext("{n} 件"),
    trendUp: gettext("比上期多 {n}"),
    trendDown: gettext("比上期少 {n}"),
    trendSame: gettext("与上期持平"),
    overdueReports: gettext("{n} 件超期"),
    overdueBy: gettext("超期 {h} 工作时"),
    deadline: gettext("时限 {when}"),
    overdueMore: gettext("另有 {n} 件未列出，请到案件受理台查看。"),
    openInDesk: gettext("在案件受理台打开"),
    officerNone: gettext("未登记"),
    openCount: gettext("{n} 件，其中超期 {late} 件"),
    overdueBadge: gettext("已超期"),
    componentsCount: gettext("{n} 个，非完好 {faulty} 个"),
    moreClasses: gettext("另有 {n} 个小类"),
    area: gettext("{m2} 平方米"),
    outside: gettext("该点不在任何网格内。"),
    layers: {
      heat: gettext("热力图"),
      choropleth: gettext("网格上报量")
    },
    legendHeat: gettext("上报密度"),
    legendFew: gettext("少"),
    legendMany: gettext("多"),
    legendChoropleth: gettext("单元网格上报数"),
    legendZero: gettext("无上报"),
    legendEmpty: gettext("所选时间内没有上报。"),
    mapHint: gettext("点击网格查看概况"),
    summaryLoading: gettext("正在加载网格概况…"),
    summaryCards: {
      reported: gettext("上报数"),
      filed: gettext("立案数"),
      closed: gettext("结案数"),
      closing_rate: gettext("结案率"),
      overdue_open: gettext("超期数")
    }
  };
  var EN = GeoGrid.english;
  var LOCALE = GeoGrid.locale;
  var PALETTE = ["#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];  // ColorBrewer YlOrRd
  var HEAT_GRADIENT = { 0.25: "#2c7bb6", 0.45: "#abd9e9", 0.6: "#ffffbf", 0.8: "#fdae61", 1: "#d7191c" };
  var SERIES_COLOURS = { reported: "#1f78b4", filed: "#6a3d9a", handled: "#f08c00", closed: "#33a02c" };

  function $(id) { return document.getElementById(id); }
  var fmt = GeoGrid.fmt;
  function el(tag, className, textValue) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (textValue !== undefined && textValue !== null) { node.textContent = textValue; }
    return node;
  }
  function number(n) { return n === null || n === undefined ? T.none : Number(n).toLocaleString(LOCALE); }
  function percent(rate) {
    return rate === null || rate === undefined ? T.none : (rate * 100).toFixed(1).replace(/\.0$/, "") + "%";
  }
  function localName(item, field) {
    field = field || "name";
    return (EN && item[field + "_en"]) || item[field] || "";
  }
  // Unit grids of the demo are named by their code: then the code alone is shown.
  function gridLabel(name, code) { return !name || name === code ? code : name + " · " + code; }
  // Times in the city's time zone, whatever the browser's is.
  function when(iso) {
    return GeoGrid.when(iso, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
      || T.none;
  }
  function clock(date) {
    return date.toLocaleTimeString(LOCALE, { hour12: false, timeZone: cfg.timeZone,
                                             hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // A 403 means the role cannot read the command center: say so rather than "HTTP 403".
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
    var text = search.toString();
    return text ? "?" + text : "";
  }

  var message = $("message");
  var say = GeoGrid.say;

  // --- Periods in the city's time zone -------------------------------------------------------
  // Windows are whole local days ending with today (until = the coming midnight), so a period's
  // tile URLs stay the same all day and the tiles' ETags answer 304 until the data changes.
  var cityToday = GeoGrid.days.today, addDays = GeoGrid.days.add, midnight = GeoGrid.days.midnight;

  var state = { window: "7d", customSince: null, customUntil: null, category: "" };
  function period() {
    var today = cityToday(), first;
    if (state.window === "custom" && state.customSince && state.customUntil) {
      return { first: state.customSince, last: state.customUntil,
               since: midnight(state.customSince), until: midnight(addDays(state.customUntil, 1)) };
    }
    if (state.window === "today") { first = today; }
    else if (state.window === "30d") { first = addDays(today, -29); }
    else if (state.window === "year") { first = today.slice(0, 4) + "-01-01"; }
    else { first = addDays(today, -6); }
    return { first: first, last: today, since: midnight(first), until: midnight(addDays(today, 1)) };
  }

  // --- Map ------------------------------------------------------------------------------------
  var map = GeoGrid.createMap("cc-map", { preferCanvas: true, maxZoom: 19, zoomSnap: 1,
                                          view: !cfg.bounds });
  cfg.map = map;
  if (cfg.bounds) {
    map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], { animate: false });
  }

  var mode = "heat";
  var counts = {};           // unit grid code -> reports in the period (grid-counts API)
  var breaks = [];           // lower bounds of the choropleth classes
  function colourOf(n) {
    if (!n) { return null; }
    var index = 0;
    for (var i = 0; i < breaks.length; i++) { if (n >= breaks[i]) { index = i; } }
    return PALETTE[Math.min(index, PALETTE.length - 1)];
  }
  // Up to five classes with integer lower bounds: each distinct count its own class when there
  // are five or fewer, else quantiles of the non-zero counts weighted toward the top end.
  function computeBreaks(values) {
    values = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    var distinct = values.filter(function (v, i) { return i === 0 || v !== values[i - 1]; });
    if (distinct.length <= PALETTE.length) { return distinct; }
    var found = [distinct[0]];
    [0.5, 0.75, 0.9, 0.97].forEach(function (q) {
      var v = values[Math.min(values.length - 1, Math.floor(q * values.length))];
      if (v > found[found.length - 1]) { found.push(v); }
    });
    if (found.length < PALETTE.length) {
      // Few distinct counts with most grids at the bottom (a quiet period): spread the classes
      // over the distinct counts instead, so the hottest grids still stand out.
      found = [];
      for (var i = 0; i < PALETTE.length; i++) {
        var v = distinct[Math.round(i * (distinct.length - 1) / (PALETTE.length - 1))];
        if (!found.length || v > found[found.length - 1]) { found.push(v); }
      }
    }
    return found;
  }

  // Unit grids from the vector tiles; VectorGrid tiles stay non-interactive
  // (docs/architecture.md §8.4), so a click is answered by the grid locator instead.
  var gridLayer = L.vectorGrid.protobuf(cfg.urls.gridTiles + "?level=unit", {
    interactive: false, maxNativeZoom: Math.min(18, cfg.tileMaxZoom),
    rendererFactory: L.canvas.tile,
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: {
      grids: function (properties, zoom) {
        var fill = mode === "choropleth" ? colourOf(counts[properties.code]) : null;
        // Zoomed out, thousands of unit-grid outlines turn into a grey texture under the heat:
        // they appear from zoom 15 (heat) or stay faint (choropleth).
        var outline = zoom >= 15 ? 0.35 : mode === "heat" ? 0 : 0.15;
        return { weight: mode === "choropleth" ? 0.6 : 0.4, color: "#5b6b7b", opacity: fill ? 0.7 : outline,
                 fill: !!fill, fillColor: fill || "#000", fillOpacity: fill ? 0.78 : 0 };
      }
    }
  }).addTo(map);
  // Street boundaries above the heat, for orientation when no basemap is reachable.
  map.createPane("streets").style.zIndex = 450;
  map.getPane("streets").style.pointerEvents = "none";
  L.vectorGrid.protobuf(cfg.urls.gridTiles + "?level=street", {
    interactive: false, maxNativeZoom: Math.min(18, cfg.tileMaxZoom),
    rendererFactory: L.canvas.tile, pane: "streets",
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: {
      grids: { weight: 1.6, color: "#12355b", opacity: 0.75, fill: false }
    }
  }).addTo(map);

  var heat = L.heatLayer([], { radius: 22, blur: 18, minOpacity: 0.3, gradient: HEAT_GRADIENT });
  heat.addTo(map);
  var highlight = L.layerGroup().addTo(map);

  // Heat tiles: count bins (16 per tile side) computed by PostGIS (tiles app, layer "heat");
  // each bin becomes one weighted point of the heat layer. They are decoded with the MVT reader
  // bundled in the vendored VectorGrid 1.3.0 (its Protobuf layer's tile fetcher, pinned with
  // the vendored file), so no second protobuf library is needed.
  var heatGeneration = 0;
  var heatMax = 0;
  var heatPoints = [];
  function heatTileUrl(p) {
    return cfg.urls.heatTiles + query({ since: p.since, until: p.until, "class": state.category });
  }
  function fetchHeatTile(template, coords) {
    var reader = { _url: template, options: { fetchOptions: { credentials: "same-origin" } },
                   _getSubdomain: function () { return ""; }, _map: null };
    return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(reader, coords);
  }
  function loadHeat(p) {
    var mine = ++heatGeneration;
    var zoom = Math.max(0, Math.min(Math.round(map.getZoom()), cfg.tileMaxZoom));
    var bounds = map.getPixelBounds();
    var scale = Math.pow(2, zoom - map.getZoom());
    var min = bounds.min.multiplyBy(scale).divideBy(256).floor();
    var max = bounds.max.multiplyBy(scale).divideBy(256).floor();
    var template = heatTileUrl(p), jobs = [], size = Math.pow(2, zoom);
    for (var x = min.x; x <= max.x; x++) {
      for (var y = Math.max(0, min.y); y <= Math.min(size - 1, max.y); y++) {
        jobs.push(fetchHeatTile(template, { x: ((x % size) + size) % size, y: y, z: zoom })
          .then(binsOf.bind(null, x, y, zoom)));
      }
    }
    return Promise.all(jobs).then(function (tiles) {
      if (mine !== heatGeneration) { return; }
      var points = [].concat.apply([], tiles);
      var values = points.map(function (pt) { return pt[2]; }).sort(function (a, b) { return a - b; });
      // Scaled to the hottest bin: neighbouring bins add up in the heat layer, so anything lower
      // saturates a city of evenly spread reports into one red blot.
      heatMax = values.length ? Math.max(2, values[values.length - 1]) : 1;
      heat.setOptions({ max: heatMax, maxZoom: map.getZoom() });
      heatPoints = points;
      heat.setLatLngs(mode === "heat" ? points : []);
      document.body.dataset.heatTiles = String(jobs.length);
      document.body.dataset.heatPoints = String(points.length);
      drawLegend();
    });
  }
  function binsOf(tileX, tileY, zoom, tile) {
    var out = [];
    var layer = tile.layers && tile.layers.heat;
    if (!layer) { return out; }
    var extent = layer.extent || 4096;
    layer.features.forEach(function (feature) {
      var ring = feature.geometry[0];
      if (!ring || !ring.length) { return; }
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      ring.forEach(function (pt) {
        x0 = Math.min(x0, pt.x); x1 = Math.max(x1, pt.x); y0 = Math.min(y0, pt.y); y1 = Math.max(y1, pt.y);
      });
      var px = tileX * 256 + ((x0 + x1) / 2) / extent * 256;
      var py = tileY * 256 + ((y0 + y1) / 2) / extent * 256;
      var at = map.unproject([px, py], zoom);
      out.push([at.lat, at.lng, feature.properties.n]);
    });
    return out;
  }

  // --- Map mode switch and legend (one Leaflet control) -----------------------------------------
  var legendBox;
  var MapPanel = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "cc-map-panel");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var switcher = el("div", "segmented small");
      switcher.setAttribute("role", "group");
      ["heat", "choropleth"].forEach(function (key) {
        var button = el("button", "", T.layers[key]);
        button.type = "button";
        button.dataset.mode = key;
        button.setAttribute("aria-pressed", key === mode ? "true" : "false");
        button.addEventListener("click", function () { setMode(key); });
        switcher.appendChild(button);
      });
      box.appendChild(switcher);
      legendBox = el("div", "cc-legend");
      legendBox.id = "map-legend";
      box.appendChild(legendBox);
      return box;
    }
  });
  new MapPanel().addTo(map);
  var hint = L.control({ position: "bottomleft" });
  hint.onAdd = function () { return el("div", "map-hint", T.mapHint); };
  hint.addTo(map);

  function setMode(key) {
    mode = key;
    document.querySelectorAll(".cc-map-panel button[data-mode]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.mode === key ? "true" : "false");
    });
    heat.setLatLngs(key === "heat" ? heatPoints : []);
    gridLayer.redraw();
    document.body.dataset.mapMode = key;
    drawLegend();
  }

  function drawLegend() {
    if (!legendBox) { return; }
    legendBox.replaceChildren();
    if (mode === "heat") {
      legendBox.appendChild(el("div", "legend-title", T.legendHeat));
      var bar = el("div", "heat-bar");
      var row = el("div", "heat-scale");
      row.appendChild(el("span", "", T.legendFew));
      row.appendChild(bar);
      row.appendChild(el("span", "", T.legendMany));
      legendBox.appendChild(row);
      return;
    }
    legendBox.appendChild(el("div", "legend-title", T.legendChoropleth));
    if (!breaks.length) {
      legendBox.appendChild(el("div", "legend-empty", T.legendEmpty));
      return;
    }
    var list = el("ul", "legend-classes");
    breaks.forEach(function (low, i) {
      var high = i + 1 < breaks.length ? breaks[i + 1] - 1 : null;
      var item = el("li");
      var swatch = el("span", "swatch");
      swatch.style.background = PALETTE[i];
      item.appendChild(swatch);
      item.appendChild(el("span", "", high === null ? "≥ " + number(low) : (low === high ? number(low) : number(low) + "–" + number(high))));
      list.appendChild(item);
    });
    var zero = el("li");
    zero.appendChild(el("span", "swatch zero"));
    zero.appendChild(el("span", "", "0 " + T.legendZero));
    list.appendChild(zero);
    legendBox.appendChild(list);
  }

  // --- Indicator cards --------------------------------------------------------------------------
  var CARD_KEYS = ["reported", "filed", "closed", "closing_rate", "on_time_rate", "rework_rate",
                   "extension_rate", "overdue_open", "mean_handling_hours"];
  var cards = $("cards");
  var cardNodes = {};
  CARD_KEYS.forEach(function (key) {
    var card = el("div", "kpi");
    card.dataset.key = key;
    var label = el("span", "kpi-label", T.cards[key]);
    label.title = T.cards[key];
    card.appendChild(label);
    var value = el("span", "kpi-value", T.none);
    card.appendChild(value);
    var sub = el("span", "kpi-sub", "");
    card.appendChild(sub);
    cards.appendChild(card);
    cardNodes[key] = { card: card, value: value, sub: sub };
  });
  // The figures include reports generated for the demo (cases/history.py): say how many.
  function fillGenerated(n) {
    var note = $("generated-note");
    note.hidden = !n;
    note.textContent = n ? fmt(T.generated, { n: number(n) }) : "";
    document.body.dataset.generated = String(n || 0);
  }

  function fillCards(indicators) {
    CARD_KEYS.forEach(function (key) {
      var raw = indicators[key], node = cardNodes[key], shown;
      if (/_rate$/.test(key)) { shown = percent(raw); }
      else if (key === "mean_handling_hours") { shown = raw === null ? T.none : raw.toFixed(1); }
      else { shown = number(raw); }
      node.value.textContent = shown;
      node.card.dataset.value = raw === null || raw === undefined ? "" : String(raw);
      if (key === "mean_handling_hours" && raw !== null) {
        var unit = el("small", "kpi-unit", " " + T.hoursUnit);
        node.value.appendChild(unit);
      }
      var sub = T.cardSub[key];
      var values = Object.assign({}, indicators);
      Object.keys(values).forEach(function (k) {
        if (typeof values[k] === "number" && k.indexOf("hours") < 0) { values[k] = number(values[k]); }
      });
      if (values.median_handling_hours === null) { values.median_handling_hours = T.none; }
      node.sub.textContent = sub ? fmt(sub, values) : "";
      node.sub.title = node.sub.textContent;
      node.card.classList.toggle("alert", key === "overdue_open" && raw > 0);
    });
  }

  // --- Charts -----------------------------------------------------------------------------------
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#334";
  Chart.defaults.animation = false;  // a wall display redraws every minute: no re-animation
  var charts = {};
  function chart(id, type, horizontal) {
    if (charts[id]) { return charts[id]; }
    charts[id] = new Chart($(id), {
      type: type,
      data: { labels: [], datasets: [] },
      options: {
        responsive: true, maintainAspectRatio: false, indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12, padding: 10 } } },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0, autoSkip: true, maxRotation: 0 },
               grid: { display: !horizontal } },
          y: { beginAtZero: true, ticks: { precision: 0, autoSkip: false }, grid: { display: horizontal ? false : true } }
        },
        elements: { line: { tension: 0.25, borderWidth: 2 }, point: { radius: 0, hitRadius: 6 } }
      }
    });
    return charts[id];
  }
  function setChart(id, type, horizontal, labels, series, rows) {
    var canvas = $(id), box = canvas.closest(".chart-box");
    var empty = !rows.length || rows.every(function (row) {
      return series.every(function (key) { return !row[key]; });
    });
    box.querySelector(".empty").hidden = !empty;
    box.querySelector(".chart-wrap").classList.toggle("is-empty", empty);
    var c = chart(id, type, horizontal);
    c.data.labels = labels;
    c.data.datasets = series.map(function (key) {
      return { label: T.series[key], data: rows.map(function (row) { return row[key]; }),
               backgroundColor: SERIES_COLOURS[key], borderColor: SERIES_COLOURS[key],
               maxBarThickness: 16, fill: false };
    });
    c.update("none");
    box.dataset.rows = String(rows.length);
  }
  // Chart labels: Chinese names are dense, English ones need more letters for the same width.
  function shortName(name) {
    var room = EN ? 24 : 12;
    return name.length > room ? name.slice(0, room - 1) + "…" : name;
  }
  function fillDepartments(rows) {
    rows = rows.slice(0, 8);
    setChart("chart-department", "bar", true,
             rows.map(function (r) { return shortName(localName(r) || String(r.key)); }),
             ["filed", "handled", "closed"], rows);
  }
  function fillStreets(rows) {
    rows = rows.slice(0, 10);
    setChart("chart-street", "bar", true,
             rows.map(function (r) { return r.key ? shortName(localName(r) || r.key) : T.outsideStreets; }),
             ["reported", "closed"], rows);
  }
  function fillDays(body) {
    var rows = body.rows || [];
    $("day-caption").firstChild.textContent = (body.bucket === "month" ? T.byMonth : $("day-caption").dataset.day) + " ";
    setChart("chart-day", rows.length > 1 ? "line" : "bar", false,
             rows.map(function (r) { return body.bucket === "month" ? r.date.slice(0, 7) : r.date.slice(5); }),
             ["reported", "filed", "closed"], rows);
  }
  $("day-caption").dataset.day = $("day-caption").firstChild.textContent.trim();

  // --- Hot grids and overdue cases --------------------------------------------------------------
  function fillHotGrids(body) {
    var list = $("hot-list");
    list.replaceChildren();
    var grids = body.grids || [];
    $("hot-empty").hidden = grids.length > 0;
    grids.forEach(function (g) {
      var li = el("li");
      var button = el("button", "hot-item");
      button.type = "button";
      button.dataset.code = g.code;
      button.appendChild(el("span", "rank" + (g.rank <= 3 ? " top" : ""), String(g.rank)));
      var main = el("span", "hot-main");
      main.appendChild(el("span", "hot-name", gridLabel(g.name, g.code)));
      main.appendChild(el("span", "hot-path", [g.street, g.community].filter(Boolean).join(" › ") +
                                               (g.officer_name ? " · " + g.officer_name : "")));
      button.appendChild(main);
      var meta = el("span", "hot-meta");
      meta.appendChild(el("strong", "hot-count", fmt(T.reports, { n: number(g.reports) })));
      var delta = g.reports - g.previous;
      var trend = el("span", "trend " + (delta > 0 ? "up" : delta < 0 ? "down" : "same"),
                     delta > 0 ? "▲" + delta : delta < 0 ? "▼" + (-delta) : "＝");
      trend.title = delta > 0 ? fmt(T.trendUp, { n: delta }) : delta < 0 ? fmt(T.trendDown, { n: -delta }) : T.trendSame;
      meta.appendChild(trend);
      if (g.overdue) { meta.appendChild(el("span", "late-note", fmt(T.overdueReports, { n: g.overdue }))); }
      button.appendChild(meta);
      button.addEventListener("click", function () { openSummary(g.code, true); });
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  var overdueMarker = L.layerGroup().addTo(map);
  function fillOverdue(body) {
    var list = $("overdue-list");
    list.replaceChildren();
    var cases = body.cases || [];
    $("overdue-count").textContent = number(body.count);
    $("overdue-count").hidden = !body.count;
    $("overdue-empty").hidden = body.count > 0;
    $("overdue-more").hidden = body.count <= cases.length;
    $("overdue-more").textContent = fmt(T.overdueMore, { n: number(body.count - cases.length) });
    cases.forEach(function (c) {
      var li = el("li");
      li.dataset.id = c.id;
      var button = el("button", "overdue-item");
      button.type = "button";
      var main = el("span", "ov-main");
      main.appendChild(el("span", "ov-title", "#" + c.id + " " + localName(c, "class_name")));
      main.appendChild(el("span", "ov-sub", [gridLabel(c.grid_name, c.grid_code), localName(c, "department")]
        .filter(Boolean).join(" · ")));
      button.appendChild(main);
      var meta = el("span", "ov-meta");
      meta.appendChild(el("strong", "ov-late", fmt(T.overdueBy, { h: c.overdue_hours })));
      meta.appendChild(el("span", "ov-deadline", fmt(T.deadline, { when: when(c.deadline) })));
      button.appendChild(meta);
      button.addEventListener("click", function () {
        overdueMarker.clearLayers();
        L.circleMarker([c.lat, c.lon], { radius: 9, color: "#fff", weight: 2, fillColor: "#c0281c", fillOpacity: 1 })
          .bindTooltip(GeoGrid.lines("#" + c.id + " " + localName(c, "class_name"))).addTo(overdueMarker);
        map.setView([c.lat, c.lon], Math.max(map.getZoom(), 17), { animate: false });
        openSummary(c.grid_code, false);
      });
      li.appendChild(button);
      var link = el("a", "ov-link", T.openInDesk);
      link.href = cfg.urls.caseDesk + "?case=" + c.id;
      li.appendChild(link);
      list.appendChild(li);
    });
  }

  // --- Grid summary -----------------------------------------------------------------------------
  var summaryBox = $("grid-summary"), summaryCode = null, summaryGeneration = 0;
  function openSummary(code, zoom) {
    summaryCode = code;
    var mine = ++summaryGeneration;
    summaryBox.hidden = false;
    summaryBox.classList.add("busy");
    $("summary-error").hidden = true;
    if (!summaryBox.dataset.code || summaryBox.dataset.code !== code) {
      $("summary-title").textContent = code;
      $("summary-path").textContent = T.summaryLoading;
    }
    var p = period();
    return api(cfg.urls.summary.replace(cfg.placeholder, code) + query({ since: p.since, until: p.until }))
      .then(function (body) {
        if (mine !== summaryGeneration) { return; }
        fillSummary(body);
        var docked = getComputedStyle(summaryBox).position !== "absolute";
        if (docked && zoom) { summaryBox.scrollIntoView({ block: "start" }); }
        if (!zoom && !docked) { uncover(body.grid.bbox); }
        if (zoom) {
          var b = body.grid.bbox;
          // Keep the grid clear of the summary panel, which covers the map's right side.
          var covered = summaryBox.offsetParent && getComputedStyle(summaryBox).position === "absolute" ?
            summaryBox.offsetWidth + 30 : 30;
          map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 17, animate: false,
                                                       paddingTopLeft: [30, 30], paddingBottomRight: [covered, 30] });
        }
      })
      .catch(function (error) {
        if (mine !== summaryGeneration) { return; }
        $("summary-error").textContent = error.message;
        $("summary-error").hidden = false;
      })
      .then(function () { if (mine === summaryGeneration) { summaryBox.classList.remove("busy"); } });
  }
  // A grid clicked near the map's right edge would sit under the summary panel: pan it clear.
  function uncover(b) {
    var centre = map.latLngToContainerPoint([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2]);
    var edge = map.getSize().x - summaryBox.offsetWidth - 30;
    if (centre.x > edge && edge > 80) { map.panBy([centre.x - edge / 2, 0], { animate: false }); }
  }
  function fillSummary(body) {
    var g = body.grid;
    summaryBox.dataset.code = g.code;
    $("summary-title").textContent = gridLabel(g.name, g.code);
    $("summary-path").textContent = body.path.filter(function (step) { return step.code !== g.code; })
      .map(function (step) { return localName(step); }).join(" › ");
    var officer = $("summary-officer");
    officer.replaceChildren();
    if (body.officer.name) {
      officer.appendChild(el("span", "officer-name", body.officer.name));
      if (body.officer.phone) {
        var phone = el("a", "phone", body.officer.phone);
        phone.href = "tel:" + body.officer.phone;
        officer.appendChild(document.createTextNode(" "));
        officer.appendChild(phone);
      }
    } else {
      officer.textContent = T.officerNone;
    }
    $("summary-inspectors").textContent = body.inspectors.length ?
      body.inspectors.map(function (i) { return i.name + (i.phone ? " " + i.phone : ""); }).join("、") : T.officerNone;
    $("summary-type").textContent = [g.grid_type_label, g.area_class ? g.area_class : ""].filter(Boolean).join(" · ");
    $("summary-area").textContent = fmt(T.area, { m2: number(Math.round(g.area_m2)) });

    var mini = $("summary-indicators");
    mini.replaceChildren();
    ["reported", "filed", "closed", "closing_rate", "overdue_open"].forEach(function (key) {
      var raw = body.indicators[key];
      var card = el("div", "mini" + (key === "overdue_open" && raw > 0 ? " alert" : ""));
      card.dataset.key = key;
      card.appendChild(el("strong", "", /_rate$/.test(key) ? percent(raw) : number(raw)));
      card.appendChild(el("span", "", T.summaryCards[key]));
      mini.appendChild(card);
    });

    var open = body.open_cases;
    $("summary-open-count").textContent = fmt(T.openCount, { n: number(open.count), late: number(open.overdue) });
    var cases = $("summary-cases");
    cases.replaceChildren();
    $("summary-no-cases").hidden = open.count > 0;
    open.items.forEach(function (c) {
      var li = el("li");
      var link = el("a", "", "#" + c.id + " " + localName(c, "class_name"));
      link.href = cfg.urls.caseDesk + "?case=" + c.id;
      li.appendChild(link);
      li.appendChild(el("span", "case-status", c.status_label));
      if (c.overdue) { li.appendChild(el("span", "late-badge", T.overdueBadge)); }
      cases.appendChild(li);
    });

    var comps = body.components;
    $("summary-components-count").textContent = fmt(T.componentsCount, { n: number(comps.total), faulty: number(comps.faulty) });
    var table = $("summary-components"), tbody = table.querySelector("tbody");
    tbody.replaceChildren();
    table.hidden = !comps.by_class.length;
    $("summary-no-components").hidden = comps.by_class.length > 0;
    var SHOWN = 12;
    comps.by_class.slice(0, SHOWN).forEach(function (row) {
      var tr = el("tr");
      var name = el("td", "", localName(row));
      name.title = localName(row, "major_name") + " · " + row.code;
      tr.appendChild(name);
      tr.appendChild(el("td", "num", number(row.total)));
      tr.appendChild(el("td", "num" + (row.faulty ? " faulty" : ""), number(row.faulty)));
      tbody.appendChild(tr);
    });
    if (comps.by_class.length > SHOWN) {
      var more = el("tr", "more");
      var cell = el("td", "", fmt(T.moreClasses, { n: comps.by_class.length - SHOWN }));
      cell.colSpan = 3;
      more.appendChild(cell);
      tbody.appendChild(more);
    }

    highlight.clearLayers();
    L.geoJSON(g.geometry, { interactive: false, style: { color: "#12355b", weight: 3, fill: true,
                                                         fillColor: "#12355b", fillOpacity: 0.08 } })
      .addTo(highlight);
    document.body.dataset.summary = g.code;
  }
  $("summary-close").addEventListener("click", function () {
    summaryBox.hidden = true;
    summaryCode = null;
    summaryBox.dataset.code = "";
    highlight.clearLayers();
    overdueMarker.clearLayers();
  });

  map.on("click", function (e) {
    var url = cfg.urls.locate + query({ lon: e.latlng.lng.toFixed(7), lat: e.latlng.lat.toFixed(7) });
    api(url).then(function (location) {
      var unit = location.path && location.path.length ? location.path[location.path.length - 1] : location.grid;
      openSummary(unit.code, false);
    }).catch(function (error) {
      say(error.status === 404 ? T.outside : T.failed + error.message, error.status === 404 ? "hint" : "error");
    });
  });

  // --- Loading everything, and again every minute ------------------------------------------------
  var generation = 0, timer = null, lastLoaded = 0;
  function refresh() {
    var mine = ++generation;
    var p = period();
    $("period-label").textContent = p.first === p.last ? p.first : p.first + " – " + p.last;
    $("cards-note").hidden = !state.category;
    var filters = { since: p.since, until: p.until, "class": state.category };
    var failures = [];
    function part(promise, fill) {
      return promise.then(function (body) { if (mine === generation) { fill(body); } })
        .catch(function (error) { failures.push(error); });
    }
    var jobs = [
      part(api(cfg.urls.indicators + query({ since: p.since, until: p.until })), function (body) {
        fillCards(body.indicators);
        fillGenerated(body.generated);
      }),
      part(api(cfg.urls.rows + query({ by: "department", since: p.since, until: p.until })), function (body) { fillDepartments(body.rows); }),
      part(api(cfg.urls.rows + query({ by: "street", since: p.since, until: p.until })), function (body) { fillStreets(body.rows); }),
      part(api(cfg.urls.rows + query({ by: "day", since: p.since, until: p.until })), fillDays),
      part(api(cfg.urls.hotGrids + query(Object.assign({ limit: 10 }, filters))), fillHotGrids),
      part(api(cfg.urls.overdue + query({ "class": state.category, limit: 50 })), fillOverdue),
      part(api(cfg.urls.gridCounts + query(Object.assign({ level: "unit" }, filters))), function (body) {
        counts = {};
        (body.grids || []).forEach(function (row) { counts[row[1]] = row[3]; });
        breaks = computeBreaks(Object.keys(counts).map(function (k) { return counts[k]; }));
        gridLayer.redraw();
        document.body.dataset.gridCounts = String(Object.keys(counts).length);
        drawLegend();
      }),
      part(loadHeat(p), function () {})
    ];
    if (summaryCode) { jobs.push(openSummary(summaryCode, false)); }
    return Promise.all(jobs).then(function () {
      if (mine !== generation) { return; }
      lastLoaded = Date.now();
      if (failures.length) {
        var first = failures[0];
        say(first.network ? T.network : T.failed + first.message, "error");
        $("updated-at").textContent = fmt(T.retry, { s: cfg.refreshSeconds });
        $("updated-at").classList.add("stale");
      } else {
        say("");
        var now = new Date();
        $("updated-at").textContent = fmt(T.updated, { time: clock(now) });
        $("updated-at").classList.remove("stale");
        document.body.dataset.updatedAt = now.toISOString();
      }
      document.body.dataset.ready = "1";
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    });
  }
  function schedule() {
    if (timer) { clearInterval(timer); }
    timer = setInterval(function () {
      // A hidden tab does not poll; it catches up when shown again.
      if (!document.hidden) { refresh(); }
    }, cfg.refreshSeconds * 1000);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() - lastLoaded > cfg.refreshSeconds * 1000) { refresh(); schedule(); }
  });
  var heatTimer = null;
  map.on("moveend", function () {
    // Panning and zooming need other heat tiles; wait until the map settles.
    clearTimeout(heatTimer);
    heatTimer = setTimeout(function () { loadHeat(period()).catch(function () {}); }, 250);
  });

  // --- Controls -------------------------------------------------------------------------------
  var select = $("class-filter");
  var groups = {};
  cfg.categories.forEach(function (c) {
    var key = c.kind + ":" + c.group;
    if (!groups[key]) {
      groups[key] = el("optgroup");
      groups[key].label = (c.kind === "component" ? T.components : T.events) + " · " + c.group;
      select.appendChild(groups[key]);
    }
    var option = el("option", "", localName(c) + " (" + c.code + ")");
    option.value = c.code;
    groups[key].appendChild(option);
  });

  function remember() {
    var params = new URLSearchParams();
    params.set("window", state.window);
    if (state.window === "custom") { params.set("from", state.customSince); params.set("to", state.customUntil); }
    if (state.category) { params.set("class", state.category); }
    history.replaceState(null, "", "?" + params.toString());
  }
  function showWindow() {
    document.querySelectorAll("#window-buttons button").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.window === state.window ? "true" : "false");
    });
    $("custom-range").hidden = state.window !== "custom";
  }
  document.querySelectorAll("#window-buttons button").forEach(function (button) {
    button.addEventListener("click", function () {
      state.window = button.dataset.window;
      showWindow();
      if (state.window === "custom") {
        var p = period();
        $("custom-since").value = state.customSince || p.first;
        $("custom-until").value = state.customUntil || p.last;
        if (!state.customSince) { $("custom-since").focus(); return; }
      }
      remember();
      refresh();
      schedule();
    });
  });
  $("custom-range").addEventListener("submit", function (event) {
    event.preventDefault();
    var since = $("custom-since").value, until = $("custom-until").value;
    if (!since || !until || until < since) { say(T.badRange, "error"); return; }
    state.customSince = since;
    state.customUntil = until;
    remember();
    refresh();
    schedule();
  });
  select.addEventListener("change", function () {
    state.category = select.value;
    remember();
    refresh();
    schedule();
  });
  $("refresh-now").addEventListener("click", function () { refresh(); schedule(); });

  // The view from the address (a bookmark or a reload keeps it).
  var wanted = new URLSearchParams(window.location.search);
  if (["today", "7d", "30d", "year", "custom"].indexOf(wanted.get("window")) >= 0) { state.window = wanted.get("window"); }
  if (/^\d{4}-\d{2}-\d{2}$/.test(wanted.get("from") || "") && /^\d{4}-\d{2}-\d{2}$/.test(wanted.get("to") || "")) {
    state.customSince = wanted.get("from");
    state.customUntil = wanted.get("to");
    $("custom-since").value = state.customSince;
    $("custom-until").value = state.customUntil;
  } else if (state.window === "custom") {
    state.window = "7d";
  }
  if (wanted.get("class") && select.querySelector('option[value="' + wanted.get("class").replace(/[^0-9A-Za-z]/g, "") + '"]')) {
    state.category = wanted.get("class");
    select.value = state.category;
  }
  showWindow();
  drawLegend();
  document.body.dataset.mapMode = mode;
  refresh();
  schedule();
})();
