"""The goods-and-money books over the API (kiosk/api/fund.py, kiosk/api/stock.py): the fund
pool, donors and donations, the stock-in and redemption ledgers, write-offs. Who may read and
write, that a keeper of another supermarket sees nothing of this one, that bad input is a 400
with the stable code, and that the numbers are the office's (the same services, the same
totals)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from inventory import donations, fund, ledgers
from inventory.models import DONATION_REVERSED, Product
from kiosk.api.listing import XLSX_MIME
from kiosk.clock import local_now
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.redemption import CartLine, redeem, void_redemption
from tests import factories
from tests.api.test_api_helpers import api_for, error_code


@pytest.fixture
def donor(supermarket):
    return donations.create_donor(
        supermarket.id, name="张乡贤", kind="xiangxian", contact="13800000000", actor=None
    )


@pytest.fixture
def rice(supermarket):
    return factories.product(supermarket, name="大米5kg", cost_fen=2500, stock_qty=20)


@pytest.fixture
def other(app):
    """Another village's supermarket with its own keeper and a donation of its own."""
    sm = factories.supermarket(code="GY01", name="高阳村积分超市")
    keeper = factories.user("keeper-gy", "keeper", sm)
    donor = donations.create_donor(sm.id, name="高阳企业", kind="enterprise", actor=None)
    gift = donations.record_cash_donation(
        sm.id, donor_id=donor.id, amount_fen=9900, donated_on=_today(), actor=None
    )
    return {"supermarket": sm, "keeper": keeper, "donation": gift}


def _today() -> date:
    return local_now().date()


def cash(api, donor_id: int, amount_fen: int = 50000, **extra):
    body = {"form": "cash", "donor_id": donor_id, "amount_fen": amount_fen, **extra}
    return api.post("/api/v1/donations", body)


# The fund pool and donations ----------------------------------------------------------------


def test_a_cash_donation_recorded_by_a_keeper_lands_in_the_pool_as_the_office_shows(
    client, keeper, supervisor, donor, supermarket
):
    r = cash(api_for(client, keeper), donor.id, 50000, note="修路捐款")
    assert r.status_code == 201, r.get_json()
    got = r.get_json()["donation"]
    assert got["receipt_no"] == "JZ000001"
    assert (got["form"], got["amount_fen"], got["status"]) == ("cash", 50000, "recorded")
    assert got["donor"]["name"] == "张乡贤"
    assert got["donor"]["public_name"] == "张*贤"
    assert got["donated_on"] == _today().isoformat()
    assert got["created_by"] == "王店长"

    reader = api_for(client, supervisor)
    assert reader.get("/api/v1/fund").get_json() == {
        "balance_fen": fund.balance_fen(supermarket.id),
        "advance_limit_fen": supermarket.fund_advance_limit_fen,
    }
    assert fund.balance_fen(supermarket.id) == 50000
    ledger = reader.get("/api/v1/fund/entries").get_json()
    led = fund.ledger(supermarket.id, _today().replace(day=1), _today())
    assert (ledger["opening_fen"], ledger["closing_fen"], ledger["in_fen"], ledger["out_fen"]) == (
        led.opening_fen,
        led.closing_fen,
        led.in_fen,
        led.out_fen,
    )
    assert [(e["kind"], e["amount_fen"], e["reference"]) for e in ledger["entries"]] == [
        ("donation", 50000, "JZ000001")
    ]
    assert ledger["total"] == 1
    # The office's pool page shows the same balance.
    client.post("/login/password", data={"username": "super1", "password": "secret123"})
    assert "500.00" in client.get("/fund").get_data(as_text=True)


def test_a_goods_donation_enters_stock_at_its_assessed_value(client, keeper, donor, rice):
    before = rice.stock_qty
    r = api_for(client, keeper).post(
        "/api/v1/donations",
        {
            "form": "goods",
            "donor_id": donor.id,
            "lines": [{"product_id": rice.id, "quantity": 4, "unit_value_fen": 3000}],
        },
    )
    assert r.status_code == 201, r.get_json()
    got = r.get_json()["donation"]
    assert (got["form"], got["amount_fen"]) == ("goods", 12000)
    assert got["goods"] == [
        {
            "product_id": rice.id,
            "name": "大米5kg",
            "unit": "袋",
            "quantity": 4,
            "unit_value_fen": 3000,
        }
    ]
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == before + 4


