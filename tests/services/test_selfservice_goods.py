"""The self-service's goods list (自助查询 "现在可以兑换的物品") says what the counter would charge
the household and whether it may take it now, from the rules' own decision of a cart of that
one item: 寨里's elders' canteen meal is free to an eligible elder, refused to anyone else, and
still free once the quarter's quota is spent; a restricted item past its period's limit is not
offered. Each is checked against what ``redeem`` then does."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime

import pytest

from kiosk.errors import NotEligible
from kiosk.redemption import CartLine, redeem
from kiosk.rules import presets
from tests import factories

WHEN = datetime(2024, 2, 15, 11, 30)
_keys = itertools.count(1)


@pytest.fixture
def zhaili(app, supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, WHEN)
    return factories.policy(supermarket, "zhaili")


def _elder(supermarket, born=date(1959, 1, 1), score=85):
    """A household of one member born ``born`` scored ``score`` this quarter (85: ★★★★, 100元)."""
    return factories.scored_elder(supermarket, born, score)[1]


def _shelf(supermarket):
    meal = factories.canteen_meal(supermarket)
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=9, unit="袋")
    return meal, rice


def _goods(client, payload) -> dict[str, dict]:
    response = client.post("/self/scan", json={"payload": payload})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {g["name"]: g for g in response.get_json()["goods"]}


def _redeem(supermarket, keeper, payload, lines):
    return redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(p.id, qty) for p, qty in lines],
        keeper=keeper,
        idempotency_key=f"self-goods-{next(_keys):04d}",
        moment=factories.utc(WHEN),
        print_receipt=False,
    )


def test_the_canteen_meal_is_free_to_the_eligible_elder(zhaili, client, supermarket, keeper):
    # 000: "60-70岁的老人，美德信用积分在80分以上的，该季度在长者食堂免费就餐"
    payload = _elder(supermarket)
    meal, rice = _shelf(supermarket)
    goods = _goods(client, payload)
    assert goods["长者食堂午餐"] == {
        "name": "长者食堂午餐",
        "unit": "餐",
        "category": "长者食堂",
        "points_price": 15,
        "points": 0,
        "in_stock": True,
        "available": True,
    }
    assert (goods["大米"]["points"], goods["大米"]["available"]) == (20, True)
    # Free first: what is within reach, cheapest for this household first.
    assert list(goods) == ["长者食堂午餐", "大米"]
    # The counter charges what the list said.
    done = _redeem(supermarket, keeper, payload, [(meal, 1), (rice, 1)])
    assert [ln.unit_points for ln in done.lines] == [0, 20]


@pytest.mark.parametrize(
    ("born", "score"), [(date(1953, 1, 1), 85), (date(1984, 1, 1), 85), (date(1959, 1, 1), 75)]
)
def test_the_canteen_meal_is_not_offered_to_anyone_else(
    zhaili, client, supermarket, keeper, born, score
):
    """At 71, at 40, or scored under 80: the counter refuses the meal, and so does the list."""
    payload = _elder(supermarket, born, score)
    meal, _ = _shelf(supermarket)
    goods = _goods(client, payload)
    assert goods["长者食堂午餐"]["available"] is False
    assert goods["大米"]["available"] is True
    with pytest.raises(NotEligible):
        _redeem(supermarket, keeper, payload, [(meal, 1)])


def test_the_meal_stays_free_when_the_quota_is_spent(zhaili, client, supermarket, keeper):
    """The quarter's 100元 spent, nothing else may be taken, but the free meal still may."""
    payload = _elder(supermarket)
    meal, rice = _shelf(supermarket)
    _redeem(supermarket, keeper, payload, [(rice, 5)])
    response = client.post("/self/scan", json={"payload": payload}).get_json()
    assert response["decision"]["may_redeem"] is False
    goods = {g["name"]: g for g in response["goods"]}
    assert (goods["长者食堂午餐"]["points"], goods["长者食堂午餐"]["available"]) == (0, True)
    assert goods["大米"]["available"] is False
    assert _redeem(supermarket, keeper, payload, [(meal, 1)]).total_points == 0


def test_a_restricted_item_past_its_limit_is_not_offered(
    app, client, supermarket, keeper, monkeypatch
):
    """One meal a quarter per eligible member: once taken, the list no longer offers it."""
    factories.pin_clock(monkeypatch, WHEN)
    zhaili = presets.preset("zhaili")
    limited = replace(zhaili.restrictions[0], per_period_limit=1)
    factories.policy(supermarket, replace(zhaili, restrictions=(limited,)))
    payload = _elder(supermarket)
    meal, _ = _shelf(supermarket)
    assert _goods(client, payload)["长者食堂午餐"]["available"] is True
    _redeem(supermarket, keeper, payload, [(meal, 1)])
    assert _goods(client, payload)["长者食堂午餐"]["available"] is False
    with pytest.raises(NotEligible):
        _redeem(supermarket, keeper, payload, [(meal, 1)])
