"""The stock books over the API: the stock-in and redemption ledgers (物品入库台账, 物品兑换领取
台账) and write-offs (报损), through the same services as the office's pages (kiosk/web/stock.py)
and with the same roles (:mod:`kiosk.permissions`): keepers, admins and supervisors read;
keepers and admins ask for write-offs; admins decide them (never their own request: four eyes).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import Response
from pydantic import Field

from inventory import adjustments, books, ledgers
from inventory.models import ADJ_STATES, ADJUST_REASONS, StockAdjustment
from inventory.stock import MAX_QUANTITY
from kiosk import parsing
from kiosk.api import access, contract, listing, outputs
from kiosk.authn import current_supermarket

# The stock-in and redemption ledgers (物品入库台账, 物品兑换领取台账) ---------------------------


class LedgerDateQuery(listing.DateQuery):
    product_id: Annotated[int, contract.QueryWhole(1, parsing.DB_INT_MAX)] | None = None


class LedgerQuery(LedgerDateQuery, listing.PageQuery):
    pass


def _filters(query: LedgerDateQuery) -> ledgers.Filters:
    first, last = ledgers.this_month()
    start, end = listing.date_range(query, first, last)
    return ledgers.Filters(start, end, product_id=query.product_id)


class StockInRowOut(contract.Answer):
    at: contract.LocalTime
    kind: Literal["stock_in", "donation_in"]
    document_no: str = Field(description="入库单号（RK000001），捐赠入库为捐赠收据号")
    stock_in_id: int | None
    product_name: str
    unit: str
    quantity: int
    unit_cost_fen: int
    amount_fen: int
    source: str = Field(description="供货方，或“捐赠：捐赠方”")
    invoice_no: str
    paid_from: str
    keeper: str


class StockInLedger(listing.Paged):
    start: date
    end: date
    quantity: int = Field(description="范围内入库数量合计")
    amount_fen: int = Field(description="范围内入库金额合计")
    rows: list[StockInRowOut]


@contract.route(
    "GET",
    "/ledgers/stock-in",
    summary="物品入库台账",
    tag="books",
    action="stock.read",
    query=LedgerQuery,
    ok=(200, StockInLedger, "范围内的入库（采购和捐赠物品），最早的在前，及合计"),
    description="与办公室的入库台账及其表格相同；默认本月" + listing.RANGE_TEXT,
)
def stock_in_ledger(query: LedgerQuery):
    """Goods in (purchases and donations in kind) in the range, oldest first, as the office's
    ledger and its XLSX list them; the totals of the whole range."""
    filters = _filters(query)
    rows = ledgers.stock_in_rows(current_supermarket().id, filters)
    shown = books.page_of(rows, listing.offset(query), query.per_page)
    return {
        "start": filters.date_from,
        "end": filters.date_to,
        "quantity": sum(r.quantity for r in rows),
        "amount_fen": sum(r.amount_fen for r in rows),
        **listing.paged(query, shown.total),
        "rows": [
            {
                "at": listing.local_iso(r.when),
                "kind": r.kind,
                "document_no": r.document_no,
                "stock_in_id": r.stock_in_id,
                "product_name": r.product_name,
                "unit": r.unit,
                "quantity": r.quantity,
                "unit_cost_fen": r.unit_cost_fen,
                "amount_fen": r.amount_fen,
                "source": r.source,
                "invoice_no": r.invoice_no,
                "paid_from": r.paid_from,
                "keeper": r.keeper,
            }
            for r in shown.rows
        ],
    }


class RedemptionRowOut(contract.Answer):
    at: contract.LocalTime
    receipt_no: str
    redemption_id: int
    household_no: str
    masked_name: str
    product_name: str
    unit: str
    quantity: int = Field(description="作废冲回的行为负数")
    points: int = Field(description="作废冲回的行为负数")
    keeper: str
    voided: bool
    reversal: bool = Field(description="作废冲回行（记在作废当天）")
    void_reason: str | None


class RedemptionLedger(listing.Paged):
    start: date
    end: date
    quantity: int
    points: int = Field(description="范围内兑换积分净额（已减去作废冲回）")
    rows: list[RedemptionRowOut]


@contract.route(
    "GET",
    "/ledgers/redemptions",
    summary="物品兑换领取台账",
    tag="books",
    action="stock.read",
    query=LedgerQuery,
    ok=(200, RedemptionLedger, "范围内的兑换行，最早的在前；作废记为当天的冲回行"),
    description="与办公室的兑换领取台账及其表格相同（姓名脱敏）；默认本月" + listing.RANGE_TEXT,
)
def redemption_ledger(query: LedgerQuery):
    """Goods handed out in the range, oldest first; a void shows as a reversal row (negative)
    on its own day, as in the office's ledger. Names masked."""
    filters = _filters(query)
    rows = ledgers.redemption_rows(current_supermarket().id, filters)
    shown = books.page_of(rows, listing.offset(query), query.per_page)
    return {
        "start": filters.date_from,
        "end": filters.date_to,
        "quantity": sum(r.quantity for r in rows),
        "points": sum(r.points for r in rows),
        **listing.paged(query, shown.total),
        "rows": [
            {
                "at": listing.local_iso(r.when),
                "receipt_no": r.receipt_no,
                "redemption_id": r.redemption_id,
                "household_no": r.household_no,
                "masked_name": r.masked_name,
                "product_name": r.product_name,
                "unit": r.unit,
                "quantity": r.quantity,
                "points": r.points,
                "keeper": r.keeper,
                "voided": bool(r.status),
                "reversal": r.reversal,
                "void_reason": r.void_reason or None,
            }
            for r in shown.rows
        ],
    }


