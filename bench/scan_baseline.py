"""The camera scan path as it was before issue 18, kept so the benchmark can run it beside today's.

A copy of the old ``hardware.camera`` worker: it wakes every ``interval`` (200 ms) at a phase
unrelated to the frames, takes the newest frame, squeezes it to 640×480 grey (whatever its
aspect ratio), decodes it with zxing-cpp's default text mode, and drops repeats of a code seen
within ``dedup_seconds`` of its last sighting. Only ``bench/hardware.py`` uses it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import cv2
import numpy as np
import zxingcpp

from hardware.camera import Camera, ScanBus, ScanEvent

FRAME_SIZE = (640, 480)
_FORMATS = zxingcpp.barcode_formats_from_str("QRCode,EAN13,EAN8,UPCA,UPCE,Code128")


def old_prepare(frame: np.ndarray, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """The old frame preparation: grey, resized to exactly 640×480."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    if (grey.shape[1], grey.shape[0]) != size:
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def old_decode(grey: np.ndarray) -> list[tuple[str, str]]:
    """The old zxing-cpp call: default (HRI) text, valid results only."""
    out = []
    for result in zxingcpp.read_barcodes(grey, formats=_FORMATS):
        if result.valid:
            out.append((result.text.strip(), result.format.name))
    return out


class OldScanWorker:
    """The polling worker: every ``interval`` s the newest frame, 640×480, decoded."""

    def __init__(
        self, camera: Camera, *, bus: ScanBus, interval: float = 0.2, dedup_seconds: float = 3.0
    ) -> None:
        self.camera = camera
        self.bus = bus
        self.interval = interval
        self.dedup_seconds = dedup_seconds
        self._last_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_decoded = 0

    def start(self) -> OldScanWorker:
        self._thread = threading.Thread(target=self._run, name="jifen-old-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def process(self, frame: np.ndarray) -> None:
        now = time.monotonic()
        found = old_decode(old_prepare(frame))
        self.frames_decoded += 1
        for text, kind in found:
            last = self._last_seen.get(text)
            self._last_seen[text] = now  # every sighting renews the window
            if last is None or now - last >= self.dedup_seconds:
                self.bus.publish(ScanEvent(text, kind.lower(), "zxingcpp", "camera"))

    def _run(self) -> None:
        seq = 0
        while not self._stop.is_set():
            started = time.monotonic()
            new_seq, frame = self.camera.wait_frame(seq, timeout=max(self.interval, 0.5))
            if frame is not None:
                seq = new_seq
                self.process(frame)
            pause = self.interval - (time.monotonic() - started)
            if pause > 0:
                self._stop.wait(pause)


def describe() -> dict[str, Any]:
    """What the baseline is, for the report."""
    return {"interval_ms": 200, "frame": "640×480 squeezed", "decoder": "zxing-cpp (HRI)"}
