"""The scanner pages: tablet frames decoded on the server, SSE scan events, MJPEG preview,
the camera started once per process; and a browser page receiving a scan by SSE."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from hardware.camera import ScanEvent
from kiosk.web import scanner
from tests import factories
from tests.browser.test_browser_counter import login_by_pin
from tests.browser_support import (
    LiveServer,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
)
from tests.conftest import make_app
from tests.scan_images import (
    EAN,
    PAYLOAD,
    card_frame,
    ean13_image,
    jpeg,
    qr_image,
    scene,
    write_card_video,
)


def login(client, username: str = "keeper1") -> None:
    response = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert response.status_code == 302


def post_frame(client, data: bytes, **kwargs):
    return client.post(
        "/scanner/frame",
        data=data,
        headers={"Content-Type": "image/jpeg", "Accept": "application/json"},
        **kwargs,
    )


def test_posted_card_frame_is_decoded_and_published(app, client, keeper, supermarket):
    login(client)
    hub = app.extensions["jifen_scanner"]
    mine, other = hub.bus.subscribe(supermarket.id), hub.bus.subscribe(supermarket.id + 1)
    before = time.time()
    response = post_frame(client, jpeg(card_frame()))
    assert response.status_code == 200
    body = response.json
    # The shape the tablet and phone pages read, plus the frame's time and its size.
    assert body["codes"] == [{"text": PAYLOAD, "kind": "qr", "decoder": "zxingcpp"}]
    assert body["published"] == 1 and body["size"] == [640, 480]
    assert before <= body["frame_at"] <= time.time()
    event = mine.get(timeout=1)
    assert (event.text, event.kind, event.source, event.channel, event.decoder) == (
        PAYLOAD,
        "qr",
        "tablet",
        supermarket.id,
        "zxingcpp",
    )
    assert event.frame_at == body["frame_at"]
    assert other.get(timeout=0.05) is None  # another supermarket's kiosk hears nothing
    # The card still held up 300 ms later: read again, but not published twice.
    again = post_frame(client, jpeg(card_frame()))
    assert again.json["codes"][0]["text"] == PAYLOAD and again.json["published"] == 0
    assert mine.get(timeout=0.05) is None


def test_product_barcode_as_multipart_upload(client, keeper):
    login(client)
    frame = jpeg(scene(ean13_image()), quality=95)
    from io import BytesIO

    response = client.post(
        "/scanner/frame",
        data={"frame": (BytesIO(frame), "frame.jpg", "image/jpeg")},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert [(c["text"], c["kind"]) for c in response.json["codes"]] == [(EAN, "ean13")]


def test_blank_frame_finds_nothing(client, keeper):
    login(client)
    response = post_frame(client, jpeg(scene(None)))
    assert response.json["codes"] == [] and response.json["published"] == 0


@pytest.mark.parametrize("data", [b"not a jpeg at all", b"", b"\xff\xd8\xff\xe0garbage"])
def test_bad_image_is_refused_in_chinese(client, keeper, data):
    login(client)
    response = post_frame(client, data)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_image"
    assert "图片无法识别" in response.json["error"]["message"]


@pytest.mark.parametrize(
    "who,status", [(None, 401), ("super1", 403), ("keeper1", 200), ("admin1", 200)]
)
def test_frame_needs_a_keeper_or_admin(client, keeper, admin, supervisor, who, status):
    if who:
        login(client, who)
    assert post_frame(client, jpeg(scene(None))).status_code == status


@pytest.mark.parametrize("path", ["/scanner/events", "/scanner/preview.mjpg", "/scanner/tablet"])
def test_pages_need_login(client, keeper, path):
    response = client.get(path)
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]


def test_events_stream_scans_heartbeats_and_ends(app, client, keeper, supermarket):
    app.config.update(JIFEN_SSE_HEARTBEAT=0.1, JIFEN_SSE_MAX_SECONDS=0.6)
    login(client)
    bus = app.extensions["jifen_scanner"].bus
    response = client.get("/scanner/events", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert bus.subscriber_count == 1  # subscribed before the first byte
    bus.publish(ScanEvent(PAYLOAD, "qr", "zxingcpp", "camera", None))
    bus.publish(ScanEvent("JF99", "qr", "zxingcpp", "tablet", supermarket.id + 1))
    body = b"".join(response.iter_encoded()).decode()  # ends by itself after 0.6 s
    response.close()
    assert body.startswith("retry: 2000\n")
    assert ": heartbeat\n\n" in body
    scans = [
        json.loads(block.split("data: ", 1)[1])
        for block in body.split("\n\n")
        if block.startswith("event: scan")
    ]
    assert [(s["text"], s["source"]) for s in scans] == [(PAYLOAD, "camera")]
    assert body.endswith("event: bye\ndata: {}\n\n")
    assert bus.subscriber_count == 0


def test_tablet_page_renders(client, keeper):
    login(client)
    response = client.get("/scanner/tablet")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "js/tablet.js" in html and "平板扫码" in html and "/scanner/frame" in html


def test_preview_without_camera_is_404(client, keeper):
    login(client)
    response = client.get("/scanner/preview.mjpg", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["error"]["message"] == "没有配置摄像头"


def _camera_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("jifen-camera")]


def test_cli_commands_never_open_the_camera(tmp_path):
    """`jifen init/demo/check` make the app: on a kiosk with a webcam they must not grab it."""
    video = write_card_video(str(tmp_path / "cam.avi"))
    app = make_app(SimpleNamespace(), tmp_path, {"JIFEN_CAMERA": {"source": video}})
    try:
        hub = app.extensions["jifen_scanner"]
        assert hub.camera is None and not scanner._PROCESS_CAMERAS
        result = app.test_cli_runner().invoke(args=["check"])
        assert "账目检查通过" in result.output, result.output
        assert hub.camera is None and not scanner._PROCESS_CAMERAS
        assert _camera_threads() == []
    finally:
        scanner.stop_all_cameras()


def test_camera_starts_on_serving_once_per_process_and_not_in_reloader_parent(
    tmp_path, monkeypatch
):
    video = write_card_video(str(tmp_path / "cam.avi"))
    config = {
        "JIFEN_CAMERA": {"source": video, "backoff": 0.1, "size": "1280x720"},
        "JIFEN_PREVIEW_MAX_SECONDS": 0.5,
    }
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    parent = make_app(SimpleNamespace(), tmp_path, {**config, "JIFEN_CAMERA_RELOADER": True})
    assert scanner.start_camera(parent) is False  # the reloader's watcher never serves
    assert parent.extensions["jifen_scanner"].camera is None
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")  # the serving child
    try:
        first = make_app(SimpleNamespace(), tmp_path, {**config, "JIFEN_CAMERA_RELOADER": True})
        second = make_app(SimpleNamespace(), tmp_path, config)
        hub1, hub2 = first.extensions["jifen_scanner"], second.extensions["jifen_scanner"]
        assert hub1.camera is None  # made, not yet serving
        with first.app_context():
            factories.user("keeper1", "keeper", factories.supermarket())
        client = first.test_client()
        login(client)  # the first request: this process serves
        assert hub1.camera is not None and hub1.camera.running
        assert hub1.camera.requested_size == (1280, 720)
        assert scanner.start_camera(second) is True
        assert hub2.camera is hub1.camera and hub2.worker is hub1.worker  # one per process
        response = client.get("/scanner/preview.mjpg", buffered=False)
        assert response.mimetype == "multipart/x-mixed-replace"
        chunk = next(response.iter_encoded())
        response.close()
        assert chunk.startswith(b"--frame\r\nContent-Type: image/jpeg\r\n")
        assert b"\xff\xd8" in chunk  # a JPEG follows
        status = client.get("/scanner/status").json
        # A file keeps its own size: the status says what was asked and what came.
        assert status["camera"]["requested_size"] == "1280x720"
        assert status["camera"]["delivered_size"] == "640x480"
        assert status["decoder"] == {"configured": "auto", "name": "auto", "fallback": "pyzbar"}
        device = client.get("/device").get_data(as_text=True)
        assert "画面 640x480" in device and "（设定 1280x720）" in device
    finally:
        scanner.stop_all_cameras()
    assert not hub1.camera.running and not hub1.worker.running


def test_malformed_camera_size_fails_at_start_up(tmp_path):
    with pytest.raises(ValueError, match="1280x720"):
        make_app(SimpleNamespace(), tmp_path, {"JIFEN_CAMERA": {"source": 0, "size": "big"}})


def test_serve_options_add_threads_for_event_streams(app):
    app.config["JIFEN_SSE_MAX_STREAMS"] = 20
    assert scanner.serve_options(app, 8) == {"threads": 28, "channel_request_lookahead": 1}


def test_a_stream_over_the_limit_ends_the_oldest(app, client, keeper):
    app.config.update(JIFEN_SSE_HEARTBEAT=5, JIFEN_SSE_MAX_SECONDS=5)
    hub = app.extensions["jifen_scanner"]
    hub.max_streams = 2
    login(client)
    first = client.get("/scanner/events", buffered=False)
    second = client.get("/scanner/events", buffered=False)
    assert hub.open_streams == 2
    third = client.get("/scanner/events", buffered=False)
    assert hub.open_streams == 2
    # The oldest stream ends at once with a bye (its page reconnects); the others stay.
    started = time.monotonic()
    body = b"".join(first.iter_encoded()).decode()
    assert time.monotonic() - started < 1
    assert body.endswith("event: bye\ndata: {}\n\n")
    for response in (first, second, third):
        response.close()
    assert hub.open_streams == 0


@pytest.mark.browser
def test_browser_page_receives_scan_by_sse(tmp_path, browser):  # noqa: F811
    """A counter page subscribed to /scanner/events gets the scan a tablet frame produced."""
    app = browser_app(tmp_path, JIFEN_SSE_HEARTBEAT=0.5, JIFEN_SSE_MAX_SECONDS=8)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
    with LiveServer(app) as server:
        page = new_page(browser, (1280, 800))
        login_by_pin(page, server.url)
        page.wait_for_url(server.url + "/counter")
        page.evaluate(
            """() => new Promise((resolve, reject) => {
                window.__scans = [];
                const source = new EventSource('/scanner/events');
                source.addEventListener('scan', (e) => window.__scans.push(JSON.parse(e.data)));
                source.onopen = () => resolve();
                source.onerror = () => reject(new Error('EventSource failed'));
                window.__source = source;
            })"""
        )
        token = page.get_attribute('meta[name="csrf-token"]', "content")
        response = page.request.post(
            server.url + "/scanner/frame",
            data=jpeg(card_frame()),
            headers={"Content-Type": "image/jpeg", "X-CSRFToken": token},
        )
        assert response.status == 200 and response.json()["published"] == 1
        page.wait_for_function("() => window.__scans.length > 0")
        scans = page.evaluate("window.__scans")
        assert [(s["text"], s["kind"], s["source"]) for s in scans] == [(PAYLOAD, "qr", "tablet")]
        page.evaluate("window.__source.close()")
        assert page.js_errors == []
        page.context.close()


@pytest.mark.browser
def test_a_tablet_frame_opens_the_household_at_the_counter(tmp_path, browser):  # noqa: F811
    """The counter listens to /scanner/events itself: a card shown to a tablet's camera opens
    that household, as a USB scanner's scan does."""
    from kiosk.cards import payload_for

    app = browser_app(tmp_path, JIFEN_SSE_HEARTBEAT=0.5, JIFEN_SSE_MAX_SECONDS=60)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        hh = factories.household(sm, points=30, head_name="张三丰", number="DC-009")
        card, _ = factories.card(hh)
        payload = payload_for(card)
    with LiveServer(app) as server:
        page = new_page(browser, (1280, 800))
        login_by_pin(page, server.url)
        page.wait_for_url(server.url + "/counter")
        page.wait_for_selector("[data-scan-events='open']", state="attached")
        token = page.get_attribute('meta[name="csrf-token"]', "content")
        response = page.request.post(
            server.url + "/scanner/frame",
            data=jpeg(scene(qr_image(payload))),
            headers={"Content-Type": "image/jpeg", "X-CSRFToken": token},
        )
        assert response.status == 200 and response.json()["published"] == 1
        page.wait_for_selector("#screen-shop:visible")
        assert page.inner_text("#hh-name") == "张*丰"
        assert page.inner_text("#hh-number") == "DC-009"
        assert page.js_errors == []
        page.context.close()
