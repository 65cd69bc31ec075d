"""The notice pages' posts read through Flask-WTF forms (kiosk/web/forms.py): the period to
draft, a publication's note, an objection recorded and resolved. Hostile input is refused with
the Chinese reason (a household not on the notice is not found), never a 500, and changes
nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kiosk import clock, notice, objections, rules
from kiosk.extensions import db
from kiosk.models import Member, Notice, Objection
from tests import factories
from tests.conftest import sign_in

HUGE = str(2**63)


def _this_quarter() -> str:
    return rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)


@pytest.fixture
def office(client, admin):
    return sign_in(client, "admin1")


@pytest.fixture
def board(supermarket, admin):
    home = factories.household(
        supermarket, number="Q01", head_name="张三丰", points=10, members=["张三丰", "李梅"]
    )
    draft = notice.draft_notice(supermarket.id, _this_quarter(), actor=admin)
    published = notice.publish_notice(draft.id, actor=admin)
    member = db.session.scalar(sa.select(Member).where(Member.name == "李梅"))
    return {"home": home, "notice": published, "member": member}


def _notices() -> int:
    return db.session.scalar(sa.select(sa.func.count(Notice.id)))


@pytest.mark.parametrize("period", ["", HUGE, "２０２４Q1", "2024Q٣", "2024Q1\x00", "Q" * 5000])
def test_a_draft_of_no_period_is_refused(office, board, period):
    before = _notices()
    r = office.post("/notice/draft", data={"period": period}, follow_redirects=True)
    assert r.status_code in (200, 400)
    page = r.get_data(as_text=True)
    assert "公示期间格式不正确" in page or "控制字符" in page
    assert _notices() == before


def test_a_publication_note_too_long_is_refused(office, board, supermarket, admin):
    draft = notice.draft_notice(supermarket.id, _this_quarter(), actor=admin)
    r = office.post(f"/notice/{draft.id}/publish", data={"note": "注" * 201}, follow_redirects=True)
    assert r.status_code == 200
    assert "说明不能超过200个字" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Notice, draft.id).status == "draft"


def _objection(board, **changes):
    data = {
        "household_id": str(board["home"].id),
        "member_id": str(board["member"].id),
        "raised_on": clock.local_now().date().isoformat(),
        "disputed": "三月志愿8分未计",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    "changes,status,message",
    [
        ({"household_id": HUGE}, 404, ""),
        ({"household_id": "٣"}, 404, ""),
        ({"household_id": None}, 404, ""),
        ({"household_id": "-1"}, 404, ""),
        ({"member_id": None}, 400, "请选择提出异议的家庭成员"),
        ({"member_id": HUGE}, 400, "请选择提出异议的家庭成员"),
        ({"member_id": "¹"}, 400, "请选择提出异议的家庭成员"),
        ({"member_id": "abc", "raised_on": "x"}, 400, "请选择提出异议的家庭成员"),
        ({"raised_on": None}, 400, "日期格式不正确"),
        ({"raised_on": HUGE}, 400, "日期格式不正确"),
        ({"disputed": None}, 400, "请填写异议内容"),
        ({"disputed": "异" * 501}, 400, "不能超过500个字"),
        ({"disputed": "少\x07记"}, 400, "控制字符"),
    ],
)
def test_hostile_objections_are_refused(office, board, changes, status, message):
    r = office.post(f"/notice/{board['notice'].id}/objections", data=_objection(board, **changes))
    assert r.status_code == status
    assert message in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0


def test_a_refused_objection_keeps_what_was_typed(office, board):
    r = office.post(
        f"/notice/{board['notice'].id}/objections", data=_objection(board, raised_on="昨天")
    )
    assert r.status_code == 400
    assert "三月志愿8分未计" in r.get_data(as_text=True)


@pytest.fixture
def open_objection(board, admin):
    return objections.record_objection(
        board["notice"].id,
        board["home"].id,
        raised_by="李梅",
        raised_on=clock.local_now().date(),
        disputed="少记",
        actor=admin,
    )


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, "请选择“属实，予以更正”或“不属实，驳回”"),
        ({"outcome": HUGE, "resolution": "属实"}, "请选择“属实，予以更正”或“不属实，驳回”"),
        ({"outcome": "upheld", "resolution": "属实", "correction": HUGE}, "更正积分必须是整数"),
        ({"outcome": "upheld", "resolution": "属实", "correction": "８"}, "更正积分必须是整数"),
        ({"outcome": "upheld", "resolution": "属实", "correction": "٨"}, "更正积分必须是整数"),
        ({"outcome": "upheld", "resolution": "属实", "correction": "8.5"}, "更正积分必须是整数"),
        ({"outcome": "upheld", "resolution": "结" * 501}, "不能超过500个字"),
        ({"outcome": "upheld", "resolution": "属实", "correction": "2147483647"}, "积分"),
    ],
)
def test_hostile_resolutions_are_refused(office, open_objection, data, message):
    r = office.post(f"/notice/objections/{open_objection.id}/resolve", data=data)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Objection, open_objection.id).status == "open"


def test_an_objection_is_resolved_with_a_signed_correction(office, open_objection):
    r = office.post(
        f"/notice/objections/{open_objection.id}/resolve",
        data={"outcome": "upheld", "resolution": " 属实 ", "correction": " -5 "},
    )
    assert r.status_code == 302
    db.session.expire_all()
    o = db.session.get(Objection, open_objection.id)
    assert (o.status, o.resolution) == ("upheld", "属实")
    assert objections.correction_proposal(o).amount == -5
