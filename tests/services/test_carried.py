"""大同's carried fraction (结转): converted scores keep whole points in the ledger, and the part
below one point is shown beside the balance — the service, the scan answers and the office page."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

import pytest

from inventory.products import policy_for
from kiosk import assessments
from kiosk.assessments import carried_fraction, format_points, record_assessment
from kiosk.extensions import db
from kiosk.models import Household
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    as_keeper_fixture,
    check_schema,
)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 12, 20, 10, 0))


@pytest.fixture
def datong(supermarket):
    """A 大同 household scored 86 and 85 (average 85.5 → 8.55 points: 8 posted, 0.55 carried)."""
    factories.policy(supermarket, "datong")
    hh = factories.household(supermarket, points=0, head_name="刘大同")
    _, payload = factories.card(hh)
    record_assessment(hh.id, "2024Q1", 86, actor=None)
    record_assessment(hh.id, "2024Q2", 85, actor=None)
    return {"hh": hh, "payload": payload, "policy": policy_for(supermarket)}


def _balance(hh) -> int:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Household, hh.id).account.balance


def test_855_posts_8_and_carries_055_exactly(app, datong):
    hh, policy = datong["hh"], datong["policy"]
    assert _balance(hh) == 8
    assert carried_fraction(hh.id, policy) == Fraction(55, 100)
    assert format_points(carried_fraction(hh.id, policy)) == "0.55"


def test_a_next_run_making_it_whole_moves_the_carry(app, datong):
    hh, policy = datong["hh"], datong["policy"]
    record_assessment(hh.id, "2024Q3", 90, actor=None)
    record_assessment(hh.id, "2024Q4", 99, actor=None)  # 9.45: 8.55 + 9.45 = 18.00
    assert _balance(hh) == 18
    assert carried_fraction(hh.id, policy) == 0


def test_no_carry_without_a_conversion_rule(app, supermarket):
    factories.policy(supermarket, "gaoyang")
    hh = factories.household(supermarket, points=5)
    assert carried_fraction(hh.id, policy_for(supermarket)) == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(55, 100), "0.55"), (Fraction(1, 2), "0.5"), (Fraction(2, 3), "0.66")],
)
def test_format_points(value, text):
    assert assessments.format_points(value) == text


def test_scan_api_says_the_carried_points(as_keeper, datong):
    r = as_keeper.post("/api/v1/scan", {"payload": datong["payload"]})
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "ScanResult")
    assert body["account"]["balance"] == 8
    assert body["carried_points"] == "0.55"


def test_scan_api_carried_points_is_null_when_there_is_none(as_keeper, supermarket):
    hh = factories.household(supermarket, points=40)
    _, payload = factories.card(hh)
    body = as_keeper.post("/api/v1/scan", {"payload": payload}).get_json()
    check_schema(body, "ScanResult")
    assert body["carried_points"] is None


def test_self_service_scan_says_the_carried_points(client, datong):
    body = client.post("/self/scan", json={"payload": datong["payload"]}).get_json()
    assert body["account"]["balance"] == 8
    assert body["carried_points"] == "0.55"


def test_office_household_page_shows_the_carry(client, admin, datong):
    r = client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    assert r.status_code == 302
    page = client.get(f"/households/{datong['hh'].id}").get_data(as_text=True)
    assert 'id="hh-carried"' in page
    assert "另有结转0.55分" in page


def test_office_household_page_without_a_carry(client, admin, supermarket):
    hh = factories.household(supermarket, points=40)
    r = client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    assert r.status_code == 302
    page = client.get(f"/households/{hh.id}").get_data(as_text=True)
    assert "另有结转" not in page
