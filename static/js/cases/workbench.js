/* The case workbench: the operator's desk, a department's inbox, an inspector's check list.
   Queues (tabs) → a list and markers → a case card with its facts, duplicates, photos, timeline
   and the moves this user may make (the API says which). Works without a basemap. */
(function () {
  "use strict";
  var cfg = GeoGrid.pageData("case-config");
  var T = {  // the script's words: gettext() from the djangojs catalogue (/jsi18n/)
    loading: gettext("正在加载…"),
    saving: gettext("正在提交…"),
    empty: gettext("这里没有案件。"),
    count: gettext("共 {n} 件"),
    countMore: gettext("共 {n} 件，显示最新 {shown} 件"),
    network: gettext("网络连接失败，请检查网络后重试。"),
    failed: gettext("操作未完成："),
    forbidden: gettext("您的角色或职责范围不允许此操作。"),
    conflict: gettext("案件已被他人更新，已为您重新加载。"),
    moved: gettext("案件 #{id} 已{label}。"),
    due: gettext("处置时限：{when}"),
    dueShort: gettext("时限 {when}"),
    dueLeft: gettext("（剩余 {h} 工作时内）"),
    noDeadline: gettext("尚未派遣，未开始计时。"),
    noMoves: gettext("当前状态下您无可执行的操作。"),
    none: gettext("无"),
    chooseDepartment: gettext("请选择部门"),
    distance: gettext("{d} 米"),
    photoBy: gettext("{stage} · {who}"),
    stages: {
      report: gettext("上报"),
      feedback: gettext("处置反馈"),
      check: gettext("核查")
    },
    levels: {
      unit: gettext("单元网格"),
      community: gettext("社区"),
      street: gettext("街道"),
      district: gettext("区")
    },
    escalate: gettext("升级处置"),
    // The path check of an inspector's report (docs/domain.md §8.4): flagged ones get a badge.
    pathOffTrack: gettext("偏离轨迹 {d} 米"),
    pathNoTrack: gettext("无巡查轨迹"),
    pathWritten: gettext("{label}（采集于 {when}）")
  };
  var FLAGGED = { off_track: true, no_track: true };
  // The badge's words: how far from the track, or that there was none.
  function pathFlag(p) {
    if (p.path_check === "off_track") {
      return fmt(T.pathOffTrack, { d: p.path_distance_m === null ? "?" : Math.round(p.path_distance_m) });
    }
    return p.path_check === "no_track" ? T.pathNoTrack : "";
  }
  var EN = GeoGrid.english;
  var PAGE = 200;
  var STATUS_COLOURS = {
    reported: "#1f78b4", accepted: "#1f78b4", filed: "#6a3d9a", dispatched: "#f08c00",
    returned: "#b15928", extension_requested: "#e6ab02", parked: "#8a939b", handled: "#33a02c",
    rework: "#e31a1c", checked: "#33a02c", closed: "#5d6d7e", rejected: "#8a939b",
    cancelled: "#8a939b"
  };
  function $(id) { return document.getElementById(id); }
  var fmt = GeoGrid.fmt;
  function url(name, id) { return cfg.urls[name].replace(cfg.placeholder, String(id)); }
  var csrfToken = GeoGridApi.csrfToken;
  var api = GeoGridApi.request;  // static/js/core/page.js
  // Times in the city's time zone (the server's), whatever the browser's is.
  var when = GeoGrid.when;
  function text(id, value) { $(id).textContent = value === null || value === undefined || value === "" ? T.none : value; }

  var message = $("message"), list = $("case-list"), card = $("case-card"), queueBox = $("queue");
  var cardError = $("card-error");
  var say = GeoGrid.say;
  function showError(prefix, error) { GeoGrid.showError(cardError, prefix, error); }

  // --- Map ----------------------------------------------------------------------------------
  var map = GeoGrid.createMap("case-map", { preferCanvas: true, maxZoom: 19 });
  cfg.map = map;
  var markers = L.layerGroup().addTo(map);
  var selected = L.layerGroup().addTo(map);
  var markerById = {};

  function markerFor(feature) {
    var c = feature.geometry.coordinates;
    var marker = L.circleMarker([c[1], c[0]], {
      radius: 7, weight: 2, color: "#fff", fillOpacity: 0.95,
      fillColor: STATUS_COLOURS[feature.properties.status] || "#555"
    });
    marker.bindTooltip(GeoGrid.lines("#" + feature.id + " " + className(feature.properties)));
    marker.on("click", function () { openCase(feature.id, false); });
    return marker;
  }
  function className(props) { return (EN && props.class_name_en) || props.class_name; }

  // --- Queues ---------------------------------------------------------------------------------
  var current = null, currentCase = null, generation = 0;
  var tabs = $("queue-tabs");
  cfg.queues.forEach(function (queue, index) {
    var button = document.createElement("button");
    button.type = "button";
    button.setAttribute("role", "tab");
    button.dataset.queue = queue.key;
    button.textContent = queue.label;
    button.addEventListener("click", function () { loadQueue(queue); });
    tabs.appendChild(button);
    if (index === 0) { current = queue; }
  });

  function loadQueue(queue) {
    current = queue;
    var mine = ++generation;
    tabs.querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-selected", b.dataset.queue === queue.key ? "true" : "false");
    });
    card.hidden = true;
    queueBox.hidden = false;
    say(T.loading, "busy");
    var params = new URLSearchParams(Object.assign({ page_size: PAGE }, queue.params));
    return api(cfg.urls.cases + "?" + params.toString()).then(function (data) {
      if (mine !== generation) { return; }
      say("");
      list.replaceChildren();
      markers.clearLayers();
      markerById = {};
      var features = data.features || [];
      $("queue-summary").textContent = features.length ?
        (data.count > features.length ? fmt(T.countMore, { n: data.count, shown: features.length })
                                      : fmt(T.count, { n: data.count })) : T.empty;
      var bounds = [];
      features.forEach(function (feature) {
        list.appendChild(listItem(feature));
        var marker = markerFor(feature).addTo(markers);
        markerById[feature.id] = marker;
        bounds.push(marker.getLatLng());
      });
      if (bounds.length) {
        map.fitBounds(L.latLngBounds(bounds).pad(0.15), { maxZoom: 17, animate: false });
      }
      document.body.dataset.ready = "1";
      document.body.dataset.queue = queue.key;
      document.body.dataset.count = String(features.length);
    }).catch(function (error) {
      if (mine === generation) { say(T.failed + error.message, "error"); document.body.dataset.ready = "1"; }
    });
  }

  function listItem(feature) {
    var p = feature.properties;
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "result";
    button.dataset.id = feature.id;
    var main = document.createElement("span");
    main.className = "r-main";
    var title = document.createElement("span");
    title.className = "r-class";
    title.textContent = "#" + feature.id + " " + className(p);
    var sub = document.createElement("span");
    sub.className = "r-code";
    sub.textContent = p.grid_code + (p.department ? " · " + ((EN && p.department.name_en) || p.department.name) : "");
    main.appendChild(title);
    main.appendChild(sub);
    var meta = document.createElement("span");
    meta.className = "r-meta";
    var status = document.createElement("span");
    status.className = "r-status";
    status.style.background = STATUS_COLOURS[p.status] || "#555";
    status.textContent = p.status_label;
    meta.appendChild(status);
    if (FLAGGED[p.path_check]) {
      var flag = document.createElement("span");
      flag.className = "r-status path-badge " + p.path_check;
      flag.textContent = pathFlag(p);
      meta.appendChild(flag);
    }
    if (p.overdue) {
      var late = document.createElement("span");
      late.className = "r-status overdue-badge";
      late.textContent = $("card-overdue").textContent;
      meta.appendChild(late);
    }
    if (p.generated) {  // made by the demo's history generator, not reported by a person
      var made = document.createElement("span");
      made.className = "r-status generated-badge";
      made.textContent = $("card-generated").textContent;
      meta.appendChild(made);
    }
    var time = document.createElement("span");
    time.textContent = p.deadline && p.open ? fmt(T.dueShort, { when: when(p.deadline) })
                                            : when(p.reported_at);
    meta.appendChild(time);
    button.appendChild(main);
    button.appendChild(meta);
    button.addEventListener("click", function () { openCase(feature.id, true); });
    li.appendChild(button);
    return li;
  }

  // --- The case card --------------------------------------------------------------------------
  function openCase(id, pan) {
    var mine = ++generation;
    cardError.hidden = true;
    say(T.loading, "busy");
    return api(url("case", id)).then(function (feature) {
      if (mine !== generation) { return; }
      say("");
      fillCard(feature);
      queueBox.hidden = true;
      card.hidden = false;
      var c = feature.geometry.coordinates;
      if (pan) { map.setView([c[1], c[0]], Math.max(map.getZoom(), 17), { animate: false }); }
    }).catch(function (error) {
      if (mine === generation) { say(T.failed + error.message, "error"); }
    });
  }

  function drawSelected(feature) {
    var c = feature.geometry.coordinates;
    selected.clearLayers();
    L.circleMarker([c[1], c[0]], { radius: 7, weight: 2, color: "#fff", fillOpacity: 0.95,
      fillColor: STATUS_COLOURS[feature.properties.status] || "#555" }).addTo(selected);
    L.circleMarker([c[1], c[0]], { radius: 13, color: "#12355b", weight: 3, fill: false })
      .addTo(selected);
    // Possible duplicates in the current list: a dashed line to each.
    (feature.properties.possible_duplicates || []).forEach(function (d) {
      var other = markerById[d.id];
      if (other) {
        L.polyline([other.getLatLng(), [c[1], c[0]]],
                   { color: "#c0281c", dashArray: "4 4", weight: 2 }).addTo(selected);
      }
    });
  }

  function fillCard(feature) {
    var p = feature.properties;
    drawSelected(feature);
    currentCase = feature;
    card.dataset.id = feature.id;
    card.dataset.status = p.status;
    card.dataset.version = p.version;
    text("card-title", className(p));
    text("card-number", "#" + feature.id + " · " + p.service_code);
    var badge = $("card-status");
    badge.textContent = p.status_label;
    badge.style.background = STATUS_COLOURS[p.status] || "#555";
    $("card-overdue").hidden = !p.overdue;
    $("card-generated").hidden = !p.generated;
    $("card-path").hidden = !FLAGGED[p.path_check];
    $("card-path").className = "status-badge path-badge " + (p.path_check || "");
    $("card-path").textContent = pathFlag(p);
    // The check itself, for every inspector's report (staff see it; the API leaves it out
    // for anyone else).
    $("card-path-row").hidden = !p.path_check;
    $("card-path-check").textContent = !p.path_check ? "" :
      (p.observed_at ? fmt(T.pathWritten, { label: FLAGGED[p.path_check] ? pathFlag(p) : p.path_check_label,
                                            when: when(p.observed_at) })
                     : (FLAGGED[p.path_check] ? pathFlag(p) : p.path_check_label));
    $("card-deadline").textContent = p.deadline ? fmt(T.due, { when: when(p.deadline) }) : T.noDeadline;
    $("card-deadline").className = "deadline" + (p.overdue ? " late" : "");
    text("card-class", className(p) + " (" + p.major_name + ")");
    text("card-description", p.description);
    text("card-grid", p.grid_code);
    text("card-department", p.department ? ((EN && p.department.name_en) || p.department.name) : null);
    text("card-channel", p.channel_label);
    text("card-reported", when(p.reported_at));
    text("card-level", T.levels[p.handling_level] || p.handling_level);
    var contact = [p.reporter_name, p.reporter_phone, p.reporter_email].filter(Boolean).join(" · ");
    $("card-contact-row").hidden = !contact;
    $("card-contact").textContent = contact;
    text("card-closing", p.closing_condition);
    fillDuplicates(p.possible_duplicates || []);
    fillPhotos(p.photos || []);
    fillEvents(p.events || []);
    fillMoves(p);
  }

  function fillDuplicates(duplicates) {
    var box = $("card-duplicates"), ol = $("duplicate-list");
    ol.replaceChildren();
    box.hidden = !duplicates.length;
    duplicates.forEach(function (d) {
      var li = document.createElement("li");
      var link = document.createElement("button");
      link.type = "button";
      link.className = "link";
      link.textContent = "#" + d.id;
      link.addEventListener("click", function () { openCase(d.id, true); });
      li.appendChild(link);
      li.appendChild(document.createTextNode(" " + fmt(T.distance, { d: Math.round(d.distance_m) }) + " · " + when(d.reported_at)));
      ol.appendChild(li);
    });
  }

  function fillPhotos(photos) {
    var strip = $("card-photos");
    strip.replaceChildren();
    photos.forEach(function (photo) {
      var stage = T.stages[photo.stage] || photo.stage;
      strip.appendChild(GeoGrid.photoItem(photo, stage,
        fmt(T.photoBy, { stage: stage, who: photo.uploaded_by || "—" })));
    });
    $("card-no-photos").hidden = photos.length > 0;
  }

  function fillEvents(events) {
    var ol = $("card-events");
    ol.replaceChildren();
    events.forEach(function (event) {
      var li = document.createElement("li");
      var head = document.createElement("span");
      head.className = "t-head";
      head.textContent = event.action_label + (event.actor ? " · " + event.actor : "");
      var time = document.createElement("time");
      time.dateTime = event.created_at;
      time.textContent = when(event.created_at);
      li.appendChild(head);
      li.appendChild(time);
      if (event.reason) {
        var reason = document.createElement("p");
        reason.textContent = event.reason;
        li.appendChild(reason);
      }
      ol.appendChild(li);
    });
  }

  function fillMoves(p) {
    var box = $("case-actions"), buttons = $("move-buttons");
    buttons.replaceChildren();
    var moves = p.moves || [];
    var canEscalate = (cfg.mode === "desk" || cfg.mode === "checks") && p.open;
    box.hidden = !moves.length && !canEscalate;
    var tos = moves.map(function (m) { return m.to; });
    var dispatching = p.status === "filed" || p.status === "returned";
    $("dispatch-extra").hidden = !(dispatching && tos.indexOf("dispatched") >= 0);
    $("extension-extra").hidden = !(tos.indexOf("extension_requested") >= 0 ||
                                    (p.status === "extension_requested" && tos.indexOf("dispatched") >= 0));
    $("photo-extra").hidden = !(tos.indexOf("handled") >= 0 || tos.indexOf("checked") >= 0);
    if (!$("dispatch-extra").hidden) {
      var select = $("action-department");
      select.replaceChildren();
      cfg.departments.forEach(function (d) {
        var option = document.createElement("option");
        option.value = d.code;
        option.textContent = d.name;
        if (p.department && p.department.code === d.code) { option.selected = true; }
        select.appendChild(option);
      });
    }
    moves.forEach(function (m) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.to = m.to;
      button.className = m.to === "rejected" || m.to === "cancelled" || m.to === "rework" ||
        m.to === "returned" ? "danger" : "primary";
      button.textContent = m.label;
      button.addEventListener("click", function () { move(m); });
      buttons.appendChild(button);
    });
    if (canEscalate) {
      var escalate = document.createElement("button");
      escalate.type = "button";
      escalate.dataset.to = "escalate";
      escalate.textContent = T.escalate;
      escalate.addEventListener("click", function () { doEscalate(); });
      buttons.appendChild(escalate);
    }
    if (!moves.length && !canEscalate) { say(T.noMoves, "hint"); }
  }

  function setBusy(busy) {
    $("move-buttons").querySelectorAll("button").forEach(function (b) { b.disabled = busy; });
  }

  function move(m) {
    var id = card.dataset.id;
    var body = new FormData();
    body.append("to", m.to);
    body.append("reason", $("action-reason").value.trim());
    body.append("version", card.dataset.version);
    if (!$("dispatch-extra").hidden && m.to === "dispatched") {
      body.append("department", $("action-department").value);
    }
    if (!$("extension-extra").hidden && (m.to === "extension_requested" || m.to === "dispatched")) {
      var amount = $("action-extend").value.trim();
      if (amount) {
        body.append("extend_amount", amount);
        body.append("extend_unit", $("action-extend-unit").value);
      }
    }
    if (!$("photo-extra").hidden) {
      Array.prototype.forEach.call($("action-photo").files || [], function (file) {
        body.append("photo", file);
      });
    }
    cardError.hidden = true;
    setBusy(true);
    say(T.saving, "busy");
    api(url("transition", id), { method: "POST", body: body,
                                 headers: { Accept: "application/json", "X-CSRFToken": csrfToken() } })
      .then(function (feature) {
        $("action-reason").value = "";
        $("action-photo").value = "";
        fillCard(feature);
        say(fmt(T.moved, { id: id, label: m.label }), "ok");
        refreshListQuietly();
      })
      .catch(function (error) {
        say("");
        if (error.status === 409) {
          openCase(id, false).then(function () { say(T.conflict, "warn"); });
          return;
        }
        showError(error.status === 403 ? T.forbidden : T.failed, error);
      })
      .then(function () { setBusy(false); });
  }

  function doEscalate() {
    var id = card.dataset.id;
    var body = new FormData();
    body.append("reason", $("action-reason").value.trim());
    setBusy(true);
    api(url("escalate", id), { method: "POST", body: body,
                               headers: { Accept: "application/json", "X-CSRFToken": csrfToken() } })
      .then(function (feature) {
        $("action-reason").value = "";
        fillCard(feature);
        say(fmt(T.moved, { id: id, label: T.escalate }), "ok");
      })
      .catch(function (error) { showError(error.status === 403 ? T.forbidden : T.failed, error); })
      .then(function () { setBusy(false); });
  }

  function refreshListQuietly() {
    var params = new URLSearchParams(Object.assign({ page_size: PAGE }, current.params));
    api(cfg.urls.cases + "?" + params.toString()).then(function (data) {
      list.replaceChildren();
      markers.clearLayers();
      (data.features || []).forEach(function (feature) {
        list.appendChild(listItem(feature));
        markerById[feature.id] = markerFor(feature).addTo(markers);
      });
      $("queue-summary").textContent = data.count ? fmt(T.count, { n: data.count }) : T.empty;
    }).catch(function () { /* the card already shows the result */ });
  }

  $("card-back").addEventListener("click", function () {
    card.hidden = true;
    queueBox.hidden = false;
    selected.clearLayers();
    currentCase = null;
  });
  var sheet = $("sheet"), handle = $("sheet-handle");
  handle.addEventListener("click", function () {
    var open = !sheet.classList.contains("expanded");
    sheet.classList.toggle("expanded", open);
    handle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  var wanted = new URLSearchParams(window.location.search).get("case");
  loadQueue(current).then(function () { if (wanted) { openCase(wanted, true); } });
})();
