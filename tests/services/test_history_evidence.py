"""Approved events in the household's history and as an objection's evidence (issue 19).

An entry posted by approving a proposal shows when and where its event happened, in the
office and on the self-service screen (names masked, no photos there); entries the rules
posted show nothing extra. An objection's page lists the household's approved proposals of
the notice's period with their time, place, reason and photo links, for admins and
supervisors; keepers still get 403.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from kiosk import clock, evidence, intake, notice, objections, points, rules
from kiosk.extensions import db
from kiosk.formatting import local_time
from kiosk.timeutil import utcnow
from tests import factories


@pytest.fixture(autouse=True)
def instance(app, tmp_path):
    """Each test's own instance folder, so photos land in tmp."""
    app.instance_path = str(tmp_path / "instance")
    return app.instance_path


@pytest.fixture
def signer(supermarket):
    return factories.user("admin2", "admin", supermarket, display_name="王副主任")


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 60, 60)).save(out, "JPEG")
    return out.getvalue()


def approved_event(supermarket, household, admin, signer, *, place, reason, amount=3):
    """A proposal with a time, a place and a photo, approved by a second admin."""
    moment = utcnow() - timedelta(minutes=30)
    day = date.fromisoformat(local_time(moment, "%Y-%m-%d"))
    proposal, _ = intake.submit_proposal(
        supermarket.id,
        intake.ProposalInput(
            household.id, day, amount=amount, reason=reason, occurred_at=moment, place=place
        ),
        actor=admin,
        photos=[evidence.prepare(jpeg())],
    )
    intake.approve(proposal.id, actor=signer)
    return db.session.get(type(proposal), proposal.id)


def shown_time(proposal) -> str:
    return local_time(proposal.occurred_at, "%Y-%m-%d %H:%M")


def test_entry_events_finds_the_proposals_in_one_query(app, supermarket, admin, signer):
    hh = factories.household(supermarket, points=10)
    proposal = approved_event(supermarket, hh, admin, signer, place="三组村口", reason="清理河道")
    factories.points_award(hh, 2, reason="直接记入")
    other = points.history(hh.id, 1)[0]
    ids = [proposal.entry_id, other.id]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        events = points.entry_events(ids)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert set(events) == {proposal.entry_id}
    event = events[proposal.entry_id]
    assert (event.proposal_id, event.place) == (proposal.id, "三组村口")
    assert event.occurred_at == proposal.occurred_at
    assert points.entry_events([]) == {}


def test_office_history_shows_the_events_time_place_and_reason(client, supermarket, admin, signer):
    hh = factories.household(supermarket, points=10)
    proposal = approved_event(supermarket, hh, admin, signer, place="三组村口", reason="清理河道")
    factories.points_award(hh, 2, reason="直接记入")
    login(client, "admin1")
    body = client.get(f"/households/{hh.id}").get_data(as_text=True)
    table = body[body.index('id="hh-entry-table"') :]
    table = table[: table.index("</table>")]
    rows = table.split("<tr")[2:]  # header row skipped
    event_row = next(r for r in rows if f'data-proposal="{proposal.id}"' in r)
    assert shown_time(proposal) in event_row
    assert "地点：三组村口" in event_row and "清理河道" in event_row
    plain = next(r for r in rows if "直接记入" in r)
    assert "data-proposal" not in plain and "地点" not in plain
    assert table.count("hh-place") == 1


def test_self_service_history_shows_when_and_where_without_photos(
    client, supermarket, admin, signer
):
    hh = factories.household(
        supermarket, head_name="崔大山", members=["崔大山", "崔强峰"], points=10
    )
    _, payload = factories.card(hh)
    proposal = approved_event(
        supermarket, hh, admin, signer, place="崔强峰家门口", reason="帮邻居修路"
    )
    factories.points_award(hh, 2, reason="直接记入")
    neighbour = factories.household(supermarket, head_name="李四", points=10)
    approved_event(supermarket, neighbour, admin, signer, place="李家湾晒场", reason="邻户的事")

    response = client.post("/self/scan", json={"payload": payload})
    assert response.status_code == 200
    history = response.get_json()["history"]
    event_row = next(h for h in history if "帮邻居修路" in h["reason"])
    assert event_row["when"] == shown_time(proposal)
    assert event_row["place"] == "崔*峰家门口"
    plain = next(h for h in history if h["reason"] == "直接记入")
    assert "place" not in plain
    text = response.get_data(as_text=True)
    assert "/photos/" not in text and "proposals" not in text
    assert "崔强峰" not in text and "李家湾晒场" not in text and "邻户的事" not in text


def test_objection_page_lists_the_periods_evidence(client, supermarket, admin, signer, keeper):
    hh = factories.household(supermarket, number="P01", head_name="张三丰", points=10)
    shown = approved_event(supermarket, hh, admin, signer, place="三组村口", reason="清理河道")
    # Not evidence: a pending proposal, another household's approved one.
    pending = intake.propose(
        supermarket.id,
        intake.ProposalInput(hh.id, shown.occurred_on, amount=5, reason="还没确认的事"),
        actor=admin,
    )
    other = factories.household(supermarket, number="P02", head_name="李四", points=10)
    approved_event(supermarket, other, admin, signer, place="李家湾晒场", reason="邻户的事")
    period = rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)
    n = notice.publish_notice(
        notice.draft_notice(supermarket.id, period, actor=admin).id, actor=admin
    )
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=clock.local_now().date(),
        disputed="少记",
        actor=admin,
    )

    login(client, "admin1")
    body = client.get(f"/notice/objections/{o.id}").get_data(as_text=True)
    table = body[body.index('id="objection-evidence"') :]
    table = table[: table.index("</table>")]
    photo = f"/api/v1/proposals/{shown.id}/photos/0"
    assert f'data-proposal="{shown.id}"' in table
    assert shown_time(shown) in table and "三组村口" in table and "清理河道" in table
    assert photo in table
    assert f'data-proposal="{pending.id}"' not in table and "还没确认的事" not in table
    assert "邻户的事" not in table and "李家湾晒场" not in table
    got = client.get(photo)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"

    keeper_client = client.application.test_client()
    login(keeper_client, "keeper1")
    assert keeper_client.get(f"/notice/objections/{o.id}").status_code == 403
    assert keeper_client.get(photo).status_code == 403


def test_supervisor_sees_the_evidence_too(client, supermarket, admin, signer, supervisor):
    hh = factories.household(supermarket, points=10)
    shown = approved_event(supermarket, hh, admin, signer, place="五组", reason="调解纠纷")
    period = rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)
    n = notice.publish_notice(
        notice.draft_notice(supermarket.id, period, actor=admin).id, actor=admin
    )
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=clock.local_now().date(),
        disputed="x",
        actor=admin,
    )
    login(client, "super1")
    body = client.get(f"/notice/objections/{o.id}").get_data(as_text=True)
    assert f"/api/v1/proposals/{shown.id}/photos/0" in body and "调解纠纷" in body
