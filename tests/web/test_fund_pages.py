"""The donations and fund pool pages: who may open and post what, forms that keep what was
typed on a refusal, the receipt printed after recording, and the XLSX downloads read back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from inventory import donations, fund
from inventory.donations import GoodsLine
from inventory.models import Donation, Donor, Product
from kiosk.clock import local_now
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.models import AuditEvent, PrintJob, Supermarket
from tests import factories

USERNAMES = {"keeper": "keeper1", "admin": "admin1", "supervisor": "super1"}


def login(client, who):
    r = client.post("/login/password", data={"username": USERNAMES[who], "password": "secret123"})
    assert r.status_code in (302, 303), r.data


@pytest.fixture
def people(keeper, admin, supervisor):
    return {"keeper": keeper, "admin": admin, "supervisor": supervisor}


@pytest.fixture
def donor(supermarket, keeper):
    return donations.create_donor(
        supermarket.id, name="王德福", kind="xiangxian", contact="13800000000", actor=keeper
    )


@pytest.fixture
def today(app):
    return local_now().date()


PAGES = ["/fund", "/fund/donors", "/fund/donations", "/fund/ledger", "/fund/public"]


@pytest.mark.parametrize("who", ["keeper", "admin", "supervisor"])
def test_everyone_in_the_office_reads_every_page(client, people, donor, today, who):
    d = donations.record_cash_donation(
        donor.supermarket_id, donor_id=donor.id, amount_fen=100, donated_on=today, actor=None
    )
    login(client, who)
    for path in [*PAGES, f"/fund/donors/{donor.id}", f"/fund/donations/{d.id}"]:
        r = client.get(path)
        assert r.status_code == 200, path
    for path in ["/fund/ledger.xlsx", "/fund/public.xlsx", "/fund/donations.xlsx"]:
        assert client.get(path).status_code == 200


def test_anonymous_visitors_go_to_the_login_page(client, supermarket):
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize(
    "who,can_record,can_admin",
    [("keeper", True, False), ("admin", True, True), ("supervisor", False, False)],
)
def test_writes_by_role(client, people, supermarket, donor, today, who, can_record, can_admin):
    d = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=5000, donated_on=today, actor=None
    )
    login(client, who)
    page = client.get("/fund").get_data(as_text=True)
    assert ('id="new-cash"' in page) is can_record
    assert ('id="limit-form"' in page) is can_admin
    detail = client.get(f"/fund/donations/{d.id}").get_data(as_text=True)
    assert ('id="reverse-form"' in detail) is can_admin
    assert ('id="print-receipt"' in detail) is can_record

    r = client.post(
        "/fund/donations/new",
        data={"form": "cash", "donor_id": donor.id, "amount": "10", "donated_on": str(today)},
    )
    assert r.status_code == (302 if can_record else 403)
    r = client.post("/fund/donors", data={"name": "县农商银行", "kind": "enterprise"})
    assert r.status_code == (302 if can_record else 403)
    r = client.post(f"/fund/donations/{d.id}/print")
    assert r.status_code == (302 if can_record else 403)
    r = client.post("/fund/advance-limit", data={"limit": "100"})
    assert r.status_code == (302 if can_admin else 403)
    r = client.post(
        f"/fund/donors/{donor.id}",
        data={"name": "王德福", "kind": "xiangxian", "contact": "", "active": "1"},
    )
    assert r.status_code == (302 if can_admin else 403)
    r = client.post(f"/fund/donations/{d.id}/reverse", data={"reason": "记错"})
    assert r.status_code == (302 if can_admin else 403)

    db.session.expire_all()
    assert db.session.get(Donation, d.id).status == ("reversed" if can_admin else "recorded")
    assert db.session.get(Supermarket, supermarket.id).fund_advance_limit_fen == (
        10000 if can_admin else 0
    )
    count = db.session.scalar(sa.select(sa.func.count(Donation.id)))
    assert count == (2 if can_record else 1)


def test_recording_cash_prints_the_receipt_and_moves_the_balance(
    client, keeper, supermarket, donor, today
):
    login(client, "keeper")
    r = client.post(
        "/fund/donations/new",
        data={
            "form": "cash",
            "donor_id": donor.id,
            "amount": "1,234.50",
            "donated_on": str(today),
            "note": "春节",
            "print": "1",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "已登记捐赠 JZ000001，金额 1234.50 元" in page
    assert "收据已打印" in page
    assert "捐赠收据" in page and "大写：人民币壹仟贰佰叁拾肆元伍角整" in page
    assert "13800000000" not in page.split('id="receipt-text"')[1]
    assert fund.balance_fen(supermarket.id) == 123450
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.kind == "donation"))
    assert job.status == "printed"
    # The next tap reprints, marked as a second copy.
    d = db.session.scalar(sa.select(Donation))
    client.post(f"/fund/donations/{d.id}/print")
    page = client.get(f"/fund/donations/{d.id}").get_data(as_text=True)
    assert "已打印 2 份" in page and "补打（第2份）" in page


@pytest.mark.parametrize(
    "data,message",
    [
        ({"amount": "abc"}, "捐赠金额应为数字"),
        ({"amount": ""}, "请填写捐赠金额"),
        ({"amount": "0"}, "必须大于0"),
        ({"donor_id": ""}, "请选择捐赠方"),
        ({"donated_on": "2099-01-01"}, "不能晚于今天"),
        ({"donated_on": "昨天"}, "请填写捐赠日期"),
    ],
)
def test_a_bad_cash_form_keeps_what_was_typed(client, keeper, donor, today, data, message):
    login(client, "keeper")
    form = {"form": "cash", "donor_id": str(donor.id), "amount": "88", "donated_on": str(today)}
    form.update(note="一句备注", **data)
    r = client.post("/fund/donations/new", data=form)
    assert r.status_code in (400, 404)
    page = r.get_data(as_text=True)
    assert message in page
    assert 'value="一句备注"' in page
    assert db.session.scalar(sa.select(sa.func.count(Donation.id))) == 0


def test_recording_goods_from_the_form(client, keeper, supermarket, donor, today):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=10, unit="袋")
    oil = factories.product(supermarket, name="花生油", cost_fen=5000, stock_qty=0, unit="桶")
    login(client, "keeper")
    page = client.get("/fund/donations/new?form=goods").get_data(as_text=True)
    assert page.count('name="product_id"') == 5
    base = {"form": "goods", "donor_id": str(donor.id), "donated_on": str(today)}
    # A half-filled row is refused with its row number, and the rows come back as typed.
    r = client.post(
        "/fund/donations/new",
        data={
            **base,
            "product_id": [str(rice.id), "", ""],
            "quantity": ["10", "3", ""],
            "unit_value": ["30", "", ""],
        },
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "第2行：请选择物品" in page
    assert 'value="30"' in page and 'value="3"' in page
    r = client.post(
        "/fund/donations/new",
        data={
            **base,
            "product_id": [str(rice.id), str(oil.id), ""],
            "quantity": ["10", "2", ""],
            "unit_value": ["30", "49.9", ""],
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 20
    assert db.session.get(Product, rice.id).unit_cost_fen == 2500
    d = db.session.scalar(sa.select(Donation))
    assert (d.form, d.amount_fen) == ("goods", 30000 + 9980)
    page = client.get(f"/fund/donations/{d.id}").get_data(as_text=True)
    assert "大米" in page and "399.80" in page
    assert fund.balance_fen(supermarket.id) == 0


def test_new_donor_from_the_donation_form_comes_back_chosen(client, keeper, supermarket):
    login(client, "keeper")
    nxt = "/fund/donations/new?form=cash"
    r = client.post(
        "/fund/donors",
        data={"name": "县供电公司", "kind": "partner_unit", "next": nxt},
    )
    donor = db.session.scalar(sa.select(Donor))
    assert r.headers["Location"].endswith(f"{nxt}&donor_id={donor.id}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f'<option value="{donor.id}" selected>' in page
    # Somewhere else is not a place to go back to.
    r = client.post(
        "/fund/donors", data={"name": "某企业", "kind": "enterprise", "next": "https://evil"}
    )
    assert r.headers["Location"].endswith("/fund/donors")
    r = client.post("/fund/donors", data={"name": "", "kind": "enterprise", "contact": "电话1"})
    assert r.status_code == 400
    assert "请填写捐赠方名称" in r.get_data(as_text=True)
    assert 'value="电话1"' in r.get_data(as_text=True)


def test_refused_reversal_and_advance_limit_show_why(client, admin, supermarket, donor, today):
    d = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=50000, donated_on=today, actor=None
    )
    from inventory.models import FUND_PURCHASE
    from kiosk.database import write_transaction

    with write_transaction():
        fund.post_entry(supermarket.id, FUND_PURCHASE, -40000, actor=None, ref_type="stock_in")
    login(client, "admin")
    r = client.post(f"/fund/donations/{d.id}/reverse", data={"reason": "记错了"})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "基金池余额不足" in page and 'value="记错了"' in page
    r = client.post(f"/fund/donations/{d.id}/reverse", data={"reason": ""})
    assert "撤销需要填写原因" in r.get_data(as_text=True)
    r = client.post("/fund/advance-limit", data={"limit": "一百"})
    assert r.status_code == 400 and "垫支额度应为数字" in r.get_data(as_text=True)
    r = client.post("/fund/advance-limit", data={"limit": "400"}, follow_redirects=True)
    assert "允许垫支额度已改为 400.00 元" in r.get_data(as_text=True)
    r = client.post(
        f"/fund/donations/{d.id}/reverse", data={"reason": "记错了"}, follow_redirects=True
    )
    page = r.get_data(as_text=True)
    assert "捐赠 JZ000001 已撤销" in page and 'id="status-reversed"' in page
    assert fund.balance_fen(supermarket.id) == -40000
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"fund.advance_limit", "donation.reverse"} <= actions


def test_admin_edits_a_donor(client, admin, donor):
    login(client, "admin")
    r = client.post(
        f"/fund/donors/{donor.id}",
        data={
            "name": "王德福",
            "kind": "xiangxian",
            "contact": "新号码",
            "publish_full_name": "1",
            "active": ["1", "0"],
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    d = db.session.get(Donor, donor.id)
    assert (d.contact, d.publish_full_name, d.active) == ("新号码", True, True)
    r = client.post(
        f"/fund/donors/{donor.id}",
        data={"name": "王德福", "kind": "xiangxian", "contact": "", "active": "0"},
    )
    db.session.expire_all()
    assert db.session.get(Donor, donor.id).active is False


def test_public_list_masks_people_and_hides_contacts(client, keeper, supermarket, donor, today):
    bank = donations.create_donor(
        supermarket.id, name="县农商银行", kind="enterprise", contact="0631-888", actor=None
    )
    rice = factories.product(supermarket, name="大米", cost_fen=0, stock_qty=0, unit="袋")
    donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=20000, donated_on=today, actor=None
    )
    donations.record_goods_donation(
        supermarket.id,
        donor_id=bank.id,
        lines=[GoodsLine(rice.id, 10, 3000)],
        donated_on=today,
        actor=None,
    )
    login(client, "keeper")
    page = client.get("/fund/public").get_data(as_text=True)
    notice = page.split('id="notice"')[1]
    assert "王*福" in notice and "王德福" not in notice
    assert "县农商银行" in notice and "大米×10袋" in notice
    assert "13800000000" not in page and "0631-888" not in page
    assert "500.00" in notice  # 200.00 cash + 300.00 goods
    start = (today - timedelta(days=3)).isoformat()
    r = client.get(f"/fund/public.xlsx?start={start}&end={today.isoformat()}")
    assert r.mimetype.endswith("spreadsheetml.sheet")
    rows = read_rows(r.data)
    assert rows[0][0] == f"{supermarket.name} 捐赠公示"
    assert rows[1][0] == f"{start} 至 {today.isoformat()}"
    header = rows.index(["序号", "日期", "捐赠方", "类别", "方式", "物品", "金额/价值(元)"])
    body = rows[header + 1 : header + 3]
    assert [r[2:5] for r in body] == [["王*福", "乡贤", "现金"], ["县农商银行", "企业", "物品"]]
    assert [float(r[6]) for r in body] == [200.0, 300.0]
    assert rows[header + 3][1] == "合计" and float(rows[header + 3][6]) == 500.0
    assert not any("13800000000" in str(c) for row in rows for c in row)


def test_ledger_page_and_xlsx(client, keeper, supermarket, donor, today):
    donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=30000, donated_on=today, actor=keeper
    )
    from inventory.models import FUND_PURCHASE
    from kiosk.database import write_transaction

    with write_transaction():
        fund.post_entry(
            supermarket.id, FUND_PURCHASE, -5000, actor=keeper, ref_type="stock_in", ref_id=7
        )
    login(client, "keeper")
    page = client.get("/fund/ledger").get_data(as_text=True)
    assert 'id="ledger-closing" class="">250.00' in page
    assert "JZ000001" in page and "入库单 7" in page
    r = client.get(f"/fund/ledger.xlsx?start={today.isoformat()}&end={today.isoformat()}")
    rows = read_rows(r.data)
    assert rows[0][0] == f"{supermarket.name} 基金池台账"
    assert rows[2][0] == "期初余额 0.00 元"
    header = rows.index(
        ["时间", "类别", "单据", "摘要", "收入(元)", "支出(元)", "余额(元)", "经办人"]
    )
    entries = rows[header + 1 : header + 3]
    assert [(e[1], e[2]) for e in entries] == [("捐赠收入", "JZ000001"), ("采购支出", "入库单 7")]
    assert [(e[4], e[5], float(e[6])) for e in entries][0][2] == 300.0
    assert float(entries[1][5]) == 50.0 and entries[1][4] is None
    assert rows[header + 3][0] == "合计" and float(rows[header + 3][6]) == 250.0
    # A range with nothing in it, and a bad range, still answer.
    later = (today + timedelta(days=5)).isoformat()
    page = client.get(f"/fund/ledger?start={later}&end={later}").get_data(as_text=True)
    assert "这段时间基金池没有进出" in page
    page = client.get("/fund/ledger?start=bad").get_data(as_text=True)
    assert "日期格式不正确" in page
    page = client.get(f"/fund/ledger?start={later}&end={today.isoformat()}").get_data(as_text=True)
    assert "结束日期不能早于开始日期" in page


def test_other_supermarkets_donations_are_not_found(client, keeper, supermarket, today):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    od = donations.create_donor(other.id, name="某企业", kind="enterprise", actor=None)
    d = donations.record_cash_donation(
        other.id, donor_id=od.id, amount_fen=100, donated_on=today, actor=None
    )
    login(client, "keeper")
    assert client.get(f"/fund/donations/{d.id}").status_code == 404
    assert client.get(f"/fund/donors/{od.id}").status_code == 404
    r = client.post(
        "/fund/donations/new",
        data={"form": "cash", "donor_id": od.id, "amount": "5", "donated_on": str(today)},
    )
    assert r.status_code == 404
    assert date.today() is not None


def test_a_dead_printer_never_undoes_the_donation(app, client, keeper, supermarket, donor, today):
    from tests.hardware.test_printing import FakeNetworkPrinter

    fake = FakeNetworkPrinter()  # bound, not listening: connections are refused
    app.config["JIFEN_PRINTER"] = fake.config()
    login(client, "keeper")
    try:
        r = client.post(
            "/fund/donations/new",
            data={
                "form": "cash",
                "donor_id": donor.id,
                "amount": "50",
                "donated_on": str(today),
                "print": "1",
            },
            follow_redirects=True,
        )
    finally:
        fake.stop()
    page = r.get_data(as_text=True)
    assert "已登记捐赠 JZ000001" in page and "收据没有打印出来" in page
    assert "第1份没有打印出来" in page
    assert fund.balance_fen(supermarket.id) == 5000
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.kind == "donation"))
    assert job.status == "failed" and job.last_error


def test_donation_register_xlsx_marks_reversed_ones(client, admin, supermarket, donor, today):
    a = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=20000, donated_on=today, actor=admin
    )
    donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=500, donated_on=today, actor=admin
    )
    donations.reverse_donation(a.id, actor=admin, reason="登记重复")
    login(client, "admin")
    rows = read_rows(client.get("/fund/donations.xlsx").data)
    assert rows[0][0] == f"{supermarket.name} 捐赠登记簿"
    header = next(i for i, row in enumerate(rows) if row[0] == "收据号")
    body = rows[header + 1 : header + 3]
    assert [(r[0], r[2], r[4], float(r[6]), r[7], r[8]) for r in body] == [
        ("JZ000001", "王德福", "现金", 200.0, "已撤销", "登记重复"),
        ("JZ000002", "王德福", "现金", 5.0, "有效", None),
    ]
    assert not any("13800000000" in str(c) for row in rows for c in row)
