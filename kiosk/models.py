"""The kiosk's data model: supermarkets, households, cards, point ledger, redemptions, users.

Points are whole points and money is integer fen. Ledgers (point entries, stock movements) are
append-only: a mistake is reversed by a new entry, never edited or deleted. Snapshots
(``PointAccount.balance``, ``Product.stock_qty``) change in the same transaction as their
entries; ``jifen check`` proves they agree.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.choices import one_of
from kiosk.extensions import Model
from kiosk.timeutil import utcnow

# Each closed set of stored strings is a StrEnum (kiosk.choices); the module-level names are
# its members, kept for the callers that import them.


class HouseholdStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


ACTIVE = HouseholdStatus.ACTIVE
INACTIVE = HouseholdStatus.INACTIVE


class CardStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


CARD_ACTIVE = CardStatus.ACTIVE
CARD_REVOKED = CardStatus.REVOKED


class EntryKind(StrEnum):
    """What a point entry (积分流水) records."""

    AWARD = "award"
    DEDUCTION = "deduction"
    REDEMPTION = "redemption"
    REVERSAL = "reversal"
    CONVERSION = "conversion"  # 大同: quarterly scores converted into points (评分折换积分)
    VETO_CLEAR = "veto_clear"  # 大同 一票否决: current points cleared
    EXPIRY = "expiry"  # 高阳: year end, the year's points lapse (次年重新积分)
    BASE_GRANT = "base_grant"  # 高阳: each year's base points (每年赋予每户基础分100分)


ENTRY_AWARD = EntryKind.AWARD
ENTRY_DEDUCTION = EntryKind.DEDUCTION
ENTRY_REDEMPTION = EntryKind.REDEMPTION
ENTRY_REVERSAL = EntryKind.REVERSAL
ENTRY_CONVERSION = EntryKind.CONVERSION
ENTRY_VETO_CLEAR = EntryKind.VETO_CLEAR
ENTRY_EXPIRY = EntryKind.EXPIRY
ENTRY_BASE_GRANT = EntryKind.BASE_GRANT
ENTRY_KINDS = tuple(EntryKind)
# Kinds that move ``PointAccount.earned_total`` (the ranking basis): what was earned, never
# what was spent, cleared or lapsed.
EARNED_KINDS = (ENTRY_AWARD, ENTRY_DEDUCTION, ENTRY_CONVERSION, ENTRY_BASE_GRANT)


class RedemptionStatus(StrEnum):
    COMPLETED = "completed"
    VOIDED = "voided"


REDEMPTION_COMPLETED = RedemptionStatus.COMPLETED
REDEMPTION_VOIDED = RedemptionStatus.VOIDED


class Role(StrEnum):
    KEEPER = "keeper"  # 超市管理员
    ADMIN = "admin"  # 村委管理员
    SUPERVISOR = "supervisor"  # 监督小组
    # A member of the assessment group (评议员): records proposals on the phone page (/m).
    RECORDER = "recorder"


ROLE_KEEPER = Role.KEEPER
ROLE_ADMIN = Role.ADMIN
ROLE_SUPERVISOR = Role.SUPERVISOR
ROLE_RECORDER = Role.RECORDER
ROLES = tuple(Role)


class PrintStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by one kiosk, on its way to the printer (kiosk.printing)
    PRINTED = "printed"
    FAILED = "failed"


PRINT_QUEUED = PrintStatus.QUEUED
PRINT_PRINTED = PrintStatus.PRINTED
PRINT_FAILED = PrintStatus.FAILED


class PrintKind(StrEnum):
    """What a print job prints (kiosk.printing, inventory.printouts)."""

    RECEIPT = "receipt"  # 兑换小票
    TEST_PAGE = "test_page"
    CARD = "card"  # a household's card on thermal paper
    STOCK_IN = "stock_in"  # 物品入库单
    DONATION = "donation"  # 捐赠收据
    MONTH_END = "month_end"  # 月结汇总
    CLOSING = "closing"  # 日结单


class Supermarket(Model):
    """One points supermarket (积分超市) and the policy parameters it runs."""

    __tablename__ = "supermarkets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    town: Mapped[str] = mapped_column(sa.String(50), default="")
    village: Mapped[str] = mapped_column(sa.String(50), default="")
    # 1 point = 1 yuan in every seed; a village may set another rate.
    points_per_yuan: Mapped[int] = mapped_column(default=1)
    # The rule set it runs (kiosk.rules.policy_io.policy_to_dict); None: the default policy.
    policy: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    next_receipt_no: Mapped[int] = mapped_column(default=1)
    # How far the fund pool may go below zero (an advance the village committee allows), fen.
    fund_advance_limit_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Household(Model):
    """A household (户), the unit that holds points and redeems."""

    __tablename__ = "households"
    __table_args__ = (
        sa.UniqueConstraint("supermarket_id", "number"),
        one_of("households", "status", HouseholdStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(32))
    head_name: Mapped[str] = mapped_column(sa.String(50))
    village: Mapped[str] = mapped_column(sa.String(50), default="")
    group_name: Mapped[str] = mapped_column(sa.String(50), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why the household was deactivated (迁出, 合户...); cleared on reactivation.
    inactive_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # Normalised search words: number, head and active members' names, their full pinyin and
    # initials, lower-case, space-separated (kiosk.search_keys); kept by kiosk.households.
    search_key: Mapped[str | None] = mapped_column(sa.Text)

    supermarket: Mapped[Supermarket] = relationship()
    members: Mapped[list[Member]] = relationship(back_populates="household", order_by="Member.id")
    cards: Mapped[list[Card]] = relationship(back_populates="household", order_by="Card.id")
    account: Mapped[PointAccount] = relationship(back_populates="household", uselist=False)


class Member(Model):
    """A resident belonging to a household."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    relation: Mapped[str] = mapped_column(sa.String(20), default="")
    birth_date: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Why the member was deactivated (迁出, 去世...); cleared on reactivation.
    inactive_reason: Mapped[str | None] = mapped_column(sa.String(200))

    household: Mapped[Household] = relationship(back_populates="members")


