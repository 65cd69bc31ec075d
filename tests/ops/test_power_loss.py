"""Power loss at the counter: ``jifen serve`` killed with SIGKILL while kiosks redeem.

Four kiosks post redemptions (each with its idempotency key) to a real ``jifen serve`` process;
the process is killed without warning several times, as a power cut would, and started again.
A kiosk whose request got no answer sends it again with the same key once the server is back,
as the counter page does. At the end every acknowledged redemption exists exactly once, no
key made two, stock and points moved once per redemption, and ``jifen check`` is clean — on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from kiosk import create_app
from kiosk.auth import issue_token
from kiosk.extensions import db
from kiosk.models import Redemption
from tests import factories
from tests.conftest import BACKENDS, PG_ADMIN_URL, TEST_CONFIG

KILLS = 4
KIOSKS = 4
CARD_SECRET = "power-loss-card-secret"
JIFEN = os.path.join(os.path.dirname(sys.executable), "jifen")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A database of this test's own (the server process writes into it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jifen.sqlite3'}"
        return
    name = f"jifen_power_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def seed(url: str, tmp_path: Path) -> dict:
    """A supermarket, a keeper's API token, households with cards and plenty of points, goods."""
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
        keeper = factories.user("keeper1", "keeper", sm, pin="1234")
        token = issue_token(keeper.id, label="power loss")
        payloads = []
        for _ in range(KIOSKS):
            hh = factories.household(sm, points=100_000)
            payloads.append(factories.card(hh)[1])
        product = factories.product(sm, name="食盐", cost_fen=200, stock_qty=5_000)
        seeded = {"token": token, "payloads": payloads, "product_id": product.id}
        db.session.remove()
        db.engine.dispose()
    return seeded


class Server:
    """``jifen serve`` as a process of its own, killed with SIGKILL and started again."""

    def __init__(self, url: str, instance: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "JIFEN_INSTANCE": str(instance),
            "JIFEN_CARD_SECRET": CARD_SECRET,
            "JIFEN_SECRET_KEY": "power-loss-session-key",
        }
        self.proc: subprocess.Popen | None = None
        self.log = instance / "serve.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [JIFEN, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--threads", "8"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                urllib.request.urlopen(self.base + "/login", timeout=2).close()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise AssertionError("jifen serve did not answer within 60 s:\n" + self.log.read_text())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


def kiosk(
    server: Server,
    seeded: dict,
    i: int,
    stop: threading.Event,
    acked: dict,
    resent: list,
    errors: list,
) -> None:
    """One kiosk: redeem one bag of salt after another; resend a request that got no answer."""
    try:
        _redeem_until_stopped(server, seeded, i, stop, acked, resent)
    except BaseException as exc:  # a thread's failure is the test's failure
        errors.append(repr(exc))
        stop.set()


def _redeem_until_stopped(
    server: Server, seeded: dict, i: int, stop: threading.Event, acked: dict, resent: list
) -> None:
    headers = {
        "Authorization": f"Bearer {seeded['token']}",
        "Content-Type": "application/json",
    }
    while not stop.is_set():
        key = f"k{i}-{uuid.uuid4().hex}"
        body = {
            "card": seeded["payloads"][i],
            "lines": [{"product_id": seeded["product_id"], "quantity": 1}],
            "idempotency_key": key,
        }
        data = json.dumps(body).encode()
        while True:  # until this request is answered, with the same key
            request = urllib.request.Request(
                server.base + "/api/v1/redemptions", data=data, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as r:
                    status, answer = r.status, json.loads(r.read())
            except urllib.error.HTTPError as exc:
                if exc.code >= 500:  # the database busy while the server comes back: again
                    time.sleep(0.05)
                    continue
                raise AssertionError(f"{exc.code}: {exc.read()!r}") from None
            except (urllib.error.URLError, OSError, http.client.HTTPException):
                resent.append(key)
                time.sleep(0.05)  # the server is down: send the same request again
                continue
            assert status in (200, 201), answer
            receipt_no = answer["redemption"]["receipt_no"]
            previous = acked.setdefault(key, receipt_no)
            assert previous == receipt_no, "one key, two receipts"
            break


def test_sigkill_during_redemptions_loses_and_doubles_nothing(database_url, tmp_path):
    seeded = seed(database_url, tmp_path)
    instance = tmp_path / "instance"
    instance.mkdir()
    server = Server(database_url, instance)
    acked: dict[str, str] = {}
    errors: list[str] = []
    resent: list[str] = []  # requests sent again after a kill
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=kiosk, args=(server, seeded, i, stop, acked, resent, errors), daemon=True
        )
        for i in range(KIOSKS)
    ]
    try:
        server.start()
        for t in threads:
            t.start()
        for kill in range(KILLS):
            # Kill once the kiosks are well into their work: a few more answers since the start.
            target = len(acked) + 10 + 3 * kill
            deadline = time.monotonic() + 30
            while len(acked) < target and time.monotonic() < deadline and not errors:
                time.sleep(0.01)
            assert not errors, errors
            assert len(acked) >= target, server.log.read_text()[-2000:]
            server.kill()
            time.sleep(0.2)  # requests in flight hit a closed port, as after a power cut
            server.start()
        # Let every kiosk get its last request answered by the restarted server.
        target = len(acked) + 10
        deadline = time.monotonic() + 30
        while len(acked) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(timeout=30)
            assert not t.is_alive()
        assert not errors, errors
    finally:
        stop.set()
        server.stop()

    assert len(acked) >= KILLS * 10
    # The kills hit the kiosks at work: requests went unanswered and were sent again.
    assert len(set(resent)) >= KILLS, resent
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(Redemption.idempotency_key, Redemption.receipt_no)).all()
    finally:
        engine.dispose()
    by_key: dict[str, list[str]] = {}
    for key, receipt_no in rows:
        by_key.setdefault(key, []).append(receipt_no)
    # Every acknowledged redemption is there once, under the receipt number the kiosk was told.
    for key, receipt_no in acked.items():
        assert by_key.get(key) == [receipt_no], key
    # Nothing beyond them: every request was answered in the end, none made two rows.
    assert len(rows) == len(acked)
    assert len({r for _, r in rows}) == len(rows)

    check = subprocess.run(
        [JIFEN, "check"], env=server.env, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "账目检查通过" in check.stdout
