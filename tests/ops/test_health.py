"""GET /healthz, the 设备状态 page and the counter's device warning (kiosk.health)."""

from __future__ import annotations

import json
import os
import shutil
from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from kiosk import create_app, health
from kiosk.backup import write_status
from kiosk.extensions import db
from tests import factories
from tests.browser_support import browser  # noqa: F401  (the fixture)
from tests.conftest import TEST_CONFIG

Usage = namedtuple("Usage", "total used free")


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


@pytest.fixture
def instance(app, tmp_path):
    """This test's own instance folder (backups/status.json lives there)."""
    folder = tmp_path / "instance"
    folder.mkdir()
    app.instance_path = str(folder)
    return folder


@pytest.fixture
def at_head(app):
    """The database stamped at the newest migration, as `jifen init` leaves it."""
    from kiosk.schema import head_revision

    with db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": head_revision()})
    yield
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))


def fresh_backup(instance, hours: float = 2, copy: bool = True) -> None:
    at = datetime.now(UTC) - timedelta(hours=hours)
    write_status(
        str(instance),
        last_good_at=at.isoformat(),
        last_good_path=str(instance / "backups" / "jifen-20261205-0230.jifenbak"),
        last_copy_path="/media/usb0/jifen-backup/jifen-20261205-0230.jifenbak" if copy else None,
    )


def test_healthz_ok_needs_no_login_and_shows_nothing_personal(
    app, client, instance, at_head, supermarket
):
    factories.household(supermarket, head_name="张三丰", number="H0042")
    fresh_backup(instance)
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["status"] == "ok", body
    checks = body["checks"]
    assert checks["database"] == {
        "status": "ok",
        "backend": db.engine.dialect.name,
        "reachable": True,
    }
    assert checks["schema"]["at_head"] is True
    assert checks["disk"]["free_bytes"] > 0 and checks["disk"]["status"] == "ok"
    assert checks["backup"]["stale"] is False and checks["backup"]["off_box"] is True
    assert 1.9 <= checks["backup"]["age_hours"] <= 2.1
    assert checks["printer"] == {"status": "ok", "type": "preview", "state": "online"}
    assert body["version"] == health.jifen_version() != "unknown"
    text = r.get_data(as_text=True)
    assert "张三丰" not in text and "H0042" not in text
    assert "/media/usb0" not in text and str(instance) not in text  # no paths


def test_healthz_degraded_without_a_backup_or_migrations(app, client, instance):
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["backup"]["status"] == "warning"
    assert body["checks"]["backup"]["last_good_at"] is None
    assert body["checks"]["schema"] == {
        "status": "warning",
        "revision": None,
        "head": health._head_revision(),
        "at_head": False,
    }


@pytest.mark.parametrize(
    ("hours", "failed", "expected"),
    [(35, False, "ok"), (37, False, "warning"), (3, True, "warning")],
)
def test_backup_age_and_failure(app, instance, hours, failed, expected):
    fresh_backup(instance, hours=hours)
    if failed:
        write_status(
            str(instance),
            last_failed_at=datetime.now(UTC).isoformat(),
            last_error="磁盘已满",
        )
    check = health.backup_check(str(instance))
    assert check["status"] == expected
    assert check["last_failed"] is failed


def test_disk_nearly_full_degrades_and_full_is_down(app, client, instance, at_head, monkeypatch):
    fresh_backup(instance)
    gib = 1024**3
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: Usage(32 * gib, 31 * gib, gib // 2))
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["checks"]["disk"]["status"] == "warning"
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: Usage(32 * gib, 32 * gib, 10 * 1024**2))
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["status"] == "down"


def test_printer_offline_degrades(app, client, instance, at_head):
    fresh_backup(instance)
    import socket

    with socket.socket() as s:  # a port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config["JIFEN_PRINTER"] = {"type": "network", "host": "127.0.0.1", "port": port}
    body = client.get("/healthz").get_json()
    assert body["checks"]["printer"]["state"] == "offline"
    assert body["status"] == "degraded"


def test_healthz_down_when_the_database_is_unreachable(tmp_path):
    with socket_free_port() as port:
        config = dict(TEST_CONFIG)
        config["SQLALCHEMY_DATABASE_URI"] = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 2}}
        config["JIFEN_PRINTER_FILE"] = str(tmp_path / "printer.json")
        app = create_app(config)
        app.instance_path = str(tmp_path)
        r = app.test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["reachable"] is False


