"""Users, passwords, keeper PINs with lockout, and API tokens.

Failed attempts and the lock are stored in the database, so a lock survives a restart and
holds across every kiosk on the same database.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from kiosk import audit
from kiosk.database import write_transaction
from kiosk.errors import AccountLocked, DuplicateValue, LoginFailed, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.models import ROLE_KEEPER, ROLES, ApiToken, User
from kiosk.timeutil import utcnow

TOKEN_PREFIX = "jf_"


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
        raise ValidationFailed("用户名不能为空")
    if role not in ROLES:
        raise ValidationFailed("角色只能是 keeper、admin 或 supervisor")
    if not password and not pin:
        raise ValidationFailed("请设置密码或PIN")
    if password is not None and len(password) < 6:
        raise ValidationFailed("密码至少6位")
    if pin is not None:
        if role != ROLE_KEEPER:
            raise ValidationFailed("只有超市管理员（keeper）可以使用PIN登录")
        if not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValidationFailed("PIN应为4到8位数字")
    with write_transaction():
        if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise DuplicateValue(f"用户名 {username} 已存在")
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
        audit.record("user.create", user, actor=actor, username=username, role=role)
    return user


def _hash_secret(secret: str) -> str:
    return generate_password_hash(secret, method=current_app.config["JIFEN_PASSWORD_METHOD"])


def _check(user: User | None, secret: str, which: str) -> User:
    """Check a password or PIN, counting failures and locking after too many."""
    now = utcnow()
    if user is None or not user.active:
        raise LoginFailed()
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise AccountLocked(f"尝试次数过多，账号已锁定，请{minutes}分钟后再试")
    stored = user.password_hash if which == "password" else user.pin_hash
    if stored and secret and check_password_hash(stored, secret):
        if user.failed_attempts or user.locked_until:
            with write_transaction():
                user = db.session.get(User, user.id)
                user.failed_attempts = 0
                user.locked_until = None
        return user
    max_failures = current_app.config["JIFEN_PIN_MAX_FAILURES"]
    with write_transaction():
        user = db.session.get(User, user.id, with_for_update=True)
        user.failed_attempts += 1
        locked = user.failed_attempts >= max_failures
        if locked:
            user.locked_until = now + timedelta(minutes=current_app.config["JIFEN_LOCKOUT_MINUTES"])
            user.failed_attempts = 0
        audit.record("user.login_failed", user, actor=None, method=which, locked=locked)
    if locked:
        raise AccountLocked()
    left = max_failures - user.failed_attempts
    raise LoginFailed(
        ("PIN不正确" if which == "pin" else "用户名或密码不正确") + f"，还可尝试{left}次"
    )


def login_password(username: str, password: str) -> User:
    """The user for a username and password; LoginFailed or AccountLocked otherwise."""
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    return _check(user, password or "", "password")


def login_pin(user_id: int, pin: str) -> User:
    """The keeper for a PIN typed on the counter keypad."""
    user = db.session.get(User, user_id)
    if user is not None and user.role != ROLE_KEEPER:
        user = None
    return _check(user, pin or "", "pin")


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
            raise NotFound("没有找到该用户")
        row = ApiToken(user_id=user.id, token_hash=_hash_token(token), label=label)
        db.session.add(row)
        db.session.flush()
        audit.record("token.issue", row, actor=actor or user, user_id=user.id, label=label)
    return token


def revoke_token(token_id: int, *, actor: User) -> None:
    with write_transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None:
            raise NotFound("没有找到该令牌")
        row.revoked_at = utcnow()
        audit.record("token.revoke", row, actor=actor, user_id=row.user_id)


def user_for_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row.user
