/* The login keypad: on-screen digits go into the PIN field; the field also takes a keyboard. */
(function () {
  "use strict";
  var input = document.getElementById("pin-input");
  var pad = document.getElementById("pin-keypad");
  var form = document.getElementById("pin-form");
  if (!input || !pad) { return; }
  var sent = false;
  pad.querySelectorAll(".key").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var key = btn.getAttribute("data-key");
      if (key === "clear") { input.value = ""; }
      else if (key === "back") { input.value = input.value.slice(0, -1); }
      else if (input.value.length < 8) { input.value += key; }
    });
  });
  form.addEventListener("submit", function (ev) {
    // Enter pressed twice, or a double tap, logs in once.
    if (sent || !input.value) { ev.preventDefault(); return; }
    sent = true;
    document.getElementById("pin-submit").disabled = true;
  });
  // The keypad answers from here on (a test, or a keeper's quick fingers, can wait for this).
  pad.setAttribute("data-ready", "");
})();
