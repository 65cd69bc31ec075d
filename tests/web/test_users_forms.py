"""The users page's posts read through Flask-WTF forms (kiosk/web/forms.py). Hostile input is
refused with the Chinese reason on the page it goes back to, never a 500, and changes
nothing; a password is taken exactly as typed, spaces and all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kiosk.extensions import db
from kiosk.models import ApiToken, User
from tests.conftest import sign_in

HUGE = str(2**63)


@pytest.fixture
def office(client, admin, keeper):
    return sign_in(client, "admin1")


def _users() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def _refused(client, url: str, data: dict, message: str) -> None:
    r = client.post(url, data=data, follow_redirects=True)
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, "用户名不能为空"),
        ({"username": "u" * 1000, "role": "keeper", "password": "secret123"}, "用户名太长了"),
        ({"username": "zhang", "role": "root", "password": "secret123"}, "角色只能是"),
        ({"username": "zhang", "role": "keeper"}, "请设置密码或PIN"),
        ({"username": "zhang", "role": "keeper", "pin": HUGE}, "PIN应为4到8位数字"),
        ({"username": "zhang", "role": "keeper", "pin": "١٢٣٤"}, "PIN应为4到8位数字"),
        ({"username": "zhang", "role": "admin", "password": "12345"}, "密码至少6位"),
    ],
)
def test_hostile_new_users_are_refused_in_chinese(office, data, message):
    before = _users()
    _refused(office, "/users/new", data, message)
    assert _users() == before


def test_a_password_is_kept_exactly_as_typed(office, client):
    r = office.post(
        "/users/new",
        data={
            "username": " zhang ",
            "display_name": " 张会计 ",
            "role": "admin",
            "password": " pa ss ",
        },
    )
    assert r.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "zhang"))
    assert user.display_name == "张会计"
    client.post("/logout")
    r = client.post("/login/password", data={"username": "zhang", "password": "pa ss"})
    assert r.status_code != 302
    r = client.post("/login/password", data={"username": "zhang", "password": " pa ss "})
    assert r.status_code == 302


@pytest.mark.parametrize(
    "path,data,message",
    [
        ("password", {}, "密码至少6位"),
        ("password", {"password": "1"}, "密码至少6位"),
        ("pin", {"pin": HUGE}, "PIN应为4到8位数字"),
        ("pin", {"pin": "-1234"}, "PIN应为4到8位数字"),
        ("pin", {"pin": "١٢٣٤"}, "PIN应为4到8位数字"),  # digits, but no keypad's
        ("pin", {"pin": "¹²³⁴"}, "PIN应为4到8位数字"),
        ("role", {}, "角色只能是"),
        ("role", {"role": HUGE}, "角色只能是"),
        ("active", {"active": "1"}, "该用户已经是启用状态"),
    ],
)
def test_hostile_changes_to_a_user_are_refused_in_chinese(office, keeper, path, data, message):
    _refused(office, f"/users/{keeper.id}/{path}", data, message)
    db.session.expire_all()
    assert db.session.get(User, keeper.id).role == "keeper"


@pytest.mark.parametrize("user_id", [HUGE, "999999"])
def test_no_such_user_is_not_found(office, user_id):
    r = office.post(f"/users/{user_id}/role", data={"role": "admin"}, follow_redirects=True)
    assert r.status_code in (200, 404)
    if r.status_code == 200:
        assert "没有找到该用户" in r.get_data(as_text=True)


def test_a_token_label_is_cut_to_100_characters(office, keeper):
    r = office.post(f"/users/{keeper.id}/tokens", data={"label": " " + "县" * 5000})
    assert r.status_code == 200
    token = db.session.scalar(sa.select(ApiToken))
    assert token.label == "县" * 100