class socket_free_port:  # noqa: N801  (a context manager used like a function)
    """A local port that refuses connections while the block runs."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


@pytest.mark.parametrize("role", ["keeper", "admin", "supervisor"])
def test_device_page_for_the_staff(app, client, instance, supermarket, role):
    factories.user(f"{role}9", role, supermarket)
    fresh_backup(instance, hours=3, copy=False)
    login(client, f"{role}9")
    r = client.get("/device")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "设备状态" in html
    assert "jifen-20261205-0230.jifenbak" in html  # where the backup went
    assert 'id="backup-local-only"' in html  # and that it never left the box
    assert 'id="backup-stale"' not in html
    assert health.jifen_version() in html
    assert 'href="/device"' in html  # its tab in the office navigation


def test_device_page_warns_of_a_stale_backup_and_shows_the_copy(app, client, instance, keeper):
    fresh_backup(instance, hours=40, copy=True)
    login(client, "keeper1")
    html = client.get("/device").get_data(as_text=True)
    assert 'id="backup-stale"' in html
    assert 'id="backup-local-only"' not in html
    assert "/media/usb0/jifen-backup/" in html


def test_device_page_needs_login(app, client, instance):
    r = client.get("/device")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_device_page_in_english(app, client, instance, keeper):
    login(client, "keeper1")
    html = client.get("/device?lang=en").get_data(as_text=True)
    assert "Device status" in html and "No backup yet" in html
    assert "设备状态" not in html


def test_counter_warns_when_backups_are_stale_or_the_disk_nearly_full(
    app, client, instance, keeper, monkeypatch
):
    login(client, "keeper1")
    fresh_backup(instance, hours=2)
    html = client.get("/counter").get_data(as_text=True)
    assert 'data-url="/device/warnings" hidden>' in html
    assert client.get("/device/warnings").get_json() == {"warnings": []}
    fresh_backup(instance, hours=50)
    html = client.get("/counter").get_data(as_text=True)
    assert 'data-url="/device/warnings">' in html and "备份已超过 50 小时" in html
    assert client.get("/device/warnings").get_json() == {"warnings": ["备份已超过 50 小时"]}
    assert client.get("/device/warnings?lang=en").get_json() == {
        "warnings": ["Last backup over 50 hours ago"]
    }
    fresh_backup(instance, hours=2)
    gib = 1024**3
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: Usage(32 * gib, 31 * gib, gib // 2))
    html = client.get("/counter?lang=zh").get_data(as_text=True)
    assert "磁盘快满了" in html and 'href="/device"' in html


def test_device_warnings_are_for_the_counter_staff(app, client, instance, supermarket):
    assert client.get("/device/warnings").status_code == 401
    factories.user("super9", "supervisor", supermarket)
    login(client, "super9")
    assert client.get("/device/warnings").status_code == 403


def test_read_backup_status_follows_the_backup_contract(app, instance):
    (instance / "backups").mkdir()
    (instance / "backups" / "status.json").write_text(
        json.dumps({"last_good_at": "2026-12-01T02:30:00+00:00", "last_copy_path": None})
    )
    status = health.read_backup_status(str(instance))
    assert status["last_good_at"] == "2026-12-01T02:30:00+00:00"
    assert status["last_copy_path"] is None and status["last_error"] is None


# --- what the keeper sees (Playwright, Debian's chromium) -------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize(
    "size", [(1280, 800), (1024, 600), (800, 480)], ids=lambda s: f"{s[0]}x{s[1]}"
)
def test_device_page_and_counter_warning_fit_the_screen(browser, tmp_path, size):  # noqa: F811
    from tests.browser_support import LiveServer, assert_fits, browser_app, new_page, seeded, shoot

    app = browser_app(tmp_path)
    app.instance_path = str(tmp_path / "instance")
    os.makedirs(app.instance_path)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
    # A backup two days old, with a long path, never copied off the box.
    write_status(
        app.instance_path,
        last_good_at=(datetime.now(UTC) - timedelta(hours=50)).isoformat(),
        last_good_path=app.instance_path + "/backups/jifen-DT01-20261204T023012Z-nightly.jifenbak",
        last_failed_at=datetime.now(UTC).isoformat(),
        last_error="U盘已满：No space left on device",
    )
    with LiveServer(app) as server:
        page = new_page(browser, size)
        page.goto(server.url + "/login?mode=password")
        page.fill("input[name=username]", "keeper1")
        page.fill("input[name=password]", "secret123")
        page.locator("form.password-form button[type=submit]").click()
        page.wait_for_url(server.url + "/counter")
        warning = page.locator("#device-warning")
        assert warning.is_visible()
        assert "备份已超过 50 小时" in warning.inner_text()
        shoot(page, "counter-device-warning")
        assert_fits(page)
        # The page stays open for days: a backup made meanwhile clears the warning when the
        # counter asks again (every few minutes, and when the screen is shown again).
        fresh_path = app.instance_path + "/backups/fresh.jifenbak"
        write_status(
            app.instance_path,
            last_good_at=datetime.now(UTC).isoformat(),
            last_good_path=fresh_path,
            last_failed_at=None,
        )
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.locator("#device-warning-box").wait_for(state="hidden")
        write_status(
            app.instance_path,
            last_good_at=(datetime.now(UTC) - timedelta(hours=50)).isoformat(),
            last_failed_at=datetime.now(UTC).isoformat(),
        )
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        warning.wait_for(state="visible")
        warning.click()
        page.wait_for_url(server.url + "/device")
        for section in ("#backup-stale", "#backup-local-only", "#backup-failed", "#device-printer"):
            assert page.locator(section).is_visible(), section
        shoot(page, "device")
        assert_fits(page)
        assert not page.js_errors
        page.context.close()
