/* The planner's grid editor.
 *
 * One pending edit at a time (create, reshape, split, merge, retire, divide). Every change of
 * the pending edit is checked by the server (POST edits with commit=false), which answers with
 * the problems (drawn in red), the gaps it would open, the codes created/retired and how many
 * components and open cases would change grid; "save" sends the same edit with commit=true.
 * Drawing and vertex editing are Leaflet-Geoman (free), snapping to the children on the map.
 * Works without a basemap: grids, problems and previews are vector layers.
 */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData("editor-config");
  var T = {  // the script's words: gettext() from the djangojs catalogue (/jsi18n/)
    network: gettext("无法连接服务器，请检查网络后重试。"),
    choose: gettext("— 请选择 —"),
    loading: gettext("正在加载…"),
    failed: gettext("加载失败："),
    noChildren: gettext("没有下级网格。可以绘制新网格，或自动划分。"),
    childrenOf: gettext("{name}（{code}）的下级网格"),
    area: gettext("面积"),
    version: gettext("版本"),
    by: gettext("修改人"),
    reason: gettext("原因"),
    current: gettext("当前边界"),
    historyOf: gettext("历史边界：{code}"),
    replacedBy: gettext("已被以下网格取代："),
    replaces: gettext("取代了："),
    selected: gettext("已选中 {n} 个网格"),
    hintIdle: gettext("点击网格选中，按住 Ctrl 或 Shift 多选。"),
    hintDraw: gettext("在地图上逐点点击绘制边界，点击第一个点结束；会自动吸附相邻网格的边和节点。"),
    hintEdit: gettext("拖动节点修改边界，拖动边上的小点可增加节点；每次修改后自动检查。"),
    hintSplit: gettext("画一条横穿所选网格的线：从网格外开始，到网格外结束，再点一次最后一点完成。"),
    hintMerge: gettext("合并后生成一个新编码的网格，原网格退役。"),
    hintRetire: gettext("退役的网格保留在历史中，编码不再使用；其范围将成为缝隙。"),
    hintDivide: gettext("选择划分方式和目标，预览后再保存。沿道路划分沿已导入的道路、水系和围墙切分，不切断建筑。"),
    selectOne: gettext("请先选中一个网格。"),
    selectMany: gettext("请选中至少两个相邻的网格。"),
    pickParent: gettext("请先选择上级网格。"),
    nothingToUndo: gettext("没有可撤销的操作。"),
    checking: gettext("正在检查…"),
    saving: gettext("正在保存…"),
    ok: gettext("检查通过，可以保存。"),
    saved: gettext("已保存。"),
    problems: gettext("发现 {n} 个问题，不能保存："),
    warnings: gettext("请注意："),
    created: gettext("将新建"),
    changed: gettext("将修改"),
    retired: gettext("将退役"),
    createdDone: gettext("已新建"),
    changedDone: gettext("已修改"),
    retiredDone: gettext("已退役"),
    componentsMoved: gettext("{n} 个部件将变更所属网格"),
    casesMoved: gettext("{n} 个未结案件将变更所属网格"),
    casesLeft: gettext("{n} 个未结案件将留在已退役的网格中"),
    conflict: gettext("网格 {code} 已被 {who} 于 {when} 修改（当前版本 {version}）。您的图形已保留，可以在新版本上重试。"),
    retry: gettext("用我的图形重试"),
    reload: gettext("放弃并重新加载"),
    kind_overlap: gettext("重叠"),
    kind_gap: gettext("缝隙"),
    kind_escape: gettext("超出上级"),
    kind_invalid: gettext("图形无效"),
    kind_area: gettext("面积不符"),
    colon: gettext("："),
    listSep: gettext("、"),
    attributesOf: gettext("网格 {code} 的属性"),
    attributesSaved: gettext("属性已保存。"),
    refused_line_does_not_cut: gettext("这条线没有把网格切成两块：请从网格外开始画，横穿网格，到网格外结束。"),
    refused_not_adjacent: gettext("所选网格不相连（只有公共边的网格才能合并，只相接于一点不行）。"),
    refused_has_children: gettext("该网格下还有下级网格：请先编辑或重新划分其下级网格。"),
    refused_retired: gettext("该网格已退役，不能再编辑。"),
    refused_merge_needs_two: gettext("请至少选中两个网格再合并。"),
    refused_mixed_parents: gettext("只能合并同一上级下、同一层级的网格。"),
    error: gettext("出错了："),
    confirmLeave: gettext("有未保存的修改，确定放弃吗？"),
    gridLabel: gettext("网格 {code}"),
    newGrid: gettext("新网格"),
    msg_overlap: gettext("{a} 与 {b} 重叠 {area}。"),
    msg_gap: gettext("{a} 内有 {area} 不属于任何下级网格（缝隙）。"),
    msg_escape: gettext("{a} 有 {area} 超出上级网格。"),
    msg_area: gettext("{a} 面积 {area}，不在本层级允许的 {min} 至 {max} 之间。"),
    refused_no_features: gettext("该区域未导入道路、水系或围墙，不能沿道路划分：请先导入道路图层，或改用方格、Voronoi 划分。"),
    refused_codes_exhausted: gettext("下级网格编码不够用：请加大目标面积或减少网格数。"),
    refused_bad_tolerance: gettext("允许偏差须在 5% 至 100% 之间。"),
    refused_bad_count: gettext("网格数须为 1 至 999 的整数。"),
    refused_bad_target: gettext("请填写目标面积或网格数。"),
    err_area: gettext("目标面积须为 {min} 至 {max} 平方米之间的数。"),
    err_count: gettext("网格数须为 1 至 999 的整数。"),
    err_inspectors: gettext("网格员人数须为 1 至 999 的整数。"),
    err_tolerance: gettext("允许偏差须为 5 至 100 之间的百分数。"),
    err_balance: gettext("所选的工作量来源不可用，请重新选择。"),
    err_method: gettext("请选择划分方式。"),
    reportsMonths: gettext("{label}（近 {n} 个月）"),
    status_new: gettext("新建"),
    status_changed: gettext("边界调整"),
    status_kept: gettext("保持不变"),
    status_retired: gettext("退役"),
    legendTitle: gettext("划分预览"),
    method_features: gettext("沿道路划分"),
    method_square: gettext("方格"),
    method_voronoi: gettext("Voronoi 多边形"),
    thisDivision: gettext("本次：{method}"),
    usedArea: gettext("目标每格约 {area}"),
    usedCount: gettext("目标 {n} 个网格"),
    usedTolerance: gettext("允许偏差 {pct}"),
    usedKeepBlocks: gettext("街坊整块成格"),
    inspectorsHere: gettext("每名网格员一个网格；本区域有 {n} 名网格员。"),
    inspectorsNone: gettext("每名网格员一个网格；本区域还没有指派网格员，请填写人数。"),
    usedBalance: gettext("均衡：{sources}"),
    usedAreaOnly: gettext("仅按面积均衡"),
    countKept: gettext("保持不变 {n}"),
    countChanged: gettext("边界调整 {n}"),
    countRetired: gettext("退役 {n}"),
    countCreated: gettext("新建 {n}"),
    row_grids: gettext("网格数"),
    row_area_mean: gettext("平均面积"),
    row_area_cv: gettext("面积变异系数"),
    row_workload_cv: gettext("工作量变异系数"),
    row_area_max: gettext("最大网格"),
    row_area_min: gettext("最小网格"),
    row_workload_range: gettext("工作量范围（1 = 平均）"),
    row_on_feature: gettext("边界沿道路等要素的比例"),
    row_buildings_cut: gettext("切断的建筑"),
    perGrid: gettext("每个网格（{n} 个）"),
    col_code: gettext("网格编码"),
    col_status: gettext("状态"),
    col_area: gettext("面积"),
    col_workload: gettext("工作量"),
    msg_invalid: gettext("图形无效：边界自相交或有重复节点（{where}）。请移动节点，使边界不再交叉。")
  };
  var TYPE_COLOURS = {
    administrative: "#6a3d9a", residential: "#1f78b4", commercial: "#e31a1c",
    institution: "#ff7f00", crowded: "#fb9a99", village: "#b15928", park: "#33a02c",
    farmland: "#b2df8a", water: "#a6cee3", mixed: "#cab2d6", other: "#8c8c8c"
  };
  var typeLabels = {};
  cfg.gridTypes.forEach(function (t) { typeLabels[t.value] = t.label; });

  var fmt = GeoGrid.fmt;
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function $(id) { return document.getElementById(id); }
  function m2(value) { return Math.round(value).toLocaleString() + " m²"; }
  var when = GeoGrid.when;

  // --- Map and layers -------------------------------------------------------------------------
  var map = GeoGrid.createMap("editor-map", { zoomControl: true });
  // Quarter zoom steps: a parent fitted beside the division report fills the smaller map.
  map.options.zoomSnap = 0.25;
  // The map shares its column with the division report, whose height changes (a table opened):
  // Leaflet only watches the window, so it is told when its own box changes.
  if (window.ResizeObserver) {
    new ResizeObserver(function () { map.invalidateSize({ animate: false }); })
      .observe(document.getElementById("editor-map"));
  }
  if (window.GeoGridBasemap) { GeoGridBasemap.addToggle(map); }  // 道路/水系/建筑 over the offline basemap
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 20, allowSelfIntersection: true });
  var overlay = { pmIgnore: true, snapIgnore: true, interactive: false };
  var childLayer = L.geoJSON(null, {
    style: function (f) { return childStyle(f, false); },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(GeoGrid.lines(f.properties.code), { permanent: true, direction: "center",
                                              className: "grid-label" });
      layer.on("click", function (e) {
        if (state.mode) { return; }
        toggleSelection(f.properties.code, e.originalEvent.ctrlKey || e.originalEvent.shiftKey
                        || e.originalEvent.metaKey);
      });
    }
  }).addTo(map);
  // The parent's outline is a snap target (children are drawn up to it) but never edited.
  var parentLayer = L.geoJSON(null, {
    style: { color: "#12355b", weight: 3, fill: false, dashArray: "6 4" },
    pmIgnore: true, snapIgnore: false, interactive: false
  }).addTo(map);
  // A preview's grids by status (docs/domain.md §2.7): kept green, changed amber, new blue,
  // retired a red dashed outline drawn over the others (where the old boundaries ran).
  var PREVIEW_STYLES = {
    "new": { color: "#0b63c5", weight: 2, dashArray: "4 3", fillColor: "#4aa3ff", fillOpacity: 0.25 },
    changed: { color: "#a15c00", weight: 2, fillColor: "#f2a900", fillOpacity: 0.35 },
    kept: { color: "#1b6e36", weight: 2, fillColor: "#3fb56b", fillOpacity: 0.3 },
    retired: { color: "#c0001a", weight: 2.5, dashArray: "7 5", fill: false }
  };
  var STATUS_ORDER = ["kept", "changed", "new", "retired"];
  function previewStatus(f) {
    var status = f.properties && f.properties.status;
    return PREVIEW_STYLES[status] ? status : "new";
  }
  var previewLayer = L.geoJSON(null, Object.assign({
    style: function (f) {
      var status = previewStatus(f);
      return Object.assign({ className: "preview-shape preview-" + status }, PREVIEW_STYLES[status]);
    },
    onEachFeature: function (f, layer) {
      if (previewStatus(f) === "retired") { return; }  // its code is listed; a label would cover the new ones
      var area = f.properties.area_m2 ? m2(f.properties.area_m2) : null;
      layer.bindTooltip(GeoGrid.lines(f.properties.code, area),
                        { permanent: true, direction: "center", className: "grid-label preview-label" });
    }
  }, overlay)).addTo(map);
  function showPreview(collection, withLegend) {
    // Retired outlines last, so that their dashes lie on top of what replaces them.
    var features = (collection.features || []).slice().sort(function (a, b) {
      return STATUS_ORDER.indexOf(previewStatus(a)) - STATUS_ORDER.indexOf(previewStatus(b));
    });
    previewLayer.addData({ type: "FeatureCollection", features: features });
    fitLabels();
    // Every division has the legend; another edit's preview only when it is not all new grids.
    showLegend(withLegend || features.some(function (f) { return previewStatus(f) !== "new"; }));
  }

  // The preview's legend, a map control shown while a preview with statuses is on the map.
  var legendControl = L.control({ position: "bottomleft" });
  legendControl.onAdd = function () {
    var box = el("div", { "class": "preview-legend", id: "preview-legend" });
    box.appendChild(el("strong", {}, T.legendTitle));
    STATUS_ORDER.forEach(function (status) {
      var item = el("span", { "class": "legend-item", "data-status": status });
      item.appendChild(el("span", { "class": "swatch status-" + status }));
      item.appendChild(document.createTextNode(T["status_" + status]));
      box.appendChild(item);
    });
    return box;
  };
  // A grid's permanent label only where it fits inside the grid at this zoom: a division of a
  // real community draws a hundred grids, whose labels would otherwise cover the whole map.
  var hiddenLabels = [];  // codes of the children whose label a preview replaces
  function labelFits(layer) {
    var bounds = layer.getBounds();
    var nw = map.latLngToContainerPoint(bounds.getNorthWest());
    var se = map.latLngToContainerPoint(bounds.getSouthEast());
    return se.x - nw.x >= 120 && se.y - nw.y >= 34;
  }
  function fitLabels() {
    childLayer.eachLayer(function (layer) {
      if (hiddenLabels.indexOf(layer.feature.properties.code) >= 0) { return; }
      if (labelFits(layer)) { layer.openTooltip(); } else { layer.closeTooltip(); }
    });
    previewLayer.eachLayer(function (layer) {
      if (!layer.getTooltip()) { return; }
      if (labelFits(layer)) { layer.openTooltip(); } else { layer.closeTooltip(); }
    });
  }
  map.on("zoomend", fitLabels);

  var legendShown = false;
  function showLegend(show) {
    if (show && !legendShown) { legendControl.addTo(map); }
    if (!show && legendShown) { legendControl.remove(); }
    legendShown = show;
  }
  var problemLayer = L.geoJSON(null, Object.assign({
    style: function (f) {
      var warn = f.properties.warning;
      return { color: warn ? "#d98b00" : "#c0001a", weight: 2, fillColor: warn ? "#ffc857" : "#ff2b4a",
               fillOpacity: 0.55, dashArray: warn ? "3 3" : null, className: "problem-shape" };
    },
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, Object.assign({ radius: 9 }, overlay));
    }
  }, overlay)).addTo(map);
  var historyLayer = L.geoJSON(null, overlay).addTo(map);

  var state = {
    parent: null,          // {code, name, ...} of the parent whose children are shown
    children: {},          // code -> GeoJSON feature
    layers: {},            // code -> Leaflet layer
    selected: [],          // selected child codes
    mode: null,            // null | draw | edit | split | merge | retire | divide
    edit: null,            // the pending edit payload (without commit)
    workLayer: null,       // the layer being drawn or edited
    original: null,        // latlngs before editing (cancel restores them)
    undo: [],              // earlier latlngs of the work layer
    checkSeq: 0, checkedSeq: -1, lastOk: false, busy: false
  };
  window.geogridEditor = { map: map, state: state };

  function childStyle(f, selected) {
    var colour = TYPE_COLOURS[f.properties.grid_type] || TYPE_COLOURS.other;
    return { color: selected ? "#ffb000" : "#263238", weight: selected ? 4 : 1.2,
             fillColor: colour, fillOpacity: selected ? 0.5 : 0.35 };
  }

  // --- Parent picker and children -------------------------------------------------------------
  var pickers = [$("pick-0"), $("pick-1"), $("pick-2")];

  function fillPicker(select, grids) {
    select.replaceChildren();
    select.appendChild(el("option", { value: "" }, T.choose));
    grids.forEach(function (g) {
      select.appendChild(el("option", { value: g.code }, g.name === g.code ? g.code : g.name + "（" + g.code + "）"));
    });
    select.disabled = grids.length === 0;
  }

  // The editor branches on the answer's status (409 conflict, 400 with problems), so it takes
  // every answer as {status, body}; only an unreachable server rejects.
  function fetchJSON(url, options) {
    return GeoGridApi.request(url, options).then(function (body) {
      return { status: 200, body: body };
    }, function (error) {
      if (error.network || !error.status) { throw error; }
      return { status: error.status, body: error.body || {} };
    });
  }

  function gridsUrl(params) {
    var query = Object.keys(params).map(function (k) {
      return k + "=" + encodeURIComponent(params[k]);
    }).join("&");
    return cfg.urls.grids + "?" + query;
  }

  function loadAllPages(url, features) {
    return fetchJSON(url).then(function (res) {
      if (res.status !== 200) { throw new Error(res.body.detail || res.status); }
      // The API puts the code in the feature id; the editor reads it from the properties.
      (res.body.features || []).forEach(function (f) { f.properties.code = f.id; });
      features = features.concat(res.body.features || []);
      return res.body.next ? loadAllPages(res.body.next, features) : features;
    });
  }

  function onPick(depth) {
    if (!confirmDiscard()) { return; }
    var code = pickers[depth].value;
    for (var d = depth + 1; d < pickers.length; d++) { fillPicker(pickers[d], []); }
    var chosen = code;
    for (var k = depth; !chosen && k > 0; k--) { chosen = pickers[k - 1].value; }
    if (!chosen) { return; }
    showParent(chosen, depth);
  }

  function showParent(code, depth) {
    setResult(T.loading, "info");
    return Promise.all([
      fetchJSON(cfg.urls.grids + code + "/"),
      loadAllPages(gridsUrl({ parent: code, page_size: 1000 }), [])
    ]).then(function (parts) {
      var parent = parts[0].body;
      if (parts[0].status !== 200) { throw new Error(parent.detail || parts[0].status); }
      state.parent = Object.assign({ code: code }, parent.properties);
      state.parent.feature = parent;
      var features = parts[1];
      if (depth + 1 < pickers.length && code === pickers[depth].value && features.length &&
          features[0].properties.level !== cfg.levels[cfg.levels.length - 1].slug) {
        fillPicker(pickers[depth + 1], features.map(function (f) { return f.properties; }));
      }
      drawChildren(features);
      parentLayer.clearLayers().addData(parent);
      // No animation: the planner (and a test) may start drawing at once.
      map.fitBounds(parentLayer.getBounds(), { padding: [20, 20], animate: false });
      fitLabels();
      clearResult();
      refreshTools();
      document.body.dataset.parent = code;
    }).catch(function (e) { setResult(T.failed + e.message, "error"); });
  }

  function drawChildren(features) {
    childLayer.clearLayers();
    attrsFor = null;
    state.children = {};
    state.layers = {};
    state.selected = [];
    features.forEach(function (f) { state.children[f.properties.code] = f; });
    childLayer.addData(features);
    childLayer.eachLayer(function (layer) { state.layers[layer.feature.properties.code] = layer; });
    var p = state.parent;
    $("parent-summary").textContent = fmt(T.childrenOf, { name: p.name, code: p.code });
    $("children-count").textContent = String(features.length);
    var list = $("children-list");
    list.replaceChildren();
    if (!features.length) { list.appendChild(el("li", { "class": "empty" }, T.noChildren)); }
    features.forEach(function (f) {
      var pr = f.properties;
      var item = el("li", { "data-code": pr.code, tabindex: "0" });
      var swatch = el("span", { "class": "swatch" });
      swatch.style.background = TYPE_COLOURS[pr.grid_type] || TYPE_COLOURS.other;
      item.appendChild(swatch);
      item.appendChild(el("strong", {}, pr.code));
      item.appendChild(el("span", { "class": "muted" },
                          " " + (pr.name !== pr.code ? pr.name + " · " : "") +
                          (typeLabels[pr.grid_type] || pr.grid_type) + " · " + m2(pr.area_m2)));
      item.addEventListener("click", function (e) {
        if (state.mode) { return; }
        toggleSelection(pr.code, e.ctrlKey || e.shiftKey || e.metaKey);
        var layer = state.layers[pr.code];
        if (layer) { map.fitBounds(layer.getBounds(), { maxZoom: 18, padding: [40, 40] }); }
      });
      list.appendChild(item);
    });
    drawLegend(features);
    document.body.dataset.childrenLoaded = String(features.length);
  }

  function drawLegend(features) {
    var present = {};
    features.forEach(function (f) { present[f.properties.grid_type] = true; });
    var legend = $("legend");
    legend.replaceChildren();
    cfg.gridTypes.forEach(function (t) {
      if (!present[t.value]) { return; }
      var item = el("span", { "class": "legend-item" });
      var swatch = el("span", { "class": "swatch" });
      swatch.style.background = TYPE_COLOURS[t.value] || TYPE_COLOURS.other;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(t.label));
      legend.appendChild(item);
    });
  }

  function toggleSelection(code, additive) {
    var at = state.selected.indexOf(code);
    if (additive) {
      if (at >= 0) { state.selected.splice(at, 1); } else { state.selected.push(code); }
    } else {
      state.selected = at >= 0 && state.selected.length === 1 ? [] : [code];
    }
    Object.keys(state.layers).forEach(function (c) {
      var selected = state.selected.indexOf(c) >= 0;
      state.layers[c].setStyle(childStyle(state.children[c], selected));
      var item = document.querySelector('#children-list li[data-code="' + c + '"]');
      if (item) { item.classList.toggle("selected", selected); }
    });
    $("tool-hint").textContent = state.selected.length ?
      fmt(T.selected, { n: state.selected.length }) : T.hintIdle;
    refreshTools();
  }

  function refreshTools() {
    document.querySelectorAll(".tools button").forEach(function (button) {
      var needs = button.dataset.needs;
      var ok = !state.mode && state.parent && (
        needs === "parent" || (needs === "one" && state.selected.length === 1) ||
        (needs === "many" && state.selected.length >= 2));
      button.disabled = !ok;
    });
    $("edit-actions").hidden = !state.mode;
    showAttributes();
    $("reason-row").hidden = !state.mode || state.mode === "draw" || state.mode === "divide";
    $("act-save").disabled = !(state.lastOk && state.checkedSeq === state.checkSeq && !state.busy);
    $("act-undo").disabled = !(state.undo.length || drawingInProgress());
  }

  // --- Attributes of the selected grid ---------------------------------------------------------
  var attrsFor = null;
  function showAttributes() {
    var form = $("attrs-form");
    var code = !state.mode && state.selected.length === 1 ? state.selected[0] : null;
    form.hidden = !code;
    if (!code || attrsFor === code) { return; }
    attrsFor = code;
    var p = state.children[code].properties;
    $("attrs-title").textContent = fmt(T.attributesOf, { code: code });
    ["name", "grid_type", "area_class", "officer_name", "officer_phone", "responsible_department",
     "households", "population"].forEach(function (name) {
      form.elements[name].value = p[name] === null || p[name] === undefined ? "" : p[name];
    });
  }

  $("attrs-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var code = attrsFor;
    var body = {};
    ["name", "grid_type", "area_class", "officer_name", "officer_phone",
     "responsible_department"].forEach(function (name) { body[name] = form.elements[name].value; });
    ["households", "population"].forEach(function (name) {
      var raw = form.elements[name].value;
      body[name] = raw === "" ? null : Number(raw);
    });
    fetchJSON(cfg.urls.grids + code + "/", {
      method: "PATCH",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      if (res.status !== 200) {
        setResult(T.error + (res.body.detail || res.status), "error");
        return;
      }
      res.body.properties.code = res.body.id;
      state.children[code].properties = res.body.properties;
      state.layers[code].feature.properties = res.body.properties;
      state.layers[code].setStyle(childStyle(state.children[code], true));
      setResult(T.attributesSaved, "ok");
      document.body.dataset.attributesSaved = code;
    }).catch(function (err) { setResult(T.failed + err.message, "error"); });
  });

  // --- Pending edit ---------------------------------------------------------------------------
  function startMode(mode, hint) {
    state.mode = mode;
    state.undo = [];
    state.lastOk = false;
    state.checkedSeq = -1;
    $("tool-hint").textContent = hint;
    document.body.dataset.mode = mode;
    clearResult();
    $("history").hidden = true;
    historyLayer.clearLayers();
    refreshTools();
  }

  function endMode() {
    map.pm.disableDraw();
    if (state.workLayer && state.workLayer.pm) { state.workLayer.pm.disable(); }
    if (state.mode === "draw" && state.workLayer) { map.removeLayer(state.workLayer); }
    if (state.mode === "split" && state.workLayer) { map.removeLayer(state.workLayer); }
    if (state.mode === "edit" && state.workLayer && state.original) {
      state.workLayer.setLatLngs(state.original);
    }
    state.mode = null;
    state.edit = null;
    state.workLayer = null;
    state.original = null;
    state.undo = [];
    state.lastOk = false;
    $("create-form").hidden = true;
    $("divide-form").hidden = true;
    divideError("");
    hideReport();
    $("edit-reason").value = "";
    delete document.body.dataset.mode;
    previewLayer.clearLayers();
    showLegend(false);
    problemLayer.clearLayers();
    restoreLabels();
    $("tool-hint").textContent = state.selected.length ?
      fmt(T.selected, { n: state.selected.length }) : T.hintIdle;
    refreshTools();
  }

  function confirmDiscard() {
    return !state.mode || window.confirm(T.confirmLeave) && (endMode(), true);
  }

  function drawingInProgress() {
    var draw = map.pm.Draw;
    return !!(state.mode && draw && ["Polygon", "Line"].some(function (shape) {
      return draw[shape] && draw[shape]._enabled && draw[shape]._layer &&
             draw[shape]._layer.getLatLngs().length;
    }));
  }

  function snapshot(layer) {
    return JSON.parse(JSON.stringify(layer.getLatLngs()));
  }

  function version(code) { return state.children[code].properties.version; }

  // Draw a new grid inside the parent.
  $("tool-draw").addEventListener("click", function () {
    startMode("draw", T.hintDraw);
    $("create-form").hidden = false;
    map.pm.enableDraw("Polygon", { snappable: true, snapDistance: 20, continueDrawing: false,
                                   templineStyle: { color: "#0b63c5" },
                                   pathOptions: { color: "#0b63c5", fillOpacity: 0.25 } });
    refreshTools();
  });

  // Move the selected grid's vertices.
  $("tool-edit").addEventListener("click", function () {
    var code = state.selected[0];
    var layer = state.layers[code];
    startMode("edit", T.hintEdit);
    state.workLayer = layer;
    state.original = snapshot(layer);
    layer.pm.enable({ snappable: true, snapDistance: 20, allowSelfIntersection: true });
    layer.on("pm:markerdragstart pm:vertexremoved", rememberForUndo);
    layer.on("pm:edit", function () {
      if (state.mode !== "edit") { return; }
      state.edit = { action: "reshape", grid: code, version: version(code),
                     geometry: layer.toGeoJSON().geometry };
      scheduleCheck();
    });
    state.edit = null;
    refreshTools();
  });

  function rememberForUndo() {
    if (state.workLayer) { state.undo.push(snapshot(state.workLayer)); refreshTools(); }
  }

  // Split the selected grid along a drawn line.
  $("tool-split").addEventListener("click", function () {
    startMode("split", T.hintSplit);
    map.pm.enableDraw("Line", { snappable: true, snapDistance: 20,
                                templineStyle: { color: "#c0001a" },
                                pathOptions: { color: "#c0001a", weight: 3 } });
    refreshTools();
  });

  $("tool-merge").addEventListener("click", function () {
    var versions = {};
    state.selected.forEach(function (c) { versions[c] = version(c); });
    startMode("merge", T.hintMerge);
    state.edit = { action: "merge", grids: state.selected.slice(), versions: versions };
    check();
  });

  $("tool-retire").addEventListener("click", function () {
    var code = state.selected[0];
    startMode("retire", T.hintRetire);
    state.edit = { action: "retire", grid: code, version: version(code) };
    check();
  });

  // --- Division form (docs/domain.md §2.7) ----------------------------------------------------
  var divideCfg = cfg.divide;
  var sourceLabels = {};
  divideCfg.sources.forEach(function (source) {
    var label = source.name === "reports" ?
      fmt(T.reportsMonths, { label: source.label, n: divideCfg.reportMonths }) : source.label;
    sourceLabels[source.name] = source.label;
    var row = el("label", { "class": "choice" });
    row.appendChild(el("input", { type: "checkbox", name: "divide-balance", value: source.name }));
    row.appendChild(document.createTextNode(label));
    $("divide-balance").appendChild(row);
  });
  $("divide-balance").hidden = !divideCfg.sources.length;
  $("divide-tolerance").value = String(Math.round(divideCfg.tolerance * 100));

  function featuresLoaded() {
    return !!state.parent && divideCfg.featureParents.indexOf(state.parent.code) >= 0;
  }

  function divideTarget() {
    var checked = document.querySelector("input[name=divide-target]:checked");
    return checked ? checked.value : "area";
  }

  function refreshDivideForm() {
    var target = divideTarget();
    $("divide-area").disabled = target !== "area";
    $("divide-count").disabled = target !== "count";
    $("divide-inspectors").disabled = target !== "inspectors";
    $("divide-inspectors-hint").hidden = target !== "inspectors";
    // The tolerance and whole blocks steer only the division along features.
    var alongFeatures = $("divide-method").value === "features";
    $("divide-tolerance").disabled = !alongFeatures;
    $("divide-keep-blocks").disabled = !alongFeatures;
    $("divide-keep-blocks-hint").hidden = !(alongFeatures && $("divide-keep-blocks").checked);
  }
  document.querySelectorAll("input[name=divide-target]").forEach(function (radio) {
    radio.addEventListener("change", function () { refreshDivideForm(); divideError(""); });
  });
  $("divide-method").addEventListener("change", function () { refreshDivideForm(); divideError(""); });
  $("divide-keep-blocks").addEventListener("change", refreshDivideForm);
  // A form changed since its preview is not what 保存 would save: saving waits for a new preview.
  $("divide-form").addEventListener("input", function () {
    if (state.mode !== "divide" || !state.edit) { return; }
    state.checkSeq += 1;
    refreshTools();
  });

  function divideError(text) {
    $("divide-error").textContent = text;
    $("divide-error").hidden = !text;
    document.body.dataset.divideError = text ? "1" : "";
    if (!text) { delete document.body.dataset.divideError; }
  }

  function wholeNumber(raw) {
    var value = Number(raw);
    return raw !== "" && Number.isInteger(value) && value >= 1 && value <= 999 ? value : null;
  }

  // The division the form asks for, or null (its mistake said in plain words under the form).
  function divideRequest() {
    var level = cfg.levels[cfg.levels.length - 1];
    var min = level.min_area_m2 || 100, max = level.max_area_m2 || 10000000;
    var edit = { action: "divide", grid: state.parent.code, method: $("divide-method").value,
                 replace_existing: Object.keys(state.children).length > 0 };
    if (["features", "square", "voronoi"].indexOf(edit.method) < 0) { divideError(T.err_method); return null; }
    var target = divideTarget();
    if (target === "area") {
      var area = Number($("divide-area").value);
      if ($("divide-area").value === "" || !isFinite(area) || area < min || area > max) {
        divideError(fmt(T.err_area, { min: Math.round(min).toLocaleString(), max: Math.round(max).toLocaleString() }));
        return null;
      }
      edit.target_area_m2 = area;
    } else {
      // One grid per inspector: the number of inspectors is the number of grids.
      var count = wholeNumber($(target === "count" ? "divide-count" : "divide-inspectors").value);
      if (count === null) { divideError(target === "count" ? T.err_count : T.err_inspectors); return null; }
      edit.count = count;
    }
    edit.balance = Array.prototype.map.call(
      document.querySelectorAll("input[name=divide-balance]:checked"), function (box) { return box.value; });
    if (edit.method === "features") {
      var percent = Number($("divide-tolerance").value);
      if ($("divide-tolerance").value === "" || !isFinite(percent) || percent < 5 || percent > 100) {
        divideError(T.err_tolerance);
        return null;
      }
      edit.tolerance = Math.round(percent) / 100;
      edit.keep_blocks = $("divide-keep-blocks").checked;
    }
    divideError("");
    return edit;
  }

  // A refusal of the division's fields (400 naming the field), said under the form.
  var FIELD_ERRORS = { target_area_m2: "err_area", count: "err_count", tolerance: "err_tolerance",
                       balance: "err_balance", method: "err_method" };
  function divideFieldError(body) {
    if (state.mode !== "divide") { return false; }
    var key = FIELD_ERRORS[body.field] || (body.reason && "refused_" + body.reason);
    if (!key || !T[key]) { return false; }
    var level = cfg.levels[cfg.levels.length - 1];
    divideError(fmt(T[key], { min: Math.round(level.min_area_m2 || 100).toLocaleString(),
                              max: Math.round(level.max_area_m2 || 10000000).toLocaleString() }));
    return true;
  }

  $("tool-divide").addEventListener("click", function () {
    startMode("divide", T.hintDivide);
    $("divide-form").hidden = false;
    var level = cfg.levels[cfg.levels.length - 1];
    if (level.min_area_m2) { $("divide-area").min = level.min_area_m2; }
    if (level.max_area_m2) { $("divide-area").max = level.max_area_m2; }
    var loaded = featuresLoaded();
    $("divide-method").querySelector("option[value=features]").disabled = !loaded;
    $("divide-no-features").hidden = loaded;
    $("divide-method").value = loaded ? "features" : "square";
    var children = Object.keys(state.children).length;
    if (children) { $("divide-count").value = String(children); }
    // One grid per inspector: start from the inspectors this parent has (their scopes).
    var inspectors = (divideCfg.inspectors || {})[state.parent.code];
    $("divide-inspectors").value = String(inspectors || children || 4);
    $("divide-inspectors-hint").textContent = inspectors ?
      fmt(T.inspectorsHere, { n: inspectors }) : T.inspectorsNone;
    refreshDivideForm();
    divideError("");
  });

  $("divide-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var edit = divideRequest();
    if (!edit) {
      state.edit = null;
      state.lastOk = false;
      hideReport();
      previewLayer.clearLayers();
      showLegend(false);
      clearResult();
      document.body.dataset.checkState = "invalid";
      refreshTools();
      return;
    }
    state.edit = edit;
    check();
  });

  // --- Division report (under the map) ---------------------------------------------------------
  function percent(value) { return (value * 100).toFixed(1) + "%"; }
  function methodLabel(method) { return T["method_" + method] || method; }
  var REPORT_ROWS = [
    ["grids", function (s) { return String(s.grids); }],
    ["area_mean", function (s) { return m2(s.area_mean_m2); }],
    ["area_cv", function (s) { return percent(s.area_cv); }],
    ["area_max", function (s) { return m2(s.area_max_m2); }],
    ["area_min", function (s) { return m2(s.area_min_m2); }],
    ["workload_cv", function (s) { return s.workload_cv === null ? null : percent(s.workload_cv); }],
    ["workload_range", function (s) {
      return s.workload_min === null ? null : s.workload_min.toFixed(2) + " – " + s.workload_max.toFixed(2);
    }],
    ["on_feature", function (s) { return s.on_feature_share === null ? null : percent(s.on_feature_share); }],
    ["buildings_cut", function (s) { return s.buildings_cut === null ? null : String(s.buildings_cut); }]
  ];

  // The report takes room from the map: the map is resized and the parent fitted again.
  function mapResized() {
    map.invalidateSize({ animate: false });
    if (parentLayer.getLayers().length) {
      map.fitBounds(parentLayer.getBounds(), { padding: [20, 20], animate: false });
    }
  }

  function hideReport() {
    if ($("divide-report").hidden) { return; }
    $("divide-report").hidden = true;
    mapResized();
  }

  function renderReport(division) {
    if (!division || !division.summary) { hideReport(); return; }
    var used = [division.count ? fmt(T.usedCount, { n: division.count }) :
                fmt(T.usedArea, { area: m2(division.target_area_m2) })];
    if (division.method === "features") { used.push(fmt(T.usedTolerance, { pct: Math.round(division.tolerance * 100) + "%" })); }
    if (division.keep_blocks) { used.push(T.usedKeepBlocks); }
    used.push(division.balance_sources.length ? fmt(T.usedBalance, {
      sources: division.balance_sources.map(function (n) { return sourceLabels[n] || n; }).join(T.listSep)
    }) : T.usedAreaOnly);
    $("divide-used").textContent = methodLabel(division.method) + " · " + used.join(" · ");

    var counts = $("divide-counts");
    counts.replaceChildren();
    [["kept", T.countKept, "kept"], ["changed", T.countChanged, "changed"],
     ["created", T.countCreated, "new"], ["retired", T.countRetired, "retired"]].forEach(function (row) {
      var item = el("li", { "data-kind": row[0], "data-count": String(division.codes[row[0]]) });
      item.appendChild(el("span", { "class": "swatch status-" + row[2] }));
      item.appendChild(document.createTextNode(fmt(row[1], { n: division.codes[row[0]] })));
      counts.appendChild(item);
    });

    var columns = [division.summary].concat(division.compared || []);
    var head = $("divide-compare-head");
    while (head.children.length > 1) { head.removeChild(head.lastChild); }
    columns.forEach(function (s, i) {
      head.appendChild(el("th", { scope: "col", "data-method": s.method, "class": i ? "" : "this" },
                          i ? methodLabel(s.method) : fmt(T.thisDivision, { method: methodLabel(s.method) })));
    });
    var body = $("divide-compare").tBodies[0];
    body.replaceChildren();
    REPORT_ROWS.forEach(function (spec) {
      var values = columns.map(function (s) { return spec[1](s); });
      // A figure no method has (no buildings or no workload loaded) is left out.
      if (values.every(function (v) { return v === null; })) { return; }
      var tr = el("tr", { "data-row": spec[0] });
      tr.appendChild(el("th", { scope: "row" }, T["row_" + spec[0]]));
      values.forEach(function (v, i) { tr.appendChild(el("td", { "class": i ? "" : "this" }, v === null ? "—" : v)); });
      body.appendChild(tr);
    });

    var grids = division.grids || [];
    var withWorkload = grids.some(function (g) { return g.workload !== undefined; });
    $("divide-grids-summary").textContent = fmt(T.perGrid, { n: grids.length });
    var gridHead = $("divide-grids-head");
    gridHead.replaceChildren();
    [[T.col_code, ""], [T.col_status, ""], [T.col_area, "num"]].concat(withWorkload ? [[T.col_workload, "num"]] : [])
      .forEach(function (pair) { gridHead.appendChild(el("th", { scope: "col", "class": pair[1] }, pair[0])); });
    var gridBody = $("divide-grids").tBodies[0];
    gridBody.replaceChildren();
    grids.forEach(function (g) {
      var status = g.status === "created" ? "new" : g.status;
      var tr = el("tr", { "data-code": g.code, "data-status": status });
      tr.appendChild(el("td", {}, g.code));
      var cell = el("td");
      cell.appendChild(el("span", { "class": "swatch status-" + status }));
      cell.appendChild(document.createTextNode(T["status_" + status] || status));
      tr.appendChild(cell);
      tr.appendChild(el("td", { "class": "num" }, m2(g.area_m2)));
      if (withWorkload) { tr.appendChild(el("td", { "class": "num" }, g.workload === undefined ? "—" : g.workload.toFixed(2))); }
      gridBody.appendChild(tr);
    });
    var wasHidden = $("divide-report").hidden;
    $("divide-report").hidden = false;
    if (wasHidden) { mapResized(); }
    document.body.dataset.divisionReport = String(grids.length);
  }

  map.on("pm:create", function (e) {
    state.workLayer = e.layer;
    e.layer.options.snapIgnore = true;
    if (state.mode === "draw") {
      state.edit = { action: "create", grid: state.parent.code,
                     geometry: e.layer.toGeoJSON().geometry };
      // The new shape can be adjusted before saving; each change is checked again.
      e.layer.pm.enable({ snappable: true, snapDistance: 20, allowSelfIntersection: true });
      e.layer.on("pm:markerdragstart pm:vertexremoved", rememberForUndo);
      e.layer.on("pm:edit", function () {
        state.edit.geometry = e.layer.toGeoJSON().geometry;
        scheduleCheck();
      });
    } else if (state.mode === "split") {
      var code = state.selected[0];
      state.edit = { action: "split", grid: code, version: version(code),
                     line: e.layer.toGeoJSON().geometry };
    }
    check();
  });

  function undo() {
    if (drawingInProgress()) {
      ["Polygon", "Line"].forEach(function (shape) {
        var handler = map.pm.Draw[shape];
        if (handler && handler._enabled && typeof handler._removeLastVertex === "function") {
          handler._removeLastVertex();
        }
      });
      refreshTools();
      return;
    }
    if (!state.undo.length || !state.workLayer) { setResult(T.nothingToUndo, "info"); return; }
    state.workLayer.pm.disable();
    state.workLayer.setLatLngs(state.undo.pop());
    state.workLayer.pm.enable({ snappable: true, snapDistance: 20, allowSelfIntersection: true });
    if (state.edit && state.edit.geometry) {
      state.edit.geometry = state.workLayer.toGeoJSON().geometry;
      check();
    }
    refreshTools();
  }
  $("act-undo").addEventListener("click", undo);
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "z" && state.mode) { e.preventDefault(); undo(); }
  });
  $("act-cancel").addEventListener("click", endMode);
  $("act-check").addEventListener("click", function () {
    // A division is checked as the form now reads.
    if (state.mode === "divide") { $("divide-form").requestSubmit(); } else { check(); }
  });
  $("act-save").addEventListener("click", function () { send(true); });

  var timer = null;
  function scheduleCheck() {
    state.checkSeq += 1;
    refreshTools();
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  }

  function payload(commit) {
    var body = Object.assign({}, state.edit, { commit: commit });
    if (state.mode !== "draw" && state.mode !== "divide") { body.reason = $("edit-reason").value; }
    if (body.action === "create") {
      body.name = $("create-name").value;
      body.grid_type = $("create-type").value;
    }
    return body;
  }

  function check() { return send(false); }

  function send(commit) {
    if (!state.edit) { return Promise.resolve(); }
    var seq = ++state.checkSeq;
    state.busy = true;
    document.body.dataset.checkState = "busy";
    setResult(commit ? T.saving : T.checking, "info");
    refreshTools();
    return fetchJSON(cfg.urls.edits, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(payload(commit))
    }).then(function (res) {
      state.busy = false;
      if (seq !== state.checkSeq) { return; }  // a newer check is on its way
      state.checkedSeq = seq;
      if (res.status === 409) { return showConflict(res.body); }
      if (res.status >= 400 && !res.body.problems) {
        state.lastOk = false;
        if (divideFieldError(res.body)) {
          clearResult();
          hideReport();
          document.body.dataset.checkState = "error";
          return refreshTools();
        }
        var worded = res.body.reason && !GeoGrid.english && T["refused_" + res.body.reason];
        setResult(worded || T.error + (res.body.detail || res.status), "error");
        if (worded) { $("result").title = res.body.detail; }
        document.body.dataset.checkState = "error";
        return refreshTools();
      }
      showOutcome(res.body);
      if (res.body.committed) { return afterSave(res.body); }
      refreshTools();
    }).catch(function (e) {
      state.busy = false;
      setResult(T.failed + e.message, "error");
      document.body.dataset.checkState = "error";
      refreshTools();
    });
  }

  function restoreLabels() {
    hiddenLabels.forEach(function (code) {
      var layer = state.layers[code];
      if (!layer) { return; }
      layer.openTooltip();
      layer.setStyle(childStyle(state.children[code], state.selected.indexOf(code) >= 0));
    });
    hiddenLabels = [];
    fitLabels();
  }

  function showOutcome(body) {
    state.lastOk = body.ok;
    problemLayer.clearLayers();
    previewLayer.clearLayers();
    showLegend(false);
    restoreLabels();
    if (body.division) { renderReport(body.division); } else { hideReport(); }
    var box = $("result");
    box.replaceChildren();
    box.className = "result " + (body.ok ? "ok" : "bad");
    var head = el("p", { "class": "result-head" });
    head.textContent = body.committed ? T.saved :
      body.ok ? T.ok : fmt(T.problems, { n: body.problems.length });
    box.appendChild(head);
    if (body.problems.length) { box.appendChild(problemList(body.problems, false)); }
    if (body.warnings.length) {
      box.appendChild(el("p", { "class": "result-sub" }, T.warnings));
      box.appendChild(problemList(body.warnings, true));
    }
    if (body.ok) {
      var facts = el("ul", { "class": "impact" });
      var done = body.committed;
      [["created", done ? T.createdDone : T.created], ["changed", done ? T.changedDone : T.changed],
       ["retired", done ? T.retiredDone : T.retired]].forEach(function (pair) {
        var codes = body.codes[pair[0]];
        if (!codes.length) { return; }
        // A re-division lists dozens of codes: the first ones, the last one and how many.
        var shown = codes.length > 8 ? codes.slice(0, 3).join(T.listSep) + " … " + codes[codes.length - 1] +
          " (" + codes.length + ")" : codes.join(T.listSep);
        facts.appendChild(el("li", { "data-kind": pair[0], "data-count": String(codes.length) }, pair[1] + T.colon + shown));
      });
      var impact = body.impact;
      facts.appendChild(el("li", { "data-kind": "components" }, fmt(T.componentsMoved, { n: impact.components_moved || 0 })));
      facts.appendChild(el("li", { "data-kind": "cases" }, fmt(T.casesMoved, { n: impact.open_cases_moved || 0 })));
      if (impact.open_cases_left) {
        facts.appendChild(el("li", { "data-kind": "cases-left" }, fmt(T.casesLeft, { n: impact.open_cases_left })));
      }
      box.appendChild(facts);
      if (!body.committed) {
        showPreview(body.grids, !!body.division);
        // The preview's labels replace those of the grids it retires, changes or keeps.
        var kept = body.grids.features.filter(function (f) { return f.properties.status === "kept"; })
          .map(function (f) { return f.properties.code; });
        body.codes.retired.concat(body.codes.changed, kept).forEach(function (code) {
          var layer = state.layers[code];
          if (!layer) { return; }
          layer.closeTooltip();
          // Grids the edit retires fade out, so the preview reads as what replaces them; a
          // division recolours all of them by status, so its grids' own colours fade too.
          if (body.codes.retired.indexOf(code) >= 0 || body.division) {
            layer.setStyle({ fillOpacity: 0.06, opacity: 0.35 });
          }
          hiddenLabels.push(code);
        });
      }
    }
    body.problems.concat(body.warnings.map(function (w) { return Object.assign({ warning: true }, w); }))
      .forEach(function (p) {
        var geometry = p.geometry || (p.location && { type: "Point", coordinates: [p.location.lon, p.location.lat] });
        if (geometry) { problemLayer.addData({ type: "Feature", geometry: geometry, properties: p }); }
      });
    document.body.dataset.checkState = body.committed ? "saved" : body.ok ? "ok" : "problems";
  }

  function problemList(problems, warning) {
    var list = el("ol", { "class": "problems" + (warning ? " warnings" : "") });
    problems.forEach(function (p) {
      var item = el("li", { "data-kind": p.kind });
      item.appendChild(el("span", { "class": "kind kind-" + p.kind }, T["kind_" + p.kind] || p.kind));
      item.appendChild(document.createTextNode(" " + describe(p)));
      item.title = p.message;
      if (p.geometry || p.location) {
        item.classList.add("zoomable");
        item.addEventListener("click", function () {
          if (p.geometry) {
            map.fitBounds(L.geoJSON(p.geometry).getBounds(), { maxZoom: 19, padding: [60, 60] });
          } else {
            map.setView([p.location.lat, p.location.lon], 19);
          }
        });
      }
      list.appendChild(item);
    });
    return list;
  }

  function gridName(code) {
    if (/^\d+$/.test(code)) { return fmt(T.gridLabel, { code: code }); }
    return T.newGrid;
  }

  // The server words its problems in English; a Chinese page says them in Chinese from the
  // same facts (kind, codes, area, location).
  function describe(p) {
    if (GeoGrid.english) { return p.message; }
    var codes = p.codes || [];
    var level = cfg.levels[Math.min(cfg.levels.length - 1, levelDepthOfChildren())];
    var values = {
      a: gridName(codes[0] || ""), b: gridName(codes[1] || ""),
      area: p.area_m2 !== null && p.area_m2 !== undefined ? m2(p.area_m2) : "",
      min: level && level.min_area_m2 ? m2(level.min_area_m2) : "0",
      max: level && level.max_area_m2 ? m2(level.max_area_m2) : "∞",
      where: p.location ? p.location.lon.toFixed(6) + ", " + p.location.lat.toFixed(6) : ""
    };
    var template = T["msg_" + p.kind];
    return template ? fmt(template, values) : p.message;
  }

  function levelDepthOfChildren() {
    var depth = cfg.levels.length - 1;
    cfg.levels.forEach(function (lv) {
      if (state.parent && lv.slug === state.parent.level) { depth = lv.depth + 1; }
    });
    return depth;
  }

  function showConflict(body) {
    state.lastOk = false;
    document.body.dataset.checkState = "conflict";
    var box = $("result");
    box.replaceChildren();
    box.className = "result bad";
    box.appendChild(el("p", { "class": "result-head" }, fmt(T.conflict, {
      code: body.grid, who: body.changed_by, when: when(body.changed_at), version: body.current_version
    })));
    // Their boundary, for comparison with the planner's kept drawing.
    previewLayer.clearLayers().addData({ type: "Feature", geometry: body.current_geometry,
                                        properties: { code: body.grid + " · " + T.version + " " + body.current_version } });
    if (state.layers[body.grid]) { state.layers[body.grid].closeTooltip(); hiddenLabels.push(body.grid); }
    var retry = el("button", { type: "button", id: "act-retry", "class": "primary" }, T.retry);
    retry.addEventListener("click", function () {
      if (state.children[body.grid]) { state.children[body.grid].properties.version = body.current_version; }
      if (state.edit.versions) { state.edit.versions[body.grid] = body.current_version; }
      if (state.edit.version !== undefined) { state.edit.version = body.current_version; }
      check();
    });
    var reload = el("button", { type: "button" }, T.reload);
    reload.addEventListener("click", function () { endMode(); showParent(state.parent.code, currentDepth()); });
    box.appendChild(retry);
    box.appendChild(reload);
    refreshTools();
  }

  function afterSave(body) {
    // The saved message's nodes (built as text), put back once the children are reloaded.
    var message = Array.prototype.slice.call($("result").childNodes);
    var parent = state.parent.code;
    state.original = null;  // keep what was saved: do not restore on leaving the mode
    if (state.mode === "draw" && state.workLayer) { map.removeLayer(state.workLayer); state.workLayer = null; }
    endMode();
    // Reload the children (new codes, versions), then say what was saved.
    return showParent(parent, currentDepth()).then(function () {
      $("result").replaceChildren.apply($("result"), message);
      $("result").className = "result ok";
      document.body.dataset.checkState = "saved";
      if (body.division) { renderReport(body.division); }
      document.body.dataset.saved = (body.codes.created.concat(body.codes.changed)).join(",");
    });
  }

  function currentDepth() {
    for (var d = pickers.length - 1; d >= 0; d--) {
      if (pickers[d].value) { return d; }
    }
    return 0;
  }

  // --- History --------------------------------------------------------------------------------
  var HISTORY_COLOURS = ["#c0001a", "#6a3d9a", "#ff7f00", "#1f78b4", "#33a02c"];
  $("tool-history").addEventListener("click", function () {
    var code = state.selected[0];
    fetchJSON(cfg.urls.history.replace(cfg.placeholder, code)).then(function (res) {
      if (res.status !== 200) { throw new Error(res.body.detail || res.status); }
      var h = res.body;
      historyLayer.clearLayers();
      $("history").hidden = false;
      $("history-title").textContent = fmt(T.historyOf, { code: code });
      var list = $("history-list");
      list.replaceChildren();
      h.boundaries.forEach(function (b, i) {
        var colour = HISTORY_COLOURS[i % HISTORY_COLOURS.length];
        var label = T.version + " " + b.version + " · " + when(b.valid_from) +
          (b.valid_to ? " – " + when(b.valid_to) : " · " + T.current) +
          (b.changed_by ? " · " + T.by + " " + b.changed_by : "") + " · " + m2(b.area_m2);
        var shape = L.geoJSON(b.geometry, Object.assign({
          style: { color: colour, weight: b.valid_to ? 2 : 3, dashArray: b.valid_to ? "5 4" : null, fill: false }
        }, overlay)).bindTooltip(GeoGrid.lines(label), { sticky: true });
        historyLayer.addLayer(shape);
        var item = el("li", {}, label + (b.reason ? " · " + T.reason + T.colon + b.reason : ""));
        item.style.borderLeftColor = colour;
        list.appendChild(item);
      });
      if (h.replaced_by.length) { list.appendChild(el("li", { "class": "lineage" }, T.replacedBy + h.replaced_by.join(T.listSep))); }
      if (h.replaces.length) { list.appendChild(el("li", { "class": "lineage" }, T.replaces + h.replaces.join(T.listSep))); }
      document.body.dataset.historyLoaded = String(h.boundaries.length);
    }).catch(function (e) { setResult(T.failed + e.message, "error"); });
  });

  // --- Messages -------------------------------------------------------------------------------
  function setResult(text, kind) {
    var box = $("result");
    box.replaceChildren();
    box.className = "result " + (kind || "");
    box.appendChild(el("p", { "class": "result-head" }, text));
  }
  function clearResult() { $("result").replaceChildren(); $("result").className = "result"; }

  // --- Start ----------------------------------------------------------------------------------
  cfg.gridTypes.forEach(function (t) {
    $("create-type").appendChild(el("option", { value: t.value }, t.label));
    $("attrs-type").appendChild(el("option", { value: t.value }, t.label));
  });
  $("create-type").value = "other";
  pickers.forEach(function (select, depth) {
    select.addEventListener("change", function () { onPick(depth); });
  });
  // Pickers start at the planner's own level: a street planner starts at their streets.
  var startDepth = cfg.starts.length ? Math.max(0, Math.min(2, (cfg.starts[0].code.length - 6) / 3)) : 0;
  for (var d = 0; d < startDepth; d++) { pickers[d].closest("label").hidden = true; }
  pickers = pickers.slice(startDepth);
  fillPicker(pickers[0], cfg.starts);
  if (cfg.starts.length === 1) {
    pickers[0].value = cfg.starts[0].code;
    onPick(0);
  }
  refreshTools();
  document.body.dataset.ready = "1";
})();
