"""The approval screen (/intake) for the phone's proposals, on both databases: each pending
proposal with its time, place and photos; the ticked ones approved or rejected together, all
or none; the approver's own refused; a rejected selection leaves the ledger unchanged."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from PIL import Image

from kiosk import evidence, intake
from kiosk.errors import SelfApprovalRefused, ValidationFailed
from kiosk.extensions import db
from kiosk.models import PointEntry, PointProposal
from tests import factories


def _jpeg(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def office(app, tmp_path, supermarket):
    app.instance_path = str(tmp_path / "instance")
    home = factories.household(supermarket, points=50)
    recorder = factories.user("pingyi1", "recorder", supermarket, display_name="周评议")
    first = factories.user("admin1", "admin", supermarket, display_name="李主任")
    second = factories.user("admin2", "admin", supermarket, display_name="王委员")
    made = []
    for n, (amount, colour) in enumerate(((3, (200, 0, 0)), (-2, (0, 200, 0)), (5, None))):
        proposal, _ = intake.submit_proposal(
            supermarket.id,
            intake.ProposalInput(
                home.id,
                date(2026, 1, 5),
                amount=amount,
                reason=f"走访记录{n}",
                occurred_at=datetime(2026, 1, 5, 2, 30),
                place="三组",
            ),
            actor=recorder if n < 2 else first,
            photos=[evidence.prepare(_jpeg(colour))] if colour else [],
        )
        made.append(proposal.id)
    return {"home": home, "ids": made, "first": first, "second": second, "sm": supermarket}


def entries() -> int:
    return db.session.scalar(sa.select(sa.func.count(PointEntry.id)))


def test_approve_many_is_all_or_none_and_refuses_the_approvers_own(office):
    ids, first = office["ids"], office["first"]
    before = entries()
    with pytest.raises(SelfApprovalRefused):
        intake.approve_many(ids, actor=first)  # the third is first's own: nothing happens
    db.session.expire_all()
    assert entries() == before
    assert {p.status for p in db.session.scalars(sa.select(PointProposal))} == {"pending"}
    assert intake.approve_many(ids[:2], actor=first, note="走访核实") == 2
    db.session.expire_all()
    assert entries() == before + 2
    assert office["home"].account.balance == 51
    with pytest.raises(ValidationFailed):
        intake.approve_many([], actor=first)


def test_reject_many_needs_a_note_and_leaves_the_ledger_unchanged(office):
    ids, second = office["ids"], office["second"]
    before = entries()
    with pytest.raises(ValidationFailed, match="退回原因"):
        intake.reject_many(ids, actor=second, note="")
    assert intake.reject_many(ids, actor=second, note="照片看不清") == 3
    db.session.expire_all()
    assert entries() == before
    assert office["home"].account.balance == 50
    statuses = {p.status for p in db.session.scalars(sa.select(PointProposal))}
    assert statuses == {"rejected"}


def login(client, username):
    client.post("/logout")
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def test_the_screen_shows_time_place_photos_and_ticks_only_others_proposals(client, office):
    ids = office["ids"]
    login(client, "admin1")
    html = client.get("/intake").get_data(as_text=True)
    assert "地点：三组" in html
    assert f'src="/api/v1/proposals/{ids[0]}/photos/0"' in html
    assert "2026-01-05 10:30" in html  # the moment, in the village's time
    assert f'name="ids" value="{ids[0]}"' in html
    assert f'name="ids" value="{ids[2]}"' not in html  # admin1's own: no tick box
    assert client.get(f"/api/v1/proposals/{ids[0]}/photos/0").status_code == 200

    r = client.post(
        "/intake/proposals/decide",
        data={"ids": [str(ids[0]), str(ids[1])], "decision": "approve"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert office["home"].account.balance == 51
    # The own one, forced into the form anyway, is refused with a message; nothing changes.
    r = client.post(
        "/intake/proposals/decide",
        data={"ids": [str(ids[2])], "decision": "approve"},
        follow_redirects=True,
    )
    assert "不能确认自己录入的加减分" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PointProposal, ids[2]).status == "pending"


def test_supervisor_sees_photos_keeper_and_recorder_do_not(client, office):
    url = f"/api/v1/proposals/{office['ids'][0]}/photos/0"
    factories.user("super1", "supervisor", office["sm"])
    factories.user("keeper1", "keeper", office["sm"], pin="1234")
    login(client, "super1")
    html = client.get("/intake").get_data(as_text=True)
    assert url in html and 'name="ids"' not in html
    assert client.get(url).status_code == 200
    for username in ("keeper1", "pingyi1"):
        login(client, username)
        assert client.get(url).status_code == 403
        assert client.get("/intake").status_code == 403
