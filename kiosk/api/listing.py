"""Lists, date ranges and downloads the API's books share: ``page`` and ``per_page`` (up to
200, answered with ``total``), a range of local days (``start``, ``end``, both included, at most
two years, as the office's ledgers), and the office's XLSX files as downloads."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from flask import Response, current_app, send_file
from flask_babel import gettext
from pydantic import Field

from inventory import ledgers
from kiosk import clock
from kiosk.api import contract

MAX_PAGE = 100_000
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
RANGE_TEXT = "，`start`/`end` 为本地日期（含两端，最多两年）"


class PageQuery(contract.Query):
    page: Annotated[int, contract.QueryWhole(1, MAX_PAGE)] = 1
    per_page: Annotated[int, contract.QueryWhole(1, MAX_PER_PAGE)] = DEFAULT_PER_PAGE


class DateQuery(contract.Query):
    start: Annotated[
        date | None, contract.Day(required=False, future=True, description="开始日期（含）")
    ] = None
    end: Annotated[
        date | None, contract.Day(required=False, future=True, description="结束日期（含）")
    ] = None


class RangeQuery(DateQuery, PageQuery):
    pass


class Paged(contract.Answer):
    page: int
    per_page: int
    total: int = Field(description="全部条数（不止本页）")


def date_range(query: DateQuery, default_start: date, default_end: date) -> tuple[date, date]:
    """The query's range of local days, its defaults filled in; end before start, or more than
    two years, is refused."""
    start = query.start or default_start
    end = query.end or default_end
    if end < start:
        raise contract.invalid("end", gettext("不能早于开始日期（start）"))
    if (end - start).days > ledgers.MAX_RANGE_DAYS:
        raise contract.invalid("end", gettext("日期范围最多两年"))
    return start, end


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The document of a download: the workbook's bytes instead of JSON.
XLSX_ANSWER = {
    "responses": {
        "200": {"content": {XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}
    }
}


def xlsx(data: bytes, filename: str) -> Response:
    """A workbook as a download (the office's own file and file name)."""
    return send_file(
        io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=filename
    )


def offset(query: PageQuery) -> int:
    """How many rows come before the query's page."""
    return (query.page - 1) * query.per_page


def paged(query: PageQuery, total: int) -> dict[str, int]:
    """The page's fields of a list's answer."""
    return {"page": query.page, "per_page": query.per_page, "total": total}


def today() -> date:
    """Today in the supermarket's time zone."""
    return clock.local_now().date()


def local_iso(moment: datetime) -> str:
    """A ledger's local (naive) time as ISO 8601 with the supermarket's offset."""
    return moment.replace(tzinfo=ZoneInfo(current_app.config["JIFEN_TIMEZONE"])).isoformat()
