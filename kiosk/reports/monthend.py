"""The month-end report (月结对账表) as a workbook: stock, the fund pool and the tie-out of
points against the cost of what was given out, to sign; and the tie-out's rows, the same on
screen, A4 and XLSX."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from inventory import monthend
from kiosk.export import Sheet, workbook_bytes, yuan
from kiosk.models import Supermarket


def month_report_xlsx(supermarket: Supermarket, month: str) -> tuple[bytes, str]:
    """The month's report (closed: as stored at the close; open: a preview) and its file name."""
    report, close = monthend.report_for(supermarket.id, month)
    sheets = month_sheets(supermarket, month, report, close is not None)
    return workbook_bytes(sheets), gettext("月结对账表-%(month)s.xlsx", month=month)


def tieout_rows(report: dict[str, Any]) -> list[tuple[str, str, int | None, int | None, str]]:
    """The tie-out as (key, label, points, fen, kind) rows, the same on screen, A4 and XLSX.
    ``kind`` is "line", "total" or "why" (a line explaining the difference)."""
    t = report["tieout"]
    quota = t.get("spend") == "quota"
    pts = gettext("额度") if quota else gettext("积分")
    rows = [
        (
            "issued",
            gettext("本月兑换（%(n)s单）", n=t["redemptions"]),
            t["points_issued"],
            t["cost_issued_lines"],
            "line",
        ),
        (
            "voided_same",
            gettext("减：本月作废本月的兑换（%(n)s单）", n=t["voids_same_month"]),
            -t["points_voided_same"],
            -t["cost_voided_same"],
            "line",
        ),
        (
            "voided_earlier",
            gettext("减：本月作废以前月份的兑换（%(n)s单）", n=t["voids_earlier_month"]),
            -t["points_voided_earlier"],
            -t["cost_voided_earlier"],
            "line",
        ),
        ("net", gettext("本月兑换净额（%(unit)s）", unit=pts), t["points_net"], None, "total"),
        ("from_balance", gettext("其中从积分余额扣减"), t["points_from_balance"], None, "line"),
        ("from_quota", gettext("其中使用本期兑换额度"), t["points_from_quota"], None, "line"),
        (
            "value",
            gettext("按每元%(n)s积分折合金额", n=t["points_per_yuan"]),
            None,
            t["value_at_rate"],
            "total",
        ),
        (
            "goods_cost",
            gettext("发出商品成本（库存台账）"),
            t["goods_points"],
            t["goods_cost_ledger"],
            "line",
        ),
        (
            "services_cost",
            gettext("发出服务成本"),
            t["services_points"],
            t["services_cost"],
            "line",
        ),
        ("cost", gettext("发出成本合计"), None, t["cost_issued"], "total"),
        ("difference", gettext("差额（折合金额减发出成本）"), None, t["difference"], "total"),
        ("rounding", gettext("其中：积分向上取整的进位差"), None, t["rounding"], "why"),
        ("free", gettext("其中：免费项目（如长者食堂）"), None, t["free_items"], "why"),
        (
            "price",
            gettext("其中：未按现行比例计价（比例或价格变动）"),
            None,
            t["price_changes"],
            "why",
        ),
        ("timing", gettext("其中：兑换与库存台账记账时间跨月"), None, t["timing"], "why"),
        ("remainder", gettext("其中：折算尾差"), None, t["remainder"], "why"),
    ]
    return rows


