"""Write-offs (报损): goods damaged, expired or lost leave the shelf only with an admin's approval.

A keeper or an admin asks (:func:`request_adjustment`); another admin decides. An admin may not
approve their own request (four eyes on every write-off), but may withdraw it by rejecting it.
Approval locks the product, posts a MOVE_ADJUSTMENT movement (``ref_type="adjustment"``) at the
product's current moving-average cost and lowers the stock; a rejection posts nothing. Every
step is refused in a closed month.
"""

from __future__ import annotations

import sqlalchemy as sa

from inventory import periods
from inventory.models import (
    ADJ_APPROVED,
    ADJ_PENDING,
    ADJ_REJECTED,
    ADJUST_DAMAGE,
    ADJUST_EXPIRY,
    ADJUST_LOSS,
    ADJUST_REASONS,
    MOVE_ADJUSTMENT,
    Product,
    StockAdjustment,
)
from inventory.stock import MAX_QUANTITY, apply_movement, locked_products
from kiosk import audit, permissions
from kiosk.database import lock, write_transaction
from kiosk.errors import (
    AdjustmentAlreadyDecided,
    NotFound,
    OutOfStock,
    PermissionDenied,
    ValidationFailed,
)
from kiosk.extensions import db
from kiosk.messages import N_, Message, _, pgettext
from kiosk.models import User
from kiosk.timeutil import utcnow

REF_ADJUSTMENT = "adjustment"

# The reasons in Chinese, as the forms, the ledger and the audit log show them (the pages
# translate them as they show them).
REASON_LABELS = {ADJUST_DAMAGE: N_("损坏"), ADJUST_EXPIRY: N_("过期"), ADJUST_LOSS: N_("丢失")}
STATUS_LABELS: dict[str, str] = {
    ADJ_PENDING: N_("待审批"),
    ADJ_APPROVED: N_("已批准"),
    ADJ_REJECTED: N_("已驳回"),
}
# A decided request's status inside a sentence ("该报损申请已批准": "... is already approved").
_DECIDED_IN_SENTENCE: dict[str, Message] = {
    ADJ_APPROVED: pgettext("status, in a sentence", "已批准"),
    ADJ_REJECTED: pgettext("status, in a sentence", "已驳回"),
}


def _note(value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > 200:
        raise ValidationFailed(_("说明最多200个字"))
    return value


def request_adjustment(
    supermarket_id: int,
    product_id: int,
    quantity: int,
    reason: str,
    *,
    note: str = "",
    actor: User,
) -> StockAdjustment:
    """Ask for goods to be written off; nothing leaves the shelf until an admin approves."""
    if not permissions.allows(actor, "writeoff.request"):
        raise PermissionDenied(_("只有超市管理员和村管理员可以申请报损"))
    if reason not in ADJUST_REASONS:
        raise ValidationFailed(_("请选择报损原因：损坏、过期或丢失"))
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 < quantity <= MAX_QUANTITY
    ):
        if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0:
            raise ValidationFailed(_("报损数量太大：一次最多%(n)s", n=MAX_QUANTITY))
        raise ValidationFailed(_("报损数量必须是正整数"))
    note = _note(note)
    if not note:
        raise ValidationFailed(_("请写明报损说明（例如：包装破损、2026年10月到期）"))
    with write_transaction():
        periods.ensure_open(supermarket_id)
        product = db.session.get(Product, product_id)
        if product is None or product.supermarket_id != supermarket_id:
            raise NotFound(_("没有找到该商品"))
        if not product.tracks_stock:
            raise ValidationFailed(_("%(name)s 是服务项目，没有库存可报损", name=product.name))
        if quantity > product.stock_qty:
            raise OutOfStock(
                _(
                    "%(name)s 库存只有%(stock_qty)s%(unit)s",
                    name=product.name,
                    stock_qty=product.stock_qty,
                    unit=product.unit,
                )
            )
        adjustment = StockAdjustment(
            supermarket_id=supermarket_id,
            product_id=product.id,
            quantity=quantity,
            reason=reason,
            note=note,
            status=ADJ_PENDING,
            requested_by_id=actor.id,
        )
        db.session.add(adjustment)
        db.session.flush()
        audit.record(
            "adjustment.request",
            adjustment,
            actor=actor,
            product_id=product.id,
            quantity=quantity,
            reason=reason,
            note=note,
        )
    return adjustment


