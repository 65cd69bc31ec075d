"""Users (用户): who may work the system. Admins (village committee) add keepers, admins and
supervisors, reset a password or a keeper's PIN, change a role, deactivate and reactivate
(a new password, PIN or role and a deactivation end the user's open sessions), unlock an
account locked by failed logins, and issue and revoke API tokens (a new token is shown once).
The supervision group (监督小组) sees the same page read-only. Every change is audited by
:mod:`kiosk.auth`; no secret is ever logged or shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk import auth
from kiosk.authn import current_supermarket, current_user, may, require, signed_in_user
from kiosk.errors import DomainError
from kiosk.models import ROLE_KEEPER, ROLES, User
from kiosk.web.audit import ROLE_LABELS
from kiosk.web.forms import (
    ActiveForm,
    NewUserForm,
    PasswordForm,
    PinForm,
    RoleForm,
    TokenForm,
)

bp = Blueprint("users", __name__, url_prefix="/users")


def _visible() -> list[User]:
    return auth.list_users(current_supermarket().id)


def _target(user_id: int) -> User | None:
    """A user this page may change: one of this supermarket's or serving every one."""
    return next((u for u in _visible() if u.id == user_id), None)


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    users = _visible()
    tokens: dict[int, list] = {}
    for token in auth.list_tokens([u.id for u in users]):
        tokens.setdefault(token.user_id, []).append(token)
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("user.manage"),
        "users": users,
        "tokens": tokens,
        "lock_end": auth.lock_end,
        "role_labels": ROLE_LABELS,
        "roles": ROLES,
        "keeper_role": ROLE_KEEPER,
        **extra,
    }


@bp.get("")
@require("user.read", page=True)
def index_page() -> str:
    """Every user with their state, their tokens, and (for admins) what can be done."""
    return render_template("users/index.html", **_context())


def _done(message: str) -> Response:
    flash(message, "info")
    return redirect(url_for("users.index_page"))


def _refused(exc: DomainError | str) -> Response:
    flash(exc.message if isinstance(exc, DomainError) else exc, "error")
    return redirect(url_for("users.index_page"))


@bp.post("/new")
@require("user.manage", page=True)
def create() -> Response:
    """Add a user."""
    form = NewUserForm(formdata=request.form)
    role = form.role.data or ""
    try:
        pin = (form.keypad_pin() if role == ROLE_KEEPER else form.pin.data) or None
        created = auth.create_user(
            form.username.data or "",
            display_name=form.display_name.data or "",
            role=role,
            password=form.password.data or None,
            pin=pin if role == ROLE_KEEPER else None,
            supermarket_id=current_supermarket().id,
            actor=signed_in_user(),
        )
    except DomainError as exc:
        return _refused(exc)
    if pin and role != ROLE_KEEPER:
        flash(gettext("只有超市管理员（keeper）可以使用PIN登录，已忽略PIN"), "error")
    return _done(gettext("已添加用户 %(name)s", name=created.display_name))


def _with_target(user_id: int, change: Callable[[User], None], message: str) -> Response:
    """Apply ``change`` to a user this page may change; ``message`` names them as %(name)s."""
    target = _target(user_id)
    if target is None:
        return _refused(gettext("没有找到该用户"))
    name = target.display_name
    try:
        change(target)
    except DomainError as exc:
        return _refused(exc)
    return _done(message % {"name": name})


@bp.post("/<int:user_id>/password")
@require("user.manage", page=True)
def reset_password(user_id: int) -> Response:
    """Set a new password."""
    password = PasswordForm(formdata=request.form).password.data or ""
    return _with_target(
        user_id,
        lambda u: auth.reset_password(u.id, password, actor=signed_in_user()),
        gettext("已为%(name)s重设密码"),
    )


@bp.post("/<int:user_id>/pin")
@require("user.manage", page=True)
def reset_pin(user_id: int) -> Response:
    """Set (or remove, when empty) a keeper's PIN."""
    try:
        pin = PinForm(formdata=request.form).keypad_pin()
    except DomainError as exc:
        return _refused(exc)
    return _with_target(
        user_id,
        lambda u: auth.reset_pin(u.id, pin, actor=signed_in_user()),
        gettext("已为%(name)s重设PIN") if pin else gettext("已去掉%(name)s的PIN"),
    )


@bp.post("/<int:user_id>/active")
@require("user.manage", page=True)
def set_active(user_id: int) -> Response:
    """Deactivate (停用) or reactivate (启用)."""
    active = ActiveForm(formdata=request.form).active.data == "1"
    return _with_target(
        user_id,
        lambda u: auth.set_active(u.id, active, actor=signed_in_user()),
        gettext("已启用%(name)s") if active else gettext("已停用%(name)s"),
    )


@bp.post("/<int:user_id>/role")
@require("user.manage", page=True)
def set_role(user_id: int) -> Response:
    """Change a user's role; their open sessions end (the new role holds at once)."""
    role = RoleForm(formdata=request.form).role.data or ""
    return _with_target(
        user_id,
        lambda u: auth.set_role(u.id, role, actor=signed_in_user()),
        gettext("已修改%(name)s的角色"),
    )


@bp.post("/<int:user_id>/unlock")
@require("user.manage", page=True)
def unlock(user_id: int) -> Response:
    """Lift a lock from failed logins."""
    return _with_target(
        user_id, lambda u: auth.unlock(u.id, actor=signed_in_user()), gettext("已解锁%(name)s")
    )


@bp.post("/<int:user_id>/tokens")
@require("user.manage", page=True)
def issue_token(user_id: int) -> Response:
    """Issue an API token and show it this once (never stored, never shown again)."""
    target = _target(user_id)
    if target is None:
        return _refused(gettext("没有找到该用户"))
    if not target.active:
        return _refused(gettext("该用户已停用，不能发放令牌"))
    label = (TokenForm(formdata=request.form).label.data or "")[:100]
    try:
        token = auth.issue_token(target.id, label=label, actor=signed_in_user())
    except DomainError as exc:
        return _refused(exc)
    response = make_response(
        render_template("users/token.html", **_context(owner=target, token=token, label=label))
    )
    response.headers["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@require("user.manage", page=True)
def revoke_token(token_id: int) -> Response:
    """Revoke a token at once."""
    visible = {u.id for u in _visible()}
    if not any(t.id == token_id for t in auth.list_tokens(sorted(visible))):
        return _refused(gettext("没有找到该令牌"))
    try:
        auth.revoke_token(token_id, actor=signed_in_user())
    except DomainError as exc:
        return _refused(exc)
    return _done(gettext("令牌已吊销"))
