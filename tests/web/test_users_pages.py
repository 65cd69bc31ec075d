"""The users page (用户): admins add, reset, deactivate, unlock and hand out API tokens;
supervisors read; keepers are kept out; every change is audited without secrets; CSRF on
every form."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import g

from kiosk import auth
from kiosk.check import run_checks
from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from kiosk.models import ApiToken, AuditEvent, User
from kiosk.timeutil import to_local
from tests import factories


def login(client, username: str, password: str = "secret123"):
    return client.post("/login/password", data={"username": username, "password": password})


def _audits(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def _user(username: str) -> User:
    db.session.rollback()
    return db.session.scalar(sa.select(User).where(User.username == username))


@pytest.mark.parametrize(
    "who,status", [("admin1", 200), ("super1", 200), ("keeper1", 403), (None, 302)]
)
def test_who_may_open_the_users_page(client, admin, supervisor, keeper, who, status):
    if who:
        login(client, who)
    response = client.get("/users")
    assert response.status_code == status


def test_supervisor_sees_the_page_read_only(client, admin, supervisor, keeper):
    login(client, "super1")
    page = client.get("/users").get_data(as_text=True)
    assert "王店长" in page and "只读" in page
    assert 'action="/users/new"' not in page and "重设密码" not in page
    # and cannot post either
    response = client.post(f"/users/{keeper.id}/active", data={"active": "0"})
    assert response.status_code == 403
    assert _user("keeper1").active


def test_admin_adds_a_keeper_with_a_pin(client, admin):
    login(client, "admin1")
    response = client.post(
        "/users/new",
        data={
            "username": "keeper2",
            "display_name": "陈店长",
            "role": "keeper",
            "password": "secret456",
            "pin": "4321",
        },
        follow_redirects=True,
    )
    assert "已添加用户 陈店长" in response.get_data(as_text=True)
    created = _user("keeper2")
    assert created.role == "keeper" and created.pin_hash and created.supermarket_id
    event = _audits("user.create")[-1]
    assert event.actor_id == admin.id
    assert event.data["after"]["has_pin"] is True
    dumped = str(event.data)
    assert "4321" not in dumped and "secret456" not in dumped and "pbkdf2" not in dumped
    # the new keeper can log in with the PIN at the counter
    client.post("/logout")
    response = client.post("/login/pin", data={"keeper_id": created.id, "pin": "4321"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "form,message",
    [
        (
            {"username": "", "display_name": "x", "role": "keeper", "password": "secret1"},
            "用户名不能为空",
        ),
        (
            {"username": "x", "display_name": "x", "role": "boss", "password": "secret1"},
            "角色只能是",
        ),
        ({"username": "x", "display_name": "x", "role": "admin", "password": "123"}, "密码至少6位"),
        (
            {"username": "x", "display_name": "x", "role": "keeper", "pin": "12"},
            "PIN应为4到8位数字",
        ),
        (
            {"username": "admin1", "display_name": "x", "role": "admin", "password": "secret1"},
            "已存在",
        ),
        # The same length limit as a household's names (50), said in words, on both databases.
        (
            {"username": "x", "display_name": "张" * 51, "role": "admin", "password": "secret1"},
            "姓名太长了，最多50个字",
        ),
        (
            {"username": "u" * 51, "display_name": "x", "role": "admin", "password": "secret1"},
            "用户名太长了，最多50个字",
        ),
    ],
)
def test_bad_new_user_is_refused_in_chinese(client, admin, form, message):
    login(client, "admin1")
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    page = client.post("/users/new", data=form, follow_redirects=True).get_data(as_text=True)
    assert message in page
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_reset_password_ends_old_sessions_and_is_audited(client, app, admin, keeper):
    other = app.test_client()
    login(other, "keeper1")
    assert other.get("/counter").status_code == 200
    login(client, "admin1")
    page = client.post(
        f"/users/{keeper.id}/password", data={"password": "newpass1"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已为王店长重设密码" in page
    assert other.get("/counter").status_code == 302  # the old session is over
    assert login(app.test_client(), "keeper1", "newpass1").status_code == 302
    event = _audits("user.reset_password")[-1]
    assert event.data["before"] == {"has_password": True}
    assert "newpass1" not in str(event.data)


def test_reset_pin_and_refuse_a_bad_one(client, admin, keeper):
    login(client, "admin1")
    page = client.post(
        f"/users/{keeper.id}/pin", data={"pin": "12a4"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "PIN应为4到8位数字" in page
    client.post(f"/users/{keeper.id}/pin", data={"pin": "9876"})
    assert auth.login_pin(keeper.id, "9876").id == keeper.id
    assert _audits("user.reset_pin")[-1].data["after"] == {"has_pin": True}


def test_deactivate_and_reactivate(client, admin, keeper):
    login(client, "admin1")
    page = client.post(
        f"/users/{keeper.id}/active", data={"active": "0"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已停用王店长" in page and "已停用" in page
    assert not _user("keeper1").active
    assert login(client.application.test_client(), "keeper1").status_code == 401
    client.post(f"/users/{keeper.id}/active", data={"active": "1"})
    assert _user("keeper1").active
    actions = [e.action for e in _audits("user.deactivate") + _audits("user.activate")]
    assert actions == ["user.deactivate", "user.activate"]


def test_admin_cannot_deactivate_themselves_or_the_last_admin(client, admin, supermarket):
    login(client, "admin1")
    page = client.post(
        f"/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "不能停用自己的账号" in page
    assert _user("admin1").active
    other = factories.user("admin2", "admin", supermarket)
    client.post(f"/users/{other.id}/active", data={"active": "0"})
    assert not _user("admin2").active
    with pytest.raises(ValidationFailed, match="最后一个"):
        auth.set_active(admin.id, False, actor=_user("admin2"))
    assert _user("admin1").active


def test_unlock_a_locked_keeper(client, app, admin, keeper):
    # The counter is another device than the admin's (waits are counted per device too).
    counter = app.test_client()
    counter.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    for _ in range(5):
        counter.post("/login/pin", data={"keeper_id": keeper.id, "pin": "0000"})
    assert (
        counter.post("/login/pin", data={"keeper_id": keeper.id, "pin": "1234"}).status_code == 423
    )
    login(client, "admin1")
    page = client.get("/users").get_data(as_text=True)
    assert "已锁定至" in page
    page = client.post(f"/users/{keeper.id}/unlock", follow_redirects=True).get_data(as_text=True)
    assert "已解锁王店长" in page
    assert (
        counter.post("/login/pin", data={"keeper_id": keeper.id, "pin": "1234"}).status_code == 302
    )
    event = _audits("user.unlock")[-1]
    assert event.data["before"]["locked"] is True and event.data["after"]["locked"] is False
    # unlocking someone not locked is refused
    page = client.post(f"/users/{keeper.id}/unlock", follow_redirects=True).get_data(as_text=True)
    assert "该账号没有被锁定" in page


def test_token_is_shown_once_works_and_is_revoked(client, admin, keeper):
    login(client, "admin1")
    response = client.post(f"/users/{keeper.id}/tokens", data={"label": "扫码枪平板"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    token = re.search(r'id="token-value">(jf_[^<]+)<', page).group(1)
    assert "只显示这一次" in page
    api = client.application.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/products", headers=headers).status_code == 200
    spare = auth.issue_token(keeper.id, label="备用平板")  # issued, never used
    db.session.rollback()  # (the test's requests share its session: the page reads anew)
    listing = client.get("/users").get_data(as_text=True)
    assert token not in listing and "扫码枪平板" in listing
    # The token was just used: the page tells it from a forgotten one.
    used, unused = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == keeper.id).order_by(ApiToken.id)
    ).all()
    assert spare.startswith("jf_") and unused.label == "备用平板"

    def line(t: ApiToken) -> str:
        return listing.split(f'id="token-{t.id}"')[1].split("</li>")[0]

    shown = to_local(used.last_used_at, client.application.config["JIFEN_TIMEZONE"])
    assert f"最后使用{shown:%Y-%m-%d %H:%M}" in line(used) and "从未使用" in line(unused)
    assert all(token not in str(issued.data) for issued in _audits("token.issue"))
    row = used
    page = client.post(f"/users/tokens/{row.id}/revoke", follow_redirects=True).get_data(
        as_text=True
    )
    assert "令牌已吊销" in page
    assert api.get("/api/v1/products", headers=headers).status_code == 401
    page = client.post(f"/users/tokens/{row.id}/revoke", follow_redirects=True).get_data(
        as_text=True
    )
    assert "该令牌已经吊销" in page
    assert len(_audits("token.revoke")) == 1
    assert run_checks() == []


def test_users_of_another_supermarket_are_out_of_reach(client, admin):
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    stranger = factories.user("gy_keeper", "keeper", other, display_name="外村店长")
    login(client, "admin1")
    assert "外村店长" not in client.get("/users").get_data(as_text=True)
    page = client.post(
        f"/users/{stranger.id}/active", data={"active": "0"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "没有找到该用户" in page
    assert _user("gy_keeper").active


@pytest.fixture
def csrf_client(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False


def _login_with_token(client, username: str) -> str:
    page = client.get("/login?mode=password").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login/password",
        data={"username": username, "password": "secret123", "csrf_token": token},
    )
    assert response.status_code == 302
    # The test client shares the fixture's app context (and so ``g``) across requests, where
    # Flask-WTF caches the token of the session that the login just replaced.
    g.pop("csrf_token", None)
    return token


@pytest.mark.parametrize(
    "path,data",
    [
        (
            "/users/new",
            {"username": "x9", "display_name": "x", "role": "admin", "password": "abcdef1"},
        ),
        ("/users/{keeper}/password", {"password": "abcdef1"}),
        ("/users/{keeper}/pin", {"pin": "5555"}),
        ("/users/{keeper}/active", {"active": "0"}),
        ("/users/{keeper}/unlock", {}),
        ("/users/{keeper}/tokens", {"label": "x"}),
        ("/audit/closing-slip", {}),
    ],
)
def test_forms_without_the_csrf_token_are_refused(csrf_client, admin, keeper, path, data):
    _login_with_token(csrf_client, "admin1")
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    response = csrf_client.post(path.format(keeper=keeper.id), data=data)
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    response = csrf_client.post(
        path.format(keeper=keeper.id), data={**data, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before
    assert _user("keeper1").active


def test_forms_with_the_page_token_go_through(csrf_client, admin, keeper):
    _login_with_token(csrf_client, "admin1")
    page = csrf_client.get("/users").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = csrf_client.post(
        f"/users/{keeper.id}/active", data={"active": "0", "csrf_token": token}
    )
    assert response.status_code == 302
    assert not _user("keeper1").active
