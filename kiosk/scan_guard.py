"""Card-guess throttle (卡片扫描限流): forged card codes counted per kiosk, API token and user.

A card's code carries a 10-digit signature (``kiosk.cards``): whoever may ask "is this code a
card?" often enough can forge one by guessing. Every path that answers that question (the
self-service screen, ``POST /api/v1/scan`` and ``POST /api/v1/redemptions``, which the
counter page uses too) runs the card check inside ``guarded``, which counts the guesses.

**What counts as a guess.** A code of the card's form whose signature is wrong
(``CardInvalid``), or whose signature is right but which names no card (``CardUnknown``).
Text of another form (a product barcode, a payment QR) can never pass, so it is answered and
not counted; a revoked card or another supermarket's card is a real card. A valid card is
always answered and never clears the count: nine forgeries and a real card, repeated, keep
counting.

**Limits**, per key, from ``JIFEN_SELF_SCAN_*`` (keys ``self:<address>``) and
``JIFEN_COUNTER_SCAN_*`` (keys ``api-token:<sha256 of the token>`` and ``user:<id>``; a request
with a token counts under both, the counter page's session under the user):

1. ``MAX_FAILURES`` guesses in a window of ``WINDOW_MINUTES`` from the first are answered as
   usual (card_invalid, card_unknown);
2. the next one starts the lock (one audit event): for ``LOCK_MINUTES`` every guess is
   answered 429 with the wait, and valid cards are still answered — a stranger's junk codes
   never keep a resident's card from the screen;
3. the ``HALT_FAILURES``-th guess in one window and its lock halts the key (a second audit
   event): for ``LOCK_MINUTES`` from then nothing from it is checked, valid cards included.
   During the lock a 429 still tells that a guess was wrong (a valid card gets 200), so
   without the halt the lock would be an oracle as fast as the server answers. Forged codes
   are made on purpose (a damaged QR reads right or not at all), so no person at a screen
   comes near the halt.

The window is fixed (from its first guess; a window that ends below the limit is forgotten, and
so is a lock when it ends): at most ``MAX_FAILURES`` guesses are answered per window, and at
most ``HALT_FAILURES`` are checked per window and its lock, which lasts ``LOCK_MINUTES``. So
whatever the timing a key gets on average no more than ``HALT_FAILURES`` checks per
``LOCK_MINUTES`` (30 in 5 minutes for a kiosk, 60 in 10 for the counter: six a minute, against
the 10,000 to 30,000 a minute measured before), and at a window's edge at most twice as many
answered in one window's length. The count of forged answers is exact under any concurrency.

**Atomic.** A guess is counted in one write transaction (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` on PostgreSQL, the rows locked in key order), and whether it is
answered is decided from the count it made: two servers on one database answer exactly
``MAX_FAILURES`` guesses per window between them. Only the halt is read without a lock, before
the check: requests already past that read when the halt begins are still answered.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from kiosk import audit
from kiosk.cards import is_card_shaped
from kiosk.database import write_transaction
from kiosk.errors import CardInvalid, CardUnknown, TooManyAttempts
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import ApiToken, ScanThrottle, User
from kiosk.timeutil import utcnow

SELF_PREFIX = "self:"
TOKEN_PREFIX = "api-token:"
USER_PREFIX = "user:"


def self_key(address: str | None) -> str:
    """The key of a self-service kiosk: its client address."""
    return SELF_PREFIX + (address or "unknown")[:80]


def token_key(token: str) -> str:
    """The key of an API token: its SHA-256, as ``api_tokens.token_hash`` (never the token)."""
    return TOKEN_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def user_key(user_id: int) -> str:
    return f"{USER_PREFIX}{user_id}"


@dataclass(frozen=True)
class Limits:
    answered: int  # guesses answered per window
    window: timedelta
    lock: timedelta
    halt: int  # guesses per window and its lock after which nothing is checked


def limits_for(key: str) -> Limits:
    """The limits of a key's kind: a self-service kiosk's, or the counter's (token, user)."""
    kind = "SELF" if key.startswith(SELF_PREFIX) else "COUNTER"
    config = current_app.config
    answered = int(config[f"JIFEN_{kind}_SCAN_MAX_FAILURES"])
    return Limits(
        answered=answered,
        window=timedelta(minutes=config[f"JIFEN_{kind}_SCAN_WINDOW_MINUTES"]),
        lock=timedelta(minutes=config[f"JIFEN_{kind}_SCAN_LOCK_MINUTES"]),
        halt=max(int(config[f"JIFEN_{kind}_SCAN_HALT_FAILURES"]), answered + 1),
    )


class ScanThrottled(TooManyAttempts):
    """Too many forged card codes: 429 with how long to wait (``retry_after``, seconds)."""

    def __init__(self, seconds: int, *, halted: bool) -> None:
        self.retry_after = max(1, seconds)
        self.minutes = math.ceil(self.retry_after / 60)
        self.halted = halted
        if halted:
            message = _(
                "无效卡片扫描次数过多，已暂停扫卡，请%(n)s分钟后再试，或请管理员帮助",
                n=self.minutes,
            )
        else:
            message = _(
                "无效卡片扫描次数过多，请%(n)s分钟后再扫；有效的积分卡照常可用", n=self.minutes
            )
        super().__init__(message, retry_after=self.retry_after)


