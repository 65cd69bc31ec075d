"""English mode shows no Chinese, and Chinese reads as it always has.

The services' refusals are msgids with parameters (kiosk.messages), rendered where they are
shown. These tests walk the counter's API and the main pages in English, with a village whose
names are all in Latin letters, so any Chinese character on the answer is a sentence that
bypassed the catalogue. Each refusal is also asked for in Chinese, where it must read exactly
as before.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime

import pytest
from flask import g

from inventory import products, stock
from kiosk import auth, cards, households, points
from kiosk.cards import make_payload
from kiosk.database import write_transaction
from kiosk.errors import CardRevoked, DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import Joined, Message, _, chinese, from_json, pgettext, rendered, to_json
from kiosk.models import Supermarket
from tests import factories

# Han characters and the full-width punctuation that comes with them (，：；（）).
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def chinese_in(text: str) -> list[str]:
    """The Chinese characters in ``text``, with a little context to find them by."""
    return [text[max(0, m.start() - 20) : m.end() + 20] for m in CJK.finditer(text)]


@pytest.fixture
def village(app):
    """A supermarket, people, goods and cards named in Latin letters only."""
    with write_transaction():
        sm = Supermarket(
            code="EN01", name="East Village Shop", town="Hilltown", village="East Village"
        )
        db.session.add(sm)
    keeper = auth.create_user(
        "keeper1", display_name="Wang", role="keeper", password="secret123", supermarket_id=sm.id
    )
    admin = auth.create_user(
        "admin1", display_name="Li", role="admin", password="secret123", supermarket_id=sm.id
    )
    supervisor = auth.create_user(
        "super1", display_name="Zhao", role="supervisor", password="secret123", supermarket_id=sm.id
    )

    def family(number: str, head: str, pts: int):
        hh = households.create_household(
            sm.id,
            number=number,
            head_name=head,
            village="East Village",
            members=[households.MemberInput(head)],
            actor=None,
        )
        if pts:
            points.award_points(hh.id, pts, reason="volunteering", actor=None)
        card = cards.issue_card(hh.id, actor=None)
        return hh, card

    rich, rich_card = family("H0001", "Zhang San", 100)
    poor, poor_card = family("H0002", "Liu Er", 5)
    gone, gone_card = family("H0003", "Chen Wu", 50)
    cards.revoke_card(gone_card.id, actor=None, reason="lost")
    rice = products.create_product(
        sm.id,
        sku="RICE5",
        name="Rice 5kg",
        unit="bag",
        category="Grain",
        barcode="6901234567892",
        kind="goods",
        unit_cost_fen=0,
        restriction_key=None,
        actor=None,
    )
    stock.receive_stock(sm.id, [stock.StockInLine(rice.id, 2, 2550)], actor=None, supplier="Co-op")
    return {
        "sm": sm,
        "keeper": keeper,
        "admin": admin,
        "supervisor": supervisor,
        "rich": rich,
        "poor": poor,
        "rice": rice,
        "card": cards.payload_for(rich_card),
        "poor_card": cards.payload_for(poor_card),
        "revoked_card": cards.payload_for(gone_card),
    }


def _token(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {auth.issue_token(user.id, label='test')}"}


def _refusal(client, lang: str, method: str, url: str, user, body=None):
    headers = _token(user) if user is not None else {}
    sep = "&" if "?" in url else "?"
    response = client.open(f"{url}{sep}lang={lang}", method=method, json=body, headers=headers)
    error = response.get_json()["error"]
    return response.status_code, error


def _cart(village, card_key: str, quantity: int, key: str) -> dict:
    return {
        "card": village[card_key],
        "lines": [{"product_id": village["rice"].id, "quantity": quantity}],
        "idempotency_key": key,
    }


def _nested(depth: int) -> list:
    """A list inside a list, ``depth`` deep."""
    value: list = []
    for _level in range(depth - 1):
        value = [value]
    return value


# Each case: what is asked, the stable code and status, and today's Chinese sentence.
CASES = {
    "bad card": (
        "POST",
        "/api/v1/scan",
        "keeper",
        lambda v: {"payload": "JF0000000101" + "1234567890"},
        "card_invalid",
        422,
        "卡片无效：校验码不符，卡片可能被伪造或篡改",
    ),
    "not our card": (
        "POST",
        "/api/v1/scan",
        "keeper",
        lambda v: {"payload": "XX123"},
        "card_invalid",
        422,
        "卡片无效：不是本系统的积分卡",
    ),
    "unknown card": (
        "POST",
        "/api/v1/scan",
        "keeper",
        lambda v: {"payload": make_payload(99_999_999, 1)},
        "card_unknown",
        404,
        "卡片未登记：本系统中没有这张卡",
    ),
    "revoked card": (
        "POST",
        "/api/v1/scan",
        "keeper",
        lambda v: {"payload": v["revoked_card"]},
        "card_revoked",
        422,
        "卡片已作废，请到村委补办",
    ),
    "not enough stock": (
        "POST",
        "/api/v1/redemptions",
        "keeper",
        lambda v: _cart(v, "card", 3, "english-stock-1"),
        "out_of_stock",
        422,
        "Rice 5kg 库存不足：只剩2bag",
    ),
    "not found": (
        "GET",
        "/api/v1/redemptions/999999",
        "keeper",
        None,
        "not_found",
        404,
        "没有找到该兑换单",
    ),
    "no such page": ("GET", "/api/v1/no-such-thing", "keeper", None, "not_found", 404, "没有找到"),
    "no such household": (
        "GET",
        "/api/v1/households/999999",
        "keeper",
        None,
        "not_found",
        404,
        "没有找到该户",
    ),
    "no such card": (
        "POST",
        "/api/v1/cards/999999/revoke",
        "admin",
        lambda v: {"reason": "lost"},
        "not_found",
        404,
        "没有找到该卡",
    ),
    "no such user": (
        "GET",
        "/api/v1/users/999999/tokens",
        "admin",
        None,
        "not_found",
        404,
        "没有找到该用户",
    ),
    "a control character in a query": (
        "GET",
        "/api/v1/households?q=%00",
        "keeper",
        None,
        "invalid_request",
        400,
        "查询参数「q」含有不允许的控制字符（U+0000），请删去后重试",
    ),
    "JSON nested too deeply": (
        "POST",
        "/api/v1/redemptions",
        "keeper",
        lambda v: {**_cart(v, "card", 1, "english-deep-1"), "note": _nested(40)},
        "invalid_request",
        400,
        "JSON嵌套太深：最多32层",
    ),
    "a control character in a named field": (
        "POST",
        "/api/v1/redemptions",
        "keeper",
        lambda v: {**_cart(v, "card", 1, "english-nul-1"), "card": "JF\u0000"},
        "invalid_request",
        400,
        "字段「卡片内容（card）」含有不允许的控制字符（U+0000），请删去后重试",
    ),
    "not logged in": (
        "POST",
        "/api/v1/scan",
        None,
        lambda v: {"payload": v["card"]},
        "unauthorized",
        401,
        None,
    ),
    "forbidden": (
        "POST",
        "/api/v1/scan",
        "supervisor",
        lambda v: {"payload": v["card"]},
        "forbidden",
        403,
        None,
    ),
    "validation": (
        "POST",
        "/api/v1/redemptions",
        "keeper",
        lambda v: _cart(v, "card", 0, "english-zero-1"),
        "invalid_request",
        400,
        None,
    ),
    "empty cart": (
        "POST",
        "/api/v1/redemptions",
        "keeper",
        lambda v: {"card": v["card"], "lines": [], "idempotency_key": "english-empty-1"},
        None,
        None,
        None,
    ),
    "not enough points": (
        "POST",
        "/api/v1/redemptions",
        "keeper",
        lambda v: _cart(v, "poor_card", 1, "english-poor-1"),
        "insufficient_points",
        422,
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_api_refusals_in_english_and_in_chinese(client, village, case):
    method, url, who, body, code, status, chinese_text = CASES[case]
    user = village[who] if who else None
    payload = body(village) if body else None

    zh_status, zh = _refusal(client, "zh", method, url, user, payload)
    en_status, en = _refusal(client, "en", method, url, user, payload)

    assert en_status == zh_status and en["code"] == zh["code"]
    if code is not None:
        assert (zh["code"], zh_status) == (code, status)
    if chinese_text is not None:
        assert zh["message"] == chinese_text
    assert CJK.search(zh["message"]), "Chinese stays the default"
    assert not chinese_in(en["message"]), en["message"]
    assert not chinese_in(repr(en.get("details", {}))), en["details"]


def test_window_closed_in_english(client, village, monkeypatch):
    """高阳's rule set opens in the first month of a quarter: February is refused, in words."""
    factories.policy(village["sm"], "gaoyang")
    factories.pin_clock(monkeypatch, datetime(2024, 2, 1, 10, 0))
    body = _cart(village, "card", 1, "english-window-1")
    zh_status, zh = _refusal(client, "zh", "POST", "/api/v1/redemptions", village["keeper"], body)
    en_status, en = _refusal(client, "en", "POST", "/api/v1/redemptions", village["keeper"], body)
    assert zh_status == en_status == 422 and zh["code"] == en["code"] == "not_eligible"
    assert CJK.search(zh["message"])
    assert not chinese_in(en["message"]), en["message"]


