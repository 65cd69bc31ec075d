"""The typed API contract (kiosk/api/contract.py): a limit written once on a model is both what
the handler enforces and what the generated document says; refusals name the field in the
request's language; each operation lists the roles the permission map gives its action."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from kiosk import permissions
from kiosk.api import answers, contract
from kiosk.api.openapi import DOCUMENT
from kiosk.parsing import DB_INT_MAX
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    as_admin_fixture,
    as_keeper_fixture,
    error_code,
)

SCHEMAS = DOCUMENT["components"]["schemas"]


def _operations():
    for path, ops in DOCUMENT["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def _nonnull(schema: dict) -> dict:
    """The schema itself, or its non-null branch when pydantic wrote it as ``anyOf [x, null]``."""
    for branch in schema.get("anyOf", ()):
        if branch.get("type") != "null":
            return branch
    return schema


def test_the_redemption_request_states_its_limits():
    request = SCHEMAS["RedemptionRequest"]["properties"]
    assert request["card"]["maxLength"] == 64
    assert request["lines"]["maxItems"] == 100
    line = SCHEMAS["CartLine"]["properties"]
    assert line["product_id"]["minimum"] == 1 and line["product_id"]["maximum"] == DB_INT_MAX
    assert line["quantity"]["minimum"] == 1


def test_the_idempotency_key_is_defined_once_and_referenced_everywhere():
    text = json.dumps(DOCUMENT)
    assert text.count(contract.IDEMPOTENCY_KEY_SCHEMA["pattern"].replace("\\", "\\\\")) == 1
    assert SCHEMAS["IdempotencyKey"]["pattern"] == "^[A-Za-z0-9_\\-:.]{8,64}$"
    ref = "#/components/schemas/IdempotencyKey"
    for name in ("RedemptionRequest", "PointsProposalInput", "ProposalInput"):
        field = _nonnull(SCHEMAS[name]["properties"]["idempotency_key"])
        assert field["allOf"] == [{"$ref": ref}], name
    header = next(
        p
        for p in DOCUMENT["paths"]["/api/v1/proposals"]["post"]["parameters"]
        if p["in"] == "header"
    )
    assert header["schema"] == {"$ref": ref}


def test_every_operation_lists_the_roles_of_its_permission_map_action():
    for method, path, op in _operations():
        if path.endswith("/openapi.json"):
            assert op["security"] == []  # public
            continue
        action = op["x-action"]
        assert op["x-roles"] == list(permissions.roles_for(action)), (method, path)
        assert op["description"].endswith("角色：" + ", ".join(op["x-roles"])), (method, path)


def test_every_operation_with_input_can_refuse_it_and_every_write_its_csrf_header():
    for method, path, op in _operations():
        codes = " ".join(r["description"] for r in op["responses"].values())
        if "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", ())):
            assert "`invalid_request`" in codes, (method, path)
        if method != "GET":
            assert "`csrf_failed`" in codes, (method, path)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"payload": None}, "payload", "卡片内容（payload）不能为空"),
        ({"payload": 7}, "payload", "卡片内容（payload）必须是文字"),
        ({"payload": "x" * 65}, "payload", "不能超过64个字"),
    ],
)
def test_a_scan_refusal_names_the_field_in_chinese(as_keeper, body, field, words):
    r = as_keeper.post("/api/v1/scan", body)
    assert r.status_code == 400 and error_code(r) == "invalid_request"
    error = r.get_json()["error"]
    assert error["details"]["field"] == field
    assert words in error["message"]


def test_a_refusal_speaks_english_when_asked(as_keeper):
    r = as_keeper.post("/api/v1/scan?lang=en", {"payload": None})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"] == "Card content (payload) must not be empty"


@pytest.mark.parametrize(
    ("quantity", "words"),
    [
        (True, "必须是整数"),
        ("3", "必须是整数"),
        (1.5, "必须是整数"),
        (0, "必须是正整数"),
        (DB_INT_MAX + 1, f"不能大于{DB_INT_MAX}"),
        (None, "不能为空"),
    ],
)
def test_a_cart_line_is_refused_at_its_own_path(as_keeper, quantity, words):
    r = as_keeper.post(
        "/api/v1/redemptions",
        {
            "card": "JF0000000101" + "0" * 10,
            "lines": [{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": quantity}],
            "idempotency_key": "contract-0001",
        },
    )
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["details"]["field"] == "lines[1].quantity"
    assert error["message"] == f"数量（lines[1].quantity）{words}"


def test_a_whole_float_counts_as_the_integer_json_schema_says_it_is(as_admin, supermarket):
    # 33.0 is an integer to JSON Schema, so the document allows it; so does the handler.
    product = factories.product(supermarket, name="酱油", cost_fen=800, stock_qty=1)
    r = as_admin.post(
        "/api/v1/stock-ins",
        {"lines": [{"product_id": float(product.id), "quantity": 2.0, "unit_cost_fen": 800}]},
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["products"][0]["stock_qty"] == 3


def test_a_member_added_alone_is_refused_under_its_own_name(as_admin, supermarket):
    hh = factories.household(supermarket)
    r = as_admin.post(f"/api/v1/households/{hh.id}/members", {"name": "  "})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "member.name"


def test_a_generated_answer_model_is_the_documented_schema():
    # The notices' answers are pydantic models: their schemas are generated, not written.
    ranking = SCHEMAS["Ranking"]
    assert "from" in ranking["properties"] and "from" in ranking["required"]
    assert ranking["additionalProperties"] is False
    assert set(SCHEMAS["NoticeDetail"]["required"]) >= {"id", "ranking", "content_hash"}


def test_every_json_answer_is_a_response_model_whose_schema_is_generated():
    # No answer is described by hand any more: each names a model, and its schema is the
    # model's (the hand-written ones left are the error body and free-form request objects).
    for op in contract.OPERATIONS:
        for _status, answer, _text in (op.ok, *op.also_ok):
            if answer is None:  # not JSON (a spreadsheet, a photo)
                continue
            assert isinstance(answer, type) and issubclass(answer, contract.Answer), op.rule
            assert answer.__name__ in SCHEMAS, op.rule
    assert SCHEMAS["ScanResult"]["properties"]["household"] == {
        "$ref": "#/components/schemas/HouseholdBrief"
    }


def test_an_answer_refuses_a_key_its_model_does_not_name():
    # A builder that starts sending a new field fails loudly rather than leak it undocumented.
    with pytest.raises(ValidationError):
        answers.Account.model_validate(
            {"balance": 1, "earned_total": 1, "redeemed_total": 0, "phone": "13800000000"}
        )
    with pytest.raises(ValidationError):
        answers.Card.model_validate(
            {
                "id": 1,
                "household_id": 1,
                "serial": 1,
                "issue_no": 1,
                "payload": "JF",
                "status": "lost",  # not a status the document lists
                "issued_at": None,
                "revoked_at": None,
                "revoke_reason": None,
            }
        )


def test_a_field_left_out_is_absent_from_the_answer_and_not_required_by_the_document():
    # A keeper's household members come without birth dates (absent, not null); an admin's
    # carry theirs, null when unknown.
    member = {"id": 1, "name": "张*", "relation": "户主", "active": True}
    assert answers.Member.model_validate(member).model_dump(mode="json") == member
    shown = answers.Member.model_validate({**member, "birth_date": None}).model_dump(mode="json")
    assert shown == {**member, "birth_date": None}
    assert "birth_date" in SCHEMAS["Member"]["properties"]
    assert "birth_date" not in SCHEMAS["Member"]["required"]
    assert set(SCHEMAS["ProposalResult"]["required"]) == {"proposal", "account"}
    assert set(SCHEMAS["StockInResult"]["required"]) == {"movements", "products"}
    # Everything else is always there, null where it has no value.
    assert set(SCHEMAS["Card"]["required"]) == set(SCHEMAS["Card"]["properties"])
    assert SCHEMAS["Card"]["properties"]["revoked_at"]["type"] == ["string", "null"]
