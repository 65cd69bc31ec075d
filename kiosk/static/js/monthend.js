/* The month-end A4 page: its print button (the toolbar is hidden on paper). */
(function () {
  "use strict";

  var printButton = document.getElementById("me-print-now");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
})();
