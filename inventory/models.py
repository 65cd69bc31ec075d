"""Products and the append-only stock ledger (物品入库台账 and its movements)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.choices import one_of
from kiosk.extensions import Model
from kiosk.timeutil import utcnow

# Each closed set of stored strings is a StrEnum (kiosk.choices); the module-level names are
# its members, kept for the callers that import them.


class ProductKind(StrEnum):
    GOODS = "goods"
    SERVICE = "service"  # no stock: a haircut, a repair (服务类)


KIND_GOODS = ProductKind.GOODS
KIND_SERVICE = ProductKind.SERVICE


class MovementKind(StrEnum):
    """What a stock movement records."""

    STOCK_IN = "stock_in"
    REDEMPTION = "redemption"
    VOID_RETURN = "void_return"
    ADJUSTMENT = "adjustment"  # damage, expiry, loss (报损), approved by an admin
    DONATION_IN = "donation_in"  # goods donated in kind, at assessed unit cost
    COUNT = "count"  # a stocktake's variance, posted when the count is approved


MOVE_STOCK_IN = MovementKind.STOCK_IN
MOVE_REDEMPTION = MovementKind.REDEMPTION
MOVE_VOID_RETURN = MovementKind.VOID_RETURN
MOVE_ADJUSTMENT = MovementKind.ADJUSTMENT
MOVE_DONATION_IN = MovementKind.DONATION_IN
MOVE_COUNT = MovementKind.COUNT
MOVEMENT_KINDS = tuple(MovementKind)


class FundKind(StrEnum):
    """What a fund pool entry (基金池) records."""

    DONATION = "donation"  # cash donated in
    PURCHASE = "purchase"  # goods bought for the shelves, paid out of the pool
    REVERSAL = "reversal"  # undoes one earlier entry


FUND_DONATION = FundKind.DONATION
FUND_PURCHASE = FundKind.PURCHASE
FUND_REVERSAL = FundKind.REVERSAL
FUND_KINDS = tuple(FundKind)


class Category(Model):
    """A shelf category shown as a tab of tiles at the counter (粮油, 日用品, ...)."""

    __tablename__ = "categories"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    sort_order: Mapped[int] = mapped_column(default=0)


class Product(Model):
    """Goods or a service redeemable for points at cost price.

    ``unit_cost_fen`` is the moving average over stock-ins; ``points_price`` follows it under
    the supermarket's points-per-yuan, rounded up to a whole point.
    """

    __tablename__ = "products"
    __table_args__ = (
        sa.UniqueConstraint("supermarket_id", "sku"),
        sa.UniqueConstraint("supermarket_id", "barcode"),
        one_of("products", "kind", ProductKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique (supermarket_id, sku) index begins with it)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"))
    sku: Mapped[str] = mapped_column(sa.String(32))
    barcode: Mapped[str | None] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str] = mapped_column(sa.String(16), default="件")
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    kind: Mapped[str] = mapped_column(sa.String(16), default=KIND_GOODS)
    unit_cost_fen: Mapped[int] = mapped_column(default=0)
    points_price: Mapped[int] = mapped_column(default=0)
    stock_qty: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Who may take it, per the policy's Restriction with this key (寨里 "elder_canteen").
    restriction_key: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[Category | None] = relationship()

    @property
    def tracks_stock(self) -> bool:
        """Services (a meal, a physiotherapy session) are not counted on a shelf."""
        return self.kind == KIND_GOODS


class StockMovement(Model):
    """One append-only line of the stock ledger. ``quantity`` is signed."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: ix_stock_movements_product_created begins with it)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    quantity: Mapped[int]
    unit_cost_fen: Mapped[int]
    quantity_after: Mapped[int]
    redemption_id: Mapped[int | None] = mapped_column(sa.ForeignKey("redemptions.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_movements.id"))
    supplier: Mapped[str] = mapped_column(sa.String(100), default="")
    invoice_no: Mapped[str] = mapped_column(sa.String(50), default="")
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    # Why an adjustment was made (damage / expiry / loss / count), empty otherwise.
    reason: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    # The document this line belongs to: ("stock_in", id), ("donation", id),
    # ("adjustment", id), ("stocktake", id); empty for redemptions (see redemption_id).
    ref_type: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    ref_id: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    product: Mapped[Product] = relationship()

    __table_args__ = (
        sa.Index("ix_stock_movements_ref", "ref_type", "ref_id"),
        # A product's movements in a date range (month-end, stocktake, ledgers).
        sa.Index("ix_stock_movements_product_created", "product_id", "created_at"),
        one_of("stock_movements", "kind", MovementKind),
    )