class Card(Model):
    """A points card (积分信息卡). Reissuing keeps the serial and bumps ``issue_no``."""

    __tablename__ = "cards"
    __table_args__ = (
        sa.UniqueConstraint("serial", "issue_no"),
        one_of("cards", "status", CardStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    serial: Mapped[int] = mapped_column(index=True)
    issue_no: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(16), default=CARD_ACTIVE)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(200))

    household: Mapped[Household] = relationship(back_populates="cards")


class PointAccount(Model):
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


class PointEntry(Model):
    """One append-only line of the points ledger. ``amount`` is signed."""

    __tablename__ = "point_entries"
    __table_args__ = (one_of("point_entries", "kind", EntryKind),)

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


class Redemption(Model):
    """A redemption (兑换单): one cart exchanged for points at the counter."""

    __tablename__ = "redemptions"
    __table_args__ = (
        sa.UniqueConstraint("supermarket_id", "receipt_no"),
        # A month's redemptions and voids of one supermarket by range scan (月结, 台账).
        sa.Index("ix_redemptions_supermarket_created", "supermarket_id", "created_at"),
        sa.Index("ix_redemptions_supermarket_voided", "supermarket_id", "voided_at"),
        one_of("redemptions", "status", RedemptionStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: ix_redemptions_supermarket_created begins with it)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"))
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
    # The receipt's print jobs, the original first, then each reprint (补打).
    receipts: Mapped[list[PrintJob]] = relationship(viewonly=True, order_by="PrintJob.id")


class RedemptionLine(Model):
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


class User(Model):
    """A person who works the system: keeper, admin (village committee) or supervisor."""

    __tablename__ = "users"
    __table_args__ = (one_of("users", "role", Role),)

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
    # Raised by logout, a password or PIN change, deactivation and a role change: every
    # session opened under an older version ends at its next request (server-side logout).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    supermarket: Mapped[Supermarket | None] = relationship()


class ApiToken(Model):
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


class AuditEvent(Model):
    """Who did what, when: one row for every write the services make.

    Rows form one hash chain per supermarket (``chain`` = the supermarket's id, 0 for the
    global chain of rows without a supermarket): ``seq`` counts 1, 2, 3… in commit order and
    ``hash`` = SHA-256 over the row's canonical JSON including ``prev_hash``, the hash of the
    row before it (``kiosk.audit``). Rows written before the chain existed have no ``seq``.
    """

    __tablename__ = "audit_events"
    __table_args__ = (sa.UniqueConstraint("chain", "seq", name="uq_audit_events_chain_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supermarkets.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(50))
    subject_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    chain: Mapped[int | None]
    seq: Mapped[int | None]
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))

    actor: Mapped[User | None] = relationship()


class AuditChainHead(Model):
    """The last link of one audit chain, locked while a transaction appends to it."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScanThrottle(Model):
    """Failed card scans on the public self-service screen, per kiosk (client address).

    Stored in the database so a lock holds across restarts and every kiosk process.
    """

    __tablename__ = "scan_throttles"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


class PrintJob(Model):
    """A slip to print, saved before it is sent so that no failure loses it."""

    __tablename__ = "print_jobs"
    __table_args__ = (
        one_of("print_jobs", "kind", PrintKind),
        one_of("print_jobs", "status", PrintStatus),
    )

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
    # When a kiosk claimed it for sending: a job "sending" for long was abandoned mid-print.
    claimed_at: Mapped[datetime | None]
    printed_at: Mapped[datetime | None]


class Assessment(Model):
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


class Veto(Model):
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


class CycleClose(Model):
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


class ProposalStatus(StrEnum):
    """A point proposal (加减分申请): entered by one admin, signed off by another."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


PROPOSAL_PENDING = ProposalStatus.PENDING
PROPOSAL_APPROVED = ProposalStatus.APPROVED
PROPOSAL_REJECTED = ProposalStatus.REJECTED
PROPOSAL_WITHDRAWN = ProposalStatus.WITHDRAWN
PROPOSAL_STATUSES = tuple(ProposalStatus)


class ImportKind(StrEnum):
    HOUSEHOLDS = "households"
    POINTS = "points"
    SCORES = "scores"


class ImportStatus(StrEnum):
    PREVIEWED = "previewed"
    COMMITTED = "committed"


IMPORT_HOUSEHOLDS = ImportKind.HOUSEHOLDS
IMPORT_POINTS = ImportKind.POINTS
IMPORT_SCORES = ImportKind.SCORES
IMPORT_KINDS = tuple(ImportKind)
IMPORT_PREVIEWED = ImportStatus.PREVIEWED
IMPORT_COMMITTED = ImportStatus.COMMITTED


class StandardItem(Model):
    """A scoring standard (积分标准) of a supermarket: what earns or costs how many points.

    Seeded from 寨里's 25 standards (kiosk.standards); each village edits its own list. Items
    are never deleted (proposals cite them): an unused one is made inactive.
    """

    __tablename__ = "standard_items"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(300))
    # Positive: an award; negative: a deduction.
    points: Mapped[int]
    category: Mapped[str] = mapped_column(sa.String(50), default="")
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportBatch(Model):
    """One uploaded file (导入批次): its bytes, the preview of every row, and whether it was
    committed. Commit re-validates from ``content``, never from what a browser sends back."""

    __tablename__ = "import_batches"
    __table_args__ = (
        one_of("import_batches", "kind", ImportKind),
        one_of("import_batches", "status", ImportStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    rows: Mapped[int] = mapped_column(default=0)
    error_rows: Mapped[int] = mapped_column(default=0)
    # {"rows": [{"n": row number, "values": [...], "errors": [...]}, ...], "headers": [...],
    #  "errors": [file-level errors], "totals": {...}}
    preview: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default=IMPORT_PREVIEWED)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    committed_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    committed_by: Mapped[User | None] = relationship(foreign_keys=[committed_by_id])


class PointProposal(Model):
    """An award or deduction awaiting the assessment group's sign-off (签字确认).

    Entered by one admin, approved or rejected by another; approval posts exactly one
    ``PointEntry`` (``entry_id``) in the same transaction.
    """

    __tablename__ = "point_proposals"
    __table_args__ = (
        sa.Index("ix_point_proposals_sm_status", "supermarket_id", "status"),
        one_of("point_proposals", "status", ProposalStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    standard_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("standard_items.id"))
    # Signed: positive awards, negative deducts.
    amount: Mapped[int]
    occurred_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200))
    evidence: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=PROPOSAL_PENDING)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.String(200), default="")
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("point_entries.id"))
    # The client's idempotency key (API, phone): a retried POST returns the same proposal.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # Where and when it happened (the phone records both; the office may leave them out):
    # the moment (UTC), a place from the village's list or typed, the phone's location if the
    # recorder allowed it ("lat,lon"), and whether the household reported it itself (群众自主申报).
    occurred_at: Mapped[datetime | None]
    place: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    location: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")
    self_reported: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    household: Mapped[Household] = relationship()
    member: Mapped[Member | None] = relationship()
    standard_item: Mapped[StandardItem | None] = relationship()
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    entry: Mapped[PointEntry | None] = relationship()
    photos: Mapped[list[ProposalPhoto]] = relationship(
        back_populates="proposal", order_by="ProposalPhoto.position"
    )


