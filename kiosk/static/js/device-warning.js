/* The counter's small device warning (stale backups, a nearly full disk): shown when the page
 * is made, then asked again every few minutes, as the counter's page stays open for days.
 * The sentences come from the server (GET /device/warnings), already in the page's language. */
(function () {
  "use strict";

  var box = document.getElementById("device-warning-box");
  var text = document.getElementById("device-warning-text");
  if (!box || !text) { return; }
  var EVERY_MS = 5 * 60 * 1000;

  function show(warnings) {
    text.textContent = warnings.join("；");
    box.hidden = warnings.length === 0;
  }

  function ask() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && Array.isArray(body.warnings)) { show(body.warnings); } })
      .catch(function () { /* offline for a moment: keep what is shown, ask again later */ });
  }

  window.setInterval(ask, EVERY_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { ask(); }
  });
})();
