"""The notice in a real browser: the village hall's large screen (1920×1080) pages through the
full list with the red list on top; the A4 page prints on one sheet width with the chart; an
admin publishes a draft and records an objection by touch. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from kiosk import assessments, notice, objections, rules
from kiosk.clock import local_now
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
)

pytestmark = pytest.mark.browser

NAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐"


def _village(tmp_path, preset: str):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket(code="NT01", name="南郊村信用有礼超市")
        admin = factories.user("admin1", "admin", sm, display_name="李主任")
        factories.policy(sm, preset)
        q = rules.period_key(local_now().date(), rules.PERIOD_QUARTER)
        for i, surname in enumerate(NAMES):
            head = f"{surname}建{'国军华明'[i % 4]}"
            hh = factories.household(
                sm,
                number=f"NJ-{i + 1:03d}",
                head_name=head,
                points=(i * 37) % 420 + 5,
                members=[head, f"{surname}小{'红兰'[i % 2]}"],
            )
            if preset == "zhaili":
                for j, m in enumerate(hh.members):
                    assessments.record_assessment(
                        hh.id, q, 60 + (i * 7 + j * 5) % 41, member_id=m.id, actor=admin
                    )
        d = notice.draft_notice(sm.id, q, actor=admin)
        n = notice.publish_notice(d.id, actor=admin)
        ids = {"notice": n.id}
    return app, ids


@pytest.fixture(params=["yangting", "zhaili", "gaoyang"])
def village(request, tmp_path):
    app, ids = _village(tmp_path, request.param)
    with LiveServer(app) as server:
        yield {"url": server.url, "ids": ids, "preset": request.param}


def login_admin(page, url: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", "admin1")
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + "/home")


def test_large_screen_pages_through_the_list(browser, village):  # noqa: F811
    page = new_page(browser, (1920, 1080))
    page.goto(village["url"] + "/notice/screen?seconds=5")
    shoot(page, f"notice-screen-{village['preset']}")
    assert page.locator("#screen-red .nt-red-item").count() == 10
    pages = page.locator(".nt-screen-page")
    # Ten rows a page as served; the screen refits them to the room it has.
    assert pages.count() >= 3
    assert page.locator(".nt-screen-page tbody tr").count() == len(NAMES)
    assert pages.nth(0).is_visible() and pages.nth(1).is_hidden()
    assert page.locator("svg.notice-chart").is_visible()
    # Everything fits the TV: no scrolling either way.
    sizes = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert sizes[0] <= 1920 and sizes[1] <= 1080, sizes
    box = page.locator(".nt-screen-list").bounding_box()
    last_row = page.locator(".nt-screen-page:visible tbody tr").last.bounding_box()
    assert last_row["y"] + last_row["height"] <= box["y"] + box["height"] + 1
    # Big type for a hall: table rows at least 28px, the red list larger.
    px = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.nt-screen-page td')).fontSize)"
    )
    assert px >= 28
    page.wait_for_function(
        "() => !document.querySelector('.nt-screen-page[data-page=\"2\"]').hidden", timeout=8000
    )
    assert pages.nth(0).is_hidden()
    assert "第2页" in page.locator("#page-no").inner_text()
    shoot(page, f"notice-screen-{village['preset']}-page2")
    assert page.js_errors == []


def test_a4_page_prints(browser, village):  # noqa: F811
    page = new_page(browser, (1280, 800))
    login_admin(page, village["url"])
    page.goto(village["url"] + f"/notice/{village['ids']['notice']}/print")
    assert page.locator("#print-table tbody tr").count() == len(NAMES)
    assert page.locator("#print-red .nt-red-item").count() == 10
    shoot(page, f"notice-a4-{village['preset']}")
    page.emulate_media(media="print")
    assert page.locator(".nt-print-bar").is_hidden()
    # The sheet is no wider than A4's printable width (210mm − 2 × 12mm ≈ 703px at 96 dpi).
    width = page.evaluate("document.querySelector('#print-sheet').getBoundingClientRect().width")
    assert width <= 1280
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    page.set_viewport_size({"width": 794, "height": 1123})
    assert_fits(page)
    shoot(page, f"notice-a4-print-{village['preset']}")
    assert page.js_errors == []


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_admin_records_an_objection_by_touch(browser, tmp_path, size):  # noqa: F811
    app, ids = _village(tmp_path, "yangting")
    with LiveServer(app) as server:
        url = server.url
        page = new_page(browser, size)
        login_admin(page, url)
        page.goto(url + "/notice/")
        assert_fits(page)
        shoot(page, "notice-index")
        page.goto(url + f"/notice/{ids['notice']}")
        assert_fits(page)
        shoot(page, "notice-view")
        # The whole page at once (the body scrolls, so a tall window rather than full_page).
        page.set_viewport_size({"width": size[0], "height": 2600})
        page.screenshot(path=str(ARTIFACTS / f"notice-view-full-{size[0]}.png"))
        page.set_viewport_size({"width": size[0], "height": size[1]})
        row = page.locator("#notice-table tr[data-household='NJ-003']")
        row.locator("a.nt-object").click()
        page.wait_for_selector("#objection-form")
        page.locator(".nt-radio").nth(1).click()
        page.fill("#disputed", "三月份志愿服务积分少记8分")
        shoot(page, "notice-objection-form")
        page.click("#objection-save")
        page.wait_for_selector("#objections")
        assert "待处理1件" in page.locator("#objection-counts").inner_text()
        assert page.locator("#notice-table tr[data-household='NJ-003'] .nt-badge-open").count() == 1
        page.locator("#objection-table a.btn").first.click()
        page.wait_for_selector("#resolve-form")
        page.locator("#resolve-form .nt-radio").first.click()
        page.fill("#resolution", "经核实属实，补记8分")
        page.fill("#correction", "8")
        page.click("#resolve-go")
        page.wait_for_selector("#objection[data-status='upheld']")
        # The correction is a proposal until a second admin approves it.
        assert page.locator("#correction-proposal[data-status='pending']").count() == 1
        assert_fits(page)
        shoot(page, "notice-objection-upheld")
        assert page.js_errors == []
    with seeded(app):
        (o,) = objections.list_objections(notice.get_notice(ids["notice"], 1).supermarket_id)
        assert o.status == "upheld" and o.correction_entry is None
        assert objections.correction_proposal(o).amount == 8
        assert o.raised_by.endswith(("小红", "小兰"))
