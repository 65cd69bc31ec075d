"""The self-service screen's own report (群众自主申报) in a real browser: scan the card, report
a good deed with a photo, and it lands once as a pending self-reported proposal; the screen
clears itself and forgets the card."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kiosk import standards
from kiosk.extensions import db
from kiosk.models import PointProposal
from tests import factories
from tests.browser_support import (
    LiveServer,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    seeded,
    shoot,
    wedge_scan,
)
from tests.services.test_phone_evidence import gps_jpeg

pytestmark = pytest.mark.browser


@pytest.fixture
def village(tmp_path):
    app = browser_app(tmp_path, JIFEN_SELF_SERVICE_IDLE_SECONDS=60)
    app.instance_path = str(tmp_path / "instance")
    with seeded(app):
        sm = factories.supermarket()
        standards.seed_standard_items(sm.id, actor=None)
        home = factories.household(sm, points=30, head_name="王五")
        _card, payload = factories.card(home)
        home_id = home.id
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "card": payload, "home": home_id}


def test_report_a_good_deed_from_the_self_service_screen(browser, village):  # noqa: F811
    page = new_page(browser, (1280, 800))
    page.goto(village["url"] + "/self")
    wedge_scan(page, village["card"])
    page.wait_for_selector("#self-result:visible")
    page.locator("#btn-report").click()
    page.wait_for_selector("#self-report:visible")
    page.wait_for_function("() => document.querySelectorAll('#self-report-item option').length > 0")
    page.select_option("#self-report-item", index=1)
    page.fill("#self-report-reason", "帮邻居抢收小麦")
    page.set_input_files(
        "#self-report-photo",
        files=[{"name": "deed.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg()}],
    )
    page.locator("#self-report-send").click()
    page.wait_for_function(
        "() => document.getElementById('self-report-message').textContent.includes('审核')"
    )
    assert page.locator("#self-report-send").is_disabled()  # a second tap sends nothing
    shoot(page, "self-report")
    page.locator("#self-report-cancel").click()
    page.locator("#btn-done").click()
    page.wait_for_selector("#self-waiting:visible")
    assert page.locator("#self-report").is_hidden()
    with seeded(village["app"]):
        rows = db.session.scalars(sa.select(PointProposal)).all()
        assert len(rows) == 1
        assert rows[0].self_reported and rows[0].household_id == village["home"]
        assert rows[0].reason == "帮邻居抢收小麦" and len(rows[0].photos) == 1
    assert page.js_errors == []
