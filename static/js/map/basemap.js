/* The configured basemap (geogrid/core/basemap.py), added under any page's map.
 * Tiles that cannot be loaded leave a grey background; the vector layers above do not care. */
(function () {
  "use strict";
  var source = document.getElementById("geogrid-basemap");
  var layers = source ? JSON.parse(source.textContent) : [];
  window.GeoGridBasemap = {
    layers: layers,
    addTo: function (map) {
      return layers.map(function (layer) {
        // Leaflet shows attribution as HTML; ours is a setting, shown as text all the same.
        var options = { attribution: GeoGrid.esc(layer.attribution), maxZoom: layer.maxZoom || 19 };
        if (layer.subdomains) { options.subdomains = layer.subdomains; }
        return L.tileLayer(layer.url, options).addTo(map);
      });
    }
  };
})();
