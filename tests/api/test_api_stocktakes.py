"""Stocktakes over the API (kiosk/api/stocktakes.py): a count from start to the supervisor's
signature, each step by the role the office lets do it; keepers count blind; a retried count
adds nothing; another supermarket's counts are not there; the report is the office's."""

from __future__ import annotations

import pytest

from inventory import stocktake
from inventory.models import Product
from kiosk.api.listing import XLSX_MIME
from kiosk.export import read_rows
from kiosk.extensions import db
from tests import factories
from tests.api.test_api_helpers import api_for, error_code


@pytest.fixture
def goods(supermarket):
    rice = factories.product(supermarket, name="大米5kg", cost_fen=2500, stock_qty=10)
    oil = factories.product(supermarket, name="花生油", cost_fen=6000, stock_qty=4, unit="桶")
    factories.product(supermarket, name="理发", kind="service", cost_fen=500)
    return rice, oil


def count(api, st_id: int, key: str, **body):
    return api.post(f"/api/v1/stocktakes/{st_id}/counts", {"idempotency_key": key, **body})


def test_a_count_from_start_to_signature_each_step_by_its_role(
    client, keeper, admin, supervisor, supermarket, goods
):
    rice, oil = goods
    k, a, s = (api_for(client, u) for u in (keeper, admin, supervisor))
    assert s.post("/api/v1/stocktakes").status_code == 403
    started = k.post("/api/v1/stocktakes", {"note": "十月盘点"})
    assert started.status_code == 201, started.get_json()
    st = started.get_json()["stocktake"]
    assert (st["status"], st["lines"], st["counted"], st["note"]) == ("counting", 2, 0, "十月盘点")
    assert st["started_by"] == "王店长"

    r = count(k, st["id"], "count-0001", barcode=rice.barcode, kind="set", quantity=9)
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["counted_qty"], r.get_json()["duplicate"]) == (9, False)
    retry = count(k, st["id"], "count-0001", barcode=rice.barcode, kind="set", quantity=9)
    assert (retry.get_json()["counted_qty"], retry.get_json()["duplicate"]) == (9, True)
    line = r.get_json()["line_id"]
    assert (
        count(a, st["id"], "count-0002", line_id=line, quantity=-1).get_json()["counted_qty"] == 8
    )
    assert count(s, st["id"], "count-0003", line_id=line).status_code == 403

    # Keepers count blind; admins and supervisors see the book.
    blind = k.get(f"/api/v1/stocktakes/{st['id']}").get_json()
    assert blind["blind"] is True
    assert {r["book_qty"] for r in blind["rows"]} == {None}
    assert blind["net_fen"] is None
    seen = s.get(f"/api/v1/stocktakes/{st['id']}").get_json()
    assert seen["blind"] is False
    assert {r["name"]: r["book_qty"] for r in seen["rows"]} == {"大米5kg": 10, "花生油": 4}

    assert s.post(f"/api/v1/stocktakes/{st['id']}/submit").status_code == 403
    r = k.post(f"/api/v1/stocktakes/{st['id']}/submit")
    assert r.status_code == 200 and r.get_json()["stocktake"]["status"] == "submitted"
    assert r.get_json()["stocktake"]["submitted_by"] == "王店长"
    for step in ("approve", "send-back", "cancel"):
        refused = k.post(f"/api/v1/stocktakes/{st['id']}/{step}")
        assert refused.status_code == 403 and error_code(refused) == "forbidden", step
    assert a.post(f"/api/v1/stocktakes/{st['id']}/sign-off").status_code == 403

    r = a.post(f"/api/v1/stocktakes/{st['id']}/approve")
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert report["stocktake"]["status"] == "approved"
    office = stocktake.report(st["id"], supermarket.id)
    assert (report["loss_qty"], report["loss_fen"], report["net_fen"]) == (
        office.loss_qty,
        office.loss_fen,
        office.net_fen,
    )
    assert (report["loss_qty"], report["loss_fen"]) == (2, 5000)
    assert [(r["name"], r["counted_qty"], r["variance"]) for r in report["rows"]] == [
        (row.name, row.counted_qty, row.variance) for row in office.rows
    ]
    db.session.expire_all()
    assert db.session.get(Product, rice.id).stock_qty == 8
    assert db.session.get(Product, oil.id).stock_qty == 4  # not counted: no variance

    r = s.post(f"/api/v1/stocktakes/{st['id']}/sign-off")
    assert r.status_code == 200
    assert (r.get_json()["stocktake"]["status"], r.get_json()["stocktake"]["posted_by"]) == (
        "posted",
        "赵监督",
    )
    listed = k.get("/api/v1/stocktakes").get_json()
    assert [(x["id"], x["status"], x["counted"]) for x in listed["stocktakes"]] == [
        (st["id"], "posted", 1)
    ]


