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
