"""Stocktakes (盘点) over the API: the counts and their variance reports, and the steps the
office's pages offer (kiosk/web/stocktake.py), through the same service (inventory.stocktake)
and with the same roles (:mod:`kiosk.permissions`).

A count goes counting → submitted → approved → posted, or is cancelled while counting:
keepers and admins start it, count lines (by line id or barcode, each count carrying a key that
makes a retry safe) and submit it; an admin sends it back for a recount, cancels it or approves
it (the variances are posted as count movements); a supervisor signs it off (监督小组签字), the
second signature. Supervisors read everything and write only their signature.

Keepers count blind: while a count is counting they see no book quantities, expected
quantities, variances or values (``null``), exactly as on the office's report page.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask_babel import gettext
from pydantic import Field

from inventory import books
from inventory import stocktake as service
from inventory.models import (
    COUNT_COUNTING,
    COUNT_EVENT_ADD,
    COUNT_EVENT_CLEAR,
    COUNT_EVENT_KINDS,
    COUNT_STATES,
    Stocktake,
)
from inventory.stock import MAX_QUANTITY
from kiosk.api import access, contract, outputs, proposals
from kiosk.api.listing import XLSX_ANSWER, Paged, PageQuery, offset, paged, xlsx
from kiosk.authn import current_supermarket
from kiosk.errors import PermissionDenied
from kiosk.models import ROLE_KEEPER
from kiosk.reports import stocktake as stocktake_reports

MAX_SCOPE_IDS = 500
STATUS = Literal["counting", "submitted", "approved", "posted", "cancelled"]


class StocktakeSummary(contract.Answer):
    id: int
    status: STATUS
    scope: str = Field(description="盘点范围（全部商品、分类名或部分商品）")
    note: str
    lines: int
    counted: int = Field(description="已清点的行数")
    started_at: contract.LocalTime
    started_by: str
    submitted_at: contract.LocalTime
    submitted_by: str | None
    approved_at: contract.LocalTime
    approved_by: str | None
    posted_at: contract.LocalTime
    posted_by: str | None
    cancelled_at: contract.LocalTime
    cancelled_by: str | None


class StocktakeList(Paged):
    stocktakes: list[StocktakeSummary]


class ReportRowOut(contract.Answer):
    line_id: int
    product_id: int
    sku: str
    name: str
    unit: str
    category: str
    counted_qty: int | None = Field(description="实盘数量，未清点为空")
    book_qty: int | None = Field(description="账面数量（超市管理员清点期间为空）")
    moved_before_count: int | None = Field(description="开始后到清点时的进出")
    expected_qty: int | None
    variance: int | None
    unit_cost_fen: int | None
    value_fen: int | None


class StocktakeReport(contract.Answer):
    stocktake: StocktakeSummary
    blind: bool = Field(description="清点期间对超市管理员隐藏账面数")
    gain_qty: int | None
    loss_qty: int | None
    gain_fen: int | None
    loss_fen: int | None
    net_fen: int | None
    rows: list[ReportRowOut]


def _summaries(rows: list[Stocktake]) -> list[dict[str, Any]]:
    progress = service.progress([st.id for st in rows])
    steps = ("started", "submitted", "approved", "posted", "cancelled")
    names = books.display_names(getattr(st, f"{step}_by_id") for st in rows for step in steps)
    out = []
    for st in rows:
        counted, total = progress[st.id]
        item: dict[str, Any] = {
            "id": st.id,
            "status": st.status,
            "scope": st.scope,
            "note": st.note,
            "lines": total,
            "counted": counted,
        }
        for step in steps:
            by = getattr(st, f"{step}_by_id")
            item[f"{step}_at"] = outputs.iso_local(getattr(st, f"{step}_at"))
            item[f"{step}_by"] = names.get(by, "") if by else None
        item["started_by"] = item["started_by"] or ""
        out.append(item)
    return out


def _blind(st: Stocktake) -> bool:
    """Keepers count blind: no book quantities while the count is counting."""
    return st.status == COUNT_COUNTING and access.me().role == ROLE_KEEPER


def _report(stocktake_id: int) -> dict[str, Any]:
    rep = service.report(stocktake_id, current_supermarket().id)
    blind = _blind(rep.stocktake)

    def shown(value: int | None) -> int | None:
        return None if blind else value

    return {
        "stocktake": _summaries([rep.stocktake])[0],
        "blind": blind,
        "gain_qty": shown(rep.gain_qty),
        "loss_qty": shown(rep.loss_qty),
        "gain_fen": shown(rep.gain_fen),
        "loss_fen": shown(rep.loss_fen),
        "net_fen": shown(rep.net_fen),
        "rows": [
            {
                "line_id": r.line_id,
                "product_id": r.product_id,
                "sku": r.sku,
                "name": r.name,
                "unit": r.unit,
                "category": r.category,
                "counted_qty": r.counted_qty,
                "book_qty": shown(r.book_qty),
                "moved_before_count": shown(r.moved_before_count),
                "expected_qty": shown(r.expected_qty),
                "variance": shown(r.variance),
                "unit_cost_fen": shown(r.unit_cost_fen),
                "value_fen": shown(r.value_fen),
            }
            for r in rep.rows
        ],
    }


class StocktakeQuery(PageQuery):
    status: Annotated[str, contract.Choice(*COUNT_STATES)] | None = None


@contract.route(
    "GET",
    "/stocktakes",
    summary="盘点列表",
    tag="stocktake",
    action="stocktake.read",
    query=StocktakeQuery,
    ok=(200, StocktakeList, "本超市的盘点，最新的在前，含进度"),
    description="`status` 只列出一种状态。",
)
def list_stocktakes(query: StocktakeQuery):
    """The supermarket's counts, newest first, with their progress."""
    found = books.stocktake_page(
        current_supermarket().id, status=query.status, offset=offset(query), limit=query.per_page
    )
    return {**paged(query, found.total), "stocktakes": _summaries(found.rows)}


