"""The counter's API: scan, catalogue, redemptions (create, retry, get, void, receipt, reprint)
and every refusal on the way, against the services' books."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inventory.models import Product
from kiosk.cards import make_payload
from kiosk.check import run_checks
from kiosk.extensions import db
from kiosk.models import PointAccount, PrintJob, Redemption, Supermarket
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


@pytest.fixture
def shop(supermarket):
    """A household with 100 points and a card, rice (25.50 yuan → 26 points, 5 in stock) and oil."""
    hh = factories.household(supermarket, points=100, head_name="张三丰")
    card, payload = factories.card(hh)
    rice = factories.product(
        supermarket, name="大米5kg", cost_fen=2550, stock_qty=5, barcode="6901234567892"
    )
    oil = factories.product(supermarket, name="花生油", cost_fen=1000, stock_qty=3, category="粮油")
    return {"hh": hh, "card": card, "payload": payload, "rice": rice, "oil": oil}


def fresh() -> None:
    """End the test's read transaction so the next query sees what requests committed."""
    db.session.commit()
    db.session.expire_all()


def balance(hh) -> int:
    fresh()
    return db.session.scalar(
        sa.select(PointAccount.balance).where(PointAccount.household_id == hh.id)
    )


def stock(product) -> int:
    fresh()
    return db.session.get(Product, product.id).stock_qty


def redemption_count() -> int:
    fresh()
    return db.session.scalar(sa.select(sa.func.count(Redemption.id)))


def cart(shop, key: str = "cart-00000001", rice: int = 2, oil: int = 1) -> dict:
    lines = [{"product_id": shop["rice"].id, "quantity": rice}]
    if oil:
        lines.append({"product_id": shop["oil"].id, "quantity": oil})
    return {"card": shop["payload"], "lines": lines, "idempotency_key": key}


# Scan ---------------------------------------------------------------------------------------


def test_scan_returns_household_balance_and_decision(as_keeper, shop):
    r = as_keeper.post("/api/v1/scan", {"payload": shop["payload"]})
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "ScanResult")
    assert body["card_id"] == shop["card"].id
    assert body["household"] == {
        "id": shop["hh"].id,
        "number": shop["hh"].number,
        "masked_name": "张*丰",
        "village": "东村",
        "status": "active",
    }
    assert body["account"] == {"balance": 100, "earned_total": 100, "redeemed_total": 0}
    assert body["decision"]["may_redeem"] is True
    assert body["decision"]["spendable"] == 100
    assert "张三丰" not in r.get_data(as_text=True)


def test_scan_reads_card_household_and_account_in_one_statement(as_keeper, shop):
    """The scan's reads (issue 7): card, household and account in one joined statement, the
    supermarket once per request (kept for the request, not read again by the services)."""
    fresh()
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(" ".join(statement.split()))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        r = as_keeper.post("/api/v1/scan", {"payload": shop["payload"]})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert r.status_code == 200
    assert r.get_json()["account"]["balance"] == 100

    def reading(table: str) -> list[str]:
        return [s for s in seen if f" FROM {table} " in s + " " or f"JOIN {table} " in s]

    card_reads = reading("cards")
    assert len(card_reads) == 1
    assert "JOIN households" in card_reads[0] and "JOIN point_accounts" in card_reads[0]
    assert reading("households") == card_reads
    assert reading("point_accounts") == card_reads
    assert len(reading("supermarkets")) == 1


def test_scan_accepts_the_digits_typed_without_jf(as_keeper, shop):
    typed = " ".join([shop["payload"][2:6], shop["payload"][6:]])
    r = as_keeper.post("/api/v1/scan", {"payload": typed})
    assert r.status_code == 200
    assert r.get_json()["card_id"] == shop["card"].id


def _altered(payload: str) -> str:
    last = payload[-1]
    return payload[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda s: _altered(s["payload"]), 422, "card_invalid"),  # altered MAC digit
        (
            lambda s: s["payload"][:4] + "9" + s["payload"][5:],
            422,
            "card_invalid",
        ),  # altered serial
        (lambda s: "JF" + "1" * 20, 422, "card_invalid"),  # forged
        (lambda s: "hello", 422, "card_invalid"),
        (lambda s: make_payload(99_999, 1), 404, "card_unknown"),  # signed, never issued
    ],
    ids=["altered-mac", "altered-serial", "forged", "garbage", "unknown"],
)
def test_scan_refuses_bad_cards(as_keeper, shop, make, status, code):
    r = as_keeper.post("/api/v1/scan", {"payload": make(shop)})
    assert r.status_code == status
    assert error_code(r) == code


