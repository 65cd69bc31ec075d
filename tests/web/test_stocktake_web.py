"""The stocktake pages: who may open and press what, the count page's JSON scans and polling,
the plain-form fallback, the variance report, the spreadsheet and the phone camera frames."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inventory import stocktake
from inventory.models import COUNT_POSTED, Product, StockMovement, StocktakeCount
from kiosk.export import read_rows
from kiosk.extensions import db
from tests import factories
from tests.scan_images import EAN, ean13_image, jpeg, scene

RICE = "6971111111112"


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


@pytest.fixture
def goods(supermarket):
    rice = factories.product(supermarket, name="大米", cost_fen=2500, stock_qty=10, barcode=RICE)
    soap = factories.product(
        supermarket, name="肥皂", cost_fen=300, stock_qty=20, category="日用品", barcode=EAN
    )
    return {"rice": rice.id, "soap": soap.id}


@pytest.fixture
def count(supermarket, keeper, goods):
    return stocktake.start_count(supermarket.id, actor=keeper).id


def scan(client, st_id, **body):
    return client.post(
        f"/stocktake/{st_id}/scan", json=body, headers={"Accept": "application/json"}
    )


@pytest.mark.parametrize(
    "url", ["/stocktake", "/stocktake/new", "/stocktake/1", "/stocktake/1/count"]
)
def test_visitors_are_sent_to_login(client, supermarket, url):
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("who", ["keeper1", "admin1", "super1"])
def test_everyone_reads_the_list_and_the_report(client, keeper, admin, supervisor, count, who):
    login(client, who)
    page = client.get("/stocktake").get_data(as_text=True)
    assert "清点中" in page and "全部商品" in page
    assert ("开始新的盘点" in page) == (who != "super1")
    assert ("去清点" in page) == (who != "super1")
    report = client.get(f"/stocktake/{count}").get_data(as_text=True)
    assert "大米" in report and "第1号盘点" in report
    # Counting is blind: a keeper does not see the book quantity until the count is submitted.
    assert ("账面" in report) == (who != "keeper1")
    assert client.get(f"/stocktake/{count}/report.xlsx").status_code == (
        403 if who == "keeper1" else 200
    )


def test_supervisors_may_not_count(client, supervisor, count):
    login(client, "super1")
    assert client.get("/stocktake/new").status_code == 403
    assert client.get(f"/stocktake/{count}/count").status_code == 403
    assert scan(client, count, barcode=RICE).status_code == 403
    assert client.post(f"/stocktake/{count}/submit").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(StocktakeCount.id))) == 0


def test_start_from_the_page(client, keeper, goods):
    login(client, "keeper1")
    page = client.get("/stocktake/new").get_data(as_text=True)
    assert "粮油" in page and "日用品" in page
    r = client.post("/stocktake/new", data={"scope": "categories"})
    assert r.status_code == 400 and "请至少选择一个分类" in r.get_data(as_text=True)
    soap_cat = db.session.get(Product, goods["soap"]).category_id
    r = client.post(
        "/stocktake/new",
        data={"scope": "categories", "category": str(soap_cat), "note": "日用品抽盘"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/stocktake/1/count")
    page = client.get("/stocktake/1/count").get_data(as_text=True)
    assert "已开始第1号盘点" in page and "肥皂" in page and "大米" not in page
    # The same products again: refused on the page, in Chinese, nothing started.
    r = client.post("/stocktake/new", data={"scope": "all"})
    assert r.status_code == 400 and "正在第1号盘点中" in r.get_data(as_text=True)
    assert (
        len(stocktake.list_stocktakes(db.session.get(Product, goods["rice"]).supermarket_id)) == 1
    )


def test_count_page_scans_and_polling(client, keeper, admin, count, goods):
    login(client, "keeper1")
    page = client.get(f"/stocktake/{count}/count").get_data(as_text=True)
    assert "大米" in page and "未清点" in page and "清点完毕，提交" in page
    assert "账面" not in page  # blind
    r = scan(client, count, barcode=RICE, device="wedge", key="k-0000000001")
    assert r.status_code == 200
    assert r.json == {
        "line_id": r.json["line_id"],
        "product_id": goods["rice"],
        "name": "大米",
        "counted_qty": 1,
        "duplicate": False,
        "last_by": "王店长",
        "last_local": r.json["last_local"],
    }
    assert scan(client, count, barcode=RICE, device="wedge", key="k-0000000001").json["duplicate"]
    line_id = r.json["line_id"]
    assert scan(client, count, line_id=line_id, quantity=4).json["counted_qty"] == 5
    assert scan(client, count, line_id=line_id, kind="set", quantity="8").json["counted_qty"] == 8
    bad = scan(client, count, barcode="999999")
    assert bad.status_code == 404 and "没有找到条码" in bad.json["error"]["message"]
    assert scan(client, count, line_id=line_id, quantity="x").status_code == 400
    assert scan(client, count).json["error"]["message"] == "请扫描或输入商品条码"
    polled = client.get(f"/stocktake/{count}/lines").json
    assert (polled["status"], polled["counted"], polled["total"]) == ("counting", 1, 2)
    rice = next(ln for ln in polled["lines"] if ln["name"] == "大米")
    assert (rice["counted_qty"], rice["last_by"]) == (8, "王店长")
    assert "book_qty" not in rice


def test_plain_form_fallback(client, keeper, count):
    login(client, "keeper1")
    r = client.post(f"/stocktake/{count}/scan", data={"barcode": RICE, "device": "typed"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/stocktake/{count}/count")
    page = client.get(f"/stocktake/{count}/count").get_data(as_text=True)
    assert "大米：已清点 1" in page
    r = client.post(f"/stocktake/{count}/scan", data={"barcode": "12345678"}, follow_redirects=True)
    assert "没有找到条码为 12345678 的商品" in r.get_data(as_text=True)


def test_the_whole_way_by_role(client, keeper, admin, supervisor, count, goods):
    login(client, "keeper1")
    scan(client, count, barcode=RICE, kind="set", quantity=7)
    r = client.post(f"/stocktake/{count}/submit", follow_redirects=True)
    assert "已提交，等待村管理员审批" in r.get_data(as_text=True)
    assert client.get(f"/stocktake/{count}/count").status_code == 302  # not counting any more
    assert client.post(f"/stocktake/{count}/approve").status_code == 403
    page = client.get(f"/stocktake/{count}").get_data(as_text=True)
    assert "账面" in page and "-75.00" in page  # 3 bags at 25.00 missing

    client.post("/logout")
    login(client, "super1")
    assert client.post(f"/stocktake/{count}/approve").status_code == 403
    page = client.get(f"/stocktake/{count}").get_data(as_text=True)
    assert "等待村管理员审批" in page and 'id="st-sign-off"' not in page

    client.post("/logout")
    login(client, "admin1")
    page = client.get(f"/stocktake/{count}").get_data(as_text=True)
    assert 'id="st-approve"' in page and 'id="st-send-back"' in page
    assert client.post(f"/stocktake/{count}/sign-off").status_code == 403
    r = client.post(f"/stocktake/{count}/approve", follow_redirects=True)
    assert "已审批" in r.get_data(as_text=True)
    moved = db.session.scalars(
        sa.select(StockMovement).where(StockMovement.ref_type == "stocktake")
    ).all()
    assert [(m.product_id, m.quantity, m.unit_cost_fen) for m in moved] == [
        (goods["rice"], -3, 2500)
    ]
    r = client.post(f"/stocktake/{count}/approve", follow_redirects=True)
    assert "已审批，不能审批" in r.get_data(as_text=True)

    client.post("/logout")
    login(client, "super1")
    r = client.post(f"/stocktake/{count}/sign-off", follow_redirects=True)
    assert "已签字确认" in r.get_data(as_text=True)
    assert stocktake.get_stocktake(count).status == COUNT_POSTED
    assert "赵监督" in r.get_data(as_text=True)


def test_admin_sends_back_and_cancels(client, keeper, admin, count):
    login(client, "keeper1")
    scan(client, count, barcode=RICE)
    client.post(f"/stocktake/{count}/submit")
    assert client.post(f"/stocktake/{count}/send-back").status_code == 403
    client.post("/logout")
    login(client, "admin1")
    r = client.post(f"/stocktake/{count}/send-back", data={"reason": "重数"}, follow_redirects=True)
    assert "已退回，可以继续清点" in r.get_data(as_text=True)
    r = client.post(f"/stocktake/{count}/cancel", data={"reason": "开错了"}, follow_redirects=True)
    assert "已取消这次盘点" in r.get_data(as_text=True)
    r = client.post(f"/stocktake/{count}/cancel", follow_redirects=True)
    assert "已取消，不能取消" in r.get_data(as_text=True)


def test_report_spreadsheet(client, keeper, admin, count, goods):
    login(client, "admin1")
    scan(client, count, barcode=RICE, kind="set", quantity=12)
    r = client.get(f"/stocktake/{count}/report.xlsx")
    assert r.status_code == 200
    rows = read_rows(r.data)
    flat = [[c for c in row if c is not None] for row in rows]
    rice = next(row for row in flat if "大米" in row)
    assert rice[-7:] == [10, 0, 10, 12, 2, 25, 50]
    assert any("未清点" in row for row in flat)


def test_phone_camera_frame_is_decoded_without_reaching_the_counter(
    app, client, keeper, supermarket, count
):
    login(client, "keeper1")
    bus = app.extensions["jifen_scanner"].bus.subscribe(supermarket.id)
    r = client.post(
        f"/stocktake/{count}/frame",
        data=jpeg(scene(ean13_image()), quality=95),
        headers={"Content-Type": "image/jpeg", "Accept": "application/json"},
    )
    assert r.status_code == 200
    assert [c["text"] for c in r.json["codes"]] == [EAN]
    assert bus.get(timeout=0.2) is None  # nothing published to the counter's scan stream
    bad = client.post(
        f"/stocktake/{count}/frame", data=b"not a jpeg", headers={"Content-Type": "image/jpeg"}
    )
    assert bad.status_code == 400


def test_a_lapsed_session_gets_json_the_page_can_act_on(client, count):
    r = scan(client, count, barcode=RICE)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert client.get(f"/stocktake/{count}/lines").status_code == 401
    assert db.session.scalar(sa.select(sa.func.count(StocktakeCount.id))) == 0


def test_pages_render_in_english(client, admin, count):
    login(client, "admin1")
    for url in ("/stocktake", "/stocktake/new", f"/stocktake/{count}/count", f"/stocktake/{count}"):
        r = client.get(url + "?lang=en")
        assert r.status_code == 200 and 'lang="en"' in r.get_data(as_text=True)