class FundAccount(Model):
    """A supermarket's fund pool (基金池); ``balance_fen`` always equals its entries' sum."""

    __tablename__ = "fund_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), unique=True)
    balance_fen: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FundEntry(Model):
    """One append-only line of the fund pool ledger. ``amount_fen`` is signed."""

    __tablename__ = "fund_entries"
    __table_args__ = (
        sa.Index("ix_fund_entries_ref", "ref_type", "ref_id"),
        one_of("fund_entries", "kind", FundKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_account_id: Mapped[int] = mapped_column(sa.ForeignKey("fund_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    amount_fen: Mapped[int]
    balance_after_fen: Mapped[int]
    # The document behind it: ("donation", id) or ("stock_in", id).
    ref_type: Mapped[str] = mapped_column(sa.String(16), default="")
    ref_id: Mapped[int | None]
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fund_entries.id"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MonthClose(Model):
    """A closed month (月结): nothing may be posted into it afterwards (see inventory.periods)."""

    __tablename__ = "month_closes"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    month: Mapped[str] = mapped_column(sa.String(7))  # "2026-10", the supermarket's local month
    # The reconciliation report as closed, kept so that the month reads the same ever after.
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The report's headline (its version, stock_totals, fund and tieout: a few hundred bytes
    # where the report is half a megabyte for a county supermarket), for the area report and
    # the openings of later months. None for a report without them. ``jifen check`` proves it
    # equals the report's own sections.
    summary: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)


# ==== stock-in documents and adjustments (inventory.stock, inventory.adjustments) ====
# (models owned by the stock work: add them below this line)

# Who paid for a purchase: the fund pool, or a named other source (村集体, 镇奖励, ...).
PAID_FROM_FUND = "fund"


class AdjustReason(StrEnum):
    """Why goods are written off (报损)."""

    DAMAGE = "damage"  # 损坏
    EXPIRY = "expiry"  # 过期
    LOSS = "loss"  # 丢失


class AdjustmentStatus(StrEnum):
    """The states of a write-off request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


ADJUST_DAMAGE = AdjustReason.DAMAGE
ADJUST_EXPIRY = AdjustReason.EXPIRY
ADJUST_LOSS = AdjustReason.LOSS
ADJUST_REASONS = tuple(AdjustReason)
ADJ_PENDING = AdjustmentStatus.PENDING
ADJ_APPROVED = AdjustmentStatus.APPROVED
ADJ_REJECTED = AdjustmentStatus.REJECTED
ADJ_STATES = tuple(AdjustmentStatus)


class StockIn(Model):
    """A stock-in document (入库单) of one purchase; its lines are the StockMovement rows
    with ``ref_type="stock_in"`` and ``ref_id`` = this id. Numbered without gaps per supermarket.
    """

    __tablename__ = "stock_ins"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    number: Mapped[int]
    supplier: Mapped[str] = mapped_column(sa.String(100), default="")
    invoice_no: Mapped[str] = mapped_column(sa.String(50), default="")
    # PAID_FROM_FUND, a named other source (村集体, 镇奖励), or "" when not stated (old API calls).
    paid_from: Mapped[str] = mapped_column(sa.String(50), default="")
    total_cost_fen: Mapped[int] = mapped_column(default=0)
    fund_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fund_entries.id"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    @property
    def display_no(self) -> str:
        """The number as printed: RK000012."""
        return stock_in_label(self.number)


def stock_in_label(number: int) -> str:
    """A stock-in document's number as printed: RK000012."""
    return f"RK{number:06d}"


class StockAdjustment(Model):
    """A request to write goods off (报损: damage, expiry, loss); an admin approves it, and the
    approval posts a MOVE_ADJUSTMENT movement (``ref_type="adjustment"``)."""

    __tablename__ = "stock_adjustments"
    __table_args__ = (
        one_of("stock_adjustments", "reason", AdjustReason),
        one_of("stock_adjustments", "status", AdjustmentStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    quantity: Mapped[int]  # how many units leave the shelf (positive)
    reason: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=ADJ_PENDING, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.String(200), default="")
    movement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_movements.id"))

    product: Mapped[Product] = relationship()


# ==== donors and donations (inventory.donations) ====
# (models owned by the donations work: add them below this line)

from datetime import date  # noqa: E402  (kept in this section: other sections edit the top)


class DonorKind(StrEnum):
    """Donor kinds (捐赠方类别). Organisations appear by full name on the public list; people
    (个人, 乡贤) are masked unless they agreed to have their full name published."""

    XIANGXIAN = "xiangxian"  # 乡贤
    ENTERPRISE = "enterprise"  # 企业
    PARTNER = "partner_unit"  # 帮扶单位
    COLLECTIVE = "village_collective"  # 村集体
    TOWN = "town_reward"  # 镇奖励
    INDIVIDUAL = "individual"  # 个人


DONOR_XIANGXIAN = DonorKind.XIANGXIAN
DONOR_ENTERPRISE = DonorKind.ENTERPRISE
DONOR_PARTNER = DonorKind.PARTNER
DONOR_COLLECTIVE = DonorKind.COLLECTIVE
DONOR_TOWN = DonorKind.TOWN
DONOR_INDIVIDUAL = DonorKind.INDIVIDUAL
DONOR_KINDS = tuple(DonorKind)
DONOR_PERSON_KINDS = (DONOR_XIANGXIAN, DONOR_INDIVIDUAL)


class DonationForm(StrEnum):
    CASH = "cash"
    GOODS = "goods"


class DonationStatus(StrEnum):
    RECORDED = "recorded"
    REVERSED = "reversed"


DONATION_CASH = DonationForm.CASH
DONATION_GOODS = DonationForm.GOODS
DONATION_FORMS = tuple(DonationForm)
DONATION_RECORDED = DonationStatus.RECORDED
DONATION_REVERSED = DonationStatus.REVERSED


class Donor(Model):
    """Someone who gives to the supermarket (捐赠方). ``contact`` is for the office only: it is
    never printed nor shown on the public list."""

    __tablename__ = "donors"
    __table_args__ = (one_of("donors", "kind", DonorKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    contact: Mapped[str] = mapped_column(sa.String(200), default="")
    # A person agreed to have their full name on the public list (otherwise masked: 张*丰).
    publish_full_name: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_person(self) -> bool:
        return self.kind in DONOR_PERSON_KINDS


class Donation(Model):
    """One donation (捐赠), numbered without gaps per supermarket ("JZ000001").

    Cash goes into the fund pool (``fund_entry_id``); goods go into stock as
    ``MOVE_DONATION_IN`` movements with ``ref_type="donation"``. ``amount_fen`` is the cash
    amount, or the goods' total assessed value. A mistake is reversed, never deleted.
    """

    __tablename__ = "donations"
    __table_args__ = (
        sa.UniqueConstraint("supermarket_id", "seq"),
        sa.UniqueConstraint("supermarket_id", "receipt_no"),
        one_of("donations", "form", DonationForm),
        one_of("donations", "status", DonationStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    seq: Mapped[int]
    receipt_no: Mapped[str] = mapped_column(sa.String(16))
    donor_id: Mapped[int] = mapped_column(sa.ForeignKey("donors.id"), index=True)
    form: Mapped[str] = mapped_column(sa.String(8))
    amount_fen: Mapped[int]
    donated_on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=DONATION_RECORDED)
    fund_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fund_entries.id"))
    # Thank-you receipts printed so far (the original is copy 1; reprints are 补打).
    copies_printed: Mapped[int] = mapped_column(default=0)
    last_print_job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("print_jobs.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reversed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reversed_at: Mapped[datetime | None]
    reverse_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    # A client's key, namespaced by its user ("api:<user id>:<key>"): a retry finds this row.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)

    donor: Mapped[Donor] = relationship()


# ==== stocktake (inventory.stocktake) ====
# (models owned by the stocktake work: add them below this line)


class CountStatus(StrEnum):
    """Stocktake states: counting → submitted → approved → posted (signed off by the
    supervisors), or cancelled."""

    COUNTING = "counting"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    POSTED = "posted"
    CANCELLED = "cancelled"


COUNT_COUNTING = CountStatus.COUNTING
COUNT_SUBMITTED = CountStatus.SUBMITTED
COUNT_APPROVED = CountStatus.APPROVED
COUNT_POSTED = CountStatus.POSTED
COUNT_CANCELLED = CountStatus.CANCELLED
COUNT_STATES = tuple(CountStatus)
# States in which a count is still open: a month cannot be closed while one of these exists.
COUNT_UNPOSTED = (COUNT_COUNTING, COUNT_SUBMITTED, COUNT_APPROVED)


class Stocktake(Model):
    """A stock count (盘点) of all or some products; book quantities fixed at the start."""

    __tablename__ = "stocktakes"
    __table_args__ = (one_of("stocktakes", "status", CountStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=COUNT_COUNTING, index=True)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    posted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    posted_at: Mapped[datetime | None]
    # The last stock movement id when the book quantities were fixed: every movement of a
    # counted product after it happened during the count (see inventory.stocktake).
    start_movement_id: Mapped[int] = mapped_column(default=0, server_default="0")
    # What was counted, in words ("全部商品" or the categories chosen), for the list and report.
    scope: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]

    lines: Mapped[list[StocktakeLine]] = relationship(
        back_populates="stocktake", order_by="StocktakeLine.id"
    )


class StocktakeLine(Model):
    """One product in a count: its book quantity and cost at the start, and what was counted."""

    __tablename__ = "stocktake_lines"
    __table_args__ = (sa.UniqueConstraint("stocktake_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(sa.ForeignKey("stocktakes.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    book_qty: Mapped[int]
    unit_cost_fen: Mapped[int]
    # None until someone counts it (a partial count leaves lines uncounted).
    counted_qty: Mapped[int | None]
    counted_at: Mapped[datetime | None]
    # The variance posted as a MOVE_COUNT movement when the count was approved.
    posted_variance: Mapped[int | None]
    # The product's last stock movement id when the line was last counted: movements up to it
    # happened before the shelf was counted and are part of the expected quantity.
    count_movement_id: Mapped[int | None]
    # The unit cost the variance was posted at (the product's cost at approval).
    posted_unit_cost_fen: Mapped[int | None]

    stocktake: Mapped[Stocktake] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


# What one counting action did to a line (盘点记录), append-only: "add" (a scan or a + / −
# press, ``quantity`` is the signed delta), "set" (a typed total, ``quantity`` is the total) or
# "clear" (back to not counted). ``result_qty`` is the line's counted quantity afterwards.


class CountEventKind(StrEnum):
    ADD = "add"
    SET = "set"
    CLEAR = "clear"


COUNT_EVENT_ADD = CountEventKind.ADD
COUNT_EVENT_SET = CountEventKind.SET
COUNT_EVENT_CLEAR = CountEventKind.CLEAR
COUNT_EVENT_KINDS = tuple(CountEventKind)


class StocktakeCount(Model):
    """One counting action on a line, by whom, from which device; never edited."""

    __tablename__ = "stocktake_counts"
    __table_args__ = (
        sa.UniqueConstraint("stocktake_id", "client_key"),
        one_of("stocktake_counts", "kind", CountEventKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(sa.ForeignKey("stocktakes.id"), index=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("stocktake_lines.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    quantity: Mapped[int]
    result_qty: Mapped[int | None]
    # "wedge" (USB scanner), "camera", "typed" (barcode typed in), "button" (+ / − / set)
    device: Mapped[str] = mapped_column(sa.String(16), default="")
    # The page's own id for this action, so a retried request is not counted twice.
    client_key: Mapped[str | None] = mapped_column(sa.String(64))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