def test_scan_refuses_the_old_card_after_reissue(as_keeper, as_admin, shop):
    r = as_admin.post(f"/api/v1/households/{shop['hh'].id}/cards", {"reason": "卡丢了"})
    assert r.status_code == 201
    old = as_keeper.post("/api/v1/scan", {"payload": shop["payload"]})
    assert old.status_code == 422
    assert error_code(old) == "card_revoked"
    new = as_keeper.post("/api/v1/scan", {"payload": r.get_json()["card"]["payload"]})
    assert new.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"payload": 12345}, {"payload": ""}, {"payload": None}, {"payload": "X" * 65}],
    ids=["missing", "number", "blank", "null", "too-long"],
)
def test_scan_invalid_request_names_the_field(as_keeper, shop, body):
    r = as_keeper.post("/api/v1/scan", body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    err = r.get_json()["error"]
    assert err["details"]["field"] == "payload"
    assert "卡片内容" in err["message"]


@pytest.mark.parametrize(
    "data", ["{not json", "[1, 2]", '"JF123"', ""], ids=["malformed", "list", "string", "empty"]
)
def test_malformed_json_is_invalid_request(as_keeper, shop, data):
    r = as_keeper.post("/api/v1/scan", data=data, content_type="application/json")
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"


# Catalogue ----------------------------------------------------------------------------------


def test_products_lists_catalogue_with_points_price_at_cost(as_keeper, shop):
    r = as_keeper.get("/api/v1/products")
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "Catalogue")
    assert [c["name"] for c in body["categories"]] == ["粮油"]
    rice = next(p for p in body["products"] if p["id"] == shop["rice"].id)
    assert rice["points_price"] == 26  # ceil(25.50 yuan) at 1 point per yuan
    assert rice["unit_cost_fen"] == 2550
    assert rice["stock_qty"] == 5
    assert rice["category"] == "粮油"
    assert rice["barcode"] == "6901234567892"


def test_points_price_follows_the_supermarkets_rate(as_keeper, shop, supermarket):
    db.session.get(Supermarket, supermarket.id).points_per_yuan = 2
    db.session.commit()
    r = as_keeper.get(f"/api/v1/products/barcode/{shop['rice'].barcode}")
    assert r.get_json()["product"]["points_price"] == 51


def test_product_by_barcode(as_keeper, shop):
    r = as_keeper.get("/api/v1/products/barcode/6901234567892")
    assert r.status_code == 200
    check_schema(r.get_json(), "ProductResult")
    assert r.get_json()["product"]["id"] == shop["rice"].id
    missing = as_keeper.get("/api/v1/products/barcode/6900000000000")
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"


# Redemptions --------------------------------------------------------------------------------


def test_a_redemption_reads_nothing_twice_and_writes_each_row_once(as_keeper, shop):
    """Issue 7's statements per redemption: the signed-in keeper is read once (by the sign-in,
    not again by the service), the supermarket once (in the write transaction), the receipt
    not read back for the answer, and the audit row inserted once with its chain link. On
    PostgreSQL the sign-in's read transaction goes on as the write transaction (one BEGIN);
    SQLite ends it and begins IMMEDIATE."""
    body = cart(shop)  # (the test's own reads, before the request's)
    # A kiosk's token is in use all day: its last use is written once in ten minutes, not here.
    assert as_keeper.get("/api/v1/products").status_code == 200
    fresh()
    seen: list[str] = []
    begins: list[int] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    def begin(conn) -> None:
        begins.append(1)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    sa.event.listen(engine, "begin", begin)
    try:
        r = as_keeper.post("/api/v1/redemptions", body)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        sa.event.remove(engine, "begin", begin)
    assert r.status_code == 201
    answer = r.get_json()
    assert answer["receipt"]["text"] and answer["receipt"]["copy_no"] == 1

    def reading(table: str) -> list[str]:
        return [s for s in seen if s.upper().startswith("SELECT") and f" FROM {table} " in s + " "]

    assert len(reading("users")) == 1
    assert len(reading("supermarkets")) == 1
    assert reading("print_jobs") == []
    assert sum(s.startswith("INSERT INTO audit_events ") for s in seen) == 1
    assert not [s for s in seen if s.startswith("UPDATE audit_events ")]
    assert len(begins) == (1 if engine.dialect.name == "postgresql" else 2)
    assert run_checks() == []