def month_sheets(
    supermarket: Supermarket, month: str, report: dict[str, Any], closed: bool
) -> list[Sheet]:
    """The month's three sheets: stock, fund pool and the points-to-cost tie-out."""
    state = gettext("已结账") if closed else gettext("未结账（预览，数字可能还会变化）")
    subtitle = [f"{supermarket.name} · {month} · {state}"]
    footer = [
        gettext("超市管理员签字：____________  日期：________"),
        gettext("村两委审核签字：____________  日期：________"),
        gettext("监督小组签字：____________  日期：________"),
    ]
    headers = [
        gettext("编号"),
        gettext("商品"),
        gettext("单位"),
        gettext("期初数量"),
        gettext("期初金额"),
        gettext("采购入库"),
        gettext("采购金额"),
        gettext("捐赠入库"),
        gettext("捐赠金额"),
        gettext("兑换出库"),
        gettext("兑换金额"),
        gettext("作废退回"),
        gettext("退回金额"),
        gettext("报损"),
        gettext("报损金额"),
        gettext("盘点差异"),
        gettext("差异金额"),
        gettext("期末账面"),
        gettext("期末金额"),
        gettext("盘点实数"),
        gettext("期末均价"),
        gettext("按均价金额"),
        gettext("均价差"),
    ]
    money = (4, 6, 8, 10, 12, 14, 16, 18, 20, 21, 22)

    def stock_row(line: dict[str, Any], first: list[str], total: bool = False) -> list[Any]:
        # Quantities of different units do not add up: the totals row has values only.
        row = [
            *first,
            line["opening_qty"],
            yuan(line["opening_value"]),
            line["purchase_qty"],
            yuan(line["purchase_value"]),
            line["donation_qty"],
            yuan(line["donation_value"]),
            line["redeemed_qty"],
            yuan(line["redeemed_value"]),
            line["void_qty"],
            yuan(line["void_value"]),
            line["adjustment_qty"],
            yuan(line["adjustment_value"]),
            line["count_qty"],
            yuan(line["count_value"]),
            line["closing_qty"],
            yuan(line["closing_value"]),
        ]
        if total:
            row = [
                cell if i < len(first) or (i - len(first)) % 2 else "" for i, cell in enumerate(row)
            ]
        return row

    rows = [
        [
            *stock_row(ln, [ln["sku"], ln["name"], ln["unit"]]),
            "" if ln["counted_qty"] is None else ln["counted_qty"],
            yuan(ln["average_cost"]),
            yuan(ln["value_at_average"]),
            yuan(ln["average_difference"]),
        ]
        for ln in report["products"]
    ]
    totals = report["stock_totals"]
    rows.append(
        [
            *stock_row(totals, ["", gettext("合计"), ""], total=True),
            "",
            "",
            yuan(totals["value_at_average"]),
            yuan(totals["average_difference"]),
        ]
    )
    f = report["fund"]
    fund_rows = [
        [gettext("期初余额"), yuan(f["opening"])],
        [gettext("现金捐赠"), yuan(f["donations"])],
        [gettext("采购支出"), yuan(-f["purchases"])],
        [gettext("撤销冲回"), yuan(f["reversals"])],
        [gettext("期末余额"), yuan(f["closing"])],
    ]
    tie_rows = [
        [label, "" if p is None else p, "" if fen is None else yuan(fen)]
        for _key, label, p, fen, _kind in tieout_rows(report)
    ]
    return [
        Sheet(
            title=gettext("库存月结表 %(month)s", month=month),
            name=gettext("库存"),
            subtitle=subtitle,
            headers=headers,
            rows=rows,
            footer=footer,
            widths=[10, 18, 6] + [10] * 20,
            money_columns=money,
        ),
        Sheet(
            title=gettext("基金池月结 %(month)s", month=month),
            name=gettext("基金池"),
            subtitle=subtitle,
            headers=[gettext("项目"), gettext("金额（元）")],
            rows=fund_rows,
            footer=footer,
            widths=[24, 16],
            money_columns=(1,),
        ),
        Sheet(
            title=gettext("积分与发出成本对账 %(month)s", month=month),
            name=gettext("对账"),
            subtitle=subtitle,
            headers=[gettext("项目"), gettext("积分"), gettext("金额（元）")],
            rows=tie_rows,
            footer=footer,
            widths=[44, 12, 16],
            money_columns=(2,),
        ),
    ]
