/* Points intake and import pages: plain HTML forms; this script only helps.
 * - choosing a standard item shows its points in the amount field (still editable);
 * - the chosen file's name shows beside the big "选择文件" button;
 * - the import kind's hint follows the chosen kind;
 * - buttons with data-confirm ask first (committing an import, approving a whole batch);
 * - a submitted form's button is disabled so a double tap does not post twice. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  var item = $("in-item");
  var amount = $("in-amount");
  if (item && amount) {
    item.addEventListener("change", function () {
      var opt = item.options[item.selectedIndex];
      var pts = opt ? opt.getAttribute("data-points") : null;
      if (pts) {
        var n = parseInt(pts, 10);
        amount.value = n > 0 ? "+" + n : String(n);
      } else {
        amount.value = "";
      }
    });
  }

  var file = $("in-file");
  var fileName = $("in-file-name");
  if (file && fileName) {
    file.addEventListener("change", function () {
      var chosen = file.files && file.files.length ? file.files[0].name : "";
      fileName.textContent = chosen || fileName.getAttribute("data-empty");
      $("in-file-label").classList.toggle("chosen", !!chosen);
    });
  }

  document.querySelectorAll("input[name=kind]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      document.querySelectorAll(".in-kind-hint").forEach(function (p) {
        p.hidden = p.getAttribute("data-kind") !== radio.value;
      });
    });
  });

  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter || form.querySelector("button[type=submit]");
      var question = button && button.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      if (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  });
})();
