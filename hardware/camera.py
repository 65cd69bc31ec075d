"""A camera at the counter: one thread owns ``cv2.VideoCapture``, one decodes, a bus fans out.

- :class:`Camera` — a single background thread opens ``cv2.VideoCapture(source)`` (a device
  index, a video file or a stream URL), asks for the configured capture size (640×480,
  1280×720, 1920×1080), notes what the device really delivers, keeps only the latest frame
  with the time it was read, and reopens the device with growing backoff after it fails or a
  file ends. Nothing opens in the constructor: ``start()`` does, once, in the serving process;
  ``start()``/``stop()`` are idempotent.
- :class:`ScanWorker` — a thread that blocks on the camera's next frame (it follows the
  frames, it does not poll), decodes it in grey at its native resolution with
  :mod:`hardware.decoders`, and hands each new scan to a callback and a bus. A frame is decoded
  when the picture changed since the last decoded frame, when the last decode read or saw a
  code, or at least every ``interval`` seconds: a still, empty counter costs a thumbnail
  comparison per frame, a card coming into view is decoded on its first frame.
- :class:`ScanBus` — thread-safe publish/subscribe with one bounded queue per subscriber; the
  web layer turns a subscription into Server-Sent Events.

No Flask here: the kiosk wires these objects to its pages.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from hardware import decoders

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

# Capture sizes a village's webcams deliver; the camera is asked for one, and may give another.
CAPTURE_SIZES = ((640, 480), (1280, 720), (1920, 1080))
DEFAULT_CAPTURE_SIZE = (1280, 720)
# Frames are decoded at their own size up to this long side (never enlarged). Measured in
# docs/hardware-benchmarks.md: scaling a 1920×1080 frame to 1280 loses a card QR with one or
# two pixels per module that the native frame reads, so nothing a supported camera delivers
# is scaled; only larger frames (4K webcams) come down to 1920, keeping the aspect ratio.
MAX_DECODE_SIDE = 1920


def parse_size(value: object) -> tuple[int, int] | None:
    """A capture size from config: ``"1280x720"``, ``[1280, 720]`` or None; ValueError otherwise."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise ValueError(f"camera size must look like 1280x720, not {value!r}")
    try:
        width, height = (int(str(p).strip()) for p in parts)
    except ValueError:
        raise ValueError(f"camera size must look like 1280x720, not {value!r}") from None
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise ValueError(f"camera size out of range: {value!r}")
    return width, height


def _is_file(source: int | str) -> bool:
    return isinstance(source, str) and "://" not in source and os.path.exists(source)