def is_guess(payload: str, exc: Exception) -> bool:
    """Whether a refused card code was a guess at a card (see the module's docstring)."""
    if isinstance(exc, CardUnknown):
        return True
    return isinstance(exc, CardInvalid) and is_card_shaped(payload)


@contextmanager
def guarded(
    keys: Sequence[str],
    payload: str,
    *,
    supermarket_id: int | None = None,
    actor: User | None = None,
) -> Iterator[None]:
    """Run a card check for these keys: refused at once when one of them is halted, and a
    guess it refuses counted, answered as it is or, over the limit, as ``ScanThrottled``."""
    check(keys)
    try:
        yield
    except (CardInvalid, CardUnknown) as exc:
        if is_guess(payload, exc):
            refused = count_guess(keys, supermarket_id=supermarket_id, actor=actor)
            if refused is not None:
                raise refused from exc
        raise


def check(keys: Sequence[str]) -> None:
    """Refuse (``ScanThrottled``) when any key is halted; one read, no lock."""
    now = utcnow()
    table = ScanThrottle.__table__
    rows = db.session.execute(
        sa.select(table.c.key, table.c.failures, table.c.locked_until).where(
            table.c.key.in_(list(keys)), table.c.locked_until > now
        )
    ).all()
    waits = [
        _seconds(row.locked_until, now) for row in rows if row.failures >= limits_for(row.key).halt
    ]
    if waits:
        raise ScanThrottled(max(waits), halted=True)


def count_guess(
    keys: Sequence[str], *, supermarket_id: int | None = None, actor: User | None = None
) -> ScanThrottled | None:
    """Count one guess under every key, atomically; the refusal to answer when over a limit."""
    now = utcnow()
    refusals: list[tuple[int, bool]] = []
    started: list[tuple[ScanThrottle, str, Limits]] = []
    with write_transaction():
        for row in _locked_rows(sorted(set(keys))):
            limits = limits_for(row.key)
            stage = _count(row, limits, now)
            if stage is not None:
                started.append((row, stage, limits))
            if row.failures > limits.answered:
                refusals.append((_seconds(row.locked_until, now), row.failures >= limits.halt))
        if started:
            _record_burst(started, supermarket_id=supermarket_id, actor=actor)
    if not refusals:
        return None
    return ScanThrottled(max(s for s, _ in refusals), halted=any(h for _, h in refusals))


def _record_burst(
    started: list[tuple[ScanThrottle, str, Limits]],
    *,
    supermarket_id: int | None,
    actor: User | None,
) -> None:
    """One audit row for the guess that started a lock or a halt, on however many keys."""
    row = started[0][0]
    audit.record(
        "selfservice.scan_locked" if row.key.startswith(SELF_PREFIX) else "counter.scan_locked",
        row,
        actor=actor,
        supermarket_id=supermarket_id,
        keys=[_shown(r.key) for r, _, _ in started],
        stage="halt" if any(stage == "halt" for _, stage, _ in started) else "lock",
        guesses=max(r.failures for r, _, _ in started),
        minutes=max(int(limits.lock.total_seconds() // 60) for _, _, limits in started),
    )


def _count(row: ScanThrottle, limits: Limits, now: datetime) -> str | None:
    """Add one guess to a locked row; "lock" or "halt" when this guess starts one."""
    if row.locked_until is not None and row.locked_until <= now:
        row.failures, row.first_failure_at, row.locked_until = 0, None, None  # lock over
    if row.locked_until is None and (
        row.first_failure_at is None or now - row.first_failure_at > limits.window
    ):
        row.failures, row.first_failure_at = 0, now  # a new window
    row.failures += 1
    if row.failures == limits.halt:
        row.locked_until = now + limits.lock
        return "halt"
    if row.failures == limits.answered + 1:
        row.locked_until = now + limits.lock
        return "lock"
    return None


def _locked_rows(keys: list[str]) -> list[ScanThrottle]:
    """The throttle rows of these keys, made when missing, locked in key order."""
    rows = [{"key": key, "failures": 0} for key in keys]
    # Two servers making the same row: one inserts, the other waits on it and does nothing.
    statement: sa.Executable
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(ScanThrottle).values(rows).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(ScanThrottle).values(rows).on_conflict_do_nothing()
    db.session.execute(statement)
    return list(
        db.session.scalars(
            sa.select(ScanThrottle)
            .where(ScanThrottle.key.in_(keys))
            .order_by(ScanThrottle.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _shown(key: str) -> str:
    """A key as the audit log shows it: a token by its id (``api-token:7``), not its hash."""
    if not key.startswith(TOKEN_PREFIX):
        return key
    token_id = db.session.scalar(
        sa.select(ApiToken.id).where(ApiToken.token_hash == key[len(TOKEN_PREFIX) :])
    )
    return f"{TOKEN_PREFIX}{token_id}"


def _seconds(until: datetime | None, now: datetime) -> int:
    if until is None or until <= now:
        return 1
    return math.ceil((until - now).total_seconds())
