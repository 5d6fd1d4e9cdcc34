/* The phone's outbox (docs/architecture.md §11.4–§11.5): everything the inspector does in the
   field — starting and ending a patrol, batches of GPS fixes, reports with photos — is first
   written here (IndexedDB, one database per user) and then sent in order when the network is
   there. Each item carries an id the phone generated, and the server answers a repeat with
   its first answer, so an item whose answer was lost is simply sent again: it arrives once.

   window.GeoGridOutbox.open(userId) → a promise of an outbox with:
     add(item)        queue {kind: "start"|"points"|"end"|"report", patrol, body, photos}
     list()           every item, oldest first, with status waiting|sent|refused
     flush()          send what is waiting, in order; stops at the first network failure
     retry(id)        put a refused item back in the queue
     onchange(fn)     called after every change (the page redraws its queue)
     patrolId(client) the server's id of a patrol the phone started
   A 4xx answer refuses the item with the server's words and goes on with the next; a network
   failure, a 5xx, 408 or 429 leaves it waiting; 401/403 (logged out) stops until the next
   log-in. Items of a patrol whose start was refused are refused with it. */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var T = {
    notStarted: gettext("这次巡查没有开始成功，其轨迹无法上传。"),
    loggedOut: gettext("登录已过期：请重新登录后继续发送。"),
    network: gettext("网络不可用，恢复后自动发送。")
  };
  var STORE = "items";
  var PATROLS = "patrols";

  function promised(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function openDatabase(userId) {
    var request = indexedDB.open("geogrid-outbox-" + userId, 1);
    request.onupgradeneeded = function () {
      var db = request.result;
      var items = db.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
      items.createIndex("id", "id", { unique: true });
      db.createObjectStore(PATROLS, { keyPath: "client" });
    };
    return promised(request);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // The cookie's token first: a page kept offline may carry a token from an earlier log-in.
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : GeoGridApi.csrfToken();
  }

  function Outbox(db, urls, placeholder) {
    this.db = db;
    this.urls = urls;
    this.placeholder = placeholder;
    this.listeners = [];
    this.flushing = null;
    this.blocked = "";  // why sending stopped (network, logged out), shown by the page
  }

  Outbox.prototype.tx = function (stores, mode) {
    return this.db.transaction(stores, mode || "readonly");
  };

  Outbox.prototype.changed = function () {
    var self = this;
    this.listeners.forEach(function (fn) { fn(self); });
  };

  Outbox.prototype.onchange = function (fn) { this.listeners.push(fn); };

  Outbox.prototype.add = function (item) {
    var record = Object.assign({ id: uuid(), status: "waiting", created: new Date().toISOString() }, item);
    var self = this;
    return promised(this.tx([STORE], "readwrite").objectStore(STORE).add(record)).then(function () {
      self.changed();
      return record;
    });
  };

  Outbox.prototype.list = function () {
    return promised(this.tx([STORE]).objectStore(STORE).getAll());
  };

  Outbox.prototype.put = function (record) {
    return promised(this.tx([STORE], "readwrite").objectStore(STORE).put(record));
  };

  Outbox.prototype.patrolId = function (client) {
    return promised(this.tx([PATROLS]).objectStore(PATROLS).get(client)).then(function (row) {
      return row ? row.server : null;
    });
  };

  Outbox.prototype.rememberPatrol = function (client, server) {
    return promised(this.tx([PATROLS], "readwrite").objectStore(PATROLS).put({ client: client, server: server }));
  };

  Outbox.prototype.retry = function (id) {
    var self = this;
    return this.list().then(function (items) {
      var item = items.find(function (i) { return i.id === id; });
      if (!item) { return; }
      item.status = "waiting";
      item.error = "";
      return self.put(item).then(function () { self.changed(); return self.flush(); });
    });
  };

  // Sent items older than a day are dropped from the list; photos are large.
  Outbox.prototype.tidy = function () {
    var self = this, day = Date.now() - 24 * 3600 * 1000;
    return this.list().then(function (items) {
      var store = self.tx([STORE], "readwrite").objectStore(STORE);
      items.forEach(function (item) {
        if (item.status === "sent" && Date.parse(item.sentAt || item.created) < day) { store.delete(item.seq); }
      });
    });
  };

  Outbox.prototype.flush = function () {
    var self = this;
    if (this.flushing) { return this.flushing; }
    this.flushing = this.list().then(function (items) {
      var waiting = items.filter(function (i) { return i.status === "waiting"; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function (go) { return go ? self.sendOne(item) : false; });
      }, Promise.resolve(true));
    }).then(function (finished) {
      if (finished) { self.blocked = ""; }
      self.flushing = null;
      self.changed();
    }, function (error) {
      self.flushing = null;
      self.changed();
      throw error;
    });
    return this.flushing;
  };

  // Resolves true to go on with the next item, false to stop sending for now.
  Outbox.prototype.sendOne = function (item) {
    var self = this;
    return this.request(item).then(function (prepared) {
      if (prepared.refuse) { return self.finish(item, "refused", prepared.refuse, null).then(function () { return true; }); }
      if (prepared.wait) { return false; }
      return fetch(prepared.url, prepared.options).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) {
            var done = item.kind === "start" ? self.rememberPatrol(item.patrol, body.id) : Promise.resolve();
            return done.then(function () { return self.finish(item, "sent", "", body); }).then(function () { return true; });
          }
          if (response.status === 401 || response.status === 403) {
            self.blocked = T.loggedOut;
            return false;
          }
          if (response.status >= 500 || response.status === 408 || response.status === 429) {
            self.blocked = T.network;
            return false;
          }
          return self.finish(item, "refused", body.detail || ("HTTP " + response.status), body).then(function () { return true; });
        });
      }, function () {
        self.blocked = T.network;
        return false;
      });
    });
  };

  Outbox.prototype.finish = function (item, status, error, answer) {
    item.status = status;
    item.error = error;
    item.answer = answer ? summary(item.kind, answer) : null;
    item.sentAt = new Date().toISOString();
    if (status === "sent") { delete item.photos; }  // the server has them now
    var self = this;
    return this.put(item).then(function () { self.changed(); });
  };

  function summary(kind, body) {
    if (kind === "report") { return { id: body.id, repeated: body.properties && body.properties.repeated }; }
    if (kind === "points") { return { accepted: body.accepted, jump: body.jump, inaccurate: body.inaccurate, repeated: body.repeated }; }
    if (kind === "start" || kind === "end") { return { id: body.id, status: body.status }; }
    return {};
  }

  // The address and body of an item; {wait} when its patrol's start has not been sent yet,
  // {refuse} when that start was refused.
  Outbox.prototype.request = function (item) {
    var self = this;
    var headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    if (item.kind === "report") {
      var form = new FormData();
      Object.keys(item.body).forEach(function (key) { form.append(key, item.body[key]); });
      (item.photos || []).forEach(function (photo) { form.append("photo", photo.blob, photo.name); });
      return Promise.resolve({ url: this.urls.cases, options: { method: "POST", body: form, headers: headers, credentials: "same-origin" } });
    }
    headers["Content-Type"] = "application/json";
    if (item.kind === "start") {
      return Promise.resolve({ url: this.urls.patrols, options: { method: "POST", body: JSON.stringify(item.body), headers: headers, credentials: "same-origin" } });
    }
    return this.patrolId(item.patrol).then(function (server) {
      if (server == null) {
        return self.list().then(function (items) {
          var start = items.find(function (i) { return i.kind === "start" && i.patrol === item.patrol; });
          if (start && start.status === "refused") { return { refuse: T.notStarted }; }
          return { wait: true };
        });
      }
      var template = item.kind === "points" ? self.urls.points : self.urls.end;
      var url = template.replace(self.placeholder, String(server));
      return { url: url, options: { method: "POST", body: JSON.stringify(item.body), headers: headers, credentials: "same-origin" } };
    });
  };

  window.GeoGridOutbox = {
    uuid: uuid,
    open: function (userId, urls, placeholder) {
      return openDatabase(userId).then(function (db) { return new Outbox(db, urls, placeholder); });
    }
  };
})();
