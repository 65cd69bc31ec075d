/* The users page: a newly issued token is shown once, below the office tabs; bring it into view
   on small screens so the admin sees it without scrolling. */
(function () {
  "use strict";
  var shown = document.getElementById("new-token");
  if (shown && shown.scrollIntoView) {
    shown.scrollIntoView({ block: "start" });
  }
})();