def test_redeem_creates_redemption_deducts_points_and_stock(as_keeper, shop, supermarket):
    r = as_keeper.post("/api/v1/redemptions", cart(shop))
    assert r.status_code == 201
    body = r.get_json()
    check_schema(body, "RedemptionResult")
    red = body["redemption"]
    assert red["receipt_no"] == "DT01-00000001"
    assert red["status"] == "completed"
    assert red["total_points"] == 2 * 26 + 10
    assert (red["balance_before"], red["balance_after"]) == (100, 38)
    assert red["keeper"] == "王店长"
    assert red["household"]["masked_name"] == "张*丰"
    assert red["created_at"].endswith("+08:00")
    assert [
        (ln["name"], ln["quantity"], ln["unit_points"], ln["line_points"]) for ln in red["lines"]
    ] == [
        ("大米5kg", 2, 26, 52),
        ("花生油", 1, 10, 10),
    ]
    assert body["receipt"]["status"] == "printed"
    assert "DT01-00000001" in body["receipt"]["text"]
    assert balance(shop["hh"]) == 38
    assert stock(shop["rice"]) == 3
    assert stock(shop["oil"]) == 2
    assert run_checks() == []


def test_retry_with_same_key_returns_same_redemption_without_double_deduction(as_keeper, shop):
    first = as_keeper.post("/api/v1/redemptions", cart(shop))
    assert first.status_code == 201
    retry = as_keeper.post("/api/v1/redemptions", cart(shop))
    assert retry.status_code == 200
    assert retry.get_json()["redemption"] == first.get_json()["redemption"]
    assert retry.get_json()["receipt"]["job_id"] == first.get_json()["receipt"]["job_id"]
    assert balance(shop["hh"]) == 38
    assert stock(shop["rice"]) == 3
    assert redemption_count() == 1
    assert db.session.scalar(sa.select(sa.func.count(PrintJob.id))) == 1
    assert run_checks() == []


def test_same_key_with_another_cart_is_a_conflict(as_keeper, shop):
    assert as_keeper.post("/api/v1/redemptions", cart(shop)).status_code == 201
    r = as_keeper.post("/api/v1/redemptions", cart(shop, rice=1))
    assert r.status_code == 409
    assert error_code(r) == "idempotency_conflict"
    assert balance(shop["hh"]) == 38
    assert redemption_count() == 1


def test_concurrent_copies_of_one_request_make_one_redemption(app, shop, keeper):
    """Four copies of the same request race: one 201, three 200, one deduction."""
    token_api = api_for(app.test_client(), keeper)
    barrier = threading.Barrier(4)
    results: list[tuple[int, int]] = []
    body = cart(shop, key="race-0000001")  # built here: ORM rows belong to this thread's session

    def post() -> None:
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            r = Api(client, token_api.token).post("/api/v1/redemptions", body)
            results.append((r.status_code, r.get_json()["redemption"]["id"]))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in results) == [200, 200, 200, 201]
    assert len({rid for _, rid in results}) == 1
    assert balance(shop["hh"]) == 38
    assert redemption_count() == 1
    assert run_checks() == []


def _books(shop) -> tuple:
    return (
        balance(shop["hh"]),
        stock(shop["rice"]),
        stock(shop["oil"]),
        redemption_count(),
        db.session.scalar(sa.select(Supermarket.next_receipt_no)),
    )


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (
            lambda b, s: b.update(lines=[{"product_id": s["rice"].id, "quantity": 4}]),
            422,
            "insufficient_points",
        ),
        (
            lambda b, s: b.update(lines=[{"product_id": s["oil"].id, "quantity": 4}]),
            422,
            "out_of_stock",
        ),
        (
            lambda b, s: b.update(lines=[{"product_id": 999_999, "quantity": 1}]),
            422,
            "product_unavailable",
        ),
        (lambda b, s: b.update(lines=[]), 422, "empty_cart"),
        (lambda b, s: b.update(card=_altered(s["payload"])), 422, "card_invalid"),
        (lambda b, s: b.update(card=make_payload(99_999, 1)), 404, "card_unknown"),
    ],
    ids=[
        "insufficient",
        "out-of-stock",
        "unknown-product",
        "empty",
        "altered-card",
        "unknown-card",
    ],
)
def test_refused_redemption_changes_nothing(as_keeper, shop, change, status, code):
    before = _books(shop)
    body = cart(shop)
    change(body, shop)
    r = as_keeper.post("/api/v1/redemptions", body)
    assert r.status_code == status
    assert error_code(r) == code
    assert _books(shop) == before
    assert run_checks() == []


