/* The counter (柜台兑换): waiting → household and cart → receipt → waiting.
 * Everything goes through the JSON API (/api/v1) with the session cookie and CSRF header. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var T = K.i18n();
  var $ = function (id) { return document.getElementById(id); };
  var root = $("counter");
  var doneSeconds = parseInt(root.getAttribute("data-done-seconds"), 10) || 10;
  var previewPrinter = root.getAttribute("data-printer") === "preview";

  var state = {
    screen: "waiting",
    card: null,          // the scanned payload, sent again with the redemption
    scan: null,          // POST /scan answer
    products: [],        // GET /products
    categories: [],
    tab: null,
    cart: [],            // [{product, quantity}]
    key: null,           // idempotency key of this cart
    uncertain: false,    // a submit whose outcome we do not know (network lost)
    submitting: false,
    redemption: null,
    receipt: null,
    countdown: null,
    busy: false
  };

  var keypad = new K.Keypad();
  // What a redemption spends under the supermarket's policy: "balance" or the period's "quota".
  var spendMode = "balance";
  // The policy's period and window kind, for the tiles' short words.
  var policyPeriod = "quarter";
  var windowKind = "always";
  // The cart survives a reload of the page (sessionStorage, this tab only); cleared on
  // confirm, cancel, logout and another household's card.
  var SAVED = "jifen.counter.cart";
  var restoring = null;
  var balanceAfterLabel = $("balance-after-label").textContent;

  /* ---------- screens ---------- */
  function show(screen) {
    state.screen = screen;
    root.setAttribute("data-state", screen);
    ["waiting", "shop", "receipt"].forEach(function (name) {
      $("screen-" + name).hidden = name !== screen;
    });
    // On the shop screen messages sit below the tiles, never over a tab or a tile.
    var banner = $("banner");
    if (screen === "shop") {
      $("shop-message").appendChild(banner);
    } else if (banner.parentNode !== document.body) {
      document.body.insertBefore(banner, document.querySelector(".main"));
    }
  }

  function reset() {
    forgetCart();
    stopCountdown();
    state.card = null; state.scan = null; state.cart = []; state.key = null;
    state.uncertain = false; state.submitting = false;
    state.redemption = null; state.receipt = null;
    scanner.forget();
    K.banner.hide();
    keypad.close();
    $("void-modal").hidden = true;
    show("waiting");
  }

  function error(message) {
    retryAction = null;
    K.banner.show(message || T.server_error, "error");
  }

  // A request that got no answer: say it is the network, and offer to try again.
  var retryAction = null;
  var closeLabel = $("banner-close").textContent;
  function failed(err, again) {
    if (err && err.network) {
      K.banner.show(T.network_error, "error");
      retryAction = again || null;
      $("banner-close").textContent = again ? T.retry : closeLabel;
      $("banner").setAttribute("data-kind", "network");
    } else {
      error(T.server_error);
      $("banner").setAttribute("data-kind", "server");
    }
  }
  $("banner-close").addEventListener("click", function () {
    var again = retryAction;
    retryAction = null;
    $("banner-close").textContent = closeLabel;
    if (again) { again(); }
  });
  var bannerHide = K.banner.hide;
  K.banner.hide = function () {
    retryAction = null;
    $("banner-close").textContent = closeLabel;
    $("banner").removeAttribute("data-kind");
    bannerHide();
  };

  function apiError(resp) {
    var e = resp && resp.data && resp.data.error;
    error(e && e.message ? e.message : T.server_error);
  }

  /* ---------- scanning ---------- */
  function onScan(code) {
    if (state.busy) { return; }
    if (!$("void-modal").hidden) { return; }
    if (keypad.isOpen()) { keypad.close(); }
    if (state.screen === "receipt") {
      if (K.isCardCode(code)) { reset(); openCard(code); }
      return;
    }
    if (K.isCardCode(code)) { openCard(code); return; }
    if (state.screen === "shop" && K.isBarcode(code)) { addByBarcode(code); return; }
    if (state.screen === "waiting" && K.isBarcode(code)) { error(T.scan_card_first); return; }
    openCard(code);  // not a known shape: the server says why the card is refused
  }

  function openCard(payload) {
    if (state.submitting || state.uncertain) { return; }
    state.busy = true;
    Promise.all([
      K.api("POST", "/api/v1/scan", { payload: payload }),
      K.api("GET", "/api/v1/products"),
      K.api("GET", "/api/v1/policy")
    ]).then(function (res) {
      var scan = res[0], products = res[1];
      if (res[2].ok && res[2].data.policy) {
        var policy = res[2].data.policy;
        spendMode = policy.spend || "balance";
        policyPeriod = policy.period || "quarter";
        windowKind = (policy.window && policy.window.kind) || "always";
      }
      if (!scan.ok) {
        // A saved cart whose card is refused now (revoked meanwhile) is dropped with it.
        if (restoring) { restoring = null; forgetCart(); }
        apiError(scan);
        return;
      }
      if (!products.ok) { apiError(products); return; }
      var same = state.scan && state.scan.household.id === scan.data.household.id;
      if (state.screen === "shop" && state.cart.length && !same) {
        // Another household's card while this cart is open: finish or cancel first.
        error(T.cart_busy);
        return;
      }
      K.banner.hide();
      state.card = payload;
      state.scan = scan.data;
      state.products = products.data.products.filter(function (p) { return p.active !== false; });
      state.categories = products.data.categories || [];
      if (same) {
        // Same household again: keep the cart, with the fresh prices and stock.
        state.cart.forEach(function (line) { line.product = findProduct(line.product.id) || line.product; });
      } else {
        state.cart = []; state.key = null; state.uncertain = false;
      }
      if (restoring && restoring.household === scan.data.household.id) {
        // The page was reloaded mid-cart: the same lines, the same key (a retry of an
        // uncertain submit must not redeem twice).
        restoring.lines.forEach(function (l) {
          var p = findProduct(l.product_id);
          if (p && l.quantity > 0) { state.cart.push({ product: p, quantity: l.quantity }); }
        });
        state.key = restoring.key || null;
        state.uncertain = !!restoring.uncertain && !!state.key;
      }
      restoring = null;
      renderHousehold();
      renderTabs();
      renderTiles();
      renderCart();
      saveCart();
      show("shop");
      if (state.uncertain) { failed({ network: true }, confirmCart); }
    }, function (err) {
      failed(err, function () { openCard(payload); });
    }).then(function () { state.busy = false; });
  }

  function addByBarcode(code) {
    if (state.uncertain || state.submitting) { return; }
    state.busy = true;
    K.api("GET", "/api/v1/products/barcode/" + encodeURIComponent(code)).then(function (resp) {
      if (!resp.ok) { apiError(resp); return; }
      var p = resp.data.product;
      var known = findProduct(p.id);
      if (known) { p = known; } else { state.products.push(p); }
      if (addToCart(p)) { K.banner.show(K.format(T.added, { name: p.name }), "info"); }
    }, function (err) {
      failed(err, function () { addByBarcode(code); });
    }).then(function () { state.busy = false; });
  }

  function findProduct(id) {
    for (var i = 0; i < state.products.length; i++) {
      if (state.products[i].id === id) { return state.products[i]; }
    }
    return null;
  }

  /* ---------- household ---------- */
  function renderHousehold() {
    var s = state.scan;
    $("hh-name").textContent = s.household.masked_name;
    $("hh-number").textContent = s.household.number;
    $("hh-village").textContent = s.household.village || "";
    $("hh-balance").textContent = s.account.balance;
    // 大同: a converted score's fraction below one point, carried to the next conversion.
    var carried = $("hh-carried");
    carried.hidden = !s.carried_points;
    carried.textContent = s.carried_points ? K.format(T.carried, { n: s.carried_points }) : "";
    var d = s.decision;
    var verdict = $("decision-verdict");
    verdict.textContent = d.may_redeem ? T.may_redeem : T.may_not_redeem;
    $("decision").className = "decision " + (d.may_redeem ? "decision-yes" : "decision-no");
    K.decisionFacts($("decision-facts"), d, T);
    K.decisionReasons($("decision-reasons"), d);
    // A refusal takes the cart's room: every reason, big, for the keeper to read aloud.
    document.querySelector(".shop-left").classList.toggle("refused", !d.may_redeem);
    $("screen-shop").classList.toggle("refused", !d.may_redeem);
  }

  /* ---------- goods ---------- */
  function categoryOf(p) { return p.category || T.other; }

  function renderTabs() {
    var names = [];
    state.categories.forEach(function (c) { names.push(c.name); });
    state.products.forEach(function (p) {
      if (names.indexOf(categoryOf(p)) < 0) { names.push(categoryOf(p)); }
    });
    names = names.filter(function (n) {
      return state.products.some(function (p) { return categoryOf(p) === n; });
    });
    if (names.indexOf(state.tab) < 0) { state.tab = names[0] || null; }
    var tabs = $("category-tabs");
    tabs.textContent = "";
    names.forEach(function (name) {
      var b = K.el("button", "tab" + (name === state.tab ? " active" : ""), name);
      b.type = "button";
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", name === state.tab ? "true" : "false");
      b.addEventListener("click", function () { state.tab = name; renderTabs(); renderTiles(); });
      tabs.appendChild(b);
    });
  }

  function inCart(id) {
    for (var i = 0; i < state.cart.length; i++) {
      if (state.cart[i].product.id === id) { return state.cart[i]; }
    }
    return null;
  }

  function tracksStock(p) { return p.kind !== "service"; }

  // What the rules decided for one unit of this product for this household (the scan's
  // "offers": what it is charged, whether it may be taken now and why not), or null.
  function offerOf(p) {
    var offers = (state.scan && state.scan.offers) || [];
    for (var i = 0; i < offers.length; i++) {
      if (offers[i].product_id === p.id) { return offers[i]; }
    }
    return null;
  }

  // What one unit costs at this counter, as the rules charge it (0 for 寨里's 长者食堂 meal).
  function priceOf(p) {
    var offer = offerOf(p);
    return offer ? offer.points : p.points_price;
  }

  // The rules' refusal of one unit of this product, when they refuse it.
  function offerRefusal(p) {
    var offer = offerOf(p);
    return offer && !offer.allowed ? (offer.reason || { code: "" }) : null;
  }

  // A restricted item the rules refuse this household (no one eligible, or the period's
  // limit used up): its short words.
  function restrictedWords(reason) {
    if (reason.code === "restricted_item") { return T.no_scope; }
    if (reason.code === "restricted_limit") {
      return K.format(T.no_limit, { period: policyPeriod === "month" ? T.month : T.quarter });
    }
    return "";
  }

  // Short words for what stops a household taking anything now, by the rules' reason code.
  var SHORT = {
    window_closed: function () { return windowKind === "last_market_day" ? T.no_window : T.no_window_months; },
    quota_exhausted: function () {
      return K.format(T.no_quota, { period: policyPeriod === "month" ? T.month : T.quarter });
    },
    no_points: function () { return T.no_points; },
    vetoed: function () { return T.no_vetoed; },
    disqualified: function () { return T.no_disqualified; },
    gate_not_met: function () { return T.no_gate; },
    no_tier: function () { return T.no_tier; },
    household_inactive: function () { return T.no_inactive; }
  };

  // Why this product cannot be added now, in a few words ("" when it can): the tile says it
  // before it is tapped. Whether it may be taken is the rules' own decision (the scan's
  // offers); only what this cart already spends is added here.
  function tileRefusal(p) {
    if (!state.scan) { return ""; }
    var d = state.scan.decision;
    var refused = offerRefusal(p);
    if (refused && (restrictedWords(refused) || !d.may_redeem)) {
      if (restrictedWords(refused)) { return restrictedWords(refused); }
      var first = (d.reasons || []).filter(function (r) { return r.blocking; })[0] || refused;
      return SHORT[first.code] ? SHORT[first.code]() : T.no_other;
    }
    var left = d.spendable - total();
    if (priceOf(p) > left) {
      var quotaBound = d.quota_left !== null && d.quota_left !== undefined &&
        (spendMode === "quota" || d.quota_left < state.scan.account.balance);
      return quotaBound ? T.no_quota_left : T.no_points;
    }
    return "";
  }

  // What the points left after this cart still buy: a few names, cheapest first.
  function stillBuys() {
    var names = state.products.filter(function (p) {
      return !(tracksStock(p) && p.stock_qty <= (inCart(p.id) ? inCart(p.id).quantity : 0)) && !tileRefusal(p);
    }).sort(function (a, b) { return priceOf(a) - priceOf(b); }).slice(0, 4).map(function (p) {
      return p.name + " " + (priceOf(p) === 0 ? T.free : priceOf(p) + T.points);
    });
    return names.length ? K.format(T.can_buy, { items: names.join(T.list_sep) }) : T.can_buy_none;
  }

  function renderTiles() {
    var box = $("product-tiles");
    box.textContent = "";
    var shown = state.products.filter(function (p) { return categoryOf(p) === state.tab; });
    if (!shown.length) { box.appendChild(K.el("p", "muted", T.not_found_tile)); }
    shown.forEach(function (p) {
      var line = inCart(p.id);
      var out = tracksStock(p) && p.stock_qty <= 0;
      var refusal = out ? "" : tileRefusal(p);
      var b = K.el("button", "tile" + (out ? " tile-out" : "") + (refusal ? " tile-no" : "") +
        (line ? " tile-in-cart" : ""));
      b.type = "button";
      b.setAttribute("data-product-id", p.id);
      b.disabled = out || state.uncertain || state.submitting;
      // A dimmed tile still answers a tap, with the whole reason and what the points do buy.
      b.appendChild(K.amountEl("span", "tile-name", p.name));
      b.appendChild(K.amountEl("span", "tile-price", priceOf(p) === 0 ? T.free : p.points_price + T.points));
      var stock = out ? T.out_of_stock
        : tracksStock(p) ? K.format(T.stock, { n: p.stock_qty, unit: p.unit || "" }) : T.service;
      b.appendChild(K.amountEl("span", refusal ? "tile-stock tile-reason" : "tile-stock", refusal || stock));
      if (line) { b.appendChild(K.el("span", "tile-badge", "×" + line.quantity)); }
      b.addEventListener("click", function () { addToCart(p); });
      box.appendChild(b);
    });
  }

  /* ---------- cart ---------- */
  function cartChanged() {
    state.key = null;  // a different cart is a different request
    renderCart();
    renderTiles();
    saveCart();
  }

  function saveCart() {
    if (!state.scan || !state.card) { return; }
    try {
      window.sessionStorage.setItem(SAVED, JSON.stringify({
        card: state.card,
        household: state.scan.household.id,
        key: state.key,
        uncertain: state.uncertain,
        lines: state.cart.map(function (l) { return { product_id: l.product.id, quantity: l.quantity }; })
      }));
    } catch (e) { /* storage full or disabled: the cart simply does not survive a reload */ }
  }

  function forgetCart() {
    try { window.sessionStorage.removeItem(SAVED); } catch (e) { /* nothing saved */ }
  }

  function addToCart(p) {
    if (state.uncertain || state.submitting) { return false; }
    var line = inCart(p.id);
    var have = line ? line.quantity : 0;
    if (tracksStock(p) && have + 1 > p.stock_qty) {
      error(p.stock_qty <= 0 ? p.name + " " + T.out_of_stock
        : p.name + " " + K.format(T.limit_stock, { n: p.stock_qty + (p.unit || "") }));
      return false;
    }
    // The rules' decision of one unit: a restricted item this household may not take now,
    // or nothing at all while the household may not redeem (a free item with nothing left to
    // spend may still be taken: the rules allow a cart that costs nothing).
    var refused = offerRefusal(p);
    if (refused && restrictedWords(refused)) {
      error(K.format(T.two_sentences, {
        first: K.format(T.name_reason, { name: p.name, reason: restrictedWords(refused) }),
        second: stillBuys() }));
      return false;
    }
    var decision = state.scan ? state.scan.decision : null;
    if (refused && decision && !decision.may_redeem) {
      var blocking = (decision.reasons || []).filter(function (r) { return r.blocking; });
      error(blocking.length ? blocking[0].message : (refused.message || T.may_not_redeem));
      return false;
    }
    // Refuse at the tap, not at confirm: the keeper sees at once that the points run out.
    var spendable = state.scan ? state.scan.decision.spendable : 0;
    var need = total() + priceOf(p);
    if (need > spendable) {
      error(K.format(T.two_sentences, {
        first: K.format(T.over_balance, { need: need, spendable: spendable, short: need - spendable }),
        second: stillBuys() }));
      return false;
    }
    if (line) { line.quantity += 1; } else { state.cart.push({ product: p, quantity: 1 }); }
    cartChanged();
    return true;
  }

  function changeQuantity(id, delta) {
    if (state.uncertain || state.submitting) { return; }
    var line = inCart(id);
    if (!line) { return; }
    if (delta > 0) { addToCart(line.product); return; }
    line.quantity += delta;
    if (line.quantity <= 0) {
      state.cart = state.cart.filter(function (l) { return l !== line; });
    }
    cartChanged();
  }

  function total() {
    return state.cart.reduce(function (sum, l) { return sum + l.quantity * priceOf(l.product); }, 0);
  }

  function renderCart() {
    var list = $("cart-lines");
    list.textContent = "";
    $("cart-empty").hidden = state.cart.length > 0;
    var locked = state.uncertain || state.submitting;
    state.cart.forEach(function (line) {
      var p = line.product;
      var li = K.el("li", "cart-line");
      li.setAttribute("data-product-id", p.id);
      var info = K.el("div", "cart-info");
      info.appendChild(K.amountEl("div", "cart-name", p.name));
      info.appendChild(K.el("div", "cart-price", line.quantity > 1
        ? priceOf(p) + T.points + "×" + line.quantity + "=" + (priceOf(p) * line.quantity) + T.points
        : priceOf(p) + T.points));
      li.appendChild(info);
      var minus = K.el("button", "qty-btn qty-minus", "−");
      minus.type = "button"; minus.disabled = locked;
      minus.setAttribute("aria-label", "−");
      minus.addEventListener("click", function () { changeQuantity(p.id, -1); });
      var qty = K.el("span", "qty", String(line.quantity));
      var plus = K.el("button", "qty-btn qty-plus", "+");
      plus.type = "button"; plus.disabled = locked;
      plus.setAttribute("aria-label", "+");
      plus.addEventListener("click", function () { changeQuantity(p.id, 1); });
      li.appendChild(minus); li.appendChild(qty); li.appendChild(plus);
      list.appendChild(li);
    });
    var t = total();
    // The refusal fills the cart's room only while the cart is empty (a free item may be in it).
    document.querySelector(".shop-left").classList.toggle(
      "refused", !!(state.scan && !state.scan.decision.may_redeem && state.cart.length === 0));
    var balance = state.scan ? state.scan.account.balance : 0;
    var spendable = state.scan ? state.scan.decision.spendable : 0;
    $("cart-total").textContent = t;
    var after = $("balance-after");
    // Under a quota-only policy (寨里) a redemption spends the period's quota, not the balance.
    var quotaOnly = spendMode === "quota" && state.scan && state.scan.decision.quota_left !== null;
    $("balance-after-label").textContent = quotaOnly ? T.quota_after : balanceAfterLabel;
    after.textContent = quotaOnly ? state.scan.decision.quota_left - t : balance - t;
    after.className = "big-number" + (t > spendable ? " negative" : "");
    var confirm = $("btn-confirm");
    confirm.disabled = state.submitting || state.cart.length === 0 || t > spendable;
    confirm.textContent = state.submitting ? T.submitting : (state.uncertain ? T.retry : T.confirm);
    $("btn-cancel").disabled = state.submitting;
  }

  /* ---------- confirm ---------- */
  function confirmCart() {
    if (state.submitting || !state.cart.length) { return; }
    if (!state.key) { state.key = K.newKey(); }
    state.submitting = true;
    renderCart(); renderTiles();
    saveCart();  // the key too: a reload now and a retry send the same request
    var body = {
      card: state.card,
      idempotency_key: state.key,
      lines: state.cart.map(function (l) { return { product_id: l.product.id, quantity: l.quantity }; })
    };
    K.api("POST", "/api/v1/redemptions", body).then(function (resp) {
      state.submitting = false;
      if (resp.ok) {
        state.uncertain = false;
        forgetCart();
        K.banner.hide();
        showReceipt(resp.data);
        return;
      }
      // A refusal: nothing was redeemed. The cart stays so the keeper can fix it.
      state.uncertain = false;
      state.key = null;
      renderCart(); renderTiles(); saveCart();
      apiError(resp);
    }, function (err) {
      state.submitting = false;
      // Lost connection or a server fault: the key is kept, so "重试" cannot redeem twice.
      state.uncertain = true;
      renderCart(); renderTiles(); saveCart();
      if (err && err.network) {
        failed(err, confirmCart);
      } else {
        error(T.server_error_retry);
        $("banner").setAttribute("data-kind", "server");
      }
    });
  }

  /* ---------- receipt ---------- */
  function showReceipt(data) {
    state.redemption = data.redemption;
    state.receipt = data.receipt;
    renderReceipt();
    show("receipt");
    startCountdown();
  }

  function renderReceipt() {
    var r = state.redemption, rc = state.receipt;
    var voided = r.status === "voided";
    $("done-title").textContent = voided ? T.void_title : $("done-title").getAttribute("data-ok") || $("done-title").textContent;
    $("receipt-no").textContent = r.receipt_no;
    // After a void the account may have moved on since; say what came back, not a balance.
    $("done-balance").textContent = voided ? r.total_points : r.balance_after;
    $("done-balance-label").textContent = voided ? T.points_returned : T.balance_after;
    $("receipt-text").textContent = rc ? rc.text : "";
    var status = $("print-status");
    var reprint = $("btn-reprint");
    if (voided) {
      status.textContent = T.voided;
      status.className = "print-status status-warn";
    } else if (!rc) {
      status.textContent = "";
    } else if (rc.status === "printed") {
      status.textContent = previewPrinter ? T.preview : T.printed;
      status.className = "print-status status-ok";
    } else if (rc.status === "failed") {
      status.textContent = K.format(T.print_failed, { error: rc.last_error || "" });
      status.className = "print-status status-bad";
    } else {
      status.textContent = T.print_queued;
      status.className = "print-status status-warn";
    }
    reprint.classList.toggle("btn-primary", !!rc && rc.status === "failed");
    $("btn-void").disabled = voided;
    $("counter").classList.toggle("is-voided", voided);
  }

  function startCountdown() {
    stopCountdown();
    // A failed print waits for the keeper; otherwise back to waiting by itself.
    if (state.receipt && state.receipt.status === "failed") { $("countdown").textContent = ""; return; }
    var left = doneSeconds;
    $("countdown").textContent = K.format(T.countdown, { n: left });
    state.countdown = window.setInterval(function () {
      left -= 1;
      if (left <= 0) { reset(); return; }
      $("countdown").textContent = K.format(T.countdown, { n: left });
    }, 1000);
  }

  function stopCountdown() {
    if (state.countdown) { window.clearInterval(state.countdown); state.countdown = null; }
    $("countdown").textContent = "";
  }

  function reprint() {
    if (!state.redemption || state.busy) { return; }
    stopCountdown();
    state.busy = true;
    $("btn-reprint").disabled = true;
    K.api("POST", "/api/v1/redemptions/" + state.redemption.id + "/reprint", {}).then(function (resp) {
      if (!resp.ok) { apiError(resp); return; }
      state.receipt = resp.data.receipt;
      renderReceipt();
      startCountdown();
    }, function (err) { failed(err, reprint); }).then(function () {
      state.busy = false;
      $("btn-reprint").disabled = false;
    });
  }

  var voidReason = null;
  function openVoid() {
    stopCountdown();
    voidReason = null;
    document.querySelectorAll("#void-reasons .reason").forEach(function (b) { b.classList.remove("selected"); });
    $("void-ok").disabled = true;
    $("void-modal").hidden = false;
  }

  function doVoid() {
    if (!voidReason || state.busy) { return; }
    state.busy = true;
    $("void-ok").disabled = true;
    K.api("POST", "/api/v1/redemptions/" + state.redemption.id + "/void", { reason: voidReason }).then(function (resp) {
      $("void-modal").hidden = true;
      if (!resp.ok) { apiError(resp); return; }
      state.redemption = resp.data.redemption;
      if (resp.data.receipt) { state.receipt = resp.data.receipt; }
      renderReceipt();
      startCountdown();
    }, function (err) { failed(err); }).then(function () { state.busy = false; });
  }

  /* ---------- wiring ---------- */
  var scanner = new K.WedgeScanner(onScan);
  // Camera and tablet scans arrive as Server-Sent Events (kiosk/web/scanner.py) and take the
  // same path as a USB scanner's. EventSource reconnects by itself when the stream ends.
  if (window.EventSource) {
    var scanEvents = new EventSource("/scanner/events");
    scanEvents.addEventListener("scan", function (e) {
      var data = null;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data && data.text) { onScan(K.normalizeCode(data.text)); }
    });
    // Whether camera and tablet scans can reach this page right now.
    scanEvents.addEventListener("open", function () { root.setAttribute("data-scan-events", "open"); });
    scanEvents.addEventListener("error", function () { root.setAttribute("data-scan-events", "closed"); });
  }
  $("done-title").setAttribute("data-ok", $("done-title").textContent);

  $("btn-type-card").addEventListener("click", function () {
    keypad.open({ title: T.card_title, hint: T.card_hint, maxLength: 20, onDone: function (v) {
      openCard(K.normalizeCode(v));
    } });
  });
  $("btn-type-barcode").addEventListener("click", function () {
    keypad.open({ title: T.barcode_title, hint: T.barcode_hint, maxLength: 14, onDone: function (v) {
      var code = K.normalizeCode(v);
      if (K.isCardCode(code)) { openCard(code); } else { addByBarcode(code); }
    } });
  });
  $("btn-cancel").addEventListener("click", function () { if (!state.submitting) { reset(); } });
  $("btn-confirm").addEventListener("click", confirmCart);
  $("btn-next").addEventListener("click", reset);
  $("btn-reprint").addEventListener("click", reprint);
  $("btn-void").addEventListener("click", openVoid);
  $("void-cancel").addEventListener("click", function () { $("void-modal").hidden = true; startCountdown(); });
  $("void-ok").addEventListener("click", doVoid);
  document.querySelectorAll("#void-reasons .reason").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll("#void-reasons .reason").forEach(function (x) { x.classList.remove("selected"); });
      b.classList.add("selected");
      voidReason = b.getAttribute("data-reason");
      $("void-ok").disabled = false;
    });
  });
  // Any touch on the receipt screen restarts its countdown, so it never vanishes mid-read.
  $("screen-receipt").addEventListener("pointerdown", function () {
    if (state.screen === "receipt" && state.countdown) { startCountdown(); }
  });

  var logout = $("logout");
  if (logout) { logout.form.addEventListener("submit", forgetCart); }

  window.jifenCounter = { state: state, reset: reset };
  show("waiting");
  // A reload mid-cart: the saved card is scanned again and its cart put back.
  try { restoring = JSON.parse(window.sessionStorage.getItem(SAVED) || "null"); } catch (e) { restoring = null; }
  if (restoring && restoring.card && restoring.lines) {
    openCard(restoring.card);
  } else {
    restoring = null;
  }
})();
