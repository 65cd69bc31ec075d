"""A household's standing: the :class:`~kiosk.rules.state.AccountState` the rules decide on.

This is the one place that reads the database for the rules: the account, the members (with
birth dates for age limits), the latest score per (member, period), the vetoes, and what this
period's completed redemptions already used of the quota and of restricted items. The
redemption service calls :func:`account_state` under its account lock, so what it reads is
what it enforces; scan, preview and the pages call it without locks.

Moments given to the rules are the supermarket's local wall-clock time, naive (see
:mod:`kiosk.clock`); the database keeps naive UTC.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kiosk.clock import day_start_utc
from kiosk.extensions import db
from kiosk.models import (
    ACTIVE,
    REDEMPTION_COMPLETED,
    Assessment,
    Household,
    Member,
    Redemption,
    RedemptionLine,
    Veto,
)
from kiosk.rules import state as rules_state
from kiosk.rules.periods import period_bounds, period_key
from kiosk.rules.policy import VETO_NONE, Policy
from kiosk.rules.state import AccountState, MemberState, VetoRecord


def period_range_utc(policy: Policy, moment_local: datetime) -> tuple[datetime, datetime]:
    """The assessment period containing ``moment_local`` as a naive-UTC [start, end) range."""
    key = period_key(moment_local.date(), policy.period)
    start, end = period_bounds(key)
    return day_start_utc(start), day_start_utc(end)


def latest_assessments(household_ids: list[int]) -> dict[int, list[Assessment]]:
    """The score that counts for each (household, member, period): the latest row (by id)."""
    if not household_ids:
        return {}
    rows = db.session.scalars(
        sa.select(Assessment)
        .where(Assessment.household_id.in_(household_ids))
        .order_by(Assessment.id)
    )
    latest = _latest_per_period(rows)
    return {hid: latest.get(hid, []) for hid in household_ids}


def _latest_per_period(rows: Iterable[Any]) -> dict[int, list[Any]]:
    """Of assessment rows in id order (objects or plain rows with ``household_id``,
    ``member_id``, ``period``), the one that counts for each (household, member, period): the
    latest. Each household's in period order, the household's own before its members'."""
    latest: dict[tuple[int, int | None, str], Any] = {}
    for row in rows:
        latest[(row.household_id, row.member_id, row.period)] = row
    out: dict[int, list[Any]] = {}
    for row in sorted(latest.values(), key=lambda a: (a.period, a.member_id or 0)):
        out.setdefault(row.household_id, []).append(row)
    return out


def period_usage(
    household_id: int,
    policy: Policy,
    moment_local: datetime,
    *,
    points: bool = True,
    restricted: bool = True,
) -> tuple[int, dict[str, int]]:
    """Points charged this period by completed redemptions (free lines are charged 0) and the
    units taken of each restricted key (each read only when asked for: 0 and {} otherwise)."""
    start, end = period_range_utc(policy, moment_local)
    params = {"hid": household_id, "start": start, "end": end}
    used = 0
    if points:
        used = db.session.scalar(_state_sql("used_points"), params)
    taken: dict[str, int] = {}
    if restricted:
        taken = dict(db.session.execute(_state_sql("restricted_units"), params).all())
    return int(used or 0), {k: int(v) for k, v in taken.items()}


@functools.cache
def _state_sql(name: str) -> sa.Executable:
    """account_state's statements, built once per process (as plain-row selects)."""
    hid: sa.BindParameter[int] = sa.bindparam("hid")
    if name == "assessments":
        return (
            sa.select(
                Assessment.household_id, Assessment.member_id, Assessment.period, Assessment.score
            )
            .where(Assessment.household_id == hid)
            .order_by(Assessment.id)
        )
    if name == "members":
        return (
            sa.select(Member.id, Member.birth_date)
            .where(Member.household_id == hid, Member.active.is_(True))
            .order_by(Member.id)
        )
    if name == "vetoes":
        return (
            sa.select(Veto.on, Veto.member_id, Veto.reason)
            .where(Veto.household_id == hid)
            .order_by(Veto.on, Veto.id)
        )
    in_period = (
        Redemption.household_id == hid,
        Redemption.status == REDEMPTION_COMPLETED,
        Redemption.created_at >= sa.bindparam("start"),
        Redemption.created_at < sa.bindparam("end"),
    )
    if name == "used_points":
        return sa.select(sa.func.coalesce(sa.func.sum(Redemption.total_points), 0)).where(
            *in_period
        )
    if name == "restricted_units":
        return (
            sa.select(RedemptionLine.restriction_key, sa.func.sum(RedemptionLine.quantity))
            .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
            .where(*in_period, RedemptionLine.restriction_key.is_not(None))
            .group_by(RedemptionLine.restriction_key)
        )
    raise KeyError(name)


def account_state(household: Household, policy: Policy, moment_local: datetime) -> AccountState:
    """Everything the rules need about ``household`` at ``moment_local`` (local, naive), read
    for ``policy``: decide with the same policy (what it never looks at is left empty)."""
    account = household.account
    # Plain rows, not objects: this runs on every scan and every redemption.
    of_household = {"hid": household.id}
    assessments = _latest_per_period(
        db.session.execute(_state_sql("assessments"), of_household)
    ).get(household.id, [])
    members = db.session.execute(_state_sql("members"), of_household)
    # What the policy never looks at is not read: vetoes only under a veto rule, the period's
    # usage only with quotas, restricted units only with restrictions.
    vetoes: Sequence[Any] = ()
    if policy.veto != VETO_NONE:
        vetoes = db.session.execute(_state_sql("vetoes"), of_household).all()
    used, restricted = period_usage(
        household.id,
        policy,
        moment_local,
        points=any(t.quota_yuan is not None for t in policy.tiers),
        restricted=bool(policy.restrictions),
    )
    return AccountState(
        household_active=household.status == ACTIVE,
        balance=account.balance,
        earned_total=account.earned_total,
        assessments=tuple(
            rules_state.Assessment(period=a.period, score=a.score, member_id=a.member_id)
            for a in assessments
        ),
        members=tuple(MemberState(mid, birth) for mid, birth in members),
        vetoes=tuple(VetoRecord(on=on, member_id=mid, reason=why) for on, mid, why in vetoes),
        used_this_period=used,
        restricted_used=tuple(sorted(restricted.items())),
    )
