"""Stock movements: stock-in at cost (moving average), redemption out, void back in.

Every change of ``Product.stock_qty`` goes through :func:`apply_movement`, in the same
transaction as the movement row it reflects.

A purchase comes in as a stock-in document (入库单, :class:`inventory.models.StockIn`): numbered
without gaps per supermarket, its lines are the movements with ``ref_type="stock_in"``. Paid
from the fund pool (基金池), it posts the purchase there in the same transaction.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from inventory import fund, periods
from inventory.models import (
    FUND_PURCHASE,
    KIND_GOODS,
    MOVE_STOCK_IN,
    PAID_FROM_FUND,
    Product,
    StockIn,
    StockMovement,
)
from inventory.products import create_product, policy_for
from kiosk import audit
from kiosk.database import lock, write_transaction
from kiosk.errors import DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import Message, _
from kiosk.models import Supermarket, User
from kiosk.problems import Problem
from kiosk.rules import Policy

logger = logging.getLogger(__name__)

MAX_QUANTITY = 100_000
MAX_UNIT_COST_FEN = 10_000_000  # 100,000 yuan for one unit is surely a typo
MAX_LINES = 200
REF_STOCK_IN = "stock_in"

_YUAN_RE = re.compile(r"^(\d{1,7})(?:\.(\d{1,2}))?$", re.ASCII)
# A well-formed amount, only too large.
_TOO_MANY_YUAN_RE = re.compile(r"^\d{8,}(?:\.\d{1,2})?$", re.ASCII)
_COST_TOO_LARGE = _("进价太大：每件最多%(n)s元，请检查是否多打了数字", n=MAX_UNIT_COST_FEN // 100)


@dataclass(frozen=True)
class StockInLine:
    product_id: int
    quantity: int
    unit_cost_fen: int


def moving_average(old_qty: int, old_cost: int, in_qty: int, in_cost: int) -> int:
    """New unit cost after receiving ``in_qty`` at ``in_cost`` (fen, rounded half up)."""
    if old_qty <= 0:
        return in_cost
    total_qty = old_qty + in_qty
    total = old_qty * old_cost + in_qty * in_cost
    return (2 * total + total_qty) // (2 * total_qty)


def locked_products(supermarket_id: int, product_ids: list[int]) -> dict[int, Product]:
    """Products row-locked in id order (a fixed order so two kiosks cannot deadlock)."""
    rows = db.session.scalars(
        lock(
            sa.select(Product)
            .where(Product.supermarket_id == supermarket_id, Product.id.in_(product_ids))
            .order_by(Product.id)
        )
    )
    return {p.id: p for p in rows}


def apply_movement(
    product: Product,
    kind: str,
    quantity: int,
    unit_cost_fen: int,
    *,
    actor: User | None,
    redemption_id: int | None = None,
    reverses_id: int | None = None,
    supplier: str = "",
    invoice_no: str = "",
    note: str = "",
    reason: str = "",
    ref_type: str = "",
    ref_id: int | None = None,
) -> StockMovement:
    """Append a stock movement and move the product's stock snapshot (caller holds the lock)."""
    product.stock_qty += quantity
    movement = StockMovement(
        product_id=product.id,
        kind=kind,
        quantity=quantity,
        unit_cost_fen=unit_cost_fen,
        quantity_after=product.stock_qty,
        redemption_id=redemption_id,
        reverses_id=reverses_id,
        supplier=supplier,
        invoice_no=invoice_no,
        note=note,
        reason=reason,
        ref_type=ref_type,
        ref_id=ref_id,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(movement)
    return movement


def receive_line(
    product: Product,
    policy: Policy,
    quantity: int,
    unit_cost_fen: int,
    *,
    kind: str,
    actor: User | None,
    **refs: Any,
) -> StockMovement:
    """Goods in at a unit cost (a purchase or a donation in kind): the moving-average cost and
    the points price follow, and the movement is appended (caller holds the product's lock)."""
    product.unit_cost_fen = moving_average(
        product.stock_qty, product.unit_cost_fen, quantity, unit_cost_fen
    )
    product.points_price = policy.points_price(product.unit_cost_fen)
    return apply_movement(product, kind, quantity, unit_cost_fen, actor=actor, **refs)


def parse_yuan(text: str) -> int:
    """A yuan amount typed by a person ("12", "12.5", "12.50") as exact integer fen.

    Full-width digits and a trailing 元 are accepted; anything else (a minus sign, three
    decimals, letters) is refused. Never goes through a float.
    """
    import unicodedata

    value = unicodedata.normalize("NFKC", str(text or "")).strip().removesuffix("元").strip()
    value = value.replace("。", ".")
    match = _YUAN_RE.match(value)
    if match is None:
        if _TOO_MANY_YUAN_RE.match(value):
            raise ValidationFailed(_COST_TOO_LARGE)
        raise ValidationFailed(_("进价要写成元，最多两位小数，例如 12.50"))
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    fen = int(whole) * 100 + int(cents)
    if fen > MAX_UNIT_COST_FEN:
        raise ValidationFailed(_COST_TOO_LARGE)
    return fen


def _check_lines(lines: list[StockInLine]) -> None:
    if not lines:
        raise ValidationFailed(_("入库单没有商品"))
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("一张入库单最多%(n)s行", n=MAX_LINES))
    for line in lines:
        if (
            not isinstance(line.quantity, int)
            or isinstance(line.quantity, bool)
            or not 0 < line.quantity <= MAX_QUANTITY
        ):
            if isinstance(line.quantity, int) and line.quantity > MAX_QUANTITY:
                raise ValidationFailed(_("入库数量太大：一次最多%(n)s", n=MAX_QUANTITY))
            raise ValidationFailed(_("入库数量必须是正整数"))
        if (
            not isinstance(line.unit_cost_fen, int)
            or isinstance(line.unit_cost_fen, bool)
            or not 0 <= line.unit_cost_fen <= MAX_UNIT_COST_FEN
        ):
            raise ValidationFailed(
                _COST_TOO_LARGE
                if isinstance(line.unit_cost_fen, int) and line.unit_cost_fen > MAX_UNIT_COST_FEN
                else _("进价必须是不小于0的整数（分）")
            )


