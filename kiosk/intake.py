"""Points intake (积分录入): awards and deductions by standard item, signed off by a second admin.

An admin enters a proposal — household, optional member, a standard item (kiosk.standards) or
a free reason, signed points, the day it happened, the reason and an evidence note (证明材料).
It counts only when another admin of the assessment group approves it (签字确认): approval
posts exactly one ``PointEntry`` through :mod:`kiosk.points` in the same transaction, with the
idempotency key ``proposal-<id>``, so a retried or raced approval can never post twice. The
admin who entered it may withdraw it while pending; anyone else may reject it.

Deductions follow :func:`kiosk.points.deduct_points`: the balance may go below zero (the ledger
records what the group decided; redemption never spends below zero).

Imported points (kiosk.imports) become pending proposals of their batch; another admin
approves them one by one or the whole batch at once (:func:`approve_batch`).

This is the only way a person's award or deduction reaches the ledger: the office's /intake,
imports, an upheld objection's correction (kiosk.objections, key ``objection:<id>``) and the
API (``/api/v1/proposals``, and ``POST /api/v1/households/<id>/points``, which now makes a
proposal too) all enter proposals here. A client's retry is safe by its idempotency key
(:func:`submit_proposal`). Entries the rules post themselves (conversion, veto, year close)
do not pass through here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kiosk import audit, clock, permissions
from kiosk.database import lock, write_transaction
from kiosk.errors import (
    AlreadyDecided,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    SelfApprovalRefused,
    ValidationFailed,
)
from kiosk.extensions import db
from kiosk.messages import Message, _
from kiosk.models import (
    ENTRY_AWARD,
    ENTRY_DEDUCTION,
    PROPOSAL_APPROVED,
    PROPOSAL_PENDING,
    PROPOSAL_REJECTED,
    PROPOSAL_WITHDRAWN,
    ROLE_ADMIN,
    Household,
    ImportBatch,
    Member,
    Objection,
    PointAccount,
    PointEntry,
    PointProposal,
    StandardItem,
    Supermarket,
    User,
)
from kiosk.points import MAX_ADJUSTMENT, locked_account, post_entry
from kiosk.problems import Problem
from kiosk.timeutil import utcnow

if TYPE_CHECKING:
    from kiosk.evidence import Photo

logger = logging.getLogger(__name__)

MAX_PLACE = 100
MAX_LOCATION = 60
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=10)
MAX_REASON = 200
MAX_EVIDENCE = 500
MAX_NOTE = 200


@dataclass(frozen=True)
class ProposalInput:
    """One award or deduction to propose. ``amount`` may be left out when an item is cited."""

    household_id: int
    occurred_on: date
    standard_item_id: int | None = None
    amount: int | None = None
    member_id: int | None = None
    reason: str = ""
    evidence: str = ""
    # Where and when (the phone): the moment in UTC, a place, the phone's "lat,lon".
    occurred_at: datetime | None = None
    place: str = ""
    location: str = ""


def idempotency_key(proposal_id: int) -> str:
    """The key of the one ledger entry a proposal's approval posts."""
    return f"proposal-{proposal_id}"


MAX_CLIENT_KEY = 100  # point_proposals.idempotency_key
OBJECTION_KEY = "objection:"


def correction_key(objection_id: int) -> str:
    """The stored key of the proposal an upheld objection's correction makes (one at most)."""
    return f"{OBJECTION_KEY}{objection_id}"


def client_key(user_id: int, key: str, *, channel: str = "api") -> str:
    """A client's idempotency key as stored on its proposal: namespaced by channel and user, so
    two users (or the API and a phone) choosing the same key never meet."""
    return f"{channel}:{user_id}:{key}"


def _require_admin(actor: User | None, what: Message) -> User:
    """The actor, when they may sign off. A CLI import has no user (actor None); signing off
    always needs a person."""
    if actor is None or not permissions.allows(actor, "proposal.decide"):
        raise PermissionDenied(_("只有管理员才能%(what)s", what=what))
    return actor


def _require_proposer(actor: User | None) -> User:
    """The actor, when they may propose: the assessment group's recorders (评议员) propose
    too; only admins sign off."""
    if actor is None or not permissions.allows(actor, "proposal.create"):
        raise PermissionDenied(_("只有管理员或评议员才能录入加减分"))
    return actor


