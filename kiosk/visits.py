"""The monthly visit list (月记录): which households the assessment group has recorded this
month and which it has not yet, per village group.

Seed 003: the group visits every household once a month and records its events on the phone.
A household counts as visited in a month when a proposal about it happened in that month
(``occurred_on``) and was entered by a person (not an imported batch) and not withdrawn: a
record that was later rejected still shows that somebody went there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import ACTIVE, PROPOSAL_WITHDRAWN, Household, PointProposal


@dataclass
class GroupVisits:
    """One village group's households this month: recorded (with how many records) or not."""

    group: str
    recorded: list[tuple[Household, int]] = field(default_factory=list)
    missing: list[Household] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.recorded) + len(self.missing)


def parse_month(text: str | None, today: date) -> date:
    """``YYYY-MM`` as the month's first day (this month when blank)."""
    if not text:
        return today.replace(day=1)
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
            raise ValueError
        first = date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed(_("月份应为 YYYY-MM，例如 2026-12")) from None
    if first.year < 2000 or first > today.replace(day=1):
        raise ValidationFailed(_("月份不正确"))
    return first


def next_month(first: date) -> date:
    """The first day of the following month."""
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def month_visits(supermarket_id: int, first: date) -> list[GroupVisits]:
    """The month's list per village group (groups by name, households by number)."""
    counts = dict(
        db.session.execute(
            sa.select(PointProposal.household_id, sa.func.count(PointProposal.id))
            .where(
                PointProposal.supermarket_id == supermarket_id,
                PointProposal.occurred_on >= first,
                PointProposal.occurred_on < next_month(first),
                PointProposal.batch_id.is_(None),
                PointProposal.entered_by_id.is_not(None),
                PointProposal.status != PROPOSAL_WITHDRAWN,
            )
            .group_by(PointProposal.household_id)
        ).all()
    )
    homes = db.session.scalars(
        sa.select(Household)
        .where(Household.supermarket_id == supermarket_id, Household.status == ACTIVE)
        .order_by(Household.group_name, Household.number, Household.id)
    )
    groups: dict[str, GroupVisits] = {}
    for home in homes:
        visits = groups.setdefault(home.group_name or "", GroupVisits(home.group_name or ""))
        n = int(counts.get(home.id, 0))
        if n:
            visits.recorded.append((home, n))
        else:
            visits.missing.append(home)
    return list(groups.values())


__all__ = ["GroupVisits", "month_visits", "next_month", "parse_month"]
