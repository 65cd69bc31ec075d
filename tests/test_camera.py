"""The camera path on a real video file through the real ``cv2.VideoCapture``.

The test writes a short MJPG video (blank, then a card's QR, then blank), plays it through
Camera + ScanWorker and expects exactly one scan; the file ending counts as a camera failure,
so the camera reopens it.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from hardware import camera as cam
from tests.scan_images import PAYLOAD, card_frame, scene, write_card_video


@pytest.fixture
def card_video(tmp_path):
    """blank 0.5 s, card 0.6 s, blank 0.5 s at 20 fps, 640×480 BGR, MJPG in AVI."""
    return write_card_video(str(tmp_path / "counter.avi"))


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_video_file_gives_exactly_one_scan_and_reopens(card_video):
    camera = cam.Camera(card_video, backoff=0.1)
    assert camera.open_attempts == 0 and not camera.running  # nothing opens before start()
    bus = cam.ScanBus()
    sub = bus.subscribe()
    got: list[cam.ScanEvent] = []
    worker = cam.ScanWorker(
        camera, bus=bus, callback=got.append, interval=0.1, dedup_seconds=60, decoder="zxingcpp"
    )
    camera.start()
    camera.start()  # idempotent: still one thread, one capture
    worker.start()
    worker.start()
    threads = [t for t in threading.enumerate() if t.name.startswith("jifen-")]
    assert len(threads) == 2
    try:
        # The file ends after 1.6 s; the camera reopens it and plays it again, card included.
        assert _wait(lambda: camera.reopens >= 1 and camera.latest()[0] > 40, 8)
        assert _wait(lambda: worker.frames_decoded > 20, 3)
    finally:
        worker.stop()
        camera.stop()
        camera.stop()
    assert not worker.running and not camera.running
    assert not [t for t in threading.enumerate() if t.name.startswith("jifen-")]
    assert camera.open_attempts == camera.reopens + 1 >= 2
    # The card was in view in both plays; the repeat within dedup_seconds is dropped.
    assert [(e.text, e.kind, e.source) for e in got] == [(PAYLOAD, "qr", "camera")]
    assert sub.get(timeout=1) == got[0]
    assert sub.get(timeout=0.05) is None


def test_unavailable_camera_retries_with_backoff_and_stops():
    camera = cam.Camera("/nonexistent/camera.avi", backoff=0.05, max_backoff=0.2)
    camera.start()
    try:
        assert _wait(lambda: camera.open_attempts >= 3, 3)
        assert camera.latest() == (0, None)
        assert camera.wait_frame(0, timeout=0.05) == (0, None)
    finally:
        camera.stop()
    assert not camera.running and not camera.opened
    attempts = camera.open_attempts
    time.sleep(0.3)
    assert camera.open_attempts == attempts  # really stopped
    assert camera.failures >= 3


def test_worker_deduplicates_within_window_and_renews_while_in_view():
    camera = cam.Camera(0)  # never started: process() is fed directly
    worker = cam.ScanWorker(camera, dedup_seconds=2.0, channel=7)
    bgr = cv2.cvtColor(card_frame(), cv2.COLOR_GRAY2BGR)
    big = cv2.resize(bgr, (1280, 960))  # any size is brought to 640×480 grey
    assert [e.text for e in worker.process(big, now=100.0)] == [PAYLOAD]
    assert worker.process(bgr, now=101.5) == []
    assert worker.process(bgr, now=103.0) == []  # still in view: the window was renewed
    events = worker.process(bgr, now=105.5)  # taken away for 2.5 s, shown again
    assert [(e.text, e.channel) for e in events] == [(PAYLOAD, 7)]
    assert worker.process(scene(None), now=106) == []
    assert camera.open_attempts == 0


def test_bus_channels_and_slow_subscribers():
    bus = cam.ScanBus(maxsize=2)
    shop1, shop2, everyone = bus.subscribe(1), bus.subscribe(2), bus.subscribe()
    assert bus.publish(cam.ScanEvent("A", "qr", "zxingcpp", channel=1)) == 2
    assert bus.publish(cam.ScanEvent("B", "qr", "zxingcpp")) == 3  # camera: every kiosk
    assert [shop1.get(0.1).text, shop1.get(0.1).text] == ["A", "B"]
    assert shop2.get(0.1).text == "B" and shop2.get(0.01) is None
    for text in "CDE":
        bus.publish(cam.ScanEvent(text, "qr", "zxingcpp", channel=2))
    # everyone's queue holds 2: the oldest were dropped, the publisher never blocked
    assert [everyone.get(0.1).text, everyone.get(0.1).text] == ["D", "E"]
    shop1.close()
    shop1.close()
    assert bus.subscriber_count == 2 and shop1.get(0.01) is None


def test_closing_a_subscription_wakes_its_reader():
    bus = cam.ScanBus()
    sub = bus.subscribe()
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(sub.get(timeout=5)))
    reader.start()
    time.sleep(0.05)
    sub.close()
    reader.join(1)
    assert not reader.is_alive() and result == [None]


def test_prepare_makes_640x480_grey():
    frame = np.zeros((720, 1280, 3), np.uint8)
    assert cam.prepare(frame).shape == (480, 640)
