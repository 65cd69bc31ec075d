"""Audit events: every service write records who did what to which row, in a hash chain.

``record(...)`` keeps a row for the caller's transaction. Its link in the chain is made when the
transaction commits (a ``before_commit`` hook), and the row goes to the database then, once,
complete (never inserted first and linked by a second statement): the chain's head row is
locked then — always
the last lock a transaction takes, so it cannot deadlock with the services' own row locks, and
it is held only for the commit — the row gets the next ``seq``, the head's hash as
``prev_hash``, and ``hash`` = SHA-256 of the canonical JSON of (seq, supermarket, actor,
action, subject, data, created_at, prev_hash). One chain per supermarket (and one global chain,
``chain`` 0, for rows without a supermarket), so kiosks of different villages on one
PostgreSQL never wait for each other.

:func:`verify_chains` walks every chain and reports the first broken link of each (an edited,
deleted, inserted or reordered row); ``jifen check`` runs it via :func:`check_chains`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, selectinload

from kiosk.database import lock
from kiosk.extensions import db
from kiosk.models import AuditChainHead, AuditEvent, Supermarket, User
from kiosk.problems import Problem
from kiosk.timeutil import utcnow

GENESIS = "0" * 64
GLOBAL_CHAIN = 0
_PENDING = "jifen_audit_pending"


def record(
    action: str,
    subject: Any,
    *,
    actor: User | None,
    supermarket_id: int | None = None,
    before: Any = None,
    after: Any = None,
    **data: Any,
) -> None:
    """Add an audit row to the current transaction (the caller commits; the row is written
    with its link in the chain at the commit).

    ``before`` / ``after`` (optional) hold what a change replaced and what it wrote; they are
    stored in ``data`` under those keys. Never pass secrets (passwords, PINs, tokens).
    """
    if before is not None:
        data["before"] = before
    if after is not None:
        data["after"] = after
    supermarket_id = (
        supermarket_id if supermarket_id is not None else getattr(subject, "supermarket_id", None)
    )
    event_row = AuditEvent(
        action=action,
        subject_type=type(subject).__name__,
        subject_id=getattr(subject, "id", None),
        actor_id=actor.id if actor is not None else None,
        supermarket_id=supermarket_id,
        # Stored exactly as it will read back, so the hash recomputes from the database.
        data=_normalise(data),
        created_at=utcnow(),
        chain=supermarket_id if supermarket_id is not None else GLOBAL_CHAIN,
    )
    db.session().info.setdefault(_PENDING, []).append(event_row)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    # JSON round trip: tuples become lists, keys strings, dates must already be strings.
    normalised: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    return normalised


def canonical(
    *,
    seq: int,
    supermarket_id: int | None,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    data: Any,
    created_at: datetime,
    prev_hash: str,
) -> bytes:
    """The bytes a row's hash is taken over (sorted keys, no spaces, UTF-8)."""
    doc = {
        "seq": seq,
        "supermarket": supermarket_id,
        "actor": actor_id,
        "action": action,
        "subject": [subject_type, subject_id],
        "data": data,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(row: AuditEvent | Any, prev_hash: str) -> str:
    """The hash a row must carry given the previous row's hash."""
    if row.seq is None:
        raise ValueError("an audit row is hashed once it has its place (seq) in a chain")
    return hashlib.sha256(
        canonical(
            seq=row.seq,
            supermarket_id=row.supermarket_id,
            actor_id=row.actor_id,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            data=row.data,
            created_at=row.created_at,
            prev_hash=prev_hash,
        )
    ).hexdigest()


_HEADS = cast(sa.Table, AuditChainHead.__table__)
_EVENTS = cast(sa.Table, AuditEvent.__table__)


def _head_for_update(conn: sa.Connection, chain: int) -> tuple[int, str]:
    """The chain's head (seq, hash), made on first use and locked until the commit."""
    stmt = lock(sa.select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.chain == chain))
    head = conn.execute(stmt).one_or_none()
    if head is not None:
        return head.seq, head.hash
    values = {"chain": chain, "seq": 0, "hash": GENESIS, "updated_at": utcnow()}
    # Two first writers of a chain: one inserts, the other waits on the lock below.
    first: sa.Executable
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        first = pg_insert(_HEADS).values(**values).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        first = sqlite_insert(_HEADS).values(**values).on_conflict_do_nothing()
    conn.execute(first)
    seq, digest = conn.execute(stmt).one()
    return seq, digest


