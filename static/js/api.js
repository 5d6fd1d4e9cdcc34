/* The one way pages talk to the GeoGrid API (loaded by base.html before any page script).
 *
 * GeoGridApi.request(address, options) resolves to the JSON body of a 2xx answer. Anything else
 * rejects with an Error whose message is the API's plain-words `detail`, and which carries
 * `status`, `field` (the parameter at fault, when the API names one) and `body` (the whole
 * answer: the editor reads its problems and a conflict's details from it). A request that never
 * got an answer rejects with `network: true` and the page's `networkMessage`; an aborted one with the browser's AbortError.
 * GeoGridApi.csrfToken() is the token a POST/PATCH must send as X-CSRFToken. */
(function () {
  "use strict";
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
      var error = new Error(window.GeoGridApi.networkMessage);
      error.network = true;
      throw error;
    });
  }
  // A page sets networkMessage to its own words for "the server could not be reached".
  window.GeoGridApi = { request: request, csrfToken: csrfToken,
                        networkMessage: "The server could not be reached." };
})();

/* Output is text unless proven HTML (README, "Content-Security-Policy and escaping").
 *
 * Names, descriptions, class names and labels come from people and imports; a page never puts
 * them into markup. GeoGrid.el() builds elements whose string children become text nodes;
 * GeoGrid.lines() builds a Leaflet tooltip/popup body (an element, so Leaflet does not parse
 * it as HTML) of one text line per argument; GeoGrid.esc() is for the rare string that must be
 * HTML. GeoGrid.page() reads the page's data from its json_script blocks — pages have no
 * inline scripts, the Content-Security-Policy forbids them. */
(function () {
  "use strict";
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
  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }
  // The page's configuration (json_script `configId`, default "page-config") with its
  // translated words (json_script "page-text") and language; also window.GEOGRID.
  function page(configId) {
    var cfg = json(configId || "page-config");
    var words = json("page-text");
    if (Object.keys(words).length) { cfg.text = Object.assign(cfg.text || {}, words); }
    cfg.lang = cfg.lang || document.documentElement.lang || "zh-hans";
    window.GEOGRID = cfg;
    return cfg;
  }
  window.GeoGrid = { text: text, esc: esc, el: el, lines: lines, json: json, page: page };
})();
