/* The printer page (打印机): check the printer's state, print a test page, and resend the
 * receipts that did not print. Everything goes through the JSON API (/api/v1) with the session
 * cookie and the X-CSRFToken header; after a print the page reloads to show the list as it is. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var $ = function (id) { return document.getElementById(id); };
  var dataEl = $("printer-i18n");
  if (!dataEl) { return; }
  var T = JSON.parse(dataEl.textContent);

  function showStatus(status) {
    var box = $("printer-status");
    box.className = "printer-status status-" + status;
    box.setAttribute("data-status", status);
    $("printer-status-text").textContent = T.status[status] || status;
    $("printer-status-hint").textContent = T.hints[status] || "";
  }

  function failMessage(resp) {
    var e = resp && resp.data && resp.data.error;
    if (e && e.code === "csrf_failed") { window.location.reload(); }
    return e && e.message ? e.message : T.server_error;
  }

  /* Run one API call with the button disabled and showing `busy`; then(resp) on an answer. */
  function withButton(button, busy, call, then) {
    var label = button.textContent;
    button.disabled = true;
    button.textContent = busy;
    K.banner.hide();
    return call().then(then, function (err) {
      K.banner.show(err && err.network ? T.network_error : T.server_error, "error");
    }).then(function () {
      button.disabled = false;
      button.textContent = label;
    });
  }

  function reloadSoon() {
    window.setTimeout(function () { window.location.reload(); }, 1200);
  }

  var check = $("check-printer");
  if (check) {
    check.addEventListener("click", function () {
      withButton(check, T.checking, function () { return K.api("GET", "/api/v1/printer"); },
        function (resp) {
          if (resp.ok) { showStatus(resp.data.status); }
          else { K.banner.show(failMessage(resp), "error"); }
        });
    });
  }

  var testPage = $("print-test-page");
  if (testPage) {
    testPage.addEventListener("click", function () {
      withButton(testPage, T.printing, function () {
        return K.api("POST", "/api/v1/printer/test-page", {});
      }, function (resp) {
        if (!resp.ok) { K.banner.show(failMessage(resp), "error"); return; }
        var job = resp.data.job;
        if (job.status === "printed") {
          K.banner.show(T.test_printed, "info");
        } else {
          K.banner.show(K.format(T.test_failed, { error: job.last_error || "" }), "error");
        }
        reloadSoon();
      });
    });
  }

  var retry = $("retry-jobs");
  if (retry) {
    retry.addEventListener("click", function () {
      withButton(retry, T.printing, function () {
        return K.api("POST", "/api/v1/print-jobs/retry", {});
      }, function (resp) {
        if (!resp.ok) { K.banner.show(failMessage(resp), "error"); return; }
        var sent = resp.data.sent;
        var failed = sent.filter(function (job) { return job.status !== "printed"; });
        var printed = sent.length - failed.length;
        if (failed.length) {
          K.banner.show(K.format(T.retry_failed, { error: failed[0].last_error || "" }), "error");
        } else if (printed) {
          K.banner.show(K.format(T.retried, { n: printed }), "info");
        } else {
          K.banner.show(T.nothing_sent, "info");
        }
        reloadSoon();
      });
    });
  }
})();

/* The printer settings form (admins): only the connection fields of the chosen type are shown;
 * saving PUTs /api/v1/printer and shows the server's Chinese message on the field it names. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var form = document.getElementById("printer-form");
  var dataEl = document.getElementById("printer-i18n");
  if (!form || !dataEl) { return; }
  var T = JSON.parse(dataEl.textContent);
  var current = T.current || {};
  var typeSelect = form.elements.type;
  var errorBox = document.getElementById("printer-form-error");
  var TYPE_FIELDS = {
    preview: [], usb: ["vendor_id", "product_id"], serial: ["device", "baudrate"],
    network: ["host", "port"], file: ["device"], cups: ["name"]
  };
  // Settings the form does not show are kept as they are (set in the instance file by hand).
  var KEPT = { charset: true, rare_chars: true };

  function showFields() {
    var kind = typeSelect.value;
    Array.prototype.forEach.call(form.querySelectorAll("[data-for]"), function (el) {
      el.hidden = el.getAttribute("data-for").split(" ").indexOf(kind) < 0;
    });
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function showError(message, field) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    var input = field && form.elements[field];
    if (input && input.focus) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  /* A number when the text is one, else the text itself (so the server names the field). */
  function numberOr(text) {
    text = String(text).trim();
    return /^\d+$/.test(text) ? parseInt(text, 10) : text;
  }

  function readForm() {
    var kind = typeSelect.value;
    var settings = {
      type: kind,
      paper_mm: numberOr(form.elements.paper_mm.value),
      mode: form.elements.mode.value,
      profile: form.elements.profile.value,
      native_qr: form.elements.native_qr.checked
    };
    TYPE_FIELDS[kind].forEach(function (name) {
      var value = form.elements[name].value;
      settings[name] = (name === "port" || name === "baudrate") ? numberOr(value) : value.trim();
    });
    if (kind === "network" && current.type === "network" && current.timeout !== undefined) {
      settings.timeout = current.timeout;
    }
    Object.keys(KEPT).forEach(function (name) {
      if (current[name] !== undefined) { settings[name] = current[name]; }
    });
    return settings;
  }

  typeSelect.addEventListener("change", function () { clearError(); showFields(); });
  showFields();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("save-printer");
    var label = button.textContent;
    clearError();
    K.banner.hide();
    button.disabled = true;
    button.textContent = T.saving;
    K.api("PUT", "/api/v1/printer", { settings: readForm() }).then(function (resp) {
      if (resp.ok) {
        K.banner.show(T.saved, "info");
        window.setTimeout(function () { window.location.reload(); }, 1000);
        return;
      }
      var e = resp.data && resp.data.error;
      if (e && e.code === "csrf_failed") { window.location.reload(); return; }
      var field = e && e.details && e.details.field;
      showError(e && e.message ? e.message : T.server_error, field);
    }, function (err) {
      showError(err && err.network ? T.network_error : T.server_error);
    }).then(function () {
      button.disabled = false;
      button.textContent = label;
    });
  });
})();
