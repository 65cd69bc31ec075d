"""Users, passwords, keeper PINs with lockout, and API tokens.

Failed attempts and the lock are stored in the database, so a lock survives a restart and
holds across every kiosk on the same database.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.security import check_password_hash, generate_password_hash

from kiosk import audit, login_limits
from kiosk.database import write_transaction
from kiosk.errors import (
    DuplicateValue,
    LoginFailed,
    NotFound,
    ValidationFailed,
)
from kiosk.extensions import db
from kiosk.households import NAME_MAX as USER_NAME_MAX
from kiosk.messages import _
from kiosk.models import ROLE_KEEPER, ROLES, ApiToken, User
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "jf_"


_PIN_RE = re.compile(r"[0-9]{4,8}")


def _keypad_pin(pin: str) -> bool:
    """4–8 ASCII digits, as a keypad types them (``"١٢٣٤".isdigit()`` and ``"¹²³⁴".isdigit()``
    are true too, yet no keypad can type such a PIN)."""
    return _PIN_RE.fullmatch(pin) is not None


def create_user(
    username: str,
    *,
    display_name: str,
    role: str,
    password: str | None = None,
    pin: str | None = None,
    supermarket_id: int | None = None,
    actor: User | None = None,
) -> User:
    """Add a user. Keepers may have a short PIN (4–8 digits) for the counter."""
    username = (username or "").strip()
    if not username:
        raise ValidationFailed(_("用户名不能为空"))
    display_name = (display_name or "").strip() or username
    # The same limit as a household's names (kiosk.households.NAME_MAX, the columns' size):
    # longer is refused here in words, not by PostgreSQL.
    if len(username) > USER_NAME_MAX:
        raise ValidationFailed(_("用户名太长了，最多%(n)s个字", n=USER_NAME_MAX))
    if len(display_name) > USER_NAME_MAX:
        raise ValidationFailed(_("姓名太长了，最多%(n)s个字", n=USER_NAME_MAX))
    if role not in ROLES:
        raise ValidationFailed(_("角色只能是 keeper、admin、supervisor 或 recorder"))
    if not password and not pin:
        raise ValidationFailed(_("请设置密码或PIN"))
    if password is not None and len(password) < 6:
        raise ValidationFailed(_("密码至少6位"))
    if pin is not None:
        if role != ROLE_KEEPER:
            raise ValidationFailed(_("只有超市管理员（keeper）可以使用PIN登录"))
        if not _keypad_pin(pin):
            raise ValidationFailed(_("PIN应为4到8位数字"))
    with write_transaction():
        if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise DuplicateValue(_("用户名 %(username)s 已存在", username=username))
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=_hash_secret(password) if password else None,
            pin_hash=_hash_secret(pin) if pin else None,
            supermarket_id=supermarket_id,
        )
        db.session.add(user)
        db.session.flush()
        audit.record("user.create", user, actor=actor, after=_public(user))
    return user


def _hash_secret(secret: str) -> str:
    return generate_password_hash(secret, method=current_app.config["JIFEN_PASSWORD_METHOD"])


@functools.cache
def _dummy_hash(method: str) -> str:
    # Checked for a name that is no account, so that it costs what a real check costs.
    return generate_password_hash(secrets.token_hex(8), method=method)


def _check(user_id: int | None, name: str, secret: str, which: str, device: str | None) -> User:
    """Check a password or PIN with the waits of :mod:`kiosk.login_limits`.

    The attempt is counted (and any wait it earns set) in the database before the slow hash
    check, so parallel guesses on any number of servers cannot all slip past the lock; a
    right guess is then confirmed under the row lock. An unknown name, an inactive user and
    a user without this kind of secret get a dummy check and the same answers as a wrong
    secret: nobody learns from the answer whether an account exists.
    """
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is not None and not user.active:
        user = None
    stored = None
    if user is not None:
        stored = user.password_hash if which == "password" else user.pin_hash
    attempt = login_limits.reserve(
        user.id if user is not None else None, method=which, name=name, device=device
    )
    method = current_app.config["JIFEN_PASSWORD_METHOD"]
    right = check_password_hash(stored or _dummy_hash(method), secret)
    if right and stored and secret:
        try:
            return login_limits.succeeded(attempt, stored)
        except login_limits.LoginChanged:
            pass
    elif attempt.user_id is not None:
        with write_transaction():
            audit.record(
                "user.login_failed",
                db.session.get(User, attempt.user_id),
                actor=None,
                method=which,
                wait_seconds=attempt.wait_if_wrong,
                pin_suspended=attempt.pin_suspended,
            )
    raise _wrong(which, attempt)


def _wrong(which: str, attempt: login_limits.Attempt) -> LoginFailed:
    message = _("PIN不正确") if which == "pin" else _("用户名或密码不正确")
    wait = attempt.wait_if_wrong
    if attempt.pin_suspended:
        message = _(
            "%(wrong)s，PIN错误次数过多，请%(wait)s后再试，或用用户名和密码登录",
            wrong=message,
            wait=login_limits.wait_text(wait),
        )
    elif wait:
        message = _("%(wrong)s，请%(wait)s后再试", wrong=message, wait=login_limits.wait_text(wait))
    return LoginFailed(
        message, method=which, wait_seconds=wait, pin_suspended=attempt.pin_suspended
    )


def login_password(username: str, password: str, *, device: str | None = None) -> User:
    """The user for a username and password; LoginFailed or AccountLocked otherwise.
    ``device`` is the client's address (its own waits)."""
    username = (username or "").strip()
    user_id = db.session.scalar(sa.select(User.id).where(User.username == username))
    return _check(user_id, username, password or "", "password", device)