def test_the_donation_register_ties_out_with_the_office_and_pages(
    client, admin, donor, supermarket
):
    api = api_for(client, admin)
    for amount in (100, 200, 300):
        assert cash(api, donor.id, amount).status_code == 201
    first = api.get("/api/v1/donations?per_page=2").get_json()
    second = api.get("/api/v1/donations?per_page=2&page=2").get_json()
    assert first["total"] == second["total"] == 3
    assert [d["amount_fen"] for d in first["donations"] + second["donations"]] == [300, 200, 100]
    listed = donations.list_donations(supermarket.id, _today().replace(month=1, day=1), _today())
    assert [d["id"] for d in first["donations"] + second["donations"]] == [d.id for d in listed]
    assert first["cash_fen"] == 600 and first["goods_fen"] == 0
    donors = api.get("/api/v1/donors").get_json()["donors"]
    assert [(d["name"], d["donations"], d["cash_fen"]) for d in donors] == [("张乡贤", 3, 600)]
    assert "contact" not in donors[0]


def test_admins_reverse_a_donation_and_keepers_and_supervisors_may_not(
    client, keeper, admin, supervisor, donor, supermarket
):
    gift = cash(api_for(client, keeper), donor.id, 8000).get_json()["donation"]
    url = f"/api/v1/donations/{gift['id']}/reverse"
    for user in (keeper, supervisor):
        r = api_for(client, user).post(url, {"reason": "登记重复"})
        assert r.status_code == 403 and error_code(r) == "forbidden"
    assert fund.balance_fen(supermarket.id) == 8000
    api = api_for(client, admin)
    assert error_code(api.post(url, {})) == "invalid_request"
    r = api.post(url, {"reason": "登记重复"})
    assert r.status_code == 200, r.get_json()
    got = r.get_json()["donation"]
    assert (got["status"], got["reverse_reason"], got["reversed_by"]) == (
        DONATION_REVERSED,
        "登记重复",
        "李主任",
    )
    assert fund.balance_fen(supermarket.id) == 0
    again = api.post(url, {"reason": "登记重复"})
    assert again.status_code == 409 and error_code(again) == "donation_reversed"


def test_supervisors_read_the_books_but_record_no_donation(client, supervisor, donor):
    api = api_for(client, supervisor)
    r = cash(api, donor.id)
    assert r.status_code == 403 and error_code(r) == "forbidden"
    for url in ("/api/v1/fund", "/api/v1/fund/entries", "/api/v1/donations", "/api/v1/donors"):
        assert api.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "body, field",
    [
        ({"donor_id": 1, "amount_fen": 100}, "form"),
        ({"form": "cheque", "donor_id": 1, "amount_fen": 100}, "form"),
        ({"form": "cash", "amount_fen": 100}, "donor_id"),
        ({"form": "cash", "donor_id": 1}, "amount_fen"),
        ({"form": "cash", "donor_id": 1, "amount_fen": 0}, "amount_fen"),
        ({"form": "cash", "donor_id": 1, "amount_fen": "100"}, "amount_fen"),
        ({"form": "cash", "donor_id": 1, "amount_fen": 10**12}, "amount_fen"),
        ({"form": "cash", "donor_id": 1, "amount_fen": 1, "lines": []}, "lines"),
        ({"form": "goods", "donor_id": 1, "amount_fen": 100}, "amount_fen"),
        ({"form": "goods", "donor_id": 1}, "lines"),
        ({"form": "goods", "donor_id": 1, "lines": [{"product_id": 1, "quantity": 1}]}, "lines"),
        ({"form": "cash", "donor_id": 1, "amount_fen": 1, "donated_on": "2026-13-01"}, None),
        ({"form": "cash", "donor_id": 1, "amount_fen": 1, "note": "a\x00b"}, "note"),
    ],
)
def test_a_bad_donation_is_refused_with_the_field_named(client, keeper, body, field):
    r = api_for(client, keeper).post("/api/v1/donations", body)
    assert r.status_code == 400, r.get_json()
    assert error_code(r) == "invalid_request"
    if field is not None:
        assert r.get_json()["error"]["details"]["field"].startswith(field)


