/* Shared kiosk helpers: the wedge-scanner catcher, the JSON API client, the on-screen keypad
 * and the message banner. Plain JavaScript, no build step, no network beyond this server. */
(function () {
  "use strict";

  var Kiosk = {};

  /* Full-width letters and digits (Ａ-Ｚ ａ-ｚ ０-９) to ASCII, then upper case; spaces and
   * dashes dropped. An IME in full-width mode or a scanner set to the wrong layout does this. */
  Kiosk.normalizeCode = function (text) {
    var s = String(text || "");
    if (s.normalize) { s = s.normalize("NFKC"); }
    s = s.replace(/[\uFF01-\uFF5E]/g, function (ch) {
      return String.fromCharCode(ch.charCodeAt(0) - 0xFEE0);
    });
    return s.replace(/[\s\u3000\-_.\u00B7]/g, "").toUpperCase();
  };

  Kiosk.isCardCode = function (code) {
    return /^JF\d{20}$/.test(code) || /^\d{20}$/.test(code);
  };

  Kiosk.isBarcode = function (code) {
    return /^\d{6,14}$/.test(code);
  };

  /* Catch what a USB keyboard-wedge scanner types: a burst of characters averaging less than
   * `gapMs` apart, ended by Enter. Listens on the document, so no input needs focus. A pause
   * longer than `breakMs` starts a new burst, so slow (human) typing never becomes a scan, while
   * one late event from a busy browser does not break a real scan. The same code again within
   * `repeatMs` is ignored; Enter is swallowed so a focused button is never pressed by a scan. */
  Kiosk.WedgeScanner = function (onScan, options) {
    options = options || {};
    var gapMs = options.gapMs || 50;
    var breakMs = options.breakMs || 150;
    var minLength = options.minLength || 6;
    var repeatMs = options.repeatMs || 1500;
    var buffer = "";
    var firstTime = 0;
    var lastTime = 0;
    var lastCode = "";
    var lastCodeTime = -Infinity;
    var enabled = true;

    function isTextField(el) {
      if (!el) { return false; }
      var tag = el.tagName;
      if (tag === "TEXTAREA" || el.isContentEditable) { return true; }
      return tag === "INPUT" && !/^(button|submit|checkbox|radio|hidden)$/i.test(el.type);
    }

    function onKeyDown(ev) {
      if (!enabled || ev.ctrlKey || ev.altKey || ev.metaKey) { return; }
      if (isTextField(ev.target)) { return; }
      var now = ev.timeStamp || performance.now();
      if (ev.key === "Enter") {
        ev.preventDefault();
        ev.stopPropagation();
        var chars = buffer.length;
        var averageGap = chars > 1 ? (now - firstTime) / chars : Infinity;
        var burst = chars >= minLength && now - lastTime <= breakMs && averageGap <= gapMs;
        var code = Kiosk.normalizeCode(buffer);
        buffer = "";
        lastTime = 0;
        if (!burst || code.length < minLength) { return; }
        if (code === lastCode && now - lastCodeTime < repeatMs) { return; }
        lastCode = code;
        lastCodeTime = now;
        onScan(code);
        return;
      }
      if (!ev.key || ev.key.length !== 1) { return; }  // Shift, Tab, F-keys, "Process"...
      if (!buffer || now - lastTime > breakMs) { buffer = ""; firstTime = now; }
      buffer += ev.key;
      lastTime = now;
      if (ev.key === " ") { ev.preventDefault(); }
    }

    document.addEventListener("keydown", onKeyDown, true);
    this.setEnabled = function (on) { enabled = on; buffer = ""; };
    this.forget = function () { lastCode = ""; lastCodeTime = -Infinity; };
  };

  Kiosk.csrfToken = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };

  /* Call a JSON endpoint. Resolves {ok, status, data}; a refusal from the server is ok=false
   * with data.error = {code, message}; a lost connection rejects with {network: true}. */
  Kiosk.api = function (method, url, body) {
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRFToken"] = Kiosk.csrfToken();
      init.body = JSON.stringify(body || {});
    }
    return fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = null; }
        if (data === null) {
          var err = new Error("bad response");
          // A page that is not JSON (a proxy's 502, a crash page) came from a server: only a
          // request that got no answer at all is a network failure.
          err.network = resp.status === 0;
          err.status = resp.status;
          throw err;
        }
        if (resp.status === 401 && data.error && data.error.code === "unauthorized") {
          window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
        }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function () {
      var err = new Error("network");
      err.network = true;
      throw err;
    });
  };

  /* A random idempotency key from the browser's CSPRNG (hex, 32 characters). */
  Kiosk.newKey = function () {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) {
      hex += ("0" + bytes[i].toString(16)).slice(-2);
    }
    return "ui-" + hex;
  };

  var bannerTimer = null;
  Kiosk.banner = {
    /* An error stays until tapped away; an info note fades by itself. */
    show: function (message, kind) {
      var el = document.getElementById("banner");
      kind = kind || "error";
      // "还差15分" never "还差15" above "分", however narrow the box.
      fillAmounts(document.getElementById("banner-text"), message);
      el.className = "banner banner-" + kind;
      el.hidden = false;
      if (bannerTimer) { window.clearTimeout(bannerTimer); bannerTimer = null; }
      if (kind === "info") { bannerTimer = window.setTimeout(Kiosk.banner.hide, 2500); }
    },
    hide: function () {
      if (bannerTimer) { window.clearTimeout(bannerTimer); bannerTimer = null; }
      document.getElementById("banner").hidden = true;
    }
  };

  Kiosk.format = function (template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, name) {
      return values[name] === undefined ? m : String(values[name]);
    });
  };

  Kiosk.i18n = function () {
    var el = document.getElementById("i18n");
    return el ? JSON.parse(el.textContent) : {};
  };

  Kiosk.el = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  };

  /* Like Kiosk.el, with each number and the unit written after it ("10支", "5kg", "50 pts",
   * "5 can") in a span that keeps them on one line: a narrow tile wraps a name, a price or a
   * stock around them, never between them ("铅笔10" above "支"). The text reads the same. */
  var AMOUNT = /\d+(?:\.\d+)?(?:[\u4e00-\u9fff]| ?[A-Za-z]+)/g;
  function fillAmounts(node, text) {
    var s = String(text === undefined || text === null ? "" : text);
    var at = 0;
    node.textContent = "";
    s.replace(AMOUNT, function (m, offset) {
      if (offset > at) { node.appendChild(document.createTextNode(s.slice(at, offset))); }
      node.appendChild(Kiosk.el("span", "amount", m));
      at = offset + m.length;
      return m;
    });
    if (at < s.length) { node.appendChild(document.createTextNode(s.slice(at))); }
    return node;
  }
  Kiosk.amountEl = function (tag, className, text) {
    return fillAmounts(Kiosk.el(tag, className), text);
  };

  /* The decision's facts as short chips: tier, quota left this period, next opening day
   * ("150 yuan" and "1 March" on one line). */
  Kiosk.decisionFacts = function (box, decision, T) {
    box.textContent = "";
    // tier_label is the tier in the page's language (tier is the rule set's word as stored).
    var tier = decision.tier_label || decision.tier;
    if (tier) { box.appendChild(Kiosk.el("span", "fact fact-tier", Kiosk.format(T.tier, { tier: tier }))); }
    if (decision.quota_left !== null && decision.quota_left !== undefined) {
      box.appendChild(Kiosk.amountEl("span", "fact fact-quota", Kiosk.format(T.quota_left, { n: decision.quota_left })));
    }
    if (decision.next_open) {
      var parts = String(decision.next_open).split("-");
      var day = Kiosk.format(T.month_day, { m: parseInt(parts[1], 10), d: parseInt(parts[2], 10) });
      box.appendChild(Kiosk.amountEl("span", "fact fact-next", Kiosk.format(T.next_open, { date: day })));
    }
  };

  /* Every reason of a decision, blocking ones first (each a sentence to read aloud). */
  Kiosk.decisionReasons = function (list, decision) {
    list.textContent = "";
    var reasons = (decision.reasons || []).slice();
    reasons.sort(function (a, b) { return (b.blocking ? 1 : 0) - (a.blocking ? 1 : 0); });
    reasons.forEach(function (r) {
      var li = Kiosk.el("li", r.blocking ? "reason-blocking" : "reason-info", r.message);
      li.setAttribute("data-code", r.code);
      list.appendChild(li);
    });
  };

  /* The on-screen numeric keypad modal. open({title, hint, maxLength, onDone}). */
  Kiosk.Keypad = function () {
    var modal = document.getElementById("keypad-modal");
    var display = document.getElementById("keypad-display");
    var value = "";
    var current = null;

    function render() {
      // Group digits in fours so a keeper can compare with the printed card.
      display.textContent = value.replace(/(\d{4})(?=\d)/g, "$1 ");
    }
    function close() {
      modal.hidden = true;
      current = null;
      if (Kiosk.onModalChange) { Kiosk.onModalChange(false); }
    }
    modal.querySelectorAll("#keypad-keys .key").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var key = btn.getAttribute("data-key");
        if (key === "clear") { value = ""; }
        else if (key === "back") { value = value.slice(0, -1); }
        else if (!current || value.length < current.maxLength) { value += key; }
        render();
      });
    });
    document.getElementById("keypad-cancel").addEventListener("click", close);
    document.getElementById("keypad-ok").addEventListener("click", function () {
      var done = current && current.onDone;
      var typed = value;
      close();
      if (done && typed) { done(typed); }
    });
    this.open = function (opts) {
      current = opts;
      value = "";
      document.getElementById("keypad-title").textContent = opts.title;
      document.getElementById("keypad-hint").textContent = opts.hint;
      render();
      modal.hidden = false;
      if (Kiosk.onModalChange) { Kiosk.onModalChange(true); }
    };
    this.close = close;
    this.isOpen = function () { return !modal.hidden; };
  };

  document.addEventListener("DOMContentLoaded", function () {
    var close = document.getElementById("banner-close");
    if (close) { close.addEventListener("click", Kiosk.banner.hide); }
  });

  window.Kiosk = Kiosk;
})();
