"""The intake page's posts read through Flask-WTF forms (kiosk/web/forms.py): an entry, a
decision's note, the ticked proposals decided together and an import's kind. Hostile input
is refused with the Chinese reason, never a 500, and records nothing."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from kiosk import intake, standards
from kiosk.extensions import db
from kiosk.models import PointEntry, PointProposal
from tests import factories

HUGE = str(2**63)


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


@pytest.fixture
def village(supermarket, admin, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 5, 20, 10, 0))
    standards.seed_standard_items(supermarket.id, actor=None)
    factories.user("admin2", "admin", supermarket, display_name="周委员")
    return factories.household(supermarket, number="A-01", members=["张三丰", "李秀英"])


def _proposals() -> int:
    return db.session.scalar(sa.select(sa.func.count(PointProposal.id)))


ENTRY = {"number": "A-01", "amount": "-2", "occurred_on": "2024-05-18", "reason": "占道"}


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, "请填写户号"),
        ({**ENTRY, "number": "Ａ" * 1000}, "不存在"),
        ({**ENTRY, "amount": "abc"}, "分值必须是整数"),
        ({**ENTRY, "amount": HUGE}, "分值必须是整数"),
        ({**ENTRY, "amount": "١٢"}, "分值必须是整数"),
        ({**ENTRY, "amount": "²"}, "分值必须是整数"),
        ({**ENTRY, "amount": "1.5"}, "分值必须是整数"),
        ({**ENTRY, "amount": "2147483647"}, "分"),  # the service's own limit
        ({**ENTRY, "item": "abc"}, "所选的积分标准不正确"),
        ({**ENTRY, "item": "-1"}, "所选的积分标准不正确"),
        ({**ENTRY, "item": HUGE}, "所选的积分标准不正确"),
        ({**ENTRY, "item": "٣"}, "所选的积分标准不正确"),
        ({**ENTRY, "occurred_on": ""}, "请填写日期"),
        ({**ENTRY, "occurred_on": HUGE}, "请填写日期"),
        ({k: v for k, v in ENTRY.items() if k != "occurred_on"}, "请填写日期"),
        ({**ENTRY, "reason": "因" * 201}, "事由不能超过200个字"),
        ({**ENTRY, "evidence": "证" * 501}, "证明材料说明不能超过500个字"),
        ({**ENTRY, "member": "王\x00五"}, "控制字符"),
    ],
)
def test_hostile_entries_are_refused_in_chinese(client, village, data, message):
    login(client, "admin1")
    r = client.post("/intake/proposals", data=data)
    assert 400 <= r.status_code < 500
    assert message in r.get_data(as_text=True)
    assert _proposals() == 0


def test_an_entry_is_read_as_typed(client, village):
    login(client, "admin1")
    r = client.post(
        "/intake/proposals",
        data={**ENTRY, "number": " A-01 ", "member": " 李 秀英 ", "amount": "－２分"},
    )
    assert r.status_code == 302
    proposal = db.session.scalar(sa.select(PointProposal))
    assert (proposal.amount, proposal.occurred_on, proposal.reason) == (
        -2,
        date(2024, 5, 18),
        "占道",
    )
    assert proposal.member.name == "李秀英"


def test_a_refused_entry_shows_the_wrong_amount_again(client, village):
    login(client, "admin1")
    r = client.post("/intake/proposals", data={**ENTRY, "amount": "x7"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'value="x7"' in page and 'value="占道"' in page


@pytest.fixture
def pending(village, admin):
    return intake.propose(
        village.supermarket_id,
        intake.ProposalInput(village.id, date(2024, 5, 1), amount=2, reason="x"),
        actor=admin,
    )


@pytest.mark.parametrize(
    "action,data,message",
    [
        ("reject", {}, "请填写退回原因"),
        ("reject", {"note": "因" * 201}, "说明不能超过200个字"),
        ("approve", {"note": "因" * 5000}, "说明不能超过200个字"),
    ],
)
def test_hostile_decisions_are_refused(client, pending, action, data, message):
    login(client, "admin2")
    r = client.post(f"/intake/proposals/{pending.id}/{action}", data=data, follow_redirects=True)
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PointProposal, pending.id).status == "pending"


@pytest.mark.parametrize(
    "data,message",
    [
        ({"decision": "approve"}, "请选择"),  # nothing ticked: the service's refusal
        ({"ids": [HUGE], "decision": "approve"}, "所选的加减分不正确"),
        ({"ids": ["٣"], "decision": "approve"}, "所选的加减分不正确"),
        ({"ids": ["1"], "decision": HUGE}, "请选择确认所选或退回所选"),
        ({"ids": ["1"]}, "请选择确认所选或退回所选"),
        ({"ids": ["1"], "decision": "reject", "note": "因" * 201}, "说明不能超过200个字"),
    ],
)
def test_hostile_decisions_together_are_refused(client, pending, data, message):
    data = {**data, "ids": [str(pending.id) if v == "1" else v for v in data.get("ids", [])]}
    login(client, "admin2")
    r = client.post("/intake/proposals/decide", data=data, follow_redirects=True)
    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PointProposal, pending.id).status == "pending"
    assert db.session.scalar(sa.select(sa.func.count(PointEntry.id))) == 0


def test_decided_together_by_the_buttons(client, pending):
    login(client, "admin2")
    r = client.post(
        "/intake/proposals/decide",
        data={"ids": [str(pending.id)], "decision": "reject", "note": "重复"},
        follow_redirects=True,
    )
    assert "已退回 1 条加减分" in r.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["", HUGE, "cards", "户"])
def test_an_import_of_no_known_kind_is_refused(client, village, kind):
    login(client, "admin1")
    r = client.post("/intake/import", data={"kind": kind})
    assert r.status_code == 422
    assert "请选择导入的内容" in r.get_data(as_text=True)