# Pages ---------------------------------------------------------------------------------------


def _login(client, username: str) -> None:
    client.post("/login/password", data={"username": username, "password": "secret123"})


def _visible(html: str) -> str:
    """The page's text a person reads (no markup, scripts' sources or comments)."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    html = re.sub(r"<(style)[^>]*>.*?</\1>", "", html, flags=re.S)
    # The language switch names the other language in its own words.
    html = html.replace(">中文</a>", "></a>")
    # The rule set as data (the name line of the rules page's TOML text, the form's values): its
    # name is kept as stored, so saving in English does not rename the village's rules.
    html = re.sub(r"^name = &#34;[^\n]*&#34;$", "", html, flags=re.M)
    html = re.sub(
        r'<script type="application/json" id="policy-data">.*?</script>', "", html, flags=re.S
    )
    return html


def test_a_refused_page_in_english(client, village):
    _login(client, "keeper1")
    html = client.get("/households/999999?lang=en").get_data(as_text=True)
    assert not chinese_in(_visible(html))


@pytest.mark.parametrize(
    ("form", "english", "chinese"),
    [
        (
            {"number": "H0001", "head_name": "Zhang San"},
            "Household number H0001 already exists",
            "户号 H0001 已存在",
        ),
        (
            {"number": "H0009", "head_name": ""},
            "Head of household must not be empty",
            "户主姓名不能为空",
        ),
        ({"number": "H0009", "head_name": "Zhao", "village": "x" * 101}, "too long", "太长了"),
    ],
)
def test_refusals_on_pages_in_english(client, village, form, english, chinese):
    """A domain error on a page is shown in the page's language, and in Chinese as before."""
    _login(client, "admin1")
    html = client.post("/households/new?lang=en", data=form).get_data(as_text=True)
    assert english in html
    assert not chinese_in(_visible(html)), chinese_in(_visible(html))
    html = client.post("/households/new?lang=zh", data=form).get_data(as_text=True)
    assert chinese in html


