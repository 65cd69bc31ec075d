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
from tests.scan_images import PAYLOAD, card_frame, qr_image, scene, write_card_video


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


def test_worker_dedup_window_runs_from_the_first_sighting():
    camera = cam.Camera(0)  # never started: process() is fed directly
    worker = cam.ScanWorker(camera, dedup_seconds=2.0, channel=7)
    bgr = cv2.cvtColor(card_frame(), cv2.COLOR_GRAY2BGR)
    events = worker.process(bgr, now=100.0, frame_at=1234.5)
    assert [(e.text, e.channel, e.decoder, e.frame_at) for e in events] == [
        (PAYLOAD, 7, "zxingcpp", 1234.5)
    ]
    assert worker.process(bgr, now=101.0) == []
    assert worker.process(bgr, now=101.9) == []  # still within 2 s of the first sighting
    # Seen in every frame since, yet the window was not renewed: 2 s after the first
    # sighting the card (or a second tin of the same product) counts again.
    assert [e.text for e in worker.process(bgr, now=102.0)] == [PAYLOAD]
    assert worker.process(bgr, now=103.5) == []
    assert worker.process(scene(None), now=106) == []
    assert camera.open_attempts == 0


def test_worker_decodes_changed_frames_and_skips_a_still_empty_counter():
    camera = cam.Camera(0)
    worker = cam.ScanWorker(camera, interval=1.0)
    rng = np.random.default_rng(3)

    def empty() -> np.ndarray:  # a still counter with sensor noise (σ = 4 grey levels)
        noise = rng.normal(0, 4, (720, 1280))
        return np.clip(scene(None, (1280, 720)) + noise, 0, 255).astype(np.uint8)

    assert worker.wants(empty(), now=0.0)  # the first frame is always decoded
    worker.process(empty(), now=0.0)
    assert [worker.wants(empty(), now=0.03 * i) for i in range(1, 30)] == [False] * 29
    assert worker.frames_skipped == 29
    assert worker.wants(empty(), now=1.0)  # at least every `interval`
    worker.process(empty(), now=1.0)
    # A card coming into view changes the picture: its first frame is decoded.
    card = scene(qr_image(), (1280, 720))
    assert worker.wants(card, now=1.05)
    assert [e.text for e in worker.process(card, now=1.05)] == [PAYLOAD]
    # While a code is in view every frame is decoded, changed or not.
    assert worker.wants(card, now=1.08) and worker.wants(card, now=1.11)


def test_worker_follows_frames_not_a_clock(card_video):
    """A card is published within a frame or two of the frame it appears in."""
    camera = cam.Camera(card_video)
    bus = cam.ScanBus()
    worker = cam.ScanWorker(camera, bus=bus, decoder="auto", interval=5.0)
    with bus.subscribe() as sub:
        camera.start()
        worker.start()
        try:
            event = sub.get(timeout=5)
        finally:
            worker.stop()
            camera.stop()
    assert event is not None and event.text == PAYLOAD
    # The old worker woke every 200 ms, or here every `interval` (5 s): the event would come
    # seconds after the card. Following the frames, it comes within the card's first frames.
    assert event.frame_at is not None
    assert event.at - event.frame_at < 0.5
    assert worker.frames_skipped > 0  # the blank frames before the card were not all decoded


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


@pytest.mark.parametrize(
    "shape,expected",
    [
        ((480, 640, 3), (480, 640)),  # every supported camera is decoded at its own size
        ((720, 1280, 3), (720, 1280)),
        ((1080, 1920, 3), (1080, 1920)),
        ((2160, 3840, 3), (1080, 1920)),  # a 4K webcam: scaled, aspect kept
        ((1280, 720), (1280, 720)),  # a phone held upright
        ((240, 320), (240, 320)),  # never enlarged
    ],
)
def test_prepare_keeps_native_size_and_aspect(shape, expected):
    assert cam.prepare(np.zeros(shape, np.uint8)).shape == expected


def test_small_qr_in_a_1080p_frame_needs_the_native_size():
    """Why frames are not squeezed: a card QR at 2 px per module in a 1920×1080 frame reads
    natively, and not after the old 640×480 resize."""
    from hardware import decoders

    frame = scene(qr_image(box=2), (1920, 1080))
    assert decoders.decode(cam.prepare(frame), "zxingcpp")[0].text == PAYLOAD
    squeezed = cv2.resize(frame, (640, 480), interpolation=cv2.INTER_AREA)
    assert decoders.decode(squeezed, "zxingcpp") == []


@pytest.mark.parametrize(
    "value,expected",
    [
        ("1280x720", (1280, 720)),
        ("1920×1080", (1920, 1080)),
        ([640, 480], (640, 480)),
        (None, None),
    ],
)
def test_parse_size(value, expected):
    assert cam.parse_size(value) == expected


@pytest.mark.parametrize("value", ["1280", "axb", [1, 2, 3], "0x0", 1280])
def test_parse_size_refuses_nonsense(value):
    with pytest.raises(ValueError):
        cam.parse_size(value)


class _SizedCapture:
    """A device that is asked for a size and delivers another (a 640×480-only webcam)."""

    def __init__(self, source) -> None:
        self.asked: dict[int, float] = {}

    def isOpened(self) -> bool:  # noqa: N802 - cv2's name
        return True

    def set(self, prop: int, value: float) -> bool:
        self.asked[prop] = value
        return True

    def get(self, prop: int) -> float:
        return 30.0

    def read(self):
        time.sleep(0.01)
        return True, np.zeros((480, 640, 3), np.uint8)

    def release(self) -> None:
        pass


def test_camera_asks_for_its_size_and_says_what_it_delivered():
    captures: list[_SizedCapture] = []

    def factory(source):
        captures.append(_SizedCapture(source))
        return captures[-1]

    camera = cam.Camera(0, size=(1280, 720), fps=30, capture_factory=factory).start()
    try:
        assert _wait(lambda: camera.latest()[0] > 5, 3)
    finally:
        camera.stop()
    assert captures[0].asked == {
        cv2.CAP_PROP_FRAME_WIDTH: 1280,
        cv2.CAP_PROP_FRAME_HEIGHT: 720,
        cv2.CAP_PROP_FPS: 30,
    }
    state = camera.state()
    assert state["requested_size"] == "1280x720" and state["delivered_size"] == "640x480"
    assert state["delivered_fps"] > 0
