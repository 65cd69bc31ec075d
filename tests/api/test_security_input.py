"""Every bad request gets a 4xx, never a 500 (issue 16, items 8–12 and 14), on both databases:
ids beyond the integer column, control characters, deep JSON, Unicode digits in forms, bodies
and images too large, and a 405 that says which methods are allowed."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import pytest
import sqlalchemy as sa

from inventory.models import StockAdjustment, StockIn
from kiosk import parsing
from kiosk.extensions import db
from kiosk.models import Household
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    api_for,
    as_admin_fixture,
    as_keeper_fixture,
    error_code,
)

BEYOND_PG = 2**31
BEYOND_SQLITE = 2**63


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def page_text(r) -> str:
    return r.get_data(as_text=True)


@pytest.fixture
def shop(supermarket):
    hh = factories.household(supermarket, points=100, head_name="张三丰")
    card, payload = factories.card(hh)
    rice = factories.product(supermarket, name="大米5kg", cost_fen=2550, stock_qty=5)
    return {"hh": hh, "payload": payload, "rice": rice}


# The parser itself -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["²", "٣", "1_0", "1.5", "", " ", "+", "0x1F", "１２", "1e3"])
def test_parse_int_takes_ascii_digits_only(text):
    with pytest.raises(ValueError):
        parsing.parse_int(text)


def test_parse_int_bounds_and_signs():
    assert parsing.parse_int(" -12 ") == -12
    assert parsing.parse_int("+7") == 7
    assert parsing.parse_int(str(2**31 - 1)) == 2**31 - 1
    with pytest.raises(ValueError):
        parsing.parse_int(str(2**31))
    with pytest.raises(ValueError):
        parsing.parse_int("-3", signed=False)
    with pytest.raises(ValueError):
        parsing.parse_int("9" * 5000)  # not even handed to int()
    assert parsing.optional_int("²") is None and parsing.optional_int("") is None


def test_json_depth_ignores_brackets_in_strings():
    assert parsing.json_depth(b'{"a": "[[[[[[", "b": [1, {"c": []}]}') == 4
    assert parsing.json_depth(b'["\\"[[["]') == 1
    assert parsing.json_depth(b"[" * 100_000) == 100_000


def test_bad_character_refuses_controls_and_lone_surrogates():
    assert parsing.bad_character("张三丰 Zhang") is None
    assert parsing.bad_character("张\x00三") == "\x00"
    assert parsing.bad_character("a\x1bb") == "\x1b"
    assert parsing.bad_character("a\ud800") == "\ud800"
    assert parsing.bad_character("两行\n文字") == "\n"
    assert parsing.bad_character("两行\r\n文字\t", multiline=True) is None


# 8. Ids beyond the database's integer range ---------------------------------------------------


@pytest.mark.parametrize("big", [BEYOND_PG, BEYOND_SQLITE, 10**30])
def test_api_path_ids_beyond_the_integer_column_are_404(as_admin, shop, big):
    for method, url in [
        ("get", "/api/v1/households/{}"),
        ("get", "/api/v1/households/{}/points"),  # shares its path with a POST: 404, not 405
        ("get", "/api/v1/redemptions/{}"),
        ("post", "/api/v1/cards/{}/revoke"),
        ("post", "/api/v1/redemptions/{}/void"),
        ("get", "/api/v1/users/{}/tokens"),
    ]:
        call = as_admin.get if method == "get" else as_admin.post
        r = call(url.format(big), **({} if method == "get" else {"json": {"reason": "丢失"}}))
        assert r.status_code == 404, url
        assert error_code(r) == "not_found"
    assert as_admin.get(f"/api/v1/households/{parsing.DB_INT_MAX}").status_code == 404


def test_unicode_digits_in_a_path_are_not_an_id(as_admin, shop):
    hh_id = shop["hh"].id
    assert as_admin.get(f"/api/v1/households/{hh_id}").status_code == 200
    arabic = "".join(chr(0x660 + int(d)) for d in str(hh_id))
    assert as_admin.get(f"/api/v1/households/{arabic}").status_code == 404


def test_page_path_ids_beyond_the_integer_column_are_404(client, admin, shop):
    login(client, "admin1")
    for url in (f"/households/{BEYOND_PG}", f"/stock/in/{BEYOND_SQLITE}"):
        r = client.get(url)
        assert r.status_code == 404, url


@pytest.mark.parametrize("big", [BEYOND_PG, BEYOND_SQLITE])
def test_body_ids_beyond_the_integer_column_are_400_naming_the_field(as_keeper, shop, big):
    r = as_keeper.post(
        "/api/v1/redemptions",
        {
            "card": shop["payload"],
            "lines": [{"product_id": big, "quantity": 1}],
            "idempotency_key": "cart-big-0001",
        },
    )
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == "lines[0].product_id"
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {"lines": [{"product_id": shop["rice"].id, "quantity": big, "unit_cost_fen": 100}]},
    )
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "lines[0].quantity"


def test_query_ids_beyond_the_integer_column_do_not_reach_the_database(client, admin, shop):
    login(client, "admin1")
    for url in (
        f"/audit?actor={BEYOND_PG}",
        f"/audit?paper_seq={BEYOND_SQLITE}&paper_hash=abcdef0123",
        f"/audit?page={BEYOND_SQLITE}",
        f"/stock/ledgers?product_id={BEYOND_PG}",
    ):
        r = client.get(url)
        assert r.status_code < 500, url


# 9. NUL bytes and control characters -----------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\x7f", "\u0085"])
def test_api_text_with_control_characters_is_refused_naming_the_field(as_admin, supermarket, bad):
    r = as_admin.post("/api/v1/households", {"number": "0101", "head_name": f"张{bad}三"})
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == "head_name"
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0


def test_api_refuses_a_lone_surrogate_and_a_newline_in_a_name(as_admin, supermarket):
    raw = '{"number": "0101", "head_name": "\\ud800"}'
    r = as_admin.post("/api/v1/households", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_code(r) == "invalid_request"
    r = as_admin.post("/api/v1/households", {"number": "0102", "head_name": "张\n三"})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "head_name"


def test_api_multiline_fields_keep_their_line_breaks(as_keeper, shop):
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {
            "note": "第一行\n第二行",
            "lines": [{"product_id": shop["rice"].id, "quantity": 1, "unit_cost_fen": 100}],
        },
    )
    assert r.status_code == 201
    r = as_keeper.post(
        "/api/v1/stock-ins",
        {
            "note": "第一行\x00",
            "lines": [{"product_id": shop["rice"].id, "quantity": 1, "unit_cost_fen": 100}],
        },
    )
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "note"


def test_nul_in_any_json_string_is_refused_before_the_view(as_admin, supermarket):
    # Not a field of inputs.string: the policy's own TOML text (PostgreSQL's JSON cannot hold NUL).
    r = as_admin.put("/api/v1/policy", {"toml": 'name = "x\u0000"'})
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == "toml"


def test_search_for_a_nul_is_refused_not_a_match_for_everyone(as_admin, shop):
    r = as_admin.get("/api/v1/households?q=%00")
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == "q"
    assert as_admin.get("/api/v1/households?q=%E5%BC%A0").get_json()["total"] == 1


def test_office_form_with_a_nul_gets_a_chinese_page_naming_the_field(client, admin, supermarket):
    login(client, "admin1")
    r = client.post("/households/new", data={"number": "0101", "head_name": "张\x00三"})
    assert r.status_code == 400
    text = page_text(r)
    assert "户主姓名（head_name）" in text and "控制字符" in text
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0
    r = client.get("/households/results?q=%00")
    assert r.status_code == 400 and "控制字符" in page_text(r)


def test_a_nul_in_a_url_path_is_404(as_admin, shop):
    r = as_admin.get("/api/v1/products/barcode/69%0012")
    assert r.status_code == 404


# 10. Deep JSON --------------------------------------------------------------------------------


def test_deeply_nested_json_is_refused_before_parsing(as_keeper, shop):
    r = as_keeper.post(
        "/api/v1/scan", data="[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert "嵌套" in r.get_json()["error"]["message"]
    deep = '{"payload": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}"
    r = as_keeper.post("/api/v1/scan", data=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_deep_json_to_a_page_endpoint_is_refused_too(client, keeper, supermarket):
    login(client, "keeper1")
    r = client.post(
        "/stocktake/1/scan", data="[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400


# 11. Unicode digits in the office forms -------------------------------------------------------


def test_stock_in_form_refuses_a_superscript_two_in_chinese(client, keeper, shop):
    before = db.session.scalar(sa.select(sa.func.count(StockIn.id)))
    login(client, "keeper1")
    data = {
        "supplier": "县粮油公司",
        "invoice_no": "FP-7",
        "paid_from": "other",
        "paid_from_other": "村集体",
        "note": "",
        "product_id": [str(shop["rice"].id)],
        "quantity": ["²"],
        "unit_cost": ["28.00"],
    }
    r = client.post("/stock/in", data=data)
    assert r.status_code == 422
    assert "数量必须是正整数" in page_text(r)
    assert "²" in page_text(r)  # what was typed stays in the form
    data.update(quantity=["1"], product_id=["²"])
    assert client.post("/stock/in", data=data).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(StockIn.id))) == before


def test_write_off_form_refuses_a_superscript_two(client, keeper, shop):
    login(client, "keeper1")
    for form in (
        {"product_id": str(shop["rice"].id), "quantity": "²", "reason": "damaged"},
        {"product_id": "²", "quantity": "1", "reason": "damaged"},
        {"product_id": str(shop["rice"].id), "quantity": str(BEYOND_SQLITE), "reason": "damaged"},
    ):
        r = client.post("/stock/adjustments", data=form)
        assert r.status_code == 422, form
    assert db.session.scalar(sa.select(sa.func.count(StockAdjustment.id))) == 0


def test_api_query_integers_are_strict(as_admin, shop):
    for value in ("²", "٣", "1_0", str(BEYOND_SQLITE)):
        r = as_admin.get(f"/api/v1/households?page={value}")
        assert r.status_code == 400, value
        assert r.get_json()["error"]["details"]["field"] == "page"


# 12. Size limits ----------------------------------------------------------------------------


def test_a_json_body_over_one_megabyte_is_413_too_large(as_keeper, shop):
    body = '{"card": "' + "x" * (1024 * 1024) + '"}'
    r = as_keeper.post(
        "/api/v1/redemptions", data=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert error_code(r) == "too_large"
    assert "太大" in r.get_json()["error"]["message"]


def test_a_page_post_over_its_limit_is_a_chinese_413_page(client, admin, supermarket):
    login(client, "admin1")
    r = client.post("/households/new", data={"number": "0101", "head_name": "x" * (1100 * 1024)})
    assert r.status_code == 413
    assert "太大" in page_text(r) and "1 MB" in page_text(r)


def test_an_import_over_the_limit_is_413(client, admin, supermarket):
    login(client, "admin1")
    big = io.BytesIO(b"0" * (22 * 1024 * 1024))
    r = client.post(
        "/intake/import",
        data={"kind": "households", "file": (big, "big.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413
    assert "太大" in page_text(r)


@functools.lru_cache
def _png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of any declared size, white, compressed to little (zlib level 9
    makes 16000×16000 a 279 kB file; level 1 is four times faster and still small)."""
    row = b"\x00" + b"\xff" * width
    packer = zlib.compressobj(1)
    raw = b"".join(packer.compress(row * 1000) for _ in range(height // 1000)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_a_frame_over_four_megabytes_is_413_not_unreadable(client, keeper, supermarket):
    login(client, "keeper1")
    r = client.post(
        "/scanner/frame",
        data=b"\xff\xd8" + b"0" * (5 * 1024 * 1024),
        headers={"Content-Type": "image/jpeg", "Accept": "application/json"},
    )
    assert r.status_code == 413
    body = r.get_json()
    assert body["error"]["code"] == "too_large"
    assert "太大" in body["error"]["message"] and "无法识别" not in body["error"]["message"]


def test_a_frame_declaring_16000_by_16000_pixels_is_never_decoded(
    client, keeper, supermarket, monkeypatch
):
    import cv2

    bomb = _png(16000, 16000)
    assert len(bomb) < 2 * 1024 * 1024  # well under the frame's 4 MB: refused for its pixels
    decoded = []
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: decoded.append(a) or None)
    login(client, "keeper1")
    r = client.post(
        "/scanner/frame",
        data=bomb,
        headers={"Content-Type": "image/png", "Accept": "application/json"},
    )
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "too_large"
    assert "像素" in r.get_json()["error"]["message"]
    assert decoded == []


# 14. Method not allowed says what is --------------------------------------------------------


def test_405_carries_an_allow_header(as_keeper, client, keeper):
    r = as_keeper.get("/api/v1/scan")
    assert r.status_code == 405
    assert error_code(r) == "method_not_allowed"
    assert "POST" in r.headers["Allow"]
    login(client, "keeper1")
    r = client.put("/stock/in")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]


