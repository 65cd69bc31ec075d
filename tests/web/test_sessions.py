"""Sessions end: after JIFEN_SESSION_IDLE_MINUTES without a request (a counter left logged in)
and PERMANENT_SESSION_LIFETIME after login however busy; the login page says why. Failed
logins lock the account in the database, so the lock holds for a restarted app."""

from __future__ import annotations

import pytest

from kiosk import authn, create_app
from kiosk.extensions import db


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock, moved by hand."""
    now = {"t": 1_800_000_000}
    monkeypatch.setattr(authn, "_now", lambda: now["t"])
    return now


def login(client, username="keeper1", password="secret123"):
    return client.post("/login/password", data={"username": username, "password": password})


def test_idle_session_expires(app, client, keeper, clock):
    app.config["JIFEN_SESSION_IDLE_MINUTES"] = 30
    assert login(client).status_code == 302
    clock["t"] += 29 * 60
    assert client.get("/counter").status_code == 200  # still in time, and this touches it
    clock["t"] += 29 * 60
    assert client.get("/counter").status_code == 200  # idle time counts from the last request
    clock["t"] += 31 * 60
    response = client.get("/counter")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "登录已超时，请重新登录" in page
    # said once, not on every later visit
    assert "登录已超时" not in client.get("/login").get_data(as_text=True)


def test_busy_session_still_ends_at_its_lifetime(app, client, keeper, clock):
    app.config["JIFEN_SESSION_IDLE_MINUTES"] = 30
    app.config["PERMANENT_SESSION_LIFETIME"] = 8 * 3600
    login(client)
    for _ in range(16):  # a request every 20 minutes for 5h20m
        clock["t"] += 20 * 60
        assert client.get("/counter").status_code == 200
    for _ in range(9):  # ... and on past eight hours
        clock["t"] += 20 * 60
        response = client.get("/counter")
    assert response.status_code == 302


def test_expired_session_cannot_write_through_the_api(app, client, keeper, clock):
    app.config["JIFEN_SESSION_IDLE_MINUTES"] = 10
    login(client)
    clock["t"] += 11 * 60
    response = client.get("/api/v1/products")
    assert response.status_code == 401


def test_a_new_login_starts_a_new_session(app, client, keeper, clock):
    app.config["JIFEN_SESSION_IDLE_MINUTES"] = 10
    login(client)
    clock["t"] += 11 * 60
    assert client.get("/counter").status_code == 302
    login(client)
    assert client.get("/counter").status_code == 200


def _restart(app):
    config = {
        k: app.config[k]
        for k in (
            "TESTING",
            "SECRET_KEY",
            "JIFEN_CARD_SECRET",
            "WTF_CSRF_ENABLED",
            "JIFEN_PRINTER",
            "JIFEN_PASSWORD_METHOD",
            "SQLALCHEMY_DATABASE_URI",
        )
    }
    return create_app(config)


def test_password_failures_count_on_across_a_restart(app, keeper):
    client = app.test_client()
    for _ in range(2):
        page = login(client, password="wrong-1")
        assert page.status_code == 401 and "后再试" not in page.get_data(as_text=True)
    restarted = _restart(app)
    with restarted.app_context():
        try:
            other = restarted.test_client()
            response = login(other, password="wrong-2")
            assert response.status_code == 401
            # the two before the restart still count: the third starts the first wait
            assert "用户名或密码不正确，请15秒后再试" in response.get_data(as_text=True)
            # locked now, on every kiosk and after the restart, even with the right password
            response = login(other)
            assert response.status_code == 423
            assert "请15秒后再试" in response.get_data(as_text=True)
        finally:
            db.session.remove()
            db.engine.dispose()
    db.session.rollback()  # end this context's read snapshot from before the restart
    assert login(app.test_client()).status_code == 423
