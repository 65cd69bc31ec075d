/* Stocktake (盘点) count page: every scan (USB wedge scanner, phone camera, typed barcode) and
 * every + / − / set posts to the server, which adds under a lock; the lines are polled every
 * few seconds so what other people count shows up here too. Each action carries a key of its
 * own so a retried request is never counted twice. Plain JavaScript, no build step, no CDN. */
(function () {
  "use strict";

  /* The start form: ticking a category means "by category". */
  var startForm = document.getElementById("st-start-form");
  if (startForm) {
    startForm.querySelectorAll("input[name=category]").forEach(function (box) {
      box.addEventListener("change", function () {
        if (box.checked) { document.getElementById("st-scope-some").checked = true; }
      });
    });
  }

  var root = document.getElementById("st-count");
  if (!root) { return; }
  var K = window.Kiosk;
  var T = JSON.parse(document.getElementById("st-i18n").textContent);
  var scanUrl = root.dataset.scanUrl;
  var linesUrl = root.dataset.linesUrl;
  var frameUrl = root.dataset.frameUrl;
  var pollMs = parseInt(root.dataset.poll, 10) || 3000;
  var list = document.getElementById("st-lines");
  var last = document.getElementById("st-last");
  var filter = "all";
  var pending = 0;
  var keypad = new K.Keypad();

  function rows() { return Array.prototype.slice.call(list.querySelectorAll(".st-line")); }
  function rowById(id) { return list.querySelector('.st-line[data-line-id="' + id + '"]'); }

  function say(text, bad) {
    last.textContent = text;
    last.className = "st-last" + (bad ? " st-last-error" : "");
  }

  function showQty(row, qty) {
    var box = row.querySelector(".st-qty");
    box.textContent = "";
    if (qty === null || qty === undefined) {
      box.appendChild(K.el("span", "st-none", T.uncounted));
    } else {
      box.textContent = String(qty);
    }
    row.classList.toggle("st-uncounted", qty === null || qty === undefined);
    row.querySelector(".st-clear").hidden = qty === null || qty === undefined;
    row.dataset.counted = qty === null || qty === undefined ? "" : String(qty);
  }

  function refreshTotals() {
    var all = rows();
    var counted = all.filter(function (r) { return !r.classList.contains("st-uncounted"); }).length;
    document.getElementById("st-counted").textContent = counted;
    document.getElementById("st-total").textContent = all.length;
    var n = { all: all.length, counted: counted, uncounted: all.length - counted };
    document.querySelectorAll("#st-filter [data-n]").forEach(function (el) {
      el.textContent = n[el.getAttribute("data-n")];
    });
    applyFilter();
  }

  function applyFilter() {
    rows().forEach(function (r) {
      var uncounted = r.classList.contains("st-uncounted");
      r.hidden = (filter === "counted" && uncounted) || (filter === "uncounted" && !uncounted);
    });
  }

  /* Light a line up; bring it into view only for this page's own actions, so that other
   * people's counts arriving by polling never move the list under someone's finger. */
  function flashRow(row, scroll) {
    row.classList.add("st-flash-row");
    window.setTimeout(function () { row.classList.remove("st-flash-row"); }, 1200);
    if (scroll && !row.hidden && row.scrollIntoView) { row.scrollIntoView({ block: "nearest" }); }
  }

  function showBy(row, by, at) {
    row.querySelector(".st-by").textContent = by ? by + " " + at : "";
  }

  /* Post one counting action; resolves with the server's answer or shows why not. */
  function post(action) {
    action.key = action.key || K.newKey();
    pending += 1;
    return K.api("POST", scanUrl, action).then(function (res) {
      pending -= 1;
      if (!res.ok) {
        var msg = (res.data.error && res.data.error.message) || T.server_error;
        say(msg, true);
        K.banner.show(msg, "error");
        poll();  // the count may have moved on (submitted elsewhere): show what is true now
        return null;
      }
      var body = res.data;
      var row = rowById(body.line_id);
      if (row) {
        showQty(row, body.counted_qty);
        showBy(row, body.last_by, body.last_local);
        // Not for the camera: the preview would scroll away from the person holding the item.
        flashRow(row, action.device !== "camera");
      }
      if (body.counted_qty === null) {
        say(K.format(T.cleared, { name: body.name }));
      } else {
        say(K.format(T.counted_now, { name: body.name, n: body.counted_qty }));
      }
      refreshTotals();
      return body;
    }, function () {
      pending -= 1;
      say(T.network, true);
      K.banner.show(T.network, "error");
      return null;
    });
  }

  /* Poll the server for everyone's counts. */
  function poll() {
    if (pending > 0 || document.hidden) { return; }
    K.api("GET", linesUrl).then(function (res) {
      if (!res.ok || pending > 0) { return; }
      if (res.data.status !== "counting") {
        K.banner.show(T.not_counting, "error");
        window.setTimeout(function () { window.location.href = root.dataset.reportUrl; }, 1500);
        return;
      }
      res.data.lines.forEach(function (ln) {
        var row = rowById(ln.line_id);
        if (!row) { return; }
        var now = ln.counted_qty === null ? "" : String(ln.counted_qty);
        if (row.dataset.counted !== now) {
          showQty(row, ln.counted_qty);
          flashRow(row, false);
        }
        showBy(row, ln.last_by, ln.last_local);
      });
      refreshTotals();
    }, function () { /* offline for a moment: the next poll tries again */ });
  }

  rows().forEach(function (row) {
    var q = row.querySelector(".st-qty").textContent.trim();
    row.dataset.counted = row.classList.contains("st-uncounted") ? "" : q;
    var id = parseInt(row.dataset.lineId, 10);
    var name = row.querySelector(".st-name").textContent;
    row.querySelectorAll("form.st-form").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var kind = form.querySelector("input[name=kind]");
        kind = kind ? kind.value : "add";
        if (kind === "clear" && !window.confirm(K.format(T.confirm_clear, { name: name }))) { return; }
        var qty = form.querySelector("input[name=quantity]");
        var action = { line_id: id, kind: kind, device: "button" };
        if (kind === "add") { action.quantity = parseInt(qty.value, 10); }
        post(action);
      });
    });
    var set = row.querySelector(".st-set");
    set.hidden = false;
    set.addEventListener("click", function () {
      keypad.open({
        title: T.set_title,
        hint: K.format(T.set_hint, { name: name }),
        maxLength: 6,
        onDone: function (typed) {
          post({ line_id: id, kind: "set", quantity: parseInt(typed, 10), device: "button" });
        }
      });
    });
  });

  document.querySelectorAll("#st-filter .tab").forEach(function (tab) {
    tab.addEventListener("click", function () {
      filter = tab.getAttribute("data-filter");
      document.querySelectorAll("#st-filter .tab").forEach(function (t) {
        t.classList.toggle("active", t === tab);
        t.setAttribute("aria-selected", t === tab ? "true" : "false");
      });
      applyFilter();
    });
  });

  /* A barcode from any source: +1 on its line. */
  function scanCode(code, device) {
    return post({ barcode: code, kind: "add", quantity: 1, device: device });
  }

  var wedge = new K.WedgeScanner(function (code) {
    if (keypad.isOpen()) { return; }
    scanCode(code, "wedge");
  }, { repeatMs: 1 });  // the same barcode again is the next item on the shelf
  K.onModalChange = function (open) { wedge.setEnabled(!open); };

  var typedForm = document.getElementById("st-typed");
  var typedInput = document.getElementById("st-barcode");
  typedForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var code = K.normalizeCode(typedInput.value);
    if (!code) { typedInput.focus(); return; }
    scanCode(code, "typed").then(function (body) {
      if (body) { typedInput.value = ""; }
    });
  });

  var submitForm = document.getElementById("st-submit-form");
  submitForm.addEventListener("submit", function (ev) {
    var left = rows().filter(function (r) { return r.classList.contains("st-uncounted"); }).length;
    if (left && !window.confirm(K.format(T.confirm_submit, { n: left }))) { ev.preventDefault(); }
  });

  /* The phone's camera: frames are decoded on the server; a code counts once while it stays
   * in view, and again only after it has been out of view for a moment (the next item). */
  var camToggle = document.getElementById("st-camera-toggle");
  if (camToggle && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    camToggle.hidden = false;
    var camBox = document.getElementById("st-camera");
    var video = document.getElementById("st-video");
    var canvas = document.getElementById("st-canvas");
    var camStatus = document.getElementById("st-camera-status");
    var stream = null;
    var timer = null;
    var busy = false;
    var seen = {};
    var GONE_MS = 1500;

    var stop = function () {
      if (timer) { window.clearInterval(timer); timer = null; }
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      camBox.hidden = true;
      camToggle.textContent = T.camera_on;
    };
    var tick = function () {
      if (busy || video.readyState < 2) { return; }
      busy = true;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (!blob) { busy = false; return; }
        fetch(frameUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "image/jpeg", "Accept": "application/json", "X-CSRFToken": K.csrfToken() },
          body: blob
        }).then(function (resp) { return resp.json(); }).then(function (body) {
          var now = Date.now();
          (body.codes || []).forEach(function (c) {
            var code = K.normalizeCode(c.text);
            if (K.isCardCode(code)) { return; }
            var prev = seen[code] || 0;
            seen[code] = now;
            if (now - prev > GONE_MS) { scanCode(code, "camera"); }
          });
          if (body.error) { camStatus.textContent = body.error.message; }
        }).catch(function () {
          camStatus.textContent = T.network;
        }).then(function () { busy = false; });
      }, "image/jpeg", 0.8);
    };
    camToggle.addEventListener("click", function () {
      if (stream) { stop(); return; }
      navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: "environment", width: { ideal: 640 }, height: { ideal: 480 } }
      }).then(function (s) {
        stream = s;
        camBox.hidden = false;
        video.srcObject = s;
        // Chrome does not autoplay a video that was hidden when it got its stream: the first
        // frame would stay on screen (and be decoded) for ever. Start it explicitly.
        var playing = video.play();
        if (playing && playing.catch) { playing.catch(function () {}); }
        camStatus.textContent = T.camera_ready;
        camToggle.textContent = T.camera_off;
        timer = window.setInterval(tick, 300);
      }).catch(function () {
        camBox.hidden = false;
        camStatus.textContent = T.camera_denied;
      });
    });
  } else if (camToggle) {
    camToggle.hidden = true;
  }

  window.setInterval(poll, pollMs);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
})();