def test_a_donation_dated_tomorrow_or_to_an_unknown_donor_is_refused(client, keeper, donor):
    api = api_for(client, keeper)
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    assert error_code(cash(api, donor.id, donated_on=tomorrow)) == "invalid_request"
    r = cash(api, donor.id + 1000)
    assert r.status_code == 404 and error_code(r) == "not_found"


def test_a_keeper_of_another_supermarket_sees_nothing_of_this_one(
    client, keeper, donor, other, supermarket
):
    mine = cash(api_for(client, keeper), donor.id, 7000).get_json()["donation"]
    theirs = api_for(client, other["keeper"])
    assert theirs.get(f"/api/v1/donations/{mine['id']}").status_code == 404
    listed = theirs.get("/api/v1/donations").get_json()
    assert [d["id"] for d in listed["donations"]] == [other["donation"].id]
    assert theirs.get("/api/v1/fund").get_json()["balance_fen"] == 9900
    assert [d["name"] for d in theirs.get("/api/v1/donors").get_json()["donors"]] == ["高阳企业"]
    r = cash(theirs, donor.id)  # this village's donor
    assert r.status_code == 404
    assert fund.balance_fen(supermarket.id) == 7000
    ours = api_for(client, keeper)
    assert ours.get(f"/api/v1/donations/{other['donation'].id}").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-02-30",
        "start=yesterday",
        "start=2026-03-01&end=2026-02-01",
        "start=2020-01-01&end=2026-01-01",
        "page=0",
        "page=x",
        "per_page=201",
        "per_page=-1",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/fund/entries", "/api/v1/donations"])
def test_bad_ranges_and_pages_are_refused(client, keeper, path, query):
    r = api_for(client, keeper).get(f"{path}?{query}")
    assert r.status_code == 400, (path, query, r.get_json())
    assert error_code(r) == "invalid_request"


# The stock-in and redemption ledgers ----------------------------------------------------------


def test_the_ledgers_list_what_the_office_ledgers_list(client, keeper, supervisor, supermarket):
    rice = factories.product(supermarket, name="大米5kg", cost_fen=2500, stock_qty=10)
    oil = factories.product(supermarket, name="花生油", cost_fen=6000, stock_qty=3, unit="桶")
    hh = factories.household(supermarket, points=500, head_name="张三丰")
    _, payload = factories.card(hh)
    kept = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 2), CartLine(oil.id, 1)],
        keeper=keeper,
        idempotency_key="ledger-api-0001",
    )
    voided = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key="ledger-api-0002",
    )
    void_redemption(voided.id, actor=keeper, reason="拿错了")
    api = api_for(client, supervisor)
    filters = ledgers.Filters(*ledgers.this_month())

    stock_in = api.get("/api/v1/ledgers/stock-in").get_json()
    rows = ledgers.stock_in_rows(supermarket.id, filters)
    assert [(r["product_name"], r["quantity"], r["amount_fen"]) for r in stock_in["rows"]] == [
        (r.product_name, r.quantity, r.amount_fen) for r in rows
    ]
    assert stock_in["amount_fen"] == 2500 * 10 + 6000 * 3 == sum(r.amount_fen for r in rows)
    assert stock_in["rows"][0]["document_no"].startswith("RK")

    out = api.get("/api/v1/ledgers/redemptions").get_json()
    rows = ledgers.redemption_rows(supermarket.id, filters)
    assert [(r["receipt_no"], r["quantity"], r["points"], r["reversal"]) for r in out["rows"]] == [
        (r.receipt_no, r.quantity, r.points, r.reversal) for r in rows
    ]
    assert out["points"] == kept.total_points
    assert out["quantity"] == 3
    assert {r["masked_name"] for r in out["rows"]} == {"张*丰"}
    assert out["total"] == 4

    only_oil = api.get(f"/api/v1/ledgers/redemptions?product_id={oil.id}").get_json()
    assert [r["product_name"] for r in only_oil["rows"]] == ["花生油"]
    page = api.get("/api/v1/ledgers/redemptions?per_page=1&page=4").get_json()
    assert (page["total"], [r["reversal"] for r in page["rows"]]) == (4, [True])
    last_year = (_today() - timedelta(days=400)).isoformat()
    old = api.get(f"/api/v1/ledgers/stock-in?start={last_year}&end={last_year}").get_json()
    assert (old["total"], old["rows"], old["amount_fen"]) == (0, [], 0)


