/* Resident self-service: scan your card, see your own household only, cleared when idle. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var T = K.i18n();
  var $ = function (id) { return document.getElementById(id); };
  var root = $("selfservice");
  var idleSeconds = parseInt(root.getAttribute("data-idle-seconds"), 10) || 20;
  var GOODS_SHOWN = 12;
  var timer = null;
  var lastActivity = 0;
  var requestNo = 0;
  var keypad = new K.Keypad();

  function show(name) {
    root.setAttribute("data-state", name);
    $("self-waiting").hidden = name !== "waiting";
    $("self-result").hidden = name !== "result";
    $("btn-clear").hidden = name !== "result";
  }

  /* Wipe every trace of the last household from the page. */
  function clear() {
    requestNo += 1;  // an answer still on its way must not appear after a clear
    stopTimer();
    ["self-name", "self-number", "self-village", "self-balance", "self-carried", "self-verdict"].forEach(function (id) {
      $(id).textContent = "";
    });
    ["self-facts", "self-reasons", "self-goods", "self-history", "self-redemptions"].forEach(function (id) {
      $(id).textContent = "";
    });
    K.banner.hide();
    keypad.close();
    show("waiting");
  }

  function stopTimer() {
    if (timer) { window.clearInterval(timer); timer = null; }
    $("self-countdown").textContent = "";
  }

  function touch() { lastActivity = Date.now(); }

  function startTimer() {
    stopTimer();
    touch();
    timer = window.setInterval(function () {
      var left = Math.ceil(idleSeconds - (Date.now() - lastActivity) / 1000);
      if (left <= 0) { clear(); return; }
      $("self-countdown").textContent = K.format(T.countdown, { n: left });
    }, 250);
    $("self-countdown").textContent = K.format(T.countdown, { n: idleSeconds });
  }

  function lookUp(payload) {
    clear();
    var mine = requestNo;
    K.api("POST", "/self/scan", { payload: payload }).then(function (resp) {
      if (mine !== requestNo) { return; }
      if (!resp.ok) {
        var e = resp.data && resp.data.error;
        if (e && e.code === "csrf_failed") { window.location.reload(); return; }
        K.banner.show(e && e.message ? e.message : T.server_error, "error");
        return;
      }
      render(resp.data);
      show("result");
      startTimer();
      // The card, for the own-report form (selfreport.js); forgotten when the screen clears.
      root.dispatchEvent(new CustomEvent("jifen:card", { detail: payload }));
    }, function () {
      if (mine === requestNo) { K.banner.show(T.server_error, "error"); }
    });
  }

  function render(d) {
    $("self-name").textContent = d.household.masked_name;
    $("self-number").textContent = d.household.number;
    $("self-village").textContent = d.household.village || "";
    $("self-balance").textContent = d.account.balance;
    var carried = $("self-carried");
    carried.hidden = !d.carried_points;
    carried.textContent = d.carried_points ? K.format(T.carried, { n: d.carried_points }) : "";
    var dec = d.decision;
    $("self-verdict").textContent = dec.may_redeem ? T.may_redeem : T.may_not_redeem;
    $("self-decision").className = "decision " + (dec.may_redeem ? "decision-yes" : "decision-no");
    K.decisionFacts($("self-facts"), dec, T);
    K.decisionReasons($("self-reasons"), dec);

    var goods = d.goods.filter(function (g) { return g.available; });
    if (!goods.length) { $("self-goods").appendChild(K.el("li", "muted", T.none_goods)); }
    goods.slice(0, GOODS_SHOWN).forEach(function (g) {
      var li = K.el("li", "goods-item");
      li.appendChild(K.amountEl("span", "goods-name", g.name));
      // What the counter charges this household (the server's rules): the elders' canteen
      // meal is free to an eligible elder.
      li.appendChild(K.el("span", "goods-price", g.points === 0 ? T.free : g.points + T.points + "/" + g.unit));
      $("self-goods").appendChild(li);
    });
    if (goods.length > GOODS_SHOWN) {
      $("self-goods").appendChild(K.el("li", "muted", K.format(T.more_goods, { n: goods.length - GOODS_SHOWN })));
    }

    if (!d.history.length) {
      var tr0 = K.el("tr");
      var td0 = K.el("td", "muted", T.none_history);
      td0.colSpan = 4; tr0.appendChild(td0);
      $("self-history").appendChild(tr0);
    }
    d.history.forEach(function (h) {
      var tr = K.el("tr");
      tr.appendChild(K.el("td", "", h.when));
      var what = h.reason ? K.format(T.name_reason, { name: h.label, reason: h.reason }) : h.label;
      tr.appendChild(K.el("td", "", what + (h.place ? " · " + h.place : "")));
      tr.appendChild(K.el("td", "num " + (h.amount < 0 ? "minus" : "plus"), (h.amount > 0 ? "+" : "") + h.amount));
      tr.appendChild(K.el("td", "num", String(h.balance_after)));
      $("self-history").appendChild(tr);
    });

    if (!d.redemptions.length) { $("self-redemptions").appendChild(K.el("li", "muted", T.none_redemptions)); }
    d.redemptions.forEach(function (r) {
      var items = r.items.map(function (i) { return i.name + "×" + i.quantity; }).join(T.list_sep);
      var li = K.el("li", "redemption-item" + (r.voided ? " voided" : ""));
      li.appendChild(K.el("div", "", r.when + "  " + r.total_points + T.points + (r.voided ? T.voided : "")));
      li.appendChild(K.el("div", "muted", items));
      $("self-redemptions").appendChild(li);
    });
  }

  new K.WedgeScanner(function (code) { lookUp(code); });
  // Any touch, drag or scroll (of the page or of a list inside it: capture sees a scroll that
  // does not bubble) restarts the idle time; a mouse merely resting on the screen does not.
  ["pointerdown", "keydown", "wheel", "touchstart", "touchmove", "scroll"].forEach(function (type) {
    document.addEventListener(type, touch, { capture: true, passive: true });
  });
  document.addEventListener("pointermove", function (e) {
    if (e.pointerType !== "mouse" || e.buttons) { touch(); }
  }, { capture: true, passive: true });
  $("btn-clear").addEventListener("click", clear);
  $("btn-done").addEventListener("click", clear);
  $("btn-type-card").addEventListener("click", function () {
    keypad.open({ title: T.card_title, hint: T.card_hint, maxLength: 20, onDone: lookUp });
  });
  window.jifenSelf = { clear: clear };
  show("waiting");
})();