def _locked_pending(supermarket_id: int, adjustment_id: int) -> StockAdjustment:
    adjustment = db.session.scalar(
        lock(sa.select(StockAdjustment).where(StockAdjustment.id == adjustment_id))
    )
    if adjustment is None or adjustment.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该报损申请"))
    if adjustment.status != ADJ_PENDING:
        raise AdjustmentAlreadyDecided(
            _(
                "该报损申请%(status)s",
                status=_DECIDED_IN_SENTENCE.get(adjustment.status, adjustment.status),
            )
        )
    return adjustment


def approve_adjustment(
    supermarket_id: int, adjustment_id: int, *, actor: User, note: str = ""
) -> StockAdjustment:
    """Approve a write-off: the goods leave the stock ledger at their current average cost."""
    if not permissions.allows(actor, "writeoff.decide"):
        raise PermissionDenied(_("只有村管理员可以审批报损"))
    note = _note(note)
    with write_transaction():
        periods.ensure_open(supermarket_id)
        # The product first, then the request: the same order as every other stock write.
        product_id = db.session.scalar(
            sa.select(StockAdjustment.product_id).where(StockAdjustment.id == adjustment_id)
        )
        if product_id is None:
            raise NotFound(_("没有找到该报损申请"))
        product = locked_products(supermarket_id, [product_id]).get(product_id)
        adjustment = _locked_pending(supermarket_id, adjustment_id)
        if adjustment.requested_by_id == actor.id:
            raise PermissionDenied(_("不能审批自己提交的报损申请，请由另一位管理员审批"))
        if product is None:
            raise NotFound(_("没有找到该商品"))
        if adjustment.quantity > product.stock_qty:
            raise OutOfStock(
                _(
                    "%(name)s 现在库存只有%(stock_qty)s%(unit)s，不够报损%(quantity)s%(unit)s",
                    name=product.name,
                    stock_qty=product.stock_qty,
                    unit=product.unit,
                    quantity=adjustment.quantity,
                )
            )
        movement = apply_movement(
            product,
            MOVE_ADJUSTMENT,
            -adjustment.quantity,
            product.unit_cost_fen,
            actor=actor,
            reason=adjustment.reason,
            note=adjustment.note,
            ref_type=REF_ADJUSTMENT,
            ref_id=adjustment.id,
        )
        db.session.flush()
        adjustment.status = ADJ_APPROVED
        adjustment.decided_by_id = actor.id
        adjustment.decided_at = utcnow()
        adjustment.decision_note = note
        adjustment.movement_id = movement.id
        audit.record(
            "adjustment.approve",
            adjustment,
            actor=actor,
            product_id=product.id,
            quantity=adjustment.quantity,
            reason=adjustment.reason,
            movement_id=movement.id,
            unit_cost_fen=movement.unit_cost_fen,
        )
    return adjustment


def reject_adjustment(
    supermarket_id: int, adjustment_id: int, *, actor: User, note: str = ""
) -> StockAdjustment:
    """Turn a write-off down (or withdraw one's own request); nothing is posted."""
    if not permissions.allows(actor, "writeoff.decide"):
        raise PermissionDenied(_("只有村管理员可以审批报损"))
    note = _note(note)
    with write_transaction():
        periods.ensure_open(supermarket_id)
        adjustment = _locked_pending(supermarket_id, adjustment_id)
        adjustment.status = ADJ_REJECTED
        adjustment.decided_by_id = actor.id
        adjustment.decided_at = utcnow()
        adjustment.decision_note = note
        audit.record("adjustment.reject", adjustment, actor=actor, note=note)
    return adjustment


def adjustments(
    supermarket_id: int, *, status: str | None = None, limit: int = 100
) -> list[StockAdjustment]:
    """Write-off requests, pending first (oldest first), then decided ones newest first."""
    stmt = sa.select(StockAdjustment).where(StockAdjustment.supermarket_id == supermarket_id)
    if status is not None:
        stmt = stmt.where(StockAdjustment.status == status)
    stmt = stmt.order_by(
        sa.case((StockAdjustment.status == ADJ_PENDING, 0), else_=1),
        sa.case(
            (StockAdjustment.status == ADJ_PENDING, StockAdjustment.id), else_=-StockAdjustment.id
        ),
    ).limit(limit)
    return list(db.session.scalars(stmt))


def pending_count(supermarket_id: int) -> int:
    """How many write-off requests wait for an admin's approval (the office home's to-do)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count(StockAdjustment.id)).where(
                StockAdjustment.supermarket_id == supermarket_id,
                StockAdjustment.status == ADJ_PENDING,
            )
        )
        or 0
    )
