"""The office home (首页, kiosk.home): each role lands on its own page with its to-do counts
and one tap to each job.

The counts are checked against seeded work on both databases; the pages through the test
client (who lands where, which tiles, where each leads); and in a real browser at 1280×800,
1024×600 and 800×480: each role lands on its home, reads its counts and reaches each job.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inventory import adjustments, stocktake
from kiosk import backup, clock, home, intake, notice, objections, printing, rules
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
from tests.hardware.test_printing import FakeNetworkPrinter

SIZES = [(1280, 800), (1024, 600), (800, 480)]


def seed_work(sm, admin, keeper) -> dict[str, int]:
    """Work waiting in every queue the home pages count: two proposals, one write-off, one
    objection, one submitted and one approved count, one receipt that did not print."""
    hh = factories.household(sm, number="H01", head_name="张三丰", points=10)
    for amount in (5, 7):
        intake.propose(
            sm.id,
            intake.ProposalInput(
                household_id=hh.id,
                occurred_on=clock.local_now().date(),
                amount=amount,
                reason="志愿服务",
            ),
            actor=admin,
        )
    rice = factories.product(sm, name="大米", stock_qty=10)
    oil = factories.product(sm, name="菜籽油", stock_qty=4)
    adjustments.request_adjustment(sm.id, rice.id, 1, "damage", note="包装破损", actor=keeper)
    quarter = rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)
    n = notice.publish_notice(notice.draft_notice(sm.id, quarter, actor=admin).id, actor=admin)
    objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=clock.local_now().date(),
        disputed="志愿服务未计入",
        actor=admin,
    )
    submitted = stocktake.start_count(sm.id, actor=keeper, product_ids=[rice.id])
    stocktake.record_count(
        submitted.id, actor=keeper, kind="set", quantity=10, barcode=rice.barcode
    )
    stocktake.submit(submitted.id, actor=keeper)
    approved = stocktake.start_count(sm.id, actor=keeper, product_ids=[oil.id])
    stocktake.record_count(approved.id, actor=keeper, kind="set", quantity=4, barcode=oil.barcode)
    stocktake.submit(approved.id, actor=keeper)
    stocktake.approve(approved.id, actor=admin)
    return {"household": hh.id}


def counts(tiles: list[home.Tile]) -> dict[str, int | None]:
    return {t.key: t.count for t in tiles}


@pytest.fixture
def dead_printer(app):
    fake = FakeNetworkPrinter()
    app.config["JIFEN_PRINTER"] = fake.config()
    yield fake
    fake.stop()


def test_each_roles_counts_follow_the_work_waiting(
    app, supermarket, admin, keeper, supervisor, dead_printer
):
    instance = app.instance_path
    assert counts(home.admin_tiles(supermarket.id, instance))["proposals"] == 0
    seed_work(supermarket, admin, keeper)
    printing.print_test_page(supermarket.id, actor=keeper)  # refused: stays unprinted

    admin_counts = counts(home.admin_tiles(supermarket.id, instance))
    assert admin_counts["proposals"] == 2
    assert admin_counts["adjustments"] == 1
    assert admin_counts["objections"] == 1
    assert admin_counts["stocktakes_to_approve"] == 1
    assert admin_counts["unprinted"] == 1
    sup = counts(home.supervisor_tiles(supermarket.id))
    assert sup["stocktakes_to_sign"] == 1
    assert sup["objections"] == 1
    assert "proposals" not in sup  # read-only: nothing of the admin's to approve
    assert counts(home.keeper_tiles(supermarket.id))["unprinted"] == 1

    # Approving a proposal takes it off the to-do (a second admin signs).
    second = factories.user("admin2", "admin", supermarket, display_name="周委员")
    intake.approve(intake.list_pending(supermarket.id)[0].id, actor=second)
    assert counts(home.admin_tiles(supermarket.id, instance))["proposals"] == 1


def test_backup_state_from_the_status_file(app, tmp_path):
    path = tmp_path / "inst"
    assert home.backup_state(str(path)).stale  # never backed up
    now = datetime.now(UTC)
    status_file = Path(backup.status_path(str(path)))
    status_file.parent.mkdir(parents=True, exist_ok=True)
    status_file.write_text(json.dumps({"last_good_at": (now - timedelta(hours=2)).isoformat()}))
    state = home.backup_state(str(path), now=now)
    assert not state.stale and state.last_good_at is not None
    status_file.write_text(
        json.dumps(
            {
                "last_good_at": (now - timedelta(hours=2)).isoformat(),
                "last_failed_at": (now - timedelta(hours=1)).isoformat(),
                "last_error": "U盘已满",
            }
        )
    )
    state = home.backup_state(str(path), now=now)
    assert state.stale and state.last_error == "U盘已满"


def login(client, username: str):
    return client.post("/login/password", data={"username": username, "password": "secret123"})


@pytest.mark.parametrize(
    ("username", "fixture", "lands", "tiles"),
    [
        (
            "admin1",
            "admin",
            "/home",
            {
                "proposals": "/intake",
                "adjustments": "/stock/adjustments",
                "objections": "/notice/objections",
                "stocktakes_to_approve": "/stocktake",
                "unprinted": "/admin/printer",
                "backup": "/device",
                "counter": "/counter",
                "rules": "/admin",
            },
        ),
        (
            "super1",
            "supervisor",
            "/home",
            {
                "stocktakes_to_sign": "/stocktake",
                "monthend": "/month-end",
                "audit": "/audit",
                "notices": "/notice",
                "ledgers": "/stock/ledgers",
            },
        ),
        ("keeper1", "keeper", "/counter", {"stock_in": "/stock/in", "stocktake": "/stocktake"}),
    ],
)
def test_each_role_lands_on_its_home_and_each_tile_opens(
    client, request, username, fixture, lands, tiles
):
    request.getfixturevalue(fixture)
    r = login(client, username)
    assert r.headers["Location"].endswith(lands)
    page = client.get("/home").get_data(as_text=True)
    assert "不能在柜台兑换" not in page
    for key, href in tiles.items():
        marker = f'id="tile-{key}"'
        assert marker in page, key
        tag = page[page.index(marker) :].split(">", 1)[0]
        assert f'href="{href}' in tag, (key, tag)
        assert client.get(href.rstrip("/") or "/").status_code in (200, 308), href


def browser_village(tmp_path):
    app = browser_app(tmp_path)
    with seeded(app):
        sm = factories.supermarket()
        admin = factories.user("admin1", "admin", sm, display_name="李主任")
        keeper = factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
        factories.user("super1", "supervisor", sm, display_name="赵监督")
        seed_work(sm, admin, keeper)
    return app


@pytest.fixture(scope="module")
def village(tmp_path_factory):
    app = browser_village(tmp_path_factory.mktemp("home"))
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url}


ROLE_VIEWS = {
    # username: (where it lands, {tile: expected count or None}, a tile to follow, its path)
    "admin1": (
        "/home",
        {"proposals": "2", "adjustments": "1", "objections": "1", "stocktakes_to_approve": "1"},
        "proposals",
        "/intake",
    ),
    "super1": ("/home", {"stocktakes_to_sign": "1", "objections": "1"}, "stocktakes_to_sign", ""),
    "keeper1": ("/counter", {}, "", ""),
}


@pytest.mark.browser
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("username", list(ROLE_VIEWS))
def test_a_role_lands_home_reads_its_counts_and_taps_through(browser, village, username, size):  # noqa: F811
    url = village["url"]
    lands, expected, follow, path = ROLE_VIEWS[username]
    page = new_page(browser, size)
    page.goto(url + "/login?mode=password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + lands)
    if username == "keeper1":
        # The keeper's home is the counter: stock-in and the count are one tap away.
        shoot(page, "home-keeper-counter")
        assert_fits(page)
        page.locator("#to-stock-in").click()
        page.wait_for_url(url + "/stock/in")
        page.go_back()
        page.locator("#to-stocktake").click()
        page.wait_for_url(url + "/stocktake")
        page.locator("#to-home").click()
        page.wait_for_url(url + "/home")
        assert page.locator("#tile-stock_in").is_visible()
    else:
        for key, n in expected.items():
            tile = page.locator(f"#tile-{key}")
            assert tile.is_visible()
            assert tile.locator(".home-count").inner_text() == n
        shoot(page, f"home-{username}")
        assert_fits(page)
        # Every tile is on screen without scrolling sideways, and the one followed opens.
        page.locator(f"#tile-{follow}").click()
        page.wait_for_load_state()
        assert page.url.startswith(url + (path or "/stocktake"))
        page.locator("#to-home").click()
        page.wait_for_url(url + "/home")
    assert page.js_errors == []
    page.context.close()
