"""The stock pages' posts read through Flask-WTF forms (kiosk/web/forms.py): a stock-in, new
goods met at stock-in, a write-off asked for and decided. Hostile input is refused on the page
in Chinese (422), never a 500, and nothing is written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inventory.models import Product, StockAdjustment, StockIn
from inventory.stock import MAX_LINES
from kiosk.extensions import db
from tests import factories
from tests.conftest import sign_in

HUGE = str(2**63)


@pytest.fixture
def office(client, keeper):
    return sign_in(client, "keeper1")


@pytest.fixture
def rice(supermarket):
    return factories.product(
        supermarket, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, barcode="6901234567892"
    )


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _stock_in(rice, **changes):
    data = {
        "supplier": "县粮油公司",
        "paid_from": "other",
        "paid_from_other": "村集体",
        "product_id": [str(rice.id)],
        "quantity": ["10"],
        "unit_cost": ["28.00"],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"quantity": ["-1"]}, "第1行：数量必须是正整数"),
        ({"quantity": ["٣"]}, "第1行：数量必须是正整数"),
        ({"quantity": ["1_0"]}, "第1行：数量必须是正整数"),
        ({"quantity": [HUGE]}, "第1行：数量太大，一次最多入库100000"),
        ({"product_id": [HUGE]}, "第1行：没有选择商品"),
        ({"product_id": ["-1"]}, "第1行：没有选择商品"),
        ({"product_id": ["abc"]}, "第1行：没有选择商品"),
        ({"unit_cost": [HUGE]}, "第1行：进价"),
        ({"unit_cost": ["abc"]}, "第1行：进价要写成元"),
        # A column longer than the others: the lines do not add up.
        ({"quantity": ["1", "2"]}, "入库单的内容不完整，请重新填写"),
        ({"unit_cost": []}, "入库单的内容不完整，请重新填写"),
        ({"paid_from": "bank"}, "请选择付款来源：基金池或其他来源"),
    ],
)
def test_hostile_stock_ins_are_refused_in_chinese(office, rice, changes, message):
    before = _count(StockIn)
    r = office.post("/stock/in", data=_stock_in(rice, **changes))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert message in page and 'value="县粮油公司"' in page
    assert _count(StockIn) == before
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 10


def test_more_lines_than_a_stock_in_holds_are_refused(office, rice):
    before = _count(StockIn)
    n = MAX_LINES + 1
    r = office.post(
        "/stock/in",
        data=_stock_in(
            rice, product_id=[str(rice.id)] * n, quantity=["1"] * n, unit_cost=["1"] * n
        ),
    )
    assert r.status_code == 422
    assert f"一张入库单最多{MAX_LINES}行" in r.get_data(as_text=True)
    assert _count(StockIn) == before


def test_a_stock_in_with_every_field_left_out_is_refused(office, rice):
    before = _count(StockIn)
    r = office.post("/stock/in", data={})
    assert r.status_code == 422
    assert "请选择付款来源：基金池或其他来源" in r.get_data(as_text=True)
    r = office.post("/stock/in", data={"paid_from": "other", "paid_from_other": "村集体"})
    assert r.status_code == 422
    assert "入库单没有商品，请扫码或从左边选择商品" in r.get_data(as_text=True)
    assert _count(StockIn) == before


def test_typed_text_is_stripped_and_the_stock_in_is_taken(office, rice):
    r = office.post(
        "/stock/in",
        data=_stock_in(
            rice, supplier="  县粮油公司 ", quantity=[" 10 "], unit_cost=[" 28 "], print_slip="1"
        ),
    )
    assert r.status_code == 302
    doc = db.session.scalar(sa.select(StockIn).order_by(StockIn.id.desc()).limit(1))
    assert doc.supplier == "县粮油公司"
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 20


def test_new_goods_left_blank_are_refused(office, rice):
    r = office.post("/stock/products", data={})
    assert r.status_code == 422 and "请填写商品名称" in r.get_data(as_text=True)
    r = office.post("/stock/products", data={"name": "  ", "barcode": "x" * 33})
    assert r.status_code == 422
    assert _count(Product) == 1


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"quantity": "-3"}, "报损数量必须是正整数"),
        ({"quantity": "abc"}, "报损数量必须是正整数"),
        ({"quantity": HUGE}, "报损数量必须是正整数"),
        ({"quantity": ""}, "报损数量必须是正整数"),
        ({"product_id": HUGE}, "请选择要报损的商品"),
        ({"product_id": "-1"}, "请选择要报损的商品"),
        ({"product_id": ""}, "请选择要报损的商品"),
        ({"reason": "stolen"}, "请选择报损原因"),
    ],
)
def test_hostile_write_offs_are_refused_in_chinese(office, rice, changes, message):
    data = {"product_id": str(rice.id), "quantity": "3", "reason": "damage", "note": "破损"}
    data.update(changes)
    r = office.post("/stock/adjustments", data=data)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert message in page and 'value="破损"' in page
    assert _count(StockAdjustment) == 0


def test_a_write_off_with_every_field_left_out_is_refused(office, rice):
    r = office.post("/stock/adjustments", data={})
    assert r.status_code == 422 and "请选择要报损的商品" in r.get_data(as_text=True)
    assert _count(StockAdjustment) == 0


@pytest.mark.parametrize(
    "query",
    [
        "book=bad&endpoint=x",
        "from=bad&_scheme=javascript",
        "from=bad&_external=1&_scheme=javascript",
        "from=bad&_anchor=x&_method=POST",
    ],
)
def test_a_refused_export_goes_back_to_the_ledgers_with_their_filters_only(office, query):
    r = office.get(f"/stock/ledgers/export?{query}")
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith("/stock/ledgers?") and "#" not in location
    assert "endpoint" not in location and "_scheme" not in location