def _ledger_xlsx_route(path: str, kind: str, title: str):
    def view(query: LedgerDateQuery) -> Response:
        return listing.xlsx(*ledgers.ledger_xlsx(kind, current_supermarket(), _filters(query)))

    view.__name__ = f"{kind}_ledger_xlsx"
    view.__doc__ = f"The {kind} ledger as the office exports it (its XLSX)."
    return contract.route(
        "GET",
        path,
        summary=f"{title}（XLSX，与办公室导出的相同）",
        tag="books",
        action="stock.read",
        query=LedgerDateQuery,
        ok=(200, None, f"{title}表格"),
        description="默认本月" + listing.RANGE_TEXT,
        openapi=listing.XLSX_ANSWER,
    )(view)


_ledger_xlsx_route("/ledgers/stock-in.xlsx", "stock_in", "物品入库台账")
_ledger_xlsx_route("/ledgers/redemptions.xlsx", "redemption", "物品兑换领取台账")


# Write-offs (报损) -----------------------------------------------------------------------------


class ProductBrief(contract.Answer):
    id: int
    sku: str
    name: str
    unit: str


class WriteOffOut(contract.Answer):
    id: int
    product: ProductBrief
    quantity: int
    reason: Literal["damage", "expiry", "loss"]
    note: str
    status: Literal["pending", "approved", "rejected"]
    requested_by: str
    requested_at: contract.LocalTime
    decided_by: str | None
    decided_at: contract.LocalTime
    decision_note: str | None
    movement_id: int | None = Field(description="批准后记入库存台账的那一行")


class WriteOffResult(contract.Answer):
    write_off: WriteOffOut


class WriteOffList(listing.Paged):
    write_offs: list[WriteOffOut]


def _write_off(row: StockAdjustment, names: dict[int, str]) -> dict[str, Any]:
    product = row.product
    return {
        "id": row.id,
        "product": {
            "id": product.id,
            "sku": product.sku,
            "name": product.name,
            "unit": product.unit,
        },
        "quantity": row.quantity,
        "reason": row.reason,
        "note": row.note,
        "status": row.status,
        "requested_by": names.get(row.requested_by_id or 0, ""),
        "requested_at": outputs.iso_local(row.requested_at),
        "decided_by": names.get(row.decided_by_id) if row.decided_by_id else None,
        "decided_at": outputs.iso_local(row.decided_at),
        "decision_note": row.decision_note or None,
        "movement_id": row.movement_id,
    }