def check_proposal(
    supermarket_id: int, data: ProposalInput, *, today: date | None = None
) -> tuple[Household, Member | None, StandardItem | None, int, str]:
    """Validate a proposal against the database: (household, member, item, signed amount,
    reason). Raises ValidationFailed / NotFound with a Chinese message."""
    household = db.session.get(Household, data.household_id)
    if household is None or household.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该户"))
    member = None
    if data.member_id is not None:
        member = db.session.get(Member, data.member_id)
        if member is None or member.household_id != household.id:
            raise ValidationFailed(_("该成员不属于户号 %(number)s", number=household.number))
    item = None
    if data.standard_item_id is not None:
        item = db.session.get(StandardItem, data.standard_item_id)
        if item is None or item.supermarket_id != supermarket_id:
            raise NotFound(_("没有找到该积分标准"))
        if not item.active:
            raise ValidationFailed(_("积分标准 %(code)s 已停用", code=item.code))
    amount = data.amount if data.amount is not None else (item.points if item else None)
    if amount is None:
        raise ValidationFailed(_("请选择积分标准，或填写分值"))
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValidationFailed(_("分值必须是非零整数：加分写正数，扣分写负数"))
    if abs(amount) > MAX_ADJUSTMENT:
        raise ValidationFailed(_("单次调整积分过大"))
    reason = (data.reason or "").strip()
    if not reason and item is not None:
        reason = f"标准{item.code}：{item.title}"[:MAX_REASON]
    if not reason:
        raise ValidationFailed(_("请填写加减分事由"))
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_("事由不能超过%(n)s个字", n=MAX_REASON))
    if len(data.evidence or "") > MAX_EVIDENCE:
        raise ValidationFailed(_("证明材料说明不能超过%(n)s个字", n=MAX_EVIDENCE))
    if not isinstance(data.occurred_on, date):
        raise ValidationFailed(_("请填写日期"))
    today = today or clock.local_now().date()
    if data.occurred_on > today:
        raise ValidationFailed(_("日期不能晚于今天"))
    if data.occurred_on.year < 2000:
        raise ValidationFailed(_("日期不正确"))
    if data.occurred_at is not None and data.occurred_at > utcnow() + CLOCK_SKEW:
        raise ValidationFailed(_("发生时间不能晚于现在"))
    if len((data.place or "").strip()) > MAX_PLACE:
        raise ValidationFailed(_("地点不能超过%(n)s个字", n=MAX_PLACE))
    if len((data.location or "").strip()) > MAX_LOCATION:
        raise ValidationFailed(_("位置不正确"))
    return household, member, item, amount, reason


def add_proposal(
    supermarket_id: int,
    data: ProposalInput,
    *,
    actor: User | None,
    batch_id: int | None = None,
    today: date | None = None,
    audit_row: bool = True,
    flush: bool = True,
    idempotency_key: str | None = None,
    photos: Sequence[Photo] = (),
) -> PointProposal:
    """Add a pending proposal inside the caller's transaction (a bulk caller may skip the
    per-row audit event and flush once itself). ``idempotency_key`` is the client's key as
    stored (see :func:`client_key`); the column is unique, so a raced twin fails to insert.
    ``photos`` must already be stored (:func:`kiosk.evidence.store`)."""
    household, member, item, amount, reason = check_proposal(supermarket_id, data, today=today)
    proposal = PointProposal(
        supermarket_id=supermarket_id,
        household_id=household.id,
        member_id=member.id if member else None,
        standard_item_id=item.id if item else None,
        amount=amount,
        occurred_on=data.occurred_on,
        reason=reason,
        evidence=(data.evidence or "").strip(),
        status=PROPOSAL_PENDING,
        batch_id=batch_id,
        entered_by_id=actor.id if actor is not None else None,
        idempotency_key=idempotency_key,
        occurred_at=data.occurred_at,
        place=(data.place or "").strip(),
        location=(data.location or "").strip(),
    )
    if photos:
        from kiosk import evidence

        proposal.photos = evidence.rows_for(list(photos))
    db.session.add(proposal)
    if flush or audit_row:
        db.session.flush()
    if audit_row:
        audit.record(
            "proposal.create",
            proposal,
            actor=actor,
            household_id=household.id,
            amount=amount,
            reason=reason,
            batch_id=batch_id,
            photos=len(photos),
        )
    return proposal


