"""Products and the append-only stock ledger (物品入库台账 and its movements)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.extensions import db
from kiosk.timeutil import utcnow

KIND_GOODS = "goods"
KIND_SERVICE = "service"

# Stock movement kinds
MOVE_STOCK_IN = "stock_in"
MOVE_REDEMPTION = "redemption"
MOVE_VOID_RETURN = "void_return"
MOVE_ADJUSTMENT = "adjustment"
MOVEMENT_KINDS = (MOVE_STOCK_IN, MOVE_REDEMPTION, MOVE_VOID_RETURN, MOVE_ADJUSTMENT)


class Category(db.Model):
    """A shelf category shown as a tab of tiles at the counter (粮油, 日用品, ...)."""

    __tablename__ = "categories"
    __table_args__ = (sa.UniqueConstraint("supermarket_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    sort_order: Mapped[int] = mapped_column(default=0)


class Product(db.Model):
    """Goods or a service redeemable for points at cost price.

    ``unit_cost_fen`` is the moving average over stock-ins; ``points_price`` follows it under
    the supermarket's points-per-yuan, rounded up to a whole point.
    """

    __tablename__ = "products"
    __table_args__ = (
        sa.UniqueConstraint("supermarket_id", "sku"),
        sa.UniqueConstraint("supermarket_id", "barcode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(sa.ForeignKey("supermarkets.id"), index=True)
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


class StockMovement(db.Model):
    """One append-only line of the stock ledger. ``quantity`` is signed."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    quantity: Mapped[int]
    unit_cost_fen: Mapped[int]
    quantity_after: Mapped[int]
    redemption_id: Mapped[int | None] = mapped_column(sa.ForeignKey("redemptions.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_movements.id"))
    supplier: Mapped[str] = mapped_column(sa.String(100), default="")
    invoice_no: Mapped[str] = mapped_column(sa.String(50), default="")
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    product: Mapped[Product] = relationship()