# The messages themselves --------------------------------------------------------------------


@contextmanager
def reading_in(app, lang: str):
    """A request in ``lang`` (the app's own hook forgets a previous request's locale; a bare
    test request context does not run it)."""
    with app.test_request_context(f"/?lang={lang}"):
        g.pop("_flask_babel", None)
        yield


def test_a_refusal_keeps_its_code_msgid_and_parameters(app):
    refusal = ValidationFailed(_("一次最多兑换%(n)s种物品", n=30), field="lines")
    assert refusal.code == "invalid_request" and refusal.status == 400
    assert refusal.msgid == "一次最多兑换%(n)s种物品" and refusal.params == {"n": 30}
    # Outside a request (CLI, logs): Chinese.
    assert refusal.message == str(refusal) == "一次最多兑换30种物品"
    with reading_in(app, "en"):
        assert refusal.message == "At most 30 different items per redemption"
        # What is kept (an import's stored preview) stays Chinese whatever the screen says.
        assert refusal.source_text == "一次最多兑换30种物品"
        assert refusal.to_dict() == {
            "error": {
                "code": "invalid_request",
                "message": "At most 30 different items per redemption",
                "details": {"field": "lines"},
            }
        }
    with reading_in(app, "zh"):
        assert refusal.message == "一次最多兑换30种物品"


