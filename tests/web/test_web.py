"""The pages through Flask's test client: login by password and PIN, lockout, logout, who may
open the counter, and the self-service answer (this household only, masked, Chinese errors)."""

from __future__ import annotations

import re

import pytest

from kiosk import create_app
from kiosk.extensions import db
from tests import factories


def pin_login(client, user_id: int, pin: str):
    return client.post("/login/pin", data={"keeper_id": user_id, "pin": pin})


def test_root_sends_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_login_page_shows_keeper_tiles_and_keypad(client, keeper):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "王店长" in page
    assert 'id="pin-keypad"' in page
    assert "用户名密码登录" in page


def test_password_login_goes_to_counter(client, keeper):
    response = client.post("/login/password", data={"username": "keeper1", "password": "secret123"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/counter")
    page = client.get("/counter").get_data(as_text=True)
    assert "请扫描积分卡" in page
    assert "王店长" in page


def test_admin_password_login_goes_to_the_office_home(client, admin):
    response = client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    assert response.headers["Location"].endswith("/home")
    assert client.get("/counter").status_code == 200


def test_wrong_password_shows_chinese_message(client, keeper):
    response = client.post("/login/password", data={"username": "keeper1", "password": "nope-nope"})
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/counter").status_code == 302


def test_pin_login(client, keeper):
    response = pin_login(client, keeper.id, "1234")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/counter")
    assert client.get("/counter").status_code == 200


def test_login_honours_next_but_not_other_sites(client, keeper):
    response = client.post(
        "/login/password",
        data={"username": "keeper1", "password": "secret123", "next": "//evil.example/counter"},
    )
    assert response.headers["Location"].endswith("/counter")
    assert "evil" not in response.headers["Location"]


def test_wrong_pin_says_how_long_to_wait_then_locks(client, keeper):
    for wait in (None, None, "15秒"):
        response = pin_login(client, keeper.id, "9999")
        assert response.status_code == 401
        page = response.get_data(as_text=True)
        assert "PIN不正确" in page
        assert f"请{wait}后再试" in page if wait else "后再试" not in page
    # Even the right PIN is refused while the wait runs, and the page says how long.
    response = pin_login(client, keeper.id, "1234")
    assert response.status_code == 423
    assert "已暂时锁定，请15秒后再试" in response.get_data(as_text=True)
    assert client.get("/counter").status_code == 302


def test_lockout_survives_a_new_app_on_the_same_database(app, keeper):
    client = app.test_client()
    for _ in range(5):
        pin_login(client, keeper.id, "0000")
    config = {
        k: app.config[k]
        for k in (
            "TESTING",
            "SECRET_KEY",
            "JIFEN_CARD_SECRET",
            "WTF_CSRF_ENABLED",
            "JIFEN_PRINTER",
            "SQLALCHEMY_DATABASE_URI",
        )
    }
    restarted = create_app(config)
    with restarted.app_context():
        try:
            response = pin_login(restarted.test_client(), keeper.id, "1234")
            assert response.status_code == 423
            assert "锁定" in response.get_data(as_text=True)
        finally:
            db.session.remove()
            db.engine.dispose()


def test_logout(client, keeper):
    pin_login(client, keeper.id, "1234")
    response = client.post("/logout")
    assert response.headers["Location"].endswith("/login")
    response = client.get("/counter")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_counter_requires_login(client, supermarket):
    response = client.get("/counter")
    assert response.status_code == 302
    assert "/login?next=/counter" in response.headers["Location"]


def test_supervisor_cannot_open_counter(client, supervisor):
    response = client.post("/login/password", data={"username": "super1", "password": "secret123"})
    assert response.status_code == 302
    assert not response.headers["Location"].endswith("/counter")
    response = client.get("/counter")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


def test_error_page_is_chinese(client, supermarket):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "没有找到" in page


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False


def test_forms_need_the_csrf_token(csrf_app, keeper):
    client = csrf_app.test_client()
    response = client.post("/login/pin", data={"keeper_id": keeper.id, "pin": "1234"})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login/pin", data={"keeper_id": keeper.id, "pin": "1234", "csrf_token": token}
    )
    assert response.status_code == 302
    counter = client.get("/counter").get_data(as_text=True)
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', counter)


def test_self_service_page_is_public(client, supermarket):
    response = client.get("/self")
    assert response.status_code == 200
    assert "请扫描您的积分卡" in response.get_data(as_text=True)


def test_self_service_scan_shows_only_that_household(client, supermarket, keeper):
    mine = factories.household(supermarket, points=60, head_name="欧阳娜娜", number="DC-007")
    other = factories.household(supermarket, points=500, head_name="王大锤", number="DC-008")
    _, payload = factories.card(mine)
    factories.card(other)
    factories.product(supermarket, name="大米", cost_fen=2500, stock_qty=3)
    factories.product(supermarket, name="电饭煲", cost_fen=19900, stock_qty=3)

    response = client.post("/self/scan", json={"payload": payload})
    assert response.status_code == 200
    body = response.get_json()
    text = response.get_data(as_text=True)
    assert body["household"] == {"number": "DC-007", "masked_name": "欧**娜", "village": "东村"}
    assert body["account"]["balance"] == 60
    assert body["decision"]["may_redeem"] is True
    assert [h["amount"] for h in body["history"]] == [60]
    available = {g["name"]: g["available"] for g in body["goods"]}
    assert available == {"大米": True, "电饭煲": False}
    for secret in ("欧阳娜娜", "王大锤", "DC-008", "500"):
        assert secret not in text
    assert "id" not in body["household"]


def test_self_service_shows_why_not(client, supermarket):
    hh = factories.household(supermarket, points=0)
    _, payload = factories.card(hh)
    body = client.post("/self/scan", json={"payload": payload}).get_json()
    assert body["decision"]["may_redeem"] is False
    assert "当前没有可用积分" in [r["message"] for r in body["decision"]["reasons"]]


@pytest.mark.parametrize(
    ("payload", "code", "message"),
    [
        ("JF" + "1" * 20, "card_invalid", "卡片无效"),
        ("hello", "card_invalid", "卡片无效"),
        ("", "invalid_request", "请扫描您的积分卡"),
        ("J" * 500, "card_invalid", "卡片无效"),
    ],
)
def test_self_service_bad_card_gives_chinese_json(client, supermarket, payload, code, message):
    response = client.post("/self/scan", json={"payload": payload})
    assert response.status_code in (400, 422)
    error = response.get_json()["error"]
    assert error["code"] == code
    assert message in error["message"]


def test_self_service_revoked_card(client, supermarket):
    hh = factories.household(supermarket, points=10)
    _, old = factories.card(hh)
    factories.card(hh)  # reissue revokes the old card
    response = client.post("/self/scan", json={"payload": old})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "card_revoked"
