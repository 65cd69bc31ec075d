"""Month-end reports (月结) over the API, read only: the months of the books and their state,
and one month's reconciliation report as JSON, the same report the office's page, its A4 print
and its XLSX show (inventory.monthend).

A closed month answers the report stored at its close, unchanged ever after; an open month's
report is computed from the ledgers now and marked as a preview (``closed: false``). Keepers,
admins and supervisors read (:mod:`kiosk.permissions`, ``monthend.read``); closing a month stays
an office act with its refusals read aloud on the page.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext
from pydantic import Field

from inventory import books, monthend
from kiosk.api import contract, outputs
from kiosk.api.listing import XLSX_ANSWER, xlsx
from kiosk.authn import current_supermarket
from kiosk.reports import monthend as monthend_reports

MONTH_RE = re.compile(r"^20\d\d-(0[1-9]|1[0-2])$", re.ASCII)


def _check(month: str) -> None:
    if not MONTH_RE.match(month):
        raise contract.invalid("month", gettext("格式应为年-月，如 2026-11"))


class MonthState(contract.Answer):
    month: str = Field(description="如 2026-11")
    closed: bool
    closed_at: contract.LocalTime
    closed_by: str | None
    current: bool = Field(description="本月（还没有结束）")
    next_to_close: bool = Field(description="下一个该结账的月份")


class MonthList(contract.Answer):
    months: list[MonthState]


@contract.route(
    "GET",
    "/month-ends",
    summary="月结：各月份及其结账状态",
    tag="reports",
    action="monthend.read",
    ok=(200, MonthList, "账目开始以来的每个月，最新的在前"),
)
def list_months():
    """Every month of the books, newest first, closed or not, and the one to close next."""
    months = monthend.month_list(current_supermarket().id)
    names = books.display_names(m["close"].closed_by_id for m in months if m["close"] is not None)
    return {
        "months": [
            {
                "month": m["month"],
                "closed": m["close"] is not None,
                "closed_at": outputs.iso_local(m["close"].closed_at) if m["close"] else None,
                "closed_by": (
                    names.get(m["close"].closed_by_id) if m["close"] is not None else None
                ),
                "current": m["current"],
                "next_to_close": m["next"],
            }
            for m in months
        ]
    }


class MonthReport(contract.Answer):
    month: str
    closed: bool = Field(description="已结账：报表为结账时保存的；未结账：按现在的台账计算的预览")
    closed_at: contract.LocalTime
    closed_by: str | None
    report: dict[str, Any] = Field(
        description=(
            "月结对账报表：products（每种商品的期初、采购、捐赠、兑换、作废、报损、盘点、期末的"
            "数量和金额）、stock_totals、fund（基金池期初、捐赠、采购、冲回、期末）、"
            "tieout（兑换积分与发出成本的核对）、counts（本月的盘点）；金额为分"
        )
    )


@contract.route(
    "GET",
    "/month-ends/<month>",
    summary="一个月的月结对账报表",
    tag="reports",
    action="monthend.read",
    ok=(200, MonthReport, "该月的报表（已结账的为结账时保存的）"),
    errors=("invalid_request", "not_found"),
    description="与办公室的月结页面、A4 打印和 XLSX 是同一份报表；月份格式不对时为 400 invalid_request。",
)
def get_month(month: str):
    """One month's reconciliation report: stored at its close, or computed now while open."""
    _check(month)
    report, close = monthend.report_for(current_supermarket().id, month)
    closed_by = None
    if close is not None and close.closed_by_id:
        closed_by = books.display_names([close.closed_by_id]).get(close.closed_by_id)
    return {
        "month": month,
        "closed": close is not None,
        "closed_at": outputs.iso_local(close.closed_at) if close is not None else None,
        "closed_by": closed_by,
        "report": report,
    }


@contract.route(
    "GET",
    "/month-ends/<month>/report.xlsx",
    summary="月结对账表（XLSX，与办公室导出的相同）",
    tag="reports",
    action="monthend.read",
    ok=(200, None, "月结对账表表格：库存、基金池、积分核对"),
    errors=("invalid_request", "not_found"),
    description="未结账的月份为预览（表上注明）。",
    openapi=XLSX_ANSWER,
)
def month_xlsx(month: str):
    """The month's reconciliation workbook as the office exports it."""
    _check(month)
    return xlsx(*monthend_reports.month_report_xlsx(current_supermarket(), month))
