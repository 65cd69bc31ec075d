"""The households search in a real browser: an admin taps pinyin initials on the on-screen
keypad, the results follow every key, and a tap opens the household; the physical keyboard
and a card scanner work in the same box. Screenshots of every page at both sizes go to
test-artifacts/."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk import households
from tests import factories
from tests.browser_support import (
    ARTIFACTS,
    VIEWPORTS,
    LiveServer,
    assert_fits,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
    shoot,
    wedge_scan,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def office(tmp_path):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        factories.user("admin1", "admin", sm, display_name="李主任")
        zhang = factories.family(
            sm,
            [("张三", date(1950, 3, 7)), ("王芳", date(1953, 8, 1)), ("张小军", None)],
            points=45,
        )
        households.update_household(
            zhang.id, number="A-01", head_name="张三", village="东村", actor=None
        )
        factories.household(sm, number="A-02", head_name="李张胜", members=["李张胜"])
        factories.household(sm, number="A-03", head_name="曾国藩", members=["曾国藩"])
        factories.household(sm, number="A-04", head_name="钱七", members=["钱七"])
        _, payload = factories.card(zhang)
        ids = {"zhang": zhang.id}
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "ids": ids, "payload": payload}


def shoot_whole(page, name: str) -> None:
    """The whole page, below the fold too (the office tabs fill half of a small screen)."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        "Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
    )
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size['width']}x{size['height']}.png"))
    page.set_viewport_size(size)


def login_admin(page, url: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", "admin1")
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + "/home")


def result_names(page) -> list[str]:
    return page.locator("#hh-result-list .hh-result-name").all_inner_texts()


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_find_a_household_by_initials_on_the_touch_keypad(browser, office, size):  # noqa: F811
    page = new_page(browser, size)
    url = office["url"]
    login_admin(page, url)
    page.goto(url + "/households")
    assert result_names(page) == ["张三", "李张胜", "曾国藩", "钱七"]
    shoot(page, "households-search")
    assert_fits(page)

    keys = page.locator("#hh-keypad")
    keys.locator("[data-key='Z']").tap()
    keys.locator("[data-key='S']").tap()
    assert page.input_value("#hh-q") == "ZS"
    # 张三 (initials zs) before 李张胜 (lzs); 曾国藩 and 钱七 are gone.
    page.wait_for_function(
        "() => document.querySelectorAll('#hh-result-list .hh-result').length === 2"
    )
    assert result_names(page) == ["张三", "李张胜"]
    assert "找到2户" in page.inner_text("#hh-count")
    assert page.url.endswith("/households?q=ZS")
    shoot(page, "households-search-zs")
    assert_fits(page)

    # Backspace, then a key that finds nothing, then clear.
    keys.locator("[data-key='back']").tap()
    page.wait_for_function(
        "() => document.querySelectorAll('#hh-result-list .hh-result').length === 3"
    )
    keys.locator("[data-key='Q']").tap()
    keys.locator("[data-key='Q']").tap()
    page.wait_for_selector("#hh-empty")
    assert "没有找到“ZQQ”" in page.inner_text("#hh-empty")
    keys.locator("[data-key='clear']").tap()
    page.wait_for_function(
        "() => document.querySelectorAll('#hh-result-list .hh-result').length === 4"
    )

    # Initials again, then open the household with a tap.
    for k in "ZS":
        keys.locator(f"[data-key='{k}']").tap()
    page.wait_for_function(
        "() => document.querySelectorAll('#hh-result-list .hh-result').length === 2"
    )
    page.locator("#hh-result-list .hh-result").first.tap()
    page.wait_for_url(f"{url}/households/{office['ids']['zhang']}")
    assert page.inner_text("#hh-head") == "张三"
    assert page.inner_text("#hh-balance") == "45"
    members = page.locator("#hh-member-list .hh-member-name").all_inner_texts()
    assert members == ["张三", "王芳", "张小军"]
    assert "岁" in page.inner_text("#hh-member-list")
    assert page.locator("#hh-card-active").is_visible()
    shoot(page, "households-detail")
    shoot_whole(page, "households-detail-whole")
    assert_fits(page)

    # Back to the search: the box and the list are as they were.
    page.go_back()
    page.wait_for_selector("#hh-result-list")
    assert page.input_value("#hh-q") == "ZS"
    assert result_names(page) == ["张三", "李张胜"]
    page.locator("#hh-result-list .hh-result").first.tap()
    page.wait_for_url(f"{url}/households/{office['ids']['zhang']}")

    # Reissue: a tap opens the reason, a second tap confirms; the old card is revoked.
    page.locator("#hh-reissue-open").tap()
    page.fill("#hh-reissue-reason", "遗失")
    shoot(page, "households-detail-reissue")
    page.locator("#hh-reissue").tap()
    page.wait_for_selector("#hh-flashes")
    assert "第2张卡" in page.inner_text("#hh-flashes")
    assert "遗失" in page.inner_text("#hh-card-table")

    assert page.js_errors == []


@pytest.mark.parametrize("size", VIEWPORTS[:1], ids=lambda s: f"{s[0]}x{s[1]}")
def test_physical_keyboard_polyphonic_surname_and_card_scan(browser, office, size):  # noqa: F811
    page = new_page(browser, size)
    url = office["url"]
    login_admin(page, url)
    page.goto(url + "/households")
    # The box has the focus: a USB keyboard types straight into it.
    page.keyboard.type("zgf", delay=30)
    page.wait_for_function(
        "() => document.querySelectorAll('#hh-result-list .hh-result').length === 1"
    )
    assert result_names(page) == ["曾国藩"]  # 曾 read as the surname zeng
    page.fill("#hh-q", "")
    page.locator("#hh-q").blur()
    # A card scanned with the box not focused opens the household directly.
    wedge_scan(page, office["payload"])
    page.wait_for_url(f"{url}/households/{office['ids']['zhang']}")
    assert page.inner_text("#hh-head") == "张三"
    assert page.js_errors == []


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_forms_and_a_refusal_on_screen(browser, office, size):  # noqa: F811
    page = new_page(browser, size)
    url = office["url"]
    login_admin(page, url)
    page.goto(url + "/households/new")
    page.fill("input[name=number]", "A-02")
    page.fill("input[name=head_name]", "单田芳")
    page.fill("input[name=birth_date]", "19340512")
    page.locator("#save-household").click()
    # The number is taken: the refusal in Chinese, and what was typed is still there.
    assert "户号 A-02 已存在" in page.inner_text("#form-error")
    assert page.input_value("input[name=head_name]") == "单田芳"
    shoot(page, "households-form-error")
    assert_fits(page)
    page.fill("input[name=number]", "A-09")
    page.locator("#save-household").click()
    page.wait_for_selector("#hh-detail")
    assert "已登记 A-09 户" in page.inner_text("#hh-flashes")
    assert "1934-05-12" in page.inner_text("#hh-member-list")
    shoot_whole(page, "households-new-detail-whole")
    page.locator("#hh-add-member").click()
    shoot(page, "households-member-form")
    assert_fits(page)
    page.goto(url + "/households?q=stf")
    assert result_names(page) == ["单田芳"]  # 单 read as the surname shan
    assert page.js_errors == []