class Camera:
    """One thread owning a ``cv2.VideoCapture``; readers get the latest frame only."""

    def __init__(
        self,
        source: int | str,
        *,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        realtime: bool | None = None,
        capture_factory: Callable[[int | str], Any] | None = None,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
    ) -> None:
        self.source = source
        self.requested_size = size  # asked of a device; files and streams keep their own
        self.requested_fps = fps
        self.backoff = backoff
        self.max_backoff = max_backoff
        # A file is read as fast as the CPU allows; pace it at its own frame rate so that it
        # plays like a camera. Devices and streams block on read by themselves.
        self.realtime = _is_file(source) if realtime is None else realtime
        self._factory = capture_factory
        self._cond = threading.Condition(threading.Lock())
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._frame_at = 0.0  # time.time() when the newest frame came out of read()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.open_attempts = 0  # every call to VideoCapture(), the first one included
        self.reopens = 0  # opens after the first (device lost, file ended, stream dropped)
        self.failures = 0  # failed opens and failed reads
        self.opened = False
        self.last_error: str | None = None
        self.delivered_size: tuple[int, int] | None = None  # what the frames really measure
        self.delivered_fps: float | None = None  # frames per second read, smoothed

    # -- life cycle -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while the capture thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Camera:
        """Start the capture thread (a second call does nothing)."""
        with self._start_lock:
            if self.running:
                return self
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"jifen-camera-{self.source}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the capture thread and release the device (safe to call twice)."""
        with self._start_lock:
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- frames -----------------------------------------------------------------------------
    def latest(self) -> tuple[int, np.ndarray | None]:
        """The newest frame and its sequence number (0, None before the first frame)."""
        with self._cond:
            return self._seq, self._frame

    def wait_frame(self, after: int = 0, timeout: float = 1.0) -> tuple[int, np.ndarray | None]:
        """Wait up to ``timeout`` s for a frame newer than sequence ``after``."""
        seq, frame, _at = self.next_frame(after, timeout)
        return seq, frame

    def next_frame(
        self, after: int = 0, timeout: float = 1.0
    ) -> tuple[int, np.ndarray | None, float]:
        """Like :meth:`wait_frame`, with the ``time.time()`` at which the frame was read."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seq <= after and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._seq > after:
                return self._seq, self._frame, self._frame_at
            return after, None, 0.0

    def state(self) -> dict[str, Any]:
        """What the camera was asked for and what it delivers (for the status pages)."""
        size, delivered = self.requested_size, self.delivered_size
        return {
            "source": str(self.source),
            "running": self.running,
            "opened": self.opened,
            "requested_size": f"{size[0]}x{size[1]}" if size else None,
            "delivered_size": f"{delivered[0]}x{delivered[1]}" if delivered else None,
            "delivered_fps": round(self.delivered_fps, 1) if self.delivered_fps else None,
            "frames": self._seq,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    # -- the capture thread ------------------------------------------------------------------
    def _open(self) -> Any:
        import cv2

        self.open_attempts += 1
        if self.open_attempts > 1:
            self.reopens += 1
        factory = self._factory or cv2.VideoCapture
        capture = factory(self.source)
        if not capture.isOpened():
            capture.release()
            return None
        if isinstance(self.source, int):  # a device: ask for the size; a file keeps its own
            if self.requested_size:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.requested_size[0])
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.requested_size[1])
            if self.requested_fps:
                capture.set(cv2.CAP_PROP_FPS, self.requested_fps)
        return capture

    def _run(self) -> None:
        delay = self.backoff
        while not self._stop.is_set():
            try:
                capture = self._open()
            except Exception as exc:  # a broken driver must not kill the thread
                logger.warning("camera %s: open failed: %s", self.source, exc)
                capture = None
                self.last_error = str(exc)
            if capture is None:
                self.failures += 1
                self.last_error = self.last_error or "无法打开摄像头"
                logger.info("camera %s not available, retrying in %.1fs", self.source, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            self.opened = True
            try:
                got_frames = self._read_until_failure(capture)
            finally:
                capture.release()
                self.opened = False
            if self._stop.is_set():
                break
            self.failures += 1
            # A camera that delivered frames gets a quick retry; one that keeps failing waits longer.
            delay = self.backoff if got_frames else min(delay * 2, self.max_backoff)
            logger.info("camera %s stopped delivering frames, reopening", self.source)
            self._stop.wait(delay)

    def _read_until_failure(self, capture: Any) -> bool:
        import cv2

        period = 0.0
        if self.realtime:
            fps = capture.get(cv2.CAP_PROP_FPS) or 0
            period = 1.0 / fps if 0 < fps < 240 else 1.0 / 25
        got = False
        next_at = time.monotonic()
        while not self._stop.is_set():
            ok, frame = capture.read()
            if not ok or frame is None:
                self.last_error = "摄像头没有画面"
                return got
            got = True
            self.last_error = None
            read_at = time.time()
            if self.delivered_size is None or self._seq % 30 == 0:
                size = (int(frame.shape[1]), int(frame.shape[0]))
                if size != self.delivered_size:
                    if self.requested_size and size != tuple(self.requested_size):
                        logger.warning(
                            "camera %s delivers %dx%d, not the %dx%d asked for",
                            self.source,
                            size[0],
                            size[1],
                            *self.requested_size,
                        )
                    self.delivered_size = size
            with self._cond:
                if self._frame_at and read_at > self._frame_at:
                    rate = 1.0 / (read_at - self._frame_at)
                    previous = self.delivered_fps or rate
                    self.delivered_fps = 0.9 * previous + 0.1 * rate
                self._frame = frame
                self._seq += 1
                self._frame_at = read_at
                self._cond.notify_all()
            if period:
                next_at += period
                pause = next_at - time.monotonic()
                if pause > 0:
                    self._stop.wait(pause)
                else:
                    next_at = time.monotonic()
        return got


@dataclass(frozen=True)
class ScanEvent:
    """A code read by the camera or a tablet."""

    text: str
    kind: str
    decoder: str
    source: str = "camera"  # "camera" | "tablet"
    channel: int | None = None  # the supermarket it is for; None: every kiosk of this process
    at: float = field(default_factory=time.time)  # when the event was published
    frame_at: float | None = None  # when its frame was read (camera) or received (tablet)

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data."""
        return asdict(self)