def login_pin(user_id: int, pin: str, *, device: str | None = None) -> User:
    """The keeper for a PIN typed on the counter keypad."""
    user = db.session.get(User, user_id)
    if user is not None and user.role != ROLE_KEEPER:
        user = None
    return _check(user.id if user else None, f"#{user_id}", pin or "", "pin", device)


def pin_keepers(supermarket_id: int | None) -> list[User]:
    """Keepers who can log in with a PIN at this supermarket's counter."""
    stmt = sa.select(User).where(
        User.role == ROLE_KEEPER, User.active.is_(True), User.pin_hash.is_not(None)
    )
    if supermarket_id is not None:
        stmt = stmt.where(
            sa.or_(User.supermarket_id == supermarket_id, User.supermarket_id.is_(None))
        )
    return list(db.session.scalars(stmt.order_by(User.display_name)))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user_id: int, *, label: str = "", actor: User | None = None) -> str:
    """Create an API token for a user and return it (shown once; only its hash is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound(_("没有找到该用户"))
        row = ApiToken(user_id=user.id, token_hash=_hash_token(token), label=label)
        db.session.add(row)
        db.session.flush()
        audit.record(
            "token.issue",
            row,
            actor=actor or user,
            supermarket_id=user.supermarket_id,
            user_id=user.id,
            label=label,
        )
    return token


def revoke_token(token_id: int, *, actor: User) -> None:
    """Revoke an API token at once; revoking one twice is refused."""
    with write_transaction():
        row = db.session.get(ApiToken, token_id, with_for_update=True)
        if row is None:
            raise NotFound(_("没有找到该令牌"))
        if row.revoked_at is not None:
            raise ValidationFailed(_("该令牌已经吊销"))
        row.revoked_at = utcnow()
        audit.record(
            "token.revoke",
            row,
            actor=actor,
            supermarket_id=row.user.supermarket_id,
            user_id=row.user_id,
            label=row.label,
        )


# A token's last use is written at most this often: the users page can tell a kiosk's live
# token from a forgotten one, and a busy kiosk's requests do not each write a row.
TOKEN_USE_RECORDED_EVERY = timedelta(minutes=10)


def user_for_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    # One indexed look-up per API request: the token and its user together.
    row = db.session.execute(_token_user_sql(), {"token_hash": _hash_token(token)}).one_or_none()
    if row is None:
        return None
    user, token_id, last_used_at = row
    now = utcnow()
    if last_used_at is None or now - last_used_at >= TOKEN_USE_RECORDED_EVERY:
        _record_token_use(token_id, now)
    return user


def _record_token_use(token_id: int, now: datetime) -> None:
    """Note the token's use in a transaction of its own, on a connection of its own: the
    request's session (and the transaction its write may go on in) is left as it was. The
    time is a hint for the users page, not a ledger: when the database is busy (or the pool
    has no connection to spare) it is skipped and the next request tries again; the request
    itself is never refused for it."""
    table = cast(sa.Table, ApiToken.__table__)
    try:
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(
                    table.c.id == token_id,
                    sa.or_(table.c.last_used_at.is_(None), table.c.last_used_at < now),
                )
                .values(last_used_at=now)
            )
    except SQLAlchemyError:
        logger.warning("could not record the use of API token %s", token_id, exc_info=True)


@functools.cache
def _token_user_sql() -> sa.Select[User, int, datetime | None]:
    # Built once per process: building it cost more than running it (per-request work that
    # belongs at start-up; the same for the counter's other statements).
    return (
        sa.select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == sa.bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            User.active.is_(True),
        )
    )


# --- managing users (用户管理) ------------------------------------------------------------------
# Every change is audited with what it changed; secrets never appear in the log (only whether
# a password or PIN is set).


def _public(user: User) -> dict[str, Any]:
    """What the audit log may show about a user: never a hash or a secret."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "supermarket_id": user.supermarket_id,
        "active": user.active,
        "has_password": user.password_hash is not None,
        "has_pin": user.pin_hash is not None,
    }


