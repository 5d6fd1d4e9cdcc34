/* GeoGrid's service worker: the inspector's pages keep working without a network
   (docs/architecture.md §11.5). Served from /sw.js so that it controls the whole site.

   What it keeps (only the paths of KEPT), in one cache per version:
   - the pages and their static files (scripts, styles, the vendored map libraries, icons,
     the words of /jsi18n/): the page asks for its own files to be kept ("precache" message);
   - the answers of the API the inspector's pages read (their grids, components, categories,
     visits) and the vector tiles they drew, the offline basemap's among them (/tiles/reference/:
     the streets the inspector walked stay on the map without a network).
   Reads go to the network first and fall back to the kept copy when the network fails or is
   too slow; static files come from the copy first (their names change with their content on
   a production server). Writes (POST) are never kept or replayed here: the page's own queue
   (outbox.js) does that, with ids the server recognises, so nothing is sent twice.
   Logging out empties the cache: the next person on this phone sees nothing of the last. */
"use strict";

var VERSION = "geogrid-v1";
var NETWORK_WAIT_MS = 4000;
// Only what the inspector's pages need is kept; every other request passes by untouched, so
// the cases and their reporters, the admin, log-in pages and uploaded photos never land in
// this cache, whoever uses the browser.
var KEPT = [
  /^\/patrol\/$/, /^\/inspector\/$/, /^\/static\//, /^\/jsi18n\/$/, /^\/manifest\.webmanifest$/,
  /^\/api\/v1\/grids\/$/, /^\/api\/v1\/components\/$/, /^\/api\/v1\/case-classes\/$/,
  /^\/api\/v1\/patrols\/coverage\/$/, /^\/api\/v1\/patrols\/visits\/$/,
  /^\/tiles\/(grids|components|reference)\//
];

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name !== VERSION; })
        .map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "precache" && Array.isArray(data.urls)) {
    event.waitUntil(precache(data.urls).then(function (result) {
      if (event.source) { event.source.postMessage({ type: "precached", kept: result.kept, failed: result.failed }); }
    }));
  } else if (data.type === "forget") {
    event.waitUntil(caches.delete(VERSION));
  }
});

function precache(urls) {
  var wanted = urls.filter(function (url) { return kept(new URL(url, self.location.origin)); });
  return caches.open(VERSION).then(function (cache) {
    var stored = 0, failed = 0;
    return Promise.all(wanted.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (answer) {
        if (answer.ok) { stored += 1; return cache.put(url, answer); }
        failed += 1;
      }, function () { failed += 1; });
    })).then(function () { return { kept: stored, failed: failed }; });
  });
}

function kept(url) {
  return KEPT.some(function (pattern) { return pattern.test(url.pathname); });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }  // internet basemaps: the browser's own cache
  if (request.method === "POST" && /^\/logout\/$/.test(url.pathname)) {
    event.waitUntil(caches.delete(VERSION));
    return;
  }
  if (request.method !== "GET" || !kept(url)) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, true));
  } else {
    event.respondWith(networkFirst(request, false));
  }
});

function cacheFirst(request) {
  return caches.open(VERSION).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (kept) {
      if (kept) { return kept; }
      return fetch(request).then(function (answer) {
        if (answer.ok) { cache.put(request, answer.clone()); }
        return answer;
      });
    });
  });
}

// The network's answer when it comes in time (kept for later), else the kept copy; a page
// with no copy falls back to the field app's page, which then works from its queue.
function networkFirst(request, isPage) {
  return caches.open(VERSION).then(function (cache) {
    var fromNetwork = fetch(request).then(function (answer) {
      if (answer.ok && !answer.redirected) { cache.put(request, answer.clone()); }
      return answer;
    });
    var timer;
    var late = new Promise(function (resolve) {
      timer = setTimeout(function () { resolve(null); }, NETWORK_WAIT_MS);
    });
    return Promise.race([fromNetwork.catch(function () { return null; }), late]).then(function (answer) {
      clearTimeout(timer);
      if (answer) { return answer; }
      return cache.match(request, { ignoreVary: true }).then(function (kept) {
        if (kept) { return kept; }
        if (isPage) {
          return cache.match("/patrol/").then(function (shell) { return shell || fromNetwork; });
        }
        return fromNetwork;  // no copy: the network's answer or its error, whenever it comes
      });
    });
  });
}