def _clean(value: str | None, limit: int, label: Message) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationFailed(_("%(label)s最多%(n)s个字", label=label, n=limit))
    return value


def _next_number(supermarket_id: int) -> int:
    """The next stock-in number of this supermarket, gap-free: the supermarket's row is locked
    (after the products, as a redemption locks it after its products) until the commit."""
    db.session.scalar(lock(sa.select(Supermarket.id).where(Supermarket.id == supermarket_id)))
    last = db.session.scalar(
        sa.select(sa.func.max(StockIn.number)).where(StockIn.supermarket_id == supermarket_id)
    )
    return (last or 0) + 1


def create_stock_in(
    supermarket_id: int,
    lines: list[StockInLine],
    *,
    actor: User | None,
    supplier: str = "",
    invoice_no: str = "",
    paid_from: str = "",
    note: str = "",
) -> StockIn:
    """Stock-in (入库) of one purchase as a numbered document.

    Each line adds its quantity at its unit cost; the product's moving-average cost and its
    points price follow. ``paid_from`` is PAID_FROM_FUND (the purchase is paid out of the fund
    pool, refused with FundInsufficient beyond the allowed advance), a named other source
    (村集体, 镇奖励) or "" (not stated). Refused in a closed month.
    """
    _check_lines(lines)
    supplier = _clean(supplier, 100, _("供货方"))
    invoice_no = _clean(invoice_no, 50, _("发票号"))
    paid_from = _clean(paid_from, 50, _("付款来源"))
    if paid_from in ("基金池", "基金"):  # typed as a source name, it is still the pool
        paid_from = PAID_FROM_FUND
    note = _clean(note, 200, _("备注"))
    with write_transaction():
        supermarket = db.session.get(Supermarket, supermarket_id)
        if supermarket is None:
            raise NotFound(_("没有找到该超市"))
        periods.ensure_open(supermarket_id)
        policy = policy_for(supermarket)
        products = locked_products(supermarket_id, sorted({ln.product_id for ln in lines}))
        for line in lines:
            product = products.get(line.product_id)
            if product is None:
                raise NotFound(_("没有找到商品 %(product_id)s", product_id=line.product_id))
            if not product.tracks_stock:
                raise ValidationFailed(_("%(name)s 是服务项目，不需要入库", name=product.name))
        total = sum(ln.quantity * ln.unit_cost_fen for ln in lines)
        document = StockIn(
            supermarket_id=supermarket_id,
            number=_next_number(supermarket_id),
            supplier=supplier,
            invoice_no=invoice_no,
            paid_from=paid_from,
            total_cost_fen=total,
            note=note,
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(document)
        db.session.flush()
        movements = [
            receive_line(
                products[line.product_id],
                policy,
                line.quantity,
                line.unit_cost_fen,
                kind=MOVE_STOCK_IN,
                actor=actor,
                supplier=supplier,
                invoice_no=invoice_no,
                note=note,
                ref_type=REF_STOCK_IN,
                ref_id=document.id,
            )
            for line in lines
        ]
        if paid_from == PAID_FROM_FUND and total > 0:
            entry = fund.post_entry(
                supermarket_id,
                FUND_PURCHASE,
                -total,
                actor=actor,
                ref_type=REF_STOCK_IN,
                ref_id=document.id,
                note=f"入库单{document.display_no} {supplier}".strip(),
            )
            document.fund_entry_id = entry.id
        db.session.flush()
        audit.record(
            "stock_in.create",
            document,
            actor=actor,
            number=document.number,
            supplier=supplier,
            invoice_no=invoice_no,
            paid_from=paid_from,
            total_cost_fen=total,
            lines=[
                {
                    "product_id": m.product_id,
                    "quantity": m.quantity,
                    "unit_cost_fen": m.unit_cost_fen,
                }
                for m in movements
            ],
        )
        for movement in movements:
            audit.record(
                "stock.in",
                movement,
                actor=actor,
                supermarket_id=supermarket_id,
                product_id=movement.product_id,
                quantity=movement.quantity,
                unit_cost_fen=movement.unit_cost_fen,
                supplier=supplier,
                invoice_no=invoice_no,
                stock_in_id=document.id,
            )
    return document


def receive_stock(
    supermarket_id: int,
    lines: list[StockInLine],
    *,
    actor: User | None,
    supplier: str = "",
    invoice_no: str = "",
    note: str = "",
    paid_from: str = "",
) -> list[StockMovement]:
    """Stock-in (入库): add quantities at unit cost, update moving-average cost and points price.

    The movements of a new stock-in document (see :func:`create_stock_in`).
    """
    document = create_stock_in(
        supermarket_id,
        lines,
        actor=actor,
        supplier=supplier,
        invoice_no=invoice_no,
        paid_from=paid_from,
        note=note,
    )
    return stock_in_movements(document.id)


def stock_in_movements(stock_in_id: int) -> list[StockMovement]:
    """A stock-in document's lines, in the order they were entered."""
    return list(
        db.session.scalars(
            sa.select(StockMovement)
            .where(StockMovement.ref_type == REF_STOCK_IN, StockMovement.ref_id == stock_in_id)
            .order_by(StockMovement.id)
        )
    )


def get_stock_in(supermarket_id: int, stock_in_id: int) -> StockIn:
    """A stock-in document of this supermarket."""
    document = db.session.get(StockIn, stock_in_id)
    if document is None or document.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该入库单"))
    return document


def recent_stock_ins(supermarket_id: int, limit: int = 20) -> list[StockIn]:
    """The newest stock-in documents, newest first."""
    return list(
        db.session.scalars(
            sa.select(StockIn)
            .where(StockIn.supermarket_id == supermarket_id)
            .order_by(StockIn.number.desc())
            .limit(limit)
        )
    )


def paid_from_sources(supermarket_id: int) -> list[str]:
    """The named other sources used before (for the form's suggestions), most used first."""
    rows = db.session.execute(
        sa.select(StockIn.paid_from, sa.func.count(StockIn.id))
        .where(
            StockIn.supermarket_id == supermarket_id,
            StockIn.paid_from != "",
            StockIn.paid_from != PAID_FROM_FUND,
        )
        .group_by(StockIn.paid_from)
        .order_by(sa.func.count(StockIn.id).desc(), StockIn.paid_from)
    )
    return [name for name, _count in rows]


def new_product_for_stock_in(
    supermarket_id: int,
    *,
    name: str,
    unit: str = "件",
    category: str | None = None,
    barcode: str | None = None,
    actor: User | None,
) -> Product:
    """Add goods met for the first time at stock-in: the SKU is the barcode, or made up.

    The cost and points price come with its first stock-in.
    """
    name = _clean(name, 100, _("商品名称"))
    unit = _clean(unit, 16, _("单位")) or "件"
    category = _clean(category, 50, _("分类")) or None
    barcode = _clean(barcode, 32, _("条码")) or None
    if not name:
        raise ValidationFailed(_("请填写商品名称"))
    if barcode is not None:
        sku = barcode
    else:
        last = db.session.scalar(
            sa.select(sa.func.max(Product.id)).where(Product.supermarket_id == supermarket_id)
        )
        sku = f"SP{(last or 0) + 1:06d}"
    try:
        return create_product(
            supermarket_id,
            sku=sku,
            name=name,
            unit=unit,
            category=category,
            barcode=barcode,
            kind=KIND_GOODS,
            actor=actor,
        )
    except DuplicateValue:
        if barcode is not None:
            raise DuplicateValue(_("条码 %(barcode)s 已经登记过商品", barcode=barcode)) from None
        raise


def print_count(stock_in_id: int) -> int:
    """How many times a stock-in's slip was sent to print (from the audit log)."""
    from kiosk.models import AuditEvent

    return (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "stock_in.print",
                AuditEvent.subject_type == "StockIn",
                AuditEvent.subject_id == stock_in_id,
            )
        )
        or 0
    )