def test_a_default_message_follows_the_language(app):
    assert CardRevoked().message == "卡片已作废，请使用补办后的新卡"
    with reading_in(app, "en"):
        assert (
            CardRevoked().message == "This card has been revoked; please use the replacement card"
        )
        assert NotFound().message == "Nothing found"


def test_nested_messages_and_lists_render_in_one_language(app):
    inner = _("积分必须是正整数")
    outer = _("%(name)s 库存不足：只剩%(left)s%(unit)s", name="Rice", left=Message("3"), unit="bag")
    both = Joined([inner, "plain"])
    assert str(both) == "积分必须是正整数；plain"
    assert chinese({"reasons": [inner, outer]}) == {
        "reasons": ["积分必须是正整数", "Rice 库存不足：只剩3bag"]
    }
    with reading_in(app, "en"):
        assert str(both) == "Points must be a positive whole number; plain"
        assert rendered({"reasons": (inner,)}) == {
            "reasons": ("Points must be a positive whole number",)
        }
        # What is stored or printed stays Chinese whatever the screen's language.
        assert outer.chinese() == "Rice 库存不足：只剩3bag"


def test_a_word_in_a_context_has_its_own_english(app):
    """pgettext: one Chinese word, English per place (a button's "Cancel", "cannot be
    cancelled"); Chinese is the word itself, and the context survives being stored."""
    button, done = _("取消"), pgettext("cannot be …", "取消")
    sentence = _("这次盘点%(status)s，不能%(action)s", status="x", action=done)
    assert str(done) == done.chinese() == "取消" and str(sentence) == "这次盘点x，不能取消"
    assert done != button and button != done and done == pgettext("cannot be …", "取消")
    with reading_in(app, "en"):
        assert (str(button), str(done)) == ("Cancel", "cancelled")
        assert str(sentence) == "This stocktake is x and cannot be cancelled"
    stored = to_json(sentence)
    assert stored["params"]["action"] == {"context": "cannot be …", "msgid": "取消", "params": {}}
    assert from_json(stored) == sentence
    with reading_in(app, "en"):
        assert str(from_json(stored)) == "This stocktake is x and cannot be cancelled"


def test_a_percent_sign_in_a_parameter_is_kept(app):
    message = _("用户名 %(username)s 已存在", username="100%")
    assert str(message) == "用户名 100% 已存在"
    with reading_in(app, "en"):
        assert str(message) == "The username 100% already exists"


# The office's pages that show no Chinese in English mode with this village.
ENGLISH_PAGES = [
    "/home",
    "/counter",
    "/households",
    "/households/new",
    "/admin",
    "/admin/policy",
    "/admin/preview",
    "/admin/products",
    "/admin/vetoes",
    "/admin/assessments",
    "/admin/printer",
    "/audit",
    "/fund",
    "/fund/donations",
    "/fund/donations/new",
    "/fund/donors",
    "/fund/ledger",
    "/fund/public",
    "/intake",
    "/intake/import",
    "/intake/standards",
    "/month-end/",
    "/notice/",
    "/notice/objections",
    "/stock/in",
    "/stock/ledgers",
    "/stock/adjustments",
    "/stocktake",
    "/stocktake/new",
    "/users",
]


