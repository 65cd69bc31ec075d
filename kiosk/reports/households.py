"""The household register (户籍名册) as a workbook: every household and member of a
supermarket, in the columns of the households import (kiosk.imports), so the file can be
corrected and imported again, followed by the state of each household and member and the
household's points balance.

Full names and birth dates: only for the people who read the office's household file
(admins and supervisors, ``household.read``); no ID or phone numbers exist to export.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import selectinload

from kiosk import clock
from kiosk.export import Sheet, workbook_bytes
from kiosk.extensions import db
from kiosk.imports import COLUMNS
from kiosk.models import ACTIVE, IMPORT_HOUSEHOLDS, Household, Supermarket


def _households(supermarket_id: int) -> list[Household]:
    """The supermarket's households by number, with members and accounts in three queries."""
    return list(
        db.session.scalars(
            sa.select(Household)
            .where(Household.supermarket_id == supermarket_id)
            .options(selectinload(Household.members), selectinload(Household.account))
            .order_by(Household.number, Household.id)
        )
    )


def register_rows(supermarket_id: int) -> list[list[object]]:
    """One row per member (a household without members gets one row): the import's columns
    (户号, 户主, 村, 组, 成员, 关系, 出生日期), then 户状态, 成员状态, 积分余额."""
    on, off = gettext("正常"), gettext("停用")
    rows: list[list[object]] = []
    for household in _households(supermarket_id):
        balance = household.account.balance if household.account is not None else 0
        state = on if household.status == ACTIVE else off
        start = [household.number, household.head_name, household.village, household.group_name]
        if not household.members:
            rows.append([*start, "", "", "", state, "", balance])
        for member in household.members:
            born = member.birth_date.isoformat() if member.birth_date else ""
            rows.append(
                [
                    *start,
                    member.name,
                    member.relation,
                    born,
                    state,
                    on if member.active else off,
                    balance,
                ]
            )
    return rows


def register_xlsx(supermarket: Supermarket) -> tuple[bytes, str]:
    """The household register of a supermarket and its file name."""
    today = clock.local_now().date().isoformat()
    headers = [c.label for c in COLUMNS[IMPORT_HOUSEHOLDS]]
    headers += [gettext("户状态"), gettext("成员状态"), gettext("积分余额")]
    sheet = Sheet(
        title=gettext("%(name)s 户籍名册", name=supermarket.name),
        # Above the header, not below the rows: a footer would be read back as a row.
        subtitle=[
            gettext("导出日期：%(day)s", day=today),
            gettext("前七列与“户与成员”导入模板相同，改正后可再导入。"),
        ],
        headers=headers,
        rows=register_rows(supermarket.id),
        widths=(10, 10, 10, 10, 10, 10, 12, 8, 8, 10),
        name=gettext("户籍名册"),
    )
    return workbook_bytes([sheet]), gettext("户籍名册") + f"_{supermarket.code}_{today}.xlsx"
