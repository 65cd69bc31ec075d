"""Keeper login at the counter: keeper tiles with a PIN keypad, or username and password.

Failures and waits are counted by :mod:`kiosk.auth` and :mod:`kiosk.login_limits` in the
database, per account and per device (the client's address), so they hold across restarts
and kiosks; this module only parses the form, calls the service and renders the answer, which
always says how long to wait.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk import auth as auth_service
from kiosk import parsing, permissions
from kiosk.authn import (
    current_supermarket,
    current_user,
    log_in,
    log_out,
    session_expired_notice,
)
from kiosk.errors import AccountLocked, LoginFailed
from kiosk.models import ROLE_KEEPER, ROLE_RECORDER, User
from kiosk.web.forms import PasswordLoginForm, PinLoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a redirect target (no //host, no scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target.rstrip("?") or None


def _landing(user: User, target: str | None = None) -> str:
    """Where a user goes after logging in: the asked-for page, else the counter or home."""
    target = _safe_next(target)
    if user.role == ROLE_RECORDER:  # 评议员: the phone page is all they use
        return target if target and target.startswith("/m/") else url_for("phone.page")
    if (
        target is not None
        and not target.startswith(("/login", "/logout"))
        and (not target.startswith("/counter") or permissions.allows(user, "counter.serve"))
    ):
        return target
    if user.role == ROLE_KEEPER:  # the keeper's home is the counter; others land on 首页
        return url_for("counter.page")
    return url_for("counter.home")


def _wait(seconds: int) -> str:
    if seconds < 60:
        return gettext("%(n)s秒", n=max(1, seconds))
    return gettext("%(n)s分钟", n=-(-seconds // 60))


def _failure(exc: LoginFailed | AccountLocked) -> str:
    """The answer to a failed login, in the screen's language: what went wrong, how long to
    wait. An unknown name gets exactly the words of a wrong password."""
    wait = int(exc.details.get("wait_seconds") or 0)
    suspended = bool(exc.details.get("pin_suspended"))
    if isinstance(exc, AccountLocked):
        if suspended:
            return gettext(
                "PIN错误次数过多，请%(wait)s后再试，或用用户名和密码登录", wait=_wait(wait)
            )
        return gettext("尝试次数过多，已暂时锁定，请%(wait)s后再试", wait=_wait(wait))
    if exc.details.get("method") == "pin":
        wrong = gettext("PIN不正确")
    else:
        wrong = gettext("用户名或密码不正确")
    if suspended:
        return wrong + gettext(
            "，PIN错误次数过多，请%(wait)s后再试，或用用户名和密码登录", wait=_wait(wait)
        )
    if wait:
        return wrong + gettext("，请%(wait)s后再试", wait=_wait(wait))
    return wrong


def _device() -> str:
    """The client's address: waits are counted per device too (behind a proxy, ProxyFix)."""
    return request.remote_addr or "unknown"


def _render(
    *,
    error: str | None = None,
    status: int = 200,
    mode: str | None = None,
    keeper_id: int | None = None,
    username: str = "",
) -> tuple[str, int]:
    supermarket = current_supermarket()
    keepers = auth_service.pin_keepers(supermarket.id)
    if mode is None:
        mode = "pin" if keepers else "password"
    selected = next((k for k in keepers if k.id == keeper_id), None)
    if selected is None and len(keepers) == 1:
        selected = keepers[0]
    html = render_template(
        "auth/login.html",
        supermarket=supermarket,
        keepers=keepers,
        selected=selected,
        mode=mode,
        error=error,
        username=username,
        next_url=_safe_next(request.values.get("next")) or "",
    )
    return html, status


@bp.get("/login")
def login() -> tuple[str, int] | Response:
    """The login page: keeper tiles and PIN keypad, or the password form."""
    user = current_user()
    if user is not None and request.args.get("switch") is None:
        return redirect(_landing(user, request.args.get("next")))
    mode = request.args.get("mode")
    keeper_id = request.args.get("keeper", type=parsing.db_id)
    error = gettext("登录已超时，请重新登录") if session_expired_notice() else None
    return _render(
        mode=mode if mode in ("pin", "password") else None, keeper_id=keeper_id, error=error
    )


@bp.post("/login/pin")
def login_pin() -> tuple[str, int] | Response:
    """Check a keeper's PIN typed on the keypad."""
    form = PinLoginForm(formdata=request.form)
    keeper_id = form.keeper_id.data
    pin = form.pin.data or ""
    if keeper_id is None:
        return _render(error=gettext("请先点选您的名字"), status=400, mode="pin")
    try:
        user = auth_service.login_pin(keeper_id, pin, device=_device())
    except (LoginFailed, AccountLocked) as exc:
        return _render(error=_failure(exc), status=exc.status, mode="pin", keeper_id=keeper_id)
    log_in(user)
    return redirect(_landing(user, form.next.data))


@bp.post("/login/password")
def login_password() -> tuple[str, int] | Response:
    """Check a username and password (any role)."""
    form = PasswordLoginForm(formdata=request.form)
    username = form.username.data or ""
    password = form.password.data or ""
    if not username or not password:
        return _render(
            error=gettext("请输入用户名和密码"), status=400, mode="password", username=username
        )
    try:
        user = auth_service.login_password(username, password, device=_device())
    except (LoginFailed, AccountLocked) as exc:
        return _render(error=_failure(exc), status=exc.status, mode="password", username=username)
    log_in(user)
    return redirect(_landing(user, form.next.data))


@bp.post("/logout")
def logout() -> Response:
    """End the user's sessions (on every kiosk) and return to the login page."""
    log_out()
    return redirect(url_for("auth.login"))