def test_office_pages_in_english(client, village):
    _login(client, "admin1")
    for url in [*ENGLISH_PAGES, f"/households/{village['rich'].id}"]:
        response = client.get(f"{url}?lang=en")
        assert response.status_code == 200, url
        assert not chinese_in(_visible(response.get_data(as_text=True))), url


def test_a_stocktakes_state_is_said_in_english(app):
    """The state word inside a stocktake's refusal follows the language too."""
    from inventory import stocktake
    from inventory.models import COUNT_COUNTING, COUNT_SUBMITTED, Stocktake

    count = Stocktake(status=COUNT_SUBMITTED)
    with pytest.raises(ValidationFailed) as refused:
        stocktake._require_state(count, COUNT_COUNTING, action=_("再清点"))
    assert refused.value.message == "这次盘点已提交，不能再清点"
    with reading_in(app, "en"):
        assert not chinese_in(refused.value.message), refused.value.message


def test_a_duplicate_donor_is_refused_in_english(client, village):
    from inventory import donations

    donations.create_donor(village["sm"].id, name="Wang Fu", kind="enterprise", actor=None)
    with pytest.raises(DuplicateValue) as refused:
        donations.create_donor(village["sm"].id, name="Wang Fu", kind="enterprise", actor=None)
    assert refused.value.message == "已经有名为“Wang Fu”的企业"
    with reading_in(client.application, "en"):
        assert refused.value.message == 'There is already a donor named "Wang Fu" (Enterprise)'


# What the office's pages show of the rules, periods, ledgers and the log -------------------


def _page(client, url: str, lang: str) -> str:
    response = client.get(f"{url}?lang={lang}")
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_a_seed_rule_set_is_named_and_described_in_both_languages(client, village):
    """寨里's preset: its name, tiers and restricted item are said in English; Chinese as before."""
    factories.policy(village["sm"], "zhaili")
    _login(client, "admin1")
    zh = _page(client, "/admin/policy", "zh")
    assert '<span id="policy-name">寨里镇美德信用积分</span>' in zh
    assert (
        "按评分分级：三星级 70–80分，每期可兑换50元；四星级 81–90分，每期可兑换100元；"
        "五星级 91–100分，每期可兑换150元。"
    ) in zh
    assert "长者食堂免费就餐：60–70岁、评分80分以上，免费。" in zh
    assert "<li>每年1、4、7、10月可以兑换，其他月份不能兑换。</li>" in zh
    assert "# 积分兑换规则（jifen policy）" in zh

    en = _page(client, "/admin/policy", "en")
    assert '<span id="policy-name">Zhaili town virtue and credit points</span>' in en
    assert (
        "Tiers by score: Three-star 70–80 pts, 50 yuan per period; Four-star 81–90 pts, "
        "100 yuan per period; Five-star 91–100 pts, 150 yuan per period."
    ) in en
    assert "Free meals at the elders&#39; canteen: " in en
    assert "Tiers by points: Pyramid base 0–99 points; " in en  # 羊亭's preset, described too
    assert "# Points redemption rules (jifen policy)" in en
    # The rules as data keep their stored words: saving in English renames nothing.
    assert "name = &#34;寨里镇美德信用积分&#34;" in en
    for url in ("/admin", "/admin/products", "/admin/preview"):
        assert "Zhaili town virtue and credit points" in _page(client, url, "en"), url
        assert "寨里镇美德信用积分" in _page(client, url, "zh"), url