def _locked_user(user_id: int) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(_("没有找到该用户"))
    return user


def list_users(supermarket_id: int | None) -> list[User]:
    """Users of a supermarket and those serving every supermarket (all when None)."""
    stmt = sa.select(User)
    if supermarket_id is not None:
        stmt = stmt.where(
            sa.or_(User.supermarket_id == supermarket_id, User.supermarket_id.is_(None))
        )
    return list(db.session.scalars(stmt.order_by(User.active.desc(), User.role, User.username)))


def list_tokens(user_ids: list[int]) -> list[ApiToken]:
    """API tokens of these users, newest first (hashes only; a token is shown once)."""
    if not user_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id.in_(user_ids))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def lock_end(user: User) -> datetime | None:
    """Until when failed logins hold the account (its wait, or its spent PIN budget), or None."""
    now = utcnow()
    candidates = [user.locked_until, login_limits.pin_suspended_until(user.id)]
    ends = [end for end in candidates if end is not None and end > now]
    return max(ends, default=None)


def is_locked(user: User) -> bool:
    return lock_end(user) is not None


def reset_password(user_id: int, password: str, *, actor: User) -> None:
    """Set a new password (at least 6 characters); ends the user's open sessions."""
    if not password or len(password) < 6:
        raise ValidationFailed(_("密码至少6位"))
    with write_transaction():
        user = _locked_user(user_id)
        had = user.password_hash is not None
        user.password_hash = _hash_secret(password)
        user.failed_attempts = 0
        user.locked_until = None
        user.session_version += 1  # every session opened with the old password ends
        audit.record(
            "user.reset_password",
            user,
            actor=actor,
            username=user.username,
            before={"has_password": had},
            after={"has_password": True},
        )


def reset_pin(user_id: int, pin: str | None, *, actor: User) -> None:
    """Set a keeper's counter PIN (4–8 digits), or remove it with an empty PIN."""
    pin = (pin or "").strip()
    if pin and not _keypad_pin(pin):
        raise ValidationFailed(_("PIN应为4到8位数字"))
    with write_transaction():
        user = _locked_user(user_id)
        if user.role != ROLE_KEEPER and pin:
            raise ValidationFailed(_("只有超市管理员（keeper）可以使用PIN登录"))
        if not pin and user.password_hash is None:
            raise ValidationFailed(_("该用户没有密码，不能去掉PIN"))
        had = user.pin_hash is not None
        user.pin_hash = _hash_secret(pin) if pin else None
        user.failed_attempts = 0
        user.locked_until = None
        user.session_version += 1  # every session opened with the old PIN ends
        login_limits.clear_account(user.id)
        audit.record(
            "user.reset_pin",
            user,
            actor=actor,
            username=user.username,
            before={"has_pin": had},
            after={"has_pin": bool(pin)},
        )