def propose(
    supermarket_id: int,
    data: ProposalInput,
    *,
    actor: User | None,
    idempotency_key: str | None = None,
) -> PointProposal:
    """Enter an award or deduction; it counts once another admin approves it."""
    return submit_proposal(supermarket_id, data, actor=actor, idempotency_key=idempotency_key)[0]


def _store_photos(photos: Sequence[Photo]) -> None:
    """Write a proposal's photos to their files (at most four) before its transaction."""
    from kiosk import evidence

    if len(photos) > evidence.MAX_PHOTOS:
        raise ValidationFailed(_("最多%(max_photos)s张照片", max_photos=evidence.MAX_PHOTOS))
    for photo in photos:
        evidence.store(photo)


def submit_proposal(
    supermarket_id: int,
    data: ProposalInput,
    *,
    actor: User | None,
    idempotency_key: str | None = None,
    photos: Sequence[Photo] = (),
) -> tuple[PointProposal, bool]:
    """Enter an award or deduction: (the proposal, whether it was made now).

    With a key, a retry of the same request returns the proposal the first one made, whatever
    has happened to it since; the same key with a different request is refused
    (``idempotency_conflict``). Two copies racing each other make one proposal: the second
    waits on the unique key (PostgreSQL) or the write lock (SQLite) and then finds the first.

    ``photos`` (at most four, from :func:`kiosk.evidence.prepare`) are written to their files
    before the transaction and their rows added in it: a row never names a missing file, and
    a retry's photos are the first copy's.
    """
    _require_proposer(actor)
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_CLIENT_KEY:
        raise ValidationFailed(_("请求编号太长"))
    if photos:
        _store_photos(photos)
    try:
        with write_transaction():
            if idempotency_key is not None:
                existing = find_by_key(idempotency_key)
                if existing is not None:
                    _must_match(existing, supermarket_id, data)
                    return existing, False
            proposal = add_proposal(
                supermarket_id, data, actor=actor, idempotency_key=idempotency_key, photos=photos
            )
    except IntegrityError:
        # A twin with the same key committed between our look-up and our insert.
        existing = find_by_key(idempotency_key) if idempotency_key is not None else None
        if existing is None:
            raise
        _must_match(existing, supermarket_id, data)
        return existing, False
    logger.info("proposal %s entered", proposal.id)
    return proposal, True


def find_by_key(key: str) -> PointProposal | None:
    """The proposal a client's stored idempotency key made, if any."""
    return db.session.scalar(sa.select(PointProposal).where(PointProposal.idempotency_key == key))


def _must_match(proposal: PointProposal, supermarket_id: int, data: ProposalInput) -> None:
    """Refuse a key reused for a different request (what was left out may default)."""
    reason = (data.reason or "").strip()
    same = (
        proposal.supermarket_id == supermarket_id
        and proposal.household_id == data.household_id
        and proposal.member_id == data.member_id
        and proposal.standard_item_id == data.standard_item_id
        and proposal.occurred_on == data.occurred_on
        and (
            proposal.amount == data.amount
            if data.amount is not None
            else data.standard_item_id is not None
        )
        and (proposal.reason == reason if reason else True)
        and proposal.evidence == (data.evidence or "").strip()
        and proposal.place == (data.place or "").strip()
        and (data.occurred_at is None or proposal.occurred_at == data.occurred_at)
    )
    if not same:
        raise IdempotencyConflict(
            _("同一个请求编号已用于另一笔不同的加减分申请"), proposal_id=proposal.id
        )


def _locked(proposal_id: int, supermarket_id: int | None) -> PointProposal:
    proposal = db.session.scalar(
        lock(sa.select(PointProposal).where(PointProposal.id == proposal_id))
    )
    if proposal is None or (
        supermarket_id is not None and proposal.supermarket_id != supermarket_id
    ):
        raise NotFound(_("没有找到该加减分申请"))
    return proposal


_STATUS_TEXT: dict[str, Message] = {
    PROPOSAL_APPROVED: _("已确认"),
    PROPOSAL_REJECTED: _("已退回"),
    PROPOSAL_WITHDRAWN: _("已撤回"),
}


