"""Two signatures for every award over the API: proposals, approval by another admin, retries.

Issue 16 item 15: one admin posted 3 × 1,000,000 points through POST /households/<id>/points
with no second signature. Every award or deduction through the API is now a proposal that
counts only when a different admin approves it.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa

from kiosk import auth, create_app, intake, standards
from kiosk.errors import IdempotencyConflict
from kiosk.extensions import db
from kiosk.models import (
    PROPOSAL_APPROVED,
    PROPOSAL_PENDING,
    AuditEvent,
    PointAccount,
    PointEntry,
    PointProposal,
    StandardItem,
)
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    Api,
    api_for,
    as_admin_fixture,
    as_keeper_fixture,
    as_supervisor_fixture,
    check_schema,
    error_code,
)
from tests.conftest import TEST_CONFIG

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def clock(monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 5, 20, 10, 0))


@pytest.fixture
def admin2(supermarket):
    return factories.user("admin2", "admin", supermarket, display_name="周委员")


@pytest.fixture
def as_admin2(client, admin2) -> Api:
    return api_for(client, admin2)


@pytest.fixture
def home(supermarket):
    return factories.household(supermarket, number="A-01", members=["张三丰", "李秀英"])


def balance(household_id: int) -> int:
    db.session.commit()
    return db.session.scalar(
        sa.select(PointAccount.balance).where(PointAccount.household_id == household_id)
    )


def count(model, *where) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count(model.id)).where(*where))


def item(supermarket, code: str) -> StandardItem:
    standards.seed_standard_items(supermarket.id, actor=None)
    return db.session.scalar(
        sa.select(StandardItem).where(
            StandardItem.supermarket_id == supermarket.id, StandardItem.code == code
        )
    )


def propose(api: Api, household_id: int, **body):
    return api.post("/api/v1/proposals", {"household_id": household_id, **body})


# The attack -------------------------------------------------------------------------------


def test_a_million_points_three_times_waits_for_a_second_admin(as_admin, as_admin2, home):
    """The security round's attack: three calls of 1,000,000 leave the balance where it was."""
    body = {"kind": "award", "amount": 1_000_000, "reason": "好人好事"}
    answers = [as_admin.post(f"/api/v1/households/{home.id}/points", body) for _ in range(3)]
    for r in answers:
        assert r.status_code == 202, r.get_json()
        check_schema(r.get_json(), "ProposalResult")
        assert r.get_json()["proposal"]["status"] == PROPOSAL_PENDING
        assert r.get_json()["proposal"]["amount"] == 1_000_000
        assert r.get_json()["account"]["balance"] == 0
        assert "另一位管理员" in r.get_json()["message"]
    assert balance(home.id) == 0
    assert count(PointEntry) == 0
    first = answers[0].get_json()["proposal"]["id"]
    refused = as_admin.post(f"/api/v1/proposals/{first}/approve")
    assert refused.status_code == 403
    assert error_code(refused) == "self_approval"
    assert balance(home.id) == 0
    approved = as_admin2.post(f"/api/v1/proposals/{first}/approve", {"note": "属实"})
    assert approved.status_code == 200, approved.get_json()
    check_schema(approved.get_json(), "ProposalResult")
    assert approved.get_json()["account"]["balance"] == 1_000_000
    assert balance(home.id) == 1_000_000
    assert count(PointEntry) == 1


def test_a_deduction_through_the_points_route_is_a_negative_proposal(as_admin, home):
    r = as_admin.post(
        f"/api/v1/households/{home.id}/points",
        {"kind": "deduct", "amount": 5, "reason": "乱堆乱放", "idempotency_key": "deduct-0001"},
    )
    assert r.status_code == 202
    proposal = r.get_json()["proposal"]
    assert (proposal["amount"], proposal["reason"], proposal["occurred_on"]) == (
        -5,
        "乱堆乱放",
        "2024-05-20",
    )
    retry = as_admin.post(
        f"/api/v1/households/{home.id}/points",
        {"kind": "deduct", "amount": 5, "reason": "乱堆乱放", "idempotency_key": "deduct-0001"},
    )
    assert retry.status_code == 200
    assert retry.get_json()["proposal"]["id"] == proposal["id"]
    assert count(PointProposal) == 1
    assert count(PointEntry) == 0


