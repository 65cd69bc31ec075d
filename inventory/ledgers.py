"""The two books a points supermarket must keep (高阳 003): the stock-in ledger (物品入库台账)
and the redemption / pickup ledger (物品兑换领取台账), for a range of local dates, with filters,
on screen and as an XLSX sheet laid out as a village office prints it.

Both are read straight from the append-only ledgers: stock movements (purchases and donations
in kind) and redemption lines. A voided redemption stays in the book marked 已作废, and its
reversal is a row of its own, on the day of the void, with the quantity and points negative.
Names are masked (张*丰); no ID or phone number appears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from inventory.models import (
    MOVE_DONATION_IN,
    MOVE_STOCK_IN,
    PAID_FROM_FUND,
    Product,
    StockIn,
    StockMovement,
)
from kiosk import export, parsing, permissions
from kiosk.clock import day_start_utc, local_now, utc_to_local
from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from kiosk.formatting import mask_name
from kiosk.messages import N_, _
from kiosk.models import REDEMPTION_VOIDED, Household, Redemption, RedemptionLine, Supermarket, User

MAX_RANGE_DAYS = 366 * 2
SIGN_OFF = "经办人：________________        审核人：________________"


@dataclass(frozen=True)
class Filters:
    """A ledger's date range (local dates, both inclusive) and optional filters."""

    date_from: date
    date_to: date
    product_id: int | None = None
    household_no: str = ""
    keeper_id: int | None = None

    def utc_bounds(self) -> tuple[datetime, datetime]:
        return day_start_utc(self.date_from), day_start_utc(self.date_to + timedelta(days=1))


def this_month() -> tuple[date, date]:
    """The first and last local day of the current month."""
    today = local_now().date()
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return first, next_first - timedelta(days=1)


def make_filters(
    date_from: str | None,
    date_to: str | None,
    *,
    product_id: str | int | None = None,
    household_no: str | None = None,
    keeper_id: str | int | None = None,
) -> Filters:
    """Filters from a form's text (empty dates mean this month); Chinese refusals on bad input."""
    first, last = this_month()
    try:
        start = date.fromisoformat(date_from) if date_from else first
        end = date.fromisoformat(date_to) if date_to else (last if not date_from else start)
    except ValueError:
        raise ValidationFailed(_("日期格式不正确，请按 2026-11-01 的格式填写")) from None
    if end < start:
        raise ValidationFailed(_("结束日期不能早于开始日期"))
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationFailed(_("日期范围最多两年"))

    def _id(value: str | int | None, label: str) -> int | None:
        if value in (None, ""):
            return None
        try:
            return parsing.db_id(value)
        except (TypeError, ValueError):
            raise ValidationFailed(_("%(label)s不正确", label=label)) from None

    return Filters(
        start,
        end,
        product_id=_id(product_id, "商品"),
        household_no=(household_no or "").strip()[:32],
        keeper_id=_id(keeper_id, "经办人"),
    )


# Stock-in ledger (物品入库台账) ----------------------------------------------------------------


@dataclass(frozen=True)
class StockInRow:
    when: datetime  # local
    document_no: str
    stock_in_id: int | None
    product_name: str
    unit: str
    quantity: int
    unit_cost_fen: int
    amount_fen: int
    source: str  # supplier, or the donor for goods donated in kind
    invoice_no: str
    paid_from: str
    keeper: str
    kind: str
    donor: str | None = None  # the donor of goods donated in kind (as printed), else None


# The ledger's own words for who paid (the fund pool, not stated, a donation in kind); pages show
# them in the reader's language, the spreadsheets in Chinese. A named source is shown as written.
PAID_FROM_FUND_LABEL = N_("基金池")
PAID_FROM_NOT_STATED = N_("未注明")
PAID_FROM_DONATION = N_("捐赠")
PAID_FROM_WORDS = frozenset({PAID_FROM_FUND_LABEL, PAID_FROM_NOT_STATED, PAID_FROM_DONATION})