def test_a_restricted_item_in_both_languages(client, village):
    """寨里's elders' canteen on the products pages: its words per language, its key as is."""
    factories.policy(village["sm"], "zhaili")
    meal = products.create_product(
        village["sm"].id,
        sku="MEAL1",
        name="Canteen meal",
        unit="meal",
        category="Service",
        barcode=None,
        kind="service",
        unit_cost_fen=0,
        restriction_key="elder_canteen",
        actor=None,
    )
    _login(client, "admin1")
    zh = _page(client, "/admin/products", "zh")
    assert "现行规则的限定物品：长者食堂免费就餐（elder_canteen）</p>" in zh
    assert '<td class="restriction">长者食堂免费就餐</td>' in zh
    en = _page(client, "/admin/products", "en")
    assert "Free meals at the elders&#39; canteen (elder_canteen)</p>" in en
    assert '<td class="restriction">Free meals at the elders&#39; canteen</td>' in en
    for url in ("/admin/products", f"/admin/products/{meal.id}", "/admin/preview"):
        assert not chinese_in(_visible(_page(client, url, "en"))), url


def test_a_villages_own_rule_names_are_shown_as_written(app):
    from kiosk.formatting import rule_term

    with reading_in(app, "en"):
        assert rule_term("默认规则") == "Default rules"
        assert rule_term("三星级") == "Three-star"
        assert rule_term("东村积分规则") == "东村积分规则"
        assert rule_term("Gold") == "Gold"
    with reading_in(app, "zh"):
        assert rule_term("默认规则") == "默认规则"


def test_notice_periods_in_both_languages(client, village, monkeypatch):
    """The notice list names its periods per language; what a notice stores stays Chinese."""
    from kiosk import notice

    factories.pin_clock(monkeypatch, datetime(2026, 6, 15, 10, 0))
    _login(client, "admin1")
    draft = notice.draft_notice(village["sm"].id, "2025Q1", actor=None)
    assert draft.content["period_label"] == "2025年第一季度"
    zh = _page(client, "/notice/", "zh")
    assert "<td>2025年第一季度</td>" in zh
    assert re.search(r'<option value="2026-03">2026年3月</option>', zh)
    en = _page(client, "/notice/", "en")
    assert "<td>Q1 2025</td>" in en
    assert re.search(r'<option value="2026-03">March 2026</option>', en)
    # The notice itself: its title and rule set in the page's language, as stored in Chinese.
    zh = _page(client, f"/notice/{draft.id}", "zh")
    assert "East Village2025年第一季度积分公示" in zh and "默认规则 · " in zh
    en = _page(client, f"/notice/{draft.id}", "en")
    assert "Q1 2025" in en and "Default rules · " in en
    assert "2025年第一季度" not in en and "默认规则" not in en


def test_stock_payment_sources_in_both_languages(client, village):
    """未注明 and the suggested sources follow the page; a source someone named is as written."""
    stock.receive_stock(
        village["sm"].id,
        [stock.StockInLine(village["rice"].id, 1, 1000)],
        actor=None,
        supplier="Co-op",
        paid_from="Hilltown fund",
    )
    from inventory import donations
    from kiosk.clock import local_now

    donor = donations.create_donor(village["sm"].id, name="Wang Fu", kind="enterprise", actor=None)
    donations.record_goods_donation(
        village["sm"].id,
        donor_id=donor.id,
        lines=[donations.GoodsLine(village["rice"].id, 1, 500)],
        donated_on=local_now().date(),
        actor=None,
    )
    _login(client, "admin1")
    zh = _page(client, "/stock/ledgers", "zh")
    assert "<td>未注明</td>" in zh and "<td>Hilltown fund</td>" in zh
    assert "<td>捐赠：Wang Fu</td>" in zh and "<td>捐赠</td>" in zh
    en = _page(client, "/stock/ledgers", "en")
    assert "<td>Not stated</td>" in en and "<td>Hilltown fund</td>" in en
    assert "<td>Donated by Wang Fu</td>" in en and "<td>Donated</td>" in en
    assert not chinese_in(_visible(en)), chinese_in(_visible(en))
    zh = _page(client, "/stock/in", "zh")
    assert '<option value="村集体"><option value="镇奖励"><option value="帮扶单位">' in zh
    assert "<td>未注明</td>" in zh
    en = _page(client, "/stock/in", "en")
    assert '<option value="Village collective"><option value="Town reward">' in en
    assert '<option value="Hilltown fund">' in en