def _must_be_pending(proposal: PointProposal) -> None:
    if proposal.status != PROPOSAL_PENDING:
        raise AlreadyDecided(
            _(
                "该加减分申请已经处理过了（%(status)s）",
                status=_STATUS_TEXT.get(proposal.status, proposal.status),
            )
        )


def _must_be_other(proposal: PointProposal, actor: User) -> None:
    if proposal.entered_by_id is not None and proposal.entered_by_id == actor.id:
        raise SelfApprovalRefused()


def _post(
    proposal: PointProposal,
    actor: User,
    *,
    accounts: dict[int, PointAccount] | None = None,
    posted: dict[str, PointEntry] | None = None,
) -> PointEntry:
    """Post the proposal's entry (caller's transaction, proposal locked). Idempotent by key.

    A batch passes the accounts it locked and the entries already posted under its keys, so
    ten thousand rows cost no extra round trips each."""
    key = idempotency_key(proposal.id)
    if posted is not None:
        existing = posted.get(key)
    else:
        existing = db.session.scalar(sa.select(PointEntry).where(PointEntry.idempotency_key == key))
    if existing is not None:
        return existing
    account = (accounts or {}).get(proposal.household_id) or locked_account(proposal.household_id)
    kind = ENTRY_AWARD if proposal.amount > 0 else ENTRY_DEDUCTION
    reason = proposal.reason
    if proposal.member is not None:
        reason = f"{proposal.member.name}：{reason}"
    entry = post_entry(
        account,
        kind,
        proposal.amount,
        actor=actor,
        reason=reason[:MAX_REASON],
        idempotency_key=key,
    )
    audit.record(
        f"points.{kind}",
        entry,
        actor=actor,
        supermarket_id=proposal.supermarket_id,
        household_id=proposal.household_id,
        amount=proposal.amount,
        reason=entry.reason,
        proposal_id=proposal.id,
    )
    return entry


def _link_correction(proposal: PointProposal, entry: PointEntry) -> None:
    """An objection's correction, once approved, is the objection's correction entry: the
    notice counts it in the period objected to (kiosk.notice)."""
    key = proposal.idempotency_key or ""
    if key.startswith(OBJECTION_KEY) and key[len(OBJECTION_KEY) :].isdigit():
        objection = db.session.get(Objection, int(key[len(OBJECTION_KEY) :]))
        if objection is not None and objection.household_id == proposal.household_id:
            objection.correction_entry_id = entry.id


def _approve_locked(
    proposal: PointProposal,
    actor: User,
    note: str,
    *,
    accounts: dict[int, PointAccount] | None = None,
    posted: dict[str, PointEntry] | None = None,
) -> None:
    _must_be_pending(proposal)
    _must_be_other(proposal, actor)
    entry = _post(proposal, actor, accounts=accounts, posted=posted)
    _link_correction(proposal, entry)
    proposal.status = PROPOSAL_APPROVED
    proposal.decided_by_id = actor.id
    proposal.decided_at = utcnow()
    proposal.decision_note = note
    proposal.entry_id = entry.id
    audit.record(
        "proposal.approve",
        proposal,
        actor=actor,
        household_id=proposal.household_id,
        amount=proposal.amount,
        entry_id=entry.id,
    )


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(_("说明不能超过%(n)s个字", n=MAX_NOTE))
    return note


def approve(
    proposal_id: int, *, actor: User | None, note: str = "", supermarket_id: int | None = None
) -> PointProposal:
    """Sign off a proposal entered by someone else: it counts from now (one ledger entry)."""
    actor = _require_admin(actor, _("确认加减分"))
    note = _note(note)
    with write_transaction():
        proposal = _locked(proposal_id, supermarket_id)
        _approve_locked(proposal, actor, note)
    logger.info("proposal %s approved", proposal.id)
    return proposal


def reject(
    proposal_id: int, *, actor: User | None, note: str = "", supermarket_id: int | None = None
) -> PointProposal:
    """Turn down a proposal entered by someone else (nothing is posted)."""
    actor = _require_admin(actor, _("退回加减分"))
    note = _note(note)
    if not note:
        raise ValidationFailed(_("请填写退回原因"))
    with write_transaction():
        proposal = _locked(proposal_id, supermarket_id)
        _must_be_pending(proposal)
        if proposal.entered_by_id is not None and proposal.entered_by_id == actor.id:
            raise SelfApprovalRefused(_("不能退回自己录入的加减分：请使用“撤回”"))
        proposal.status = PROPOSAL_REJECTED
        proposal.decided_by_id = actor.id
        proposal.decided_at = utcnow()
        proposal.decision_note = note
        audit.record(
            "proposal.reject", proposal, actor=actor, household_id=proposal.household_id, note=note
        )
    return proposal


