"""Camera and tablet scanning for the counter (扫码): SSE events, MJPEG preview, frame upload.

- ``GET /scanner/events`` — Server-Sent Events: every scan for the keeper's supermarket
  (``event: scan``, JSON data with the frame's time and the decoder), a heartbeat comment
  every ``JIFEN_SSE_HEARTBEAT`` seconds, and the stream ends after ``JIFEN_SSE_MAX_SECONDS``
  (EventSource reconnects by itself). A stream holds a server thread while it is open, so
  ``jifen serve`` adds ``JIFEN_SSE_MAX_STREAMS`` threads for them to the request threads
  (:func:`serve_options`), a page that closes frees its thread at once (waitress tells the
  stream within ``SSE_POLL`` seconds), and a stream over the limit ends the oldest one.
- ``GET /scanner/preview.mjpg`` — the camera's latest frame as MJPEG, for holding the card.
- ``POST /scanner/frame`` — a tablet posts a JPEG; it is decoded here and its codes published.
- ``GET /scanner/tablet`` — the tablet page that posts its camera's frames.
- ``GET /scanner/status`` — the camera (asked-for and delivered size and frame rate), the
  decoder and the open streams, as JSON.

The camera (``JIFEN_CAMERA = {"source": 0, "size": "1280x720"}``; also ``fps``, ``decoder``,
``interval``, ``dedup_seconds``) opens only in a process that serves requests: ``jifen serve``
starts it before it listens, any other server on its first request. ``jifen init``,
``demo`` or ``check`` make the app and never touch the webcam, and neither does the Werkzeug
reloader's watching parent. The objects live in ``app.extensions["jifen_scanner"]``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.sansio.app import App
from werkzeug.wrappers import Response

from hardware import decoders
from hardware.camera import (
    DEFAULT_CAPTURE_SIZE,
    Camera,
    Deduper,
    ScanBus,
    ScanEvent,
    ScanWorker,
    Subscription,
    parse_size,
    prepare,
)
from kiosk import parsing
from kiosk.authn import current_supermarket, current_user, require
from kiosk.errors import NotFound, TooLarge
from kiosk.messages import _
from kiosk.web.guards import body_limit

if TYPE_CHECKING:
    import numpy as np

# OpenCV and NumPy load on first use (a posted frame, the preview), not at start-up: the
# camera thread imports them itself, off the path to the first answer.

logger = logging.getLogger(__name__)

bp = Blueprint("scanner", __name__, url_prefix="/scanner")

MAX_FRAME_BYTES = 4 * 1024 * 1024
# A frame's request: the frame and a multipart envelope around it.
MAX_FRAME_REQUEST_BYTES = MAX_FRAME_BYTES + 64 * 1024
# Pixels a posted frame may declare, checked in its header before decoding (a 279 kB PNG can
# declare 16000×16000, 256 MB decoded); 4096×4096 is more than any camera sends.
MAX_FRAME_PIXELS = 4096 * 4096
# Tablets and phones send up to 1280 px on the long side; a posted frame is decoded at its own
# size (hardware.camera.prepare scales only frames over 1920 px, never enlarges).

SSE_POLL = 0.25  # seconds between checks that the page of a stream is still there
DEFAULT_SSE_STREAMS = 16  # open scanner pages one kiosk serves besides its request threads

# One camera per source per process, whatever number of apps the process makes.
_PROCESS_LOCK = threading.Lock()
_PROCESS_CAMERAS: dict[str, tuple[Camera, ScanWorker, ScanBus]] = {}


@dataclass
class ScannerHub:
    """What the scanner pages share: the bus, the optional camera and its worker."""

    bus: ScanBus
    decoder: str | None = None
    dedup_seconds: float = 3.0
    camera: Camera | None = None
    worker: ScanWorker | None = None
    max_streams: int = DEFAULT_SSE_STREAMS
    camera_checked: bool = False  # start_camera ran for this app (started or not)
    _dedupers: dict[int | None, Deduper] = field(default_factory=dict)
    _streams: list[Subscription] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open_stream(self, channel: int | None) -> Subscription:
        """A subscription for one event stream; over ``max_streams`` the oldest stream ends."""
        sub = self.bus.subscribe(channel)
        with self._lock:
            self._streams = [s for s in self._streams if not s.closed]
            self._streams.append(sub)
            evicted = self._streams[: max(0, len(self._streams) - self.max_streams)]
        for old in evicted:
            logger.info("more than %d scan streams: ending the oldest", self.max_streams)
            old.evicted = True
            old.close()
        return sub

    @property
    def open_streams(self) -> int:
        """Event streams open now."""
        with self._lock:
            return sum(1 for s in self._streams if not s.closed)

    def deduper(self, channel: int | None) -> Deduper:
        """The repeat filter of one supermarket's tablet frames."""
        with self._lock:
            if channel not in self._dedupers:
                self._dedupers[channel] = Deduper(self.dedup_seconds)
            return self._dedupers[channel]