# Propose, approve, reject, withdraw -------------------------------------------------------


def test_propose_by_standard_item_and_approve_posts_one_entry(
    as_admin, as_admin2, admin, admin2, supermarket, home
):
    k3 = item(supermarket, "3")
    member = home.members[1]
    r = propose(
        as_admin,
        home.id,
        standard_item_id=k3.id,
        member_id=member.id,
        occurred_on="2024-05-18",
        evidence="照片2张",
    )
    assert r.status_code == 201, r.get_json()
    check_schema(r.get_json(), "ProposalResult")
    made = r.get_json()["proposal"]
    assert made["amount"] == k3.points
    assert made["reason"].startswith("标准3：")
    assert (made["member_name"], made["entered_by"], made["entered_by_id"]) == (
        "李秀英",
        "李主任",
        admin.id,
    )
    assert made["standard_item"]["code"] == "3"
    assert (made["status"], made["entry_id"], made["evidence"]) == ("pending", None, "照片2张")
    assert balance(home.id) == 0

    r = as_admin2.post(f"/api/v1/proposals/{made['id']}/approve", {"note": "评议小组同意"})
    assert r.status_code == 200
    done = r.get_json()["proposal"]
    assert (done["status"], done["decided_by"], done["decision_note"]) == (
        PROPOSAL_APPROVED,
        "周委员",
        "评议小组同意",
    )
    entry = db.session.get(PointEntry, done["entry_id"])
    assert (entry.amount, entry.idempotency_key, entry.created_by_id) == (
        k3.points,
        f"proposal-{made['id']}",
        admin2.id,
    )
    assert balance(home.id) == k3.points
    # The office's audit events, in order.
    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.in_(["proposal.create", "proposal.approve", "points.award"]))
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["proposal.create", "points.award", "proposal.approve"]
    assert intake.check_proposals() == []


def test_the_recorder_cannot_approve_or_reject_their_own(as_admin, home):
    made = propose(as_admin, home.id, amount=10, reason="帮助邻居").get_json()["proposal"]
    for action, body in (("approve", None), ("reject", {"note": "不行"})):
        r = as_admin.post(f"/api/v1/proposals/{made['id']}/{action}", body)
        assert r.status_code == 403, action
        assert error_code(r) == "self_approval"
    assert db.session.get(PointProposal, made["id"]).status == PROPOSAL_PENDING
    assert count(PointEntry) == 0


def test_a_rejected_proposal_leaves_the_ledger_unchanged(as_admin, as_admin2, supermarket):
    home = factories.household(supermarket, points=30)
    entries = count(PointEntry)
    made = propose(as_admin, home.id, amount=-20, reason="违规").get_json()["proposal"]
    no_note = as_admin2.post(f"/api/v1/proposals/{made['id']}/reject", {"note": " "})
    assert no_note.status_code == 400
    assert error_code(no_note) == "invalid_request"
    r = as_admin2.post(f"/api/v1/proposals/{made['id']}/reject", {"note": "证明材料不足"})
    assert r.status_code == 200
    assert (r.get_json()["proposal"]["status"], r.get_json()["account"]["balance"]) == (
        "rejected",
        30,
    )
    assert balance(home.id) == 30
    assert count(PointEntry) == entries
    late = as_admin2.post(f"/api/v1/proposals/{made['id']}/approve")
    assert late.status_code == 409
    assert error_code(late) == "already_decided"
    assert balance(home.id) == 30


def test_a_second_approval_is_refused_with_a_code(as_admin, as_admin2, home):
    made = propose(as_admin, home.id, amount=7, reason="志愿服务").get_json()["proposal"]
    assert as_admin2.post(f"/api/v1/proposals/{made['id']}/approve").status_code == 200
    again = as_admin2.post(f"/api/v1/proposals/{made['id']}/approve")
    assert again.status_code == 409
    assert error_code(again) == "already_decided"
    assert balance(home.id) == 7
    assert count(PointEntry) == 1