@event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    """Give this transaction's new audit rows their place in their chains and write them:
    plain statements on the transaction's connection (the rows need none of the ORM's
    bookkeeping), after the transaction's own changes are flushed."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()
    conn = session.connection()
    by_chain: dict[int, list[AuditEvent]] = {}
    for row in pending:
        by_chain.setdefault(row.chain, []).append(row)
    # Chains in a fixed order, so two transactions touching two chains cannot deadlock.
    for chain in sorted(by_chain):
        seq, prev = _head_for_update(conn, chain)
        values = []
        for row in by_chain[chain]:
            seq += 1
            row.seq = seq
            row.prev_hash = prev
            row.hash = prev = row_hash(row, prev)
            values.append({c.key: getattr(row, c.key) for c in _EVENTS.c if c.key != "id"})
        conn.execute(sa.insert(_EVENTS), values)
        conn.execute(
            sa.update(_HEADS)
            .where(_HEADS.c.chain == chain)
            .values(seq=seq, hash=prev, updated_at=utcnow())
        )


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class ChainState:
    """One chain's state: verified up to ``verified_seq``, or broken at ``broken_seq``."""

    chain: int
    supermarket_id: int | None
    label: str
    rows: int
    verified_seq: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""
    legacy_rows: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and not self.problem


def _chain_label(chain: int, names: dict[int, str]) -> str:
    if chain == GLOBAL_CHAIN:
        return "全局"
    return names.get(chain, f"超市 #{chain}")


def _rows(chain: int) -> Iterator[Any]:
    stmt = (
        sa.select(
            AuditEvent.id,
            AuditEvent.seq,
            AuditEvent.supermarket_id,
            AuditEvent.actor_id,
            AuditEvent.action,
            AuditEvent.subject_type,
            AuditEvent.subject_id,
            AuditEvent.data,
            AuditEvent.created_at,
            AuditEvent.prev_hash,
            AuditEvent.hash,
        )
        .where(AuditEvent.chain == chain, AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq, AuditEvent.id)
        .execution_options(yield_per=2000)
    )
    yield from db.session.execute(stmt)


def verify_chain(chain: int, names: dict[int, str] | None = None) -> ChainState:
    """Walk one chain from seq 1 and stop at the first broken link."""
    label = _chain_label(chain, names or {})
    head = db.session.get(AuditChainHead, chain)
    head_seq = head.seq if head is not None else 0
    head_hash = head.hash if head is not None else GENESIS
    supermarket_id = None if chain == GLOBAL_CHAIN else chain
    expected_seq, prev, count = 1, GENESIS, 0
    broken: tuple[int, str] | None = None
    first_chained_id: int | None = None
    for row in _rows(chain):
        count += 1
        if first_chained_id is None:
            first_chained_id = row.id
        if row.seq != expected_seq:
            if row.seq < expected_seq:
                broken = (row.seq, f"第{row.seq}号记录重复出现（记录被复制或顺序被改动）")
            else:
                missing = (
                    f"第{expected_seq}号记录"
                    if row.seq == expected_seq + 1
                    else f"第{expected_seq}至{row.seq - 1}号记录"
                )
                broken = (expected_seq, f"{missing}不见了（被删除）")
            break
        if (row.supermarket_id if row.supermarket_id is not None else GLOBAL_CHAIN) != chain:
            broken = (row.seq, f"第{row.seq}号记录的超市被改动")
            break
        if row.prev_hash != prev:
            broken = (row.seq, f"第{row.seq}号记录的前一哈希与第{row.seq - 1}号记录对不上")
            break
        if row_hash(row, prev) != row.hash:
            broken = (row.seq, f"第{row.seq}号记录的内容与其哈希不符（记录被改动）")
            break
        prev = row.hash
        expected_seq += 1
    verified = expected_seq - 1
    if broken is None and head is not None:
        if head_seq > verified:
            if head_seq == verified + 1:
                missing = f"第{head_seq}号记录"
            else:
                missing = f"第{verified + 1}至{head_seq}号记录"
            broken = (verified + 1, f"链头记到第{head_seq}号，{missing}不见了（被删除）")
        elif head_seq < verified:
            broken = (head_seq + 1, f"链头只记到第{head_seq}号，其后的记录不是经系统写入的")
        elif head_hash != prev:
            broken = (verified, f"第{verified}号记录的哈希与链头不符")
    if broken is None and head is None and count:
        broken = (1, "链头不见了")
    legacy_stmt = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.seq.is_(None))
    legacy_stmt = legacy_stmt.where(
        AuditEvent.supermarket_id.is_(None)
        if supermarket_id is None
        else AuditEvent.supermarket_id == supermarket_id
    )
    legacy = db.session.scalar(legacy_stmt) or 0
    if broken is None and legacy and first_chained_id is not None:
        # Rows from before the chain are older than its first row; a later one was put in.
        late = db.session.scalar(
            sa.select(sa.func.min(AuditEvent.id)).where(
                AuditEvent.seq.is_(None),
                AuditEvent.id > first_chained_id,
                AuditEvent.supermarket_id.is_(None)
                if supermarket_id is None
                else AuditEvent.supermarket_id == supermarket_id,
            )
        )
        if late is not None:
            broken = (verified, f"第{late}行记录没有链号，是在链建立后加入的")
    return ChainState(
        chain=chain,
        supermarket_id=supermarket_id,
        label=label,
        rows=count,
        verified_seq=verified if broken is None else min(verified, broken[0] - 1),
        head_seq=head_seq,
        head_hash=head_hash,
        broken_seq=broken[0] if broken else None,
        problem=broken[1] if broken else "",
        legacy_rows=legacy,
    )