def paid_from_label(paid_from: str) -> str:
    """Who paid for a stock-in, in Chinese: 基金池, the named source, or 未注明."""
    if paid_from == PAID_FROM_FUND:
        return PAID_FROM_FUND_LABEL
    return paid_from or PAID_FROM_NOT_STATED


def stock_in_rows(supermarket_id: int, filters: Filters) -> list[StockInRow]:
    """Goods in (purchases and donations in kind) in the range, oldest first."""
    start, end = filters.utc_bounds()
    stmt = (
        sa.select(StockMovement, Product, StockIn, User)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(
            StockIn,
            sa.and_(StockMovement.ref_type == "stock_in", StockIn.id == StockMovement.ref_id),
        )
        .outerjoin(User, User.id == StockMovement.created_by_id)
        .where(
            Product.supermarket_id == supermarket_id,
            StockMovement.kind.in_((MOVE_STOCK_IN, MOVE_DONATION_IN)),
            StockMovement.created_at >= start,
            StockMovement.created_at < end,
        )
        .order_by(StockMovement.created_at, StockMovement.id)
    )
    if filters.product_id is not None:
        stmt = stmt.where(StockMovement.product_id == filters.product_id)
    if filters.keeper_id is not None:
        stmt = stmt.where(StockMovement.created_by_id == filters.keeper_id)
    results = db.session.execute(stmt).all()
    donors = _donor_names(
        {m.ref_id for m, *_ in results if m.kind == MOVE_DONATION_IN and m.ref_type == "donation"}
    )
    rows = []
    for movement, product, document, user in results:
        donated = movement.kind == MOVE_DONATION_IN
        donor = donors.get(movement.ref_id, "") if donated else None
        rows.append(
            StockInRow(
                when=utc_to_local(movement.created_at),
                # A donation's own receipt number (捐赠收据号) stands in for the stock-in number.
                document_no=document.display_no
                if document is not None
                else (movement.invoice_no if donated else ""),
                stock_in_id=document.id if document is not None else None,
                product_name=product.name,
                unit=product.unit,
                quantity=movement.quantity,
                unit_cost_fen=movement.unit_cost_fen,
                amount_fen=movement.quantity * movement.unit_cost_fen,
                source=f"捐赠：{donor}" if donated else movement.supplier,
                invoice_no="" if donated else movement.invoice_no,
                paid_from=PAID_FROM_DONATION
                if donated
                else paid_from_label(document.paid_from if document else ""),
                keeper=user.display_name if user is not None else "",
                kind=movement.kind,
                donor=donor,
            )
        )
    return rows


def _donor_names(donation_ids: set[int | None]) -> dict[int | None, str]:
    """Donors of goods donated in kind as printed on paper: people masked unless they agreed
    (inventory.donations.public_name), organisations in full; looked up by a movement's
    ``ref_id``, which may be None."""
    donation_ids = {i for i in donation_ids if i is not None}
    if not donation_ids:
        return {}
    from inventory import donations
    from inventory.models import Donation, Donor

    rows = db.session.execute(
        sa.select(Donation.id, Donor)
        .join(Donor, Donor.id == Donation.donor_id)
        .where(Donation.id.in_(donation_ids))
    )
    return {donation_id: donations.public_name(donor) for donation_id, donor in rows}


STOCK_IN_HEADERS = (
    "日期",
    "入库单号",
    "物品名称",
    "单位",
    "数量",
    "单价(元)",
    "金额(元)",
    "供货方/来源",
    "发票号",
    "付款来源",
    "经办人",
)


