"""The rules administration's product settings post read through a Flask-WTF form
(kiosk/web/forms.py). Hostile input is refused with the Chinese reason on the form, never a
500, and changes nothing."""

from __future__ import annotations

import pytest

from inventory.models import Product
from kiosk.extensions import db
from tests import factories
from tests.conftest import sign_in

HUGE = str(2**63)
GOOD = {"name": "长者食堂午餐", "unit": "餐", "kind": "service", "price": "8.00", "active": "1"}


@pytest.fixture
def office(client, admin):
    return sign_in(client, "admin1")


@pytest.fixture
def meal(supermarket):
    return factories.product(
        supermarket,
        name="长者食堂午餐",
        cost_fen=800,
        kind="service",
        unit="餐",
        category="长者食堂",
    )


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"active": HUGE}, "请选择上架或下架"),
        ({"active": "٠"}, "请选择上架或下架"),
        ({"active": None}, "请选择上架或下架"),
        ({"name": None}, "商品名称不能为空"),
        ({"name": "名" * 101}, "商品名称不能超过100个字"),
        ({"unit": "斤" * 5000}, "单位应为1到16个字"),
        ({"kind": HUGE}, ""),
        ({"price": HUGE}, "服务价格"),
        ({"price": "-8"}, "服务价格"),
        ({"price": "8.123"}, "服务价格"),
        ({"price": None}, "服务价格"),
        ({"restriction_key": "x" * 5000}, ""),
        ({"name": "午\x00餐"}, "控制字符"),
    ],
)
def test_hostile_product_settings_are_refused(office, meal, changes, message):
    data = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    r = office.post(f"/admin/products/{meal.id}", data=data)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(Product, meal.id)
    assert (row.name, row.unit, row.kind, row.unit_cost_fen, row.active) == (
        "长者食堂午餐",
        "餐",
        "service",
        800,
        True,
    )


def test_a_refused_setting_shows_what_was_typed(office, meal):
    r = office.post(f"/admin/products/{meal.id}", data={**GOOD, "name": "午餐", "price": "十元"})
    assert r.status_code == 400
    assert 'value="午餐"' in r.get_data(as_text=True)


def test_a_product_is_taken_off_sale(office, meal):
    r = office.post(f"/admin/products/{meal.id}", data={**GOOD, "active": "0", "price": " 9 "})
    assert r.status_code == 302
    db.session.expire_all()
    row = db.session.get(Product, meal.id)
    assert (row.active, row.unit_cost_fen) == (False, 900)
