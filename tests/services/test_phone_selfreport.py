"""Residents' own reports (群众自主申报) with their card, on both databases: a pending proposal
marked self-reported with its photo, made once per key, only for an award item, refused for a
revoked or forged card, and counted only when an admin approves it."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from kiosk import cards, intake, standards
from kiosk.extensions import db
from kiosk.models import PointEntry, PointProposal, StandardItem
from tests import factories
from tests.services.test_phone_evidence import GPS_IFD, gps_jpeg


@pytest.fixture
def resident(app, tmp_path, supermarket):
    app.instance_path = str(tmp_path / "instance")
    standards.seed_standard_items(supermarket.id, actor=None)
    home = factories.household(supermarket, points=20)
    card, payload = factories.card(home)
    items = db.session.scalars(
        sa.select(StandardItem).where(StandardItem.supermarket_id == supermarket.id)
    ).all()
    award = next(i for i in items if i.points > 0)
    deduction = StandardItem(
        supermarket_id=supermarket.id, code="K1", title="乱堆柴草", points=-2, sort_order=99
    )
    db.session.add(deduction)
    db.session.commit()
    return {"home": home, "card": card, "payload": payload, "award": award, "minus": deduction}


def report(client, resident, *, key="self-0001-abcd", item=None, photos=1, payload=None):
    return client.post(
        "/self/report",
        data={
            "payload": payload or resident["payload"],
            "standard_item_id": str(item or resident["award"].id),
            "reason": "帮五保户挑水",
            "idempotency_key": key,
            "photo": [(io.BytesIO(gps_jpeg()), "deed.jpg") for _ in range(photos)],
        },
        content_type="multipart/form-data",
    )


def test_a_self_report_is_a_pending_self_reported_proposal_made_once(client, resident, supermarket):
    r = report(client, resident)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["points"] == resident["award"].points
    assert report(client, resident).get_json()["proposal_id"] == body["proposal_id"]
    rows = db.session.scalars(sa.select(PointProposal)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.self_reported and row.status == "pending" and row.entered_by_id is None
    assert row.household_id == resident["home"].id and row.reason == "帮五保户挑水"
    assert len(row.photos) == 1
    from kiosk import evidence

    with Image.open(evidence.path_for(row.photos[0].sha256)) as image:
        assert not image.getexif().get_ifd(GPS_IFD)
    # It counts once an admin approves it.
    entries = db.session.scalar(sa.select(sa.func.count(PointEntry.id)))
    admin = factories.user("admin1", "admin", supermarket)
    intake.approve(row.id, actor=admin)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(PointEntry.id))) == entries + 1
    assert resident["home"].account.balance == 20 + resident["award"].points


def test_refused_reports_make_nothing(client, resident, supermarket):
    r = report(client, resident, item=resident["minus"].id)
    assert r.status_code == 400 and "加分" in r.get_json()["error"]["message"]
    r = report(client, resident, payload="JF00000000000000000000")
    assert r.status_code in (404, 422)
    cards.revoke_card(resident["card"].id, actor=None, reason="遗失")
    r = report(client, resident, key="self-0002-abcd")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "card_revoked"
    r = report(client, resident, photos=5)
    assert r.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(PointProposal.id))) == 0


def test_a_household_cannot_flood_the_queue(client, resident):
    for n in range(intake.MAX_SELF_PENDING):
        assert report(client, resident, key=f"self-{n:04d}-flood", photos=0).status_code == 201
    r = report(client, resident, key="self-9999-flood", photos=0)
    assert r.status_code == 400 and "等待审核" in r.get_json()["error"]["message"]
