"""Administration API: households and members, cards, point entries, products, stock-in and
API tokens, with masked names for keepers and refusals for bad input."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from inventory.models import Product
from kiosk.cards import parse_payload
from kiosk.check import run_checks
from kiosk.extensions import db
from kiosk.models import Card, Household, PointAccount, PointEntry, PointProposal
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    Api,
    api_for,
    as_admin_fixture,
    as_keeper_fixture,
    as_supervisor_fixture,
    check_schema,
    error_code,
)

NEW_HOUSEHOLD = {
    "number": "DC-0101",
    "head_name": "欧阳娜娜",
    "village": "东村",
    "group_name": "一组",
    "members": [
        {"name": "欧阳娜娜", "relation": "户主", "birth_date": "1960-03-15"},
        {"name": "李四", "relation": "配偶"},
    ],
}


def fresh() -> None:
    db.session.commit()
    db.session.expire_all()


def household_count() -> int:
    fresh()
    return db.session.scalar(sa.select(sa.func.count(Household.id)))


def balance(household_id: int) -> int:
    fresh()
    return db.session.scalar(
        sa.select(PointAccount.balance).where(PointAccount.household_id == household_id)
    )


# Households ---------------------------------------------------------------------------------


def test_admin_creates_household_with_members(as_admin, supermarket):
    r = as_admin.post("/api/v1/households", NEW_HOUSEHOLD)
    assert r.status_code == 201
    body = r.get_json()
    check_schema(body, "HouseholdResult")
    hh = body["household"]
    assert hh["number"] == "DC-0101"
    assert hh["head_name"] == "欧阳娜娜"
    assert hh["masked_name"] == "欧**娜"
    assert hh["group_name"] == "一组"
    assert [(m["name"], m["relation"], m["birth_date"]) for m in hh["members"]] == [
        ("欧阳娜娜", "户主", "1960-03-15"),
        ("李四", "配偶", None),
    ]
    assert hh["account"] == {"balance": 0, "earned_total": 0, "redeemed_total": 0}
    assert hh["active_card_id"] is None
    assert run_checks() == []


def test_household_without_members_gets_its_head_as_member(as_admin, supermarket):
    body = {k: v for k, v in NEW_HOUSEHOLD.items() if k != "members"}
    hh = as_admin.post("/api/v1/households", body).get_json()["household"]
    assert [(m["name"], m["relation"]) for m in hh["members"]] == [("欧阳娜娜", "户主")]


def test_duplicate_household_number_is_refused(as_admin, supermarket):
    assert as_admin.post("/api/v1/households", NEW_HOUSEHOLD).status_code == 201
    r = as_admin.post("/api/v1/households", NEW_HOUSEHOLD)
    assert r.status_code == 409
    assert error_code(r) == "duplicate"
    assert household_count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": 101}, "number"),
        ({"number": "  "}, "number"),
        ({"head_name": None}, "head_name"),
        ({"head_name": "名" * 51}, "head_name"),
        ({"village": ["东村"]}, "village"),
        ({"members": "欧阳娜娜"}, "members"),
        ({"members": ["欧阳娜娜"]}, "members[0]"),
        ({"members": [{"relation": "户主"}]}, "members[0].name"),
        ({"members": [{"name": "甲", "birth_date": "15/03/1960"}]}, "members[0].birth_date"),
        ({"members": [{"name": "甲", "birth_date": "2999-01-01"}]}, "members[0].birth_date"),
        ({"members": [{"name": "甲", "birth_date": 1960}]}, "members[0].birth_date"),
    ],
)
def test_household_invalid_request_names_the_field(as_admin, supermarket, change, field):
    r = as_admin.post("/api/v1/households", {**NEW_HOUSEHOLD, **change})
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == field
    assert household_count() == 0


def test_names_are_full_for_admin_and_supervisor_and_masked_for_keeper(
    as_admin, as_keeper, as_supervisor, supermarket
):
    hid = as_admin.post("/api/v1/households", NEW_HOUSEHOLD).get_json()["household"]["id"]
    for api in (as_admin, as_supervisor):
        hh = api.get(f"/api/v1/households/{hid}").get_json()["household"]
        assert hh["head_name"] == "欧阳娜娜"
        assert hh["members"][1]["name"] == "李四"
        assert hh["members"][0]["birth_date"] == "1960-03-15"
    r = as_keeper.get(f"/api/v1/households/{hid}")
    assert r.status_code == 200
    check_schema(r.get_json(), "HouseholdResult")
    hh = r.get_json()["household"]
    assert hh["head_name"] == "欧**娜"
    assert [m["name"] for m in hh["members"]] == ["欧**娜", "李*"]
    assert all("birth_date" not in m for m in hh["members"])
    text = r.get_data(as_text=True)
    assert "欧阳娜娜" not in text and "李四" not in text
    listed = as_keeper.get("/api/v1/households").get_data(as_text=True)
    assert "欧阳娜娜" not in listed


def test_household_detail_shows_balance_and_active_card(as_admin, supermarket):
    hh = factories.household(supermarket, points=30)
    card, _ = factories.card(hh)
    body = as_admin.get(f"/api/v1/households/{hh.id}").get_json()["household"]
    assert body["account"]["balance"] == 30
    assert body["active_card_id"] == card.id
    missing = as_admin.get("/api/v1/households/999999")
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"


def test_households_other_supermarkets_are_not_visible(as_keeper, supermarket):
    other = factories.supermarket(code="GY01", name="高阳积分超市")
    hh = factories.household(other)
    r = as_keeper.get(f"/api/v1/households/{hh.id}")
    assert r.status_code == 404
    assert as_keeper.get("/api/v1/households").get_json()["total"] == 0


def test_household_list_filters_and_pages(as_supervisor, supermarket):
    for i, name in enumerate(["张三", "李四", "王五", "张小明", "赵六"]):
        factories.household(supermarket, head_name=name, number=f"DC-{i:04d}", points=i)
    page = as_supervisor.get("/api/v1/households?per_page=2&page=2")
    assert page.status_code == 200
    body = page.get_json()
    check_schema(body, "HouseholdPage")
    assert (body["total"], body["page"], body["per_page"]) == (5, 2, 2)
    assert [h["number"] for h in body["households"]] == ["DC-0002", "DC-0003"]
    assert [h["balance"] for h in body["households"]] == [2, 3]
    by_name = as_supervisor.get("/api/v1/households?q=张").get_json()
    assert sorted(h["head_name"] for h in by_name["households"]) == ["张三", "张小明"]
    by_number = as_supervisor.get("/api/v1/households?q=0004").get_json()
    assert [h["head_name"] for h in by_number["households"]] == ["赵六"]
    literal = as_supervisor.get("/api/v1/households?q=%25").get_json()
    assert literal["total"] == 0  # a % is searched for, not a wildcard


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=101", "per_page=-1"])
def test_household_list_refuses_bad_paging(as_supervisor, supermarket, query):
    r = as_supervisor.get(f"/api/v1/households?{query}")
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"


def test_add_member(as_admin, supermarket):
    hh = factories.household(supermarket)
    r = as_admin.post(
        f"/api/v1/households/{hh.id}/members",
        {"name": "张小宝", "relation": "孙子", "birth_date": "2015-06-01"},
    )
    assert r.status_code == 201
    check_schema(r.get_json(), "MemberResult")
    assert r.get_json()["member"]["name"] == "张小宝"
    detail = as_admin.get(f"/api/v1/households/{hh.id}").get_json()["household"]
    assert [m["name"] for m in detail["members"]] == ["张三丰", "张小宝"]
    bad = as_admin.post(f"/api/v1/households/{hh.id}/members", {"name": ""})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["field"] == "member.name"
    missing = as_admin.post("/api/v1/households/999999/members", {"name": "甲"})
    assert missing.status_code == 404


def test_deactivated_household_cannot_redeem(as_admin, as_keeper, supermarket):
    hh = factories.household(supermarket, points=50)
    _, payload = factories.card(hh)
    rice = factories.product(supermarket)
    r = as_admin.post(f"/api/v1/households/{hh.id}/status", {"active": False})
    assert r.status_code == 200
    assert r.get_json()["household"]["status"] == "inactive"
    scan = as_keeper.post("/api/v1/scan", {"payload": payload}).get_json()
    assert scan["household"]["status"] == "inactive"
    assert scan["decision"]["may_redeem"] is False
    redeem = as_keeper.post(
        "/api/v1/redemptions",
        {
            "card": payload,
            "lines": [{"product_id": rice.id, "quantity": 1}],
            "idempotency_key": "inactive-01",
        },
    )
    assert redeem.status_code == 422
    assert error_code(redeem) == "household_inactive"
    assert balance(hh.id) == 50
    back = as_admin.post(f"/api/v1/households/{hh.id}/status", {"active": True})
    assert back.get_json()["household"]["status"] == "active"


@pytest.mark.parametrize(
    "body", [{}, {"active": "false"}, {"active": 0}], ids=["missing", "string", "zero"]
)
def test_status_needs_a_boolean(as_admin, supermarket, body):
    hh = factories.household(supermarket)
    r = as_admin.post(f"/api/v1/households/{hh.id}/status", body)
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "active"


# Cards --------------------------------------------------------------------------------------


def test_issue_reissue_and_revoke_cards(as_admin, as_keeper, supermarket):
    hh = factories.household(supermarket, points=10)
    first = as_admin.post(f"/api/v1/households/{hh.id}/cards")
    assert first.status_code == 201
    check_schema(first.get_json(), "CardResult")
    card1 = first.get_json()["card"]
    assert (card1["serial"], card1["issue_no"], card1["status"]) == (hh.id, 1, "active")
    assert parse_payload(card1["payload"]) == (hh.id, 1)
    assert as_keeper.post("/api/v1/scan", {"payload": card1["payload"]}).status_code == 200

    second = as_admin.post(f"/api/v1/households/{hh.id}/cards", {"reason": "卡片损坏"})
    card2 = second.get_json()["card"]
    assert card2["issue_no"] == 2
    fresh()
    old = db.session.get(Card, card1["id"])
    assert (old.status, old.revoke_reason) == ("revoked", "卡片损坏")
    assert (
        error_code(as_keeper.post("/api/v1/scan", {"payload": card1["payload"]})) == "card_revoked"
    )
    detail = as_admin.get(f"/api/v1/households/{hh.id}").get_json()["household"]
    assert detail["active_card_id"] == card2["id"]

    revoked = as_admin.post(f"/api/v1/cards/{card2['id']}/revoke", {"reason": "户已迁出"})
    assert revoked.status_code == 200
    assert revoked.get_json()["card"]["status"] == "revoked"
    assert revoked.get_json()["card"]["revoke_reason"] == "户已迁出"
    assert (
        error_code(as_keeper.post("/api/v1/scan", {"payload": card2["payload"]})) == "card_revoked"
    )
    again = as_admin.post(f"/api/v1/cards/{card2['id']}/revoke", {"reason": "再次"})
    assert again.status_code == 422
    assert error_code(again) == "card_revoked"
    assert (
        as_admin.get(f"/api/v1/households/{hh.id}").get_json()["household"]["active_card_id"]
        is None
    )


def test_card_errors(as_admin, supermarket):
    hh = factories.household(supermarket)
    card, _ = factories.card(hh)
    assert error_code(as_admin.post("/api/v1/households/999999/cards")) == "not_found"
    assert (
        error_code(as_admin.post("/api/v1/cards/999999/revoke", {"reason": "遗失"})) == "not_found"
    )
    no_reason = as_admin.post(f"/api/v1/cards/{card.id}/revoke", {"reason": " "})
    assert no_reason.status_code == 400
    assert no_reason.get_json()["error"]["details"]["field"] == "reason"
    bad = as_admin.post(
        f"/api/v1/households/{hh.id}/cards", data="{oops", content_type="application/json"
    )
    assert bad.status_code == 400


# Point entries ------------------------------------------------------------------------------


_second = itertools.count(1)


def _approved_by_second_admin(client, supermarket, response) -> dict:
    """A second admin signs off the proposal the points route made: the entry it posted, with
    the account after it."""
    assert response.status_code == 202, response.get_json()
    second = api_for(
        client,
        factories.user(f"admin-{next(_second)}", "admin", supermarket, display_name="周委员"),
    )
    proposal = response.get_json()["proposal"]
    r = second.post(f"/api/v1/proposals/{proposal['id']}/approve")
    assert r.status_code == 200, r.get_json()
    history = second.get(f"/api/v1/households/{proposal['household_id']}/points").get_json()
    entry = next(e for e in history["entries"] if e["id"] == r.get_json()["proposal"]["entry_id"])
    return {**entry, "account": r.get_json()["account"]}


def test_award_and_deduct_points(client, as_admin, supermarket):
    """Awards and deductions through the points route count once a second admin approves."""
    hh = factories.household(supermarket)
    r = as_admin.post(
        f"/api/v1/households/{hh.id}/points", {"kind": "award", "amount": 20, "reason": "环境整治"}
    )
    assert r.status_code == 202
    check_schema(r.get_json(), "ProposalResult")
    assert balance(hh.id) == 0
    entry = _approved_by_second_admin(client, supermarket, r)
    assert (entry["kind"], entry["amount"], entry["balance_after"], entry["created_by"]) == (
        "award",
        20,
        20,
        "周委员",
    )
    r = as_admin.post(
        f"/api/v1/households/{hh.id}/points", {"kind": "deduct", "amount": 5, "reason": "乱堆乱放"}
    )
    entry = _approved_by_second_admin(client, supermarket, r)
    assert entry["amount"] == -5
    assert entry["account"] == {"balance": 15, "earned_total": 15, "redeemed_total": 0}
    history = as_admin.get(f"/api/v1/households/{hh.id}/points")
    assert history.status_code == 200
    check_schema(history.get_json(), "PointHistory")
    assert [(e["kind"], e["amount"], e["reason"]) for e in history.get_json()["entries"]] == [
        ("deduction", -5, "乱堆乱放"),
        ("award", 20, "环境整治"),
    ]
    assert (
        as_admin.get(f"/api/v1/households/{hh.id}/points?limit=1").get_json()["entries"][0][
            "amount"
        ]
        == -5
    )
    assert run_checks() == []


def test_points_retry_with_key_is_idempotent(as_admin, supermarket):
    hh = factories.household(supermarket)
    body = {
        "kind": "award",
        "amount": 8,
        "reason": "志愿服务",
        "idempotency_key": "award-2024-0001",
    }
    first = as_admin.post(f"/api/v1/households/{hh.id}/points", body)
    retry = as_admin.post(f"/api/v1/households/{hh.id}/points", body)
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.get_json()["proposal"]["id"] == first.get_json()["proposal"]["id"]
    assert balance(hh.id) == 0  # pending until a second admin approves
    conflict = as_admin.post(f"/api/v1/households/{hh.id}/points", {**body, "amount": 9})
    assert conflict.status_code == 409
    assert error_code(conflict) == "idempotency_conflict"
    assert db.session.scalar(sa.select(sa.func.count(PointProposal.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(PointEntry.id))) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "bonus"}, "kind"),
        ({"kind": None}, "kind"),
        ({"amount": -5}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "5"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 10_000_001}, "amount"),
        ({"reason": ""}, "reason"),
        ({"reason": 3}, "reason"),
        ({"idempotency_key": "abc"}, "idempotency_key"),
    ],
)
def test_points_invalid_request(as_admin, supermarket, change, field):
    hh = factories.household(supermarket, points=10)
    body = {"kind": "award", "amount": 5, "reason": "志愿服务", **change}
    r = as_admin.post(f"/api/v1/households/{hh.id}/points", body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == field
    assert balance(hh.id) == 10


def test_points_for_unknown_household(as_admin, supermarket):
    r = as_admin.post(
        "/api/v1/households/999999/points", {"kind": "award", "amount": 1, "reason": "x"}
    )
    assert r.status_code == 404
    assert error_code(as_admin.get("/api/v1/households/999999/points")) == "not_found"


# Products and stock-in ----------------------------------------------------------------------


def test_create_goods_and_service(as_admin, supermarket):
    r = as_admin.post(
        "/api/v1/products",
        {
            "sku": "RICE5",
            "name": "大米5kg",
            "unit": "袋",
            "category": "粮油",
            "barcode": "6901234567892",
        },
    )
    assert r.status_code == 201
    check_schema(r.get_json(), "ProductResult")
    goods = r.get_json()["product"]
    assert (goods["kind"], goods["stock_qty"], goods["category"], goods["points_price"]) == (
        "goods",
        0,
        "粮油",
        0,
    )
    r = as_admin.post(
        "/api/v1/products",
        {
            "sku": "MEAL",
            "name": "爱心午餐",
            "unit": "份",
            "category": "服务",
            "kind": "service",
            "unit_cost_fen": 1234,
        },
    )
    assert r.status_code == 201
    service = r.get_json()["product"]
    assert (service["kind"], service["unit_cost_fen"], service["points_price"]) == (
        "service",
        1234,
        13,
    )
    catalogue = as_admin.get("/api/v1/products").get_json()
    assert {p["sku"] for p in catalogue["products"]} == {"RICE5", "MEAL"}
    dup = as_admin.post("/api/v1/products", {"sku": "RICE5", "name": "重复"})
    assert dup.status_code == 409
    assert error_code(dup) == "duplicate"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "无编号"}, "sku"),
        ({"sku": "A1"}, "name"),
        ({"sku": "A1", "name": "甲", "barcode": "69-12AB"}, "barcode"),
        ({"sku": "A1", "name": "甲", "kind": "gift"}, "kind"),
        ({"sku": "A1", "name": "甲", "unit_cost_fen": -1}, "unit_cost_fen"),
        ({"sku": "A1", "name": "甲", "unit_cost_fen": 12.5}, "unit_cost_fen"),
    ],
)
def test_product_invalid_request(as_admin, supermarket, body, field):
    r = as_admin.post("/api/v1/products", body)
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == field
    assert db.session.scalar(sa.select(sa.func.count(Product.id))) == 0


def test_stock_in_moves_average_cost_and_points_price(as_keeper, supermarket):
    rice = factories.product(supermarket, cost_fen=2000, stock_qty=10)
    oil = factories.product(supermarket, name="花生油", cost_fen=1000, stock_qty=0)
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {
            "supplier": "镇供销社",
            "invoice_no": "FP-001",
            "note": "月初进货",
            "lines": [
                {"product_id": rice.id, "quantity": 10, "unit_cost_fen": 3001},
                {"product_id": oil.id, "quantity": 4, "unit_cost_fen": 1150},
            ],
        },
    )
    assert r.status_code == 201
    body = r.get_json()
    check_schema(body, "StockInResult")
    assert [
        (m["product_id"], m["kind"], m["quantity"], m["quantity_after"]) for m in body["movements"]
    ] == [
        (rice.id, "stock_in", 10, 20),
        (oil.id, "stock_in", 4, 4),
    ]
    assert body["movements"][0]["invoice_no"] == "FP-001"
    products = {p["id"]: p for p in body["products"]}
    assert (products[rice.id]["unit_cost_fen"], products[rice.id]["points_price"]) == (2501, 26)
    assert (products[oil.id]["unit_cost_fen"], products[oil.id]["points_price"]) == (1150, 12)
    assert products[rice.id]["stock_qty"] == 20
    assert run_checks() == []


@pytest.mark.parametrize(
    ("lines", "status", "field"),
    [
        ([], 400, None),
        ("rice", 400, "lines"),
        ([{"product_id": "1", "quantity": 1, "unit_cost_fen": 100}], 400, "lines[0].product_id"),
        ([{"product_id": 1, "quantity": 0, "unit_cost_fen": 100}], 400, "lines[0].quantity"),
        ([{"product_id": 1, "quantity": 2}], 400, "lines[0].unit_cost_fen"),
        ([{"product_id": 1, "quantity": 2, "unit_cost_fen": -3}], 400, "lines[0].unit_cost_fen"),
        ([{"product_id": 999_999, "quantity": 2, "unit_cost_fen": 100}], 404, None),
    ],
)
def test_stock_in_refusals_change_nothing(as_keeper, supermarket, lines, status, field):
    rice = factories.product(supermarket, cost_fen=2000, stock_qty=10)
    r = as_keeper.post("/api/v1/stock-ins", {"lines": lines})
    assert r.status_code == status
    if field:
        assert r.get_json()["error"]["details"]["field"] == field
    fresh()
    assert db.session.get(Product, rice.id).stock_qty == 10


def test_services_are_not_stocked_in(as_keeper, supermarket):
    meal = factories.product(
        supermarket, name="爱心午餐", kind="service", cost_fen=800, stock_qty=0
    )
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {"lines": [{"product_id": meal.id, "quantity": 1, "unit_cost_fen": 800}]},
    )
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert "服务" in r.get_json()["error"]["message"]


# API tokens ---------------------------------------------------------------------------------


def test_admin_issues_lists_and_revokes_tokens(
    client, as_admin, as_supervisor, keeper, supermarket
):
    r = as_admin.post(f"/api/v1/users/{keeper.id}/tokens", {"label": "柜台平板"})
    assert r.status_code == 201
    check_schema(r.get_json(), "TokenIssued")
    token = r.get_json()["token"]
    token_id = r.get_json()["record"]["id"]
    as_new_keeper = Api(client, token)
    assert as_new_keeper.get("/api/v1/products").status_code == 200
    db.session.rollback()  # (the test's requests share its session: let the listing read anew)
    listed = as_supervisor.get(f"/api/v1/users/{keeper.id}/tokens")
    assert listed.status_code == 200
    check_schema(listed.get_json(), "TokenList")
    assert [t["label"] for t in listed.get_json()["tokens"]] == ["柜台平板"]
    assert listed.get_json()["tokens"][0]["last_used_at"].endswith("+08:00")  # used above
    assert token not in listed.get_data(as_text=True)
    revoked = as_admin.post(f"/api/v1/tokens/{token_id}/revoke")
    assert revoked.status_code == 200
    assert revoked.get_json()["record"]["revoked_at"] is not None
    after = as_new_keeper.get("/api/v1/products")
    assert after.status_code == 401
    assert error_code(after) == "unauthorized"
    assert error_code(as_admin.post("/api/v1/tokens/999999/revoke")) == "not_found"
    assert error_code(as_admin.post("/api/v1/users/999999/tokens")) == "not_found"