@pytest.mark.parametrize("path", ["/api/v1/ledgers/stock-in", "/api/v1/ledgers/redemptions"])
@pytest.mark.parametrize(
    "query", ["end=2026-1-1", "start=2026-05-01&end=2026-04-30", "product_id=0", "product_id=abc"]
)
def test_the_ledgers_refuse_bad_filters(client, keeper, path, query):
    r = api_for(client, keeper).get(f"{path}?{query}")
    assert r.status_code == 400 and error_code(r) == "invalid_request", r.get_json()


# Write-offs (报损) ------------------------------------------------------------------------------


def test_a_write_off_takes_two_admins_and_then_leaves_the_shelf(
    client, keeper, admin, supermarket, rice
):
    asked = api_for(client, admin).post(
        "/api/v1/write-offs",
        {"product_id": rice.id, "quantity": 2, "reason": "damage", "note": "包装破损"},
    )
    assert asked.status_code == 201, asked.get_json()
    w = asked.get_json()["write_off"]
    assert (w["status"], w["quantity"], w["requested_by"]) == ("pending", 2, "李主任")
    url = f"/api/v1/write-offs/{w['id']}/approve"
    own = api_for(client, admin).post(url)
    assert own.status_code == 403 and error_code(own) == "forbidden"
    assert api_for(client, keeper).post(url).status_code == 403
    second = factories.user("admin2", "admin", supermarket, display_name="孙书记")
    r = api_for(client, second).post(url, {"note": "属实"})
    assert r.status_code == 200, r.get_json()
    w = r.get_json()["write_off"]
    assert (w["status"], w["decided_by"], w["decision_note"]) == ("approved", "孙书记", "属实")
    assert w["movement_id"] is not None
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 18
    again = api_for(client, second).post(url)
    assert again.status_code == 409 and error_code(again) == "adjustment_decided"


def test_write_offs_are_listed_pending_first_and_rejected_ones_post_nothing(
    client, keeper, admin, supervisor, rice
):
    api = api_for(client, keeper)
    ids = [
        api.post(
            "/api/v1/write-offs",
            {"product_id": rice.id, "quantity": 1, "reason": reason, "note": "说明"},
        ).get_json()["write_off"]["id"]
        for reason in ("damage", "expiry", "loss")
    ]
    r = api_for(client, admin).post(f"/api/v1/write-offs/{ids[0]}/reject")
    assert r.status_code == 200 and r.get_json()["write_off"]["status"] == "rejected"
    reader = api_for(client, supervisor)
    listed = reader.get("/api/v1/write-offs").get_json()
    assert [w["id"] for w in listed["write_offs"]] == [ids[1], ids[2], ids[0]]
    assert listed["total"] == 3
    pending = reader.get("/api/v1/write-offs?status=pending&per_page=1").get_json()
    assert (pending["total"], [w["id"] for w in pending["write_offs"]]) == (2, [ids[1]])
    assert error_code(reader.get("/api/v1/write-offs?status=lost")) == "invalid_request"
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 20
    refused = reader.post(
        "/api/v1/write-offs",
        {"product_id": rice.id, "quantity": 1, "reason": "damage", "note": "说明"},
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"quantity": 1, "reason": "damage", "note": "x"}, "product_id"),
        ({"product_id": 1, "quantity": 0, "reason": "damage", "note": "x"}, "quantity"),
        ({"product_id": 1, "quantity": 1, "reason": "stolen", "note": "x"}, "reason"),
        ({"product_id": 1, "quantity": 1, "reason": "damage", "note": " "}, "note"),
        ({"product_id": 1, "quantity": 1, "reason": "damage"}, "note"),
    ],
)
def test_a_bad_write_off_is_refused(client, keeper, body, field):
    r = api_for(client, keeper).post("/api/v1/write-offs", body)
    assert r.status_code == 400 and error_code(r) == "invalid_request", r.get_json()
    assert r.get_json()["error"]["details"]["field"] == field


