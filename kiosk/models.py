"""The kiosk's data model: supermarkets, households, cards, point ledger, redemptions, users.

Points are whole points and money is integer fen. Ledgers (point entries, stock movements) are
append-only: a mistake is reversed by a new entry, never edited or deleted. Snapshots
(``PointAccount.balance``, ``Product.stock_qty``) change in the same transaction as their
entries; ``jifen check`` proves they agree.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import db
from kiosk.timeutil import utcnow

# Household status
ACTIVE = "active"
INACTIVE = "inactive"

# Card status
CARD_ACTIVE = "active"
CARD_REVOKED = "revoked"

# Point entry kinds
ENTRY_AWARD = "award"
ENTRY_DEDUCTION = "deduction"
ENTRY_REDEMPTION = "redemption"
ENTRY_REVERSAL = "reversal"
ENTRY_CONVERSION = "conversion"  # 大同: quarterly scores converted into points (评分折换积分)
ENTRY_VETO_CLEAR = "veto_clear"  # 大同 一票否决: current points cleared
ENTRY_EXPIRY = "expiry"  # 高阳: year end, the year's points lapse (次年重新积分)
ENTRY_BASE_GRANT = "base_grant"  # 高阳: each year's base points (每年赋予每户基础分100分)
ENTRY_KINDS = (
    ENTRY_AWARD,
    ENTRY_DEDUCTION,
    ENTRY_REDEMPTION,
    ENTRY_REVERSAL,
    ENTRY_CONVERSION,
    ENTRY_VETO_CLEAR,
    ENTRY_EXPIRY,
    ENTRY_BASE_GRANT,
)
# Kinds that move ``PointAccount.earned_total`` (the ranking basis): what was earned, never
# what was spent, cleared or lapsed.
EARNED_KINDS = (ENTRY_AWARD, ENTRY_DEDUCTION, ENTRY_CONVERSION, ENTRY_BASE_GRANT)

# Redemption status
REDEMPTION_COMPLETED = "completed"
REDEMPTION_VOIDED = "voided"

# Roles
ROLE_KEEPER = "keeper"
ROLE_ADMIN = "admin"
ROLE_SUPERVISOR = "supervisor"
ROLES = (ROLE_KEEPER, ROLE_ADMIN, ROLE_SUPERVISOR)

# Print job status
PRINT_QUEUED = "queued"
PRINT_PRINTED = "printed"
PRINT_FAILED = "failed"


class Supermarket(db.Model):
    """One points supermarket (积分超市) and the policy parameters it runs."""

    __tablename__ = "supermarkets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    town: Mapped[str] = mapped_column(sa.String(50), default="")
    village: Mapped[str] = mapped_column(sa.String(50), default="")
    # 1 point = 1 yuan in every seed; a village may set another rate.
    points_per_yuan: Mapped[int] = mapped_column(default=1)
    # The rule set it runs (kiosk.presets.policy_to_dict); None: the default policy.
    policy: Mapped[dict | None] = mapped_column(sa.JSON)
    next_receipt_no: Mapped[int] = mapped_column(default=1)
    # How far the fund pool may go below zero (an advance the village committee allows), fen.
    fund_advance_limit_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Household(db.Model):
    """A household (户), the unit that holds points and redeems."""

    __tablename__ = "households"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(32))
    head_name: Mapped[str] = mapped_column(sa.String(50))
    village: Mapped[str] = mapped_column(sa.String(50), default="")
    group_name: Mapped[str] = mapped_column(sa.String(50), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supermarket: Mapped[Supermarket] = relationship()
    members: Mapped[list[Member]] = relationship(back_populates="household", order_by="Member.id")
    cards: Mapped[list[Card]] = relationship(back_populates="household", order_by="Card.id")
    account: Mapped[PointAccount] = relationship(back_populates="household", uselist=False)


class Member(db.Model):
    """A resident belonging to a household."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    relation: Mapped[str] = mapped_column(sa.String(20), default="")
    birth_date: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)

    household: Mapped[Household] = relationship(back_populates="members")


class Card(db.Model):
    """A points card (积分信息卡). Reissuing keeps the serial and bumps ``issue_no``."""

    __tablename__ = "cards"
    __table_args__ = (sa.UniqueConstraint("serial", "issue_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    serial: Mapped[int] = mapped_column(index=True)
    issue_no: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(16), default=CARD_ACTIVE)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(200))

    household: Mapped[Household] = relationship(back_populates="cards")


class PointAccount(db.Model):
    """A household's points account: a balance snapshot over its append-only entries."""

    __tablename__ = "point_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), unique=True)
    balance: Mapped[int] = mapped_column(default=0)
    # Ranking basis: points earned, never lowered by redemption.
    earned_total: Mapped[int] = mapped_column(default=0)
    redeemed_total: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    household: Mapped[Household] = relationship(back_populates="account")


