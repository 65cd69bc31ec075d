/* The tablet scanner page: the browser's own camera (getUserMedia, 1280×720 asked), one JPEG
 * frame posted to /scanner/frame about every 300 ms, decoded on the server, which publishes
 * the codes to the counter's scan stream. A frame keeps the camera's aspect ratio (never
 * stretched to 640×480) and is scaled down only to data-max-side (1280 px) on its long side;
 * JPEG quality data-quality (0.7, chosen on the hard scan set, see docs/decoders.md).
 * Plain JavaScript, no build step, no CDN. */
(function () {
  "use strict";

  var root = document.getElementById("tablet");
  if (!root) { return; }
  var video = document.getElementById("tablet-video");
  var canvas = document.getElementById("tablet-canvas");
  var statusEl = document.getElementById("tablet-status");
  var list = document.getElementById("tablet-codes");
  var messages = document.getElementById("tablet-messages").dataset;
  var url = root.dataset.frameUrl;
  var interval = parseInt(root.dataset.interval, 10) || 300;
  var maxSide = parseInt(root.dataset.maxSide, 10) || 1280;
  var quality = parseFloat(root.dataset.quality) || 0.7;
  var sizeEl = document.getElementById("tablet-size");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var busy = false;

  function say(text) { statusEl.textContent = text; }

  function show(code) {
    var li = document.createElement("li");
    var isCard = /^JF\d{20}$/.test(code.text);
    li.textContent = (isCard ? messages.card : messages.product) + "：" + code.text;
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 5) { list.removeChild(list.lastChild); }
  }

  function post(blob) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "image/jpeg", "Accept": "application/json", "X-CSRFToken": csrf },
      body: blob
    }).then(function (resp) {
      return resp.json().then(function (body) {
        if (!resp.ok) { throw new Error((body.error && body.error.message) || messages.failed); }
        return body;
      });
    });
  }

  // The canvas takes the camera's own shape: the long side at most maxSide, never enlarged.
  function fitCanvas() {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { return false; }
    var scale = Math.min(1, maxSide / Math.max(w, h));
    var cw = Math.round(w * scale), ch = Math.round(h * scale);
    if (canvas.width !== cw || canvas.height !== ch) {
      canvas.width = cw;
      canvas.height = ch;
      sizeEl.textContent = sizeEl.dataset.label + w + "×" + h;
    }
    return true;
  }

  function tick() {
    if (busy || video.readyState < 2 || !fitCanvas()) { return; }
    busy = true;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { busy = false; return; }
      post(blob).then(function (body) {
        say(messages.ready);
        if (body.published) {
          body.codes.forEach(show);
        }
      }).catch(function (err) {
        say(err.message || messages.failed);
      }).then(function () { busy = false; });
    }, "image/jpeg", quality);
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say(messages.unsupported);
    return;
  }
  navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } }
  }).then(function (stream) {
    video.srcObject = stream;
    say(messages.ready);
    window.setInterval(tick, interval);
  }).catch(function () {
    say(messages.denied);
  });
})();
