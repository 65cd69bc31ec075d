"""Objections (异议) to a published notice: recorded, then upheld or rejected, all audited.

003: "农户对积分有异议的，可进行反映，调查核实后可根据情况作出处理". An admin records the
objection against the household's row of the notice in force (who of the household raised it,
when, what is disputed); it stays open until it is upheld or rejected with a resolution note.
Upholding may correct the household's points: a proposal (:mod:`kiosk.intake`) whose reason
names the objection, made in the same transaction. Like every person's award or deduction it
counts only when another admin approves it; its entry then becomes the objection's
``correction_entry`` and counts in the quarter objected to (:mod:`kiosk.notice`), so the next
revision of the notice, drafted and published as usual, shows the corrected points.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import sqlalchemy as sa

from kiosk import audit, clock, intake, rules
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import Message, _
from kiosk.models import (
    NOTICE_PUBLISHED,
    OBJECTION_OPEN,
    OBJECTION_REJECTED,
    OBJECTION_UPHELD,
    Household,
    Member,
    Notice,
    Objection,
    PointProposal,
    User,
)
from kiosk.points import MAX_ADJUSTMENT
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_TEXT = 500
STATUSES = (OBJECTION_OPEN, OBJECTION_UPHELD, OBJECTION_REJECTED)


def _text(value: object, what: Message) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(_("请填写%(what)s", what=what))
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_("%(what)s不能超过%(n)s个字", what=what, n=MAX_TEXT))
    return text


def record_objection(
    notice_id: int,
    household_id: int,
    *,
    raised_by: str,
    raised_on: date,
    disputed: str,
    actor: User | None,
) -> Objection:
    """Record a household's objection to its row of the notice in force."""
    disputed = _text(disputed, _("异议内容"))
    raised_by = raised_by.strip() if isinstance(raised_by, str) else ""
    if not isinstance(raised_on, date) or isinstance(raised_on, datetime):
        raise ValidationFailed(_("日期格式不正确，应为 YYYY-MM-DD"))
    if raised_on > clock.local_now().date():
        raise ValidationFailed(_("提出日期不能晚于今天"))
    with write_transaction():
        notice = db.session.get(Notice, notice_id)
        if notice is None:
            raise NotFound(_("没有找到该公示"))
        if notice.status != NOTICE_PUBLISHED or notice.published_at is None:
            raise ValidationFailed(_("只能对正在公示的版本提出异议（草稿或已被取代的版本不行）"))
        if not any(r["household_id"] == household_id for r in notice.content["rows"]):
            raise ValidationFailed(_("该户不在这份公示中"))
        household = db.session.get(Household, household_id)
        if household is None or household.supermarket_id != notice.supermarket_id:
            raise NotFound(_("没有找到该户"))
        published_on = clock.utc_to_local(notice.published_at).date()
        if raised_on < published_on:
            raise ValidationFailed(
                _(
                    "提出日期不能早于公示发布日期（%(date)s）",
                    date=published_on.isoformat(),
                )
            )
        names = set(
            db.session.scalars(
                sa.select(Member.name).where(
                    Member.household_id == household_id, Member.active.is_(True)
                )
            )
        ) | {household.head_name}
        if raised_by not in names:
            # Only the household itself may object to its points (003 "农户对积分有异议的").
            raise ValidationFailed(_("提出人必须是该户的家庭成员"))
        row = Objection(
            supermarket_id=notice.supermarket_id,
            notice_id=notice.id,
            period=notice.period,
            household_id=household_id,
            raised_by=raised_by,
            raised_on=raised_on,
            disputed=disputed,
            status=OBJECTION_OPEN,
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(row)
        db.session.flush()
        audit.record(
            "objection.recorded",
            row,
            actor=actor,
            notice_id=notice.id,
            period=notice.period,
            revision=notice.revision,
            household_id=household_id,
            raised_on=raised_on.isoformat(),
            disputed=disputed,
        )
    logger.info("objection %s recorded on notice %s", row.id, notice_id)
    return row


def resolve_objection(
    objection_id: int,
    *,
    upheld: bool,
    resolution: str,
    correction: int | None = None,
    actor: User | None,
) -> Objection:
    """Uphold (optionally correcting the points by ``correction``, signed) or reject."""
    resolution = _text(resolution, _("处理意见"))
    if correction is not None:
        if isinstance(correction, bool) or not isinstance(correction, int):
            raise ValidationFailed(_("更正积分必须是整数"))
        if correction == 0:
            correction = None
        elif abs(correction) > MAX_ADJUSTMENT:
            raise ValidationFailed(_("更正积分过大"))
    if not upheld and correction is not None:
        raise ValidationFailed(_("驳回的异议不能更正积分"))
    with write_transaction():
        row = db.session.scalar(lock(sa.select(Objection).where(Objection.id == objection_id)))
        if row is None:
            raise NotFound(_("没有找到该异议"))
        if row.status != OBJECTION_OPEN:
            raise ValidationFailed(_("该异议已经处理过了"))
        proposal = None
        if correction is not None and row.notice.basis != "points":
            # 寨里 publishes scores: a wrong score is corrected by a new score (评分录入).
            raise ValidationFailed(_("这份公示按评分排名，请到“评分录入”更正评分，不要更正积分"))
        if correction is not None:
            # A correction is a person's award or deduction: a proposal that counts (and becomes
            # this objection's correction entry) only when another admin approves it.
            reason = (
                f"异议更正（{rules.period_label(row.period)}公示，第{row.id}号异议）：{resolution}"
            )[:200]
            proposal = intake.add_proposal(
                row.supermarket_id,
                intake.ProposalInput(
                    row.household_id,
                    min(row.raised_on, clock.local_now().date()),
                    amount=correction,
                    reason=reason,
                    evidence=f"第{row.id}号异议：{row.disputed}"[: intake.MAX_EVIDENCE],
                ),
                actor=actor,
                idempotency_key=intake.correction_key(row.id),
            )
        row.status = OBJECTION_UPHELD if upheld else OBJECTION_REJECTED
        row.resolution = resolution
        row.resolved_at = utcnow()
        row.resolved_by_id = actor.id if actor is not None else None
        db.session.flush()
        audit.record(
            f"objection.{row.status}",
            row,
            actor=actor,
            notice_id=row.notice_id,
            period=row.period,
            household_id=row.household_id,
            resolution=resolution,
            correction=correction,
            proposal_id=proposal.id if proposal is not None else None,
        )
    logger.info("objection %s %s", objection_id, row.status)
    return row


def correction_proposal(objection: Objection) -> PointProposal | None:
    """The proposal an upheld objection's correction made (pending, approved or rejected)."""
    return db.session.scalar(
        sa.select(PointProposal).where(
            PointProposal.idempotency_key == intake.correction_key(objection.id)
        )
    )


def get_objection(objection_id: int, supermarket_id: int) -> Objection:
    row = db.session.get(Objection, objection_id)
    if row is None or row.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该异议"))
    return row


def list_objections(
    supermarket_id: int, *, period: str | None = None, status: str | None = None
) -> list[Objection]:
    """Objections, newest first, of one quarter and/or one status if given."""
    stmt = sa.select(Objection).where(Objection.supermarket_id == supermarket_id)
    if period:
        stmt = stmt.where(Objection.period == period)
    if status:
        stmt = stmt.where(Objection.status == status)
    return list(db.session.scalars(stmt.order_by(Objection.id.desc())))


def counts(supermarket_id: int, period: str | None = None) -> dict[str, int]:
    """{"open": n, "upheld": n, "rejected": n, "total": n} for a quarter (or all)."""
    stmt = sa.select(Objection.status, sa.func.count()).where(
        Objection.supermarket_id == supermarket_id
    )
    if period:
        stmt = stmt.where(Objection.period == period)
    found = dict(db.session.execute(stmt.group_by(Objection.status)).all())
    out: dict[str, int] = {s: int(found.get(s, 0)) for s in STATUSES}
    out["total"] = sum(out.values())
    return out


def counts_by_period(supermarket_id: int) -> dict[str, dict[str, int]]:
    """counts() for every quarter with objections."""
    rows = db.session.execute(
        sa.select(Objection.period, Objection.status, sa.func.count())
        .where(Objection.supermarket_id == supermarket_id)
        .group_by(Objection.period, Objection.status)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for period, status, n in rows:
        c = out.setdefault(period, {s: 0 for s in STATUSES} | {"total": 0})
        c[status] = int(n)
        c["total"] += int(n)
    return out