def withdraw(
    proposal_id: int, *, actor: User | None, supermarket_id: int | None = None
) -> PointProposal:
    """The admin or recorder who entered a pending proposal takes it back."""
    actor = _require_proposer(actor)
    with write_transaction():
        proposal = _locked(proposal_id, supermarket_id)
        _must_be_pending(proposal)
        if proposal.entered_by_id != actor.id:
            raise PermissionDenied(_("只有录入人才能撤回；其他管理员请使用“退回”"))
        proposal.status = PROPOSAL_WITHDRAWN
        proposal.decided_by_id = actor.id
        proposal.decided_at = utcnow()
        audit.record("proposal.withdraw", proposal, actor=actor, household_id=proposal.household_id)
    return proposal


SELF_KEY = "self:"
MAX_SELF_PENDING = 5  # a household's own reports waiting at once (a public screen: no flood)


def self_report(
    supermarket_id: int,
    card_payload: str,
    standard_item_id: int,
    reason: str,
    *,
    photos: Sequence[Photo] = (),
    idempotency_key: str | None = None,
) -> tuple[PointProposal, bool]:
    """A household reports its own good deed with its card (群众自主申报): a pending proposal
    marked self-reported, citing one of the village's award items; it counts once an admin
    approves it. (The proposal, whether it was made now.) The card must be active; a retry
    with the same key returns the first report."""
    from kiosk.cards import resolve_card
    from kiosk.errors import HouseholdInactive

    card = resolve_card(card_payload)
    household = card.household
    if household.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该户"))
    if household.status != "active":
        raise HouseholdInactive()
    item = db.session.get(StandardItem, standard_item_id)
    if item is None or item.supermarket_id != supermarket_id or not item.active:
        raise NotFound(_("没有找到该积分标准"))
    if item.points <= 0:
        raise ValidationFailed(_("自主申报只能选加分的标准"))
    if not (reason or "").strip():
        raise ValidationFailed(_("请写明做了什么好事"))
    key = f"{SELF_KEY}{household.id}:{idempotency_key}" if idempotency_key else None
    if key is not None and len(key) > MAX_CLIENT_KEY:
        raise ValidationFailed(_("请求编号太长"))
    data = ProposalInput(
        household.id,
        clock.local_now().date(),
        standard_item_id=item.id,
        reason=reason,
        occurred_at=None,
    )
    if photos:
        _store_photos(photos)
    try:
        with write_transaction():
            if key is not None:
                existing = find_by_key(key)
                if existing is not None:
                    return existing, False
            waiting = db.session.execute(
                sa.select(sa.func.count(PointProposal.id)).where(
                    PointProposal.household_id == household.id,
                    PointProposal.self_reported.is_(True),
                    PointProposal.status == PROPOSAL_PENDING,
                )
            ).scalar_one()
            if waiting >= MAX_SELF_PENDING:
                raise ValidationFailed(
                    _("您已有%(waiting)s条申报等待审核，请等审核后再申报", waiting=waiting)
                )
            proposal = add_proposal(
                supermarket_id,
                data,
                actor=None,
                idempotency_key=key,
                photos=photos,
                audit_row=False,
            )
            proposal.self_reported = True
            audit.record(
                "proposal.self_report",
                proposal,
                actor=None,
                household_id=household.id,
                amount=proposal.amount,
                reason=proposal.reason,
                photos=len(photos),
            )
    except IntegrityError:
        existing = find_by_key(key) if key is not None else None
        if existing is None:
            raise
        return existing, False
    logger.info("proposal %s self-reported", proposal.id)
    return proposal, True


MAX_SELECTION = 200


