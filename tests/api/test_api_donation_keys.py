"""Recording a donation over the API is safe to retry (POST /api/v1/donations, cash or goods):
the ``Idempotency-Key`` header or the ``idempotency_key`` field, namespaced by the caller, and
a retry answers as the first copy did, with the same donation; on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from inventory import donations, fund
from inventory.models import Donation, Product
from kiosk.api.openapi import DOCUMENT
from kiosk.clock import local_now
from kiosk.extensions import db
from tests import factories
from tests.api.test_api_helpers import api_for, check_schema, error_code


@pytest.fixture
def donor(supermarket):
    return donations.create_donor(supermarket.id, name="张乡贤", kind="xiangxian", actor=None)


@pytest.fixture
def rice(supermarket):
    return factories.product(supermarket, name="大米5kg", cost_fen=2500, stock_qty=20)


def count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Donation))


def cash_body(donor_id: int, **extra) -> dict:
    return {"form": "cash", "donor_id": donor_id, "amount_fen": 50000, **extra}


def test_a_cash_retry_answers_the_same_donation_with_the_same_status(
    client, keeper, donor, supermarket
):
    api = api_for(client, keeper)
    body = cash_body(donor.id, note="修路捐款", idempotency_key="gift-0001")
    first = api.post("/api/v1/donations", body)
    assert first.status_code == 201, first.get_json()
    check_schema(first.get_json(), "DonationResult")
    again = api.post("/api/v1/donations", body)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.get_json()["donation"]["receipt_no"] == "JZ000001"
    assert count() == 1
    assert fund.balance_fen(supermarket.id) == 50000


def test_a_goods_retry_by_header_stocks_once(client, admin, donor, rice):
    api = api_for(client, admin)
    body = {
        "form": "goods",
        "donor_id": donor.id,
        "lines": [{"product_id": rice.id, "quantity": 4, "unit_value_fen": 2500}],
    }
    header = {"Idempotency-Key": "goods-head-01"}
    first = api.post("/api/v1/donations", body, headers=header)
    assert first.status_code == 201, first.get_json()
    again = api.post("/api/v1/donations", body, headers=header)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    # the header and the field are one key: the field alone is the same retry
    by_field = api.post("/api/v1/donations", {**body, "idempotency_key": "goods-head-01"})
    assert (by_field.status_code, by_field.get_json()) == (201, first.get_json())
    assert db.session.get(Product, rice.id).stock_qty == 24
    assert count() == 1


def test_a_retry_without_a_day_keeps_the_first_copys_day(client, keeper, donor, monkeypatch):
    api = api_for(client, keeper)
    first = api.post("/api/v1/donations", cash_body(donor.id, idempotency_key="late-night"))
    assert first.status_code == 201
    tomorrow = local_now() + timedelta(days=1)
    monkeypatch.setattr("kiosk.api.listing.today", lambda: tomorrow.date())
    again = api.post("/api/v1/donations", cash_body(donor.id, idempotency_key="late-night"))
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert count() == 1


def test_the_same_key_for_another_donation_is_409(client, keeper, donor, rice):
    api = api_for(client, keeper)
    first = api.post("/api/v1/donations", cash_body(donor.id, idempotency_key="gift-0002"))
    assert first.status_code == 201
    for other in (
        cash_body(donor.id, amount_fen=50001, idempotency_key="gift-0002"),
        {
            "form": "goods",
            "donor_id": donor.id,
            "lines": [{"product_id": rice.id, "quantity": 1, "unit_value_fen": 2500}],
            "idempotency_key": "gift-0002",
        },
    ):
        refused = api.post("/api/v1/donations", other)
        assert refused.status_code == 409
        assert error_code(refused) == "idempotency_conflict"
    assert count() == 1


def test_two_users_keys_never_meet(client, keeper, admin, donor, supermarket):
    body = cash_body(donor.id, idempotency_key="same-key-01")
    a = api_for(client, keeper).post("/api/v1/donations", body)
    b = api_for(client, admin).post("/api/v1/donations", body)
    assert (a.status_code, b.status_code) == (201, 201)
    numbers = {a.get_json()["donation"]["receipt_no"], b.get_json()["donation"]["receipt_no"]}
    assert numbers == {"JZ000001", "JZ000002"}
    assert fund.balance_fen(supermarket.id) == 100000


@pytest.mark.parametrize(
    ("headers", "field", "where"),
    [
        ({"Idempotency-Key": "short"}, None, "Idempotency-Key"),
        ({}, "has spaces in it", "idempotency_key"),
        ({"Idempotency-Key": "header-key-1"}, "field-key-01", "idempotency_key"),
    ],
)
def test_a_bad_key_is_refused_before_anything_is_recorded(
    client, keeper, donor, headers, field, where
):
    body = cash_body(donor.id) if field is None else cash_body(donor.id, idempotency_key=field)
    refused = api_for(client, keeper).post("/api/v1/donations", body, headers=headers)
    assert refused.status_code == 400
    assert error_code(refused) == "invalid_request"
    assert refused.get_json()["error"]["details"]["field"] == where
    assert count() == 0


def test_the_document_says_the_donation_takes_a_key():
    op = DOCUMENT["paths"]["/api/v1/donations"]["post"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= op["parameters"][0].items()
    assert "409" in op["responses"]
    assert "idempotency_conflict" in op["description"]
    field = DOCUMENT["components"]["schemas"]["DonationRequest"]["properties"]["idempotency_key"]
    assert "#/components/schemas/IdempotencyKey" in str(field)