def test_only_the_recorder_withdraws_and_only_while_pending(as_admin, as_admin2, home):
    made = propose(as_admin, home.id, amount=3, reason="志愿服务").get_json()["proposal"]
    other = as_admin2.post(f"/api/v1/proposals/{made['id']}/withdraw")
    assert other.status_code == 403
    assert error_code(other) == "forbidden"
    r = as_admin.post(f"/api/v1/proposals/{made['id']}/withdraw")
    assert r.status_code == 200
    assert r.get_json()["proposal"]["status"] == "withdrawn"
    again = as_admin.post(f"/api/v1/proposals/{made['id']}/withdraw")
    assert again.status_code == 409
    assert error_code(again) == "already_decided"
    assert as_admin2.post(f"/api/v1/proposals/{made['id']}/approve").status_code == 409
    assert count(PointEntry) == 0


def test_list_by_status_paged_newest_first(as_admin, as_admin2, as_supervisor, home):
    ids = [
        propose(as_admin, home.id, amount=n, reason=f"第{n}件").get_json()["proposal"]["id"]
        for n in range(1, 6)
    ]
    as_admin2.post(f"/api/v1/proposals/{ids[0]}/approve")
    as_admin2.post(f"/api/v1/proposals/{ids[1]}/reject", {"note": "重复录入"})
    r = as_supervisor.get("/api/v1/proposals?status=pending&per_page=2")
    assert r.status_code == 200
    check_schema(r.get_json(), "ProposalPage")
    page = r.get_json()
    assert (page["total"], [p["id"] for p in page["proposals"]]) == (3, [ids[4], ids[3]])
    second = as_supervisor.get("/api/v1/proposals?status=pending&per_page=2&page=2").get_json()
    assert [p["id"] for p in second["proposals"]] == [ids[2]]
    for status, expected in (("approved", [ids[0]]), ("rejected", [ids[1]])):
        got = as_supervisor.get(f"/api/v1/proposals?status={status}").get_json()["proposals"]
        assert [p["id"] for p in got] == expected
    everything = as_admin.get(f"/api/v1/proposals?household_id={home.id}").get_json()
    assert everything["total"] == 5
    bad = as_admin.get("/api/v1/proposals?status=done")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["field"] == "status"