def set_active(user_id: int, active: bool, *, actor: User) -> None:
    """Deactivate (停用) or reactivate a user. A deactivated user cannot log in and their
    tokens stop working; nobody may deactivate themselves or the last active admin."""
    from kiosk.models import ROLE_ADMIN

    with write_transaction():
        user = _locked_user(user_id)
        if user.active == active:
            raise ValidationFailed(_("该用户已经是启用状态") if active else _("该用户已经停用"))
        if not active:
            if user.id == actor.id:
                raise ValidationFailed(_("不能停用自己的账号"))
            if user.role == ROLE_ADMIN:
                others = db.session.scalar(
                    sa.select(sa.func.count(User.id)).where(
                        User.role == ROLE_ADMIN, User.active.is_(True), User.id != user.id
                    )
                )
                if not others:
                    raise ValidationFailed(_("这是最后一个启用的村委管理员，不能停用"))
        user.active = active
        user.session_version += 1  # a deactivated user's sessions end at once
        audit.record(
            "user.activate" if active else "user.deactivate",
            user,
            actor=actor,
            username=user.username,
            before={"active": not active},
            after={"active": active},
        )


def set_role(user_id: int, role: str, *, actor: User) -> None:
    """Change a user's role (角色); their open sessions end, so the new role holds at once.

    Nobody changes their own role, the last active admin stays admin, and a PIN (keepers
    only) is dropped from a user who stops being a keeper (refused when they have no password).
    """
    from kiosk.models import ROLE_ADMIN

    if role not in ROLES:
        raise ValidationFailed(_("角色只能是 keeper、admin、supervisor 或 recorder"))
    with write_transaction():
        user = _locked_user(user_id)
        if user.role == role:
            raise ValidationFailed(_("该用户已经是这个角色"))
        if user.id == actor.id:
            raise ValidationFailed(_("不能修改自己的角色"))
        if user.role == ROLE_ADMIN and user.active:
            others = db.session.scalar(
                sa.select(sa.func.count(User.id)).where(
                    User.role == ROLE_ADMIN, User.active.is_(True), User.id != user.id
                )
            )
            if not others:
                raise ValidationFailed(_("这是最后一个启用的村委管理员，不能修改其角色"))
        had_pin = user.pin_hash is not None
        if had_pin and role != ROLE_KEEPER:
            if user.password_hash is None:
                raise ValidationFailed(_("该用户只有PIN，请先为其设置密码再修改角色"))
            user.pin_hash = None
            login_limits.clear_account(user.id)
        before = {"role": user.role, "has_pin": had_pin}
        user.role = role
        user.session_version += 1
        audit.record(
            "user.set_role",
            user,
            actor=actor,
            username=user.username,
            before=before,
            after={"role": role, "has_pin": user.pin_hash is not None},
        )


def end_sessions(user_id: int) -> None:
    """End every session of a user, on every kiosk (logout): their version moves on."""
    with write_transaction():
        db.session.execute(
            sa.update(User)
            .where(User.id == user_id)
            .values(session_version=User.session_version + 1)
        )


def unlock(user_id: int, *, actor: User) -> None:
    """Lift a lock from too many failed logins (解锁)."""
    with write_transaction():
        user = _locked_user(user_id)
        if not is_locked(user) and not user.failed_attempts:
            raise ValidationFailed(_("该账号没有被锁定"))
        before = {
            "failed_attempts": user.failed_attempts,
            "locked": is_locked(user),
        }
        user.failed_attempts = 0
        user.locked_until = None
        login_limits.clear_for_unlock(user.id)
        audit.record(
            "user.unlock",
            user,
            actor=actor,
            username=user.username,
            before=before,
            after={"failed_attempts": 0, "locked": False},
        )


# Reads ----------------------------------------------------------------------------------------


def find_user(user_id: int) -> User | None:
    """The user with this id, or None."""
    return db.session.get(User, user_id)


def users_by_id(ids: Iterable[int | None]) -> dict[int, User]:
    """The users with these ids, by id, for a page saying who did what (None is skipped)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(wanted)))}


def user_named(username: str) -> User | None:
    """The user with this login name (surrounding spaces ignored), or None."""
    return db.session.scalar(sa.select(User).where(User.username == username.strip()))


def find_token(token_id: int) -> ApiToken | None:
    """The API token record with this id, or None."""
    return db.session.get(ApiToken, token_id)


def token_record(token: str) -> ApiToken | None:
    """The stored record of an API token, found by its hash, or None."""
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
