/* The error page: "返回上一页" goes back one step in the browser's history, as the browser's
 * own back button would. A link cannot say that without a script URL, which the
 * Content-Security-Policy refuses. */
(function () {
  "use strict";

  var back = document.getElementById("error-back");
  if (back) {
    back.addEventListener("click", function (ev) {
      ev.preventDefault();
      window.history.back();
    });
  }
})();