class PointEntry(db.Model):
    """One append-only line of the points ledger. ``amount`` is signed."""

    __tablename__ = "point_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("point_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[int]
    balance_after: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    redemption_id: Mapped[int | None] = mapped_column(sa.ForeignKey("redemptions.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("point_entries.id"))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    account: Mapped[PointAccount] = relationship()
    created_by: Mapped[User | None] = relationship()


class Redemption(db.Model):
    """A redemption (兑换单): one cart exchanged for points at the counter."""

    __tablename__ = "redemptions"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "receipt_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    receipt_no: Mapped[str] = mapped_column(sa.String(32))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("point_accounts.id"))
    card_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cards.id"))
    keeper_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    cart_hash: Mapped[str] = mapped_column(sa.String(64))
    # Points charged for the cart (free restricted lines count 0); what counts against a quota.
    total_points: Mapped[int]
    # Points taken from the balance: total_points under SPEND_BALANCE, 0 under SPEND_QUOTA.
    spent_points: Mapped[int] = mapped_column(default=0, server_default="0")
    # Quota (yuan) left in the period after this redemption, when the policy has quotas.
    quota_left: Mapped[int | None]
    total_cost_fen: Mapped[int]
    balance_before: Mapped[int]
    balance_after: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=REDEMPTION_COMPLETED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(sa.String(200))

    supermarket: Mapped[Supermarket] = relationship()
    household: Mapped[Household] = relationship()
    keeper: Mapped[User] = relationship(foreign_keys=[keeper_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])
    lines: Mapped[list[RedemptionLine]] = relationship(
        back_populates="redemption", order_by="RedemptionLine.id"
    )


class RedemptionLine(db.Model):
    """One product line of a redemption, with the price and cost as they were at the time."""

    __tablename__ = "redemption_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(sa.ForeignKey("redemptions.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    product_name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str] = mapped_column(sa.String(16), default="")
    quantity: Mapped[int]
    # Points charged per unit under the policy (0 for a free restricted item).
    unit_points: Mapped[int]
    unit_cost_fen: Mapped[int]
    line_points: Mapped[int]
    # The product's restriction key at the time (长者食堂 "elder_canteen"): per-period limits.
    restriction_key: Mapped[str | None] = mapped_column(sa.String(32))

    redemption: Mapped[Redemption] = relationship(back_populates="lines")
    product: Mapped["Product"] = relationship()  # noqa: UP037


class User(db.Model):
    """A person who works the system: keeper, admin (village committee) or supervisor."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supermarkets.id"))
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    pin_hash: Mapped[str | None] = mapped_column(sa.String(256))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supermarket: Mapped[Supermarket | None] = relationship()


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class AuditEvent(db.Model):
    """Who did what, when: one row for every write the services make."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supermarkets.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(50))
    subject_id: Mapped[int | None]
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()


class PrintJob(db.Model):
    """A slip to print, saved before it is sent so that no failure loses it."""

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="receipt")
    redemption_id: Mapped[int | None] = mapped_column(sa.ForeignKey("redemptions.id"), index=True)
    printer: Mapped[str] = mapped_column(sa.String(50), default="preview")
    copy_no: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(16), default=PRINT_QUEUED)
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    text: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    printed_at: Mapped[datetime | None]


class Assessment(db.Model):
    """A period's score (0–100) of a household or one member (评分).

    Append-only: a correction is a new row; the latest row per (household, member, period)
    is the one that counts.
    """

    __tablename__ = "assessments"
    __table_args__ = (sa.Index("ix_assessments_household_period", "household_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    period: Mapped[str] = mapped_column(sa.String(8), index=True)  # "2024Q1" or "2024-03"
    score: Mapped[int]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    household: Mapped[Household] = relationship()
    member: Mapped[Member | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class Veto(db.Model):
    """A veto (大同 一票否决) or disqualification (寨里 取消资格) of a household or member."""

    __tablename__ = "vetoes"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    on: Mapped[date]
    # The policy's veto kind when it was recorded (kiosk.rules.VETO_*).
    kind: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    household: Mapped[Household] = relationship()
    member: Mapped[Member | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class CycleClose(db.Model):
    """A year closed (年终清零): at most one per supermarket and year, with its outcome."""

    __tablename__ = "cycle_closes"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"))
    year: Mapped[int]
    households: Mapped[int] = mapped_column(default=0)
    expired_points: Mapped[int] = mapped_column(default=0)
    granted_points: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ==== points intake: standard items, awards awaiting approval, imports (kiosk.intake) ====
# (models owned by the points-intake work: add them below this line)


# ==== public notice and objections (kiosk.notice) ====
# (models owned by the notice work: add them below this line)


# The inventory models share this metadata; importing them here makes every mapper resolvable
# wherever the kiosk models are imported.
from inventory.models import (  # noqa: E402, F401
    Category,
    FundAccount,
    FundEntry,
    MonthClose,
    Product,
    StockMovement,
)
