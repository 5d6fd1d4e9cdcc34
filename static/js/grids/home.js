/* The city map: grids of one level as GeoJSON, click to locate. Works without a basemap. */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData();
  var T = {  // the script's words: gettext() from the djangojs catalogue (/jsi18n/)
    outside: gettext("该点不在任何网格内。"),
    failed: gettext("加载失败："),
    code: gettext("编码"),
    zoomIn: gettext("单元网格较多，请放大地图后查看。")
  };
  var map = GeoGrid.createMap("city-map", { preferCanvas: true });
  cfg.map = map;  // for the console and the browser tests
  var palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4"];
  var layer = L.geoJSON(null, {
    style: function (f) {
      // Neighbours get different colours: hash the whole code, not its last digits.
      var i = 0;
      for (var k = 0; k < f.id.length; k++) { i = (i * 31 + f.id.charCodeAt(k)) % 9973; }
      return { color: "#333", weight: 1, fillColor: palette[i % palette.length], fillOpacity: 0.35 };
    },
    onEachFeature: function (f, l) {
      l.bindTooltip(GeoGrid.lines(f.properties.name, T.code + " " + f.id), { sticky: true });
    }
  }).addTo(map);
  var marker = null;
  var result = document.getElementById("locate-result");
  var fitted = false;

  function currentLevel() {
    var checked = document.querySelector("input[name=level]:checked");
    return checked ? checked.value : "street";
  }

  // The "zoom in" hint, shown in the result box until a load no longer needs it (a located
  // point's path stays).
  function zoomHint(on) {
    if (on) { result.textContent = T.zoomIn; result.dataset.hint = "zoom"; return; }
    if (result.dataset.hint === "zoom") { result.textContent = ""; delete result.dataset.hint; }
  }

  // Every page of the answer (the API pages at cfg.pageSize), at most cfg.maxPages of them.
  function fetchPages(url, features, pages) {
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        features = features.concat(data.features || []);
        if (data.next && pages + 1 < cfg.maxPages) {
          // The API's link names a host; this page's own origin is the one to ask.
          var next = new URL(data.next, window.location.href);
          return fetchPages(next.pathname + next.search, features, pages + 1);
        }
        return { features: features, more: !!data.next };
      });
  }

  var loading = 0;  // only the latest load draws: the map may have moved on since
  function load() {
    var level = currentLevel();
    var url = cfg.gridsUrl + "?page_size=" + cfg.pageSize + "&level=" + encodeURIComponent(level);
    var seq = ++loading;
    if (level === "unit") {
      if (map.getZoom() < 15) {
        layer.clearLayers();
        document.body.dataset.gridsLoaded = "0";
        zoomHint(true);
        return;
      }
      url += "&bbox=" + map.getBounds().toBBoxString();
    }
    fetchPages(url, [], 0)
      .then(function (answer) {
        if (seq !== loading) { return; }
        layer.clearLayers();
        layer.addData({ type: "FeatureCollection", features: answer.features });
        zoomHint(answer.more);
        if (!fitted && layer.getLayers().length) { map.fitBounds(layer.getBounds()); fitted = true; }
        document.body.dataset.gridsLoaded = String(layer.getLayers().length);
      })
      .catch(function (e) { if (seq === loading) { result.textContent = T.failed + e.message; } });
  }

  map.on("click", function (e) {
    var url = cfg.locateUrl + "?lon=" + e.latlng.lng.toFixed(7) + "&lat=" + e.latlng.lat.toFixed(7);
    fetch(url).then(function (r) { return r.json().then(function (d) { return [r.status, d]; }); })
      .then(function (pair) {
        if (marker) { map.removeLayer(marker); }
        delete result.dataset.hint;  // the answer to the click replaces the hint
        marker = L.marker(e.latlng).addTo(map);
        if (pair[0] !== 200) { result.textContent = pair[1].detail || T.outside; return; }
        var list = document.createElement("ol");
        pair[1].path.forEach(function (step) {
          var li = document.createElement("li");
          var label = step.name === step.code ? step.code : step.name + "（" + step.code + "）";
          li.textContent = step.level_name + "：" + label;
          list.appendChild(li);
        });
        result.replaceChildren();
        result.appendChild(list);
      });
  });
  map.on("moveend", function () { if (currentLevel() === "unit") { load(); } });
  document.querySelectorAll("input[name=level]").forEach(function (input) {
    input.addEventListener("change", load);
  });
  load();
})();
