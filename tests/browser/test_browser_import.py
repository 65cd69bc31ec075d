"""The import preview in a real browser: an admin uploads a workbook with a bad row, sees every
row with its Chinese error and no commit button; uploads a clean one and commits it. Also the
intake page with a pending entry to sign off. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from kiosk import intake, standards
from kiosk.extensions import db
from kiosk.models import Household
from tests import factories
from tests.browser_support import (
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

HEADERS = ["户号", "户主", "村", "组", "成员", "关系", "出生日期"]


def workbook(tmp_path, name: str, rows: list[list]) -> str:
    wb = Workbook()
    for row in [HEADERS, *rows]:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return str(path)


@pytest.fixture
def office(tmp_path):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket(code="ZL01", name="寨里镇积分超市")
        first = factories.user("admin1", "admin", sm, display_name="李主任")
        factories.user("admin2", "admin", sm, display_name="周委员")
        standards.seed_standard_items(sm.id, actor=None)
        home = factories.household(sm, number="A-07", head_name="赵六", members=["赵六"])
        item = standards.items_by_code(sm.id)["22"]
        intake.propose(
            sm.id,
            intake.ProposalInput(
                home.id, date.today(), standard_item_id=item.id, evidence="抢险照片两张"
            ),
            actor=first,
        )
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url}


def login(page, url: str, username: str) -> None:
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + ("/counter" if username.startswith("keeper") else "/home"))


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_import_preview_shows_every_bad_row(browser, office, size, tmp_path):  # noqa: F811
    page = new_page(browser, size)
    page.on("dialog", lambda dialog: dialog.accept())
    url = office["url"]
    login(page, url, "admin1")
    page.goto(url + "/intake/import")
    assert page.locator(".office-nav [aria-current=page]").inner_text() == "导入"
    page.evaluate("document.getElementById('import-form').scrollIntoView()")
    shoot(page, "intake-import")
    mixed = workbook(
        tmp_path,
        "名单.xlsx",
        [
            ["B-01", "王五", "东村", "一组", "王五", "户主", "1960-01-02"],
            ["A-07", "赵六", "东村", "一组", "赵六", "户主", ""],
            ["B-02", "", "东村", "", "刘一", "", "1958-02-30"],
        ],
    )
    page.locator("#in-file").set_input_files(mixed)
    assert page.locator("#in-file-name").inner_text() == "名单.xlsx"
    page.locator("#check-file").click()
    page.wait_for_selector("#preview-table")
    assert page.locator("#error-total").inner_text() == "有错 2 行"
    errors = page.locator("#preview-table .row-error")
    assert errors.count() == 2
    assert "第3行：户号 A-07 已存在（导入只能新增户）" in errors.nth(0).inner_text()
    second = errors.nth(1).inner_text()
    assert "第4行：户号 B-02 的第一行必须填写户主" in second
    assert "第4行：出生日期“1958-02-30”无法识别" in second
    assert page.locator("#preview-table .in-row-ok").count() == 1
    assert page.locator("#commit").count() == 0
    assert page.locator("#not-committable").is_visible()
    assert_fits(page)
    page.evaluate("document.getElementById('batch-summary').scrollIntoView()")
    shoot(page, "intake-preview-errors")
    page.locator("#only-errors").click()
    page.wait_for_url("**errors=1")
    assert page.locator("#preview-table tbody tr").count() == 2

    page.goto(url + "/intake/import")
    good = workbook(
        tmp_path,
        "好.xlsx",
        [
            ["B-01", "王五", "东村", "一组", "王五", "户主", "1960-01-02"],
            ["B-01", "", "", "", "钱芳", "配偶", "1962/3/4"],
        ],
    )
    page.locator("#in-file").set_input_files(good)
    page.locator("#check-file").click()
    page.wait_for_selector("#commit")
    assert page.locator("#commit").inner_text() == "全部无误，导入 2 行"
    page.evaluate("document.getElementById('batch-summary').scrollIntoView()")
    shoot(page, "intake-preview-ok")
    page.locator("#commit").click()
    page.wait_for_selector("#committed")
    assert "已导入：1 户，2 位成员" in page.locator("#in-flashes").inner_text()
    assert page.locator("#commit").count() == 0
    with seeded(office["app"]):
        assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 2
    assert page.js_errors == []


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_second_admin_signs_off_on_the_intake_page(browser, office, size):  # noqa: F811
    page = new_page(browser, size)
    url = office["url"]
    login(page, url, "admin1")
    page.goto(url + "/intake")
    item = page.locator("#pending-list .in-item").first
    assert "您录入的，须由他人确认" in item.inner_text()
    assert item.locator(".in-approve").count() == 0
    # Choosing an item fills in its points.
    page.select_option("#in-item", label=page.locator("#in-item option").nth(3).inner_text())
    assert page.locator("#in-amount").input_value() == "+4"
    assert_fits(page)
    page.evaluate("document.getElementById('enter').scrollIntoView()")
    shoot(page, "intake-index-own")
    page.goto(url + "/intake/standards")
    assert page.locator("#standards-table tbody tr").count() == 25
    page.evaluate("document.getElementById('standards-table').scrollIntoView()")
    shoot(page, "intake-standards")

    other = new_page(browser, size)
    login(other, url, "admin2")
    other.goto(url + "/intake")
    assert "+5" in other.locator("#pending-list .in-amount").first.inner_text()
    other.evaluate("document.getElementById('pending').scrollIntoView()")
    shoot(other, "intake-index-other")
    other.locator("#pending-list .in-approve").first.click()
    other.wait_for_selector("#in-flashes")
    assert "已确认：A-07 +5分，已计入积分" in other.locator("#in-flashes").inner_text()
    assert other.locator("#pending-count").inner_text() == "0"
    assert "已确认" in other.locator("#history-table tbody tr").first.inner_text()
    assert_fits(other)
    assert page.js_errors == [] and other.js_errors == []
