"""The households and cards pages through Flask's test client: who may open them, the forms
(with their Chinese refusals that keep what was typed), deactivation with a reason, and card
issue, reissue, revoke, thermal printing and PDF sheets."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from kiosk import cards, households
from kiosk.extensions import db
from kiosk.models import (
    CARD_ACTIVE,
    CARD_REVOKED,
    INACTIVE,
    AuditEvent,
    Card,
    Household,
    Member,
    PrintJob,
)
from tests import factories


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


@pytest.fixture
def home(supermarket):
    return factories.household(
        supermarket, number="A-01", head_name="张三", members=["张三", "王芳"], points=30
    )


def page_urls(home) -> list[str]:
    member = home.members[0]
    return [
        "/households",
        "/households?q=zs",
        "/households/results?q=zs",
        f"/households/{home.id}",
        "/households/new",
        f"/households/{home.id}/edit",
        f"/households/{home.id}/members/new",
        f"/households/members/{member.id}/edit",
    ]


def post_urls(home) -> list[str]:
    member = home.members[0]
    return [
        "/households/new",
        f"/households/{home.id}/edit",
        f"/households/{home.id}/status",
        f"/households/{home.id}/members/new",
        f"/households/members/{member.id}/edit",
        f"/households/members/{member.id}/status",
        f"/households/{home.id}/cards",
        f"/households/{home.id}/print",
        f"/households/{home.id}/card.pdf",
        "/households/cards.pdf",
    ]


def test_visitors_are_sent_to_login(client, home):
    for url in page_urls(home):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url


def test_keepers_may_open_none_of_the_pages(client, keeper, home):
    login(client, "keeper1")
    for url in page_urls(home):
        assert client.get(url).status_code == 403, url
    for url in post_urls(home):
        assert client.post(url, data={"reason": "x"}).status_code == 403, url


def test_supervisors_read_but_may_not_write(client, supervisor, home):
    login(client, "super1")
    for url in ["/households", "/households/results?q=zs", f"/households/{home.id}"]:
        assert client.get(url).status_code == 200, url
    page = client.get(f"/households/{home.id}").get_data(as_text=True)
    assert "王芳" in page and "只读" in page
    assert (
        "hh-edit" not in page
        and "hh-issue" not in page
        and "csrf_token" not in page.split('id="hh-detail"')[1]
    )
    for url in page_urls(home)[4:]:
        assert client.get(url).status_code == 403, url
    for url in post_urls(home):
        assert client.post(url, data={"reason": "x", "active": "0"}).status_code == 403, url
    assert db.session.get(Household, home.id).status == "active"
    assert db.session.scalar(sa.select(sa.func.count(Card.id))) == 0


def test_the_search_page_shows_full_names_and_the_keypad(client, admin, home):
    factories.household(admin.supermarket, number="B-02", head_name="李四", members=["李四"])
    login(client, "admin1")
    page = client.get("/households?q=zs").get_data(as_text=True)
    assert 'data-key="Z"' in page and 'data-key="back"' in page and 'data-key="clear"' in page
    assert "张三" in page and "王芳" in page  # full names in the office
    assert "李四" not in page
    fragment = client.get("/households/results?q=ls").get_data(as_text=True)
    assert "李四" in fragment and "张三" not in fragment and "<html" not in fragment
    assert "没有找到" in client.get("/households/results?q=qqq").get_data(as_text=True)


def test_a_scanned_card_finds_its_household(client, admin, home):
    _, payload = factories.card(home)
    login(client, "admin1")
    fragment = client.get("/households/results", query_string={"q": payload}).get_data(as_text=True)
    assert f"/households/{home.id}" in fragment


def test_the_household_page_shows_members_ages_points_and_cards(client, admin, supermarket):
    home = factories.family(supermarket, [("张三", date(1950, 1, 1)), ("王芳", None)], points=40)
    factories.card(home)
    login(client, "admin1")
    page = client.get(f"/households/{home.id}").get_data(as_text=True)
    assert "1950-01-01" in page and "岁" in page
    assert 'id="hh-balance">40<' in page
    assert "志愿服务" in page  # the recent entry's reason
    assert "hh-card-active" in page and "hh-revoke" in page and "hh-reissue" in page


def test_another_supermarkets_household_is_not_found(client, admin):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    foreign = factories.household(other, number="G-1")
    login(client, "admin1")
    assert client.get(f"/households/{foreign.id}").status_code == 404
    assert client.post(f"/households/{foreign.id}/cards").status_code == 404


# Household and member forms --------------------------------------------------------------------


def test_register_a_household_with_the_heads_birth_date(client, admin, supermarket):
    login(client, "admin1")
    r = client.post(
        "/households/new",
        data={
            "number": "C-03",
            "head_name": "曾小明",
            "village": "东村",
            "group_name": "一组",
            "birth_date": "19560307",
            "relation": "户主",
        },
    )
    assert r.status_code == 302
    home = db.session.scalar(sa.select(Household).where(Household.number == "C-03"))
    assert r.headers["Location"].endswith(f"/households/{home.id}")
    assert home.members[0].birth_date == date(1956, 3, 7)
    assert home.members[0].relation == "户主"
    assert households.search_households(supermarket.id, "zxm")[0].id == home.id
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已登记 C-03 户" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"number": "A-01", "head_name": "李四"}, "户号 A-01 已存在"),
        ({"number": "", "head_name": "李四"}, "户号不能为空"),
        ({"number": "C-09", "head_name": "李四", "birth_date": "1956-13-01"}, "不存在"),
    ],
)
def test_a_refused_registration_keeps_what_was_typed(client, admin, home, data, message):
    login(client, "admin1")
    r = client.post("/households/new", data={"village": "西村", **data})
    assert r.status_code in (400, 409)
    page = r.get_data(as_text=True)
    assert message in page
    assert 'value="李四"' in page and 'value="西村"' in page
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 1


def test_edit_a_household(client, admin, home):
    login(client, "admin1")
    r = client.post(
        f"/households/{home.id}/edit",
        data={"number": "A-01", "head_name": "张三", "village": "南村", "group_name": "三组"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, home.id).village == "南村"


def test_add_and_edit_a_member_with_typed_birth_dates(client, admin, home):
    login(client, "admin1")
    r = client.post(
        f"/households/{home.id}/members/new",
        data={"name": "单小丽", "relation": "女", "birth_date": "2001/2/3"},
    )
    assert r.status_code == 302
    member = db.session.scalar(sa.select(Member).where(Member.name == "单小丽"))
    assert member.birth_date == date(2001, 2, 3)
    assert households.search_households(home.supermarket_id, "sxl")[0].id == home.id
    bad = client.post(
        f"/households/members/{member.id}/edit",
        data={"name": "单小丽", "relation": "女", "birth_date": "2001-2"},
    )
    assert bad.status_code == 400
    assert "看不懂" in bad.get_data(as_text=True) and 'value="2001-2"' in bad.get_data(as_text=True)
    ok = client.post(
        f"/households/members/{member.id}/edit",
        data={"name": "单小丽", "relation": "女儿", "birth_date": "20010203"},
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, member.id).relation == "女儿"


def test_deactivate_needs_a_reason_and_is_audited(client, admin, home):
    login(client, "admin1")
    r = client.post(f"/households/{home.id}/status", data={"active": "0", "reason": ""})
    assert r.status_code == 302
    assert "原因不能为空" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Household, home.id).status == "active"
    client.post(f"/households/{home.id}/status", data={"active": "0", "reason": "迁出"})
    db.session.expire_all()
    assert db.session.get(Household, home.id).status == INACTIVE
    page = client.get(f"/households/{home.id}").get_data(as_text=True)
    assert "已停用" in page and "迁出" in page and "hh-reactivate" in page
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "household.status")
    ).one()
    assert event.actor_id == admin.id and event.data["reason"] == "迁出"
    # An inactive household is flagged in the results.
    fragment = client.get("/households/results?q=zs").get_data(as_text=True)
    assert "is-inactive" in fragment and "已停用" in fragment
    client.post(f"/households/{home.id}/status", data={"active": "1"})
    db.session.expire_all()
    assert db.session.get(Household, home.id).status == "active"


def test_deactivate_and_restore_a_member(client, admin, home):
    member = home.members[1]
    login(client, "admin1")
    client.post(f"/households/members/{member.id}/status", data={"active": "0", "reason": "去世"})
    db.session.expire_all()
    assert db.session.get(Member, member.id).active is False
    assert db.session.get(Member, member.id).inactive_reason == "去世"
    client.post(f"/households/members/{member.id}/status", data={"active": "1"})
    db.session.expire_all()
    assert db.session.get(Member, member.id).active is True


# Cards -----------------------------------------------------------------------------------------


def card_rows(home) -> list[tuple[int, str, str | None]]:
    db.session.expire_all()
    return [
        (c.issue_no, c.status, c.revoke_reason)
        for c in db.session.scalars(
            sa.select(Card).where(Card.household_id == home.id).order_by(Card.issue_no)
        )
    ]


def test_issue_reissue_and_revoke_through_the_page(client, admin, home):
    login(client, "admin1")
    r = client.post(f"/households/{home.id}/cards")
    assert r.status_code == 302
    assert card_rows(home) == [(1, CARD_ACTIVE, None)]
    # A reissue needs a reason, and revokes the card it replaces.
    r = client.post(f"/households/{home.id}/cards", data={"reason": ""})
    assert "补办新卡需要填写原因" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert card_rows(home) == [(1, CARD_ACTIVE, None)]
    client.post(f"/households/{home.id}/cards", data={"reason": "遗失"})
    assert card_rows(home) == [(1, CARD_REVOKED, "遗失"), (2, CARD_ACTIVE, None)]
    second = db.session.scalar(sa.select(Card).where(Card.issue_no == 2))
    # Revoke needs a reason too.
    r = client.post(f"/households/cards/{second.id}/revoke", data={"reason": " "})
    assert "作废卡片需要填写原因" in client.get(r.headers["Location"]).get_data(as_text=True)
    client.post(f"/households/cards/{second.id}/revoke", data={"reason": "损坏"})
    assert card_rows(home) == [(1, CARD_REVOKED, "遗失"), (2, CARD_REVOKED, "损坏")]
    page = client.get(f"/households/{home.id}").get_data(as_text=True)
    assert "hh-card-none" in page and "hh-issue" in page
    with pytest.raises(Exception, match="卡片已作废|已经作废|作废"):
        cards.resolve_card(cards.payload_for(second))
    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("card.%"))
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["card.issue", "card.revoke", "card.issue", "card.revoke"]


def test_an_inactive_household_gets_no_card(client, admin, home):
    households.set_household_status(home.id, False, actor=admin, reason="迁出")
    login(client, "admin1")
    r = client.post(f"/households/{home.id}/cards")
    assert "该户已停用，不能发卡" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert card_rows(home) == []


def test_print_the_card_on_the_thermal_printer(client, admin, home):
    login(client, "admin1")
    r = client.post(f"/households/{home.id}/print")
    assert "请先发卡" in client.get(r.headers["Location"]).get_data(as_text=True)
    factories.card(home)
    r = client.post(f"/households/{home.id}/print")
    assert "积分卡已发送到打印机" in client.get(r.headers["Location"]).get_data(as_text=True)
    job = db.session.scalars(sa.select(PrintJob).where(PrintJob.kind == "card")).one()
    assert "张*" in job.text and "张三" not in job.text


def test_download_one_card_and_a_whole_village_as_pdf(client, admin, home, supermarket):
    second = factories.household(supermarket, number="A-02", head_name="李四", members=["李四"])
    factories.household(supermarket, number="A-03", head_name="钱七", members=["钱七"])
    factories.card(home)
    factories.card(second)
    login(client, "admin1")
    one = client.post(f"/households/{home.id}/card.pdf")
    assert one.status_code == 200
    assert one.mimetype == "application/pdf" and one.data.startswith(b"%PDF")
    assert "card-A-01.pdf" in one.headers["Content-Disposition"]
    village = client.post("/households/cards.pdf", data={"village": "东村"})
    assert village.status_code == 200 and village.data.startswith(b"%PDF")
    # A-03 has no card: told on the next page.
    assert "A-03" in client.get("/households").get_data(as_text=True)
    events = list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "card.print_pdf"))
    )
    assert [e.data["scope"] for e in events] == ["household", "village"]
    assert len(events[1].data["card_ids"]) == 2
    nothing = client.post("/households/cards.pdf", data={"village": "没有这个村"})
    assert nothing.status_code == 302
    assert "没有在册户" in client.get("/households").get_data(as_text=True)
