"""Event streams against a real ``jifen serve``: scanner pages must not starve logins and scans.

Every open scanner page holds a server thread through its event stream. Before, waitress had 8
threads and a closed page kept its thread until the next heartbeat (15 s): a counter, a tablet
and a few reloads and the kiosk stopped answering. Here a real ``jifen serve`` process on a
free port gets 20 scanner streams opened and closed by raw sockets, then a keeper logs in and
scans a card within a second; and with a dozen streams left open, the same.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.extensions import db
from tests import factories
from tests.conftest import TEST_CONFIG
from tests.scan_images import jpeg, qr_image, scene

JIFEN = os.path.join(os.path.dirname(sys.executable), "jifen")
CARD_SECRET = "scanner-serve-card-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """A page's cookies and CSRF token over http.client: enough to log in and post a frame."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return response.status, data

    def login(self) -> None:
        status, page = self.request("GET", "/login?mode=password")
        assert status == 200
        self.csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = urllib.parse.urlencode(
            {"csrf_token": self.csrf, "username": "keeper1", "password": "secret123", "next": ""}
        ).encode()
        status, _ = self.request(
            "POST",
            "/login/password",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, "login refused"
        status, page = self.request("GET", "/scanner/tablet")
        assert status == 200
        self.csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()

    def post_frame(self, frame: bytes) -> dict:
        status, body = self.request(
            "POST",
            "/scanner/frame",
            frame,
            {"Content-Type": "image/jpeg", "Accept": "application/json", "X-CSRFToken": self.csrf},
        )
        assert status == 200, body
        return json.loads(body)

    def open_stream(self) -> socket.socket:
        """A scanner page's EventSource: the request sent and the first bytes read."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sock.sendall(
            b"GET /scanner/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            + f"Cookie: {cookie}\r\n\r\n".encode()
        )
        got = b""
        while b": connected" not in got:
            chunk = sock.recv(4096)
            assert chunk, got
            got += chunk
        assert got.startswith(b"HTTP/1.1 200")
        return sock


@pytest.fixture
def server(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'jifen.sqlite3'}"
    config = dict(TEST_CONFIG)
    config.update(
        SQLALCHEMY_DATABASE_URI=url,
        JIFEN_CARD_SECRET=CARD_SECRET,
        JIFEN_PRINTER_FILE=str(tmp_path / "printer.json"),
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, password="secret123")
        hh = factories.household(sm, points=50)
        payload = factories.card(hh)[1]
        db.session.remove()
        db.engine.dispose()
    instance = tmp_path / "instance"
    instance.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JIFEN_INSTANCE": str(instance),
        "JIFEN_CARD_SECRET": CARD_SECRET,
        "JIFEN_SECRET_KEY": "scanner-serve-session-key",
    }
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [JIFEN, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield port, payload
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _login_and_scan(port: int, frame: bytes) -> tuple[float, dict]:
    started = time.monotonic()
    keeper = Browser(port)
    keeper.login()
    body = keeper.post_frame(frame)
    return time.monotonic() - started, body


def test_closed_scanner_pages_free_their_threads_at_once(server):
    port, payload = server
    pages = Browser(port)
    pages.login()
    pages.post_frame(jpeg(scene(None)))  # OpenCV loads with the first frame, not at start-up
    # 20 scanner pages opened and closed (reloads, a tablet put to sleep, the counter and the
    # self-service screen coming and going): more than waitress's 8 request threads.
    for _ in range(20):
        pages.open_stream().close()
    elapsed, body = _login_and_scan(port, jpeg(scene(qr_image(payload))))
    assert [c["text"] for c in body["codes"]] == [payload] and body["published"] == 1
    assert elapsed < 1.0, f"login and scan took {elapsed:.2f} s"
    # Nobody is listening any more: the server let every stream go.
    deadline = time.monotonic() + 1.0
    while True:
        status, data = pages.request("GET", "/scanner/status")
        streams = json.loads(data)["streams"]
        if streams["open"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert streams["open"] == 0, streams


def test_open_scanner_pages_leave_threads_for_requests_and_hear_the_scan(server):
    port, payload = server
    pages = Browser(port)
    pages.login()
    pages.post_frame(jpeg(scene(None)))  # OpenCV loads with the first frame, not at start-up
    open_pages = [pages.open_stream() for _ in range(12)]
    try:
        elapsed, body = _login_and_scan(port, jpeg(scene(qr_image(payload))))
        assert body["published"] == 1
        assert elapsed < 1.0, f"login and scan took {elapsed:.2f} s"
        # Every open page hears the scan, with the frame's time and the decoder.
        for sock in open_pages:
            got = b""
            while b"\n\n" not in got.partition(b"event: scan\n")[2]:
                chunk = sock.recv(4096)
                assert chunk, got
                got += chunk
            block = got.partition(b"event: scan\n")[2]
            event = json.loads(block.split(b"data: ", 1)[1].split(b"\n", 1)[0])
            assert event["text"] == payload and event["decoder"] == "zxingcpp"
            assert event["frame_at"] == body["frame_at"]
    finally:
        for sock in open_pages:
            sock.close()
