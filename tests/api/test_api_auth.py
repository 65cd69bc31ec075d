"""Who may call the API: bearer tokens and sessions, 401s, the role × endpoint matrix, CSRF."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import session as flask_session
from flask_wtf.csrf import generate_csrf

from inventory.models import Product, StockMovement
from kiosk import auth, clock, evidence, intake, notice, rules
from kiosk.extensions import db
from kiosk.models import (
    ApiToken,
    AuditEvent,
    Card,
    Household,
    Member,
    PointEntry,
    PrintJob,
    Redemption,
    User,
)
from kiosk.redemption import CartLine, redeem
from kiosk.rules import policies, presets
from kiosk.timeutil import utcnow
from tests import factories
from tests.api.books_world import books_world
from tests.api.test_api_helpers import Api, api_for, error_code

# Who may call each endpoint: the specification the matrix test checks, route by route.
K, A, S = "keeper", "admin", "supervisor"
R = "recorder"  # 评议员: proposes (the phone page), nothing else
MATRIX: dict[tuple[str, str], tuple[set[str], object]] = {
    ("POST", "/api/v1/scan"): ({K, A}, {"payload": "{payload}"}),
    ("GET", "/api/v1/products"): ({K, A, S}, None),
    ("POST", "/api/v1/products"): ({A}, {"sku": "NEW1", "name": "肥皂"}),
    ("GET", "/api/v1/products/barcode/<code>"): ({K, A, S}, None),
    ("PATCH", "/api/v1/products/<int:product_id>"): ({A}, {"name": "东北大米5kg"}),
    ("POST", "/api/v1/redemptions"): (
        {K, A},
        {
            "card": "{payload}",
            "lines": [{"product_id": "{product}", "quantity": 1}],
            "idempotency_key": "matrix-0001",
        },
    ),
    ("GET", "/api/v1/redemptions/<int:redemption_id>"): ({K, A, S}, None),
    ("POST", "/api/v1/redemptions/<int:redemption_id>/void"): ({K, A}, {"reason": "测试"}),
    ("GET", "/api/v1/redemptions/<int:redemption_id>/receipt"): ({K, A, S}, None),
    ("POST", "/api/v1/redemptions/<int:redemption_id>/reprint"): ({K, A}, None),
    ("GET", "/api/v1/households"): ({K, A, S}, None),
    ("POST", "/api/v1/households"): ({A}, {"number": "M-1", "head_name": "刘备"}),
    ("GET", "/api/v1/households/<int:household_id>"): ({K, A, S}, None),
    ("POST", "/api/v1/households/<int:household_id>/members"): ({A}, {"name": "刘禅"}),
    ("POST", "/api/v1/households/<int:household_id>/status"): ({A}, {"active": True}),
    ("POST", "/api/v1/households/<int:household_id>/cards"): ({A}, {}),
    ("POST", "/api/v1/cards/<int:card_id>/revoke"): ({A}, {"reason": "遗失"}),
    ("GET", "/api/v1/households/<int:household_id>/points"): ({K, A, S}, None),
    ("POST", "/api/v1/households/<int:household_id>/points"): (
        {A},
        {"kind": "award", "amount": 1, "reason": "好人好事"},
    ),
    # Proposals (two signatures for every award): the world's proposal is another admin's for
    # approve and reject, the matrix admin's own for withdraw (see ``world``).
    ("GET", "/api/v1/proposals"): ({A, S}, None),
    ("POST", "/api/v1/proposals"): (
        {A, R},
        {"household_id": "{household_id}", "amount": 1, "reason": "好人好事"},
    ),
    ("GET", "/api/v1/proposals/<int:proposal_id>"): ({A, S}, None),
    ("POST", "/api/v1/proposals/<int:proposal_id>/approve"): ({A}, None),
    ("POST", "/api/v1/proposals/<int:proposal_id>/reject"): ({A}, {"note": "证明材料不足"}),
    # A recorder may withdraw only their own: the world's is the admin's (403 from the service).
    ("POST", "/api/v1/proposals/<int:proposal_id>/withdraw"): ({A}, None),
    ("GET", "/api/v1/proposals/<int:proposal_id>/photos/<int:position>"): ({A, S}, None),
    ("POST", "/api/v1/stock-ins"): (
        {K, A},
        {"lines": [{"product_id": "{product}", "quantity": 1, "unit_cost_fen": 100}]},
    ),
    ("GET", "/api/v1/users/<int:user_id>/tokens"): ({A, S}, None),
    ("POST", "/api/v1/users/<int:user_id>/tokens"): ({A}, {"label": "x"}),
    ("POST", "/api/v1/tokens/<int:token_id>/revoke"): ({A}, None),
    ("GET", "/api/v1/openapi.json"): ({K, A, S, R}, None),  # public
    # Rule sets (issue 3). A third element names the preset the supermarket runs for the call.
    ("GET", "/api/v1/policy"): ({K, A, S}, None),
    ("PUT", "/api/v1/policy"): ({A}, {"preset": "yangting"}),
    ("GET", "/api/v1/policy/preview"): ({K, A, S}, None),
    ("GET", "/api/v1/assessments"): ({A, S}, None),
    ("POST", "/api/v1/assessments"): (
        {A},
        {"period": "2024Q1", "household_id": "{household_id}", "score": 90},
    ),
    ("POST", "/api/v1/assessments/batch"): (
        {A},
        {"period": "2024Q1", "scores": [{"household_id": "{household_id}", "score": 90}]},
    ),
    ("GET", "/api/v1/vetoes"): ({A, S}, None),
    ("POST", "/api/v1/vetoes"): (
        {A},
        {"household_id": "{household_id}", "on": "2024-03-01", "reason": "违章建房"},
        "datong",
    ),
    ("POST", "/api/v1/cycle/close"): ({A}, {"year": 2024}, "gaoyang"),
    # The printer (issue 4).
    ("GET", "/api/v1/printer"): ({K, A, S}, None),
    ("PUT", "/api/v1/printer"): ({A}, {"settings": {"type": "preview", "paper_mm": 58}}),
    ("POST", "/api/v1/printer/test-page"): ({K, A}, None),
    ("GET", "/api/v1/print-jobs"): ({K, A, S}, None),
    ("POST", "/api/v1/print-jobs/retry"): ({K, A}, None),
    # The quarterly ranking and notice (issue 17), read only.
    ("GET", "/api/v1/notices"): ({K, A, S}, None),
    ("GET", "/api/v1/notices/<int:notice_id>"): ({K, A, S}, None),
    ("GET", "/api/v1/ranking"): ({K, A, S}, None),
    # The goods-and-money books (issue 20): the world's rows are tests/api/books_world.py's.
    ("GET", "/api/v1/fund"): ({K, A, S}, None),
    ("GET", "/api/v1/fund/entries"): ({K, A, S}, None),
    ("GET", "/api/v1/donors"): ({K, A, S}, None),
    ("GET", "/api/v1/donations"): ({K, A, S}, None),
    ("POST", "/api/v1/donations"): (
        {K, A},
        {"form": "cash", "donor_id": "{donor_id}", "amount_fen": 100},
    ),
    ("GET", "/api/v1/donations/<int:donation_id>"): ({K, A, S}, None),
    ("POST", "/api/v1/donations/<int:donation_id>/reverse"): ({A}, {"reason": "登记重复"}),
    ("GET", "/api/v1/ledgers/stock-in"): ({K, A, S}, None),
    ("GET", "/api/v1/ledgers/redemptions"): ({K, A, S}, None),
    ("GET", "/api/v1/write-offs"): ({K, A, S}, None),
    ("POST", "/api/v1/write-offs"): (
        {K, A},
        {"product_id": "{product}", "quantity": 1, "reason": "damage", "note": "破损"},
    ),
    ("POST", "/api/v1/write-offs/<int:adjustment_id>/approve"): ({A}, None),
    ("POST", "/api/v1/write-offs/<int:adjustment_id>/reject"): ({A}, None),
    ("GET", "/api/v1/stocktakes"): ({K, A, S}, None),
    ("POST", "/api/v1/stocktakes"): ({K, A}, None),
    ("GET", "/api/v1/stocktakes/<int:stocktake_id>"): ({K, A, S}, None),
    ("POST", "/api/v1/stocktakes/<int:stocktake_id>/counts"): (
        {K, A},
        {"barcode": "{code}", "idempotency_key": "matrix-count-0001"},
    ),
    ("POST", "/api/v1/stocktakes/<int:stocktake_id>/submit"): ({K, A}, None),
    ("POST", "/api/v1/stocktakes/<int:stocktake_id>/send-back"): ({A}, None),
    ("POST", "/api/v1/stocktakes/<int:stocktake_id>/cancel"): ({A}, None),
    ("POST", "/api/v1/stocktakes/<int:stocktake_id>/approve"): ({A}, None),
    ("POST", "/api/v1/stocktakes/<int:stocktake_id>/sign-off"): ({S}, None),
    ("GET", "/api/v1/month-ends"): ({K, A, S}, None),
    ("GET", "/api/v1/month-ends/<month>"): ({K, A, S}, None),
    # The office's downloads (the same files).
    ("GET", "/api/v1/fund/entries.xlsx"): ({K, A, S}, None),
    ("GET", "/api/v1/donations.xlsx"): ({K, A, S}, None),
    ("GET", "/api/v1/ledgers/stock-in.xlsx"): ({K, A, S}, None),
    ("GET", "/api/v1/ledgers/redemptions.xlsx"): ({K, A, S}, None),
    ("GET", "/api/v1/stocktakes/<int:stocktake_id>/report.xlsx"): ({K, A, S}, None),
    ("GET", "/api/v1/month-ends/<month>/report.xlsx"): ({K, A, S}, None),
    ("GET", "/api/v1/households.xlsx"): ({A, S}, None),
}


def api_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


@pytest.fixture
def world(request, app, tmp_path, supermarket, keeper, admin):
    """One of everything the endpoints address, ids ready to put in URLs and bodies."""
    app.instance_path = str(tmp_path / "instance")  # the evidence photo's folder
    hh = factories.household(supermarket, points=500)
    card, payload = factories.card(hh)
    rice = factories.product(supermarket, cost_fen=1000, stock_qty=50, barcode="6901234567892")
    red = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key="world-00001",
    )
    auth.issue_token(keeper.id, label="to revoke")
    token_id = db.session.scalar(sa.select(sa.func.max(ApiToken.id)))
    # A pending proposal: the matrix's admin entered it for the withdraw route (the recorder's),
    # another admin for the others (approve and reject are anyone's but the recorder's).
    route = request.node.callspec.params.get("route") if hasattr(request.node, "callspec") else None
    recorder = (
        admin
        if route and route[1].endswith("/withdraw")
        else factories.user("admin-w", "admin", supermarket)
    )
    photo = evidence.prepare(_jpeg())
    proposal, _ = intake.submit_proposal(
        supermarket.id,
        intake.ProposalInput(hh.id, date(2024, 3, 1), amount=5, reason="好人好事"),
        actor=recorder,
        photos=[photo],
    )
    quarter = rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)
    published = notice.publish_notice(
        notice.draft_notice(supermarket.id, quarter, actor=admin).id, actor=admin
    )
    return {
        "notice_id": published.id,
        "household_id": hh.id,
        "card_id": card.id,
        "payload": payload,
        "product": rice.id,
        "product_id": rice.id,
        "code": rice.barcode,
        "redemption_id": red.id,
        "user_id": keeper.id,
        "token_id": token_id,
        "proposal_id": proposal.id,
        "position": 0,
        **books_world(route, supermarket, keeper, admin, rice),
    }


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def fill(value, world):
    """Put the world's ids into a URL rule or a body template."""
    if isinstance(value, str):
        if re.fullmatch(r"\{\w+\}", value):
            return world[value[1:-1]]
        return re.sub(r"<(?:int:)?(\w+)>", lambda m: str(world[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, world) for v in value]
    return value


def books() -> tuple:
    """Every count and sum a write could change."""
    db.session.commit()
    db.session.expire_all()
    count = lambda model: db.session.scalar(sa.select(sa.func.count(model.id)))  # noqa: E731
    return (
        count(Household),
        count(Member),
        count(Card),
        count(PointEntry),
        count(Product),
        count(StockMovement),
        count(Redemption),
        count(PrintJob),
        count(ApiToken),
        count(AuditEvent),
        db.session.scalar(sa.select(sa.func.count(Card.id)).where(Card.status == "revoked")),
        db.session.scalar(
            sa.select(sa.func.count(Redemption.id)).where(Redemption.status == "voided")
        ),
        db.session.scalar(
            sa.select(sa.func.count(ApiToken.id)).where(ApiToken.revoked_at.is_not(None))
        ),
        db.session.scalar(
            sa.select(sa.func.count(Household.id)).where(Household.status == "active")
        ),
    )


def test_matrix_covers_every_route(app):
    assert set(MATRIX) == api_routes(app)


@pytest.mark.parametrize("route", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_role_matrix(client, world, admin, keeper, supervisor, supermarket, route):
    """Forbidden roles get 403 and change nothing; allowed roles get through."""
    method, rule = route
    allowed, body, *preset = MATRIX[route]
    if preset:
        policies.set_policy(admin.supermarket_id, presets.preset(preset[0]), actor=None)
    url = fill(rule, world)
    body = fill(body, world)
    users = {K: keeper, A: admin, S: supervisor, R: factories.user("recorder1", R, supermarket)}
    for role in sorted(users, key=lambda r: r in allowed):  # forbidden roles first
        api = api_for(client, users[role])
        before = books()
        if method == "GET":
            r = api.get(url)
        else:
            r = {"PUT": api.put, "PATCH": api.patch}.get(method, api.post)(url, body)
        if role in allowed:
            assert r.status_code not in (401, 403), (role, r.get_json())
            if role == min(allowed, key=[K, A, S, R].index):
                assert 200 <= r.status_code < 300, (role, r.get_json())
        else:
            assert r.status_code == 403, role
            assert error_code(r) == "forbidden"
            assert books() == before, f"a refused {role} changed the books"


def test_every_endpoint_needs_credentials(app, client, world):
    for method, rule in sorted(api_routes(app)):
        if rule.endswith("/openapi.json"):
            continue
        url = fill(rule, world)
        for headers in (
            {},
            {"Authorization": "Bearer jf_not-a-token"},
            {"Authorization": "Bearer "},
            {"Authorization": "Basic a2VlcGVyMTpzZWNyZXQxMjM="},
        ):
            r = client.open(
                url,
                method=method,
                json={} if method in ("POST", "PATCH") else None,
                headers=headers,
            )
            assert r.status_code == 401, (method, url, headers)
            assert error_code(r) == "unauthorized"


def test_openapi_document_is_public(client):
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_revoked_token_is_refused(client, keeper, admin, supermarket):
    token = auth.issue_token(keeper.id)
    api = Api(client, token)
    assert api.get("/api/v1/products").status_code == 200
    row = db.session.scalar(sa.select(ApiToken).order_by(ApiToken.id.desc()))
    auth.revoke_token(row.id, actor=admin)
    r = api.get("/api/v1/products")
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"
    assert api.post("/api/v1/scan", {"payload": "x"}).status_code == 401


def test_a_tokens_last_use_is_written_at_most_every_ten_minutes(
    app, client, keeper, supermarket, monkeypatch
):
    """The users page tells a kiosk's live token from a forgotten one; a busy kiosk's requests
    do not each write a row (the redemption's statements stay what issue 7 measured)."""
    token = auth.issue_token(keeper.id)
    api = Api(client, token)
    row = db.session.scalar(sa.select(ApiToken).order_by(ApiToken.id.desc()))
    assert row.last_used_at is None
    writes: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert api.get("/api/v1/products").status_code == 200
        db.session.rollback()  # (a new snapshot)
        first = db.session.get(ApiToken, row.id).last_used_at
        assert first is not None and abs((utcnow() - first).total_seconds()) < 60
        assert len(writes) == 1
        assert api.get("/api/v1/products").status_code == 200
        assert api.post("/api/v1/scan", {"payload": "x"}).status_code == 422
        assert len(writes) == 1  # within ten minutes: read, not written
        later = first + timedelta(minutes=11)
        monkeypatch.setattr(auth, "utcnow", lambda: later)
        assert api.get("/api/v1/products").status_code == 200
        assert len(writes) == 2
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    db.session.rollback()  # (a new snapshot)
    assert db.session.get(ApiToken, row.id).last_used_at == later


def test_a_busy_database_skips_the_tokens_last_use_not_the_request(
    client, keeper, supermarket, caplog
):
    token = auth.issue_token(keeper.id)

    def busy(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            raise sa.exc.OperationalError(statement, {}, Exception("database is locked"))

    sa.event.listen(db.engine, "before_cursor_execute", busy)
    try:
        assert Api(client, token).get("/api/v1/products").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", busy)
    assert "could not record the use of API token" in caplog.text
    db.session.rollback()
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == keeper.id))
    assert row.last_used_at is None  # the next request tries again
    assert Api(client, token).get("/api/v1/products").status_code == 200
    db.session.rollback()
    assert db.session.get(ApiToken, row.id).last_used_at is not None


def test_token_of_deactivated_user_is_refused(client, keeper, supermarket):
    api = api_for(client, keeper)
    db.session.get(User, keeper.id).active = False
    db.session.commit()
    assert api.get("/api/v1/products").status_code == 401


def test_each_request_is_authenticated_on_its_own(client, keeper, admin, supermarket):
    """Two tokens used one after the other are two users, never a cached one."""
    as_keeper, as_admin = api_for(client, keeper), api_for(client, admin)
    body = {"number": "X-1", "head_name": "关羽"}
    assert as_admin.get("/api/v1/households").status_code == 200
    assert as_keeper.post("/api/v1/households", body).status_code == 403
    assert as_admin.post("/api/v1/households", body).status_code == 201
    assert client.get("/api/v1/households").status_code == 401


# Session authentication and CSRF --------------------------------------------------------------


def log_in(app, client, user) -> str:
    """Log the test client in as ``user`` and return the page's CSRF token."""
    with app.test_request_context():
        token = generate_csrf()
        raw = flask_session["csrf_token"]
    with client.session_transaction() as s:
        s["user_id"] = user.id
        s["sv"] = user.session_version
        s["csrf_token"] = raw
    return token


@pytest.fixture
def card_payload(supermarket):
    hh = factories.household(supermarket, points=10)
    return factories.card(hh)[1]


def test_session_write_without_csrf_header_is_refused(app, client, keeper, card_payload):
    app.config["WTF_CSRF_ENABLED"] = True
    token = log_in(app, client, keeper)
    r = client.post("/api/v1/scan", json={"payload": card_payload})
    assert r.status_code == 400
    assert error_code(r) == "csrf_failed"
    r = client.post(
        "/api/v1/scan", json={"payload": card_payload}, headers={"X-CSRFToken": "forged"}
    )
    assert r.status_code == 400
    assert error_code(r) == "csrf_failed"
    r = client.post("/api/v1/scan", json={"payload": card_payload}, headers={"X-CSRFToken": token})
    assert r.status_code == 200
    assert r.get_json()["account"]["balance"] == 10
    assert client.get("/api/v1/products").status_code == 200  # reads need no header


def test_csrf_refusal_changes_nothing(app, client, admin, supermarket):
    app.config["WTF_CSRF_ENABLED"] = True
    token = log_in(app, client, admin)
    before = books()
    r = client.post("/api/v1/households", json={"number": "C-1", "head_name": "张飞"})
    assert error_code(r) == "csrf_failed"
    assert books() == before
    r = client.post(
        "/api/v1/households",
        json={"number": "C-1", "head_name": "张飞"},
        headers={"X-CSRFToken": token},
    )
    assert r.status_code == 201


def test_bearer_token_needs_no_csrf_header(app, client, keeper, card_payload):
    app.config["WTF_CSRF_ENABLED"] = True
    r = api_for(client, keeper).post("/api/v1/scan", {"payload": card_payload})
    assert r.status_code == 200


def test_session_write_without_header_when_csrf_is_off(app, client, keeper, card_payload):
    assert app.config["WTF_CSRF_ENABLED"] is False
    log_in(app, client, keeper)
    assert client.post("/api/v1/scan", json={"payload": card_payload}).status_code == 200


def test_session_roles_apply_too(app, client, supervisor, card_payload):
    log_in(app, client, supervisor)
    assert client.get("/api/v1/products").status_code == 200
    r = client.post("/api/v1/scan", json={"payload": card_payload})
    assert r.status_code == 403
    assert error_code(r) == "forbidden"


def test_session_from_before_a_password_change_is_refused(app, client, keeper, card_payload):
    log_in(app, client, keeper)
    assert client.get("/api/v1/products").status_code == 200
    with client.session_transaction() as s:
        s["sv"] = keeper.session_version - 1  # opened before the user's sessions were ended
    assert client.get("/api/v1/products").status_code == 401
