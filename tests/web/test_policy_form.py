"""The policy page's form (/admin/policy, issue 17): every field of a rule set in Chinese, the
labels and the validator's messages from one map (kiosk.policy_io.FIELD_LABELS).

In a real browser: each preset, saved through the form unchanged, comes back exactly (holder,
spend, cycle, period, conversion and restricted items included, which the form did not carry
before); a field changed in the form is saved; a bad value is named in Chinese, never as
``points_per_yuan``."""

from __future__ import annotations

import pytest

from kiosk.extensions import db
from kiosk.models import Supermarket
from kiosk.rules import policies, policy_io, presets
from tests import factories
from tests.browser_support import (
    LiveServer,
    assert_fits,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
    shoot,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    app = browser_app(tmp_path_factory.mktemp("policy"))
    with seeded(app):
        sm = factories.supermarket()
        factories.user("admin1", "admin", sm, display_name="李主任")
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url}


def set_policy(app, policy) -> None:
    with seeded(app):
        sm = db.session.query(Supermarket).one()
        policies.set_policy(sm.id, policy, actor=None)


def current(app):
    with seeded(app):
        return policies.policy_for(db.session.query(Supermarket).one())


def login(page, url: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", "admin1")
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + "/home")


def save_form(page) -> None:
    """Press 保存规则 and wait for the page to reload with the saved rules."""
    with page.expect_navigation():
        page.locator("#save-policy").click()
    page.wait_for_load_state()


def test_every_preset_round_trips_through_the_form(browser, office):  # noqa: F811
    url, app = office["url"], office["app"]
    page = new_page(browser, (1280, 800))
    login(page, url)
    for key, preset in presets.PRESETS.items():
        set_policy(app, preset)
        page.goto(url + "/admin/policy")
        assert page.locator("#f-holder").input_value() == preset.holder
        assert page.locator("#restriction-rows .restriction-card").count() == len(
            preset.restrictions
        )
        save_form(page)
        assert current(app) == preset, key
    assert page.js_errors == []
    page.context.close()


def test_fields_the_form_did_not_carry_are_edited_in_it(browser, office):  # noqa: F811
    url, app = office["url"], office["app"]
    set_policy(app, presets.ZHAILI)
    page = new_page(browser, (1024, 600))
    login(page, url)
    page.goto(url + "/admin/policy")
    page.select_option("#f-period", "month")
    page.check("#f-conversion-on")
    page.fill("#f-conversion-denominator", "10")
    page.fill("#f-conversion-numerator", "1")
    card = page.locator("#restriction-rows .restriction-card").first
    card.locator(".restriction-max_age").fill("75")
    card.locator(".restriction-per_period_limit").fill("3")
    save_form(page)
    saved = current(app)
    assert saved.period == "month"
    assert (saved.conversion.numerator, saved.conversion.denominator) == (1, 10)
    meal = saved.restrictions[0]
    assert (meal.key, meal.max_age, meal.per_period_limit, meal.free) == (
        "elder_canteen",
        75,
        3,
        True,
    )
    page.context.close()


@pytest.mark.parametrize("size", [(1280, 800), (1024, 600), (800, 480)], ids=lambda s: f"{s[0]}")
def test_a_bad_value_is_named_in_chinese(browser, office, size):  # noqa: F811
    url, app = office["url"], office["app"]
    set_policy(app, presets.ZHAILI)
    page = new_page(browser, size)
    login(page, url)
    page.goto(url + "/admin/policy")
    shoot(page, "policy-form")
    assert_fits(page)
    page.locator("#restriction-rows").scroll_into_view_if_needed()
    shoot(page, "policy-form-restrictions")
    # The labels come from the same map as the messages.
    assert policy_io.FIELD_LABELS["points_per_yuan"] in page.inner_text("#policy-form")
    page.fill("#f-points_per_yuan", "0")
    page.locator("#save-policy").click()
    error = page.locator("#policy-error")
    error.wait_for(state="visible")
    assert "“1元兑换需要的积分”不正确" in error.inner_text()
    assert "points_per_yuan" not in error.inner_text()

    page.fill("#f-points_per_yuan", "1")
    card = page.locator("#restriction-rows .restriction-card").first
    card.locator(".restriction-max_age").fill("50")
    page.locator("#save-policy").click()
    page.wait_for_function(
        "() => document.getElementById('policy-error').textContent.includes('最高年龄')"
    )
    text = error.inner_text()
    assert "第1个限定物品的最高年龄" in text and "max_age" not in text
    assert current(app) == presets.ZHAILI  # nothing saved
    assert page.js_errors == []
    page.context.close()