def stock_in_sheet(
    supermarket: Supermarket, filters: Filters, rows: list[StockInRow]
) -> export.Sheet:
    """The stock-in ledger as a printable sheet (with a 合计 row)."""
    body: list[list[Any]] = [
        [
            r.when.strftime("%Y-%m-%d"),
            r.document_no,
            r.product_name,
            r.unit,
            r.quantity,
            export.yuan(r.unit_cost_fen),
            export.yuan(r.amount_fen),
            r.source,
            r.invoice_no,
            r.paid_from,
            r.keeper,
        ]
        for r in rows
    ]
    body.append(
        [
            "合计",
            "",
            f"{len(rows)}笔",
            "",
            sum(r.quantity for r in rows),
            None,
            export.yuan(sum(r.amount_fen for r in rows)),
            "",
            "",
            "",
            "",
        ]
    )
    return export.Sheet(
        title="物品入库台账",
        subtitle=_subtitle(supermarket, filters),
        headers=STOCK_IN_HEADERS,
        rows=body,
        footer=[SIGN_OFF],
        widths=(12, 11, 22, 6, 8, 10, 11, 18, 12, 10, 10),
        money_columns=(5, 6),
        name="物品入库台账",
    )


# Redemption / pickup ledger (物品兑换领取台账) ------------------------------------------------


@dataclass(frozen=True)
class RedemptionRow:
    when: datetime  # local
    receipt_no: str
    redemption_id: int
    household_no: str
    masked_name: str
    product_name: str
    unit: str
    quantity: int
    points: int
    keeper: str
    status: str  # "" for a standing line, 已作废 for a voided one, 作废冲回 for its reversal
    void_reason: str = ""
    reversal: bool = False


def redemption_rows(supermarket_id: int, filters: Filters) -> list[RedemptionRow]:
    """Goods handed out in the range, oldest first; voids show as reversal rows on their day."""
    start, end = filters.utc_bounds()
    keeper = aliased(User)
    voider = aliased(User)
    base = (
        sa.select(RedemptionLine, Redemption, Household, keeper, voider)
        .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
        .join(Household, Household.id == Redemption.household_id)
        .join(keeper, keeper.id == Redemption.keeper_id)
        .outerjoin(voider, voider.id == Redemption.voided_by_id)
        .where(Redemption.supermarket_id == supermarket_id)
    )
    if filters.product_id is not None:
        base = base.where(RedemptionLine.product_id == filters.product_id)
    if filters.household_no:
        base = base.where(Household.number == filters.household_no)
    issued = base.where(Redemption.created_at >= start, Redemption.created_at < end)
    voided = base.where(
        Redemption.status == REDEMPTION_VOIDED,
        Redemption.voided_at >= start,
        Redemption.voided_at < end,
    )
    if filters.keeper_id is not None:
        issued = issued.where(Redemption.keeper_id == filters.keeper_id)
        voided = voided.where(Redemption.voided_by_id == filters.keeper_id)
    rows: list[tuple[datetime, int, int, RedemptionRow]] = []
    for line, redemption, household, kp, _vd in db.session.execute(issued):
        is_void = redemption.status == REDEMPTION_VOIDED
        rows.append(
            (
                redemption.created_at,
                0,
                line.id,
                RedemptionRow(
                    when=utc_to_local(redemption.created_at),
                    receipt_no=redemption.receipt_no,
                    redemption_id=redemption.id,
                    household_no=household.number,
                    masked_name=mask_name(household.head_name),
                    product_name=line.product_name,
                    unit=line.unit,
                    quantity=line.quantity,
                    points=line.line_points,
                    keeper=kp.display_name,
                    status="已作废" if is_void else "",
                    void_reason=(redemption.void_reason or "") if is_void else "",
                ),
            )
        )
    for line, redemption, household, _kp, vd in db.session.execute(voided):
        voided_at = cast(datetime, redemption.voided_at)  # the select takes voids in the span
        rows.append(
            (
                voided_at,
                1,
                line.id,
                RedemptionRow(
                    when=utc_to_local(voided_at),
                    receipt_no=redemption.receipt_no,
                    redemption_id=redemption.id,
                    household_no=household.number,
                    masked_name=mask_name(household.head_name),
                    product_name=line.product_name,
                    unit=line.unit,
                    quantity=-line.quantity,
                    points=-line.line_points,
                    keeper=vd.display_name if vd is not None else "",
                    status="作废冲回",
                    void_reason=redemption.void_reason or "",
                    reversal=True,
                ),
            )
        )
    rows.sort(key=lambda item: item[:3])
    return [row for *_key, row in rows]


