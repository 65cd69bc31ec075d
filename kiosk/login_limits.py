"""Login throttling (登录与锁定): growing waits per account and per device, an hourly budget
of PIN guesses, and every attempt counted in the database *before* its secret is checked.

Keeper tiles on the counter screen are public, so the scheme has to hold two promises at once:
a stranger at the screen gets no more than about ten PIN guesses an hour, and cannot keep the
keeper from the counter for more than two minutes.

**Growing waits** (``JIFEN_LOGIN_DELAYS``, seconds). Each wrong password or PIN adds one to a
counter for the account and one to a counter for the device (the client address); after the
n-th failure on a counter the next guess on it is refused for

    n:     1   2   3    4    5    6 and more
    wait:  0   0   15s  30s  60s  120s

A counter is forgotten after ``JIFEN_LOGIN_FORGET_MINUTES`` (60) without a failure, and a right
guess clears the account's counters and the device's. An unknown username (or an inactive
user, or an id that is no keeper) gets the same kind of counter, keyed by a hash of the name,
and the same dummy hash check: its answers are the same as a real user's, word for word.
No wait is ever longer than two minutes, so whatever a stranger has typed, the keeper is back
at the counter within two minutes of the stranger's last try.

**PIN budget** (``JIFEN_PIN_GUESSES_PER_HOUR``, 10). Wrong PINs are also counted per account
and per device in a window of an hour from the first. The tenth wrong PIN in the window
suspends PIN login for that account (or from that device) until the window ends: a stranger
gets at most ten PIN guesses an hour for any keeper from any number of devices, and at most ten
from one device across all keepers. The keeper is not locked out by it: the password form
answers after the ordinary wait (at most two minutes), and a right password or PIN clears the
budget (so does an admin's 解锁 on the users page). Passwords have no hourly budget (that
would let a stranger lock the keeper out for the hour); the waits alone allow about 34 guesses
an hour on one account, against a password of at least six characters.

**No race.** ``reserve`` counts the attempt as a failure and sets the wait it would earn, in one
committed write transaction (``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on
PostgreSQL), before the slow hash check; an attempt that finds a wait running is refused
without any check. A right guess is then confirmed under the row lock (``succeeded``): the
user still active, the secret unchanged, and no lock set by guesses counted after it. A burst
of parallel guesses on any number of servers therefore gets three guesses evaluated per
account (two free and the one that starts the first wait), never more.

Counters live in the database, so they hold across restarts and every kiosk: the account's on
``users`` (``failed_attempts``, ``locked_until`` = when the current wait ends; the users page
shows both), the others in ``scan_throttles`` under keys ``login:dev:<addr>`` (device waits),
``login:name:<sha256>`` (unknown names), ``login:pin:<user id>`` and ``login:devpin:<addr>``
(PIN budgets). Every counted attempt deletes, in its own transaction and at most
``PRUNE_LIMIT`` at a time, the rows that no longer hold anything back (a wait forgotten, a PIN
hour over), so names guessed at random do not fill the table.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app

from kiosk.database import write_transaction
from kiosk.errors import AccountLocked
from kiosk.extensions import db
from kiosk.messages import Message, _
from kiosk.models import ScanThrottle, User
from kiosk.timeutil import utcnow

PREFIX = "login:"
# Rows that hold nothing back, deleted by each counted attempt: enough to outpace the at most
# three rows one attempt makes, few enough that a login never does much work for them.
PRUNE_LIMIT = 50


def device_key(device: str | None) -> str:
    return f"{PREFIX}dev:{(device or 'unknown')[:80]}"


def device_pin_key(device: str | None) -> str:
    return f"{PREFIX}devpin:{(device or 'unknown')[:80]}"


def name_key(name: str) -> str:
    """The counter of a name that is no active account (a hash: no typed name is stored)."""
    return f"{PREFIX}name:{hashlib.sha256(name.encode()).hexdigest()[:40]}"


def pin_key(user_id: int) -> str:
    return f"{PREFIX}pin:{user_id}"


def wait_text(seconds: int) -> Message:
    """A wait as a keeper reads it: 45秒, 2分钟."""
    if seconds < 60:
        return _("%(n)s秒", n=max(1, seconds))
    return _("%(n)s分钟", n=math.ceil(seconds / 60))


@dataclass(frozen=True)
class Attempt:
    """One login attempt, counted before its secret is checked."""

    user_id: int | None  # the active account tried, None for an unknown name
    method: str  # "pin" or "password"
    device: str | None
    counted: int  # the account's failure count with this attempt in it
    wait_if_wrong: int  # seconds the next guess must wait if this one is wrong
    pin_suspended: bool  # ... and whether that wait is the spent PIN budget


def _delay(failures: int) -> int:
    delays = current_app.config["JIFEN_LOGIN_DELAYS"]
    if failures <= 0:
        return 0
    return int(delays[min(failures, len(delays)) - 1])


def _forget() -> timedelta:
    return timedelta(minutes=current_app.config["JIFEN_LOGIN_FORGET_MINUTES"])


def _remaining(until: datetime | None, now: datetime) -> int:
    if until is None or until <= now:
        return 0
    return math.ceil((until - now).total_seconds())


def _locked_row(key: str) -> ScanThrottle:
    """The throttle row for ``key``, made when missing, locked for this transaction."""
    row = db.session.get(ScanThrottle, key, with_for_update=True)
    if row is not None:
        return row
    # Two servers making the same row: one inserts, the other waits on it and does nothing.
    statement: sa.Executable
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(ScanThrottle).values(key=key, failures=0).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(ScanThrottle).values(key=key, failures=0).on_conflict_do_nothing()
    db.session.execute(statement)
    return db.session.get_one(ScanThrottle, key, with_for_update=True, populate_existing=True)


def _count_wait(failures: int, until: datetime | None, now: datetime) -> tuple[int, datetime]:
    """Add a failure to a growing-wait counter: its new count and when its wait ends."""
    if until is None or now - until >= _forget():
        failures = 0
    failures += 1
    return failures, now + timedelta(seconds=_delay(failures))


def _count_pin(row: ScanThrottle, now: datetime) -> None:
    """Add a wrong PIN to an hourly budget; the last one in the budget suspends PIN login."""
    window = timedelta(hours=1)
    if row.first_failure_at is None or now - row.first_failure_at >= window:
        row.failures, row.first_failure_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= int(current_app.config["JIFEN_PIN_GUESSES_PER_HOUR"]):
        row.locked_until = row.first_failure_at + window


def reserve(user_id: int | None, *, method: str, name: str, device: str | None) -> Attempt:
    """Count an attempt as a failure before its secret is checked, and commit that.

    Refused with :class:`AccountLocked` (nothing counted) while a wait of the account (or
    name), the device or a PIN budget runs; the error carries the seconds left.
    """
    with write_transaction():
        # Always the same order (user row, then the throttle rows by key): no deadlock.
        user = db.session.get(User, user_id, with_for_update=True) if user_id else None
        keys = [device_key(device)]
        if user is None:
            keys.append(name_key(name))
        if method == "pin":
            keys.append(device_pin_key(device))
            if user is not None:
                keys.append(pin_key(user.id))
        rows = {key: _locked_row(key) for key in sorted(keys)}
        # The time once the locks are held: a time read before waiting for them would be
        # older than what the attempts ahead of this one wrote.
        now = utcnow()
        budget_keys = {device_pin_key(device), pin_key(user_id or 0)}
        budgets = [row for key, row in rows.items() if key in budget_keys]
        waits = [row for key, row in rows.items() if key not in budget_keys]
        account_until = user.locked_until if user is not None else None
        wait = max(
            [_remaining(account_until, now)] + [_remaining(r.locked_until, now) for r in waits]
        )
        pin_wait = max([_remaining(r.locked_until, now) for r in budgets], default=0)
        if wait or pin_wait:
            raise _refusal(wait, pin_wait)
        for row in waits:
            row.failures, row.locked_until = _count_wait(row.failures, row.locked_until, now)
        if user is not None:
            user.failed_attempts, user.locked_until = _count_wait(
                user.failed_attempts, user.locked_until, now
            )
            counted = user.failed_attempts
        else:
            counted = rows[name_key(name)].failures
        for row in budgets:
            _count_pin(row, now)
        _prune(now, exclude=keys)
        wait_if_wrong = max(
            [_remaining(user.locked_until if user else None, now)]
            + [_remaining(r.locked_until, now) for r in waits]
        )
        pin_wait = max([_remaining(r.locked_until, now) for r in budgets], default=0)
    return Attempt(
        user_id=user_id if user is not None else None,
        method=method,
        device=device,
        counted=counted,
        wait_if_wrong=max(wait_if_wrong, pin_wait),
        pin_suspended=pin_wait > wait_if_wrong,
    )


def _prune(now: datetime, exclude: list[str]) -> None:
    """Delete up to ``PRUNE_LIMIT`` login rows that hold nothing back any more (inside the
    caller's transaction): a growing-wait row (device, unknown name) whose wait ended at least
    the forget time ago, a PIN budget whose hour is over. Each is a row the next failure would
    restart from nothing, so deleting it changes no answer; a wait still counting is kept
    (spraying names cannot reset a device's wait). Without this, every guessed name would
    leave a row forever."""
    table = cast(sa.Table, ScanThrottle.__table__)
    forgotten = now - _forget()
    over = sa.or_(
        sa.and_(
            sa.or_(table.c.key.like(f"{PREFIX}dev:%"), table.c.key.like(f"{PREFIX}name:%")),
            sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= forgotten),
        ),
        sa.and_(
            sa.or_(table.c.key.like(f"{PREFIX}pin:%"), table.c.key.like(f"{PREFIX}devpin:%")),
            sa.or_(
                table.c.first_failure_at.is_(None),
                table.c.first_failure_at <= now - timedelta(hours=1),
            ),
            sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        ),
    )
    stale = sa.select(table.c.key).where(over, table.c.key.not_in(exclude)).limit(PRUNE_LIMIT)
    if db.session.get_bind().dialect.name == "postgresql":
        # A row another login holds is skipped, not waited for: no deadlock with the rows this
        # one holds. A row it changed and committed is read again (the condition re-checked).
        stale = stale.with_for_update(skip_locked=True)
    db.session.execute(sa.delete(table).where(table.c.key.in_(stale.scalar_subquery())))


def _refusal(wait: int, pin_wait: int) -> AccountLocked:
    if pin_wait > wait:
        return AccountLocked(
            _("PIN错误次数过多，请%(wait)s后再试，或用用户名和密码登录", wait=wait_text(pin_wait)),
            wait_seconds=pin_wait,
            pin_suspended=True,
        )
    return AccountLocked(
        _("尝试次数过多，已暂时锁定，请%(wait)s后再试", wait=wait_text(wait)),
        wait_seconds=wait,
        pin_suspended=False,
    )


def succeeded(attempt: Attempt, secret_hash: str) -> User:
    """Confirm a right guess under the row lock and clear the counters it passed.

    Refused when the user was deactivated or their secret changed since it was checked
    (:class:`LoginChanged`), or when guesses counted after this one have locked the account
    (:class:`AccountLocked`): a right guess never slips past a lock that a parallel burst set.
    """
    with write_transaction():
        user = db.session.get(User, attempt.user_id, with_for_update=True)
        now = utcnow()
        current = None
        if user is not None:
            current = user.pin_hash if attempt.method == "pin" else user.password_hash
        if user is None or not user.active or current != secret_hash:
            raise LoginChanged()
        wait = _remaining(user.locked_until, now)
        if user.failed_attempts > attempt.counted and wait:
            raise _refusal(wait, 0)
        user.failed_attempts, user.locked_until = 0, None
        _clear([pin_key(user.id), device_key(attempt.device), device_pin_key(attempt.device)])
    return user


class LoginChanged(Exception):
    """The account changed between checking the secret and confirming it."""


def _clear(keys: list[str]) -> None:
    # Ascending key order, as reserve locks them.
    for key in sorted(keys):
        row = db.session.get(ScanThrottle, key, with_for_update=True)
        if row is not None:
            row.failures, row.first_failure_at, row.locked_until = 0, None, None


def clear_account(user_id: int) -> None:
    """Forget an account's PIN budget (inside the caller's transaction: a new PIN)."""
    _clear([pin_key(user_id)])


def clear_for_unlock(user_id: int) -> None:
    """An admin's 解锁: forget the account's PIN budget and the waits of every device (the
    admin cannot tell from which device the keeper will try; a device's waits only ever
    come from failures, and the admin lifts them on purpose)."""
    table = cast(sa.Table, ScanThrottle.__table__)
    _clear([pin_key(user_id)])
    db.session.execute(
        sa.update(table)
        .where(table.c.key.like(f"{PREFIX}dev%"))
        .values(failures=0, first_failure_at=None, locked_until=None)
    )


def pin_suspended_until(user_id: int) -> datetime | None:
    """When the account's spent PIN budget ends (the users page offers 解锁), or None."""
    row = db.session.get(ScanThrottle, pin_key(user_id))
    return row.locked_until if row is not None else None
