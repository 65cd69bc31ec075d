"""``POST /api/v1/scan`` says, per product on the shelf, what the rules charge this household for
one unit and whether it may take it now (``offers``, from ``scan(with_offers=True)``): the counter's
tiles read it instead of working eligibility and free prices out in JS. 寨里's elders' canteen
meal is free to an eligible elder, list price for everyone else, and refused once a period's
limit is used, each as the redemption then does it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime

import pytest

from kiosk.api import counter
from kiosk.rules import presets
from tests import factories
from tests.api.test_api_helpers import as_keeper_fixture, check_schema  # noqa: F401

WHEN = datetime(2024, 2, 15, 11, 30)
_keys = itertools.count(1)


def _zhaili(supermarket, monkeypatch, per_period_limit: int | None = None) -> None:
    factories.pin_clock(monkeypatch, WHEN)
    # The redemption route stamps its own moment: the same quarter as the rules see.
    monkeypatch.setattr(counter, "utcnow", lambda: factories.utc(WHEN))
    zhaili = presets.preset("zhaili")
    if per_period_limit is not None:
        limited = replace(zhaili.restrictions[0], per_period_limit=per_period_limit)
        zhaili = replace(zhaili, restrictions=(limited,))
    factories.policy(supermarket, zhaili)


def _member(supermarket, born: date, score: int = 85) -> str:
    """A household of one member born ``born`` scored ``score`` this quarter; its card."""
    return factories.scored_elder(supermarket, born, score)[1]


def _shelf(supermarket):
    meal = factories.canteen_meal(supermarket)
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=9, unit="袋")
    return meal, rice


def _offers(as_keeper, payload) -> dict[int, dict]:
    r = as_keeper.post("/api/v1/scan", {"payload": payload})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    check_schema(body, "ScanResult")
    return {o["product_id"]: o for o in body["offers"]}


def _redeem(as_keeper, payload, lines):
    return as_keeper.post(
        "/api/v1/redemptions",
        {
            "card": payload,
            "lines": [{"product_id": p.id, "quantity": q} for p, q in lines],
            "idempotency_key": f"offers-{next(_keys):08d}",
        },
    )


def test_the_meal_is_free_to_the_eligible_elder(app, as_keeper, supermarket, monkeypatch):
    _zhaili(supermarket, monkeypatch)
    payload = _member(supermarket, date(1959, 1, 1))
    meal, rice = _shelf(supermarket)
    offers = _offers(as_keeper, payload)
    assert offers[meal.id] == {
        "product_id": meal.id,
        "points_price": 15,
        "points": 0,
        "allowed": True,
        "reason": None,
    }
    assert offers[rice.id] == {
        "product_id": rice.id,
        "points_price": 20,
        "points": 20,
        "allowed": True,
        "reason": None,
    }
    # The redemption charges what the scan said.
    done = _redeem(as_keeper, payload, [(meal, 1), (rice, 1)])
    assert done.status_code == 201, done.get_data(as_text=True)
    assert [ln["unit_points"] for ln in done.get_json()["redemption"]["lines"]] == [0, 20]


@pytest.mark.parametrize("born", [date(1953, 1, 1), date(1984, 1, 1)])
def test_the_meal_is_refused_to_anyone_else(app, as_keeper, supermarket, monkeypatch, born):
    """At 71 or at 40: the meal is not offered, with the rules' reason; rice at its list price."""
    _zhaili(supermarket, monkeypatch)
    payload = _member(supermarket, born)
    meal, rice = _shelf(supermarket)
    offers = _offers(as_keeper, payload)
    assert offers[meal.id]["allowed"] is False
    assert offers[meal.id]["reason"]["code"] == "restricted_item"
    assert offers[meal.id]["reason"]["blocking"] is True
    assert (offers[rice.id]["points"], offers[rice.id]["allowed"]) == (20, True)
    refused = _redeem(as_keeper, payload, [(meal, 1)])
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "not_eligible"


def test_the_meal_past_its_limit_is_not_offered(app, as_keeper, supermarket, monkeypatch):
    """One meal a quarter: offered free before, refused with the limit's reason after."""
    _zhaili(supermarket, monkeypatch, per_period_limit=1)
    payload = _member(supermarket, date(1959, 1, 1))
    meal, rice = _shelf(supermarket)
    assert _offers(as_keeper, payload)[meal.id]["allowed"] is True
    assert _redeem(as_keeper, payload, [(meal, 1)]).status_code == 201
    offers = _offers(as_keeper, payload)
    assert offers[meal.id]["allowed"] is False
    assert offers[meal.id]["points"] == 0
    reason = offers[meal.id]["reason"]
    assert reason["code"] == "restricted_limit"
    assert reason["params"]["left"] == 0
    assert "本季度最多1份，已用1份" in reason["message"]
    assert offers[rice.id]["allowed"] is True
    assert _redeem(as_keeper, payload, [(meal, 1)]).get_json()["error"]["code"] == "not_eligible"


def test_a_balance_shop_offers_every_product_at_its_list_price(app, as_keeper, supermarket):
    """A policy without restrictions: each product at its points price, the dear one refused
    with the rules' own 'not enough points'."""
    hh = factories.household(supermarket, points=30)
    payload = factories.card(hh)[1]
    cheap = factories.product(supermarket, name="肥皂", cost_fen=500, stock_qty=3)
    dear = factories.product(supermarket, name="电饭煲", cost_fen=9900, stock_qty=1)
    offers = _offers(as_keeper, payload)
    assert (offers[cheap.id]["points"], offers[cheap.id]["allowed"]) == (5, True)
    assert (offers[dear.id]["points"], offers[dear.id]["allowed"]) == (99, False)
    assert offers[dear.id]["reason"]["code"] == "insufficient_points"