def test_insufficient_points_says_how_many_are_needed(as_keeper, shop):
    body = cart(shop, rice=4, oil=0)
    r = as_keeper.post("/api/v1/redemptions", body)
    details = r.get_json()["error"]["details"]
    assert (details["needed"], details["spendable"]) == (104, 100)
    assert "还差4分" in r.get_json()["error"]["message"]


def test_inactive_product_is_unavailable(as_keeper, shop):
    db.session.get(Product, shop["oil"].id).active = False
    db.session.commit()
    r = as_keeper.post("/api/v1/redemptions", cart(shop))
    assert r.status_code == 422
    assert error_code(r) == "product_unavailable"


def test_revoked_card_cannot_redeem(as_keeper, as_admin, shop):
    as_admin.post(f"/api/v1/cards/{shop['card'].id}/revoke", {"reason": "遗失"})
    r = as_keeper.post("/api/v1/redemptions", cart(shop))
    assert r.status_code == 422
    assert error_code(r) == "card_revoked"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(lines="rice"), "lines"),
        (lambda b: b.pop("lines"), "lines"),
        (lambda b: b["lines"].__setitem__(0, 5), "lines[0]"),
        (lambda b: b["lines"][0].update(quantity="2"), "lines[0].quantity"),
        (lambda b: b["lines"][0].update(quantity=1.5), "lines[0].quantity"),
        (lambda b: b["lines"][0].update(quantity=0), "lines[0].quantity"),
        (lambda b: b["lines"][1].update(quantity=-1), "lines[1].quantity"),
        (lambda b: b["lines"][0].update(product_id=True), "lines[0].product_id"),
        (lambda b: b["lines"][0].pop("product_id"), "lines[0].product_id"),
        (lambda b: b.update(card=["JF"]), "card"),
        (lambda b: b.pop("idempotency_key"), "idempotency_key"),
        (lambda b: b.update(idempotency_key="short"), "idempotency_key"),
        (lambda b: b.update(idempotency_key="有中文的请求编号abc"), "idempotency_key"),
    ],
)
def test_redemption_invalid_request_names_the_field(as_keeper, shop, change, field):
    before = _books(shop)
    body = cart(shop)
    change(body)
    r = as_keeper.post("/api/v1/redemptions", body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == field
    assert _books(shop) == before


def test_get_redemption(as_keeper, as_supervisor, shop):
    created = as_keeper.post("/api/v1/redemptions", cart(shop)).get_json()
    rid = created["redemption"]["id"]
    for api in (as_keeper, as_supervisor):
        r = api.get(f"/api/v1/redemptions/{rid}")
        assert r.status_code == 200
        check_schema(r.get_json(), "RedemptionResult")
        assert r.get_json()["redemption"] == created["redemption"]
    missing = as_keeper.get("/api/v1/redemptions/999999")
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"


def test_receipt_returns_text_and_escpos_bytes(as_keeper, shop):
    rid = as_keeper.post("/api/v1/redemptions", cart(shop)).get_json()["redemption"]["id"]
    r = as_keeper.get(f"/api/v1/redemptions/{rid}/receipt")
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "ReceiptBytes")
    raw = base64.b64decode(body["escpos_base64"])
    assert raw.startswith(b"\x1b\x40")  # ESC @, printer reset
    assert b"DT01-00000001" in raw
    assert "大米5kg".encode("gb18030") in raw
    assert "领取人签字" in body["receipt"]["text"]


def test_reprint_makes_a_marked_second_copy(as_keeper, shop):
    rid = as_keeper.post("/api/v1/redemptions", cart(shop)).get_json()["redemption"]["id"]
    r = as_keeper.post(f"/api/v1/redemptions/{rid}/reprint")
    assert r.status_code == 201
    check_schema(r.get_json(), "ReceiptResult")
    receipt = r.get_json()["receipt"]
    assert receipt["copy_no"] == 2
    assert "补打" in receipt["text"]
    latest = as_keeper.get(f"/api/v1/redemptions/{rid}/receipt").get_json()["receipt"]
    assert latest["job_id"] == receipt["job_id"]
    assert balance(shop["hh"]) == 38  # a reprint redeems nothing


# Void ---------------------------------------------------------------------------------------


