"""Stock movements: stock-in at cost (moving average), redemption out, void back in.

Every change of ``Product.stock_qty`` goes through :func:`apply_movement`, in the same
transaction as the movement row it reflects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from inventory.models import MOVE_STOCK_IN, Product, StockMovement
from inventory.products import policy_for
from kiosk import audit
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.models import Supermarket, User
from kiosk.rules import Policy

MAX_QUANTITY = 100_000


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


def receive_stock(
    supermarket_id: int,
    lines: list[StockInLine],
    *,
    actor: User | None,
    supplier: str = "",
    invoice_no: str = "",
    note: str = "",
) -> list[StockMovement]:
    """Stock-in (入库): add quantities at unit cost, update moving-average cost and points price."""
    if not lines:
        raise ValidationFailed("入库单没有商品")
    for line in lines:
        if not isinstance(line.quantity, int) or not 0 < line.quantity <= MAX_QUANTITY:
            raise ValidationFailed("入库数量必须是正整数")
        if not isinstance(line.unit_cost_fen, int) or line.unit_cost_fen < 0:
            raise ValidationFailed("进价必须是不小于0的整数（分）")
    with write_transaction():
        supermarket = db.session.get(Supermarket, supermarket_id)
        if supermarket is None:
            raise NotFound("没有找到该超市")
        policy = policy_for(supermarket)
        products = locked_products(supermarket_id, sorted({ln.product_id for ln in lines}))
        movements = []
        for line in lines:
            product = products.get(line.product_id)
            if product is None:
                raise NotFound(f"没有找到商品 {line.product_id}")
            if not product.tracks_stock:
                raise ValidationFailed(f"{product.name} 是服务项目，不需要入库")
            movements.append(
                receive_line(
                    product,
                    policy,
                    line.quantity,
                    line.unit_cost_fen,
                    kind=MOVE_STOCK_IN,
                    actor=actor,
                    supplier=supplier,
                    invoice_no=invoice_no,
                    note=note,
                )
            )
        db.session.flush()
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
            )
    return movements
