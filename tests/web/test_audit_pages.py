"""The log page (操作日志): who may see it, its filters and paging, before/after in words, the
chains' state (and a broken one), checking a closing slip against the chain, the XLSX export;
the closing slip (日结单) decoded back from its ESC/POS bytes; the self-service scan limit."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from hardware import slips
from hardware.receipt import render_slip_escpos
from inventory.stock import StockInLine, receive_stock
from kiosk import audit, auth, printing
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import AuditEvent, PrintJob, ScanThrottle
from kiosk.redemption import CartLine, redeem, void_redemption
from kiosk.timeutil import utcnow
from tests import factories
from tests.escpos_decode import decode
from tests.hardware.test_printing import FakeNetworkPrinter


def login(client, username: str, password: str = "secret123"):
    return client.post("/login/password", data={"username": username, "password": password})


@pytest.mark.parametrize(
    "who,status", [("admin1", 200), ("super1", 200), ("keeper1", 403), (None, 302)]
)
def test_who_may_read_the_log(client, admin, supervisor, keeper, who, status):
    if who:
        login(client, who)
    assert client.get("/audit").status_code == status
    assert client.get("/audit/export.xlsx").status_code == status


def test_log_shows_changes_in_words_and_the_chain_state(client, admin, supervisor, keeper):
    auth.set_active(keeper.id, False, actor=admin)
    login(client, "super1")
    page = client.get("/audit").get_data(as_text=True)
    assert "停用用户" in page and "李主任" in page
    assert 'class="audit-before">是<' in page and "→ 否" in page  # 启用: 是 → 否
    assert "已核验到第" in page and "完好" in page
    seq, digest = audit.chain_head(keeper.supermarket_id)
    assert f"第{seq}号 <code>{digest[:16]}</code>" in page
    assert "打印日结单" not in page  # supervisors read; they do not print


def test_filters_and_paging(client, app, admin, supervisor, keeper, supermarket):
    with write_transaction():
        for i in range(60):
            audit.record("test.bulk", supermarket, actor=admin, supermarket_id=supermarket.id, n=i)
        audit.record(
            "test.note", supermarket, actor=keeper, supermarket_id=supermarket.id, note="花生油"
        )
    login(client, "super1")
    page = client.get("/audit?action=test.bulk").get_data(as_text=True)
    assert "共60条，第1/2页" in page and 'id="page-next"' in page
    page2 = client.get("/audit?action=test.bulk&page=2").get_data(as_text=True)
    assert "第2/2页" in page2 and 'id="page-prev"' in page2
    page = client.get(f"/audit?actor={keeper.id}").get_data(as_text=True)
    assert "共1条" in page and "花生油" in page
    page = client.get("/audit?q=花生油").get_data(as_text=True)
    assert "共1条" in page
    page = client.get("/audit?q=100%25").get_data(as_text=True)
    assert "共0条" in page and "没有符合条件的记录" in page
    page = client.get(f"/audit?subject=User&subject_id={keeper.id}").get_data(as_text=True)
    assert "共1条" in page and "新建用户" in page
    today = (utcnow() + timedelta(hours=8)).date()
    tomorrow = today + timedelta(days=1)
    page = client.get(f"/audit?from={tomorrow}&to={tomorrow}").get_data(as_text=True)
    assert "共0条" in page
    page = client.get(f"/audit?from={today}&to={today}&action=test.bulk").get_data(as_text=True)
    assert "共60条" in page
    page = client.get("/audit?from=2024-13-01&subject_id=abc").get_data(as_text=True)
    assert "日期格式不正确" in page and "对象编号应为数字" in page


def test_broken_chain_is_shown_on_the_page(client, admin, supervisor, supermarket):
    with write_transaction():
        audit.record("test.a", supermarket, actor=admin, supermarket_id=supermarket.id)
    db.session.rollback()
    first = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.chain == supermarket.id, AuditEvent.seq == 1)
    )
    first_id = first.id
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_events SET action = 'x' WHERE id = :id"), {"id": first_id}
        )
    login(client, "super1")
    page = client.get("/audit").get_data(as_text=True)
    assert "在第1号断开" in page and "被改动" in page


def test_checking_a_closing_slip_against_the_chain(client, admin, supervisor, supermarket):
    seq, digest = audit.chain_head(supermarket.id)
    login(client, "super1")
    page = client.get(f"/audit?paper_seq={seq}&paper_hash={digest[:16]}").get_data(as_text=True)
    assert "日结单与操作日志一致" in page
    page = client.get(f"/audit?paper_seq={seq}&paper_hash=0123456789abcdef").get_data(as_text=True)
    assert "不一致" in page
    page = client.get(f"/audit?paper_seq={seq + 99}&paper_hash={digest[:16]}").get_data(
        as_text=True
    )
    assert "日志中没有" in page


def test_export_is_a_workbook_of_the_filtered_log(client, admin, supervisor, keeper):
    auth.set_active(keeper.id, False, actor=admin)
    login(client, "super1")
    response = client.get("/audit/export.xlsx?action=user.deactivate")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "操作日志"
    header = rows.index(["链号", "时间", "操作人", "操作", "对象", "内容", "哈希(前16位)"])
    data = [r for r in rows[header + 1 :] if r[3]]
    assert len(data) == 1
    assert data[0][2] == "李主任" and data[0][3] == "停用用户"
    assert "启用：是 → 否" in data[0][5]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deactivate"))
    assert data[0][0] == event.seq and data[0][6] == event.hash[:16]


# --- the closing slip (日结单) -----------------------------------------------------------------

DATA = slips.ClosingSlipData(
    supermarket_name="大同镇积分超市",
    day="2024-03-01",
    printed_at="2024-03-01 18:00:00",
    keeper="王店长",
    redemptions=12,
    redemption_points=340,
    redemption_cost="340.00",
    voids=1,
    void_points=20,
    void_cost="20.00",
    net_points=320,
    net_cost="320.00",
    stock_ins=2,
    stock_in_lines=5,
    stock_in_cost="1200.50",
    print_failures=1,
    chain_seq=4711,
    chain_hash="0123456789abcdef",
)


def _two_ends(left: str, right: str, columns: int) -> str:
    from hardware.receipt import text_width

    return left + " " * (columns - text_width(left) - text_width(right)) + right


@pytest.mark.parametrize("paper,columns", [(58, 32), (80, 48)])
def test_closing_slip_decodes_to_the_expected_lines(paper, columns):
    printout = decode(render_slip_escpos(slips.closing_slip(DATA, columns), paper))
    rule = "-" * columns
    expected = [
        "大同镇积分超市",
        "日结单",
        rule,
        "日期：2024-03-01",
        "打印时间：2024-03-01 18:00:00",
        "超市管理员：王店长",
        rule,
        _two_ends("兑换笔数", "12", columns),
        _two_ends("兑换积分", "340", columns),
        _two_ends("兑换成本(元)", "340.00", columns),
        _two_ends("作废笔数", "1", columns),
        _two_ends("作废积分", "20", columns),
        _two_ends("作废成本(元)", "20.00", columns),
        _two_ends("净兑换积分", "320", columns),
        _two_ends("净兑换成本(元)", "320.00", columns),
        rule,
        _two_ends("入库单数", "2", columns),
        _two_ends("入库品种行数", "5", columns),
        _two_ends("入库金额(元)", "1200.50", columns),
        _two_ends("打印失败(未补打)", "1", columns),
        rule,
        "操作日志链头：",
        "第4711号 0123456789abcdef",
        rule,
        "",
        "",
        "超市管理员签字：" + "_" * (columns - 16),
        "",
        "",
        "监督小组签字：" + "_" * (columns - 14),
    ]
    assert printout.lines[: len(expected)] == expected
    assert all(line == "" for line in printout.lines[len(expected) :])
    assert len(printout.cuts) == 1


def test_closing_slip_of_a_real_day(app, supermarket, keeper, admin):
    hh = factories.household(supermarket, points=100)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, name="香皂", cost_fen=350, stock_qty=50)
    receipts = [
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 2)],
            keeper=keeper,
            idempotency_key=f"closing-day-{i:04d}",
        )
        for i in range(3)
    ]
    void_redemption(receipts[0].id, actor=keeper, reason="拿错了")
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)
    receive_stock(supermarket.id, [StockInLine(rice.id, 10, 3550)], actor=keeper)
    refused = FakeNetworkPrinter()  # bound, not listening: the receipt fails to print
    try:
        app.config["JIFEN_PRINTER"] = refused.config()
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key="day-failed-print",
        )
    finally:
        app.config["JIFEN_PRINTER"] = {"type": "preview", "paper_mm": 80}
        refused.server.close()
    points_each = receipts[0].total_points
    job = printing.print_closing_slip(supermarket.id, actor=keeper)
    assert (job.kind, job.status) == ("closing", "printed")
    lines = decode(job.payload).lines
    columns = 48

    def row(left, right):
        return _two_ends(left, str(right), columns)

    assert lines[:2] == [supermarket.name, "日结单"]
    assert row("兑换笔数", 4) in lines
    assert row("兑换积分", 3 * points_each + points_each // 2) in lines
    assert row("兑换成本(元)", "24.50") in lines  # 7 soaps at 3.50
    assert row("作废笔数", 1) in lines and row("作废成本(元)", "7.00") in lines
    assert row("净兑换成本(元)", "17.50") in lines
    # two stock-ins: the soap's first 50 at 3.50 (by the factory) and 10 rice at 35.50
    assert row("入库单数", 2) in lines and row("入库品种行数", 2) in lines
    assert row("入库金额(元)", "530.00") in lines
    assert row("打印失败(未补打)", 1) in lines
    assert "超市管理员：王店长" in lines
    seq, digest = audit.chain_head(supermarket.id)
    assert f"第{seq}号 {digest[:16]}" in lines
    assert audit.link_matches(supermarket.id, seq, digest[:16])


def test_closing_slip_button_on_the_counter_and_its_page(client, keeper, supervisor):
    login(client, "keeper1")
    counter = client.get("/counter").get_data(as_text=True)
    assert 'action="/audit/closing-slip"' in counter
    response = client.post("/audit/closing-slip", data={"back": "counter"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "日结单" in page and "操作日志链头" in page and 'id="back-counter"' in page
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.kind == "closing"))
    other = client.application.test_client()
    login(other, "super1")
    assert other.get(f"/audit/closing/{job.id}").status_code == 200
    assert other.post("/audit/closing-slip").status_code == 403  # supervisors write nothing
    assert other.get(f"/audit/closing/{job.id + 1}").status_code == 404


# --- failed card scans on the self-service screen -------------------------------------------


def _scan(client, payload: str, ip: str = "10.0.0.7"):
    return client.post("/self/scan", json={"payload": payload}, environ_base={"REMOTE_ADDR": ip})


def test_self_service_locks_a_kiosk_after_10_bad_scans(app, client, supermarket):
    hh = factories.household(supermarket, points=5)
    _, good = factories.card(hh)
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    for i in range(10):
        response = _scan(client, forged)
        assert response.status_code == 422, i
    response = _scan(client, forged)
    assert response.status_code == 429  # the 11th is refused: the lock starts
    assert "分钟后再试" in response.get_json()["error"]["message"]
    assert _scan(client, good).status_code == 200  # a valid card is still answered
    assert _scan(client, forged, ip="10.0.0.8").status_code == 422  # another kiosk is not
    db.session.rollback()
    row = db.session.get(ScanThrottle, "self:10.0.0.7")
    assert row.locked_until > utcnow()
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "selfservice.scan_locked"
            )
        )
        == 1
    )
    # the lock lives in the database: it ends when its time is over
    with write_transaction():
        db.session.get(ScanThrottle, "self:10.0.0.7").locked_until = utcnow() - timedelta(seconds=1)
    assert _scan(client, forged).status_code == 422


def test_good_scans_do_not_clear_the_count(app, client, supermarket):
    hh = factories.household(supermarket, points=5)
    _, good = factories.card(hh)
    answers = []
    for _ in range(3):
        for _ in range(9):
            answers.append(_scan(client, "JF" + "1" * 20).status_code)
        assert _scan(client, good).status_code == 200
    assert answers == [422] * 10 + [429] * 17
    db.session.rollback()
    assert db.session.get(ScanThrottle, "self:10.0.0.7").failures == 27


def test_scan_lock_holds_for_a_restarted_app(app, supermarket):
    from tests.web.test_sessions import _restart

    for _ in range(10):
        _scan(app.test_client(), "JF" + "1" * 20)
    restarted = _restart(app)
    with restarted.app_context():
        try:
            assert _scan(restarted.test_client(), "JF" + "2" * 20).status_code == 429
        finally:
            db.session.remove()
            db.engine.dispose()