# Retries ------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_same_proposal(as_admin, as_admin2, home):
    body = {"amount": 4, "reason": "环境整治", "occurred_on": "2024-05-19"}
    first = propose(as_admin, home.id, **body, idempotency_key="phone-0001")
    again = as_admin.post(
        "/api/v1/proposals",
        {"household_id": home.id, **body},
        headers={"Idempotency-Key": "phone-0001"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["proposal"]["id"] == first.get_json()["proposal"]["id"]
    assert count(PointProposal) == 1
    # Approved meanwhile: the retry still answers with the one proposal, and posts nothing.
    as_admin2.post(f"/api/v1/proposals/{first.get_json()['proposal']['id']}/approve")
    late = propose(as_admin, home.id, **body, idempotency_key="phone-0001")
    assert late.status_code == 200
    assert late.get_json()["proposal"]["status"] == PROPOSAL_APPROVED
    assert (count(PointProposal), count(PointEntry), balance(home.id)) == (1, 1, 4)

    changed = propose(as_admin, home.id, **{**body, "amount": 40}, idempotency_key="phone-0001")
    assert changed.status_code == 409
    assert error_code(changed) == "idempotency_conflict"
    mismatch = as_admin.post(
        "/api/v1/proposals",
        {"household_id": home.id, **body, "idempotency_key": "phone-0001"},
        headers={"Idempotency-Key": "phone-0002"},
    )
    assert mismatch.status_code == 400
    assert error_code(mismatch) == "invalid_request"
    bad_header = as_admin.post(
        "/api/v1/proposals",
        {"household_id": home.id, **body},
        headers={"Idempotency-Key": "no spaces allowed"},
    )
    assert bad_header.status_code == 400
    assert bad_header.get_json()["error"]["details"]["field"] == "Idempotency-Key"
    # Another user's key of the same text is their own: a new proposal, no collision.
    theirs = propose(as_admin2, home.id, **body, idempotency_key="phone-0001")
    assert theirs.status_code == 201
    assert count(PointProposal) == 2


def test_a_retry_without_a_day_keeps_the_first_copys_day(as_admin, home, monkeypatch):
    first = propose(as_admin, home.id, amount=2, reason="志愿服务", idempotency_key="late-00001")
    assert first.get_json()["proposal"]["occurred_on"] == "2024-05-20"
    factories.pin_clock(monkeypatch, datetime(2024, 5, 21, 0, 5))  # past midnight
    retry = propose(as_admin, home.id, amount=2, reason="志愿服务", idempotency_key="late-00001")
    assert retry.status_code == 200
    assert retry.get_json()["proposal"]["id"] == first.get_json()["proposal"]["id"]


def test_the_service_refuses_a_key_reused_for_another_household(admin, supermarket, home):
    other = factories.household(supermarket, number="A-02")
    key = intake.client_key(admin.id, "svc-00001")
    data = intake.ProposalInput(home.id, datetime(2024, 5, 1).date(), amount=5, reason="好事")
    made, created = intake.submit_proposal(supermarket.id, data, actor=admin, idempotency_key=key)
    assert created
    again, created = intake.submit_proposal(supermarket.id, data, actor=admin, idempotency_key=key)
    assert (again.id, created) == (made.id, False)
    moved = intake.ProposalInput(other.id, data.occurred_on, amount=5, reason="好事")
    with pytest.raises(IdempotencyConflict):
        intake.submit_proposal(supermarket.id, moved, actor=admin, idempotency_key=key)
    assert count(PointProposal) == 1


def both_at_once(clients: list, body: dict, token: str) -> list:
    """POST the same proposal through each client at the same moment; the answers."""
    barrier = threading.Barrier(len(clients), timeout=30)
    answers: list = [None] * len(clients)

    def send(i: int) -> None:
        try:
            barrier.wait()
            answers[i] = clients[i].post(
                "/api/v1/proposals", json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except Exception as exc:  # noqa: BLE001 - the caller's assertion shows it
            answers[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def test_two_retries_racing_over_two_apps_make_one_proposal(app, admin, home, tmp_path):
    """The same request sent twice at once, to two servers on one database, makes one proposal
    (one 201, the other 200 with the same id), round after round."""
    token = auth.issue_token(admin.id, label="race")
    config = dict(
        TEST_CONFIG,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        JIFEN_PRINTER_FILE=str(tmp_path / "printer2.json"),
    )
    second = create_app(config)
    clients = [app.test_client(), second.test_client()]
    home_id = home.id
    db.session.commit()
    rounds = 6
    for n in range(rounds):
        body = {
            "household_id": home_id,
            "amount": n + 1,
            "reason": "志愿服务",
            "idempotency_key": f"race-{n:05d}",
        }
        answers = both_at_once(clients, body, token)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 201], [a.get_json() for a in answers]
        assert len({a.get_json()["proposal"]["id"] for a in answers}) == 1
    with second.app_context():
        db.session.remove()
        db.engine.dispose()
    assert count(PointProposal) == rounds
    assert count(AuditEvent, AuditEvent.action == "proposal.create") == rounds


# Who may do what ----------------------------------------------------------------------------


def test_a_supervisor_reads_but_cannot_write(as_admin, as_supervisor, home):
    made = propose(as_admin, home.id, amount=3, reason="志愿服务").get_json()["proposal"]
    assert as_supervisor.get("/api/v1/proposals").status_code == 200
    r = as_supervisor.get(f"/api/v1/proposals/{made['id']}")
    assert r.status_code == 200
    assert r.get_json()["proposal"]["id"] == made["id"]
    for url, body in (
        ("/api/v1/proposals", {"household_id": home.id, "amount": 1, "reason": "x"}),
        (f"/api/v1/proposals/{made['id']}/approve", None),
        (f"/api/v1/proposals/{made['id']}/reject", {"note": "x"}),
        (f"/api/v1/proposals/{made['id']}/withdraw", None),
        (f"/api/v1/households/{home.id}/points", {"kind": "award", "amount": 1, "reason": "x"}),
    ):
        refused = as_supervisor.post(url, body)
        assert refused.status_code == 403, url
        assert error_code(refused) == "forbidden"
    assert (count(PointProposal), count(PointEntry)) == (1, 0)
    assert db.session.get(PointProposal, made["id"]).status == PROPOSAL_PENDING


def test_a_keeper_gets_403_everywhere(as_admin, as_keeper, home):
    made = propose(as_admin, home.id, amount=3, reason="志愿服务").get_json()["proposal"]
    for r in (
        as_keeper.get("/api/v1/proposals"),
        as_keeper.get(f"/api/v1/proposals/{made['id']}"),
        as_keeper.post("/api/v1/proposals", {"household_id": home.id, "amount": 1, "reason": "x"}),
        as_keeper.post(f"/api/v1/proposals/{made['id']}/approve"),
        as_keeper.post(f"/api/v1/proposals/{made['id']}/withdraw"),
    ):
        assert r.status_code == 403
        assert error_code(r) == "forbidden"
    assert (count(PointProposal), count(PointEntry)) == (1, 0)


def test_another_supermarkets_proposal_does_not_exist_here(client, as_admin, home):
    other_sm = factories.supermarket(code="GY01", name="高阳镇积分超市")
    their_admin = factories.user("gyadmin", "admin", other_sm, display_name="高主任")
    their_home = factories.household(other_sm, number="G-01")
    theirs = propose(api_for(client, their_admin), their_home.id, amount=5, reason="好事")
    assert theirs.status_code == 201
    pid = theirs.get_json()["proposal"]["id"]
    for r in (
        as_admin.get(f"/api/v1/proposals/{pid}"),
        as_admin.post(f"/api/v1/proposals/{pid}/approve"),
        as_admin.post(f"/api/v1/proposals/{pid}/reject", {"note": "x"}),
        as_admin.post(f"/api/v1/proposals/{pid}/withdraw"),
    ):
        assert r.status_code == 404
        assert error_code(r) == "not_found"
    assert as_admin.get("/api/v1/proposals").get_json()["total"] == 0
    # Nor may a proposal name their household.
    r = propose(as_admin, their_home.id, amount=5, reason="好事")
    assert r.status_code == 404
    assert db.session.get(PointProposal, pid).status == PROPOSAL_PENDING
    assert count(PointEntry) == 0


# Bad input ----------------------------------------------------------------------------------


BAD_INPUT = [
    ({"household_id": None}, "household_id"),
    ({"household_id": 2**31}, "household_id"),
    ({"household_id": "1"}, "household_id"),
    ({"amount": 0}, "amount"),
    ({"amount": 1_000_001}, "amount"),
    ({"amount": -1_000_001}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"amount": None}, "amount"),
    ({"occurred_on": "2024-05-21"}, "occurred_on"),
    ({"occurred_on": "20240501x"}, "occurred_on"),
    ({"reason": "长" * 201}, "reason"),
    ({"evidence": "长" * 501}, "evidence"),
    ({"member_id": 2**40}, "member_id"),
    ({"idempotency_key": "short"}, "idempotency_key"),
]


def test_bad_input_is_refused_and_changes_nothing(as_admin, home):
    for change, field in BAD_INPUT:
        body = {"household_id": home.id, "amount": 5, "reason": "志愿服务", **change}
        r = as_admin.post("/api/v1/proposals", body)
        assert r.status_code == 400, (change, r.get_json())
        assert error_code(r) == "invalid_request"
        assert r.get_json()["error"]["details"]["field"] == field, change
    assert count(PointProposal) == 0


def test_unknown_rows_are_404_never_500(as_admin, home):
    for url in ("/api/v1/proposals/999999", f"/api/v1/proposals/{2**31}"):
        r = as_admin.get(url)
        assert r.status_code == 404
        assert error_code(r) == "not_found"
    assert propose(as_admin, 999_999, amount=1, reason="x").status_code == 404
    assert propose(as_admin, home.id, standard_item_id=999_999).status_code == 404
    bad_member = propose(as_admin, home.id, member_id=999_999, amount=1, reason="x")
    assert bad_member.status_code == 400
    assert count(PointProposal) == 0
