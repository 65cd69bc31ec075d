"""Proposals (加减分申请) over the API: two signatures for every award or deduction.

The office's rule (:mod:`kiosk.intake`) holds here too: an admin proposes, and the points count
only when a different admin approves; the recorder may withdraw while pending, anyone else may
reject with a note. Each handler calls the same service as the office, so the audit events are
the office's. A client's retry is safe by its idempotency key (the ``Idempotency-Key`` header
or the ``idempotency_key`` field), stored namespaced by the caller (``api:<user id>:<key>``) so
two users' keys never meet.

The assessment group's phone (issue 19) posts here too, as a recorder (评议员): the body may be
multipart, a ``proposal`` part holding the JSON object and up to four ``photo`` parts
(kiosk.evidence checks, re-encodes without EXIF and stores them). A proposal says where and
when (``occurred_at``, ``place``, ``location``); its photos are served to admins and
supervisors only (``GET /proposals/<id>/photos/<n>``).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import Response, jsonify, request

from kiosk import clock, evidence, intake
from kiosk.api import access, bp, inputs, outputs
from kiosk.authn import current_supermarket_id, require, visible
from kiosk.errors import NotFound, TooLarge
from kiosk.models import (
    PROPOSAL_APPROVED,
    PROPOSAL_PENDING,
    PROPOSAL_REJECTED,
    PROPOSAL_WITHDRAWN,
    PointProposal,
    User,
)
from kiosk.points import MAX_ADJUSTMENT
from kiosk.web.guards import body_limit

STATUSES = (PROPOSAL_PENDING, PROPOSAL_APPROVED, PROPOSAL_REJECTED, PROPOSAL_WITHDRAWN)
MAX_PER_PAGE = 100
MAX_ID = 2**31 - 1  # the database's integer: a larger id cannot name a row
KEY_HEADER = "Idempotency-Key"
PENDING_MESSAGE = "已提交加减分申请：须由另一位管理员确认后才计入积分"
# Four photos at their limit and the multipart envelope around them.
MAX_MULTIPART_BYTES = evidence.MAX_PHOTOS * evidence.MAX_PHOTO_BYTES + 256 * 1024


# Rendering ----------------------------------------------------------------------------------


def render(row: PointProposal, viewer: User) -> dict[str, Any]:
    """A proposal as the API shows it (names as the viewer may see them)."""
    item = row.standard_item
    return {
        "id": row.id,
        "household_id": row.household_id,
        "household_number": row.household.number,
        "head_name": outputs.person_name(row.household.head_name, viewer),
        "member_id": row.member_id,
        "member_name": (
            outputs.person_name(row.member.name, viewer) if row.member is not None else None
        ),
        "standard_item": (
            {"id": item.id, "code": item.code, "title": item.title, "points": item.points}
            if item is not None
            else None
        ),
        "amount": row.amount,
        "occurred_on": row.occurred_on.isoformat(),
        "reason": row.reason,
        "evidence": row.evidence or "",
        "status": row.status,
        "batch_id": row.batch_id,
        "entered_by_id": row.entered_by_id,
        "entered_by": row.entered_by.display_name if row.entered_by is not None else None,
        "entered_at": outputs.iso_local(row.entered_at),
        "decided_by_id": row.decided_by_id,
        "decided_by": row.decided_by.display_name if row.decided_by is not None else None,
        "decided_at": outputs.iso_local(row.decided_at),
        "decision_note": row.decision_note or "",
        "entry_id": row.entry_id,
        "occurred_at": outputs.iso_local(row.occurred_at),
        "place": row.place or "",
        "location": row.location or "",
        "self_reported": bool(row.self_reported),
        "photos": [
            {
                "position": p.position,
                "sha256": p.sha256,
                "size": p.size,
                "width": p.width,
                "height": p.height,
                "content_type": p.content_type,
            }
            for p in row.photos
        ],
    }


def result(row: PointProposal, **extra: Any) -> dict[str, Any]:
    """One proposal with the household's balance now (unchanged until an approval)."""
    return {
        "proposal": render(row, access.me()),
        "account": outputs.account(row.household.account),
        **extra,
    }


# Input --------------------------------------------------------------------------------------


