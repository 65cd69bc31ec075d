"""The stocktake's spreadsheet: the variance report (盘点差异表) to print and sign."""

from __future__ import annotations

from flask_babel import gettext

from inventory.stocktake import Report
from kiosk.export import Sheet, workbook_bytes, yuan
from kiosk.formatting import local_time
from kiosk.models import Supermarket


def state_label(status: str) -> str:
    """A stocktake's state in words."""
    return {
        "counting": gettext("清点中"),
        "submitted": gettext("已提交，待审批"),
        "approved": gettext("已审批，待监督签字"),
        "posted": gettext("已签字入账"),
        "cancelled": gettext("已取消"),
    }.get(status, status)


def variance_xlsx(rep: Report, supermarket: Supermarket) -> tuple[bytes, str]:
    """The variance report of one stocktake: book, moved during the count, expected, counted,
    variance and its value, with the gain, loss and net to sign under."""
    st = rep.stocktake
    rows = []
    for r in rep.rows:
        rows.append(
            [
                r.category,
                r.sku,
                r.name,
                r.unit,
                r.book_qty,
                r.moved_before_count if r.counted else "",
                r.expected_qty if r.counted else "",
                r.counted_qty if r.counted else gettext("未清点"),
                r.variance if r.counted else "",
                yuan(r.unit_cost_fen),
                yuan(r.value_fen) if r.value_fen is not None else "",
            ]
        )
    sheet = Sheet(
        title=gettext("盘点差异表 第%(n)s号", n=st.id),
        headers=[
            gettext("分类"),
            gettext("编号"),
            gettext("商品"),
            gettext("单位"),
            gettext("账面数量"),
            gettext("盘点期间进出"),
            gettext("应有数量"),
            gettext("实盘数量"),
            gettext("差异数量"),
            gettext("单位成本（元）"),
            gettext("差异金额（元）"),
        ],
        rows=rows,
        subtitle=[
            f"{supermarket.name} · {st.scope} · {state_label(st.status)}",
            gettext("开始：%(t)s", t=local_time(st.started_at)),
        ],
        footer=[
            gettext(
                "盘盈 %(g)s 元，盘亏 %(l)s 元，净额 %(n)s 元",
                g=yuan(rep.gain_fen),
                l=yuan(rep.loss_fen),
                n=yuan(rep.net_fen),
            ),
            gettext("盘点人：__________  审批人：__________  监督小组：__________"),
        ],
        money_columns=(9, 10),
        name=gettext("盘点差异表"),
    )
    return workbook_bytes([sheet]), f"盘点差异表-{st.id}.xlsx"
