/* The notice pages: the print button of the A4 page, and the village hall's large screen,
   which pages through the full list every N seconds (body[data-seconds]) with the red list
   always on top, and after each full round reloads to show a newly published notice
   (only when the server answers, so a network hiccup never leaves an error on the TV). */
(function () {
  'use strict';

  var printButton = document.querySelector('[data-print]');
  if (printButton) {
    printButton.addEventListener('click', function () { window.print(); });
  }

  var screen = document.getElementById('screen');
  if (!screen) { return; }
  var pages = Array.prototype.slice.call(document.querySelectorAll('.nt-screen-page'));
  var seconds = parseInt(screen.getAttribute('data-seconds'), 10) || 15;
  var label = document.getElementById('page-no');
  var text = '{i} / {n}';
  var i18n = document.getElementById('screen-i18n');
  if (i18n) {
    try { text = JSON.parse(i18n.textContent).page || text; } catch (e) { /* keep the default */ }
  }
  var current = 0;

  // The server pages the list by a fixed number of rows; a row may be taller on the screen than
  // planned (寨里's member scores wrap), so fit the pages to the room the screen really has.
  function repaginate() {
    var list = document.querySelector('.nt-screen-list');
    if (!list || !pages.length) { return; }
    var first = pages[0];
    var template = first.cloneNode(true);
    template.querySelector('tbody').innerHTML = '';
    var rows = [];
    pages.forEach(function (page) {
      Array.prototype.forEach.call(page.querySelectorAll('tbody tr'), function (r) { rows.push(r); });
    });
    var body = first.querySelector('tbody');
    rows.forEach(function (r) { body.appendChild(r); });
    pages.slice(1).forEach(function (page) { page.parentNode.removeChild(page); });
    first.hidden = false;
    var style = window.getComputedStyle(list);
    var title = list.querySelector('h2');
    var room = list.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom) -
      (title ? title.getBoundingClientRect().height : 0) -
      first.querySelector('thead').getBoundingClientRect().height - 6;
    var groups = [[]];
    var used = 0;
    rows.forEach(function (r) {
      var h = r.getBoundingClientRect().height;
      if (groups[groups.length - 1].length && used + h > room) { groups.push([]); used = 0; }
      groups[groups.length - 1].push(r);
      used += h;
    });
    body.innerHTML = '';
    groups[0].forEach(function (r) { body.appendChild(r); });
    pages = [first];
    for (var g = 1; g < groups.length; g++) {
      var page = template.cloneNode(true);
      page.setAttribute('data-page', String(g + 1));
      var tbody = page.querySelector('tbody');
      groups[g].forEach(function (r) { tbody.appendChild(r); });
      list.appendChild(page);
      pages.push(page);
    }
    screen.setAttribute('data-pages', String(pages.length));
  }
  repaginate();
  var started = Date.now();
  // Look for a newer notice after a full round, and no more often than every five minutes.
  var REFRESH_MS = 5 * 60 * 1000;

  function show(index) {
    pages.forEach(function (page, i) { page.hidden = i !== index; });
    if (label) {
      label.textContent = text.replace('{i}', String(index + 1)).replace('{n}', String(pages.length));
    }
  }

  function refresh() {
    if (!window.fetch) { window.location.reload(); return; }
    window.fetch(window.location.href, { cache: 'no-store' }).then(function (response) {
      if (response.ok) { window.location.reload(); } else { started = Date.now(); }
    }).catch(function () { started = Date.now(); /* offline: keep showing what we have */ });
  }

  window.setInterval(function () {
    if (pages.length > 1) {
      current = (current + 1) % pages.length;
      show(current);
    }
    if (current === 0 && Date.now() - started >= REFRESH_MS) { refresh(); }
  }, seconds * 1000);
  show(0);
}());
