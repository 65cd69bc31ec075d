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
from datetime import UTC, date, datetime
from typing import Annotated, Any

from flask import Response, request
from flask_babel import gettext, lazy_gettext
from pydantic import Field, PlainValidator, WithJsonSchema, field_validator

from kiosk import clock, evidence, intake
from kiosk.api import access, answers, contract, outputs
from kiosk.authn import current_supermarket_id, visible
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
PENDING_MESSAGE = lazy_gettext("已提交加减分申请：须由另一位管理员确认后才计入积分")
# Four photos at their limit and the multipart envelope around them.
MAX_MULTIPART_BYTES = evidence.MAX_PHOTOS * evidence.MAX_PHOTO_BYTES + 256 * 1024

KEY_HEADER_PARAM = {
    "name": KEY_HEADER,
    "in": "header",
    "required": False,
    "schema": {"$ref": "#/components/schemas/IdempotencyKey"},
    "description": "请求编号：重试时带同一个，不会重复提交",
}
PHOTOS = (
    f"照片：用 multipart/form-data 提交，`proposal` 部分是同样的JSON对象，另附最多"
    f"{evidence.MAX_PHOTOS}个 `photo` 部分（JPEG、PNG 或 WebP，每张不超过 "
    f"{evidence.MAX_PHOTO_BYTES // (1024 * 1024)} MB、"
    f"{evidence.MAX_PHOTO_PIXELS // 1_000_000} 百万像素，否则 413 `too_large`；不是图片为 400）。"
    "服务器把照片缩到最长边1600像素、重新编码为不带EXIF（含GPS位置）的JPEG，按内容哈希保存；"
    "只有管理员和监督小组能看（GET /api/v1/proposals/{proposal_id}/photos/{position}）。"
)
TWO_SIGNATURES = (
    "两人签字：申请只有在另一位管理员确认（approve）后才计入积分；录入人不能确认自己的申请"
    "（403 `self_approval`），可在待确认时撤回（withdraw）；其他管理员可附说明退回（reject）。"
)
RETRY = (
    f"幂等：请求头 `{KEY_HEADER}` 或字段 `idempotency_key`（两者都给时必须相同）。"
    "同一用户用同一编号重试同一请求，返回 200 和原来的申请，不会产生第二笔；"
    "同一编号用于不同请求返回 409 `idempotency_conflict`。不同用户的编号互不影响。"
)
MULTIPART = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {
                "proposal": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": "ProposalInput 的JSON",
                },
                "photo": {
                    "type": "array",
                    "maxItems": evidence.MAX_PHOTOS,
                    "items": {"type": "string", "format": "binary"},
                },
            },
            "required": ["proposal"],
        }
    }
}


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


def _not_a_moment() -> Exception:
    return contract.refusal(gettext("应为 ISO 8601 时间，例如 2026-12-06T09:30:00+08:00"))


def _moment(raw: Any) -> datetime | None:
    """An ISO 8601 time (with an offset, or local wall-clock time without one) as naive UTC,
    to the second; None when left out."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise _not_a_moment()
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _not_a_moment() from None
    if parsed.tzinfo is None:
        return clock.local_to_utc(parsed).replace(microsecond=0)
    return parsed.astimezone(UTC).replace(tzinfo=None, microsecond=0)


Moment = Annotated[
    datetime | None,
    PlainValidator(_moment),
    WithJsonSchema(
        {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "发生时间（ISO 8601；不带时区时为本地时间）；不填 occurred_on 时取其日期",
        }
    ),
]


class ProposalInput(contract.Body):
    """积分标准（standard_item_id）和分值（amount）至少给一个"""

    idempotency_key: contract.IdempotencyKey | None = None
    household_id: contract.ID
    member_id: contract.ID | None = None
    standard_item_id: contract.ID | None = None
    amount: Annotated[int, contract.Whole(-MAX_ADJUSTMENT, MAX_ADJUSTMENT)] | None = Field(
        None,
        description="带符号：加分为正，扣分为负；不填时取积分标准的分值",
        json_schema_extra={"not": {"const": 0}},
    )
    reason: Annotated[str, contract.Text(intake.MAX_REASON, required=False, multiline=True)] = (
        Field("", description="事由；不填时为“标准N：<标准内容>”")
    )
    evidence: Annotated[str, contract.Text(intake.MAX_EVIDENCE, required=False)] = Field(
        "", description="证明材料说明"
    )
    occurred_at: Moment = None
    place: Annotated[str, contract.Text(intake.MAX_PLACE, required=False)] = Field(
        "", description="地点（村民小组、巷道）"
    )
    location: Annotated[str, contract.Text(intake.MAX_LOCATION, required=False)] = Field(
        "", description="手机定位“纬度,经度”（仅在评议员允许时）"
    )
    occurred_on: Annotated[
        date | None, contract.Day(required=False, description="发生日期（不晚于今天），不填为今天")
    ] = None

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int | None) -> int | None:
        if value == 0:
            raise contract.refusal(gettext("不能为0：加分写正数，扣分写负数"))
        return value


class ProposalQuery(contract.Query):
    status: Annotated[str | None, contract.Choice(*STATUSES)] = Field(
        None, description="只列该状态"
    )
    household_id: Annotated[int | None, contract.QueryWhole(1, MAX_ID)] = Field(
        None, description="只列该户"
    )
    page: Annotated[int, contract.QueryWhole(1, 100_000)] = Field(1, description="页码")
    per_page: Annotated[int, contract.QueryWhole(1, MAX_PER_PAGE)] = Field(
        20, description="每页条数"
    )


class ApproveInput(contract.Body):
    note: Annotated[str, contract.Text(intake.MAX_NOTE, required=False, multiline=True)] = ""


class RejectInput(contract.Body):
    note: Annotated[str, contract.Text(intake.MAX_NOTE, multiline=True)]


def request_key(field: str | None) -> str | None:
    """The client's idempotency key, from the header or the body's field (the same if both)."""
    raw = request.headers.get(KEY_HEADER)
    if raw is None:
        return field
    header = raw.strip()
    if not contract.IDEMPOTENCY_KEY_RE.match(header):
        raise contract.invalid(KEY_HEADER, contract.idempotency_key_message())
    if field is not None and field != header:
        raise contract.invalid(
            "idempotency_key", gettext("与请求头 %(header)s 不一致", header=KEY_HEADER)
        )
    return header


def stored_key(key: str | None) -> str | None:
    """The key as the proposal stores it: this caller's own namespace."""
    return intake.client_key(access.me().id, key) if key is not None else None