def _selection(ids: Sequence[int], supermarket_id: int | None, actor: User) -> list[PointProposal]:
    """The chosen proposals, locked in id order; refused as a whole (before anything is
    changed) when one is gone, decided already or the approver's own."""
    ids = sorted(set(ids))
    if not ids:
        raise ValidationFailed(_("请先勾选要处理的加减分"))
    if len(ids) > MAX_SELECTION:
        raise ValidationFailed(_("一次最多处理%(n)s条", n=MAX_SELECTION))
    rows = list(
        db.session.scalars(
            lock(
                sa.select(PointProposal)
                .where(PointProposal.id.in_(ids))
                .order_by(PointProposal.household_id, PointProposal.id)
            )
        )
    )
    if len(rows) != len(ids) or any(
        supermarket_id is not None and p.supermarket_id != supermarket_id for p in rows
    ):
        raise NotFound(_("没有找到所选的加减分申请"))
    for proposal in rows:
        _must_be_pending(proposal)
        _must_be_other(proposal, actor)
    return rows


def approve_many(
    ids: Sequence[int], *, actor: User | None, note: str = "", supermarket_id: int | None = None
) -> int:
    """Sign off the chosen proposals at once (one transaction, all or none): the approval
    screen's checkboxes. The approver's own are refused, as one by one."""
    actor = _require_admin(actor, _("确认加减分"))
    note = _note(note)
    with write_transaction():
        rows = _selection(ids, supermarket_id, actor)
        for proposal in rows:
            _approve_locked(proposal, actor, note)
    logger.info("%s proposals approved together", len(rows))
    return len(rows)


def reject_many(
    ids: Sequence[int], *, actor: User | None, note: str, supermarket_id: int | None = None
) -> int:
    """Turn down the chosen proposals at once with one note (nothing is posted)."""
    actor = _require_admin(actor, _("退回加减分"))
    note = _note(note)
    if not note:
        raise ValidationFailed(_("请填写退回原因"))
    with write_transaction():
        rows = _selection(ids, supermarket_id, actor)
        for proposal in rows:
            proposal.status = PROPOSAL_REJECTED
            proposal.decided_by_id = actor.id
            proposal.decided_at = utcnow()
            proposal.decision_note = note
            audit.record(
                "proposal.reject",
                proposal,
                actor=actor,
                household_id=proposal.household_id,
                note=note,
            )
    return len(rows)


def approve_batch(batch_id: int, *, actor: User | None, supermarket_id: int | None = None) -> int:
    """Sign off every pending proposal of an imported batch at once (one transaction); the
    admin who imported it may not. Returns how many were approved."""
    actor = _require_admin(actor, _("确认加减分"))
    with write_transaction():
        batch = db.session.scalar(lock(sa.select(ImportBatch).where(ImportBatch.id == batch_id)))
        if batch is None or (supermarket_id is not None and batch.supermarket_id != supermarket_id):
            raise NotFound(_("没有找到该导入批次"))
        pending = list(
            db.session.scalars(
                lock(
                    sa.select(PointProposal)
                    .where(
                        PointProposal.batch_id == batch.id,
                        PointProposal.status == PROPOSAL_PENDING,
                    )
                    .order_by(PointProposal.household_id, PointProposal.id)
                )
            )
        )
        if not pending:
            raise AlreadyDecided(_("该批次没有待确认的加减分"))
        for proposal in pending:  # refuse before posting anything
            _must_be_other(proposal, actor)
        # Accounts locked once each, in id order; members and posted keys read in bulk.
        homes = sorted({p.household_id for p in pending})
        accounts: dict[int, PointAccount] = {}
        posted: dict[str, PointEntry] = {}
        for i in range(0, len(homes), 500):
            chunk = homes[i : i + 500]
            for account in db.session.scalars(
                lock(
                    sa.select(PointAccount)
                    .where(PointAccount.household_id.in_(chunk))
                    .order_by(PointAccount.id)
                )
            ):
                accounts[account.household_id] = account
        keys = [idempotency_key(p.id) for p in pending]
        for i in range(0, len(keys), 500):
            for entry in db.session.scalars(
                sa.select(PointEntry).where(PointEntry.idempotency_key.in_(keys[i : i + 500]))
            ):
                posted[cast(str, entry.idempotency_key)] = entry  # found by its key
        member_ids = {p.member_id for p in pending if p.member_id is not None}
        if member_ids:
            list(db.session.scalars(sa.select(Member).where(Member.id.in_(member_ids))))
        note = f"批量确认导入批次 #{batch.id}"
        for proposal in pending:
            _approve_locked(proposal, actor, note, accounts=accounts, posted=posted)
        audit.record(
            "proposal.approve_batch",
            batch,
            actor=actor,
            supermarket_id=batch.supermarket_id,
            approved=len(pending),
        )
    logger.info("batch %s: %s proposals approved", batch_id, len(pending))
    return len(pending)


