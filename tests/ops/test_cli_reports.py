"""``jifen report ...`` writes the same workbooks the office's pages download: both call the
report functions of kiosk/reports/, so the cells agree."""

from __future__ import annotations

import pytest

from inventory import donations
from kiosk import intake, standards
from kiosk.export import read_rows
from kiosk.timeutil import local_date, utcnow
from tests import factories


@pytest.fixture
def today(app):
    return local_date(utcnow(), app.config["JIFEN_TIMEZONE"])


@pytest.fixture
def office(client, admin):
    r = client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    assert r.status_code == 302
    return client


def _cli_rows(runner, tmp_path, *args: str) -> list[list]:
    out = tmp_path / "report.xlsx"
    result = runner.invoke(args=["report", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"已导出 {out}" in result.output
    return read_rows(out.read_bytes())


def _page_rows(client, url: str) -> list[list]:
    r = client.get(url)
    assert r.status_code == 200
    return read_rows(r.data)


def test_cli_and_page_give_the_same_proposals_and_standards(
    runner, office, supermarket, admin, tmp_path
):
    standards.create_item(supermarket.id, code="K1", title="打扫卫生", points=2, actor=admin)
    home = factories.household(supermarket, number="A-01", head_name="张三")
    intake.propose(
        supermarket.id,
        intake.ProposalInput(home.id, local_date(utcnow()), amount=2, reason="打扫卫生"),
        actor=admin,
    )
    cli = _cli_rows(runner, tmp_path, "standards")
    assert cli == _page_rows(office, "/intake/export/standards.xlsx")
    assert cli[3][:3] == ["K1", "打扫卫生", 2]
    cli = _cli_rows(runner, tmp_path, "proposals")
    page = _page_rows(office, "/intake/export/proposals.xlsx")
    assert cli[0][0] == page[0][0] == "加减分登记台账"
    # (the second subtitle line is the export's minute, which may differ by one)
    assert cli[3:] == page[3:]
    assert cli[4][2:4] == ["A-01", "张三"]


def test_cli_and_page_give_the_same_fund_books(
    runner, office, supermarket, keeper, today, tmp_path
):
    donor = donations.create_donor(supermarket.id, name="王德福", kind="xiangxian", actor=keeper)
    donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=50000, donated_on=today, actor=keeper
    )
    span = ["--from", today.isoformat(), "--to", today.isoformat()]
    query = f"?start={today.isoformat()}&end={today.isoformat()}"
    for book, url in (
        ("pool", "/fund/ledger.xlsx"),
        ("donations", "/fund/donations.xlsx"),
        ("public", "/fund/public.xlsx"),
    ):
        cli = _cli_rows(runner, tmp_path, "fund", book, *span)
        assert cli == _page_rows(office, url + query), book
        assert "王德福" in str(cli) or book == "public"


def test_cli_month_and_visit_reports(runner, supermarket, today, tmp_path):
    factories.household(supermarket, number="A-01", head_name="张三")
    month = f"{today:%Y-%m}"
    rows = _cli_rows(runner, tmp_path, "month", month)
    assert rows[0][0] == f"库存月结表 {month}"
    rows = _cli_rows(runner, tmp_path, "visits", "--month", month)
    assert rows[0][0] == f"月记录 {month}"
    assert rows[3][1:4] == ["A-01", "张三", "未记录"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["month", "2026-13"], "月份应为 YYYY-MM"),
        (["visits", "--month", "11-2026"], "月份应为 YYYY-MM"),
        (
            ["fund", "pool", "--from", "2026-11-10", "--to", "2026-11-01"],
            "结束日期不能早于开始日期",
        ),
        (["fund", "donations", "--from", "yesterday"], "日期格式不正确"),
    ],
)
def test_cli_report_refusals_are_chinese_and_exit_1(runner, supermarket, args, message):
    result = runner.invoke(args=["report", *args])
    assert result.exit_code == 1
    assert message in result.output