def test_keeper_voids_same_day_and_books_return(as_keeper, shop):
    rid = as_keeper.post("/api/v1/redemptions", cart(shop)).get_json()["redemption"]["id"]
    r = as_keeper.post(f"/api/v1/redemptions/{rid}/void", {"reason": "拿错了"})
    assert r.status_code == 200
    check_schema(r.get_json(), "RedemptionResult")
    red = r.get_json()["redemption"]
    assert red["status"] == "voided"
    assert red["void_reason"] == "拿错了"
    assert red["voided_at"] is not None
    assert balance(shop["hh"]) == 100
    assert stock(shop["rice"]) == 5
    again = as_keeper.post(f"/api/v1/redemptions/{rid}/void", {"reason": "再次"})
    assert again.status_code == 409
    assert error_code(again) == "already_voided"
    assert balance(shop["hh"]) == 100
    assert run_checks() == []


def _backdate(redemption_id: int, days: int = 1) -> None:
    row = db.session.get(Redemption, redemption_id)
    row.created_at = row.created_at - timedelta(days=days)
    db.session.commit()


def test_keeper_cannot_void_yesterdays_redemption_but_admin_can(as_keeper, as_admin, shop):
    rid = as_keeper.post("/api/v1/redemptions", cart(shop)).get_json()["redemption"]["id"]
    _backdate(rid)
    r = as_keeper.post(f"/api/v1/redemptions/{rid}/void", {"reason": "昨天拿错了"})
    assert r.status_code == 403
    assert error_code(r) == "void_not_allowed"
    assert balance(shop["hh"]) == 38
    r = as_admin.post(f"/api/v1/redemptions/{rid}/void", {"reason": "村委核实后作废"})
    assert r.status_code == 200
    assert r.get_json()["redemption"]["status"] == "voided"
    assert balance(shop["hh"]) == 100
    assert stock(shop["oil"]) == 3
    assert run_checks() == []


def test_admin_voids_an_old_redemption(as_keeper, as_admin, shop):
    rid = as_keeper.post("/api/v1/redemptions", cart(shop)).get_json()["redemption"]["id"]
    _backdate(rid, days=40)
    r = as_admin.post(f"/api/v1/redemptions/{rid}/void", {"reason": "月底对账发现错误"})
    assert r.status_code == 200
    assert run_checks() == []


@pytest.mark.parametrize(
    "body", [{}, {"reason": ""}, {"reason": 7}], ids=["missing", "blank", "number"]
)
def test_void_needs_a_reason(as_keeper, shop, body):
    rid = as_keeper.post("/api/v1/redemptions", cart(shop)).get_json()["redemption"]["id"]
    r = as_keeper.post(f"/api/v1/redemptions/{rid}/void", body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == "reason"
    assert balance(shop["hh"]) == 38


def test_void_unknown_redemption_is_not_found(as_keeper, shop):
    r = as_keeper.post("/api/v1/redemptions/999999/void", {"reason": "x"})
    assert r.status_code == 404
    assert error_code(r) == "not_found"


def test_books_are_clean_after_a_day_at_the_counter(as_keeper, as_admin, shop, supermarket):
    """Redeem, retry, conflict, refuse, void, reprint: `jifen check` finds nothing."""
    a = as_keeper.post(
        "/api/v1/redemptions", cart(shop, key="day-0000001", rice=1, oil=1)
    ).get_json()
    as_keeper.post("/api/v1/redemptions", cart(shop, key="day-0000001", rice=1, oil=1))
    as_keeper.post("/api/v1/redemptions", cart(shop, key="day-0000001", rice=2, oil=1))
    as_keeper.post("/api/v1/redemptions", cart(shop, key="day-0000002", rice=0 + 5, oil=0))
    b = as_keeper.post(
        "/api/v1/redemptions", cart(shop, key="day-0000003", rice=1, oil=0)
    ).get_json()
    as_keeper.post(f"/api/v1/redemptions/{a['redemption']['id']}/void", {"reason": "退货"})
    as_keeper.post(f"/api/v1/redemptions/{b['redemption']['id']}/reprint")
    as_admin.post(
        "/api/v1/stock-ins",
        {
            "supplier": "镇供销社",
            "lines": [{"product_id": shop["oil"].id, "quantity": 2, "unit_cost_fen": 1200}],
        },
    )
    assert balance(shop["hh"]) == 100 - 26
    assert redemption_count() == 2
    assert run_checks() == []