def list_pending(supermarket_id: int) -> list[PointProposal]:
    """Pending proposals, oldest first."""
    return list(
        db.session.scalars(
            sa.select(PointProposal)
            .where(
                PointProposal.supermarket_id == supermarket_id,
                PointProposal.status == PROPOSAL_PENDING,
            )
            .order_by(PointProposal.id)
        )
    )


def pending_count(supermarket_id: int) -> int:
    """How many proposals wait for a second admin's signature (the office home's to-do)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count(PointProposal.id)).where(
                PointProposal.supermarket_id == supermarket_id,
                PointProposal.status == PROPOSAL_PENDING,
            )
        )
        or 0
    )


def list_history(supermarket_id: int, *, limit: int | None = 100) -> list[PointProposal]:
    """Decided proposals (approved, rejected, withdrawn), newest decision first."""
    stmt = (
        sa.select(PointProposal)
        .where(
            PointProposal.supermarket_id == supermarket_id,
            PointProposal.status != PROPOSAL_PENDING,
        )
        .order_by(PointProposal.decided_at.desc(), PointProposal.id.desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def approved_between(
    supermarket_id: int, household_id: int, start: date, end: date
) -> list[PointProposal]:
    """A household's approved proposals whose event fell in ``[start, end)`` (an objection's
    evidence: time, place, reason and photos), in the order they happened; photos loaded in
    the same round trip."""
    return list(
        db.session.scalars(
            sa.select(PointProposal)
            .where(
                PointProposal.supermarket_id == supermarket_id,
                PointProposal.household_id == household_id,
                PointProposal.status == PROPOSAL_APPROVED,
                PointProposal.occurred_on >= start,
                PointProposal.occurred_on < end,
            )
            .options(selectinload(PointProposal.photos))
            .order_by(PointProposal.occurred_on, PointProposal.id)
        )
    )


def pending_batches(supermarket_id: int) -> list[tuple[ImportBatch, int, int]]:
    """Imported batches with pending proposals: (batch, how many pending, their points sum)."""
    rows = db.session.execute(
        sa.select(
            PointProposal.batch_id,
            sa.func.count(PointProposal.id),
            sa.func.sum(PointProposal.amount),
        )
        .where(
            PointProposal.supermarket_id == supermarket_id,
            PointProposal.status == PROPOSAL_PENDING,
            PointProposal.batch_id.is_not(None),
        )
        .group_by(PointProposal.batch_id)
        .order_by(PointProposal.batch_id)
    ).all()
    return [(db.session.get_one(ImportBatch, b), int(n), int(s or 0)) for b, n, s in rows]


def check_proposals() -> list[Problem]:
    """``jifen check``: every approved proposal posted exactly one entry of its amount, and no
    other proposal posted any."""

    problems = []
    rows = db.session.execute(
        sa.select(
            PointProposal.id,
            PointProposal.status,
            PointProposal.amount,
            PointProposal.entry_id,
            PointEntry.id,
            PointEntry.amount,
        ).outerjoin(
            PointEntry,
            PointEntry.idempotency_key
            == sa.literal("proposal-") + sa.cast(PointProposal.id, sa.String),
        )
    ).all()
    for pid, status, amount, entry_id, posted_id, posted_amount in rows:
        subject = f"proposal {pid}"
        if status == PROPOSAL_APPROVED:
            if posted_id is None or entry_id != posted_id:
                problems.append(Problem("proposals", subject, "approved but its entry is missing"))
            elif posted_amount != amount:
                problems.append(
                    Problem("proposals", subject, f"entry {posted_amount} != approved {amount}")
                )
        elif posted_id is not None or entry_id is not None:
            problems.append(Problem("proposals", subject, f"{status} but an entry was posted"))
    return problems


DEMO_SECOND_ADMIN = ("pingyi", "pingyi123", "周委员")
_DEMO_FREE = (("乱堆柴草占道，经劝导已清理", -2), ("帮助邻居抢收小麦", 3))


def seed_demo_intake(supermarket: Supermarket, users: dict[str, User], rng: Any) -> dict[str, int]:
    """Demo data for the intake pages: 寨里's 25 standards, a second admin of the assessment
    group (``pingyi`` / ``pingyi123``, 周委员) so entries can be signed off, and a dozen
    proposals — most approved (posted to the ledger), one rejected, a few pending each way."""
    from datetime import timedelta

    from kiosk import auth, standards

    standards.seed_standard_items(supermarket.id, actor=users.get("admin"))
    first = users.get("admin")
    second = users.get(DEMO_SECOND_ADMIN[0])
    if second is None:
        username, password, display = DEMO_SECOND_ADMIN
        second = auth.create_user(
            username,
            display_name=display,
            role=ROLE_ADMIN,
            password=password,
            supermarket_id=supermarket.id,
        )
        users[username] = second
    homes = list(
        db.session.scalars(
            sa.select(Household.id)
            .where(Household.supermarket_id == supermarket.id)
            .order_by(Household.id)
        )
    )
    items = standards.list_items(supermarket.id, active_only=True)
    if not homes or not items or first is None:
        return {"proposals": 0}
    today = clock.local_now().date()
    counts = {"approved": 0, "rejected": 0, "pending": 0}
    for n, home_id in enumerate(rng.sample(homes, min(12, len(homes)))):
        home = db.session.get_one(Household, home_id)
        member = rng.choice(home.members) if home.members and rng.random() < 0.6 else None
        when = today - timedelta(days=rng.randint(1, 40))
        if n % 5 == 4:
            reason, amount = rng.choice(_DEMO_FREE)
            data = ProposalInput(home_id, when, amount=amount, reason=reason, evidence="网格员记录")
        else:
            item = rng.choice(items)
            data = ProposalInput(
                home_id,
                when,
                standard_item_id=item.id,
                member_id=member.id if member else None,
                evidence=rng.choice(("照片2张", "活动签到表", "村民小组长证明", "")),
            )
        enterer, signer = (first, second) if n % 3 else (second, first)
        proposal = propose(supermarket.id, data, actor=enterer)
        if n < 8:
            approve(proposal.id, actor=signer, note="评议小组同意")
            counts["approved"] += 1
        elif n == 8:
            reject(proposal.id, actor=signer, note="证明材料不足，请补充后重新录入")
            counts["rejected"] += 1
        else:
            counts["pending"] += 1
    return counts


def find_proposal(proposal_id: int) -> PointProposal | None:
    """The proposal with this id, or None."""
    return db.session.get(PointProposal, proposal_id)


def all_proposals(supermarket_id: int) -> list[PointProposal]:
    """Every proposal of the supermarket, pending and decided, oldest first (the register)."""
    return list(
        db.session.scalars(
            sa.select(PointProposal)
            .where(PointProposal.supermarket_id == supermarket_id)
            .order_by(PointProposal.id)
        )
    )


def proposals_page(
    supermarket_id: int,
    *,
    status: str | None = None,
    household_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[PointProposal], int]:
    """One page of the supermarket's proposals, newest first, and how many match in all."""
    stmt = sa.select(PointProposal).where(PointProposal.supermarket_id == supermarket_id)
    if status is not None:
        stmt = stmt.where(PointProposal.status == status)
    if household_id:
        stmt = stmt.where(PointProposal.household_id == household_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.options(
            selectinload(PointProposal.household),
            selectinload(PointProposal.member),
            selectinload(PointProposal.standard_item),
            selectinload(PointProposal.entered_by),
            selectinload(PointProposal.decided_by),
            selectinload(PointProposal.photos),
        )
        .order_by(PointProposal.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def pending_in_batch(batch_id: int) -> int:
    """How many of an import batch's proposals still wait for a decision."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(PointProposal.id)).where(
                PointProposal.batch_id == batch_id, PointProposal.status == PROPOSAL_PENDING
            )
        )
        or 0
    )


__all__ = [
    "ProposalInput",
    "add_proposal",
    "approve",
    "approve_batch",
    "approve_many",
    "check_proposal",
    "check_proposals",
    "client_key",
    "correction_key",
    "find_by_key",
    "list_history",
    "list_pending",
    "pending_batches",
    "propose",
    "reject",
    "reject_many",
    "self_report",
    "seed_demo_intake",
    "submit_proposal",
    "withdraw",
]
