/* The self-service screen's own report (群众自主申报): after a card is scanned, the household
 * may report a good deed — an award item, what was done, a photo — sent with the card to
 * POST /self/report (multipart, with its own idempotency key, so a double tap makes one). The
 * card is forgotten when the screen clears itself. */
(function () {
  "use strict";
  var root = document.getElementById("selfservice");
  var section = document.getElementById("self-report");
  if (!root || !section) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var form = $("self-report-form");
  var select = $("self-report-item");
  var reason = $("self-report-reason");
  var photo = $("self-report-photo");
  var message = $("self-report-message");
  var payload = null;
  var key = null;
  var loaded = false;
  var T = window.Kiosk.i18n();

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
  }

  function loadItems() {
    if (loaded) { return; }
    fetch(section.dataset.itemsUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (body) {
      select.textContent = "";
      body.items.forEach(function (it) {
        var o = document.createElement("option");
        o.value = String(it.id);
        o.textContent = window.Kiosk.format(T.report_item, { code: it.code, title: it.title, points: it.points });
        select.appendChild(o);
      });
      loaded = true;
    });
  }

  function reset() {
    form.reset();
    message.textContent = "";
    key = null;
    $("self-report-send").disabled = false;
  }

  function close() {
    section.hidden = true;
    if (payload) { $("self-result").hidden = false; }
  }

  root.addEventListener("jifen:card", function (ev) { payload = ev.detail; reset(); });
  // self.js clears the screen (done, idle): forget the card and the form.
  new MutationObserver(function () {
    if (root.getAttribute("data-state") === "waiting") { payload = null; reset(); section.hidden = true; }
  }).observe(root, { attributes: true, attributeFilter: ["data-state"] });

  $("btn-report").addEventListener("click", function () {
    if (!payload) { return; }
    loadItems();
    reset();
    $("self-result").hidden = true;
    section.hidden = false;
  });
  $("self-report-cancel").addEventListener("click", close);

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!payload) { return; }
    key = key || newKey();
    var fd = new FormData();
    fd.append("payload", payload);
    fd.append("standard_item_id", select.value);
    fd.append("reason", reason.value.trim());
    fd.append("idempotency_key", key);
    if (photo.files && photo.files[0]) { fd.append("photo", photo.files[0], photo.files[0].name); }
    var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
    $("self-report-send").disabled = true;
    fetch(section.dataset.reportUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
      body: fd
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok) {
        message.textContent = res.body.message;
        key = null;
      } else {
        message.textContent = (res.body.error && res.body.error.message) || String(res.body);
        $("self-report-send").disabled = false;
      }
    }).catch(function () {
      $("self-report-send").disabled = false;
    });
  });
})();
