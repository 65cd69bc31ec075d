/* The donations pages: goods rows (add a row, pick by scanning a barcode, suggest the current
   cost as the assessed value), reason buttons that fill the reversal reason, and printing the
   public notice. The forms work without this script; it only saves taps. */
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  var i18n = {};
  var i18nEl = document.getElementById("fund-i18n");
  if (i18nEl) { i18n = JSON.parse(i18nEl.textContent); }
  function say(key, values) {
    var text = i18n[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  }

  // ---- goods rows
  var rows = document.getElementById("goods-rows");
  var products = {};
  var dataEl = document.getElementById("product-data");
  if (dataEl) { products = JSON.parse(dataEl.textContent); }

  function suggestCost(row) {
    var select = $(".goods-product", row);
    var value = $(".goods-value", row);
    var info = products[select.value];
    if (info && !value.value && info.cost !== "0.00") { value.value = info.cost; }
  }

  function bindRow(row) {
    $(".goods-product", row).addEventListener("change", function () { suggestCost(row); });
  }

  function addRow() {
    var last = rows.querySelector("tr:last-child");
    var row = last.cloneNode(true);
    $(".goods-product", row).value = "";
    $all("input", row).forEach(function (input) { input.value = ""; });
    row.classList.remove("is-scanned");
    rows.appendChild(row);
    bindRow(row);
    return row;
  }

  function emptyRow() {
    var found = null;
    $all("tr", rows).some(function (row) {
      if (!$(".goods-product", row).value) { found = row; return true; }
      return false;
    });
    return found || addRow();
  }

  function onScan(code) {
    var note = document.getElementById("scan-note");
    var id = Object.keys(products).filter(function (k) { return products[k].barcode === code; })[0];
    if (!id) {
      note.textContent = say("unknown_code", { code: code });
      note.classList.add("is-bad");
      return;
    }
    // The same goods scanned again adds one more to its row.
    var row = $all("tr", rows).filter(function (r) { return $(".goods-product", r).value === id; })[0];
    if (row) {
      var qty = $(".goods-qty", row);
      qty.value = String((parseInt(qty.value, 10) || 0) + 1);
    } else {
      row = emptyRow();
      $(".goods-product", row).value = id;
      $(".goods-qty", row).value = "1";
      suggestCost(row);
    }
    $all("tr", rows).forEach(function (r) { r.classList.toggle("is-scanned", r === row); });
    note.classList.remove("is-bad");
    var select = $(".goods-product", row);
    note.textContent = say("scanned", { name: select.options[select.selectedIndex].text });
  }

  if (rows) {
    $all("tr", rows).forEach(bindRow);
    document.getElementById("add-row").addEventListener("click", function () {
      var row = addRow();
      $(".goods-product", row).focus();
    });
    if (window.Kiosk && window.Kiosk.WedgeScanner) { new window.Kiosk.WedgeScanner(onScan); }
  }

  // ---- reversal reasons
  $all("[data-reason]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById("reverse-reason");
      input.value = button.getAttribute("data-reason");
      input.focus();
    });
  });

  // ---- the public notice
  var printButton = document.getElementById("print-page");
  if (printButton) { printButton.addEventListener("click", function () { window.print(); }); }

  // ---- a form is sent once: a second tap while the page loads would record twice
  $all("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      $all("button[type=submit]", form).forEach(function (b) { b.disabled = true; });
    });
  });
})();
