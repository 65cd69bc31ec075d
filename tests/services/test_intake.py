"""Points intake: standard items (寨里's 25) and proposals signed off by a second admin."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from kiosk import intake, points, standards
from kiosk.errors import (
    AlreadyDecided,
    DuplicateValue,
    PermissionDenied,
    SelfApprovalRefused,
    ValidationFailed,
)
from kiosk.extensions import db
from kiosk.models import (
    PROPOSAL_APPROVED,
    PROPOSAL_PENDING,
    PROPOSAL_REJECTED,
    PROPOSAL_WITHDRAWN,
    AuditEvent,
    PointAccount,
    PointEntry,
    StandardItem,
)
from tests import factories

SEED = "/work/shared/seeds/000_db6e2023482c1c05.txt"


@pytest.fixture
def admin2(supermarket):
    return factories.user("admin2", "admin", supermarket, display_name="周委员")


@pytest.fixture
def home(supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 5, 20, 10, 0))
    standards.seed_standard_items(supermarket.id, actor=None)
    return factories.household(supermarket, number="A-01", members=["张三丰", "李秀英"])


def _entries(household_id: int) -> list[PointEntry]:
    return list(reversed(points.history(household_id, limit=100)))


def _item(supermarket, code: str) -> StandardItem:
    return db.session.scalar(
        sa.select(StandardItem).where(
            StandardItem.supermarket_id == supermarket.id, StandardItem.code == code
        )
    )


def test_the_zhaili_list_is_the_seed_word_for_word(supermarket):
    with open(SEED, encoding="utf-8") as f:
        seed = f.read()
    assert len(standards.ZHAILI_STANDARDS) == 25
    for code, title, pts in standards.ZHAILI_STANDARDS:
        assert f"{code}.{title}{pts}分。" in seed
    # "22.……应急行动。5分。" is the one worth 5.
    assert [c for c, _, p in standards.ZHAILI_STANDARDS if p != 4] == ["22"]
    assert standards.seed_standard_items(supermarket.id, actor=None) == 25
    assert standards.seed_standard_items(supermarket.id, actor=None) == 0
    items = standards.list_items(supermarket.id)
    assert [i.code for i in items] == [str(n) for n in range(1, 26)]
    assert items[0].title.startswith("听党话，感党恩，跟党走")


def test_items_are_edited_not_deleted(supermarket, admin):
    standards.seed_standard_items(supermarket.id, actor=admin)
    item = standards.create_item(
        supermarket.id, code="K1", title="乱堆柴草占道", points=-2, category="扣分", actor=admin
    )
    assert item.sort_order == 26
    with pytest.raises(DuplicateValue):
        standards.create_item(supermarket.id, code="k1 ", title="x", points=1, actor=admin)
    with pytest.raises(ValidationFailed, match="非零整数"):
        standards.create_item(supermarket.id, code="K2", title="x", points=0, actor=admin)
    standards.update_item(item.id, title="乱堆乱放", points=-3, active=False, actor=admin)
    assert [i.code for i in standards.list_items(supermarket.id, active_only=True)][-1] == "25"
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"standards.seed", "standards.create", "standards.update"} <= set(actions)


def test_approval_by_another_admin_posts_exactly_one_entry(supermarket, admin, admin2, home):
    item = _item(supermarket, "22")
    proposal = intake.propose(
        supermarket.id,
        intake.ProposalInput(
            home.id,
            date(2024, 5, 18),
            standard_item_id=item.id,
            member_id=home.members[1].id,
            evidence="抢险照片",
        ),
        actor=admin,
    )
    assert proposal.status == PROPOSAL_PENDING and proposal.amount == 5
    assert proposal.reason.startswith("标准22：关心关注村居平安建设")
    assert _entries(home.id) == []  # nothing counts before the sign-off
    with pytest.raises(SelfApprovalRefused, match="另一位管理员"):
        intake.approve(proposal.id, actor=admin)
    intake.approve(proposal.id, actor=admin2, note="评议小组同意")
    entries = _entries(home.id)
    assert [(e.kind, e.amount) for e in entries] == [("award", 5)]
    assert entries[0].reason.startswith("李秀英：标准22")
    assert entries[0].idempotency_key == f"proposal-{proposal.id}"
    db.session.expire_all()
    assert db.session.get(PointAccount, entries[0].account_id).balance == 5
    with pytest.raises(AlreadyDecided, match="已确认"):
        intake.approve(proposal.id, actor=admin2)
    with pytest.raises(AlreadyDecided):
        intake.reject(proposal.id, actor=admin2, note="重复")
    assert len(_entries(home.id)) == 1
    got = db.session.get(type(proposal), proposal.id)
    assert (got.status, got.decided_by_id, got.entry_id) == (
        PROPOSAL_APPROVED,
        admin2.id,
        entries[0].id,
    )


def test_deduction_may_take_the_balance_below_zero(supermarket, admin, admin2, home):
    # As points.deduct_points: the ledger records what the group decided.
    p = intake.propose(
        supermarket.id,
        intake.ProposalInput(home.id, date(2024, 5, 1), amount=-3, reason="乱堆柴草占道"),
        actor=admin2,
    )
    intake.approve(p.id, actor=admin)
    entry = _entries(home.id)[0]
    assert (entry.kind, entry.amount, entry.balance_after) == ("deduction", -3, -3)


def test_reject_and_withdraw(supermarket, admin, admin2, home):
    a = intake.propose(
        supermarket.id,
        intake.ProposalInput(home.id, date(2024, 5, 2), amount=4, reason="扫雪"),
        actor=admin,
    )
    b = intake.propose(
        supermarket.id,
        intake.ProposalInput(home.id, date(2024, 5, 2), amount=4, reason="扫雪"),
        actor=admin,
    )
    with pytest.raises(ValidationFailed, match="退回原因"):
        intake.reject(a.id, actor=admin2, note="")
    with pytest.raises(SelfApprovalRefused):
        intake.reject(a.id, actor=admin, note="错了")
    intake.reject(a.id, actor=admin2, note="与上条重复")
    with pytest.raises(PermissionDenied):
        intake.withdraw(b.id, actor=admin2)
    intake.withdraw(b.id, actor=admin)
    statuses = {p.id: p.status for p in intake.list_history(supermarket.id)}
    assert statuses == {a.id: PROPOSAL_REJECTED, b.id: PROPOSAL_WITHDRAWN}
    assert intake.list_pending(supermarket.id) == []
    assert _entries(home.id) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": 0, "reason": "x"}, "非零整数"),
        ({"reason": "x"}, "请选择积分标准"),
        ({"amount": 2}, "事由"),
        ({"amount": 2, "reason": "x", "occurred_on": date(2024, 5, 21)}, "晚于今天"),
        ({"amount": 2, "reason": "x" * 201}, "200"),
    ],
)
def test_bad_proposals_are_refused_in_chinese(supermarket, admin, home, data, message):
    data = {"occurred_on": date(2024, 5, 1), **data}
    with pytest.raises(ValidationFailed, match=message):
        intake.propose(supermarket.id, intake.ProposalInput(home.id, **data), actor=admin)
    assert intake.list_pending(supermarket.id) == []


def test_only_admins_enter_and_decide(supermarket, keeper, supervisor, admin, home):
    data = intake.ProposalInput(home.id, date(2024, 5, 1), amount=2, reason="助人")
    for who in (keeper, supervisor, None):
        with pytest.raises(PermissionDenied):
            intake.propose(supermarket.id, data, actor=who)
    p = intake.propose(supermarket.id, data, actor=admin)
    with pytest.raises(PermissionDenied):
        intake.approve(p.id, actor=supervisor)


def test_a_member_of_another_household_is_refused(supermarket, admin, home):
    other = factories.household(supermarket, number="A-02", members=["王五"])
    with pytest.raises(ValidationFailed, match="不属于户号 A-01"):
        intake.propose(
            supermarket.id,
            intake.ProposalInput(
                home.id, date(2024, 5, 1), amount=2, reason="x", member_id=other.members[0].id
            ),
            actor=admin,
        )


def test_jifen_check_ties_proposals_to_their_entries(supermarket, admin, admin2, home):
    from kiosk.check import run_checks

    p = intake.propose(
        supermarket.id,
        intake.ProposalInput(home.id, date(2024, 5, 2), amount=4, reason="扫雪"),
        actor=admin,
    )
    intake.approve(p.id, actor=admin2)
    assert [x for x in run_checks() if x.check == "proposals"] == []
    # An approved proposal whose entry vanished is caught (simulated by editing the amount).
    with db.session.begin_nested():
        db.session.execute(sa.update(type(p)).where(type(p).id == p.id).values(amount=5))
    db.session.commit()
    problems = [x for x in run_checks() if x.check == "proposals"]
    assert len(problems) == 1 and "entry 4 != approved 5" in problems[0].detail


def test_demo_seed_signs_off_with_a_second_admin(supermarket, admin, monkeypatch):
    import random

    factories.pin_clock(monkeypatch, datetime(2024, 5, 20, 10, 0))
    for n in range(14):
        factories.household(supermarket, number=f"D-{n:02d}", members=["甲", "乙"])
    users = {"admin": admin}
    counts = intake.seed_demo_intake(supermarket, users, random.Random(7))
    assert counts == {"approved": 8, "rejected": 1, "pending": 3}
    assert users["pingyi"].role == "admin"
    assert len(standards.list_items(supermarket.id)) == 25
    entries = db.session.scalar(sa.select(sa.func.count(PointEntry.id)))
    assert entries == 8
    from kiosk.check import run_checks

    assert [x for x in run_checks() if x.check == "proposals"] == []