def _in_reloader_parent(app: Flask) -> bool:
    # `flask run --debug` loads the app in the watching parent too; only the child that
    # Werkzeug marks with WERKZEUG_RUN_MAIN serves requests.
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return False
    return os.environ.get("FLASK_RUN_FROM_CLI") == "true" and bool(
        app.config.get("JIFEN_CAMERA_RELOADER", app.debug)
    )


def camera_size(app: App) -> tuple[int, int]:
    """The capture size asked of the camera: ``JIFEN_CAMERA["size"]``, else
    ``JIFEN_CAMERA_SIZE``, else 1280×720; ValueError on a malformed value."""
    config = app.config.get("JIFEN_CAMERA") or {}
    value = config.get("size") or app.config.get("JIFEN_CAMERA_SIZE")
    return parse_size(value) or DEFAULT_CAPTURE_SIZE


def start_camera(app: Flask, hub: ScannerHub | None = None) -> bool:
    """Start the configured camera and its decoder worker; False when not started here.

    Called by ``jifen serve`` and on a served app's first request, never when the app is
    made: a CLI command that makes the app must not open the webcam.
    """
    hub = hub or app.extensions["jifen_scanner"]
    hub.camera_checked = True
    config = app.config.get("JIFEN_CAMERA")
    if not config or "source" not in config:
        return False
    if _in_reloader_parent(app):
        logger.info("camera not started in the reloader's parent process")
        return False
    source = config["source"]
    key = repr(source)
    with _PROCESS_LOCK:
        if key not in _PROCESS_CAMERAS:
            fps = config.get("fps")
            camera = Camera(
                source,
                backoff=float(config.get("backoff", 0.5)),
                size=camera_size(app),
                fps=float(fps) if fps else None,
            )
            worker = ScanWorker(
                camera,
                bus=hub.bus,
                decoder=config.get("decoder") or hub.decoder,
                interval=float(config.get("interval", 1.0)),
                dedup_seconds=float(config.get("dedup_seconds", hub.dedup_seconds)),
            )
            camera.start()
            worker.start()
            _PROCESS_CAMERAS[key] = (camera, worker, hub.bus)
            atexit.register(stop_all_cameras)
            logger.info("camera %s started", source)
        camera, worker, bus = _PROCESS_CAMERAS[key]
    hub.camera, hub.worker, hub.bus = camera, worker, bus
    return True


def stop_all_cameras() -> None:
    """Stop every camera this process started (at exit, and in tests)."""
    with _PROCESS_LOCK:
        items = list(_PROCESS_CAMERAS.values())
        _PROCESS_CAMERAS.clear()
    for camera, worker, _bus in items:
        worker.stop()
        camera.stop()


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    hub = ScannerHub(
        bus=ScanBus(),
        decoder=app.config.get("JIFEN_DECODER"),
        dedup_seconds=float(app.config.get("JIFEN_SCAN_DEDUP_SECONDS", 3.0)),
    )
    hub.max_streams = int(app.config.get("JIFEN_SSE_MAX_STREAMS", DEFAULT_SSE_STREAMS))
    app.extensions["jifen_scanner"] = hub
    camera_size(app)  # a malformed size fails at start-up, not in the camera thread