REDEMPTION_HEADERS = (
    "日期",
    "兑换单号",
    "户号",
    "户主",
    "物品名称",
    "数量",
    "单位",
    "积分",
    "经办人",
    "备注",
)


def _remark(row: RedemptionRow) -> str:
    if not row.status:
        return ""
    return f"{row.status}：{row.void_reason}" if row.void_reason else row.status


def redemption_sheet(
    supermarket: Supermarket, filters: Filters, rows: list[RedemptionRow]
) -> export.Sheet:
    """The redemption / pickup ledger as a printable sheet (with a 合计 row, net of voids)."""
    body: list[list[Any]] = [
        [
            r.when.strftime("%Y-%m-%d"),
            r.receipt_no,
            r.household_no,
            r.masked_name,
            r.product_name,
            r.quantity,
            r.unit,
            r.points,
            r.keeper,
            _remark(r),
        ]
        for r in rows
    ]
    body.append(
        [
            "合计",
            "",
            "",
            "",
            f"{len(rows)}行",
            sum(r.quantity for r in rows),
            "",
            sum(r.points for r in rows),
            "",
            "已扣除作废冲回" if any(r.reversal for r in rows) else "",
        ]
    )
    return export.Sheet(
        title="物品兑换领取台账",
        subtitle=_subtitle(supermarket, filters),
        headers=REDEMPTION_HEADERS,
        rows=body,
        footer=[SIGN_OFF],
        widths=(12, 16, 10, 8, 22, 7, 6, 8, 10, 22),
        name="物品兑换领取台账",
    )


# Shared --------------------------------------------------------------------------------------


@dataclass
class Choices:
    """What the filters offer: the supermarket's goods and the people who work the counter."""

    products: list[Product] = field(default_factory=list)
    keepers: list[User] = field(default_factory=list)


def choices(supermarket_id: int) -> Choices:
    products = list(
        db.session.scalars(
            sa.select(Product)
            .where(Product.supermarket_id == supermarket_id)
            .order_by(Product.name, Product.id)
        )
    )
    keepers = list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.supermarket_id == supermarket_id,
                User.role.in_(permissions.roles_for("counter.serve")),
            )
            .order_by(User.display_name, User.id)
        )
    )
    return Choices(products, keepers)


def _subtitle(supermarket: Supermarket, filters: Filters) -> list[str]:
    lines = [
        f"超市：{supermarket.name}",
        f"日期：{filters.date_from.isoformat()} 至 {filters.date_to.isoformat()}",
    ]
    parts = []
    if filters.product_id is not None:
        product = db.session.get(Product, filters.product_id)
        parts.append(f"物品：{product.name if product else filters.product_id}")
    if filters.household_no:
        parts.append(f"户号：{filters.household_no}")
    if filters.keeper_id is not None:
        user = db.session.get(User, filters.keeper_id)
        parts.append(f"经办人：{user.display_name if user else filters.keeper_id}")
    if parts:
        lines.append("筛选：" + "，".join(parts))
    return lines


def ledger_xlsx(kind: str, supermarket: Supermarket, filters: Filters) -> tuple[bytes, str]:
    """The workbook and its file name for one ledger ("stock_in" or "redemption")."""
    span = f"{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}"
    if kind == "stock_in":
        sheet = stock_in_sheet(supermarket, filters, stock_in_rows(supermarket.id, filters))
        return export.workbook_bytes([sheet]), f"物品入库台账_{span}.xlsx"
    if kind == "redemption":
        sheet = redemption_sheet(supermarket, filters, redemption_rows(supermarket.id, filters))
        return export.workbook_bytes([sheet]), f"物品兑换领取台账_{span}.xlsx"
    raise ValidationFailed(_("没有这种台账"))
