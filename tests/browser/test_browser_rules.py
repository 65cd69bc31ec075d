"""The rule sets in a real browser: the counter reads out every refusal reason in Chinese (寨里,
a member scored 65: no tier); an admin records scores in the assessments grid and the preview
table follows; a bad policy edit shows the Chinese validation error. Screenshots of every admin
page at both sizes go to test-artifacts/."""

from __future__ import annotations

import pytest

from kiosk import assessments, rules
from kiosk.clock import local_now
from kiosk.rules import policies, presets
from tests import factories
from tests.browser.test_browser_counter import login_by_pin
from tests.browser_support import (
    VIEWPORTS,
    LiveServer,
    assert_fits,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    nothing_focused,
    seeded,
    shoot,
    wedge_scan,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def village(tmp_path):
    """寨里's rules; household Z-01's only member scored 65 this quarter (no star), Z-02's two
    members have no score yet; a keeper and an admin."""
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket(code="ZL01", name="寨里镇积分超市")
        factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        admin = factories.user("admin1", "admin", sm, display_name="李主任")
        policies.set_policy(sm.id, presets.ZHAILI, actor=None)
        low = factories.household(sm, head_name="张三丰", number="Z-01", members=["张三丰"])
        two = factories.household(sm, head_name="李四", number="Z-02", members=["李四", "王芳"])
        _, low_card = factories.card(low)
        factories.product(sm, name="金龙鱼大米5kg", cost_fen=2500, stock_qty=10, category="粮油")
        # The quarter of today, whatever today is: the outcome does not depend on the date.
        period = rules.period_key(local_now().date(), rules.PERIOD_QUARTER)
        assessments.record_assessment(low.id, period, 65, member_id=low.members[0].id, actor=admin)
        ids = {"two": two.id, "two_members": [m.id for m in two.members]}
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "low_card": low_card, "ids": ids, "period": period}


def login_admin(page, url: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", "admin1")
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + "/home")


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_counter_reads_out_the_refusal_reasons(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    login_by_pin(page, village["url"])
    nothing_focused(page)
    wedge_scan(page, village["low_card"])
    page.wait_for_selector("#screen-shop:visible")
    decision = page.locator("#decision")
    assert "暂时不能兑换" in decision.inner_text()
    blocking = page.locator("#decision-reasons .reason-blocking")
    assert blocking.count() == 1
    # 寨里: "70-80为三星级" — 65 is below every tier.
    assert blocking.inner_text() == "家庭成员评分均未达到70分（三星级），不能兑换"
    assert blocking.get_attribute("data-code") == "no_tier"
    assert page.locator(".fact-quota").inner_text() == "本期剩余额度0元"
    # The refusal takes the cart's room and is read aloud large.
    assert page.locator(".shop-left.refused").count() == 1
    assert page.locator("#cart-empty").is_hidden()
    size_px = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.reason-blocking')).fontSize)"
    )
    assert size_px >= 26
    assert blocking.is_visible()
    shoot(page, "counter-refused-no-tier")
    assert_fits(page)
    # A tap on goods repeats the reason instead of filling a cart that cannot be redeemed.
    page.locator(".tile", has_text="金龙鱼大米5kg").click()
    assert page.inner_text("#banner-text") == "家庭成员评分均未达到70分（三星级），不能兑换"
    assert page.locator(".cart-line").count() == 0
    assert page.js_errors == []
    page.context.close()


def test_admin_records_scores_and_the_preview_follows(browser, village):  # noqa: F811
    url = village["url"]
    page = new_page(browser, (1280, 800))
    login_admin(page, url)
    page.locator("#tile-rules").click()
    page.wait_for_url(url + "/admin")

    page.goto(url + "/admin/preview")
    z2 = page.locator(f"#preview-table tr[data-household-id='{village['ids']['two']}']")
    assert z2.locator(".verdict").inner_text() == "不能"
    assert z2.locator(".tier").inner_text() == "—"

    page.goto(url + "/admin/assessments")
    rows = page.locator(f".score-row[data-household-id='{village['ids']['two']}']")
    assert rows.count() == 2
    # One bad number first: the row is marked and nothing is saved.
    rows.nth(0).locator(".score-input").fill("95")
    rows.nth(1).locator(".score-input").fill("150")
    page.locator("#save-scores").click()
    assert "评分应为0到100的整数" in page.inner_text("#scores-error")
    assert "row-error" in rows.nth(1).get_attribute("class")
    rows.nth(1).locator(".score-input").fill("75")
    page.locator("#save-scores").click()
    page.wait_for_load_state("load")
    page.wait_for_selector(".score-row[data-current='95']")
    rows = page.locator(f".score-row[data-household-id='{village['ids']['two']}']")
    assert rows.nth(0).get_attribute("data-current") == "95"
    assert rows.nth(1).get_attribute("data-current") == "75"

    page.goto(url + "/admin/preview")
    z2 = page.locator(f"#preview-table tr[data-household-id='{village['ids']['two']}']")
    assert z2.locator(".verdict").inner_text() == "可以"
    # 寨里: quotas summed over members — ★★★★★ 150 + ★★★ 50.
    assert z2.locator(".quota").inner_text() == "200"
    assert z2.locator(".tier").inner_text().endswith("星级")  # the household's tier
    assert "共2户，1户可以兑换" in page.inner_text("#preview-summary")
    assert page.js_errors == []
    page.context.close()