def check_stock_ins() -> list[Any]:
    """``jifen check``: every stock-in document equals its lines, and one paid from the fund
    pool has its purchase entry for exactly its total; every approved write-off has its
    movement of exactly its quantity."""
    from inventory.models import ADJ_APPROVED, MOVE_ADJUSTMENT, FundEntry, StockAdjustment

    problems: list[Problem] = []
    sums = (
        sa.select(
            StockMovement.ref_id.label("doc_id"),
            sa.func.sum(StockMovement.quantity * StockMovement.unit_cost_fen).label("total"),
            sa.func.count(StockMovement.id).label("n"),
        )
        .where(StockMovement.ref_type == REF_STOCK_IN, StockMovement.kind == MOVE_STOCK_IN)
        .group_by(StockMovement.ref_id)
        .subquery()
    )
    # Only the documents with something wrong come back (the loop below says what): a
    # county has a quarter of a million documents, which the database filters.
    fund_paid = sa.and_(StockIn.paid_from == PAID_FROM_FUND, StockIn.total_cost_fen > 0)
    wrong = sa.or_(
        sums.c.n.is_(None),
        sums.c.total != StockIn.total_cost_fen,
        sa.and_(
            fund_paid,
            sa.or_(
                FundEntry.id.is_(None),
                FundEntry.amount_fen != -StockIn.total_cost_fen,
                FundEntry.ref_type.is_(None),
                FundEntry.ref_type != REF_STOCK_IN,
                FundEntry.ref_id.is_(None),
                FundEntry.ref_id != StockIn.id,
            ),
        ),
        sa.and_(sa.not_(fund_paid), FundEntry.id.is_not(None)),
    )
    rows = db.session.execute(
        sa.select(StockIn, sums.c.total, sums.c.n, FundEntry)
        .outerjoin(sums, sums.c.doc_id == StockIn.id)
        .outerjoin(FundEntry, FundEntry.id == StockIn.fund_entry_id)
        .where(wrong)
        .order_by(StockIn.id)
    )
    for document, total, count, entry in rows:
        subject = f"stock_in {document.display_no} (supermarket {document.supermarket_id})"
        if not count:
            problems.append(Problem("stock_ins", subject, "document has no lines"))
        elif total != document.total_cost_fen:
            problems.append(
                Problem("stock_ins", subject, f"total {document.total_cost_fen} != lines {total}")
            )
        if document.paid_from == PAID_FROM_FUND and document.total_cost_fen > 0:
            if entry is None:
                problems.append(Problem("stock_ins", subject, "paid from the fund, no fund entry"))
            elif (entry.amount_fen, entry.ref_type, entry.ref_id) != (
                -document.total_cost_fen,
                REF_STOCK_IN,
                document.id,
            ):
                problems.append(
                    Problem("stock_ins", subject, f"fund entry {entry.id} does not match")
                )
        elif entry is not None:
            problems.append(Problem("stock_ins", subject, "fund entry for a non-fund purchase"))
    approved = db.session.execute(
        sa.select(StockAdjustment, StockMovement)
        .outerjoin(StockMovement, StockMovement.id == StockAdjustment.movement_id)
        .where(StockAdjustment.status == ADJ_APPROVED)
    )
    for adjustment, movement in approved:
        subject = f"adjustment {adjustment.id}"
        if movement is None:
            problems.append(Problem("adjustments", subject, "approved without a movement"))
        elif (movement.kind, movement.quantity, movement.product_id, movement.ref_id) != (
            MOVE_ADJUSTMENT,
            -adjustment.quantity,
            adjustment.product_id,
            adjustment.id,
        ):
            problems.append(Problem("adjustments", subject, "movement does not match"))
    return problems