def test_another_supermarkets_write_offs_are_not_there(client, keeper, admin, rice, other):
    w = (
        api_for(client, keeper)
        .post(
            "/api/v1/write-offs",
            {"product_id": rice.id, "quantity": 1, "reason": "loss", "note": "丢失"},
        )
        .get_json()["write_off"]
    )
    theirs = api_for(client, other["keeper"])
    assert theirs.get("/api/v1/write-offs").get_json()["write_offs"] == []
    r = theirs.post(
        "/api/v1/write-offs",
        {"product_id": rice.id, "quantity": 1, "reason": "loss", "note": "丢失"},
    )
    assert r.status_code == 404
    their_admin = factories.user("admin-gy", "admin", other["supermarket"])
    r = api_for(client, their_admin).post(f"/api/v1/write-offs/{w['id']}/approve")
    assert r.status_code == 404 and error_code(r) == "not_found"
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 20


# Downloads ------------------------------------------------------------------------------------


def _sheets(data: bytes) -> list[list[list]]:
    from openpyxl import load_workbook

    count = len(load_workbook(io.BytesIO(data), read_only=True).worksheets)
    return [read_rows(data, i) for i in range(count)]


def test_the_downloads_are_the_files_the_office_exports(client, keeper, donor, rice, supermarket):
    api = api_for(client, keeper)
    cash(api, donor.id, 12345, note="修路")
    hh = factories.household(supermarket, points=500)
    _, payload = factories.card(hh)
    redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 2)],
        keeper=keeper,
        idempotency_key="xlsx-api-0001",
    )
    pairs = {
        "/api/v1/fund/entries.xlsx": "/fund/ledger.xlsx",
        "/api/v1/donations.xlsx": "/fund/donations.xlsx",
        "/api/v1/ledgers/stock-in.xlsx": "/stock/ledgers/export?book=stock_in",
        "/api/v1/ledgers/redemptions.xlsx": "/stock/ledgers/export?book=redemption",
    }
    got = {}
    for url in pairs:
        r = api.get(url)
        assert r.status_code == 200, url
        assert r.mimetype == XLSX_MIME
        got[url] = (_sheets(r.data), r.headers["Content-Disposition"])
    client.post("/login/password", data={"username": "keeper1", "password": "secret123"})
    for url, office_url in pairs.items():
        office = client.get(office_url)
        assert office.status_code == 200, office_url
        assert got[url] == (_sheets(office.data), office.headers["Content-Disposition"]), url
    ledger_cells = [cell for row in got["/api/v1/fund/entries.xlsx"][0][0] for cell in row]
    assert 123.45 in ledger_cells  # the donation, in yuan


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/fund/entries.xlsx?start=2026-02-30",
        "/api/v1/donations.xlsx?start=2026-03-01&end=2026-02-01",
        "/api/v1/ledgers/stock-in.xlsx?product_id=0",
        "/api/v1/ledgers/redemptions.xlsx?start=2020-01-01&end=2026-01-01",
    ],
)
def test_a_download_refuses_bad_ranges(client, keeper, url):
    r = api_for(client, keeper).get(url)
    assert r.status_code == 400 and error_code(r) == "invalid_request"


def test_recorders_download_nothing(client, supermarket):
    api = api_for(client, factories.user("recorder1", "recorder", supermarket))
    for url in ("/api/v1/fund/entries.xlsx", "/api/v1/ledgers/stock-in.xlsx"):
        r = api.get(url)
        assert r.status_code == 403 and error_code(r) == "forbidden"
