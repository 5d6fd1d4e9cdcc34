/* django-leaflet's maps (the admin's geometry fields) started from a static script.
 *
 * django-leaflet renders an inline <script> per map and per field; the Content-Security-Policy
 * allows none, so templates/leaflet/_leaflet_map.html and widget.html put the same values in data
 * attributes and this script does what those inline scripts did. It is included after each map
 * and starts only the maps not started yet. */
(function () {
  "use strict";
  // "L.FieldStore" -> the constructor it names (the widget names classes, not code).
  function resolve(path) {
    return path.split(".").reduce(function (obj, key) { return obj && obj[key]; }, window);
  }
  document.querySelectorAll("[data-leaflet-field]:not([data-started])").forEach(function (node) {
    node.dataset.started = "1";
    var d = node.dataset;
    var field = { fieldid: d.fieldid, modifiable: d.modifiable === "true", geom_type: d.geomType,
                  srid: Number(d.srid) };
    var callback = function (map, options) {
      field.field_store_class = resolve(d.fieldStoreClass);
      field.precision = options.djoptions.precision;
      new (resolve(d.geometryFieldClass))(field).addTo(map);
    };
    window[d.leafletField] = callback;
    if (d.targetMap) {
      window.addEventListener("map:init", function (e) {
        var target = e.detail.map;
        target.on("map:loadfield", function (me) {
          if (me.fieldid === "id_" + d.targetMap) {
            setTimeout(function () { callback(target, e.detail.options); }, 0);
          }
        });
      }, false);
    }
  });
  document.querySelectorAll("[data-leaflet-map]:not([data-started])").forEach(function (node) {
    node.dataset.started = "1";
    var name = node.dataset.leafletMap;
    var globals = node.dataset.globals === "true";
    function loadmap() {
      var options = { djoptions: JSON.parse(node.dataset.djoptions), initfunc: loadmap,
                      globals: globals,
                      callback: node.dataset.callback ? window[node.dataset.callback] : null };
      var map = L.Map.djangoMap(name, options);
      if (globals) { window["leafletmap" + name] = map; }
    }
    var loadevents = JSON.parse(node.dataset.loadevents);
    if (loadevents.length === 0) { loadmap(); }
    else { loadevents.forEach(function (event) { window.addEventListener(event, loadmap, false); }); }
    if (globals) { window["loadmap" + name] = loadmap; }
  });
})();
