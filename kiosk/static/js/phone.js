/* The phone page (手机记分, /m/): find a household (scan its card or search), record an award
 * or deduction with time, place, reason and up to four photos. Every record is first saved
 * in IndexedDB with its own idempotency key, then uploaded (multipart POST /api/v1/proposals)
 * whenever the phone is online; an answer 200/201 removes it. A record is never lost when the
 * page is closed and never made twice: a retry carries the same key. Plain JavaScript. */
(function () {
  "use strict";

  var root = document.getElementById("phone");
  if (!root) { return; }
  var data = root.dataset;
  var msg = document.getElementById("phone-messages").dataset;
  var maxPhotos = parseInt(data.maxPhotos, 10) || 4;
  var MAX_SIDE = 1600;
  var DB_NAME = "jifen-phone";
  var STORE = "outbox";
  var LIST_KEY = "jifen-phone-households";

  function $(id) { return document.getElementById(id); }
  var form = $("phone-form");
  var net = $("phone-net");
  var errorEl = $("phone-error");
  var search = $("phone-search");
  var results = $("phone-results");
  var item = $("phone-item");
  var amount = $("phone-amount");
  var when = $("phone-when");
  var place = $("phone-place");
  var reason = $("phone-reason");
  var photosInput = $("phone-photos");
  var thumbs = $("phone-thumbs");
  var waitingList = $("phone-waiting");
  var waitingCount = $("phone-waiting-count");
  var sentEl = $("phone-sent");

  var chosen = null;       // {id, number, name, group}
  var photos = [];         // resized JPEG blobs
  var geo = "";            // "lat,lon" when the recorder allowed it
  var households = [];
  var uploading = false;
  var sentCount = 0;

  // ---- the key: crypto.randomUUID where the page is a secure context, else random bytes ----
  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // ---- IndexedDB outbox ----
  var dbPromise = new Promise(function (resolve, reject) {
    var req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = function () {
      req.result.createObjectStore(STORE, { keyPath: "key" });
    };
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = function () { reject(req.error); };
  });

  function tx(mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var store = t.objectStore(STORE);
        var out = work(store);
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  function putRecord(rec) { return tx("readwrite", function (s) { s.put(rec); }); }
  function deleteRecord(key) { return tx("readwrite", function (s) { s.delete(key); }); }
  function allRecords() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.created < b.created ? -1 : 1; });
    });
  }

  // ---- what is waiting ----
  function render() {
    return allRecords().then(function (rows) {
      waitingCount.textContent = String(rows.length);
      waitingList.textContent = "";
      rows.forEach(function (rec) {
        var li = document.createElement("li");
        li.className = "phone-record" + (rec.error ? " phone-record-refused" : "");
        li.dataset.key = rec.key;
        var text = document.createElement("span");
        var pts = rec.body.amount !== null && rec.body.amount !== undefined ? rec.body.amount : rec.points;
        text.textContent = rec.label + " · " + (pts > 0 ? "+" : "") + pts + msg.points +
          " · " + msg.photoCount.replace("{n}", String(rec.photos.length)) + " · " +
          (rec.error ? msg.refused + "：" + rec.error : msg.waiting);
        li.appendChild(text);
        if (rec.error) {
          var del = document.createElement("button");
          del.type = "button";
          del.className = "btn btn-danger phone-delete";
          del.textContent = msg.delete;
          del.addEventListener("click", function () {
            if (window.confirm(msg.confirmDelete)) { deleteRecord(rec.key).then(render); }
          });
          li.appendChild(del);
        }
        waitingList.appendChild(li);
      });
      return rows;
    });
  }

  function showNet() {
    net.textContent = navigator.onLine ? msg.online : msg.offline;
    net.className = "phone-net " + (navigator.onLine ? "phone-online" : "phone-offline");
  }

  // ---- upload: one record at a time, oldest first ----
  function freshToken() {
    return fetch(data.tokenUrl, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401 || r.redirected) { throw new Error("login"); }
      if (!r.ok) { throw new Error("offline"); }
      return r.json();
    });
  }

  function send(rec, csrf) {
    var fd = new FormData();
    fd.append("proposal", JSON.stringify(rec.body));
    rec.photos.forEach(function (blob, n) { fd.append("photo", blob, "photo-" + (n + 1) + ".jpg"); });
    return fetch(data.proposalsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf, "Idempotency-Key": rec.key },
      body: fd
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        return { status: r.status, body: body };
      });
    });
  }

  function upload() {
    if (uploading || !navigator.onLine) { return Promise.resolve(); }
    uploading = true;
    return allRecords().then(function (rows) {
      var pending = rows.filter(function (r) { return !r.error; });
      if (!pending.length) { return null; }
      return freshToken().then(function (tok) {
        var chain = Promise.resolve();
        pending.forEach(function (rec) {
          chain = chain.then(function () {
            if (rec.userId !== tok.user_id) { return null; }  // another recorder's, on a shared phone
            return send(rec, tok.csrf).then(function (res) {
              if (res.status === 200 || res.status === 201) {
                sentCount += 1;
                return deleteRecord(rec.key);
              }
              if (res.status === 401) { throw new Error("login"); }
              if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
                rec.error = (res.body.error && res.body.error.message) || String(res.status);
                return putRecord(rec);
              }
              throw new Error("offline");  // 5xx, 408, 429: try again later
            });
          });
        });
        return chain;
      });
    }).catch(function (err) {
      if (err && err.message === "login") { sentEl.textContent = msg.login; }
    }).then(function () {
      uploading = false;
      if (sentCount) { sentEl.textContent = msg.sent.replace("{n}", String(sentCount)); }
      return render();
    });
  }

  // ---- the household list, kept for use without signal ----
  function loadHouseholds() {
    try { households = JSON.parse(localStorage.getItem(LIST_KEY) || "[]"); } catch (e) { households = []; }
    if (!navigator.onLine) { return; }
    fetch(data.householdsUrl, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (body && body.households) {
        households = body.households;
        try { localStorage.setItem(LIST_KEY, JSON.stringify(households)); } catch (e) { /* full */ }
        showResults();
      }
    }).catch(function () { /* offline: the kept list */ });
  }

  function matches(h, q) {
    q = q.toLowerCase().replace(/\s+/g, "");
    return h.number.toLowerCase().indexOf(q) >= 0 || h.name.indexOf(q) >= 0 ||
      h.key.replace(/\s+/g, "").indexOf(q) >= 0 || (" " + h.key).indexOf(" " + q) >= 0;
  }

  function showResults() {
    var q = search.value.trim();
    results.textContent = "";
    if (!q) { return; }
    if (!households.length) {
      var none = document.createElement("li");
      none.textContent = msg.noList;
      results.appendChild(none);
      return;
    }
    var found = households.filter(function (h) { return matches(h, q); }).slice(0, 8);
    if (!found.length) {
      var li = document.createElement("li");
      li.textContent = msg.noMatch;
      results.appendChild(li);
    }
    found.forEach(function (h) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-light phone-result";
      b.textContent = h.number + " " + h.name + (h.group ? "（" + h.group + "）" : "");
      b.addEventListener("click", function () { choose(h); });
      li.appendChild(b);
      results.appendChild(li);
    });
  }

  function choose(h) {
    chosen = h;
    $("phone-chosen-text").textContent = h.number + " " + h.name + (h.group ? "（" + h.group + "）" : "");
    $("phone-chosen").hidden = false;
    $("phone-find").hidden = true;
    if (!place.value && h.group) { place.value = h.group; }
    stopCamera();
  }

  $("phone-change").addEventListener("click", function () {
    chosen = null;
    $("phone-chosen").hidden = true;
    $("phone-find").hidden = false;
    search.value = "";
    showResults();
  });
  search.addEventListener("input", showResults);

  // ---- scanning: frames posted to the server's decoder, as the tablet page does ----
  var stream = null;
  var scanTimer = null;
  var scanBusy = false;
  var video = $("phone-video");
  var canvas = $("phone-canvas");
  var scanStatus = $("phone-scan-status");

  function stopCamera() {
    if (scanTimer) { window.clearInterval(scanTimer); scanTimer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    $("phone-camera").hidden = true;
  }

  function scanTick() {
    if (scanBusy || video.readyState < 2) { return; }
    scanBusy = true;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { scanBusy = false; return; }
      tokenOnce().then(function (csrf) {
        return fetch(data.scanUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "image/jpeg", "Accept": "application/json", "X-CSRFToken": csrf },
          body: blob
        });
      }).then(function (r) { return r.json(); }).then(function (body) {
        if (body.found) { choose(body.household); }
        else if (body.message) { scanStatus.textContent = body.message; }
        else if (body.error) { scanStatus.textContent = body.error.message; }
      }).catch(function () {
        scanStatus.textContent = msg.scanOffline;
      }).then(function () { scanBusy = false; });
    }, "image/jpeg", 0.8);
  }

  var scanToken = null;
  function tokenOnce() {
    if (scanToken) { return Promise.resolve(scanToken); }
    return freshToken().then(function (t) { scanToken = t.csrf; return scanToken; });
  }

  $("phone-scan").addEventListener("click", function () {
    if (!navigator.onLine) { scanStatus.textContent = msg.scanOffline; $("phone-camera").hidden = false; return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $("phone-camera").hidden = false;
      scanStatus.textContent = msg.cameraDenied;
      return;
    }
    $("phone-camera").hidden = false;
    scanStatus.textContent = msg.scanning;
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: "environment", width: { ideal: 640 }, height: { ideal: 480 } }
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      scanTimer = window.setInterval(scanTick, 300);
    }).catch(function () { scanStatus.textContent = msg.cameraDenied; });
  });
  $("phone-scan-stop").addEventListener("click", stopCamera);

  // ---- points, time, location ----
  function itemPoints() {
    var opt = item.options[item.selectedIndex];
    return opt && opt.dataset.points ? parseInt(opt.dataset.points, 10) : null;
  }
  item.addEventListener("change", function () {
    var p = itemPoints();
    amount.value = p === null ? "" : String(p);
  });
  function bump(by) {
    var v = parseInt(amount.value, 10) || 0;
    v += by;
    if (v === 0) { v += by; }
    amount.value = String(v);
  }
  $("phone-minus").addEventListener("click", function () { bump(-1); });
  $("phone-plus").addEventListener("click", function () { bump(1); });

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localNow() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function isoWithOffset(value) {
    // The phone's wall-clock time with its own offset, so the server knows the moment.
    var d = new Date(value);
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? "+" : "-";
    off = Math.abs(off);
    return value + ":00" + sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }
  when.value = localNow();

  $("phone-locate").addEventListener("change", function (ev) {
    var out = $("phone-location");
    geo = "";
    out.textContent = "";
    if (!ev.target.checked) { return; }
    if (!navigator.geolocation) { out.textContent = msg.noLocation; return; }
    out.textContent = msg.locating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      geo = pos.coords.latitude.toFixed(5) + "," + pos.coords.longitude.toFixed(5);
      out.textContent = geo;
    }, function () { out.textContent = msg.noLocation; }, { timeout: 15000, maximumAge: 60000 });
  });

  // ---- photos: resized on the phone to at most 1600 px, JPEG ----
  function resize(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var c = document.createElement("canvas");
        c.width = Math.max(1, Math.round(img.naturalWidth * scale));
        c.height = Math.max(1, Math.round(img.naturalHeight * scale));
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        c.toBlob(function (blob) { if (blob) { resolve(blob); } else { reject(new Error("photo")); } }, "image/jpeg", 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("photo")); };
      img.src = url;
    });
  }

  function showThumbs() {
    thumbs.textContent = "";
    photos.forEach(function (blob, n) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.src = URL.createObjectURL(blob);
      img.alt = String(n + 1);
      var del = document.createElement("button");
      del.type = "button";
      del.className = "btn btn-light phone-thumb-del";
      del.textContent = "×";
      del.setAttribute("aria-label", msg.delete);
      del.addEventListener("click", function () { photos.splice(n, 1); showThumbs(); });
      li.appendChild(img);
      li.appendChild(del);
      thumbs.appendChild(li);
    });
  }

  photosInput.addEventListener("change", function () {
    var files = Array.prototype.slice.call(photosInput.files || []);
    errorEl.textContent = "";
    if (photos.length + files.length > maxPhotos) {
      errorEl.textContent = msg.tooMany;
      files = files.slice(0, Math.max(0, maxPhotos - photos.length));
    }
    var chain = Promise.resolve();
    files.forEach(function (f) {
      chain = chain.then(function () { return resize(f); }).then(function (blob) {
        photos.push(blob);
      }, function () { errorEl.textContent = msg.badPhoto; });
    });
    chain.then(function () { photosInput.value = ""; showThumbs(); });
  });

  // ---- saving a record ----
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    errorEl.textContent = "";
    if (!chosen) { errorEl.textContent = msg.needHousehold; return; }
    var itemId = item.value ? parseInt(item.value, 10) : null;
    var pts = amount.value === "" ? null : parseInt(amount.value, 10);
    var noAmount = amount.value === "" && itemId === null;
    if (noAmount || (amount.value !== "" && (isNaN(pts) || pts === 0))) {
      errorEl.textContent = msg.needAmount;
      return;
    }
    var body = {
      household_id: chosen.id,
      standard_item_id: itemId,
      amount: pts,
      occurred_at: isoWithOffset(when.value || localNow()),
      place: place.value.trim(),
      location: geo,
      reason: reason.value.trim()
    };
    var rec = {
      key: newKey(),
      created: new Date().toISOString(),
      userId: parseInt(data.userId, 10),
      label: chosen.number + " " + chosen.name,
      points: pts === null ? itemPoints() : pts,
      body: body,
      photos: photos.slice(),
      error: null
    };
    body.idempotency_key = rec.key;
    $("phone-save").disabled = true;
    putRecord(rec).then(function () {
      sentEl.textContent = msg.saved;
      photos = [];
      showThumbs();
      reason.value = "";
      item.value = "";
      amount.value = "";
      when.value = localNow();
      $("phone-change").click();
      return render();
    }).then(upload).catch(function (err) {
      errorEl.textContent = String(err && err.message || err);
    }).then(function () { $("phone-save").disabled = false; });
  });

  // ---- logout: the page the worker keeps for use without signal carries this recorder's name
  // and token, so it is dropped, with the household list, (every jifen-phone cache's entry for the page; the assets stay,
  // and so do the records in IndexedDB, which only their own recorder uploads) before the
  // logout is posted. Done here rather than by a message to the worker: it needs no
  // controlling worker and the post waits for it. ----
  var logoutButton = $("logout");
  var logoutForm = logoutButton ? logoutButton.form : null;
  function dropKeptPage() {
    if (!window.caches) { return Promise.resolve(); }
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("jifen-phone-") === 0; })
        .map(function (n) { return caches.open(n).then(function (c) { return c.delete(data.scope); }); }));
    });
  }
  if (logoutForm) {
    logoutForm.addEventListener("submit", function (event) {
      event.preventDefault();
      logoutButton.disabled = true;
      // form.submit() fires no submit event; a failure to drop still logs out (the worker
      // drops the page at the next open with signal, which finds no session).
      // The village's household list (numbers and head names, kept for use without signal)
      // is the signed-in recorder's too: the next person on a shared phone signs in for theirs.
      try { localStorage.removeItem(LIST_KEY); } catch (e) { /* no storage */ }
      dropKeptPage().catch(function () { /* no cache storage */ }).then(function () { logoutForm.submit(); });
    });
  }

  // ---- start ----
  window.addEventListener("online", function () { showNet(); upload(); });
  window.addEventListener("offline", showNet);
  showNet();
  loadHouseholds();
  render().then(upload);
  window.setInterval(function () { upload(); }, 30000);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(data.swUrl, { scope: data.scope }).catch(function () { /* no SW: online only */ });
  }
})();
