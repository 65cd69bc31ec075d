"""The assessment group's monthly visit list (月记录) as a spreadsheet: every active household
by village group, whether this month has a record for it and how many."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext

from kiosk import visits
from kiosk.export import Sheet, workbook_bytes
from kiosk.models import Supermarket


def month_visits_xlsx(supermarket: Supermarket, first: date) -> tuple[bytes, str]:
    """The visit list of the month starting on ``first``, one row per household."""
    rows = []
    for group in visits.month_visits(supermarket.id, first):
        for home, n in group.recorded:
            rows.append([group.group, home.number, home.head_name, gettext("已记录"), n])
        for home in group.missing:
            rows.append([group.group, home.number, home.head_name, gettext("未记录"), 0])
    month = first.strftime("%Y-%m")
    sheet = Sheet(
        title=gettext("月记录 %(m)s", m=month),
        subtitle=[supermarket.name],
        headers=[
            gettext("村民小组"),
            gettext("户号"),
            gettext("户主"),
            gettext("本月"),
            gettext("记录条数"),
        ],
        rows=rows,
        widths=[14, 10, 12, 10, 10],
    )
    return workbook_bytes([sheet]), gettext("月记录-%(m)s.xlsx", m=month)