def test_a_bad_policy_edit_shows_the_chinese_error(browser, village):  # noqa: F811
    url = village["url"]
    page = new_page(browser, (1280, 800))
    login_admin(page, url)
    page.goto(url + "/admin/policy")
    page.fill("#f-points_per_yuan", "0")
    page.locator("#save-policy").click()
    error = page.locator("#policy-error")
    error.wait_for(state="visible")
    # The field is named as the form labels it, never `points_per_yuan` (issue 17).
    assert "“1元兑换需要的积分”不正确" in error.inner_text()
    assert "points_per_yuan" not in error.inner_text()
    with seeded(village["app"]):
        from kiosk.extensions import db
        from kiosk.models import Supermarket

        sm = db.session.query(Supermarket).one()
        assert policies.policy_for(sm) == presets.ZHAILI
    # Switching preset takes two taps (ask, then do) and reloads with the new rules.
    page.locator(".preset-btn[data-preset='gaoyang']").click()
    use = page.locator("#preset-gaoyang .use-preset")
    use.click()
    assert "确定改用" in use.inner_text()
    use.click()
    page.wait_for_function(
        "() => document.getElementById('policy-name').textContent.includes('高阳')"
    )
    assert "基础分100分不能兑换" in page.inner_text("#policy-sentences")
    assert page.js_errors == []
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_screenshots_of_every_admin_page(browser, village, size):  # noqa: F811
    url = village["url"]
    page = new_page(browser, size)
    login_admin(page, url)
    for path, name in [
        ("/admin", "admin-hub"),
        ("/admin/policy", "admin-policy"),
        ("/admin/preview", "admin-preview"),
        ("/admin/assessments", "admin-assessments"),
        ("/admin/vetoes", "admin-vetoes"),
    ]:
        page.goto(url + path)
        shoot(page, name)
        assert_fits(page)
    page.goto(url + "/admin/policy")
    page.locator(".preset-btn[data-preset='datong']").click()
    shoot(page, "admin-policy-preset")
    page.locator("#policy-form").scroll_into_view_if_needed()
    shoot(page, "admin-policy-form")
    assert page.js_errors == []
    page.context.close()


@pytest.fixture
def elders(tmp_path):
    """寨里: a 65-year-old scored 85 this quarter (四星级, 100 yuan) and has used the whole quota;
    the elders' canteen meal is still hers, free ("60-70岁的老人，美德信用积分在80分以上的，该季度在
    长者食堂免费就餐")."""
    from datetime import date

    from kiosk.models import User
    from kiosk.redemption import CartLine, redeem

    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket(code="ZL01", name="寨里镇积分超市")
        keeper = factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        admin = factories.user("admin1", "admin", sm, display_name="李主任")
        policies.set_policy(sm.id, presets.ZHAILI, actor=None)
        today = local_now().date()
        born = date(today.year - 65, 1, 1)
        hh = factories.family(sm, [("刘桂英", born)])
        _, card = factories.card(hh)
        period = rules.period_key(today, rules.PERIOD_QUARTER)
        assessments.record_assessment(hh.id, period, 85, member_id=hh.members[0].id, actor=admin)
        oil = factories.product(sm, name="花生油5L", cost_fen=10000, stock_qty=5, category="粮油")
        factories.product(
            sm,
            name="长者食堂午餐",
            kind="service",
            cost_fen=800,
            stock_qty=0,
            category="服务",
            unit="次",
            restriction_key="elder_canteen",
        )
        redeem(sm.id, card_payload=card, lines=[CartLine(oil.id, 1)],
               keeper=db_get(User, keeper.id), idempotency_key="quota-used-up")  # fmt: skip
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "card": card}


def db_get(model, ident):
    from kiosk.extensions import db

    return db.session.get(model, ident)


def test_the_elders_meal_is_free_after_the_quota_is_used(browser, elders):  # noqa: F811
    page = new_page(browser, (1024, 600))
    login_by_pin(page, elders["url"])
    nothing_focused(page)
    wedge_scan(page, elders["card"])
    page.wait_for_selector("#screen-shop:visible")
    page.get_by_role("tab", name="服务").click()
    meal = page.locator(".tile", has_text="长者食堂午餐")
    assert meal.locator(".tile-price").inner_text() == "免费"
    meal.click()
    assert page.locator(".cart-line").count() == 1
    assert page.inner_text("#cart-total") == "0"
    assert page.locator("#btn-confirm").is_enabled()
    page.locator("#btn-confirm").click()
    page.wait_for_selector("#screen-receipt:visible")
    assert "长者食堂午餐" in page.inner_text("#receipt-text")
    shoot(page, "counter-elder-meal-free")
    assert page.js_errors == []
    page.context.close()
