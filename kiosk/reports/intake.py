"""The assessment group's spreadsheets: the register of proposals (加减分登记台账), the list of
point standards (积分标准) and an import's rows with their errors (导入检查结果)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext, lazy_gettext

from kiosk import intake, standards
from kiosk.export import Sheet, workbook_bytes
from kiosk.formatting import local_time
from kiosk.messages import Joined, from_json
from kiosk.models import (
    PROPOSAL_APPROVED,
    PROPOSAL_PENDING,
    PROPOSAL_REJECTED,
    PROPOSAL_WITHDRAWN,
    ImportBatch,
    Supermarket,
)
from kiosk.parsing import describe_character
from kiosk.timeutil import utcnow

STATUS_LABELS: dict[str, Any] = {
    PROPOSAL_PENDING: lazy_gettext("待确认"),
    PROPOSAL_APPROVED: lazy_gettext("已确认"),
    PROPOSAL_REJECTED: lazy_gettext("已退回"),
    PROPOSAL_WITHDRAWN: lazy_gettext("已撤回"),
}


def proposals_xlsx(supermarket: Supermarket) -> tuple[bytes, str]:
    """Every proposal, pending and decided, oldest first: the assessment group's register."""
    sheet = Sheet(
        title=gettext("加减分登记台账"),
        subtitle=[
            supermarket.name,
            gettext("导出时间：%(t)s", t=local_time(utcnow(), "%Y-%m-%d %H:%M")),
        ],
        headers=[
            gettext("编号"),
            gettext("日期"),
            gettext("户号"),
            gettext("户主"),
            gettext("成员"),
            gettext("标准编号"),
            gettext("事由"),
            gettext("分值"),
            gettext("证明材料"),
            gettext("状态"),
            gettext("录入人"),
            gettext("确认人"),
            gettext("处理时间"),
            gettext("说明"),
        ],
        rows=(
            [
                p.id,
                p.occurred_on.isoformat(),
                p.household.number,
                p.household.head_name,
                p.member.name if p.member else "",
                p.standard_item.code if p.standard_item else "",
                p.reason,
                p.amount,
                p.evidence,
                str(STATUS_LABELS.get(p.status, p.status)),
                p.entered_by.display_name if p.entered_by else gettext("命令行导入"),
                p.decided_by.display_name if p.decided_by else "",
                local_time(p.decided_at),
                p.decision_note,
            ]
            for p in intake.all_proposals(supermarket.id)
        ),
        footer=[gettext("评议小组签字：______________　　监督小组签字：______________")],
        widths=[8, 12, 10, 10, 10, 8, 40, 8, 20, 8, 10, 10, 17, 20],
    )
    return workbook_bytes([sheet]), gettext("加减分台账.xlsx")


def standards_xlsx(supermarket: Supermarket) -> tuple[bytes, str]:
    """The supermarket's point standards, in use and retired."""
    sheet = Sheet(
        title=gettext("积分标准"),
        subtitle=[supermarket.name],
        headers=[
            gettext("编号"),
            gettext("标准"),
            gettext("分值"),
            gettext("类别"),
            gettext("状态"),
        ],
        rows=[
            [
                i.code,
                i.title,
                i.points,
                i.category,
                gettext("使用中") if i.active else gettext("已停用"),
            ]
            for i in standards.list_items(supermarket.id)
        ],
        widths=[8, 70, 8, 14, 10],
    )
    return workbook_bytes([sheet]), gettext("积分标准.xlsx")


# What a worksheet cannot hold (openpyxl refuses it): a control character the check refused.
_NOT_IN_A_CELL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _cell(value: Any) -> Any:
    """A row's value as the file had it, a control character shown by its code point."""
    if isinstance(value, str):
        return _NOT_IN_A_CELL.sub(lambda m: f"[{describe_character(m.group())}]", value)
    return value


def batch_errors_xlsx(batch: ImportBatch) -> tuple[bytes, str]:
    """An import batch's rows with their errors, to correct in Excel and import again."""
    preview = batch.preview or {}
    # Problems and errors stored as msgids and parameters (plain text in an older batch), in
    # the reader's language like the page; the column headers as the file writes them.
    sheet = Sheet(
        title=gettext("导入检查结果：%(name)s", name=batch.filename),
        subtitle=[str(p) for p in from_json(preview.get("problems", []))],
        headers=[gettext("行号"), *preview.get("headers", []), gettext("错误")],
        rows=[
            [r["n"], *map(_cell, r["values"]), str(Joined(from_json(r["errors"])))]
            for r in preview.get("rows", [])
        ],
    )
    return workbook_bytes([sheet]), gettext("导入检查结果.xlsx")