def test_an_integral_json_number_counts_as_an_integer_and_a_fraction_does_not(as_keeper, shop):
    line = {"product_id": shop["rice"].id, "quantity": 2.0, "unit_cost_fen": 100}
    assert as_keeper.post("/api/v1/stock-ins", {"lines": [line]}).status_code == 201
    r = as_keeper.post("/api/v1/stock-ins", {"lines": [{**line, "quantity": 2.5}]})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "lines[0].quantity"


def test_a_barcode_of_unicode_digits_is_refused(as_admin, supermarket):
    r = as_admin.post("/api/v1/products", {"sku": "X1", "name": "盐", "barcode": "６９０１"})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "barcode"


def test_a_form_under_the_body_limit_is_not_refused_as_too_large(client, admin, supermarket):
    # Flask's own limit on a form's text (500 kB) would answer 413 "at most 1 MB" here.
    login(client, "admin1")
    r = client.post("/households/new", data={"number": "0101", "head_name": "x" * (700 * 1024)})
    assert r.status_code != 413 and r.status_code < 500


@pytest.mark.parametrize("bad", ["\x1b", "\x7f"])
def test_an_import_with_control_characters_is_refused_naming_the_row(supermarket, bad):
    from kiosk import imports

    data = f"户号,户主,成员\n0101,张三,张三\n0102,李{bad}四,李四\n".encode()
    checked = imports.check_file(supermarket.id, "households", data, "h.csv")
    assert any("第3行" in p and "控制字符" in p for p in checked.problems)


def test_waitress_refuses_a_body_beyond_the_apps_largest(runner, monkeypatch):
    calls = []
    monkeypatch.setattr("waitress.serve", lambda app, **kw: calls.append(kw))
    result = runner.invoke(args=["serve", "--port", "8124"])
    assert result.exit_code == 0, result.output
    ((kw,),) = [tuple(calls)]
    assert kw["max_request_body_size"] == 21 * 1024 * 1024
