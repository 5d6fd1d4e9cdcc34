/* The offline basemap (docs/operations.md, "The offline basemap"): the city's reference layers
 * — roads, water, walls and railways, buildings, green space — from GeoGrid's own vector tiles
 * (/tiles/reference/, geogrid/tiles/layers.py), drawn as a street map. No request leaves the
 * server, so every map has a readable background without internet.
 *
 * Loaded with Leaflet on every map page ({% leaflet_js %}: LEAFLET_CONFIG's PLUGINS in
 * geogrid/settings.py, after the vendored VectorGrid); static/js/core/page.js's createMap calls
 * add() when the configured basemap (GEOGRID_BASEMAP=local) is of type "vector", and the
 * admin's geometry maps (django-leaflet's map:init) get the configured basemap from here.
 *
 * window.GeoGridBasemap:
 *   add(map, config)   the basemap layer (a VectorGrid, non-interactive: docs/architecture.md
 *                      §8.4), kept as map.geogridBasemap; the sources' attribution comes from
 *                      the layer's TileJSON;
 *   addToggle(map)     a small control to show or hide roads, water and buildings (the grid
 *                      editor, where a planner follows them); nothing without the local basemap;
 *   show(map, kind, on) the same from a script.
 *
 * Drawing: VectorGrid draws each feature as it arrives; here a tile is drawn once complete, in
 * three passes — every road's grey casing, then every feature by its z-order (green, water,
 * buildings, walls, roads from lanes to main roads), then the road names, each skipped when it
 * would overlap one already written — so that roads join cleanly at crossings and names stay on
 * top. Names come as points with the road's direction (`angle`) and are written as text on the
 * canvas, never as markup. */
