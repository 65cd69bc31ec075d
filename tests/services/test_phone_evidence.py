"""Evidence photos and the recorder (评议员) on both databases (issue 19).

A photo goes in with a proposal (multipart, with its idempotency key), comes back re-encoded
without EXIF (no GPS position), is stored once by content hash with nothing half-written, and
is shown to admins and supervisors only. A recorder proposes but signs off nothing; a
rejected proposal leaves the ledger as it was.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from PIL import Image

from kiosk import evidence, intake
from kiosk.errors import PermissionDenied, SelfApprovalRefused, TooLarge, ValidationFailed
from kiosk.extensions import db
from kiosk.models import PointEntry, PointProposal, ProposalPhoto
from tests import factories
from tests.api.test_api_helpers import api_for, error_code

GPS_IFD = 0x8825


@pytest.fixture(autouse=True)
def instance(app, tmp_path):
    """Each test's own instance folder, so photos land in tmp."""
    app.instance_path = str(tmp_path / "instance")
    return app.instance_path


@pytest.fixture
def recorder(supermarket):
    return factories.user("pingyi1", "recorder", supermarket, display_name="评议员甲")


@pytest.fixture
def household(supermarket):
    return factories.household(supermarket, points=100)


def gps_jpeg(size=(64, 48), colour=(30, 160, 90)) -> bytes:
    """A JPEG as a phone writes it: camera make and a GPS position in its EXIF."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "Huawei"  # Make
    exif[0x0132] = "2026:12:06 09:30:00"  # DateTime
    exif[GPS_IFD] = {1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 7.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the test's own photo really has them
        assert check.getexif().get_ifd(GPS_IFD)
    return data


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge size (a few bytes of pixel data follow)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def multipart(body: dict, photos: list[tuple[str, bytes]]) -> dict:
    return {
        "proposal": json.dumps(body),
        "photo": [(io.BytesIO(data), name, "image/jpeg") for name, data in photos],
    }


def post_multipart(api, body, photos, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.client.post(
        "/api/v1/proposals",
        data=multipart(body, photos),
        content_type="multipart/form-data",
        headers=api._headers(headers),
    )


def stored_files(instance: str) -> list[str]:
    root = os.path.join(instance, "files", "evidence")
    return sorted(os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files)


# Services --------------------------------------------------------------------------------


def test_prepare_strips_exif_and_gps():
    photo = evidence.prepare(gps_jpeg())
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
    assert (photo.width, photo.height) == (64, 48)


def test_prepare_scales_to_1600_and_refuses_what_is_too_big_or_no_image():
    big = io.BytesIO()
    Image.new("RGB", (3200, 1200), (1, 2, 3)).save(big, "JPEG")
    photo = evidence.prepare(big.getvalue())
    assert (photo.width, photo.height) == (1600, 600)
    with pytest.raises(TooLarge, match="百万像素"):
        evidence.prepare(png_declaring(8000, 6000))  # 48 MP, refused before decoding
    with pytest.raises(TooLarge, match="8 MB"):
        evidence.prepare(b"\xff\xd8" + b"0" * evidence.MAX_PHOTO_BYTES)
    with pytest.raises(ValidationFailed, match="不是图片"):
        evidence.prepare(b"hello, not a photo")


def test_store_is_by_hash_once_and_leaves_nothing_half_written(instance, monkeypatch):
    photo = evidence.prepare(gps_jpeg())
    path = evidence.store(photo)
    assert path == os.path.join(
        instance, "files", "evidence", photo.sha256[:2], f"{photo.sha256}.jpg"
    )
    assert evidence.store(photo) == path
    assert stored_files(instance) == [path]
    # Every backup takes it (instance/files/ is one of the backup's parts).
    from flask import current_app

    from kiosk import backup

    member = f"instance/files/evidence/{photo.sha256[:2]}/{photo.sha256}.jpg"
    assert backup.instance_parts(current_app)[member] == path
    other = evidence.prepare(gps_jpeg(colour=(200, 10, 10)))

    def broken(src, dst):
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        evidence.store(other)
    assert stored_files(instance) == [path]  # no temp file, nothing under the new name


def test_recorder_proposes_with_time_place_and_photos_but_cannot_sign_off(
    supermarket, household, recorder, admin
):
    when = datetime(2026, 1, 5, 1, 30)
    data = intake.ProposalInput(
        household.id,
        date(2026, 1, 5),
        amount=3,
        reason="打扫巷道",
        occurred_at=when,
        place="三组",
    )
    photos = [evidence.prepare(gps_jpeg()), evidence.prepare(gps_jpeg(colour=(0, 0, 255)))]
    proposal, created = intake.submit_proposal(
        supermarket.id, data, actor=recorder, idempotency_key="phone:1:abc", photos=photos
    )
    assert created
    again, created = intake.submit_proposal(
        supermarket.id, data, actor=recorder, idempotency_key="phone:1:abc", photos=photos
    )
    assert (again.id, created) == (proposal.id, False)
    assert db.session.scalar(sa.select(sa.func.count(ProposalPhoto.id))) == 2
    assert (proposal.place, proposal.occurred_at) == ("三组", when)
    assert [p.position for p in proposal.photos] == [0, 1]
    with pytest.raises(PermissionDenied):
        intake.approve(proposal.id, actor=recorder)
    with pytest.raises(PermissionDenied):
        intake.reject(proposal.id, actor=recorder, note="不行")
    intake.approve(proposal.id, actor=admin)
    assert household.account.balance == 103


def test_recorders_own_proposal_and_rejected_one_leave_the_ledger_unchanged(
    supermarket, household, admin
):
    second = factories.user("admin2", "admin", supermarket)
    proposal = intake.propose(
        supermarket.id,
        intake.ProposalInput(household.id, date(2026, 1, 5), amount=-5, reason="乱堆柴草"),
        actor=admin,
    )
    with pytest.raises(SelfApprovalRefused):
        intake.approve(proposal.id, actor=admin)
    entries = db.session.scalar(sa.select(sa.func.count(PointEntry.id)))
    intake.reject(proposal.id, actor=second, note="证据不足")
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(PointEntry.id))) == entries
    assert household.account.balance == 100


# API -------------------------------------------------------------------------------------


def test_api_multipart_retry_makes_one_proposal_and_photo_comes_back_without_gps(
    client, supermarket, household, recorder, admin, keeper, supervisor, instance
):
    as_recorder = api_for(client, recorder)
    body = {
        "household_id": household.id,
        "amount": 2,
        "reason": "帮助邻居",
        "occurred_at": "2026-01-05T09:30:00+08:00",
        "place": "二组后巷",
        "location": "31.2345,121.4567",
    }
    r = post_multipart(as_recorder, body, [("a.jpg", gps_jpeg())], key="phone-0001-aaaa")
    assert r.status_code == 201, r.get_json()
    proposal = r.get_json()["proposal"]
    assert proposal["occurred_on"] == "2026-01-05"
    assert proposal["occurred_at"].startswith("2026-01-05T09:30:00")
    assert (proposal["place"], proposal["location"]) == ("二组后巷", "31.2345,121.4567")
    assert len(proposal["photos"]) == 1
    # The phone lost the answer and sends it all again.
    r = post_multipart(as_recorder, body, [("a.jpg", gps_jpeg())], key="phone-0001-aaaa")
    assert r.status_code == 200
    assert r.get_json()["proposal"]["id"] == proposal["id"]
    assert db.session.scalar(sa.select(sa.func.count(PointProposal.id))) == 1
    assert len(stored_files(instance)) == 1

    url = f"/api/v1/proposals/{proposal['id']}/photos/0"
    r = api_for(client, admin).get(url)
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(r.data)) as image:
        assert dict(image.getexif()) == {}
    assert api_for(client, supervisor).get(url).status_code == 200
    for user in (keeper, recorder):  # a keeper, and even the photo's own recorder
        r = api_for(client, user).get(url)
        assert r.status_code == 403 and error_code(r) == "forbidden"
    assert (
        api_for(client, admin).get(f"/api/v1/proposals/{proposal['id']}/photos/3").status_code
        == 404
    )

    # The recorder reads nothing and signs off nothing, not even through the API.
    assert as_recorder.get("/api/v1/proposals").status_code == 403
    assert as_recorder.get(f"/api/v1/households/{household.id}").status_code == 403
    r = as_recorder.post(f"/api/v1/proposals/{proposal['id']}/approve")
    assert r.status_code == 403
    assert as_recorder.post(f"/api/v1/proposals/{proposal['id']}/withdraw").status_code == 200


def test_api_photo_limits_are_clear_and_store_nothing(client, household, recorder, instance):
    api = api_for(client, recorder)
    body = {"household_id": household.id, "amount": 1, "reason": "好人好事"}
    r = post_multipart(api, body, [("huge.png", png_declaring(9000, 9000))])
    assert r.status_code == 413 and error_code(r) == "too_large"
    assert "百万像素" in r.get_json()["error"]["message"]
    r = post_multipart(api, body, [("x.jpg", b"not a photo at all")])
    assert r.status_code == 400 and "不是图片" in r.get_json()["error"]["message"]
    r = post_multipart(api, body, [(f"{n}.jpg", gps_jpeg()) for n in range(5)])
    assert r.status_code == 400 and "最多4张" in r.get_json()["error"]["message"]
    r = api.client.post(
        "/api/v1/proposals",
        data={"photo": (io.BytesIO(gps_jpeg()), "a.jpg")},
        content_type="multipart/form-data",
        headers=api._headers(),
    )
    assert r.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(PointProposal.id))) == 0
    assert stored_files(instance) == []