def test_the_log_in_both_languages(client, village):
    """The log's people and facts: full-width punctuation in Chinese, none in English."""
    _login(client, "admin1")
    zh = _page(client, "/audit", "zh")
    assert re.search(r">Li（[^）<]+）</option>", zh)
    assert re.search(r"：1，[^：<]+：2，", zh)
    en = _page(client, "/audit", "en")
    assert re.search(r">Li \(Village admin\)</option>", en)
    assert re.search(r": 1, [^:<]+: 2, ", en)


def test_api_lookups_refuse_in_the_readers_language(app):
    """The API's "not found" for each kind of row it looks up (kiosk.api.access)."""
    from kiosk.api import access

    lookups = {
        access.household: ("没有找到该户", "Household not found"),
        access.member: ("没有找到该家庭成员", "Household member not found"),
        access.card: ("没有找到该卡", "Card not found"),
        access.redemption: ("没有找到该兑换单", "Redemption not found"),
        access.user: ("没有找到该用户", "User not found"),
    }
    for lookup, (chinese_text, english) in lookups.items():
        for lang, expected in (("zh", chinese_text), ("en", english)):
            with reading_in(app, lang), pytest.raises(NotFound) as refused:
                lookup(999_999)
            with reading_in(app, lang):
                assert refused.value.message == expected


def test_the_scanner_refuses_in_english(client, village):
    from tests.api.test_security_input import _png

    _login(client, "keeper1")
    json = {"Accept": "application/json"}
    frames = {
        "preview": ("GET", "/scanner/preview.mjpg", None, "image/jpeg"),
        "bytes": ("POST", "/scanner/frame", b"\xff\xd8" + b"0" * (4 * 1024 * 1024), "image/jpeg"),
        "pixels": ("POST", "/scanner/frame", _png(16000, 16000), "image/png"),
    }
    expected = {
        "preview": ("没有配置摄像头", "No camera is configured"),
        "bytes": ("图片太大：最大 4 MB", "The picture is too large: at most 4 MB"),
        "pixels": (
            "图片太大：最多 4096×4096 像素",
            "The picture is too large: at most 4096×4096 pixels",
        ),
    }
    for name, (method, url, data, mimetype) in frames.items():
        for lang, text in zip(("zh", "en"), expected[name], strict=True):
            r = client.open(
                f"{url}?lang={lang}",
                method=method,
                data=data,
                headers={**json, "Content-Type": mimetype},
            )
            assert r.get_json()["error"]["message"] == text, name


def test_a_control_character_in_a_form_field_is_refused_in_english(client, village):
    _login(client, "admin1")
    form = {"number": "H0009", "head_name": "Zhao\x00"}
    html = client.post("/households/new?lang=en", data=form).get_data(as_text=True)
    assert "Form field “Head of household (head_name)” holds a control character" in html
    assert not chinese_in(_visible(html)), chinese_in(_visible(html))
    html = client.post("/households/new?lang=zh", data=form).get_data(as_text=True)
    assert "输入项「户主姓名（head_name）」含有不允许的控制字符（U+0000），请删去后重试" in html


def test_no_refusal_in_the_api_or_the_pages_is_a_plain_chinese_literal():
    """A refusal's sentence goes through kiosk.messages._ (extracted, rendered per reader)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "kiosk"
    plain = []
    for path in sorted([*(root / "api").glob("*.py"), *(root / "web").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            for arg in node.exc.args[:1]:
                if isinstance(arg, (ast.Constant, ast.JoinedStr)) and CJK.search(ast.unparse(arg)):
                    plain.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert not plain