def chain_ids() -> list[int]:
    """Every chain that has rows or a head."""
    from_rows = db.session.scalars(
        sa.select(AuditEvent.chain).where(AuditEvent.chain.is_not(None)).distinct()
    )
    from_heads = db.session.scalars(sa.select(AuditChainHead.chain))
    return sorted({chain for chain in from_rows if chain is not None} | set(from_heads))


def verify_chains() -> list[ChainState]:
    """The state of every chain, the global one first."""
    names = {
        row.id: row.name for row in db.session.execute(sa.select(Supermarket.id, Supermarket.name))
    }
    return [verify_chain(chain, names) for chain in chain_ids()]


def chain_head(supermarket_id: int | None) -> tuple[int, str]:
    """(seq, hash) of a chain's last link as committed; (0, GENESIS) before its first row."""
    chain = supermarket_id if supermarket_id is not None else GLOBAL_CHAIN
    head = db.session.get(AuditChainHead, chain, populate_existing=True)
    if head is None:
        return 0, GENESIS
    return head.seq, head.hash


def link_matches(supermarket_id: int | None, seq: int, hash_prefix: str) -> bool | None:
    """Whether the chain's row ``seq`` has a hash starting with ``hash_prefix`` (as printed on
    a closing slip); None when there is no such row."""
    chain = supermarket_id if supermarket_id is not None else GLOBAL_CHAIN
    stored = db.session.scalar(
        sa.select(AuditEvent.hash).where(AuditEvent.chain == chain, AuditEvent.seq == seq)
    )
    if stored is None:
        return None
    prefix = (hash_prefix or "").strip().lower()
    return bool(prefix) and stored.startswith(prefix)


def check_chains() -> list[Problem]:
    """``jifen check``: one problem per broken chain, naming its first broken link."""

    return [
        Problem(
            "audit_chain",
            f"{state.label}操作日志链",
            f"在第{state.broken_seq}号断开：{state.problem}",
        )
        for state in verify_chains()
        if not state.ok
    ]


# ---------------------------------------------------------------------------------------------
# Reading the log (the supervisors' page and its export)


@dataclass(frozen=True)
class LogFilter:
    """What the log page asks for; ``start``/``end`` are naive-UTC bounds (end exclusive)."""

    supermarket_id: int | None
    start: datetime | None = None
    end: datetime | None = None
    actor_id: int | None = None
    action: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    text: str = ""


def _log_query(f: LogFilter) -> sa.Select[AuditEvent]:
    stmt = sa.select(AuditEvent)
    scope: sa.ColumnElement[bool] = AuditEvent.supermarket_id.is_(None)
    if f.supermarket_id is not None:
        scope = sa.or_(AuditEvent.supermarket_id == f.supermarket_id, scope)
    stmt = stmt.where(scope)
    if f.start is not None:
        stmt = stmt.where(AuditEvent.created_at >= f.start)
    if f.end is not None:
        stmt = stmt.where(AuditEvent.created_at < f.end)
    if f.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == f.actor_id)
    if f.action:
        if f.action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == f.action)
    if f.subject_type:
        stmt = stmt.where(AuditEvent.subject_type == f.subject_type)
    if f.subject_id is not None:
        stmt = stmt.where(AuditEvent.subject_id == f.subject_id)
    text = f.text.strip()
    if text:
        # The JSON column may hold Chinese as \\uXXXX escapes: search for both spellings.
        escaped = json.dumps(text)[1:-1]
        as_text = sa.cast(AuditEvent.data, sa.Text)
        needles = {text, escaped}
        stmt = stmt.where(
            sa.or_(
                AuditEvent.action.ilike(f"%{text}%"),
                *(as_text.ilike(f"%{_like(n)}%", escape="\\") for n in needles),
            )
        )
    return stmt


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_log(f: LogFilter, *, page: int = 1, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """One page of matching events, newest first, and how many match in all."""
    stmt = _log_query(f)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset(max(0, page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def all_matching(f: LogFilter, limit: int = 100_000) -> list[AuditEvent]:
    """Every matching event, oldest first (for the export)."""
    stmt = (
        _log_query(f)
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.created_at, AuditEvent.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def known_values(supermarket_id: int | None) -> tuple[list[str], list[str]]:
    """The actions and subject kinds present in the log (for the filter lists)."""
    scope: sa.ColumnElement[bool] = AuditEvent.supermarket_id.is_(None)
    if supermarket_id is not None:
        scope = sa.or_(AuditEvent.supermarket_id == supermarket_id, scope)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(scope).distinct().order_by(AuditEvent.action)
    )
    kinds = db.session.scalars(
        sa.select(AuditEvent.subject_type).where(scope).distinct().order_by(AuditEvent.subject_type)
    )
    return list(actions), list(kinds)
