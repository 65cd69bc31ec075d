"""The households pages' posts read through Flask-WTF forms (kiosk/web/forms.py). Hostile
input (numbers where text is expected, over-long text, control characters, non-ASCII digits,
fields left out) is refused with the Chinese reason on the page, never a 500, and changes
nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kiosk import cards
from kiosk.extensions import db
from kiosk.models import CARD_ACTIVE, Card, Household, Member
from tests import factories
from tests.conftest import sign_in

HUGE = str(2**63)


@pytest.fixture
def office(client, admin):
    return sign_in(client, "admin1")


@pytest.fixture
def home(supermarket):
    return factories.household(
        supermarket, number="A-01", head_name="张三", members=["张三", "王芳"], points=30
    )


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


GOOD = {"number": "B-02", "head_name": "李四", "village": "东村", "group_name": "一组"}


@pytest.mark.parametrize(
    "data,status,message",
    [
        ({}, 400, "户号不能为空"),
        ({"number": "B-02"}, 400, "户主姓名不能为空"),
        ({**GOOD, "number": "B" * 1000}, 400, "户号太长了，最多32个字"),
        ({**GOOD, "head_name": "李" * 51}, 400, "户主姓名太长了，最多50个字"),
        ({**GOOD, "village": "村" * 5000}, 400, "村太长了，最多50个字"),
        ({**GOOD, "birth_date": HUGE}, 400, "看不懂"),
        ({**GOOD, "birth_date": "-19500307"}, 400, "看不懂"),
        ({**GOOD, "birth_date": "١٩٥٠٠٣٠٧"}, 400, "看不懂"),
        ({**GOOD, "birth_date": "2999-01-01"}, 400, "还没到"),
        ({**GOOD, "relation": "关" * 500}, 400, "与户主关系太长了"),
        ({**GOOD, "head_name": "李\x00四"}, 400, "控制字符"),
        ({**GOOD, "number": "B\x1b02"}, 400, "控制字符"),
    ],
)
def test_hostile_new_households_are_refused_in_chinese(office, data, status, message):
    before = _count(Household)
    r = office.post("/households/new", data=data)
    assert r.status_code == status
    assert message in r.get_data(as_text=True)
    assert _count(Household) == before


def test_a_refused_household_shows_what_was_typed_again(office):
    r = office.post("/households/new", data={**GOOD, "birth_date": "1950-13-40"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "不存在" in page
    assert 'value="B-02"' in page and 'value="李四"' in page and 'value="1950-13-40"' in page


def test_a_household_is_registered_with_its_fields_stripped(office):
    r = office.post(
        "/households/new",
        data={**GOOD, "number": " B-02 ", "relation": "", "birth_date": "1950-03-07"},
    )
    assert r.status_code == 302
    home = db.session.scalar(sa.select(Household).where(Household.number == "B-02"))
    assert home.head_name == "李四"
    assert [(m.name, m.relation, str(m.birth_date)) for m in home.members] == [
        ("李四", "户主", "1950-03-07")
    ]


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, "户号不能为空"),
        ({**GOOD, "group_name": "组" * 51}, "组太长了，最多50个字"),
        ({**GOOD, "head_name": HUGE * 3}, "户主姓名太长了"),
    ],
)
def test_hostile_household_edits_are_refused(office, home, data, message):
    r = office.post(f"/households/{home.id}/edit", data=data)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Household, home.id).number == "A-01"


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, "成员姓名不能为空"),
        ({"name": "名" * 51}, "成员姓名太长了，最多50个字"),
        ({"name": "赵六", "relation": "关" * 21}, "与户主关系太长了，最多20个字"),
        ({"name": "赵六", "birth_date": HUGE}, "看不懂"),
        ({"name": "赵六", "birth_date": "¹⁹⁵⁰⁰³⁰⁷"}, "看不懂"),
        ({"name": "赵六", "birth_date": "1950-02-30"}, "不存在"),
        ({"name": "赵六", "birth_date": "1850-01-01"}, "太早了"),
    ],
)
def test_hostile_members_are_refused_in_chinese(office, home, data, message):
    before = _count(Member)
    for url in (
        f"/households/{home.id}/members/new",
        f"/households/members/{home.members[1].id}/edit",
    ):
        r = office.post(url, data=data)
        assert r.status_code == 400, url
        assert message in r.get_data(as_text=True), url
    assert _count(Member) == before
    db.session.expire_all()
    assert db.session.get(Member, home.members[1].id).name == "王芳"


@pytest.mark.parametrize(
    "url,data,message",
    [
        ("status", {"active": "0"}, "原因不能为空"),
        ("status", {"active": "0", "reason": "因" * 201}, "原因太长了，最多200个字"),
        ("status", {"active": HUGE, "reason": "迁出"}, "请在页面上选择停用或恢复在册"),
        ("status", {"reason": "迁出"}, "请在页面上选择停用或恢复在册"),
        ("member_status", {"active": "٠", "reason": "去世"}, "请在页面上选择停用或恢复在册"),
        ("member_status", {"active": "0"}, "原因不能为空"),
        ("member_status", {"active": "0", "reason": "因" * 5000}, "原因太长了，最多200个字"),
        ("cards", {"reason": "因" * 201}, "原因太长了，最多200个字"),
        ("revoke", {}, "原因"),
        ("revoke", {"reason": "因" * 201}, "原因太长了，最多200个字"),
    ],
)
def test_hostile_status_and_card_posts_are_refused(office, home, url, data, message):
    first = cards.issue_card(home.id, actor=None)
    paths = {
        "status": f"/households/{home.id}/status",
        "member_status": f"/households/members/{home.members[1].id}/status",
        "cards": f"/households/{home.id}/cards",
        "revoke": f"/households/cards/{first.id}/revoke",
    }
    r = office.post(paths[url], data=data, follow_redirects=True)
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Household, home.id).status == "active"
    assert db.session.get(Member, home.members[1].id).active
    active = db.session.scalars(sa.select(Card).where(Card.status == CARD_ACTIVE)).all()
    assert [c.id for c in active] == [first.id]


@pytest.mark.parametrize("village", ["", "村" * 5000, HUGE])
def test_a_village_sheet_for_no_village_is_refused(office, home, village):
    r = office.post("/households/cards.pdf", data={"village": village}, follow_redirects=True)
    assert r.status_code == 200
    assert "没有在册户" in r.get_data(as_text=True)
