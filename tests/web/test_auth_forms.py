"""The login posts read through Flask-WTF forms (kiosk/web/forms.py). A keeper tile that is
no row id is no tile (400, the page asks to choose a name), a hostile PIN
or password is a failed login like any other, never a 500; a password is taken exactly as
typed and ``next`` is judged as it was sent."""

from __future__ import annotations

import pytest

HUGE = str(2**63)


@pytest.mark.parametrize("keeper_id", [None, "", HUGE, "-1", "0", "٣", "¹", "1.0", "k" * 5000])
def test_a_pin_without_a_keeper_tile_asks_for_the_name(client, keeper, keeper_id):
    data = {"pin": "1234"}
    if keeper_id is not None:
        data["keeper_id"] = keeper_id
    r = client.post("/login/pin", data=data)
    assert r.status_code == 400
    assert "请先点选您的名字" in r.get_data(as_text=True)


@pytest.mark.parametrize("pin", ["١٢٣٤", "¹²³⁴", HUGE, "", "1" * 5000, "12\x0034"])
def test_a_hostile_pin_is_refused_never_a_500(client, keeper, pin):
    r = client.post("/login/pin", data={"keeper_id": str(keeper.id), "pin": pin})
    assert 400 <= r.status_code < 500
    page = r.get_data(as_text=True)
    assert "PIN不正确" in page or "控制字符" in page


def test_the_pin_is_taken_with_spaces_around_it(client, keeper):
    r = client.post("/login/pin", data={"keeper_id": f" {keeper.id} ", "pin": " 1234 "})
    assert r.status_code == 302


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, "请输入用户名和密码"),
        ({"username": "admin1"}, "请输入用户名和密码"),
        ({"username": "   ", "password": "secret123"}, "请输入用户名和密码"),
        ({"username": "admin1", "password": "secret123 "}, "用户名或密码不正确"),
        ({"username": "admin1" * 1000, "password": "secret123"}, "用户名或密码不正确"),
        ({"username": HUGE, "password": HUGE}, "用户名或密码不正确"),
    ],
)
def test_hostile_password_logins_are_refused(client, admin, data, message):
    r = client.post("/login/password", data=data)
    assert 400 <= r.status_code < 500
    assert message in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "target,landing",
    [
        ("/stock", "/stock"),
        (" /stock", "/home"),  # as sent: not a path, so home
        ("//evil.example/x", "/home"),
        ("https://evil.example/", "/home"),
        ("/\\evil.example", "/home"),
    ],
)
def test_next_is_judged_as_sent(client, admin, target, landing):
    r = client.post(
        "/login/password",
        data={"username": " admin1 ", "password": "secret123", "next": target},
    )
    assert r.status_code == 302
    assert r.headers["Location"] == landing
