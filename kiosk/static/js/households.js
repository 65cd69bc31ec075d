/* Households search (户与积分卡): an on-screen keypad of letters and digits for a touchscreen,
 * the physical keyboard or a scanner in the same box, and results that follow every key.
 * The results are HTML rendered by the server (/households/results), so the page and this
 * script show the same list. Plain JavaScript, no build step. */
(function () {
  "use strict";

  var input = document.getElementById("hh-q");
  var results = document.getElementById("hh-results");
  var form = document.getElementById("hh-search-form");
  if (!input || !results || !form) { return; }

  var url = input.getAttribute("data-results-url");
  var timer = null;
  var seq = 0;       // the newest request; older answers arriving late are dropped
  var shown = input.value;
  var openWhenOne = false;

  function search(now) {
    if (timer) { window.clearTimeout(timer); timer = null; }
    var run = function () {
      var q = input.value;
      var mine = ++seq;
      results.setAttribute("aria-busy", "true");
      fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (resp) {
          if (resp.status === 401 || resp.redirected) { window.location.reload(); return null; }
          return resp.ok ? resp.text() : null;
        })
        .then(function (html) {
          if (html === null || mine !== seq) { return; }
          results.innerHTML = html;
          results.removeAttribute("aria-busy");
          shown = q;
          var params = q ? "?q=" + encodeURIComponent(q) : "";
          window.history.replaceState(null, "", window.location.pathname + params);
          if (openWhenOne) {
            openWhenOne = false;
            var links = results.querySelectorAll("a.hh-result");
            if (links.length === 1) { window.location.href = links[0].href; }
          }
        })
        .catch(function () {
          if (mine !== seq) { return; }
          results.removeAttribute("aria-busy");
          if (window.Kiosk && window.Kiosk.banner) {
            window.Kiosk.banner.show(document.documentElement.lang === "en"
              ? "Connection lost. Please try again." : "网络连接中断，请稍后再试。");
          }
        });
    };
    if (now) { run(); } else { timer = window.setTimeout(run, 150); }
  }

  input.addEventListener("input", function () { search(false); });

  // Enter searches at once and opens the household when exactly one is found (a scanned card).
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    openWhenOne = true;
    search(true);
  });

  function press(key) {
    var v = input.value;
    if (key === "back") {
      input.value = v.slice(0, -1);
    } else if (key === "clear") {
      input.value = "";
    } else if (key === "ime") {
      // The system keyboard (with its Chinese input method) for typing characters.
      var on = input.getAttribute("inputmode") === "none";
      input.setAttribute("inputmode", on ? "text" : "none");
      document.getElementById("hh-key-ime").setAttribute("aria-pressed", on ? "true" : "false");
      input.blur();
      input.focus({ preventScroll: true });
      return;
    } else {
      input.value = (v + key).slice(0, 50);
    }
    search(false);
  }

  var keypad = document.getElementById("hh-keypad");
  if (keypad) {
    // Keep the focus (and the caret) in the box: a tap on a key must not take it away.
    keypad.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
    keypad.addEventListener("click", function (ev) {
      var btn = ev.target.closest("button[data-key]");
      if (!btn) { return; }
      press(btn.getAttribute("data-key"));
      input.focus({ preventScroll: true });
    });
  }

  // A card scanned while the box is not focused still lands in it.
  if (window.Kiosk && window.Kiosk.WedgeScanner) {
    new window.Kiosk.WedgeScanner(function (code) {
      input.value = code;
      openWhenOne = true;
      search(true);
    });
  }

  // Back from a household with the browser's button: the box and list as they were.
  if (input.value !== shown) { search(true); }
  // The office tabs take half a small screen: bring the box, keypad and list into view.
  var area = document.getElementById("hh-search");
  if (area && area.getBoundingClientRect().bottom > window.innerHeight) {
    area.scrollIntoView({ block: "start" });
  }
  input.focus({ preventScroll: true });
  var end = input.value.length;
  try { input.setSelectionRange(end, end); } catch (e) { /* type=search may refuse */ }
})();
