"""Month-end reports over the API (kiosk/api/monthend.py): the months and their state as the
office lists them, a closed month's stored report unchanged by later postings, an open month's
live preview equal to the office's, bad months refused, another supermarket's books unseen."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from inventory import monthend, periods
from inventory.models import StockMovement
from inventory.stock import StockInLine, receive_stock
from kiosk.api.listing import XLSX_MIME
from kiosk.clock import local_now
from kiosk.database import write_transaction
from kiosk.export import read_rows
from kiosk.extensions import db
from tests import factories
from tests.api.test_api_helpers import api_for, error_code


def _backdate_movements(local: datetime) -> None:
    """Move every stock movement so far to a local moment (the books began then)."""
    with write_transaction():
        db.session.execute(sa.update(StockMovement).values(created_at=factories.utc(local)))


@pytest.fixture
def closed_month(supermarket, admin):
    """Last month's books: rice received then, and the month closed by the admin."""
    rice = factories.product(supermarket, name="大米5kg", cost_fen=2500, stock_qty=10)
    last = periods.previous_month(periods.month_key(local_now()))
    year, month = periods.parse_month(last)
    _backdate_movements(datetime(year, month, 10, 9, 0))
    monthend.close_month(supermarket.id, last, actor=admin)
    return last, rice


def test_the_months_and_a_closed_months_stored_report(
    client, keeper, supervisor, supermarket, closed_month
):
    last, rice = closed_month
    api = api_for(client, keeper)
    months = api.get("/api/v1/month-ends").get_json()["months"]
    current = periods.month_key(local_now())
    assert [(m["month"], m["closed"], m["current"]) for m in months] == [
        (current, False, True),
        (last, True, False),
    ]
    assert months[1]["closed_by"] == "李主任"
    assert months[0]["next_to_close"] is True
    assert [m["month"] for m in months] == [m["month"] for m in monthend.month_list(supermarket.id)]

    stored = monthend.month_status(supermarket.id, last).report
    got = api.get(f"/api/v1/month-ends/{last}").get_json()
    assert (got["month"], got["closed"], got["closed_by"]) == (last, True, "李主任")
    assert got["report"] == stored
    assert got["report"]["stock_totals"]["closing_value"] == 25000
    # A later posting lands in the open month; the closed month's report does not move.
    receive_stock(supermarket.id, [StockInLine(rice.id, 5, 2500)], actor=keeper)
    assert api_for(client, supervisor).get(f"/api/v1/month-ends/{last}").get_json() == got


def test_an_open_months_report_is_the_offices_live_preview(client, admin, supermarket):
    factories.product(supermarket, name="花生油", cost_fen=6000, stock_qty=3, unit="桶")
    month = periods.month_key(local_now())
    got = api_for(client, admin).get(f"/api/v1/month-ends/{month}").get_json()
    assert (got["closed"], got["closed_at"], got["closed_by"]) == (False, None, None)
    live, close = monthend.report_for(supermarket.id, month)
    assert close is None
    drop = ("generated_at",)
    assert {k: v for k, v in got["report"].items() if k not in drop} == {
        k: v for k, v in live.items() if k not in drop
    }
    assert got["report"]["stock_totals"]["purchase_value"] == 18000


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-01", "1999-12", "2026-00", "now"])
def test_a_bad_month_is_refused(client, keeper, month):
    r = api_for(client, keeper).get(f"/api/v1/month-ends/{month}")
    assert r.status_code == 400 and error_code(r) == "invalid_request"


def test_another_supermarkets_months_are_its_own(client, supermarket, closed_month):
    last, _ = closed_month
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    theirs = api_for(client, factories.user("keeper-gy", "keeper", other))
    got = theirs.get(f"/api/v1/month-ends/{last}").get_json()
    assert got["closed"] is False
    assert got["report"]["supermarket"]["code"] == "GY01"
    assert got["report"]["stock_totals"]["closing_value"] == 0
    assert [m["closed"] for m in theirs.get("/api/v1/month-ends").get_json()["months"]] == [False]


def test_recorders_read_no_reports(client, supermarket):
    recorder = factories.user("recorder1", "recorder", supermarket)
    r = api_for(client, recorder).get("/api/v1/month-ends")
    assert r.status_code == 403 and error_code(r) == "forbidden"


def test_the_month_download_is_the_offices(client, keeper, closed_month):
    last, _ = closed_month
    r = api_for(client, keeper).get(f"/api/v1/month-ends/{last}/report.xlsx")
    assert r.status_code == 200 and r.mimetype == XLSX_MIME
    client.post("/login/password", data={"username": "keeper1", "password": "secret123"})
    office = client.get(f"/month-end/{last}/report.xlsx")
    for sheet in range(3):
        assert read_rows(r.data, sheet) == read_rows(office.data, sheet)
    assert r.headers["Content-Disposition"] == office.headers["Content-Disposition"]
    assert "大米5kg" in [row[1] for row in read_rows(r.data, 0)]
    bad = api_for(client, keeper).get("/api/v1/month-ends/2026-13/report.xlsx")
    assert bad.status_code == 400 and error_code(bad) == "invalid_request"
