"""寨里's free elders' canteen meal can be set up without code (issue 17): a product's
rule-linked settings (restriction, goods or service, service price, on sale) change through
the service, the office page, the API and the CLI, and the counter then redeems the meal free
for an eligible elder, through the real redemption service, on both databases."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest

from inventory import products
from kiosk.assessments import record_assessment
from kiosk.errors import NotEligible, ValidationFailed
from kiosk.redemption import CartLine, redeem
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    as_admin_fixture,
    as_keeper_fixture,
    check_schema,
    error_code,
)

_keys = itertools.count(1)
WHEN = datetime(2024, 2, 15, 11, 30)


@pytest.fixture
def zhaili(app, supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 2, 15, 10, 0))
    return factories.policy(supermarket, "zhaili")


def elder_with_card(sm, born: date = date(1959, 1, 1)):
    hh = factories.family(sm, [("赵大爷", born)])
    record_assessment(hh.id, "2024Q1", 85, member_id=hh.members[0].id, actor=None)
    _, payload = factories.card(hh)
    return hh, payload


def canteen_meal(sm):
    """The demo's 长者食堂午餐 as it was: an ordinary 8-point service."""
    return factories.product(
        sm, name="长者食堂午餐", cost_fen=800, kind="service", unit="餐", category="长者食堂"
    )


def buy(sm, keeper, payload, product_id: int):
    return redeem(
        sm.id,
        card_payload=payload,
        lines=[CartLine(product_id, 1)],
        keeper=keeper,
        idempotency_key=f"meal-{next(_keys):06d}",
        moment=factories.utc(WHEN),
    )


def test_marked_meal_is_free_for_an_eligible_elder_and_refused_to_a_younger_man(
    zhaili, supermarket, keeper
):
    _, payload = elder_with_card(supermarket)
    meal = canteen_meal(supermarket)
    assert buy(supermarket, keeper, payload, meal.id).total_points == 8  # not yet restricted

    products.update_product(supermarket.id, meal.id, actor=None, restriction_key="elder_canteen")
    red = buy(supermarket, keeper, payload, meal.id)
    assert red.total_points == 0 and red.lines[0].restriction_key == "elder_canteen"

    _, young = elder_with_card(supermarket, born=date(1980, 1, 1))
    with pytest.raises(NotEligible):
        buy(supermarket, keeper, young, meal.id)


def test_settings_are_checked_against_the_rule_set(zhaili, supermarket):
    meal = canteen_meal(supermarket)
    with pytest.raises(ValidationFailed) as refused:
        products.update_product(supermarket.id, meal.id, actor=None, restriction_key="canteen")
    assert "elder_canteen" in refused.value.message and "长者食堂" in refused.value.message
    rice = factories.product(supermarket, name="大米", stock_qty=3)
    with pytest.raises(ValidationFailed, match="货架上还有3"):
        products.update_product(supermarket.id, rice.id, actor=None, kind="service")
    with pytest.raises(ValidationFailed, match="实物的成本价"):
        products.update_product(supermarket.id, rice.id, actor=None, unit_cost_fen=100)
    service = products.update_product(supermarket.id, meal.id, actor=None, unit_cost_fen=1250)
    assert service.points_price == 13  # 12.50 yuan, rounded up to whole points
    off = products.update_product(supermarket.id, meal.id, actor=None, active=False)
    assert off.active is False and off.restriction_key is None


def test_api_marks_the_meal(zhaili, supermarket, keeper, as_admin, as_keeper):  # noqa: F811
    _, payload = elder_with_card(supermarket)
    meal = canteen_meal(supermarket)
    url = f"/api/v1/products/{meal.id}"
    r = as_admin.client.patch(
        url, json={"restriction_key": "elder_canteen"}, headers=as_admin._headers()
    )
    assert r.status_code == 200, r.get_json()
    check_schema(r.get_json(), "ProductResult")
    assert r.get_json()["product"]["restriction_key"] == "elder_canteen"
    assert buy(supermarket, keeper, payload, meal.id).total_points == 0

    bad = as_admin.client.patch(
        url, json={"restriction_key": "Canteen!"}, headers=as_admin._headers()
    )
    assert bad.status_code == 400 and error_code(bad) == "invalid_request"
    refused = as_keeper.client.patch(url, json={"active": False}, headers=as_keeper._headers())
    assert refused.status_code == 403
    missing = as_admin.client.patch(
        "/api/v1/products/999999", json={"active": False}, headers=as_admin._headers()
    )
    assert missing.status_code == 404
    cleared = as_admin.client.patch(
        url, json={"restriction_key": None}, headers=as_admin._headers()
    )
    assert cleared.get_json()["product"]["restriction_key"] is None


def test_cli_marks_the_meal(zhaili, supermarket, keeper, runner):
    _, payload = elder_with_card(supermarket)
    meal = canteen_meal(supermarket)
    result = runner.invoke(args=["product", "set", meal.sku, "--restriction", "elder_canteen"])
    assert result.exit_code == 0, result.output
    assert "elder_canteen" in result.output
    assert buy(supermarket, keeper, payload, meal.id).total_points == 0
    unknown = runner.invoke(args=["product", "set", "NOPE", "--restriction", "elder_canteen"])
    assert unknown.exit_code != 0 and "NOPE" in unknown.output
    wrong = runner.invoke(args=["product", "set", meal.sku, "--restriction", "canteen"])
    assert wrong.exit_code != 0 and "长者食堂" in wrong.output
    cleared = runner.invoke(args=["product", "set", meal.sku, "--restriction", "none"])
    assert cleared.exit_code == 0 and "限定物品 无" in cleared.output


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def test_office_page_marks_the_meal(zhaili, supermarket, keeper, admin, supervisor, client):
    _, payload = elder_with_card(supermarket)
    meal = canteen_meal(supermarket)
    login(client, "admin1")
    listing = client.get("/admin/products").get_data(as_text=True)
    assert "长者食堂午餐" in listing and "长者食堂免费就餐" in listing
    page = client.get(f"/admin/products/{meal.id}").get_data(as_text=True)
    assert 'value="elder_canteen"' in page
    form = {"name": "长者食堂午餐", "unit": "餐", "kind": "service", "price": "8.00", "active": "1"}
    r = client.post(f"/admin/products/{meal.id}", data={**form, "restriction_key": "elder_canteen"})
    assert r.status_code == 302
    assert buy(supermarket, keeper, payload, meal.id).total_points == 0
    bad = client.post(f"/admin/products/{meal.id}", data={**form, "price": "十元"})
    assert bad.status_code == 400 and "服务价格" in bad.get_data(as_text=True)
    client.post("/logout")
    login(client, "super1")
    assert client.get(f"/admin/products/{meal.id}").status_code == 200
    assert client.post(f"/admin/products/{meal.id}", data=form).status_code == 403


def test_a_products_settings_page_sits_under_its_tab(zhaili, supermarket, admin, client):
    meal = canteen_meal(supermarket)
    login(client, "admin1")
    page = client.get(f"/admin/products/{meal.id}").get_data(as_text=True)
    # The 库存与账目 group is open with 商品设置 marked, not the rules group.
    assert 'href="/admin/products" aria-current="page"' in page
