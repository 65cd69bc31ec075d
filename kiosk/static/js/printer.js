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