def test_a_step_out_of_turn_is_refused_and_changes_nothing(client, keeper, admin, goods):
    k, a = api_for(client, keeper), api_for(client, admin)
    st = k.post("/api/v1/stocktakes").get_json()["stocktake"]
    r = a.post(f"/api/v1/stocktakes/{st['id']}/approve")
    assert r.status_code == 400 and error_code(r) == "invalid_request"
    empty = k.post(f"/api/v1/stocktakes/{st['id']}/submit")
    assert empty.status_code == 400  # nothing counted yet
    r = a.post(f"/api/v1/stocktakes/{st['id']}/cancel", {"reason": "重新安排"})
    assert r.status_code == 200 and r.get_json()["stocktake"]["status"] == "cancelled"
    r = count(k, st["id"], "count-0009", barcode=goods[0].barcode)
    assert r.status_code == 400
    listed = k.get("/api/v1/stocktakes?status=counting").get_json()
    assert listed["total"] == 0
    assert k.get("/api/v1/stocktakes?status=cancelled").get_json()["total"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"barcode": "6900"}, "idempotency_key"),
        ({"idempotency_key": "short", "barcode": "6900"}, "idempotency_key"),
        ({"idempotency_key": "count-0001"}, "line_id"),
        ({"idempotency_key": "count-0001", "line_id": 1, "barcode": "6900"}, "line_id"),
        ({"idempotency_key": "count-0001", "line_id": 0}, "line_id"),
        ({"idempotency_key": "count-0001", "line_id": 1, "kind": "guess"}, "kind"),
        ({"idempotency_key": "count-0001", "line_id": 1, "quantity": 1.5}, "quantity"),
        ({"idempotency_key": "count-0001", "line_id": 1, "quantity": 10**9}, "quantity"),
    ],
)
def test_a_bad_count_is_refused_with_the_field_named(client, keeper, goods, body, field):
    api = api_for(client, keeper)
    st = api.post("/api/v1/stocktakes").get_json()["stocktake"]
    r = api.post(f"/api/v1/stocktakes/{st['id']}/counts", body)
    assert r.status_code == 400 and error_code(r) == "invalid_request", r.get_json()
    assert r.get_json()["error"]["details"]["field"] == field


@pytest.mark.parametrize(
    "body, field",
    [
        ({"product_ids": "all"}, "product_ids"),
        ({"product_ids": [0]}, "product_ids[0]"),
        ({"category_ids": list(range(1, 502))}, "category_ids"),
        ({"note": "x" * 201}, "note"),
    ],
)
def test_a_bad_start_is_refused(client, keeper, goods, body, field):
    r = api_for(client, keeper).post("/api/v1/stocktakes", body)
    assert r.status_code == 400 and error_code(r) == "invalid_request", r.get_json()
    assert r.get_json()["error"]["details"]["field"] == field


def test_a_count_of_chosen_products_and_an_unknown_product(client, admin, goods):
    rice, _ = goods
    api = api_for(client, admin)
    r = api.post("/api/v1/stocktakes", {"product_ids": [rice.id]})
    assert r.status_code == 201
    assert [row["name"] for row in r.get_json()["rows"]] == ["大米5kg"]
    assert r.get_json()["stocktake"]["scope"] == "部分商品"
    assert api.post("/api/v1/stocktakes", {"product_ids": [rice.id + 999]}).status_code == 404