class Subscription:
    """One subscriber's queue on a :class:`ScanBus`."""

    def __init__(self, bus: ScanBus, channel: int | None, maxsize: int) -> None:
        self._bus = bus
        self.channel = channel
        self.queue: queue.Queue[ScanEvent | None] = queue.Queue(maxsize)
        self.closed = False
        self.evicted = False  # closed to make room for a newer subscriber

    def get(self, timeout: float | None = None) -> ScanEvent | None:
        """The next event, or None after ``timeout`` s or when closed."""
        if self.closed:
            return None
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Unsubscribe (safe to call twice); a waiting ``get`` returns None."""
        if not self.closed:
            self.closed = True
            self._bus._remove(self)
            with contextlib.suppress(queue.Full):
                self.queue.put_nowait(None)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ScanBus:
    """Publish scan events to every subscriber of their channel, each with its own queue."""

    def __init__(self, maxsize: int = 50) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self.maxsize = maxsize

    def subscribe(self, channel: int | None = None) -> Subscription:
        """A new subscription; it receives events of ``channel`` and channel-less events."""
        sub = Subscription(self, channel, self.maxsize)
        with self._lock:
            self._subscribers.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, event: ScanEvent) -> int:
        """Deliver ``event``; returns how many subscribers got it. Never blocks."""
        with self._lock:
            targets = [
                s
                for s in self._subscribers
                if event.channel is None or s.channel is None or s.channel == event.channel
            ]
        for sub in targets:
            while True:
                try:
                    sub.queue.put_nowait(event)
                    break
                except queue.Full:
                    # A stalled page loses its oldest scans, never the publisher's time.
                    with contextlib.suppress(queue.Empty):
                        sub.queue.get_nowait()
        return len(targets)

    def iter(self, sub: Subscription, timeout: float) -> Iterator[ScanEvent | None]:
        """Events of ``sub``, with None every ``timeout`` s of silence (for heartbeats)."""
        while not sub.closed:
            yield sub.get(timeout)


def prepare(frame: np.ndarray, max_side: int = MAX_DECODE_SIDE) -> np.ndarray:
    """A frame as the decoder wants it: grey, its own size, only a frame whose long side is
    over ``max_side`` scaled down (keeping the aspect ratio); never enlarged."""
    import cv2

    grey = decoders.to_grey(frame)
    side = max(grey.shape)
    if side > max_side:
        scale = max_side / side
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


THUMB_SIDE = 160  # the change detector's thumbnail, long side
CHANGE_LEVEL = 12  # grey levels a thumbnail cell must move by (sensor noise averages out)
CHANGE_CELLS = 3  # cells that must move for "the picture changed"


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A small, area-averaged copy of the frame's green (or grey) channel for change
    detection: every other pixel of a 2×-thumbnail grid, averaged 2×2 (0.1 ms at 720p,
    where resizing the whole BGR frame takes several)."""
    import cv2
    import numpy as np

    h, w = frame.shape[:2]
    step = max(1, max(h, w) // (THUMB_SIDE * 2))
    plane = frame[::step, ::step, 1] if frame.ndim == 3 else frame[::step, ::step]
    scale = THUMB_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(np.ascontiguousarray(plane), size, interpolation=cv2.INTER_AREA)
    return small.astype(np.int16)


def changed(before: np.ndarray | None, after: np.ndarray) -> bool:
    """True when the thumbnails differ by more than sensor noise in a few cells."""
    import numpy as np

    if before is None or before.shape != after.shape:
        return True
    moved = np.count_nonzero(np.abs(after - before) > CHANGE_LEVEL)
    return bool(moved >= CHANGE_CELLS)


class Deduper:
    """Drop repeats of a code within ``seconds`` of its first sighting.

    The window starts when a code is first reported and is not renewed by the frames after it:
    a card held in view scans again after ``seconds``, and a second tin of the same product
    shown after ``seconds`` counts, however long the first one stayed in view.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._first_seen: dict[str, float] = {}

    def is_new(self, text: str, now: float | None = None) -> bool:
        """True when ``text`` was not reported in the last ``seconds`` (and report it now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            first = self._first_seen.get(text)
            if first is not None and now - first < self.seconds:
                return False
            self._first_seen[text] = now
            if len(self._first_seen) > 256:  # forget codes long gone
                cutoff = now - self.seconds
                self._first_seen = {k: v for k, v in self._first_seen.items() if v >= cutoff}
            return True


class ScanWorker:
    """Decode the camera's frames as they come and publish new codes."""

    def __init__(
        self,
        camera: Camera,
        *,
        bus: ScanBus | None = None,
        callback: Callable[[ScanEvent], None] | None = None,
        decoder: str | None = None,
        interval: float = 1.0,
        dedup_seconds: float = 3.0,
        channel: int | None = None,
    ) -> None:
        self.camera = camera
        self.bus = bus
        self.callback = callback
        self.decoder = decoders.default_decoder(decoder)
        self.interval = interval  # the longest an unchanged, empty picture goes undecoded
        self.dedup = Deduper(dedup_seconds)
        self.channel = channel
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.frames_decoded = 0
        self.frames_skipped = 0  # unchanged empty frames not decoded
        self.events = 0
        self._reference: np.ndarray | None = None  # thumbnail of the last decoded frame
        self._decoded_at = float("-inf")
        self._busy = True  # the last decode read or saw a code: decode the next frame too

    @property
    def running(self) -> bool:
        """True while the worker thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ScanWorker:
        """Start the worker thread (a second call does nothing)."""
        with self._start_lock:
            if not self.running:
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="jifen-scan-worker", daemon=True
                )
                self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker thread (safe to call twice)."""
        with self._start_lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wants(self, frame: np.ndarray, now: float | None = None) -> bool:
        """Whether ``frame`` is worth decoding: changed, after a code, or ``interval`` gone by."""
        now = time.monotonic() if now is None else now
        thumb = thumbnail(frame)
        if self._busy or now - self._decoded_at >= self.interval:
            decode = True
        else:
            decode = changed(self._reference, thumb)
        if decode:
            self._reference = thumb
        else:
            self.frames_skipped += 1
        return decode

    def process(
        self, frame: np.ndarray, now: float | None = None, frame_at: float | None = None
    ) -> list[ScanEvent]:
        """Decode one frame and emit the codes not reported within ``dedup_seconds``."""
        now = time.monotonic() if now is None else now
        grey = prepare(frame)
        read = getattr(self.decoder, "read", None)
        if read is not None:
            found, unread = read(grey)
        else:
            found, unread = self.decoder.decode(grey), 0
        self.frames_decoded += 1
        self._decoded_at = now
        self._busy = bool(found or unread)
        events = []
        for code in found:
            if not self.dedup.is_new(code.text, now):
                continue
            event = ScanEvent(
                code.text,
                code.kind,
                code.decoder,
                "camera",
                self.channel,
                frame_at=frame_at,
            )
            events.append(event)
            self.events += 1
            if self.bus is not None:
                self.bus.publish(event)
            if self.callback is not None:
                try:
                    self.callback(event)
                except Exception:
                    logger.exception("scan callback failed")
        return events

    def _run(self) -> None:
        # Block on the camera's next frame: a card is decoded from the first frame it is in,
        # not at the next tick of a clock unrelated to the frames. While a frame decodes the
        # camera keeps only the newest, so a slow decode skips frames, never queues them.
        seq = 0
        while not self._stop.is_set():
            new_seq, frame, frame_at = self.camera.next_frame(seq, timeout=0.5)
            if frame is None:
                continue
            seq = new_seq
            try:
                if self.wants(frame):
                    self.process(frame, frame_at=frame_at)
            except Exception:
                logger.exception("decoding a camera frame failed")
