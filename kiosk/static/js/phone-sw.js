/* The phone page's service worker (scope /m/): keeps the page and its own assets so that the
 * page opens without signal. Pages are fetched from the network first (fresh standards and
 * token) and from the cache when there is none; the assets are served from the cache and
 * refreshed behind. Records are not kept here: the page keeps them in IndexedDB.
 * The kept page is a signed-in recorder's (name, token): only a page served to a session is
 * kept, and an open with signal that finds no session (a redirect to the login page, a 4xx)
 * drops it; the page drops it itself before its logout is posted. */
"use strict";

var CACHE = "jifen-phone-v1";
var PAGE = "/m/";
var ASSETS = [
  PAGE,
  "/m/manifest.webmanifest",
  "/m/icon.svg",
  "/static/css/kiosk.css",
  "/static/css/phone.css",
  "/static/js/phone.js"
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("jifen-phone-") === 0 && n !== CACHE; })
        .map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function kept(request) {
  var url = new URL(request.url);
  return url.origin === self.location.origin && ASSETS.indexOf(url.pathname) >= 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected) {
          var copy = response.clone();
          return caches.open(CACHE).then(function (cache) { return cache.put(PAGE, copy); })
            .catch(function () { /* full: the page still opens */ })
            .then(function () { return response; });
        }
        if (response.type === "opaqueredirect" || response.redirected ||
            (response.status >= 400 && response.status < 500)) {
          // No one is signed in here (logged out, on this phone or another kiosk; expired) or
          // no longer may record: the kept page is someone's who left, never shown again.
          return caches.open(CACHE).then(function (cache) { return cache.delete(PAGE); })
            .catch(function () { /* nothing kept */ })
            .then(function () { return response; });
        }
        return response;
      }).catch(function () {
        return caches.match(PAGE);
      })
    );
    return;
  }
  if (!kept(request)) { return; }
  event.respondWith(
    caches.match(url.pathname).then(function (hit) {
      var network = fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
        }
        return response;
      });
      return hit || network;
    })
  );
});
