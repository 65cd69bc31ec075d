"""The fund's spreadsheets: the fund pool's ledger (基金池台账), the donation register
(捐赠登记簿) and the donor list for public notice (捐赠公示)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext, lazy_gettext

from inventory import donations, fund
from inventory.models import (
    DONATION_CASH,
    DONATION_GOODS,
    DONATION_RECORDED,
    FUND_DONATION,
    FUND_PURCHASE,
    FUND_REVERSAL,
)
from kiosk import auth
from kiosk.export import Sheet, workbook_bytes
from kiosk.export import yuan as yuan_cell
from kiosk.formatting import local_time, yuan
from kiosk.models import Supermarket

KIND_LABELS = {
    "xiangxian": lazy_gettext("乡贤"),
    "enterprise": lazy_gettext("企业"),
    "partner_unit": lazy_gettext("帮扶单位"),
    "village_collective": lazy_gettext("村集体"),
    "town_reward": lazy_gettext("镇奖励"),
    "individual": lazy_gettext("个人"),
}
FORM_LABELS: dict[str, Any] = {
    DONATION_CASH: lazy_gettext("现金"),
    DONATION_GOODS: lazy_gettext("物品"),
}
ENTRY_LABELS: dict[str, Any] = {
    FUND_DONATION: lazy_gettext("捐赠收入"),
    FUND_PURCHASE: lazy_gettext("采购支出"),
    FUND_REVERSAL: lazy_gettext("冲销"),
}


def _display_name(user_id: int | None) -> str:
    user = auth.find_user(user_id) if user_id else None
    return user.display_name if user is not None else ""


def pool_ledger_xlsx(sm: Supermarket, start: date, end: date) -> tuple[bytes, str]:
    """The fund pool's entries between two days with the running balance, to sign."""
    led = fund.ledger(sm.id, start, end)
    refs = donations.references(led.entries)
    rows = [
        [
            local_time(e.created_at, "%Y-%m-%d %H:%M"),
            str(ENTRY_LABELS.get(e.kind, e.kind)),
            refs.get(e.id, ""),
            e.note,
            yuan_cell(e.amount_fen) if e.amount_fen > 0 else None,
            yuan_cell(-e.amount_fen) if e.amount_fen < 0 else None,
            yuan_cell(e.balance_after_fen),
            _display_name(e.created_by_id),
        ]
        for e in led.entries
    ]
    rows.append(
        [
            gettext("合计"),
            "",
            "",
            "",
            yuan_cell(led.in_fen),
            yuan_cell(led.out_fen),
            yuan_cell(led.closing_fen),
            "",
        ]
    )
    sheet = Sheet(
        title=gettext("%(name)s 基金池台账", name=sm.name),
        subtitle=[
            gettext("%(start)s 至 %(end)s", start=start.isoformat(), end=end.isoformat()),
            gettext("期初余额 %(amount)s 元", amount=yuan(led.opening_fen)),
        ],
        headers=[
            gettext("时间"),
            gettext("类别"),
            gettext("单据"),
            gettext("摘要"),
            gettext("收入(元)"),
            gettext("支出(元)"),
            gettext("余额(元)"),
            gettext("经办人"),
        ],
        rows=rows,
        money_columns=(4, 5, 6),
        widths=(18, 10, 12, 30, 12, 12, 12, 10),
        footer=[gettext("经办人："), gettext("审核人："), gettext("监督小组：")],
        name=gettext("基金池台账"),
    )
    filename = gettext("基金池台账") + f"_{start.isoformat()}_{end.isoformat()}.xlsx"
    return workbook_bytes([sheet]), filename


def donations_xlsx(sm: Supermarket, start: date, end: date) -> tuple[bytes, str]:
    """The donation register between two days: every donation, reversed ones marked."""
    rows = donations.list_donations(sm.id, start, end)
    rows.sort(key=lambda d: (d.donated_on, d.seq))
    body = [
        [
            d.receipt_no,
            d.donated_on.isoformat(),
            d.donor.name,
            str(KIND_LABELS.get(d.donor.kind, d.donor.kind)),
            str(FORM_LABELS[d.form]),
            donations.goods_summary(d) if d.form == DONATION_GOODS else "",
            yuan_cell(d.amount_fen),
            gettext("已撤销") if d.status != DONATION_RECORDED else gettext("有效"),
            d.reverse_reason,
            d.note,
            _display_name(d.created_by_id),
        ]
        for d in rows
    ]
    sheet = Sheet(
        title=gettext("%(name)s 捐赠登记簿", name=sm.name),
        subtitle=[gettext("%(start)s 至 %(end)s", start=start.isoformat(), end=end.isoformat())],
        headers=[
            gettext("收据号"),
            gettext("日期"),
            gettext("捐赠方"),
            gettext("类别"),
            gettext("方式"),
            gettext("物品"),
            gettext("金额/价值(元)"),
            gettext("状态"),
            gettext("撤销原因"),
            gettext("备注"),
            gettext("经办人"),
        ],
        rows=body,
        money_columns=(6,),
        widths=(11, 12, 20, 10, 7, 28, 13, 8, 16, 16, 10),
        footer=[gettext("经办人："), gettext("审核人："), gettext("监督小组：")],
        name=gettext("捐赠登记簿"),
    )
    filename = gettext("捐赠登记簿") + f"_{start.isoformat()}_{end.isoformat()}.xlsx"
    return workbook_bytes([sheet]), filename


def public_list_xlsx(sm: Supermarket, start: date, end: date) -> tuple[bytes, str]:
    """The donor list for public notice: people masked unless they agreed, never a contact."""
    rows = donations.public_rows(sm.id, start, end)
    body = [
        [
            i,
            r.donated_on.isoformat(),
            r.name,
            r.kind,
            r.form,
            r.goods,
            yuan_cell(r.amount_fen),
        ]
        for i, r in enumerate(rows, 1)
    ]
    body.append(["", gettext("合计"), "", "", "", "", yuan_cell(sum(r.amount_fen for r in rows))])
    sheet = Sheet(
        title=gettext("%(name)s 捐赠公示", name=sm.name),
        subtitle=[gettext("%(start)s 至 %(end)s", start=start.isoformat(), end=end.isoformat())],
        headers=[
            gettext("序号"),
            gettext("日期"),
            gettext("捐赠方"),
            gettext("类别"),
            gettext("方式"),
            gettext("物品"),
            gettext("金额/价值(元)"),
        ],
        rows=body,
        money_columns=(6,),
        widths=(6, 12, 22, 10, 8, 30, 14),
        footer=[gettext("衷心感谢以上单位和个人对积分超市的支持！"), gettext("村民委员会")],
        name=gettext("捐赠公示"),
    )
    filename = gettext("捐赠公示") + f"_{start.isoformat()}_{end.isoformat()}.xlsx"
    return workbook_bytes([sheet]), filename