def test_another_supermarkets_counts_are_not_there(client, keeper, goods):
    api = api_for(client, keeper)
    st = api.post("/api/v1/stocktakes").get_json()["stocktake"]
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    theirs = api_for(client, factories.user("keeper-gy", "keeper", other))
    assert theirs.get("/api/v1/stocktakes").get_json() == {
        "page": 1,
        "per_page": 50,
        "total": 0,
        "stocktakes": [],
    }
    assert theirs.get(f"/api/v1/stocktakes/{st['id']}").status_code == 404
    r = count(theirs, st["id"], "count-0100", barcode=goods[0].barcode)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert theirs.post(f"/api/v1/stocktakes/{st['id']}/submit").status_code == 404
    assert api.get(f"/api/v1/stocktakes/{st['id']}").get_json()["stocktake"]["counted"] == 0


@pytest.mark.parametrize("query", ["status=open", "page=0", "per_page=500"])
def test_the_list_refuses_bad_queries(client, keeper, query):
    r = api_for(client, keeper).get(f"/api/v1/stocktakes?{query}")
    assert r.status_code == 400 and error_code(r) == "invalid_request"


def test_the_variance_download_is_the_offices_and_not_while_counting_blind(
    client, keeper, admin, goods
):
    rice, _ = goods
    k, a = api_for(client, keeper), api_for(client, admin)
    st = k.post("/api/v1/stocktakes").get_json()["stocktake"]
    count(k, st["id"], "count-0200", barcode=rice.barcode, kind="set", quantity=7)
    url = f"/api/v1/stocktakes/{st['id']}/report.xlsx"
    blind = k.get(url)
    assert blind.status_code == 403 and error_code(blind) == "forbidden"
    assert a.get(url).status_code == 200  # admins see the book while counting
    k.post(f"/api/v1/stocktakes/{st['id']}/submit")
    r = k.get(url)
    assert r.status_code == 200 and r.mimetype == XLSX_MIME
    rows = read_rows(r.data)
    assert any(row[2] == "大米5kg" and row[7] == 7 and row[8] == -3 for row in rows)
    client.post("/login/password", data={"username": "keeper1", "password": "secret123"})
    office = client.get(f"/stocktake/{st['id']}/report.xlsx")
    assert read_rows(office.data) == rows
    assert office.headers["Content-Disposition"] == r.headers["Content-Disposition"]
    assert k.get("/api/v1/stocktakes/999999/report.xlsx").status_code == 404


def test_a_count_takes_its_key_from_the_idempotency_key_header_too(client, keeper, goods):
    rice, _ = goods
    api = api_for(client, keeper)
    st = api.post("/api/v1/stocktakes").get_json()["stocktake"]
    url = f"/api/v1/stocktakes/{st['id']}/counts"
    header = {"Idempotency-Key": "count-head-01"}
    first = api.post(url, {"barcode": rice.barcode}, headers=header)
    again = api.post(url, {"barcode": rice.barcode}, headers=header)
    assert (first.get_json()["counted_qty"], first.get_json()["duplicate"]) == (1, False)
    assert (again.get_json()["counted_qty"], again.get_json()["duplicate"]) == (1, True)
    both = api.post(
        url, {"barcode": rice.barcode, "idempotency_key": "count-head-01"}, headers=header
    )
    assert both.get_json()["duplicate"] is True
    clash = api.post(
        url, {"barcode": rice.barcode, "idempotency_key": "count-body-02"}, headers=header
    )
    assert clash.status_code == 400 and error_code(clash) == "invalid_request"
    bad = api.post(url, {"barcode": rice.barcode}, headers={"Idempotency-Key": "x"})
    assert bad.status_code == 400 and error_code(bad) == "invalid_request"