(function () {
  "use strict";
  // Loaded once per page, whichever template asked first (a page's {% leaflet_js %}, an admin
  // map widget's templates/leaflet/_leaflet_map.html).
  if (!window.L || !L.VectorGrid || !L.Canvas.Tile || window.GeoGridBasemap) { return; }
  var gettext = window.gettext || function (s) { return s; };

  // --- Style: a light street map ------------------------------------------------------------
  var COLOURS = {
    land: "#f2efe9", road: "#ffffff", casing: "#bdb6ab", mainCasing: "#a0978a", lane: "#fbfaf7",
    water: "#a8cfe0", green: "#cfe8b4", greenEdge: "#b4d699", building: "#dcd4cc",
    buildingEdge: "#c5b9ae", wall: "#a69b8f", railway: "#8f8f8f",
    text: "#3a3a3a", halo: "rgba(255, 255, 255, 0.9)"
  };
  // Line widths in pixels by zoom: [zoom, width] stops, linear in between.
  var WIDTH = {
    main: [[10, 1.2], [12, 2.2], [14, 5], [16, 10], [18, 20]],
    secondary: [[12, 1.2], [14, 3.6], [16, 8], [18, 16]],
    street: [[13, 1], [14, 2], [16, 5.5], [18, 11]],
    lane: [[15, 0.8], [16, 1.6], [18, 3.5]],
    river: [[10, 1], [14, 3], [18, 8]],
    stream: [[14, 0.8], [18, 2.5]],
    railway: [[12, 0.8], [16, 1.8], [18, 3]],
    wall: [[16, 0.8], [18, 1.6]]
  };
  // Draw order: higher on top.
  var Z = { green: 1, water: 2, buildings: 3, wall: 4, lane: 5, street: 6, railway: 7,
            secondary: 8, main: 9 };

  function at(stops, zoom) {
    if (zoom <= stops[0][0]) { return stops[0][1]; }
    for (var i = 1; i < stops.length; i++) {
      if (zoom <= stops[i][0]) {
        var a = stops[i - 1], b = stops[i];
        return a[1] + (b[1] - a[1]) * (zoom - a[0]) / (b[0] - a[0]);
      }
    }
    return stops[stops.length - 1][1];
  }

  function roadStyle(p, zoom) {
    var cls = WIDTH[p["class"]] ? p["class"] : "street";
    var width = at(WIDTH[cls], zoom);
    var casing = cls === "lane" ? (zoom >= 16 ? 0.6 : 0) : (zoom >= 14 ? 1.2 : 0.6);
    if (cls === "main") { casing += 0.4; }
    return { stroke: true, fill: false, color: cls === "lane" ? COLOURS.lane : COLOURS.road,
             weight: width, opacity: 1, lineCap: "round", lineJoin: "round", zIndex: Z[cls],
             casing: casing ? (cls === "main" ? COLOURS.mainCasing : COLOURS.casing) : null,
             casingWidth: casing };
  }
  var STYLES = {
    green: function () {
      return { stroke: true, color: COLOURS.greenEdge, weight: 0.6, fill: true,
               fillColor: COLOURS.green, fillOpacity: 1, zIndex: Z.green };
    },
    // Water areas are filled, water lines stroked (VectorGrid turns fill off for lines).
    water: function (p, zoom) {
      var width = at(WIDTH[p["class"] === "stream" ? "stream" : "river"], zoom);
      return { stroke: true, color: COLOURS.water, weight: width, lineCap: "round",
               lineJoin: "round", fill: true, fillColor: COLOURS.water, fillOpacity: 1,
               zIndex: Z.water };
    },
    buildings: function (p, zoom) {
      return { stroke: zoom >= 16, color: COLOURS.buildingEdge, weight: 0.7, fill: true,
               fillColor: COLOURS.building, fillOpacity: 1, zIndex: Z.buildings };
    },
    walls: function (p, zoom) {
      var railway = p["class"] === "railway";
      return { stroke: true, fill: false, color: railway ? COLOURS.railway : COLOURS.wall,
               weight: at(WIDTH[railway ? "railway" : "wall"], zoom), opacity: 1,
               dashArray: railway && zoom >= 15 ? "6 3" : null,
               zIndex: railway ? Z.railway : Z.wall };
    },
    roads: roadStyle,
    labels: function (p) {
      return { label: p.name, angle: p.angle || 0, main: p["class"] === "main" ||
               p["class"] === "secondary", zIndex: 100 };
    }
  };
  // What the toggle hides: a kind's MVT layers.
  var KINDS = { roads: ["roads", "labels"], water: ["water"], buildings: ["buildings"] };

  // --- A tile drawn once complete, in passes ------------------------------------------------
  var FONT = "\"Noto Sans CJK SC\", \"PingFang SC\", \"Microsoft YaHei\", sans-serif";
  var BasemapTile = L.Canvas.Tile.extend({
    initialize: function (coords, size, options) {
      L.Canvas.Tile.prototype.initialize.call(this, coords, size, options);
      // Sharp on high-density screens: the canvas in device pixels, drawn in CSS pixels.
      var ratio = window.devicePixelRatio || 1;
      if (ratio !== 1) {
        this._container.width = size.x * ratio;
        this._container.height = size.y * ratio;
        this._ctx.scale(ratio, ratio);
      }
      this._drawing = false;  // VectorGrid's features arrive first; addTo() draws them
    },
    addTo: function (map) {
      L.Canvas.Tile.prototype.addTo.call(this, map);
      this._paint();
    },
    _layersInOrder: function () {
      var list = [], seen = {}, n = 0;
      for (var order = this._drawFirst; order; order = order.next) {
        var id = L.stamp(order.layer);
        if (!seen[id]) { seen[id] = true; list.push({ layer: order.layer, n: n++ }); }
      }
      list.sort(function (a, b) {
        return ((a.layer.options.zIndex || 0) - (b.layer.options.zIndex || 0)) || (a.n - b.n);
      });
      return list.map(function (item) { return item.layer; });
    },
    _paint: function () {
      var layers = this._layersInOrder();
      this._drawing = true;
      layers.forEach(function (layer) {
        var o = layer.options;
        if (o.casing && o.casingWidth) {
          layer.options = L.extend({}, o, { color: o.casing, weight: o.weight + 2 * o.casingWidth,
                                            dashArray: null });
          layer._updatePath();
          layer.options = o;
        }
      });
      layers.forEach(function (layer) { if (!layer.options.label) { layer._updatePath(); } });
      var placed = [];
      layers.forEach(function (layer) {
        if (layer.options.label) { this._label(layer, placed); }
      }, this);
    },
    // A road name at its point, along the road; skipped when its box meets a placed one.
    _label: function (layer, placed) {
      var ctx = this._ctx, o = layer.options, p = layer._point;
      ctx.save();
      ctx.font = (o.main ? "600 12px " : "11px ") + FONT;
      var w = ctx.measureText(o.label).width, h = o.main ? 12 : 11;
      var rad = (o.angle || 0) * Math.PI / 180;
      var bw = Math.abs(w * Math.cos(rad)) + Math.abs(h * Math.sin(rad));
      var bh = Math.abs(w * Math.sin(rad)) + Math.abs(h * Math.cos(rad));
      var box = { x0: p.x - bw / 2 - 2, y0: p.y - bh / 2 - 2, x1: p.x + bw / 2 + 2, y1: p.y + bh / 2 + 2 };
      var size = this._size;
      var clash = box.x0 < 0 || box.y0 < 0 || box.x1 > size.x || box.y1 > size.y ||
        placed.some(function (b) { return box.x0 < b.x1 && b.x0 < box.x1 && box.y0 < b.y1 && b.y0 < box.y1; });
      if (!clash) {
        placed.push(box);
        ctx.translate(p.x, p.y);
        ctx.rotate(rad);
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.lineJoin = "round";
        ctx.lineWidth = 3;
        ctx.strokeStyle = COLOURS.halo;
        ctx.strokeText(o.label, 0, 0);
        ctx.fillStyle = COLOURS.text;
        ctx.fillText(o.label, 0, 0);
      }
      ctx.restore();
    }
  });

  function styles(hidden) {
    var out = {};
    Object.keys(STYLES).forEach(function (name) {
      out[name] = function (properties, zoom) {
        return hidden[name] ? [] : STYLES[name](properties, zoom);
      };
    });
    return out;
  }

  function add(map, config) {
    var hidden = {};
    var layer = L.vectorGrid.protobuf(config.url, {
      interactive: false,
      maxZoom: config.maxZoom || 19,
      maxNativeZoom: config.maxNativeZoom || 18,
      minZoom: 8,  // nothing is drawn below z8 (tiles/migrations/0007): no requests for it
      fetchOptions: { credentials: "same-origin" },
      rendererFactory: function (coords, size, options) { return new BasemapTile(coords, size, options); },
      vectorTileLayerStyles: styles(hidden)
    });
    layer.geogridHidden = hidden;
    layer.addTo(map);
    map.getContainer().classList.add("basemap-local");
    // The land's colour under the tiles (static/css/geogrid.css says the same; the admin's
    // pages do not load it).
    map.getContainer().style.backgroundColor = COLOURS.land;
    map.geogridBasemap = layer;
    // The sources' credits (an OpenStreetMap extract's licence asks for them), as text.
    if (config.tilejson && map.attributionControl) {
      fetch(config.tilejson, { credentials: "same-origin" }).then(function (answer) {
        return answer.ok ? answer.json() : {};
      }).then(function (tilejson) {
        if (tilejson.attribution) {
          map.attributionControl.addAttribution(escapeText(tilejson.attribution));
        }
      }).catch(function () { /* offline: the map without its credit line */ });
    }
    return layer;
  }

  function show(map, kind, on) {
    var layer = map.geogridBasemap;
    if (!layer || !KINDS[kind]) { return; }
    KINDS[kind].forEach(function (name) {
      if (on) { delete layer.geogridHidden[name]; } else { layer.geogridHidden[name] = true; }
    });
    layer.redraw();
  }

  // 道路 / 水系 / 建筑: checkboxes in a corner of the map.
  var Toggle = L.Control.extend({
    options: { position: "topright" },
    onAdd: function (map) {
      var box = L.DomUtil.create("div", "leaflet-bar basemap-toggle");
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", gettext("底图图层"));
      [["roads", gettext("道路")], ["water", gettext("水系")], ["buildings", gettext("建筑")]].forEach(function (pair) {
        var label = L.DomUtil.create("label", "", box);
        var input = L.DomUtil.create("input", "", label);
        input.type = "checkbox";
        input.checked = true;
        input.dataset.kind = pair[0];
        label.appendChild(document.createTextNode(pair[1]));
        L.DomEvent.on(input, "change", function () { show(map, pair[0], input.checked); });
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    }
  });
  function addToggle(map) {
    if (!map.geogridBasemap) { return null; }
    return new Toggle().addTo(map);
  }

  window.GeoGridBasemap = { add: add, addToggle: addToggle, show: show };

  // Leaflet shows attribution as HTML; the sources' credits are data, shown as text.
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function escapeText(text) {
    return String(text).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }

  // django-leaflet's maps (the admin's geometry fields) have no tile layer of their own
  // (LEAFLET_CONFIG's TILES is empty): they get the pages' basemap, which the admin page carries
  // as the pages do (templates/admin/base_site.html, geogrid/core/basemap.py).
  window.addEventListener("map:init", function (e) {
    var map = e.detail && e.detail.map;
    var node = document.getElementById("geogrid-map");
    if (!map || map.geogridBasemap || !node) { return; }
    var config;
    try { config = JSON.parse(node.textContent); } catch (err) { return; }
    (config.basemap || []).forEach(function (layer) {
      if (layer.type === "vector") { add(map, layer); return; }
      var options = { attribution: escapeText(layer.attribution || ""), maxZoom: layer.maxZoom || 19 };
      if (layer.subdomains) { options.subdomains = layer.subdomains; }
      L.tileLayer(layer.url, options).addTo(map);
    });
  });
})();
