"""The donation form (登记捐赠) through Flask-WTF: each render carries its own key, so the same
rendered form sent twice (a double tap, back and resubmit, a retried POST) records one
donation; hostile input is refused with the Chinese reason, never a 500."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from inventory import donations, fund
from inventory.models import Donation, FundEntry, Product, StockMovement
from kiosk.clock import local_now
from kiosk.extensions import db
from kiosk.models import PrintJob
from kiosk.web.forms import MAX_GOODS_ROWS
from tests import factories
from tests.conftest import sign_in

KEY = re.compile(r'name="idempotency_key" value="([A-Za-z0-9_-]+)"')


@pytest.fixture
def office(client, keeper):
    return sign_in(client, "keeper1")


@pytest.fixture
def donor(supermarket, keeper):
    return donations.create_donor(supermarket.id, name="王德福", kind="xiangxian", actor=keeper)


@pytest.fixture
def today(app):
    return local_now().date().isoformat()


def _rendered_key(client, kind: str = "cash") -> str:
    page = client.get(f"/fund/donations/new?form={kind}").get_data(as_text=True)
    (key,) = KEY.findall(page)
    return key


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_same_rendered_form_sent_twice_records_one_donation(office, supermarket, donor, today):
    key = _rendered_key(office)
    form = {
        "form": "cash",
        "donor_id": str(donor.id),
        "amount": "200",
        "donated_on": today,
        "print": "1",
        "idempotency_key": key,
    }
    first = office.post("/fund/donations/new", data=form)
    second = office.post("/fund/donations/new", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(Donation) == 1 and _count(FundEntry) == 1
    assert fund.balance_fen(supermarket.id) == 20000
    assert _count(PrintJob) == 1  # the receipt is not printed a second time
    page = office.get(second.headers["Location"]).get_data(as_text=True)
    assert "这笔捐赠已经登记过（JZ000001），没有重复登记" in page


def test_two_renders_are_two_donations(office, supermarket, donor, today):
    keys = [_rendered_key(office), _rendered_key(office)]
    assert keys[0] != keys[1]
    for key in keys:
        r = office.post(
            "/fund/donations/new",
            data={
                "form": "cash",
                "donor_id": str(donor.id),
                "amount": "200",
                "donated_on": today,
                "idempotency_key": key,
            },
        )
        assert r.status_code == 302
    assert _count(Donation) == 2 and _count(FundEntry) == 2
    assert fund.balance_fen(supermarket.id) == 40000


def test_goods_sent_twice_come_into_stock_once(office, supermarket, donor, today):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0, unit="袋")
    form = {
        "form": "goods",
        "donor_id": str(donor.id),
        "donated_on": today,
        "product_id": [str(rice.id), ""],
        "quantity": ["4", ""],
        "unit_value": ["25", ""],
        "idempotency_key": _rendered_key(office, "goods"),
    }
    for _ in range(2):
        assert office.post("/fund/donations/new", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 4
    assert _count(Donation) == 1 and _count(StockMovement) == 1


def test_a_refused_form_keeps_its_key_until_saved(office, supermarket, donor, today):
    key = _rendered_key(office)
    form = {"form": "cash", "donor_id": str(donor.id), "donated_on": today, "amount": "x"}
    r = office.post("/fund/donations/new", data={**form, "idempotency_key": key})
    assert r.status_code == 400 and KEY.findall(r.get_data(as_text=True)) == [key]
    r = office.post("/fund/donations/new", data={**form, "amount": "9", "idempotency_key": key})
    assert r.status_code == 302 and _count(Donation) == 1


def test_a_malformed_key_comes_back_as_a_new_one(office, supermarket, donor, today):
    form = {"form": "cash", "donor_id": str(donor.id), "donated_on": today, "amount": "9"}
    r = office.post("/fund/donations/new", data={**form, "idempotency_key": "坏" * 20})
    assert r.status_code == 400
    (fresh,) = KEY.findall(r.get_data(as_text=True))
    r = office.post("/fund/donations/new", data={**form, "idempotency_key": fresh})
    assert r.status_code == 302 and _count(Donation) == 1


def test_the_saved_form_changed_and_sent_again_asks_first(office, supermarket, donor, today):
    key = _rendered_key(office)
    form = {"form": "cash", "donor_id": str(donor.id), "donated_on": today, "note": "春节"}
    office.post("/fund/donations/new", data={**form, "amount": "100", "idempotency_key": key})
    # Back, another amount, save: the first is recorded, this one is not yet.
    r = office.post("/fund/donations/new", data={**form, "amount": "150", "idempotency_key": key})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "这张登记表已保存为捐赠 JZ000001。如果这是另一笔捐赠，请再点一次保存" in page
    assert 'value="150"' in page and 'value="春节"' in page
    (fresh,) = KEY.findall(page)
    assert fresh != key and _count(Donation) == 1
    r = office.post("/fund/donations/new", data={**form, "amount": "150", "idempotency_key": fresh})
    assert r.status_code == 302
    assert fund.balance_fen(supermarket.id) == 25000 and _count(Donation) == 2


@pytest.mark.parametrize(
    "data,message",
    [
        ({"amount": "-5"}, "捐赠金额应为数字"),
        ({"amount": str(2**63)}, "捐赠金额应为数字"),
        ({"amount": "1e3"}, "捐赠金额应为数字"),
        ({"donor_id": "abc"}, "请选择捐赠方"),
        ({"donor_id": "-1"}, "请选择捐赠方"),
        ({"donor_id": str(2**63)}, "请选择捐赠方"),
        ({"donor_id": "2147483647"}, "请选择捐赠方"),  # in range, no such donor
        ({"donated_on": ""}, "请填写捐赠日期（YYYY-MM-DD）"),
        ({"donated_on": "99999-01-01"}, "请填写捐赠日期（YYYY-MM-DD）"),
        ({"idempotency_key": "短"}, "这张登记表已失效，请重新打开登记表"),
        ({"idempotency_key": "k" * 65}, "这张登记表已失效，请重新打开登记表"),
        ({"form": "cheque"}, "请选择捐赠方式"),
        ({"note": "备" * 201}, "备注太长（最多200个字）"),
    ],
)
def test_hostile_cash_forms_are_refused_in_chinese(office, donor, today, data, message):
    form = {"form": "cash", "donor_id": str(donor.id), "amount": "8", "donated_on": today}
    form.update(data)
    r = office.post("/fund/donations/new", data=form)
    assert r.status_code in (400, 404)
    assert message in r.get_data(as_text=True)
    assert _count(Donation) == 0


@pytest.mark.parametrize("kind", ["cash", "goods"])
def test_a_form_with_every_field_left_out_is_refused(office, supermarket, kind):
    r = office.post("/fund/donations/new", data={"form": kind})
    assert r.status_code == 400
    assert "请填写捐赠日期（YYYY-MM-DD）" in r.get_data(as_text=True)
    r = office.post("/fund/donations/new", data={})
    assert r.status_code == 400 and "请选择捐赠方式" in r.get_data(as_text=True)
    assert _count(Donation) == 0


@pytest.mark.parametrize(
    "columns,message",
    [
        ({"quantity": ["-1"]}, "第1行：数量应为正整数"),
        ({"quantity": [str(2**63)]}, "第1行：数量应为正整数"),
        ({"quantity": ["1.5"]}, "第1行：数量应为正整数"),
        ({"quantity": ["2147483647"]}, "数量必须是1到"),
        ({"product_id": [str(2**63)]}, "第1行：请选择物品"),
        ({"product_id": ["999999"]}, "没有找到该物品，请重新选择"),
        ({"unit_value": ["abc"]}, "第1行：评估单价应为数字"),
        ({"unit_value": [str(2**63)]}, "第1行：评估单价应为数字"),
        # A column sent longer than the others is a row of its own, half filled.
        ({"quantity": ["1", "2"]}, "第2行：请选择物品"),
        ({"product_id": None, "quantity": None, "unit_value": None}, "请至少填写一种捐赠物品"),
    ],
)
def test_hostile_goods_rows_are_refused_in_chinese(
    office, supermarket, donor, today, columns, message
):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0, unit="袋")
    form = {
        "form": "goods",
        "donor_id": str(donor.id),
        "donated_on": today,
        "product_id": [str(rice.id)],
        "quantity": ["1"],
        "unit_value": ["20"],
    }
    form.update({k: v for k, v in columns.items() if v is not None})
    for name in [k for k, v in columns.items() if v is None]:
        del form[name]
    r = office.post("/fund/donations/new", data=form)
    assert r.status_code in (400, 404)
    assert message in r.get_data(as_text=True)
    assert _count(Donation) == 0


def test_more_goods_rows_than_a_donation_holds_are_refused(office, supermarket, donor, today):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0, unit="袋")
    n = MAX_GOODS_ROWS + 1
    r = office.post(
        "/fund/donations/new",
        data={
            "form": "goods",
            "donor_id": str(donor.id),
            "donated_on": today,
            "product_id": [str(rice.id)] * n,
            "quantity": ["1"] * n,
            "unit_value": ["1"] * n,
        },
    )
    assert r.status_code == 400
    assert f"一次最多登记{MAX_GOODS_ROWS}种捐赠物品" in r.get_data(as_text=True)
    assert _count(Donation) == 0


def test_a_json_body_is_no_form(office, donor, today):
    r = office.post(
        "/fund/donations/new",
        json={"form": "cash", "donor_id": donor.id, "amount": "8", "donated_on": today},
    )
    assert r.status_code == 400 and "请选择捐赠方式" in r.get_data(as_text=True)
    assert _count(Donation) == 0


@pytest.fixture
def admin_office(client, admin):
    return sign_in(client, "admin1")


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, "请填写垫支额度"),
        ({"limit": ""}, "请填写垫支额度"),
        ({"limit": "-1"}, "垫支额度应为数字"),
        ({"limit": str(2**63)}, "垫支额度应为数字"),
        ({"limit": "1e3"}, "垫支额度应为数字"),
        ({"limit": "999999999"}, "垫支额度应在0到"),
    ],
)
def test_hostile_advance_limits_are_refused_in_chinese(admin_office, supermarket, data, message):
    r = admin_office.post("/fund/advance-limit", data=data)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert message in page
    assert f'value="{data.get("limit", "")}"' in page  # what was typed, shown again
    db.session.expire_all()
    assert supermarket.fund_advance_limit_fen == 0


@pytest.mark.parametrize(
    "data,message", [({}, "撤销需要填写原因"), ({"reason": "因" * 201}, "原因太长")]
)
def test_hostile_reversals_are_refused_in_chinese(
    admin_office, supermarket, donor, today, data, message
):
    from datetime import date

    d = donations.record_cash_donation(
        supermarket.id,
        donor_id=donor.id,
        amount_fen=100,
        donated_on=date.fromisoformat(today),
        actor=None,
    )
    r = admin_office.post(f"/fund/donations/{d.id}/reverse", data=data)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Donation, d.id).status == "recorded"
