"""The quarterly ranking and notice over the API (read only): a published notice reads back as
published and as its page shows it, names masked; drafts and another supermarket's notices are
not there; the ranking of a period is computed without storing anything."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from kiosk import clock, notice, rules
from kiosk.extensions import db
from kiosk.models import Notice
from tests import factories
from tests.api.test_api_helpers import api_for, error_code


def this_quarter() -> str:
    return rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)


@pytest.fixture
def village(supermarket, admin):
    """Three households with points and this quarter's notice published."""
    for number, name, points in (
        ("A01", "张三丰", 30),
        ("A02", "李秀英", 50),
        ("A03", "王大明", 0),
    ):
        factories.household(supermarket, number=number, head_name=name, points=points)
    draft = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    return notice.publish_notice(draft.id, actor=admin)


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def test_a_published_notice_reads_back_as_published_and_as_its_page_shows_it(
    client, village, supervisor
):
    api = api_for(client, supervisor)
    listed = api.get("/api/v1/notices")
    assert listed.status_code == 200
    assert [n["id"] for n in listed.get_json()["notices"]] == [village.id]
    assert listed.get_json()["notices"][0]["status"] == "published"
    assert listed.get_json()["notices"][0]["period"] == this_quarter()

    r = api.get(f"/api/v1/notices/{village.id}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["content_hash"] == village.content_hash
    assert body["revision"] == 1
    ranking = body["ranking"]
    frozen = village.content["rows"]
    assert [(x["rank"], x["number"], x["name"], x["total_points"]) for x in ranking["rows"]] == [
        (x["rank"], x["number"], x["name"], x["total_points"]) for x in frozen
    ]
    assert [x["total_points"] for x in ranking["rows"]] == [50, 30, 0]
    assert [x["red"] for x in ranking["red_list"]] == [True, True]
    assert ranking["chart"]["kind"] == village.content["distribution"]["kind"]
    assert sum(b["count"] for b in ranking["chart"]["bars"]) == 3

    # The office page shows the same rows: every masked name and number is on it.
    login(client, supervisor.username)
    page = html.unescape(client.get(f"/notice/{village.id}").get_data(as_text=True))
    for row in ranking["rows"]:
        assert row["name"] in page and row["number"] in page


def test_names_are_masked_as_on_the_notice(client, village, admin):
    # Admins see full names elsewhere in the API; the notice's names stay masked here too.
    text = api_for(client, admin).get(f"/api/v1/notices/{village.id}").get_data(as_text=True)
    for full in ("张三丰", "李秀英", "王大明"):
        assert full not in text
    names = {
        r["name"]
        for r in api_for(client, admin)
        .get(f"/api/v1/notices/{village.id}")
        .get_json()["ranking"]["rows"]
    }
    assert names == {notice.public_name(n) for n in ("张三丰", "李秀英", "王大明")}
    assert all("*" in n for n in names)


def test_a_draft_is_neither_listed_nor_shown(client, supermarket, admin, keeper):
    factories.household(supermarket, number="B01", head_name="赵六", points=5)
    draft = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    api = api_for(client, keeper)
    assert api.get("/api/v1/notices").get_json() == {"notices": []}
    r = api.get(f"/api/v1/notices/{draft.id}")
    assert r.status_code == 404 and error_code(r) == "not_found"
    published = notice.publish_notice(draft.id, actor=admin)
    assert [n["id"] for n in api.get("/api/v1/notices").get_json()["notices"]] == [published.id]


def test_another_supermarkets_notice_is_not_found(client, village, admin):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    other_admin = factories.user("gy-admin", "admin", other)
    factories.household(other, number="G01", head_name="钱七", points=8)
    theirs = notice.publish_notice(
        notice.draft_notice(other.id, this_quarter(), actor=other_admin).id, actor=other_admin
    )
    api = api_for(client, admin)
    r = api.get(f"/api/v1/notices/{theirs.id}")
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert [n["id"] for n in api.get("/api/v1/notices").get_json()["notices"]] == [village.id]
    assert api.get("/api/v1/notices/999999").status_code == 404


def test_the_ranking_is_computed_now_and_stores_nothing(client, village, supermarket, keeper):
    factories.household(supermarket, number="A04", head_name="孙八", points=70)
    before = db.session.scalar(sa.select(sa.func.count(Notice.id)))
    r = api_for(client, keeper).get(f"/api/v1/ranking?period={this_quarter()}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["published_notice_id"] == village.id
    rows = body["ranking"]["rows"]
    assert [x["total_points"] for x in rows] == [70, 50, 30, 0]
    assert rows[0]["name"] == notice.public_name("孙八")
    assert db.session.scalar(sa.select(sa.func.count(Notice.id))) == before


@pytest.mark.parametrize("period", ["", "2026Q9", "abc", "2999Q1"])
def test_a_bad_period_is_a_clear_400(client, supermarket, keeper, period):
    r = api_for(client, keeper).get(f"/api/v1/ranking?period={period}")
    assert r.status_code == 400 and error_code(r) == "invalid_request"
