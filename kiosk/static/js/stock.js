/* The stock pages: the stock-in form (scan or pick goods, quantity and unit cost, running total,
 * the points price each line leads to), the write-off form (a scan picks the goods) and the
 * document page. Plain JavaScript on top of common.js; the forms post normally (no JSON API).
 *
 * Money is handled as integer fen: a yuan amount typed as text is split at the point, never
 * parsed as a float. The lines being typed are kept in sessionStorage, so adding a new product
 * (a separate form) or an accidental reload loses nothing. */
(function () {
  "use strict";

  var Kiosk = window.Kiosk;

  function fmt(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (_m, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  /* "12", "12.5", "12.50", "１２．５" → 1250; anything else → null. */
  function parseFen(text) {
    var s = String(text || "");
    if (s.normalize) { s = s.normalize("NFKC"); }
    s = s.replace(/。/g, ".").replace(/元$/, "").trim();
    var m = /^(\d{1,7})(?:\.(\d{1,2}))?$/.exec(s);
    if (!m) { return null; }
    var cents = (m[2] || "");
    while (cents.length < 2) { cents += "0"; }
    return parseInt(m[1], 10) * 100 + parseInt(cents, 10);
  }

  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var cents = String(fen % 100);
    if (cents.length < 2) { cents = "0" + cents; }
    return sign + Math.floor(fen / 100) + "." + cents;
  }

  /* inventory.stock.moving_average: rounded half up, in integers. */
  function movingAverage(oldQty, oldCost, inQty, inCost) {
    if (oldQty <= 0) { return inCost; }
    var totalQty = oldQty + inQty;
    var total = oldQty * oldCost + inQty * inCost;
    return Math.floor((2 * total + totalQty) / (2 * totalQty));
  }

  /* kiosk.rules.Policy.points_price: ceil(cost × points-per-yuan / 100). */
  function pointsPrice(costFen, ppy) {
    if (costFen <= 0) { return 0; }
    return Math.ceil((costFen * ppy) / 100);
  }

  /* A scanner's burst typed into a text field (fast keys, then Enter): the field gets its value
   * back and the code goes to onScan. The WedgeScanner of common.js ignores text fields. */
  function catchBurstsIn(input, onScan) {
    var buffer = "", before = "", first = 0, last = 0;
    input.addEventListener("keydown", function (ev) {
      var now = ev.timeStamp || performance.now();
      if (ev.key === "Enter") {
        var chars = buffer.length;
        var fast = chars >= 6 && now - last <= 150 && (now - first) / chars <= 50;
        var code = Kiosk.normalizeCode(buffer);
        buffer = "";
        if (fast && /^\d{6,14}$/.test(code)) {
          ev.preventDefault();
          input.value = before;
          input.dispatchEvent(new Event("input", { bubbles: true }));
          onScan(code);
        }
        return;
      }
      if (!ev.key || ev.key.length !== 1) { return; }
      if (!buffer || now - last > 150) { buffer = ""; first = now; before = input.value; }
      buffer += ev.key;
      last = now;
    }, true);
  }

  // Stock-in ---------------------------------------------------------------------------------

  function stockIn(root) {
    var data = JSON.parse(document.getElementById("stock-data").textContent);
    var t = data.i18n;
    var ppy = data.points_per_yuan || 1;
    var storeKey = "jifen.stock-in.draft." + data.supermarket;
    var products = {};
    var byCode = {};
    data.products.forEach(function (p) {
      products[p.id] = p;
      if (p.barcode) { byCode[p.barcode] = p; }
      if (p.sku) { byCode[Kiosk.normalizeCode(p.sku)] = p; }
    });
    var form = document.getElementById("stock-in-form");
    var rowsEl = document.getElementById("line-rows");
    var listEl = document.getElementById("stock-products");
    var search = document.getElementById("stock-search");
    var note = document.getElementById("scan-note");
    var otherInput = document.getElementById("paid-from-other");
    var lines = [];  // {product_id, quantity, unit_cost (text)}

    function say(message, kind) {
      note.textContent = message;
      note.className = "stock-scan-note" + (kind ? " stock-scan-" + kind : "");
    }

    function save() {
      var state = {
        lines: lines,
        supplier: form.supplier.value,
        invoice_no: form.invoice_no.value,
        paid_from: (form.querySelector("input[name=paid_from]:checked") || {}).value || "",
        paid_from_other: otherInput.value,
        note: form.note.value
      };
      try { window.sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
    }

    function restore() {
      if (data.draft) {  // the server sent back what was posted (a refusal): that wins
        lines = data.draft.map(function (ln) {
          return { product_id: parseInt(ln.product_id, 10), quantity: ln.quantity, unit_cost: ln.unit_cost };
        }).filter(function (ln) { return products[ln.product_id]; });
        return;
      }
      var state = null;
      try { state = JSON.parse(window.sessionStorage.getItem(storeKey) || "null"); } catch (e) { state = null; }
      if (!state) { return; }
      lines = (state.lines || []).filter(function (ln) { return products[ln.product_id]; });
      form.supplier.value = state.supplier || "";
      form.invoice_no.value = state.invoice_no || "";
      form.note.value = state.note || "";
      otherInput.value = state.paid_from_other || "";
      var radio = form.querySelector("input[name=paid_from][value='" + (state.paid_from || "fund") + "']");
      if (radio) { radio.checked = true; }
    }

    function defaultCost(p) {
      return p.cost > 0 ? yuan(p.cost) : "";
    }

    function addProduct(p) {
      for (var i = lines.length - 1; i >= 0; i--) {
        if (lines[i].product_id === p.id) {
          var q = parseInt(lines[i].quantity, 10);
          lines[i].quantity = String((isNaN(q) ? 0 : q) + 1);
          render();
          say(fmt(t.more, { name: p.name }), "ok");
          flash(i);
          return;
        }
      }
      lines.push({ product_id: p.id, quantity: "1", unit_cost: defaultCost(p) });
      render();
      say(fmt(t.added, { name: p.name }), "ok");
      flash(lines.length - 1);
    }

    function flash(index) {
      var row = rowsEl.children[index];
      if (!row) { return; }
      row.classList.remove("stock-line-new");
      void row.offsetWidth;
      row.classList.add("stock-line-new");
      row.scrollIntoView({ block: "nearest" });
    }

    function onScan(code) {
      var p = byCode[code];
      if (p) { addProduct(p); return; }
      say(fmt(t.not_found, { code: code }), "bad");
      openNewProduct(code);
    }

    function openNewProduct(barcode) {
      var panel = document.getElementById("new-product");
      var toggle = document.getElementById("show-new-product");
      panel.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      if (barcode) { document.getElementById("np-barcode").value = barcode; }
      save();
    }

    function cell(tag, className, text) {
      var el = document.createElement(tag);
      if (className) { el.className = className; }
      if (text !== undefined) { el.textContent = text; }
      return el;
    }

    function hidden(name, value) {
      var el = document.createElement("input");
      el.type = "hidden";
      el.name = name;
      el.value = value;
      return el;
    }

    function render() {
      rowsEl.textContent = "";
      lines.forEach(function (ln, index) {
        var p = products[ln.product_id];
        var tr = document.createElement("tr");
        tr.className = "stock-line";
        tr.setAttribute("data-product-id", p.id);
        var name = cell("td", "stock-line-name");
        name.appendChild(cell("strong", "", p.name));
        name.appendChild(cell("small", "muted", fmt(t.stock, { n: p.stock, unit: p.unit }) + " · " + fmt(t.cost, { yuan: yuan(p.cost) })));
        name.appendChild(hidden("product_id", p.id));
        tr.appendChild(name);

        var qtyTd = cell("td", "stock-qty");
        var minus = cell("button", "btn btn-light qty-btn stock-minus", "−");
        minus.type = "button";
        minus.setAttribute("aria-label", t.less + " " + p.name);
        var qty = document.createElement("input");
        qty.type = "text";
        qty.name = "quantity";
        qty.className = "stock-qty-input";
        qty.inputMode = "numeric";
        qty.maxLength = 6;
        qty.value = ln.quantity;
        qty.setAttribute("aria-label", p.name);
        var plus = cell("button", "btn btn-light qty-btn stock-plus", "+");
        plus.type = "button";
        plus.setAttribute("aria-label", t.plus + " " + p.name);
        minus.addEventListener("click", function () {
          var q = parseInt(ln.quantity, 10);
          ln.quantity = String(Math.max(1, (isNaN(q) ? 1 : q) - 1));
          render();
        });
        plus.addEventListener("click", function () {
          var q = parseInt(ln.quantity, 10);
          ln.quantity = String((isNaN(q) ? 0 : q) + 1);
          render();
        });
        qty.addEventListener("input", function () { ln.quantity = qty.value.trim(); update(); });
        catchBurstsIn(qty, onScan);
        qtyTd.appendChild(minus);
        qtyTd.appendChild(qty);
        qtyTd.appendChild(plus);
        tr.appendChild(qtyTd);

        var costTd = cell("td", "stock-cost");
        var cost = document.createElement("input");
        cost.type = "text";
        cost.name = "unit_cost";
        cost.className = "stock-cost-input";
        cost.inputMode = "decimal";
        cost.maxLength = 10;
        cost.placeholder = "0.00";
        cost.value = ln.unit_cost;
        cost.setAttribute("aria-label", p.name);
        cost.addEventListener("input", function () { ln.unit_cost = cost.value; update(); });
        catchBurstsIn(cost, onScan);
        costTd.appendChild(cost);
        tr.appendChild(costTd);

        tr.appendChild(cell("td", "num stock-amount"));
        tr.appendChild(cell("td", "stock-points"));
        var delTd = cell("td", "");
        var del = cell("button", "btn btn-light stock-remove", "✕");
        del.type = "button";
        del.setAttribute("aria-label", t.remove + " " + p.name);
        del.addEventListener("click", function () {
          lines.splice(index, 1);
          render();
        });
        delTd.appendChild(del);
        tr.appendChild(delTd);
        rowsEl.appendChild(tr);
      });
      update();
    }

    /* Amounts, the running total and each line's points price, computed as the server will:
     * the lines of one product follow each other through the moving average. */
    function update() {
      var total = 0;
      var running = {};
      lines.forEach(function (ln, index) {
        var p = products[ln.product_id];
        var row = rowsEl.children[index];
        var q = /^\d+$/.test(String(ln.quantity).trim()) ? parseInt(ln.quantity, 10) : null;
        var fen = parseFen(ln.unit_cost);
        var costInput = row.querySelector(".stock-cost-input");
        costInput.classList.toggle("is-bad", ln.unit_cost !== "" && fen === null);
        row.querySelector(".stock-qty-input").classList.toggle("is-bad", q === null || q <= 0);
        var state = running[p.id] || { qty: p.stock, cost: p.cost };
        var pointsEl = row.querySelector(".stock-points");
        if (q && fen !== null) {
          total += q * fen;
          row.querySelector(".stock-amount").textContent = yuan(q * fen);
          var avg = movingAverage(state.qty, state.cost, q, fen);
          running[p.id] = { qty: state.qty + q, cost: avg };
          var now = pointsPrice(p.cost, ppy), next = pointsPrice(avg, ppy);
          pointsEl.textContent = next === now ? fmt(t.points_now, { n: now }) : now + " → " + next;
          pointsEl.classList.toggle("stock-points-up", next > now);
          pointsEl.classList.toggle("stock-points-down", next < now);
        } else {
          row.querySelector(".stock-amount").textContent = "—";
          pointsEl.textContent = fmt(t.points_now, { n: pointsPrice(p.cost, ppy) });
          pointsEl.classList.remove("stock-points-up", "stock-points-down");
        }
      });
      document.getElementById("stock-total").textContent = yuan(total);
      document.getElementById("stock-count").textContent = String(lines.length);
      document.getElementById("lines-empty").hidden = lines.length > 0;
      save();
    }

    function renderList() {
      var q = search.value.trim().toLowerCase();
      var code = Kiosk.normalizeCode(search.value);
      listEl.textContent = "";
      var shown = 0;
      data.products.forEach(function (p) {
        var hay = (p.name + " " + p.barcode + " " + p.sku + " " + p.category).toLowerCase();
        if (q && hay.indexOf(q) < 0 && (!code || (p.barcode || "").indexOf(code) < 0)) { return; }
        var li = document.createElement("li");
        var btn = cell("button", "stock-product");
        btn.type = "button";
        btn.setAttribute("data-product-id", p.id);
        btn.appendChild(cell("span", "stock-product-name", p.name));
        btn.appendChild(cell("span", "stock-product-meta",
          (p.category ? p.category + " · " : "") + fmt(t.stock, { n: p.stock, unit: p.unit })));
        btn.addEventListener("click", function () { addProduct(p); });
        li.appendChild(btn);
        listEl.appendChild(li);
        shown += 1;
      });
      if (!shown) { listEl.appendChild(cell("li", "muted stock-none", t.no_match)); }
    }

    search.addEventListener("input", renderList);
    search.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter") { return; }
      ev.preventDefault();
      var code = Kiosk.normalizeCode(search.value);
      if (!code) { return; }
      if (byCode[code]) {
        addProduct(byCode[code]);
        search.value = "";
        renderList();
        return;
      }
      var matches = listEl.querySelectorAll(".stock-product");
      if (matches.length === 1) {
        matches[0].click();
        search.value = "";
        renderList();
      } else if (/^\d{6,14}$/.test(code)) {
        onScan(code);
      }
    });

    ["supplier", "invoice_no", "note"].forEach(function (name) {
      form[name].addEventListener("input", save);
      catchBurstsIn(form[name], onScan);
    });
    catchBurstsIn(otherInput, onScan);
    /* Enter in a field never sends the stock-in (a scanner ends every code with Enter): the
     * keeper taps 确认入库. In the new-goods form, Enter after a scanned barcode moves on. */
    form.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && ev.target.tagName === "INPUT") { ev.preventDefault(); }
    });
    document.getElementById("new-product").addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter" || ev.target.tagName !== "INPUT") { return; }
      ev.preventDefault();
      if (ev.target.id === "np-barcode" && !document.getElementById("np-name").value.trim()) {
        document.getElementById("np-name").focus();
      }
    });
    otherInput.addEventListener("input", function () {
      document.getElementById("paid-other").checked = true;
      save();
    });
    form.querySelectorAll("input[name=paid_from]").forEach(function (r) {
      r.addEventListener("change", save);
    });
    document.getElementById("show-new-product").addEventListener("click", function () {
      var panel = document.getElementById("new-product");
      panel.hidden = !panel.hidden;
      this.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
      if (!panel.hidden) { document.getElementById("np-name").focus(); }
    });
    document.getElementById("new-product").addEventListener("submit", save);

    /* Checked here first so a slip is caught before the trip (the server checks it all again). */
    form.addEventListener("submit", function (ev) {
      var message = null;
      if (!lines.length) { message = t.empty; }
      for (var i = 0; !message && i < lines.length; i++) {
        if (!/^\d+$/.test(String(lines[i].quantity).trim()) || parseInt(lines[i].quantity, 10) <= 0) {
          message = fmt(t.bad_qty, { n: i + 1 });
        } else if (parseFen(lines[i].unit_cost) === null) {
          message = fmt(t.bad_line_cost, { n: i + 1 });
        }
      }
      var paid = form.querySelector("input[name=paid_from]:checked");
      if (!message && !paid) { message = t.need_paid_from; }
      if (!message && paid.value === "other" && !otherInput.value.trim()) { message = t.need_source; }
      if (message) {
        ev.preventDefault();
        Kiosk.banner.show(message);
        return;
      }
      document.getElementById("stock-submit").disabled = true;
    });

    new Kiosk.WedgeScanner(onScan);
    restore();
    var added = new URLSearchParams(window.location.search).get("added");
    if (added && products[parseInt(added, 10)]) {
      addProduct(products[parseInt(added, 10)]);
      window.history.replaceState(null, "", window.location.pathname);
    }
    render();
    renderList();
  }

  // Write-offs: a scan picks the goods --------------------------------------------------------

  function adjustForm() {
    var codes = JSON.parse(document.getElementById("adjust-barcodes").textContent);
    var select = document.getElementById("adjust-product");
    new Kiosk.WedgeScanner(function (code) {
      if (codes[code]) {
        select.value = String(codes[code]);
        document.getElementById("adjust-qty").focus();
      } else {
        Kiosk.banner.show(select.getAttribute("data-not-found").replace("{code}", code));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("stock-in");
    if (root && document.getElementById("stock-data")) { stockIn(root); }
    if (document.getElementById("adjust-form")) { adjustForm(); }
    var doc = document.getElementById("stock-document");
    if (doc && doc.getAttribute("data-clear-draft")) {
      try {
        window.sessionStorage.removeItem("jifen.stock-in.draft." + doc.getAttribute("data-clear-draft"));
      } catch (e) { /* private mode */ }
    }
  });
})();