@contract.route(
    "GET",
    "/stocktakes/<int:stocktake_id>",
    summary="盘点差异表",
    tag="stocktake",
    action="stocktake.read",
    ok=(200, StocktakeReport, "每行的账面、期间进出、应有、实盘、差异和金额"),
    errors=("not_found",),
    description="与办公室的盘点差异表相同；清点期间超市管理员看不到账面数（为空）。",
)
def get_stocktake(stocktake_id: int):
    """A count and its variance report (盘点差异表)."""
    return _report(stocktake_id)


@contract.route(
    "GET",
    "/stocktakes/<int:stocktake_id>/report.xlsx",
    summary="盘点差异表（XLSX，与办公室导出的相同）",
    tag="stocktake",
    action="stocktake.read",
    ok=(200, None, "盘点差异表表格"),
    errors=("not_found",),
    description="清点期间超市管理员不能下载（403 forbidden），提交后才能下载，与办公室相同。",
    openapi=XLSX_ANSWER,
)
def stocktake_xlsx(stocktake_id: int):
    """The variance report as the office exports it; not while a keeper counts blind."""
    sm = current_supermarket()
    rep = service.report(stocktake_id, sm.id)
    if _blind(rep.stocktake):
        raise PermissionDenied(gettext("清点期间不显示账面数量，提交后才能下载差异表"))
    return xlsx(*stocktake_reports.variance_xlsx(rep, sm))


class StartRequest(contract.Body):
    category_ids: list[contract.ID] | None = Field(
        default=None, max_length=MAX_SCOPE_IDS, description="只盘这些分类"
    )
    product_ids: list[contract.ID] | None = Field(
        default=None, max_length=MAX_SCOPE_IDS, description="只盘这些商品"
    )
    note: Annotated[str, contract.Text(200, required=False, multiline=True)] = ""


@contract.route(
    "POST",
    "/stocktakes",
    summary="开始盘点（固定账面数量）",
    tag="stocktake",
    action="stocktake.count",
    body=StartRequest,
    body_required=False,
    ok=(201, StocktakeReport, "新的盘点"),
    errors=("not_found",),
    description="不填范围即盘全部商品（服务项目不盘）；同一商品不能同时在两次未完成的盘点中。",
)
def start_stocktake(body: StartRequest):
    """Start a count of all goods, or of some categories or products."""
    st = service.start_count(
        current_supermarket().id,
        actor=access.me(),
        category_ids=body.category_ids or None,
        product_ids=body.product_ids or None,
        note=body.note,
    )
    return _report(st.id)


class CountRequest(contract.Body):
    line_id: contract.ID | None = Field(default=None, description="盘点行（与 barcode 二选一）")
    barcode: Annotated[str | None, contract.Text(32, required=False, blank=None)] = Field(
        default=None, description="商品条码或编号（与 line_id 二选一）"
    )
    kind: Annotated[str, contract.Choice(*COUNT_EVENT_KINDS)] = Field(
        default=COUNT_EVENT_ADD, description="add 增减，set 设为总数，clear 改回未清点"
    )
    quantity: Annotated[int, contract.Whole(-MAX_QUANTITY, MAX_QUANTITY)] = Field(
        default=1, description="add 时为增减数（扫一次为1），set 时为总数"
    )
    idempotency_key: contract.IdempotencyKey | None = Field(
        default=None, description="每次清点一个（或用请求头 Idempotency-Key）；重试原样再发"
    )