class ProposalPhoto(Model):
    """A photo cited as evidence (佐证照片) of a proposal, stored by content hash under
    ``<instance>/files/evidence/`` (kiosk.evidence), re-encoded without EXIF."""

    __tablename__ = "proposal_photos"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("point_proposals.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(32), default="image/jpeg")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposal: Mapped[PointProposal] = relationship(back_populates="photos")


class VillagePlace(Model):
    """A place the village keeps in its list (村民小组, lane) for the phone's 地点 field."""

    __tablename__ = "village_places"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


# ==== public notice and objections (kiosk.notice) ====
# (models owned by the notice work: add them below this line)


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    DISCARDED = "discarded"


class ObjectionStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


NOTICE_DRAFT = NoticeStatus.DRAFT
NOTICE_PUBLISHED = NoticeStatus.PUBLISHED
NOTICE_SUPERSEDED = NoticeStatus.SUPERSEDED
NOTICE_DISCARDED = NoticeStatus.DISCARDED

OBJECTION_OPEN = ObjectionStatus.OPEN
OBJECTION_UPHELD = ObjectionStatus.UPHELD
OBJECTION_REJECTED = ObjectionStatus.REJECTED


class Notice(Model):
    """A public notice (公示) of one period: frozen rows, published once per period and
    supermarket; a correction publishes a new revision that supersedes the old one (kept)."""

    __tablename__ = "notices"
    __table_args__ = (
        # At most one published notice per supermarket and period.
        sa.Index(
            "uq_notices_published_period",
            "supermarket_id",
            "period",
            unique=True,
            sqlite_where=sa.text("status = 'published'"),
            postgresql_where=sa.text("status = 'published'"),
        ),
        one_of("notices", "status", NoticeStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    period: Mapped[str] = mapped_column(sa.String(8), index=True)  # "2024Q1"
    revision: Mapped[int | None]  # 1, 2, ... once published
    status: Mapped[str] = mapped_column(sa.String(16), default=NOTICE_DRAFT)
    # "points" (大同, 高阳, 羊亭) or "score" (寨里: family average of member scores).
    basis: Mapped[str] = mapped_column(sa.String(16))
    policy_name: Mapped[str] = mapped_column(sa.String(100), default="")
    # The frozen content: rows, red list size, distribution (kiosk.notice.Snapshot as JSON).
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    # The ledgers were read up to this moment (naive UTC).
    as_of: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notices.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]

    supermarket: Mapped[Supermarket] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])


class Objection(Model):
    """An objection (异议) by a household against its row of a published notice."""

    __tablename__ = "objections"
    __table_args__ = (one_of("objections", "status", ObjectionStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id"), index=True)
    period: Mapped[str] = mapped_column(sa.String(8), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    raised_by: Mapped[str] = mapped_column(sa.String(50))  # a member of the household
    raised_on: Mapped[date]
    disputed: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(16), default=OBJECTION_OPEN)
    resolution: Mapped[str | None] = mapped_column(sa.String(500))
    # Upheld with a points correction: the award/deduction entry it posted.
    correction_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("point_entries.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]

    notice: Mapped[Notice] = relationship()
    household: Mapped[Household] = relationship()
    correction_entry: Mapped[PointEntry | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])


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