def _write_offs(rows: list[StockAdjustment]) -> list[dict[str, Any]]:
    names = books.display_names(uid for r in rows for uid in (r.requested_by_id, r.decided_by_id))
    return [_write_off(r, names) for r in rows]


class WriteOffQuery(listing.PageQuery):
    status: Annotated[str, contract.Choice(*ADJ_STATES)] | None = None


@contract.route(
    "GET",
    "/write-offs",
    summary="报损申请",
    tag="books",
    action="stock.read",
    query=WriteOffQuery,
    ok=(200, WriteOffList, "待审批的在前（最早的在前），已处理的按最新在前"),
    description="`status` 只列出一种状态（pending、approved、rejected）。",
)
def list_write_offs(query: WriteOffQuery):
    """Write-off requests: pending first (oldest first), then decided ones newest first."""
    found = books.adjustment_page(
        current_supermarket().id,
        status=query.status,
        offset=listing.offset(query),
        limit=query.per_page,
    )
    return {**listing.paged(query, found.total), "write_offs": _write_offs(found.rows)}


class WriteOffRequest(contract.Body):
    product_id: contract.ID
    quantity: Annotated[int, contract.Whole(1, MAX_QUANTITY)]
    reason: Annotated[str, contract.Choice(*ADJUST_REASONS)] = Field(
        description="damage 损坏，expiry 过期，loss 丢失"
    )
    note: Annotated[str, contract.Text(200, multiline=True)] = Field(description="报损说明")


@contract.route(
    "POST",
    "/write-offs",
    summary="申请报损（村管理员批准后才出库）",
    tag="books",
    action="writeoff.request",
    body=WriteOffRequest,
    ok=(201, WriteOffResult, "待审批的报损申请"),
    errors=("not_found", "out_of_stock", "month_closed"),
)
def request_write_off(body: WriteOffRequest):
    """Ask for goods to be written off; nothing leaves the shelf until an admin approves."""
    row = adjustments.request_adjustment(
        current_supermarket().id,
        body.product_id,
        body.quantity,
        body.reason,
        note=body.note,
        actor=access.me(),
    )
    return {"write_off": _write_offs([row])[0]}


class DecisionRequest(contract.Body):
    note: Annotated[str, contract.Text(200, required=False, multiline=True)] = ""


@contract.route(
    "POST",
    "/write-offs/<int:adjustment_id>/approve",
    summary="批准报损（按当前平均成本出库）",
    tag="books",
    action="writeoff.decide",
    body=DecisionRequest,
    body_required=False,
    ok=(200, WriteOffResult, "已批准，库存已减少"),
    errors=("not_found", "adjustment_decided", "out_of_stock", "month_closed"),
    description="不能批准自己提交的申请（403 forbidden），须由另一位村管理员批准。",
)
def approve_write_off(adjustment_id: int, body: DecisionRequest):
    """Approve a write-off (another admin than the one who asked)."""
    sm = current_supermarket()
    books.get_adjustment(sm.id, adjustment_id)
    row = adjustments.approve_adjustment(sm.id, adjustment_id, actor=access.me(), note=body.note)
    return {"write_off": _write_offs([row])[0]}


@contract.route(
    "POST",
    "/write-offs/<int:adjustment_id>/reject",
    summary="驳回报损（或撤回自己的申请）",
    tag="books",
    action="writeoff.decide",
    body=DecisionRequest,
    body_required=False,
    ok=(200, WriteOffResult, "已驳回，库存不变"),
    errors=("not_found", "adjustment_decided", "month_closed"),
)
def reject_write_off(adjustment_id: int, body: DecisionRequest):
    """Turn a write-off down (or withdraw one's own request); nothing is posted."""
    sm = current_supermarket()
    books.get_adjustment(sm.id, adjustment_id)
    row = adjustments.reject_adjustment(sm.id, adjustment_id, actor=access.me(), note=body.note)
    return {"write_off": _write_offs([row])[0]}