def request_key(body: dict[str, Any]) -> str | None:
    """The client's idempotency key, from the header or the body (the same if both)."""
    field = inputs.idempotency_key(body, required=False)
    raw = request.headers.get(KEY_HEADER)
    if raw is None:
        return field
    header = raw.strip()
    if not inputs.IDEMPOTENCY_KEY_RE.match(header):
        raise inputs.invalid(KEY_HEADER, "应为8到64位字母、数字或 - _ : .")
    if field is not None and field != header:
        raise inputs.invalid("idempotency_key", f"与请求头 {KEY_HEADER} 不一致")
    return header


def stored_key(key: str | None) -> str | None:
    """The key as the proposal stores it: this caller's own namespace."""
    return intake.client_key(access.me().id, key) if key is not None else None


def _id(body: dict[str, Any], field: str, *, required: bool = True) -> int | None:
    return inputs.integer(body, field, minimum=1, maximum=MAX_ID, required=required)


def proposal_input(body: dict[str, Any], key: str | None) -> intake.ProposalInput:
    """The body of POST /proposals as the service's input."""
    household_id = _id(body, "household_id")
    member_id = _id(body, "member_id", required=False)
    item_id = _id(body, "standard_item_id", required=False)
    amount = inputs.integer(
        body, "amount", minimum=-MAX_ADJUSTMENT, maximum=MAX_ADJUSTMENT, required=False
    )
    if amount == 0:
        raise inputs.invalid("amount", "不能为0：加分写正数，扣分写负数")
    if amount is None and item_id is None:
        raise inputs.invalid("amount", "不能为空（或给出积分标准 standard_item_id）")
    reason = inputs.string(body, "reason", required=False, max_len=intake.MAX_REASON)
    evidence_note = inputs.string(body, "evidence", required=False, max_len=intake.MAX_EVIDENCE)
    occurred_at = moment(body, "occurred_at")
    place = inputs.string(body, "place", required=False, max_len=intake.MAX_PLACE)
    location = inputs.string(body, "location", required=False, max_len=intake.MAX_LOCATION)
    if body.get("occurred_on") not in (None, ""):
        occurred_on = inputs.a_date(body, "occurred_on")
    elif occurred_at is not None:
        occurred_on = clock.utc_to_local(occurred_at).date()
    else:
        occurred_on = default_day(key)
    return intake.ProposalInput(
        household_id=household_id,
        occurred_on=occurred_on,
        standard_item_id=item_id,
        amount=amount,
        member_id=member_id,
        reason=reason,
        evidence=evidence_note,
        occurred_at=occurred_at,
        place=place,
        location=location,
    )


def moment(body: dict[str, Any], field: str) -> datetime | None:
    """An ISO 8601 time (with an offset, or local wall-clock time without one) as naive UTC,
    to the second; None when left out."""
    raw = body.get(field)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise inputs.invalid(field, "应为 ISO 8601 时间，例如 2026-12-06T09:30:00+08:00")
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise inputs.invalid(field, "应为 ISO 8601 时间，例如 2026-12-06T09:30:00+08:00") from None
    if parsed.tzinfo is None:
        return clock.local_to_utc(parsed).replace(microsecond=0)
    offset = parsed.utcoffset()
    return (parsed.replace(tzinfo=None) - offset).replace(microsecond=0)


def request_body() -> tuple[dict[str, Any], list[evidence.Photo]]:
    """The proposal's fields and its photos: JSON, or multipart with a ``proposal`` part (the
    same JSON object) and up to four ``photo`` parts, each checked and re-encoded."""
    if request.mimetype != "multipart/form-data":
        return inputs.json_body(), []
    raw = request.form.get("proposal")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise inputs.invalid("proposal", "multipart 请求须有 proposal 部分（JSON对象）")
    uploads = [f for f in request.files.getlist("photo") if f and f.filename is not None]
    if len(uploads) > evidence.MAX_PHOTOS:
        raise inputs.invalid("photo", f"最多{evidence.MAX_PHOTOS}张照片")
    photos = []
    for upload in uploads:
        data = upload.read(evidence.MAX_PHOTO_BYTES + 1)
        if len(data) > evidence.MAX_PHOTO_BYTES:
            raise TooLarge(
                f"照片 {upload.filename} 太大：每张最大 "
                f"{evidence.MAX_PHOTO_BYTES // (1024 * 1024)} MB"
            )
        photos.append(evidence.prepare(data, name=upload.filename or ""))
    return body, photos


