"""The stocktake's posts read through Flask-WTF forms (kiosk/web/forms.py): starting a count and
one count on a line, by JSON from the count page's script or a plain form. Hostile input is
refused in Chinese (400 JSON, or the page again with the reason), never a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inventory import stocktake
from inventory.models import Stocktake, StocktakeCount
from kiosk.extensions import db
from tests import factories
from tests.conftest import sign_in

RICE = "6971111111112"


@pytest.fixture
def office(client, keeper):
    return sign_in(client, "keeper1")


@pytest.fixture
def count(supermarket, keeper):
    factories.product(supermarket, name="大米", cost_fen=2500, stock_qty=10, barcode=RICE)
    return stocktake.start_count(supermarket.id, actor=keeper).id


def _counts() -> int:
    return db.session.scalar(sa.select(sa.func.count(StocktakeCount.id)))


def scan_json(client, st_id, body):
    return client.post(
        f"/stocktake/{st_id}/scan", json=body, headers={"Accept": "application/json"}
    )


@pytest.mark.parametrize(
    "body,message",
    [
        ({"barcode": RICE, "quantity": "abc"}, "数量必须是整数"),
        ({"barcode": RICE, "quantity": 2**63}, "数量必须是整数"),
        ({"barcode": RICE, "quantity": str(-(2**63))}, "数量必须是整数"),
        ({"barcode": RICE, "quantity": 1.5}, "数量必须是整数"),
        ({"barcode": RICE, "quantity": True}, "数量必须是整数"),
        ({"barcode": RICE, "quantity": [3]}, "数量必须是整数"),
        ({"barcode": RICE, "quantity": {"n": 3}}, "数量必须是整数"),
        ({"line_id": "x"}, "清点行编号不正确，请刷新页面"),
        ({"line_id": -1}, "清点行编号不正确，请刷新页面"),
        ({"line_id": 0}, "清点行编号不正确，请刷新页面"),
        ({"line_id": 2**63}, "清点行编号不正确，请刷新页面"),
        ({"barcode": RICE, "kind": "steal"}, "清点方式不正确"),
        ({"barcode": RICE, "kind": 5}, "清点方式不正确"),
        ({}, "请扫描或输入商品条码"),
        ([RICE, 1], "请扫描或输入商品条码"),
        ("6971111111112", "请扫描或输入商品条码"),
    ],
)
def test_hostile_json_counts_are_refused_in_chinese(office, count, body, message):
    r = scan_json(office, count, body)
    assert r.status_code == 400
    assert r.json["error"]["message"] == message
    assert _counts() == 0


@pytest.mark.parametrize(
    ("body", "counted"),
    [({}, 1), ({"quantity": None}, 1), ({"quantity": ""}, 1), ({"quantity": " 7 "}, 7)],
)
def test_a_count_left_out_is_one_and_a_given_one_is_taken(office, count, body, counted):
    r = scan_json(office, count, {"barcode": RICE, **body})
    assert r.status_code == 200 and r.json["counted_qty"] == counted


@pytest.mark.parametrize("quantity", ["x", str(2**63), "1.5", "٣"])
def test_a_hostile_plain_form_count_says_why_on_the_page(office, count, quantity):
    r = office.post(
        f"/stocktake/{count}/scan",
        data={"barcode": RICE, "quantity": quantity},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "数量必须是整数" in r.get_data(as_text=True)
    assert _counts() == 0


@pytest.mark.parametrize("category", ["abc", "-1", "0", str(2**63), ""])
def test_categories_that_are_no_numbers_choose_none(office, supermarket, category):
    factories.product(supermarket, name="大米", cost_fen=2500, stock_qty=10, barcode=RICE)
    r = office.post("/stocktake/new", data={"scope": "categories", "category": [category]})
    assert r.status_code == 400
    assert "请至少选择一个分类，或选择盘点全部商品" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Stocktake.id))) == 0


def test_a_start_with_every_field_left_out_counts_everything(office, supermarket):
    factories.product(supermarket, name="大米", cost_fen=2500, stock_qty=10, barcode=RICE)
    r = office.post("/stocktake/new", data={})
    assert r.status_code == 302
    (st,) = db.session.scalars(sa.select(Stocktake))
    assert st.status == "counting"
