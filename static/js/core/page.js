/* The shared page module (docs/architecture.md §8), loaded by base.html after Django's
 * JavaScript catalogue (/jsi18n/: gettext, ngettext, interpolate) and before any page script.
 *
 * window.GeoGridApi — the one way pages talk to the GeoGrid API:
 *   request(address, options) resolves to the JSON body of a 2xx answer. Anything else rejects
 *   with an Error whose message is the API's plain-words `detail`, and which carries `status`,
 *   `field` (the parameter at fault, when the API names one) and `body` (the whole answer: the
 *   editor reads its problems and a conflict's details from it). A request that never got an
 *   answer rejects with `network: true` and a translated "could not be reached"; an aborted one
 *   with the browser's AbortError. csrfToken() is the token a POST/PATCH sends as X-CSRFToken.
 *
 * window.GeoGrid — building pages:
 *   el, lines, esc, text   DOM text built safely (output is text: §9.1);
 *   photoItem(photo, alt, caption)  a photo strip's <li>: preview linking to the image;
 *   json(id), pageData(id) a json_script block's data (pageData defaults to "page-config");
 *   fmt(template, values)  the one placeholder syntax, {name}: fmt(gettext("共 {n} 个"), {n: 3});
 *   capfirst(text)         as Django's filter;
 *   when(iso, options)     a date and time in the page's language and the city's time zone;
 *   say(text, kind, node)  a status line (#message unless node is given); kind = busy, error…;
 *   showError(node, prefix, error)  an error box: the words, the API's detail in small print;
 *   createMap(elementId, options)   a Leaflet map at the configured centre and zoom
 *                          (LEAFLET_CONFIG, through the "geogrid-map" json_script of base.html)
 *                          with the configured basemap under it (the offline one drawn by
 *                          static/js/core/basemap.js); options go to L.map, and
 *                          `view: false` leaves the view to the caller;
 *   lang, english, locale  the page's language; timeZone, mapConfig: the server's settings;
 *   days.today(), days.add(day, n), days.midnight(day)  whole days ("YYYY-MM-DD") in the
 *                          city's time zone, and a day's first instant as an ISO time.
 * Pages have no inline scripts (the Content-Security-Policy forbids them): translations come
 * from gettext(), data from json_script blocks. */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };

  // --- The API --------------------------------------------------------------------------------
  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) { return field.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function request(address, options) {
    var opts = Object.assign({ credentials: "same-origin" }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (opts.method && opts.method !== "GET" && !opts.headers["X-CSRFToken"]) {
      opts.headers["X-CSRFToken"] = csrfToken();
    }
    return fetch(address, opts).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = new Error(body.detail || ("HTTP " + response.status));
          error.status = response.status;
          error.field = body.field;
          error.body = body;
          throw error;
        }
        return body;
      });
    }, function (failure) {
      if (failure && failure.name === "AbortError") { throw failure; }
      var error = new Error(gettext("网络连接失败，请检查网络后重试。"));
      error.network = true;
      throw error;
    });
  }
  window.GeoGridApi = { request: request, csrfToken: csrfToken };

  // --- Output is text unless proven HTML (§9.1) -----------------------------------------------
  // Names, descriptions, class names and labels come from people and imports; a page never puts
  // them into markup. el() builds elements whose string children become text nodes; lines()
  // builds a Leaflet tooltip/popup body (an element, so Leaflet does not parse it as HTML) of
  // one text line per argument; esc() is for the rare string that must be HTML.
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function text(value) { return value === null || value === undefined ? "" : String(value); }
  function esc(value) {
    return text(value).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(text(child)));
  }
  // el("li", { className: "row", dataset: { id: 7 } }, ["#7 ", name]): properties, never markup.
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "dataset") { Object.assign(node.dataset, props.dataset); }
      else if (key === "attrs") {
        Object.keys(props.attrs).forEach(function (a) { node.setAttribute(a, props.attrs[a]); });
      } else { node[key] = props[key]; }
    });
    append(node, children);
    return node;
  }
  function lines() {
    var node = document.createElement("span");
    Array.prototype.forEach.call(arguments, function (line, i) {
      if (i) { node.appendChild(document.createElement("br")); }
      append(node, line);
    });
    return node;
  }

  // A photo in a strip: its preview, linking to the full image in a new tab, and a caption.
  function photoItem(photo, alt, caption) {
    return el("li", {}, [
      el("a", { href: photo.url, target: "_blank", rel: "noopener" },
         el("img", { src: photo.preview_url, alt: alt, loading: "lazy" })),
      el("small", {}, caption)
    ]);
  }

  // --- Data from the server (§8.2) ------------------------------------------------------------
  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }
  var mapConfig = json("geogrid-map");
  var lang = document.documentElement.lang || "zh-hans";
  var english = lang.slice(0, 2) === "en";
  var locale = english ? "en" : "zh-CN";
  // The page's configuration (json_script `id`, default "page-config"), kept as window.GEOGRID
  // for the console and the browser tests.
  function pageData(id) {
    var cfg = json(id || "page-config");
    cfg.lang = cfg.lang || lang;
    window.GEOGRID = cfg;
    return cfg;
  }

  // --- Words ----------------------------------------------------------------------------------
  // The one placeholder syntax: {name}, as in the catalogue's msgids.
  function fmt(template, values) {
    return text(template).replace(/\{(\w+)\}/g, function (m, key) {
      return values && values[key] !== undefined && values[key] !== null ? String(values[key]) : m;
    });
  }
  // Django's capfirst filter: the first letter upper-case (an English word starting a label).
  function capfirst(value) { var s = text(value); return s.charAt(0).toUpperCase() + s.slice(1); }
  function when(iso, options) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleString(locale, Object.assign(
      { hour12: false, timeZone: mapConfig.timeZone || undefined }, options || {}));
  }
  function say(message, kind, node) {
    var box = node || document.getElementById("message");
    if (!box) { return; }
    box.textContent = message || "";
    box.className = "message" + (kind ? " " + kind : "");
  }
  // An error box: the page's words (or "network failed"), then the API's own detail.
  function showError(node, prefix, error) {
    node.replaceChildren();
    node.appendChild(document.createTextNode(error && error.network ? error.message : prefix));
    if (error && !error.network && error.message) {
      node.appendChild(el("small", { className: "api-detail" }, error.message));
    }
    node.hidden = false;
  }

  // --- Maps -----------------------------------------------------------------------------------
  function addBasemap(map) {
    return (mapConfig.basemap || []).map(function (layer) {
      // The offline basemap (vector tiles of the reference layers): static/js/core/basemap.js,
      // which {% leaflet_js %} loads on every map page.
      if (layer.type === "vector") {
        return window.GeoGridBasemap ? window.GeoGridBasemap.add(map, layer) : null;
      }
      // Leaflet shows attribution as HTML; ours is a setting, shown as text all the same.
      var options = { attribution: esc(layer.attribution), maxZoom: layer.maxZoom || 19 };
      if (layer.subdomains) { options.subdomains = layer.subdomains; }
      return L.tileLayer(layer.url, options).addTo(map);
    });
  }
  function createMap(elementId, options) {
    var opts = Object.assign({ maxZoom: mapConfig.maxZoom || 19 }, options || {});
    var view = opts.view !== false;
    delete opts.view;
    var map = L.map(elementId, opts);
    if (view) { map.setView(mapConfig.center || [0, 0], mapConfig.zoom || 12); }
    addBasemap(map);
    return map;
  }

  // --- Whole days in the city's time zone ("YYYY-MM-DD"; the command center's periods) ----
  function cityToday() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: mapConfig.timeZone, year: "numeric",
                                              month: "2-digit", day: "2-digit" }).format(new Date());
  }
  function addDays(day, n) {
    var d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  // The zone's UTC offset on that day (at noon, away from any midnight DST switch).
  function offsetOn(day) {
    try {
      var parts = new Intl.DateTimeFormat("en-US", { timeZone: mapConfig.timeZone, timeZoneName: "longOffset" })
        .formatToParts(new Date(day + "T12:00:00Z"));
      var name = parts.filter(function (p) { return p.type === "timeZoneName"; })[0].value;
      var match = name.match(/([+-]\d{2}:\d{2})/);
      return match ? match[1] : "+00:00";
    } catch (e) {
      return "+08:00";  // browsers without longOffset: China Standard Time
    }
  }
  // The day's first instant in the city, as an ISO time with its offset (an API's `since`).
  function midnight(day) { return day + "T00:00:00" + offsetOn(day); }

  window.GeoGrid = {
    text: text, esc: esc, el: el, lines: lines, photoItem: photoItem, json: json, pageData: pageData,
    fmt: fmt, capfirst: capfirst, when: when, say: say, showError: showError,
    createMap: createMap, addBasemap: addBasemap, mapConfig: mapConfig,
    lang: lang, english: english, locale: locale, timeZone: mapConfig.timeZone,
    days: { today: cityToday, add: addDays, midnight: midnight }
  };
})();
