"""Households and their members: the holders of points accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from kiosk import audit
from kiosk.database import write_transaction
from kiosk.errors import DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.models import ACTIVE, INACTIVE, Household, Member, PointAccount, Supermarket, User


@dataclass(frozen=True)
class MemberInput:
    name: str
    relation: str = ""
    birth_date: date | None = None


def create_household(
    supermarket_id: int,
    *,
    number: str,
    head_name: str,
    village: str = "",
    group_name: str = "",
    members: list[MemberInput] | None = None,
    actor: User | None,
) -> Household:
    """Register a household with its points account (balance 0) and members."""
    number = (number or "").strip()
    head_name = (head_name or "").strip()
    if not number:
        raise ValidationFailed("户号不能为空")
    if not head_name:
        raise ValidationFailed("户主姓名不能为空")
    with write_transaction():
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound("没有找到该超市")
        exists = db.session.scalar(
            sa.select(Household.id).where(
                Household.supermarket_id == supermarket_id, Household.number == number
            )
        )
        if exists is not None:
            raise DuplicateValue(f"户号 {number} 已存在")
        household = add_household(
            supermarket_id,
            number=number,
            head_name=head_name,
            village=village,
            group_name=group_name,
            members=members or [MemberInput(head_name, "户主")],
        )
        audit.record("household.create", household, actor=actor, number=number)
    return household


def add_household(
    supermarket_id: int,
    *,
    number: str,
    head_name: str,
    village: str,
    group_name: str,
    members: list[MemberInput],
) -> Household:
    """Add a household, its members and its empty account inside the caller's transaction."""
    household = Household(
        supermarket_id=supermarket_id,
        number=number,
        head_name=head_name,
        village=village,
        group_name=group_name,
    )
    db.session.add(household)
    db.session.flush()
    for m in members:
        if not m.name.strip():
            raise ValidationFailed("成员姓名不能为空")
        db.session.add(
            Member(
                household_id=household.id,
                name=m.name.strip(),
                relation=m.relation,
                birth_date=m.birth_date,
            )
        )
    db.session.add(PointAccount(household_id=household.id))
    db.session.flush()
    return household


def add_member(household_id: int, member: MemberInput, *, actor: User | None) -> Member:
    """Add a resident to a household."""
    if not member.name.strip():
        raise ValidationFailed("成员姓名不能为空")
    with write_transaction():
        household = get_household(household_id)
        row = Member(
            household_id=household.id,
            name=member.name.strip(),
            relation=member.relation,
            birth_date=member.birth_date,
        )
        db.session.add(row)
        db.session.flush()
        audit.record(
            "member.add",
            row,
            actor=actor,
            supermarket_id=household.supermarket_id,
            household_id=household.id,
            name=row.name,
        )
    return row


def set_household_status(household_id: int, active: bool, *, actor: User | None) -> Household:
    """Activate or deactivate a household (a deactivated one cannot redeem)."""
    with write_transaction():
        household = get_household(household_id)
        before = household.status
        household.status = ACTIVE if active else INACTIVE
        audit.record(
            "household.status", household, actor=actor, before=before, after=household.status
        )
    return household


def get_household(household_id: int) -> Household:
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound("没有找到该户")
    return household