class CountResult(contract.Answer):
    line_id: int
    product_id: int
    name: str
    counted_qty: int | None
    duplicate: bool = Field(description="重试：这次没有再加")


@contract.route(
    "POST",
    "/stocktakes/<int:stocktake_id>/counts",
    summary="清点一行",
    tag="stocktake",
    action="stocktake.count",
    body=CountRequest,
    ok=(200, CountResult, "这一行现在的清点数"),
    errors=("not_found",),
    params=(proposals.KEY_HEADER_PARAM,),
    description="请求编号必填：请求头 `Idempotency-Key` 或字段 `idempotency_key`（两者都给时必须"
    "相同）。同一编号的重试返回这一行现在的数，duplicate 为 true，不重复计数。",
)
def count_line(stocktake_id: int, body: CountRequest):
    """Count one line by ``line_id`` or ``barcode``: add a signed quantity, set the total, or
    clear it; a key already used in this count is a retry (nothing added)."""
    key = proposals.request_key(body.idempotency_key)
    if key is None:
        raise contract.invalid("idempotency_key", gettext("不能为空"))
    if (body.line_id is None) == (body.barcode is None):
        raise contract.invalid("line_id", gettext("与条码（barcode）须填且只填一项"))
    result = service.record_count(
        stocktake_id,
        actor=access.me(),
        kind=body.kind,
        quantity=0 if body.kind == COUNT_EVENT_CLEAR else body.quantity,
        line_id=body.line_id,
        barcode=body.barcode,
        device="typed" if body.barcode else "button",
        client_key=key,
        supermarket_id=current_supermarket().id,
    )
    return CountResult(
        line_id=result.line_id,
        product_id=result.product_id,
        name=result.name,
        counted_qty=result.counted_qty,
        duplicate=result.duplicate,
    )


class StepReason(contract.Body):
    reason: Annotated[str, contract.Text(200, required=False, multiline=True)] = ""


def _step(stocktake_id: int, fn: Any, **kwargs: Any) -> dict[str, Any]:
    fn(stocktake_id, actor=access.me(), supermarket_id=current_supermarket().id, **kwargs)
    return _report(stocktake_id)


def _step_route(path: str, summary: str, action: str, ok: str, *, reason: bool = False, **kw: Any):
    return contract.route(
        "POST",
        f"/stocktakes/<int:stocktake_id>/{path}",
        summary=summary,
        tag="stocktake",
        action=action,
        body=StepReason if reason else None,
        body_required=False,
        ok=(200, StocktakeReport, ok),
        errors=("invalid_request", "not_found", *kw.pop("errors", ())),
        **kw,
    )


@_step_route("submit", "提交盘点，等待村管理员审批", "stocktake.count", "已提交")
def submit_stocktake(stocktake_id: int):
    """Counting → submitted (lines nobody counted stay uncounted)."""
    return _step(stocktake_id, service.submit)


@_step_route("send-back", "退回重新清点", "stocktake.decide", "已退回，可继续清点", reason=True)
def send_back_stocktake(stocktake_id: int, body: StepReason):
    """Submitted → counting again: the admin wants a recount."""
    return _step(stocktake_id, service.send_back, reason=body.reason)


@_step_route("cancel", "取消盘点（不入账）", "stocktake.decide", "已取消", reason=True)
def cancel_stocktake(stocktake_id: int, body: StepReason):
    """Counting → cancelled; nothing is posted."""
    return _step(stocktake_id, service.cancel, reason=body.reason)


@_step_route(
    "approve",
    "审批盘点：盘盈盘亏记入库存台账",
    "stocktake.decide",
    "已审批，等待监督小组签字",
    errors=("month_closed",),
    description="按当前成本记入差异；任何商品入账后库存会小于0时整单拒绝。",
)
def approve_stocktake(stocktake_id: int):
    """Submitted → approved: each counted line's variance is posted (盘盈/盘亏)."""
    return _step(stocktake_id, service.approve)


@_step_route("sign-off", "监督小组签字确认", "stocktake.sign_off", "已签字入账")
def sign_off_stocktake(stocktake_id: int):
    """Approved → posted: the supervision group's signature (监督小组签字)."""
    return _step(stocktake_id, service.sign_off)
