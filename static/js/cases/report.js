/* Reporting a problem from the street: category, a point on the map (or the phone's
   position), description, photos → the case API; the answer says where the case went and
   lists possible duplicates nearby. */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData("case-config");
  var T = {  // the script's words: gettext() from the djangojs catalogue (/jsi18n/)
    pick: gettext("请选择问题类别"),
    where: gettext("已选位置：{lon}, {lat}"),
    needPoint: gettext("请先在地图上点击问题所在位置。"),
    needClass: gettext("请选择问题类别。"),
    sending: gettext("正在上报…"),
    sent: gettext("已上报，案件编号 #{id}"),
    placed: gettext("所在网格 {grid}，将派往 {department}（{how}）。"),
    unrouted: gettext("所在网格 {grid}，待派遣员指定处置部门。"),
    duplicates: gettext("附近已有 {n} 件同类未结案件，受理员会核对是否重复："),
    failed: gettext("未能上报："),
    network: gettext("网络连接失败，请检查网络后重试。"),
    locating: gettext("正在获取您的位置…"),
    geoFailed: gettext("无法获取您的位置，请在地图上点击。"),
    tooBig: gettext("照片 {name} 超过 {mb} MB 上限。"),
    distance: gettext("{d} 米")
  };
  var EN = GeoGrid.english;
  function $(id) { return document.getElementById(id); }
  var fmt = GeoGrid.fmt;
  var csrfToken = GeoGridApi.csrfToken;
  var api = GeoGridApi.request;  // static/js/core/page.js
  var message = $("message");
  var say = GeoGrid.say;

  var map = GeoGrid.createMap("case-map", { maxZoom: 19 });
  cfg.map = map;
  var grids = L.geoJSON(null, { interactive: false,
    style: { color: "#12355b", weight: 2, dashArray: "6 4", fillOpacity: 0.04 } }).addTo(map);
  var pin = null, point = null;
  var classes = {};

  function setPoint(latlng) {
    point = latlng;
    if (pin) { pin.setLatLng(latlng); } else { pin = L.marker(latlng).addTo(map); }
    var where = $("report-where");
    where.textContent = fmt(T.where, { lon: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6) });
    where.classList.add("set");
  }
  map.on("click", function (event) { setPoint(event.latlng); });

  $("report-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { say(T.geoFailed, "error"); return; }
    say(T.locating, "busy");
    navigator.geolocation.getCurrentPosition(function (position) {
      say("");
      var at = L.latLng(position.coords.latitude, position.coords.longitude);
      setPoint(at);
      map.setView(at, 18);
    }, function () { say(T.geoFailed, "error"); }, { enableHighAccuracy: true, timeout: 10000 });
  });

  // Categories, grouped by major class.
  api(cfg.urls.classes).then(function (rows) {
    var select = $("report-class");
    select.replaceChildren();
    var first = document.createElement("option");
    first.value = "";
    first.textContent = T.pick;
    select.appendChild(first);
    var groups = {};
    rows.forEach(function (row) {
      classes[row.service_code] = row;
      var label = row.major_code + " " + row.major_name;
      if (!groups[label]) {
        groups[label] = document.createElement("optgroup");
        groups[label].label = label;
        select.appendChild(groups[label]);
      }
      var option = document.createElement("option");
      option.value = row.service_code;
      option.textContent = row.service_code + " " + ((EN && row.name_en) || row.name);
      groups[label].appendChild(option);
    });
    document.body.dataset.ready = "1";
  }).catch(function (error) { say(T.failed + error.message, "error"); });
  $("report-class").addEventListener("change", function () {
    var row = classes[this.value];
    $("report-condition").textContent = row ? row.filing_condition : "";
  });

  // The user's grids as outlines (or nothing: the city is on the basemap).
  if (cfg.myGrids.length) {
    Promise.all(cfg.myGrids.map(function (code) {
      return api(cfg.urls.grid.replace("__code__", code)).catch(function () { return null; });
    })).then(function (found) {
      grids.addData(found.filter(Boolean));
      if (grids.getLayers().length) { map.fitBounds(grids.getBounds(), { maxZoom: 18 }); }
      document.body.dataset.grids = String(grids.getLayers().length);
    });
  }

  $("report-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var code = $("report-class").value;
    if (!code) { say(T.needClass, "error"); $("report-class").focus(); return; }
    if (!point) { say(T.needPoint, "error"); return; }
    var files = Array.prototype.slice.call($("report-photo").files || []);
    var big = files.filter(function (f) { return f.size > cfg.maxPhotoMB * 1048576; })[0];
    if (big) { say(fmt(T.tooBig, { name: big.name, mb: cfg.maxPhotoMB }), "error"); return; }
    var body = new FormData();
    body.append("service_code", code);
    body.append("lon", point.lng.toFixed(7));
    body.append("lat", point.lat.toFixed(7));
    body.append("description", $("report-description").value.trim());
    body.append("address", $("report-address").value.trim());
    body.append("component_code", $("report-component").value.trim());
    files.forEach(function (file) { body.append("photo", file); });
    $("report-submit").disabled = true;
    $("report-result").hidden = true;
    say(T.sending, "busy");
    api(cfg.urls.cases, { method: "POST", body: body,
                          headers: { Accept: "application/json", "X-CSRFToken": csrfToken() } })
      .then(function (feature) {
        say("");
        var p = feature.properties;
        $("result-title").textContent = fmt(T.sent, { id: feature.id });
        $("result-body").textContent = p.department
          ? fmt(T.placed, { grid: p.grid_code, department: (EN && p.department.name_en) || p.department.name,
                            how: p.routed_by_label || p.routed_by })
          : fmt(T.unrouted, { grid: p.grid_code });
        var ol = $("result-duplicates");
        ol.replaceChildren();
        if (p.duplicates && p.duplicates.length) {
          var intro = document.createElement("li");
          intro.className = "muted";
          intro.textContent = fmt(T.duplicates, { n: p.duplicates.length });
          ol.appendChild(intro);
          p.duplicates.forEach(function (d) {
            var li = document.createElement("li");
            li.textContent = "#" + d.id + " · " + fmt(T.distance, { d: Math.round(d.distance_m) });
            ol.appendChild(li);
          });
        }
        $("report-result").hidden = false;
        $("report-description").value = "";
        $("report-photo").value = "";
        $("report-component").value = "";
        document.body.dataset.reported = String(feature.id);
      })
      .catch(function (error) { say(error.network ? T.network : T.failed + error.message, "error"); })
      .then(function () { $("report-submit").disabled = false; });
  });
  $("sheet-handle").addEventListener("click", function () {
    var sheet = $("sheet");
    var open = !sheet.classList.contains("expanded");
    sheet.classList.toggle("expanded", open);
    this.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
