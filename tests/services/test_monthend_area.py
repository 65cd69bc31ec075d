"""The area month report (月结汇总): one line per supermarket of the county or of one town, each
equal to that supermarket's own month-end report; stored closes read as stored; a handful of
grouped queries whatever the number of supermarkets; ``jifen monthend area``. Both databases.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from inventory import monthend
from inventory.models import FUND_DONATION, FUND_PURCHASE, MonthClose
from inventory.stock import StockInLine, receive_stock
from kiosk.database import write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.models import Supermarket
from tests import factories
from tests.services import test_monthend as scenario

books = scenario.books  # the February–March 2025 scenario, as a fixture here too
MONTHS = ("2025-01", "2025-02", "2025-03", "2025-04")


def _second_village(code: str, town: str, rate: int) -> dict:
    """Another supermarket, in ``town``, at ``rate`` points per yuan: stock bought and a cash
    donation in February; in March two redemptions, one of them voided in April."""
    sm = factories.supermarket(code=code, name=f"{town}{code}积分超市", points_per_yuan=rate)
    with write_transaction():
        db.session.execute(sa.update(Supermarket).where(Supermarket.id == sm.id).values(town=town))
    keeper = factories.user(f"keeper{code}", "keeper", sm, pin="1234")
    admin = factories.user(f"admin{code}", "admin", sm)
    hh = factories.household(sm, points=2000)
    _, payload = factories.card(hh)
    oil = factories.product(sm, name="花生油", cost_fen=6850, stock_qty=0, unit="桶")
    clock = scenario.Backdater()
    receive_stock(sm.id, [StockInLine(oil.id, 8, 6850)], actor=keeper)
    scenario._post_fund(sm, FUND_DONATION, 80000)
    scenario._post_fund(sm, FUND_PURCHASE, -54800)
    clock.to(datetime(2025, 2, 5, 9, 0))
    scenario._redeem(sm, keeper, payload, [(oil.id, 2)], datetime(2025, 3, 6, 10))
    clock.to(datetime(2025, 3, 6, 10, 0))
    late = scenario._redeem(sm, keeper, payload, [(oil.id, 1)], datetime(2025, 3, 30, 10))
    clock.to(datetime(2025, 3, 30, 10, 0))
    scenario._void(late, admin, datetime(2025, 4, 1, 9, 0))
    clock.to(datetime(2025, 4, 1, 9, 0))
    db.session.expire_all()
    return {"supermarket": sm, "admin": admin}


@pytest.fixture
def county(books, supermarket, admin):
    """The month-end scenario's village (大同镇) and two more: one in 高阳镇 at 2 points per
    yuan, one in 大同镇."""
    gaoyang = _second_village("GY01", "高阳镇", 2)
    datong = _second_village("DT02", "大同镇", 1)
    return {
        "DT01": {"supermarket": supermarket, "admin": admin},
        "GY01": gaoyang,
        "DT02": datong,
    }


def _assert_lines_match_each_report(area: dict) -> None:
    for line in area["lines"]:
        sid = line["supermarket"]["id"]
        report, close = monthend.report_for(sid, area["month"])
        assert line["closed"] is (close is not None)
        assert line["stock"] == {f: report["stock_totals"][f] for f in monthend.AREA_STOCK_FIELDS}
        assert line["fund"] == report["fund"]
        assert line["tieout"] == report["tieout"]
        if close is None:
            assert line["opening_from"] == report["opening_from"]


def _assert_totals(area: dict) -> None:
    t = area["totals"]
    for f in monthend.AREA_STOCK_FIELDS:
        assert t["stock"][f] == sum(line["stock"][f] for line in area["lines"])
    for f in monthend.FUND_FIELDS:
        assert t["fund"][f] == sum(line["fund"][f] for line in area["lines"])
    for f in monthend.TIEOUT_HEADLINE:
        assert t["tieout"][f] == sum(line["tieout"][f] for line in area["lines"])


def test_each_line_equals_the_supermarkets_own_report_open_and_closed(county):
    for month in MONTHS:  # nothing closed: every opening from the ledger
        area = monthend.build_area_report(month)
        assert [line["supermarket"]["code"] for line in area["lines"]] == ["DT01", "DT02", "GY01"]
        assert area["closed"] == 0
        _assert_lines_match_each_report(area)
        _assert_totals(area)
    march = monthend.build_area_report("2025-03")
    gaoyang = next(line for line in march["lines"] if line["supermarket"]["code"] == "GY01")
    # 3 oil at 68.50 out in March, at 2 points per yuan: 137 points each.
    assert gaoyang["stock"]["redeemed_value"] == 3 * 6850
    assert gaoyang["tieout"]["points_net"] == 3 * 137
    assert gaoyang["tieout"]["points_per_yuan"] == 2

    # Close February everywhere, and March in two of the three.
    for village in county.values():
        monthend.close_month(village["supermarket"].id, "2025-02", actor=village["admin"])
    for code in ("DT01", "GY01"):
        monthend.close_month(county[code]["supermarket"].id, "2025-03", actor=county[code]["admin"])
    for month in MONTHS:
        area = monthend.build_area_report(month)
        _assert_lines_match_each_report(area)
        _assert_totals(area)
    march = monthend.build_area_report("2025-03")
    assert march["closed"] == 2
    assert {line["supermarket"]["code"]: line["opening_from"] for line in march["lines"]} == {
        "DT01": "stored",
        "DT02": "close",
        "GY01": "stored",
    }
    april = monthend.build_area_report("2025-04")
    assert {line["supermarket"]["code"]: line["opening_from"] for line in april["lines"]} == {
        "DT01": "close",
        "DT02": "ledger",  # its latest close is February: February's closing plus March
        "GY01": "close",
    }
    gaoyang = next(line for line in april["lines"] if line["supermarket"]["code"] == "GY01")
    assert gaoyang["tieout"]["voids_earlier_month"] == 1
    assert gaoyang["tieout"]["points_net"] == -137


def test_a_closed_month_reads_its_stored_close(county):
    village = county["GY01"]
    sid = village["supermarket"].id
    monthend.close_month(sid, "2025-02", actor=village["admin"])
    close = monthend.close_month(sid, "2025-03", actor=village["admin"])
    stored = close.report
    # A donation backdated into closed March (what `jifen check` reports): the area report
    # keeps showing March as it was closed, and April's opening is March's stored closing.
    clock = scenario.Backdater()
    scenario._post_fund(village["supermarket"], FUND_DONATION, 700)
    clock.to(datetime(2025, 3, 20, 12, 0))
    march = monthend.build_area_report("2025-03", town="高阳镇")
    (line,) = march["lines"]
    assert line["closed"] and line["opening_from"] == "stored"
    assert line["fund"] == stored["fund"]
    assert line["fund"]["closing"] != monthend.build_report(sid, "2025-03")["fund"]["closing"]
    (april,) = monthend.build_area_report("2025-04", town="高阳镇")["lines"]
    assert april["fund"]["opening"] == stored["fund"]["closing"]


def test_a_stored_report_of_another_version_is_computed_from_the_ledger(county):
    village = county["DT02"]
    sid = village["supermarket"].id
    close = monthend.close_month(sid, "2025-02", actor=village["admin"])
    with write_transaction():
        db.session.execute(
            sa.update(MonthClose)
            .where(MonthClose.id == close.id)
            .values(
                report=dict(close.report, version=0, fund={"closing": -1}),
                summary=dict(close.summary, version=0, fund={"closing": -1}),
            )
        )
    february = monthend.build_area_report("2025-02")
    line = next(ln for ln in february["lines"] if ln["supermarket"]["id"] == sid)
    assert line["closed"] and line["opening_from"] == "ledger"
    assert line["fund"] == monthend.build_report(sid, "2025-02")["fund"]
    # March's opening does not take the unreadable close's figures either.
    march = monthend.build_area_report("2025-03")
    line = next(ln for ln in march["lines"] if ln["supermarket"]["id"] == sid)
    assert line["opening_from"] == "ledger"
    assert line["fund"] == monthend.build_report(sid, "2025-03")["fund"]


def test_a_close_without_a_summary_is_computed_from_the_ledger(county):
    village = county["DT01"]
    sid = village["supermarket"].id
    close = monthend.close_month(sid, "2025-02", actor=village["admin"])
    assert close.summary == monthend.report_summary(close.report)
    assert close.summary["fund"] == close.report["fund"]
    with write_transaction():
        db.session.execute(
            sa.update(MonthClose).where(MonthClose.id == close.id).values(summary=None)
        )
    line = next(
        ln
        for ln in monthend.build_area_report("2025-02")["lines"]
        if ln["supermarket"]["id"] == sid
    )
    assert line["closed"] and line["opening_from"] == "ledger"
    assert line["fund"] == close.report["fund"]


def test_one_town(county):
    area = monthend.build_area_report("2025-03", town="大同镇")
    assert area["town"] == "大同镇" and area["supermarkets"] == 2
    assert [line["supermarket"]["code"] for line in area["lines"]] == ["DT01", "DT02"]
    _assert_lines_match_each_report(area)
    with pytest.raises(NotFound):
        monthend.build_area_report("2025-03", town="没有这个镇")
    with pytest.raises(ValidationFailed):
        monthend.build_area_report("2025-13")


def _statements(fn) -> int:
    seen = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_grouped_queries_not_one_per_supermarket(county):
    """As many statements for three supermarkets as for one, open or closed."""
    for month in ("2025-03", "2025-04"):
        one = _statements(lambda m=month: monthend.build_area_report(m, town="高阳镇"))
        three = _statements(lambda m=month: monthend.build_area_report(m))
        assert three == one
    for village in county.values():
        monthend.close_month(village["supermarket"].id, "2025-02", actor=village["admin"])
        monthend.close_month(village["supermarket"].id, "2025-03", actor=village["admin"])
    for month in ("2025-03", "2025-04"):
        one = _statements(lambda m=month: monthend.build_area_report(m, town="高阳镇"))
        three = _statements(lambda m=month: monthend.build_area_report(m))
        assert three == one


def test_cli_prints_the_lines_and_totals_and_writes_xlsx(county, runner, tmp_path):
    path = tmp_path / "area.xlsx"
    result = runner.invoke(args=["monthend", "area", "--month", "2025-03", "--xlsx", str(path)])
    assert result.exit_code == 0, result.output
    area = monthend.build_area_report("2025-03")
    assert "全县 2025-03 月结汇总：3 个超市，已结账 0 个" in result.output
    assert "GY01 高阳镇GY01积分超市（未结账）" in result.output
    points = area["totals"]["tieout"]["points_net"]
    assert f"合计：兑换 {points} 分" in result.output
    rows = read_rows(path.read_bytes())
    header = rows[3]
    total = next(row for row in rows if row[0] == "合计")
    closing = area["totals"]["stock"]["closing_value"]
    assert float(total[header.index("期末库存")]) == closing / 100
    assert total[header.index("兑换积分净额")] == points
    assert [row[0] for row in rows[4:7]] == ["DT01", "DT02", "GY01"]

    town = runner.invoke(args=["monthend", "area", "--month", "2025-03", "--town", "高阳镇"])
    assert town.exit_code == 0 and "高阳镇 2025-03 月结汇总：1 个超市" in town.output
    bad = runner.invoke(args=["monthend", "area", "--month", "2025-3"])
    assert bad.exit_code == 1 and "月份格式应为" in bad.output


def test_the_area_report_groups_in_memory_for_its_transaction_only(county):
    """On PostgreSQL the report raises work_mem for its own transaction (a county month's
    lines were sorted on disk with the default); the next transaction has the default."""
    db.session.rollback()
    conn = db.session.connection()
    if db.engine.dialect.name != "postgresql":
        assert monthend.build_area_report("2025-03")["supermarkets"] == len(county)
        return
    default = conn.exec_driver_sql("SHOW work_mem").scalar()
    monthend.build_area_report("2025-03")
    assert db.session.connection().exec_driver_sql("SHOW work_mem").scalar() == "64MB"
    db.session.rollback()
    assert db.session.connection().exec_driver_sql("SHOW work_mem").scalar() == default != "64MB"