def default_day(key: str | None) -> date:
    """Today, for a request that names no day; a retry keeps the day its first copy got (a
    retry after midnight is the same request)."""
    existing = intake.find_by_key(key) if key is not None else None
    return existing.occurred_on if existing is not None else clock.local_now().date()


def proposal(proposal_id: int) -> PointProposal:
    """A proposal of this supermarket, or 404 (another supermarket's do not exist here)."""
    row = intake.find_proposal(proposal_id) if proposal_id <= MAX_ID else None
    if row is None or not visible(row.supermarket_id):
        raise NotFound("没有找到该加减分申请")
    return row


def _optional_body() -> dict[str, Any]:
    return inputs.json_body() if request.get_data() else {}


# Routes -------------------------------------------------------------------------------------


@bp.post("/proposals")
@body_limit(MAX_MULTIPART_BYTES)
@require("proposal.create")
def create_proposal():
    """Propose an award or deduction (201); a retry with the same key returns it (200)."""
    body, photos = request_body()
    key = stored_key(request_key(body))
    data = proposal_input(body, key)
    row, created = intake.submit_proposal(
        current_supermarket_id(), data, actor=access.me(), idempotency_key=key, photos=photos
    )
    return jsonify(result(row)), 201 if created else 200


@bp.get("/proposals")
@require("proposal.read")
def list_proposals():
    """This supermarket's proposals, newest first, filtered by ``status`` and ``household_id``."""
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise inputs.invalid("status", "只能是 " + " 或 ".join(STATUSES))
    household_id = inputs.query_int("household_id", default=0, minimum=1, maximum=MAX_ID)
    page = inputs.query_int("page", default=1, minimum=1, maximum=100_000)
    per_page = inputs.query_int("per_page", default=20, minimum=1, maximum=MAX_PER_PAGE)
    rows, total = intake.proposals_page(
        current_supermarket_id(),
        status=status,
        household_id=household_id,
        page=page,
        per_page=per_page,
    )
    viewer = access.me()
    return jsonify(
        {
            "proposals": [render(p, viewer) for p in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


@bp.get("/proposals/<int:proposal_id>")
@require("proposal.read")
def get_proposal(proposal_id: int):
    """One proposal with its household's balance."""
    return jsonify(result(proposal(proposal_id)))


@bp.post("/proposals/<int:proposal_id>/approve")
@require("proposal.decide")
def approve_proposal(proposal_id: int):
    """Sign off another admin's proposal: its one ledger entry is posted now."""
    note = inputs.string(_optional_body(), "note", required=False, max_len=intake.MAX_NOTE)
    row = proposal(proposal_id)
    row = intake.approve(
        row.id, actor=access.me(), note=note, supermarket_id=current_supermarket_id()
    )
    return jsonify(result(row))


@bp.post("/proposals/<int:proposal_id>/reject")
@require("proposal.decide")
def reject_proposal(proposal_id: int):
    """Turn down another admin's proposal, with a note saying why (nothing is posted)."""
    note = inputs.string(inputs.json_body(), "note", max_len=intake.MAX_NOTE)
    row = proposal(proposal_id)
    row = intake.reject(
        row.id, actor=access.me(), note=note, supermarket_id=current_supermarket_id()
    )
    return jsonify(result(row))


@bp.post("/proposals/<int:proposal_id>/withdraw")
@require("proposal.create")
def withdraw_proposal(proposal_id: int):
    """The recorder takes back a pending proposal of their own."""
    row = proposal(proposal_id)
    row = intake.withdraw(row.id, actor=access.me(), supermarket_id=current_supermarket_id())
    return jsonify(result(row))


@bp.get("/proposals/<int:proposal_id>/photos/<int:position>")
@require("proposal.read")
def proposal_photo(proposal_id: int, position: int):
    """One evidence photo of a proposal (JPEG without EXIF), for admins and supervisors."""
    row = proposal(proposal_id)
    photo = next((p for p in row.photos if p.position == position), None)
    if photo is None:
        raise NotFound("没有找到该照片")
    response = Response(evidence.read(photo), mimetype=photo.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["ETag"] = f'"{photo.sha256}"'
    return response
