"""A camera at the counter: one thread owns ``cv2.VideoCapture``, one decodes, a bus fans out.

- :class:`Camera` — a single background thread opens ``cv2.VideoCapture(source)`` (a device
  index, a video file or a stream URL), keeps only the latest frame, and reopens the device
  with growing backoff after it fails or a file ends. Nothing opens in the constructor:
  ``start()`` does, once, from the app's start-up; ``start()``/``stop()`` are idempotent.
- :class:`ScanWorker` — a thread that takes the latest frame several times a second, makes it
  640×480 grey, decodes it with :mod:`hardware.decoders`, drops repeats of a code still in
  view (or seen within ``dedup_seconds``), and hands each new scan to a callback and a bus.
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

FRAME_SIZE = (640, 480)


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
    ) -> None:
        self.source = source
        self.backoff = backoff
        self.max_backoff = max_backoff
        # A file is read as fast as the CPU allows; pace it at its own frame rate so that it
        # plays like a camera. Devices and streams block on read by themselves.
        self.realtime = _is_file(source) if realtime is None else realtime
        self._factory = capture_factory
        self._cond = threading.Condition(threading.Lock())
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._frame_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.open_attempts = 0  # every call to VideoCapture(), the first one included
        self.reopens = 0  # opens after the first (device lost, file ended, stream dropped)
        self.failures = 0  # failed opens and failed reads
        self.opened = False
        self.last_error: str | None = None

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
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seq <= after and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._seq > after:
                return self._seq, self._frame
            return after, None

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
            with self._cond:
                self._frame = frame
                self._seq += 1
                self._frame_at = time.time()
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
    at: float = field(default_factory=time.time)

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


def prepare(frame: np.ndarray, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """A frame as the decoder wants it: ``size`` (640×480) greyscale."""
    import cv2

    grey = decoders.to_grey(frame)
    if (grey.shape[1], grey.shape[0]) != size:
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


class Deduper:
    """Drop repeats of a code seen within ``seconds``; every sighting renews the window."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._last_seen: dict[str, float] = {}

    def is_new(self, text: str, now: float | None = None) -> bool:
        """True when ``text`` was not seen in the last ``seconds`` (and note it as seen now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            last = self._last_seen.get(text)
            # A card held in view keeps renewing its window, so it scans once.
            self._last_seen[text] = now
            if len(self._last_seen) > 256:  # forget codes long gone
                cutoff = now - self.seconds
                self._last_seen = {k: v for k, v in self._last_seen.items() if v >= cutoff}
            return last is None or now - last >= self.seconds


class ScanWorker:
    """Decode the camera's latest frame several times a second and publish new codes."""

    def __init__(
        self,
        camera: Camera,
        *,
        bus: ScanBus | None = None,
        callback: Callable[[ScanEvent], None] | None = None,
        decoder: str | None = None,
        interval: float = 0.2,
        dedup_seconds: float = 3.0,
        channel: int | None = None,
    ) -> None:
        self.camera = camera
        self.bus = bus
        self.callback = callback
        self.decoder = decoders.default_decoder(decoder)
        self.interval = interval
        self.dedup = Deduper(dedup_seconds)
        self.channel = channel
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.frames_decoded = 0
        self.events = 0

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

    def process(self, frame: np.ndarray, now: float | None = None) -> list[ScanEvent]:
        """Decode one frame and emit the codes not seen within ``dedup_seconds``."""
        now = time.monotonic() if now is None else now
        found = self.decoder.decode(prepare(frame))
        self.frames_decoded += 1
        events = []
        for code in found:
            if not self.dedup.is_new(code.text, now):
                continue
            event = ScanEvent(code.text, code.kind, code.decoder, "camera", self.channel)
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
        seq = 0
        while not self._stop.is_set():
            started = time.monotonic()
            new_seq, frame = self.camera.wait_frame(seq, timeout=max(self.interval, 0.5))
            if frame is not None:
                seq = new_seq
                try:
                    self.process(frame)
                except Exception:
                    logger.exception("decoding a camera frame failed")
            pause = self.interval - (time.monotonic() - started)
            if pause > 0:
                self._stop.wait(pause)