def proposal_input(body: ProposalInput, key: str | None) -> intake.ProposalInput:
    """The body of POST /proposals as the service's input."""
    if body.amount is None and body.standard_item_id is None:
        raise contract.invalid("amount", gettext("不能为空（或给出积分标准 standard_item_id）"))
    if body.occurred_on is not None:
        occurred_on = body.occurred_on
    elif body.occurred_at is not None:
        occurred_on = clock.utc_to_local(body.occurred_at).date()
    else:
        occurred_on = default_day(key)
    return intake.ProposalInput(
        household_id=body.household_id,
        occurred_on=occurred_on,
        standard_item_id=body.standard_item_id,
        amount=body.amount,
        member_id=body.member_id,
        reason=body.reason,
        evidence=body.evidence,
        occurred_at=body.occurred_at,
        place=body.place,
        location=body.location,
    )


def request_body() -> tuple[dict[str, Any], list[evidence.Photo]]:
    """The proposal's fields and its photos: JSON, or multipart with a ``proposal`` part (the
    same JSON object) and up to four ``photo`` parts, each checked and re-encoded."""
    if request.mimetype != "multipart/form-data":
        return contract.json_object(), []
    raw = request.form.get("proposal")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise contract.invalid("proposal", gettext("multipart 请求须有 proposal 部分（JSON对象）"))
    uploads = [f for f in request.files.getlist("photo") if f and f.filename is not None]
    if len(uploads) > evidence.MAX_PHOTOS:
        raise contract.invalid("photo", gettext("最多%(n)s张照片", n=evidence.MAX_PHOTOS))
    photos = []
    for upload in uploads:
        data = upload.read(evidence.MAX_PHOTO_BYTES + 1)
        if len(data) > evidence.MAX_PHOTO_BYTES:
            raise TooLarge(
                gettext(
                    "照片 %(name)s 太大：每张最大 %(mb)s MB",
                    name=upload.filename,
                    mb=evidence.MAX_PHOTO_BYTES // (1024 * 1024),
                )
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
        raise NotFound(gettext("没有找到该加减分申请"))
    return row


# Routes -------------------------------------------------------------------------------------


@contract.route(
    "POST",
    "/proposals",
    summary="提交加减分申请（须另一位管理员确认）",
    tag="proposals",
    action="proposal.create",
    body=ProposalInput,
    parse_body=False,  # JSON, or multipart with its photos
    ok=(201, answers.ProposalResult, "新的待确认申请；积分账户不变"),
    also_ok=((200, answers.ProposalResult, "重试：原来的申请（状态可能已变）"),),
    errors=("not_found", "idempotency_conflict"),
    params=(KEY_HEADER_PARAM,),
    description=TWO_SIGNATURES + "\n\n" + RETRY + "\n\n" + PHOTOS,
    openapi={"requestBody": {"content": MULTIPART}},
)
@body_limit(MAX_MULTIPART_BYTES)
def create_proposal():
    """Propose an award or deduction (201); a retry with the same key returns it (200)."""
    raw, photos = request_body()
    body = contract.parse(ProposalInput, raw)
    key = stored_key(request_key(body.idempotency_key))
    data = proposal_input(body, key)
    row, created = intake.submit_proposal(
        current_supermarket_id(), data, actor=access.me(), idempotency_key=key, photos=photos
    )
    return result(row), (201 if created else 200)


@contract.route(
    "GET",
    "/proposals",
    summary="加减分申请列表（最新在前，分页）",
    tag="proposals",
    action="proposal.read",
    query=ProposalQuery,
    ok=(200, answers.ProposalPage, "一页申请"),
)
def list_proposals(query: ProposalQuery):
    """This supermarket's proposals, newest first, filtered by ``status`` and ``household_id``."""
    page, per_page = query.page, query.per_page
    rows, total = intake.proposals_page(
        current_supermarket_id(),
        status=query.status,
        household_id=query.household_id or 0,
        page=page,
        per_page=per_page,
    )
    viewer = access.me()
    return {
        "proposals": [render(p, viewer) for p in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


@contract.route(
    "GET",
    "/proposals/<int:proposal_id>",
    summary="一笔加减分申请和该户当前积分",
    tag="proposals",
    action="proposal.read",
    ok=(200, answers.ProposalResult, "申请"),
    errors=("not_found",),
)
def get_proposal(proposal_id: int):
    """One proposal with its household's balance."""
    return result(proposal(proposal_id))


@contract.route(
    "POST",
    "/proposals/<int:proposal_id>/approve",
    summary="确认（签字）另一位管理员的申请：记入一条积分记录",
    tag="proposals",
    action="proposal.decide",
    body=ApproveInput,
    body_required=False,  # the note is optional, and so is the body
    ok=(200, answers.ProposalResult, "已确认的申请和记入后的积分"),
    errors=("not_found", "already_decided", "self_approval"),
    description=TWO_SIGNATURES + "\n\n请求内容可以为空。已处理过的申请返回 409 `already_decided`。",
)
def approve_proposal(proposal_id: int, body: ApproveInput):
    """Sign off another admin's proposal: its one ledger entry is posted now."""
    row = proposal(proposal_id)
    row = intake.approve(
        row.id, actor=access.me(), note=body.note, supermarket_id=current_supermarket_id()
    )
    return result(row)


@contract.route(
    "POST",
    "/proposals/<int:proposal_id>/reject",
    summary="退回另一位管理员的申请（须写明原因，不记积分）",
    tag="proposals",
    action="proposal.decide",
    body=RejectInput,
    ok=(200, answers.ProposalResult, "已退回的申请"),
    errors=("not_found", "already_decided", "self_approval"),
)
def reject_proposal(proposal_id: int, body: RejectInput):
    """Turn down another admin's proposal, with a note saying why (nothing is posted)."""
    row = proposal(proposal_id)
    row = intake.reject(
        row.id, actor=access.me(), note=body.note, supermarket_id=current_supermarket_id()
    )
    return result(row)


@contract.route(
    "POST",
    "/proposals/<int:proposal_id>/withdraw",
    summary="录入人撤回自己待确认的申请",
    tag="proposals",
    action="proposal.create",
    ok=(200, answers.ProposalResult, "已撤回的申请"),
    errors=("not_found", "already_decided"),
    description="只有录入人可以撤回（其他人 403 `forbidden`）；不需要请求内容。",
)
def withdraw_proposal(proposal_id: int):
    """The recorder takes back a pending proposal of their own."""
    row = proposal(proposal_id)
    row = intake.withdraw(row.id, actor=access.me(), supermarket_id=current_supermarket_id())
    return result(row)


@contract.route(
    "GET",
    "/proposals/<int:proposal_id>/photos/<int:position>",
    summary="申请的一张佐证照片（JPEG，不带EXIF）",
    tag="proposals",
    action="proposal.read",
    ok=(200, None, "照片"),
    errors=("not_found",),
    params=(
        {
            "name": "position",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": evidence.MAX_PHOTOS - 1},
            "description": "照片的序号（从0开始）",
        },
    ),
    openapi={
        "responses": {
            "200": {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
        }
    },
)
def proposal_photo(proposal_id: int, position: int):
    """One evidence photo of a proposal (JPEG without EXIF), for admins and supervisors."""
    row = proposal(proposal_id)
    photo = next((p for p in row.photos if p.position == position), None)
    if photo is None:
        raise NotFound(gettext("没有找到该照片"))
    response = Response(evidence.read(photo), mimetype=photo.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["ETag"] = f'"{photo.sha256}"'
    return response
