"""The tablet page with a 16:9 camera: frames keep the aspect ratio and reach the counter.

Chromium's fake camera plays a 1280×720 video of a card held up; the page must post 1280×720
frames (before, it drew every camera into a 640×480 canvas, squeezing a 16:9 picture), and the
card's scan must reach the supermarket's scan stream.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests import factories
from tests.browser.test_browser_counter import login_by_pin
from tests.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
)
from tests.scan_images import PAYLOAD, qr_image, scene

pytestmark = pytest.mark.browser


def write_y4m(path, frames: list[np.ndarray], fps: int = 10) -> str:
    """Grey frames (all one size) as a Y4M video for chromium's fake camera (it loops it)."""
    h, w = frames[0].shape
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        chroma = bytes([128]) * ((w // 2) * (h // 2))
        for frame in frames:
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return str(path)


@pytest.fixture
def wide_camera(browser, tmp_path):  # noqa: F811
    """Chromium whose camera is a 1280×720 webcam showing a card, then the empty counter."""
    card = scene(qr_image(PAYLOAD, box=5), (1280, 720))
    empty = scene(None, (1280, 720))
    video = write_y4m(tmp_path / "wide.y4m", [card] * 20 + [empty] * 10)
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    b = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield b
    b.close()


def test_tablet_sends_frames_at_the_cameras_aspect_and_the_scan_arrives(tmp_path, wide_camera):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        channel = sm.id
    bus = app.extensions["jifen_scanner"].bus
    with LiveServer(app) as server, bus.subscribe(channel) as sub:
        page = new_page(wide_camera, (1280, 800))
        login_by_pin(page, server.url)
        page.wait_for_url(server.url + "/counter")
        page.goto(server.url + "/scanner/tablet")
        with page.expect_response(lambda r: r.url.endswith("/scanner/frame")) as posted:
            page.wait_for_function("() => document.getElementById('tablet-video').videoWidth > 0")
        assert posted.value.ok and posted.value.json()["size"] == [1280, 720]
        event = sub.get(timeout=15)
        assert event is not None and event.text == PAYLOAD and event.source == "tablet"
        assert event.frame_at is not None and event.decoder == "zxingcpp"
        shape = page.evaluate(
            """() => { const v = document.getElementById('tablet-video'),
                             c = document.getElementById('tablet-canvas');
                       return [v.videoWidth, v.videoHeight, c.width, c.height,
                               getComputedStyle(v).objectFit]; }"""
        )
        assert shape == [1280, 720, 1280, 720, "contain"]  # letterboxed, never stretched
        assert page.inner_text("#tablet-size").endswith("1280×720")
        assert page.js_errors == []
        page.context.close()