def seed_demo_stock(supermarket: Supermarket, users: dict[str, User], rng: Any) -> None:
    """Demo stock-in documents and write-offs for ``jifen demo``: a purchase paid from the fund
    pool when it can pay (else by the village collective), one paid by a town reward, one
    write-off approved and one waiting for the admin. Needs goods in the catalogue."""
    from inventory import adjustments

    keeper, admin = users.get("keeper"), users.get("admin")
    goods = [
        p
        for p in db.session.scalars(
            sa.select(Product)
            .where(Product.supermarket_id == supermarket.id, Product.kind == KIND_GOODS)
            .order_by(Product.id)
        )
    ]
    if not goods or keeper is None:
        return
    picked = rng.sample(goods, min(3, len(goods)))
    lines = [
        StockInLine(p.id, rng.choice([5, 10, 20]), max(p.unit_cost_fen, 100) + rng.choice([0, 50]))
        for p in picked
    ]
    total = sum(ln.quantity * ln.unit_cost_fen for ln in lines)
    can_pay = fund.balance_fen(supermarket.id) + supermarket.fund_advance_limit_fen >= total
    create_stock_in(
        supermarket.id,
        lines,
        actor=keeper,
        supplier="县供销社",
        invoice_no=f"FP{rng.randint(100000, 999999)}",
        paid_from=PAID_FROM_FUND if can_pay else f"{supermarket.village or '本村'}村集体",
        note="月度补货",
    )
    create_stock_in(
        supermarket.id,
        [StockInLine(goods[0].id, 10, max(goods[0].unit_cost_fen, 100))],
        actor=keeper,
        supplier="镇超市",
        paid_from="镇奖励",
    )
    stocked = [p for p in goods if p.stock_qty >= 2]
    if len(stocked) >= 1 and admin is not None:
        damaged = adjustments.request_adjustment(
            supermarket.id, stocked[0].id, 1, "damage", note="搬运时包装破损", actor=keeper
        )
        adjustments.approve_adjustment(supermarket.id, damaged.id, actor=admin, note="已核实")
    if len(stocked) >= 2:
        adjustments.request_adjustment(
            supermarket.id, stocked[-1].id, 1, "expiry", note="已过保质期", actor=keeper
        )