@bp.before_app_request
def _camera_on_first_request() -> None:
    # The first request proves this process serves; only then may it open the webcam.
    h = current_app.extensions["jifen_scanner"]
    if not h.camera_checked:
        with _PROCESS_LOCK:
            first = not h.camera_checked
            h.camera_checked = True
        if first:
            start_camera(current_app._get_current_object(), h)  # type: ignore[attr-defined]


def serve_options(app: Flask, threads: int) -> dict[str, Any]:
    """waitress settings for ``jifen serve``: ``threads`` for requests plus one per event
    stream, and a look-ahead so that waitress notices a page that closed while its stream
    waits (``waitress.client_disconnected``)."""
    streams = int(app.config.get("JIFEN_SSE_MAX_STREAMS", DEFAULT_SSE_STREAMS))
    return {"threads": threads + streams, "channel_request_lookahead": 1}


def hub() -> ScannerHub:
    """This app's scanner hub."""
    return current_app.extensions["jifen_scanner"]


def _bad_image(message: str = "图片无法识别：请上传清晰的JPEG照片") -> tuple[Response, int]:
    return jsonify({"error": {"code": "bad_image", "message": message}}), 400


def read_frame() -> np.ndarray | None:
    """The camera frame posted with this request (a file field ``frame`` or the raw body) as
    greyscale at its own size (only a frame over 1920 px scaled down); None when it is
    missing or no image.

    A frame over MAX_FRAME_BYTES or MAX_FRAME_PIXELS raises TooLarge (413) before decoding.
    """
    upload = request.files.get("frame")
    data = upload.read(MAX_FRAME_BYTES + 1) if upload else request.get_data(cache=False)
    if len(data) > MAX_FRAME_BYTES:
        raise TooLarge(_("图片太大：最大 %(mb)s MB", mb=MAX_FRAME_BYTES // (1024 * 1024)))
    if not data:
        return None
    pixels = parsing.image_pixels(data)
    if pixels is None:
        return None
    if pixels > MAX_FRAME_PIXELS:
        raise TooLarge(_("图片太大：最多 4096×4096 像素"))
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        return None
    return prepare(image)


@bp.post("/frame")
@body_limit(MAX_FRAME_REQUEST_BYTES)
@require("counter.serve")
def frame() -> Any:
    """Decode one posted camera frame; publish the codes not seen within the dedup window."""
    received = time.time()
    image = read_frame()
    if image is None:
        return _bad_image()
    h = hub()
    try:
        found = decoders.decode(image, h.decoder)
    except decoders.DecoderUnavailable:
        return jsonify(
            {"error": {"code": "no_decoder", "message": "本机没有可用的扫码解码器"}}
        ), 503
    channel = current_supermarket().id
    dedup = h.deduper(channel)
    published = 0
    for code in found:
        if dedup.is_new(code.text):
            event = ScanEvent(
                code.text, code.kind, code.decoder, "tablet", channel, frame_at=received
            )
            h.bus.publish(event)
            published += 1
    codes = [{"text": c.text, "kind": c.kind, "decoder": c.decoder} for c in found]
    return jsonify(
        {
            "codes": codes,
            "published": published,
            "frame_at": received,
            "size": [int(image.shape[1]), int(image.shape[0])],
        }
    )


def _sse(event: ScanEvent) -> str:
    data = json.dumps(event.to_dict(), ensure_ascii=False)
    return f"event: scan\ndata: {data}\n\n"


@bp.get("/events")
@require("counter.serve")
def events() -> Response:
    """Server-Sent Events: this supermarket's scans, heartbeats, then a clean end."""
    config = current_app.config
    heartbeat = float(config.get("JIFEN_SSE_HEARTBEAT", 15))
    max_seconds = float(config.get("JIFEN_SSE_MAX_SECONDS", 300))
    # Subscribe now, not when the first byte is pulled: nothing published after this is lost.
    sub = hub().open_stream(current_supermarket().id)
    # waitress (with a request look-ahead) says when the page closed; without it the next
    # heartbeat's write fails instead.
    gone = request.environ.get("waitress.client_disconnected")

    def stream() -> Iterator[str]:
        deadline = time.monotonic() + max_seconds
        try:
            yield "retry: 2000\n: connected\n\n"
            beat = time.monotonic() + heartbeat
            while not sub.closed:
                now = time.monotonic()
                if now >= deadline:
                    yield "event: bye\ndata: {}\n\n"
                    return
                wait = min(beat, deadline) - now
                if gone is not None:
                    wait = min(wait, SSE_POLL)
                event = sub.get(timeout=max(wait, 0.0))
                if event is not None:
                    yield _sse(event)
                elif gone is not None and gone():
                    return  # the page closed: free this thread now, not at the heartbeat
                elif time.monotonic() >= beat:
                    yield ": heartbeat\n\n"
                    beat = time.monotonic() + heartbeat
            if not sub.closed or sub.evicted:
                yield "event: bye\ndata: {}\n\n"
        finally:
            sub.close()  # the page went away or the stream ended

    response = Response(stream(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/preview.mjpg")
@require("counter.serve")
def preview() -> Response:
    """The camera's latest frame as MJPEG (multipart/x-mixed-replace), a few times a second."""
    camera = hub().camera
    if camera is None:
        raise NotFound(_("没有配置摄像头"))
    max_seconds = float(current_app.config.get("JIFEN_PREVIEW_MAX_SECONDS", 300))
    fps = float(current_app.config.get("JIFEN_PREVIEW_FPS", 5))

    def stream() -> Iterator[bytes]:
        import cv2

        deadline = time.monotonic() + max_seconds
        seq = 0
        while time.monotonic() < deadline and camera.running:
            seq, image = camera.wait_frame(seq, timeout=1.0)
            if image is None:
                continue
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
            if ok:
                yield (
                    b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                    + str(len(jpeg)).encode()
                    + b"\r\n\r\n"
                    + jpeg.tobytes()
                    + b"\r\n"
                )
            time.sleep(1.0 / fps)

    response = Response(stream(), mimetype="multipart/x-mixed-replace; boundary=frame")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/status")
@require("counter.serve")
def status() -> Any:
    """The camera, the decoder and the open event streams, as JSON."""
    h = hub()
    decoder: dict[str, Any] = {"configured": h.decoder or "auto"}
    try:
        chosen = decoders.default_decoder(h.decoder)
        decoder["name"] = chosen.name
        fallback = getattr(chosen, "fallback", None)
        if fallback is not None:
            second = fallback()
            decoder["fallback"] = second.name if second else None
    except decoders.DecoderUnavailable as exc:
        decoder["error"] = str(exc)
    camera = h.camera.state() if h.camera is not None else None
    worker = h.worker
    return jsonify(
        {
            "camera": camera,
            "worker": None
            if worker is None
            else {
                "running": worker.running,
                "frames_decoded": worker.frames_decoded,
                "frames_skipped": worker.frames_skipped,
                "events": worker.events,
            },
            "decoder": decoder,
            "streams": {"open": h.open_streams, "max": h.max_streams},
        }
    )


@bp.get("/tablet")
@require("counter.serve", page=True)
def tablet() -> str:
    """The tablet page: its camera's frames are posted here for decoding."""
    return render_template(
        "scanner/tablet.html", supermarket=current_supermarket(), user=current_user()
    )
