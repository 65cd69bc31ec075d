"""The OpenAPI paths and schemas of the proposals (two signatures for every award).

Kept apart from the hand-written :mod:`kiosk.api.openapi` and merged into its document by
:func:`merge`, which that module calls once its document exists. Its helpers are taken from it
at that moment (not at import), so the two modules do not import each other at load time.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from kiosk.api.proposals import KEY_HEADER, MAX_ID, MAX_PER_PAGE, STATUSES
from kiosk.evidence import MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS, MAX_PHOTOS
from kiosk.intake import MAX_EVIDENCE, MAX_LOCATION, MAX_NOTE, MAX_PLACE, MAX_REASON
from kiosk.points import MAX_ADJUSTMENT

KEY_PATTERN = "^[A-Za-z0-9_\\-:.]{8,64}$"
KEY_HEADER_PARAM = {
    "name": KEY_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": KEY_PATTERN},
    "description": "请求编号：重试时带同一个，不会重复提交",
}
WRITERS = "admin"
READERS = "admin, supervisor"
CREATORS = "admin, recorder"
PHOTOS = (
    f"照片：用 multipart/form-data 提交，`proposal` 部分是同样的JSON对象，另附最多{MAX_PHOTOS}个 "
    f"`photo` 部分（JPEG、PNG 或 WebP，每张不超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB、"
    f"{MAX_PHOTO_PIXELS // 1_000_000} 百万像素，否则 413 `too_large`；不是图片为 400）。"
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


def _schemas(doc: ModuleType) -> dict[str, Any]:
    obj, ref = doc._obj, doc._ref
    INT, STR, DATETIME = doc.INT, doc.STR, doc.DATETIME  # noqa: N806
    NULLABLE_STR, NULLABLE_INT = doc.NULLABLE_STR, doc.NULLABLE_INT  # noqa: N806
    nullable_id = {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID}
    return {
        "ProposalInput": obj(
            {
                "household_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "member_id": nullable_id,
                "standard_item_id": nullable_id,
                "amount": {
                    "type": ["integer", "null"],
                    "minimum": -MAX_ADJUSTMENT,
                    "maximum": MAX_ADJUSTMENT,
                    "not": {"const": 0},
                    "description": "带符号：加分为正，扣分为负；不填时取积分标准的分值",
                },
                "occurred_on": {
                    "type": ["string", "null"],
                    "format": "date",
                    "description": "发生日期（不晚于今天），不填为今天",
                },
                "reason": {
                    "type": ["string", "null"],
                    "maxLength": MAX_REASON,
                    "description": "事由；不填时为“标准N：<标准内容>”",
                },
                "evidence": {
                    "type": ["string", "null"],
                    "maxLength": MAX_EVIDENCE,
                    "description": "证明材料说明",
                },
                "occurred_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "发生时间（ISO 8601；不带时区时为本地时间）；"
                    "不填 occurred_on 时取其日期",
                },
                "place": {
                    "type": ["string", "null"],
                    "maxLength": MAX_PLACE,
                    "description": "地点（村民小组、巷道）",
                },
                "location": {
                    "type": ["string", "null"],
                    "maxLength": MAX_LOCATION,
                    "description": "手机定位“纬度,经度”（仅在评议员允许时）",
                },
                "idempotency_key": {"type": ["string", "null"], "pattern": KEY_PATTERN},
            },
            required=["household_id"],
            description="积分标准（standard_item_id）和分值（amount）至少给一个",
        ),
        "PointsProposalInput": obj(
            {
                "kind": {"type": "string", "enum": ["award", "deduct"]},
                "amount": {"type": "integer", "minimum": 1, "maximum": MAX_ADJUSTMENT},
                "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON},
                "idempotency_key": {"type": ["string", "null"], "pattern": KEY_PATTERN},
            },
            required=["kind", "amount", "reason"],
            description="加分（award）或扣分（deduct）的分值写正数；提交为待确认的申请",
        ),
        "StandardItemBrief": obj({"id": INT, "code": STR, "title": STR, "points": INT}),
        "ProposalPhoto": obj(
            {
                "position": INT,
                "sha256": STR,
                "size": INT,
                "width": INT,
                "height": INT,
                "content_type": STR,
            }
        ),
        "ProposalMultipart": {
            "type": "object",
            "properties": {
                "proposal": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": "ProposalInput 的JSON",
                },
                "photo": {
                    "type": "array",
                    "maxItems": MAX_PHOTOS,
                    "items": {"type": "string", "format": "binary"},
                },
            },
            "required": ["proposal"],
        },
        "Proposal": obj(
            {
                "id": INT,
                "household_id": INT,
                "household_number": STR,
                "head_name": STR,
                "member_id": NULLABLE_INT,
                "member_name": NULLABLE_STR,
                "standard_item": {"oneOf": [ref("StandardItemBrief"), {"type": "null"}]},
                "amount": {"type": "integer", "description": "带符号：加分为正，扣分为负"},
                "occurred_on": {"type": "string", "format": "date"},
                "reason": STR,
                "evidence": STR,
                "status": {"type": "string", "enum": list(STATUSES)},
                "batch_id": NULLABLE_INT,
                "entered_by_id": NULLABLE_INT,
                "entered_by": NULLABLE_STR,
                "entered_at": DATETIME,
                "decided_by_id": NULLABLE_INT,
                "decided_by": NULLABLE_STR,
                "decided_at": DATETIME,
                "decision_note": STR,
                "entry_id": {
                    "type": ["integer", "null"],
                    "description": "确认后记入的积分记录（只有一条）",
                },
                "occurred_at": DATETIME,
                "place": STR,
                "location": STR,
                "self_reported": {"type": "boolean", "description": "群众自主申报"},
                "photos": {"type": "array", "items": ref("ProposalPhoto")},
            }
        ),
        "ProposalResult": obj(
            {
                "proposal": ref("Proposal"),
                "account": ref("Account"),
                "message": {"type": "string", "description": "提示：须由另一位管理员确认"},
            },
            required=["proposal", "account"],
        ),
        "ProposalPage": obj(
            {
                "proposals": {"type": "array", "items": ref("Proposal")},
                "page": INT,
                "per_page": INT,
                "total": INT,
            }
        ),
        "ApproveInput": obj(
            {"note": {"type": ["string", "null"], "maxLength": MAX_NOTE}}, required=[]
        ),
        "RejectInput": obj({"note": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE}}),
    }


def _paths(doc: ModuleType) -> dict[str, Any]:
    op, path_id, query, json, ref = doc._op, doc._path_id, doc._query, doc._json, doc._ref
    COMMON, WRITE = doc.COMMON_CODES, doc.WRITE_CODES  # noqa: N806
    proposal_id = path_id("proposal_id", "加减分申请的编号（id）")
    decided = (*WRITE, "not_found", "already_decided")

    def retried(operation: dict[str, Any], text: str) -> dict[str, Any]:
        operation["responses"]["200"] = {
            "description": text,
            "content": json(ref("ProposalResult")),
        }
        return operation

    create = op(
        "提交加减分申请（须另一位管理员确认）",
        "proposals",
        (201, "ProposalResult", "新的待确认申请；积分账户不变"),
        codes=(*WRITE, "not_found", "idempotency_conflict"),
        body="ProposalInput",
        roles=CREATORS,
        params=[KEY_HEADER_PARAM],
        description=TWO_SIGNATURES + "\n\n" + RETRY + "\n\n" + PHOTOS,
    )
    create["requestBody"]["content"]["multipart/form-data"] = {"schema": ref("ProposalMultipart")}
    photo = op(
        "申请的一张佐证照片（JPEG，不带EXIF）",
        "proposals",
        (200, "Error", "照片"),
        codes=(*COMMON, "not_found"),
        roles=READERS,
        params=[
            proposal_id,
            path_id("position", "照片的序号（从0开始）")
            | {"schema": {"type": "integer", "minimum": 0, "maximum": MAX_PHOTOS - 1}},
        ],
    )
    photo["responses"]["200"] = {
        "description": "照片",
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    }
    approve = op(
        "确认（签字）另一位管理员的申请：记入一条积分记录",
        "proposals",
        (200, "ProposalResult", "已确认的申请和记入后的积分"),
        codes=(*decided, "self_approval"),
        body="ApproveInput",
        roles=WRITERS,
        params=[proposal_id],
        description=TWO_SIGNATURES
        + "\n\n请求内容可以为空。已处理过的申请返回 409 `already_decided`。",
    )
    approve["requestBody"]["required"] = False  # the note is optional, and so is the body
    return {
        "/api/v1/proposals": {
            "get": op(
                "加减分申请列表（最新在前，分页）",
                "proposals",
                (200, "ProposalPage", "一页申请"),
                codes=("invalid_request", *COMMON),
                roles=READERS,
                params=[
                    query("status", {"type": "string", "enum": list(STATUSES)}, "只列该状态"),
                    query(
                        "household_id",
                        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        "只列该户",
                    ),
                    query(
                        "page",
                        {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1},
                        "页码",
                    ),
                    query(
                        "per_page",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                        "每页条数",
                    ),
                ],
            ),
            "post": retried(create, "重试：原来的申请（状态可能已变）"),
        },
        "/api/v1/proposals/{proposal_id}": {
            "get": op(
                "一笔加减分申请和该户当前积分",
                "proposals",
                (200, "ProposalResult", "申请"),
                codes=(*COMMON, "not_found"),
                roles=READERS,
                params=[proposal_id],
            )
        },
        "/api/v1/proposals/{proposal_id}/approve": {"post": approve},
        "/api/v1/proposals/{proposal_id}/reject": {
            "post": op(
                "退回另一位管理员的申请（须写明原因，不记积分）",
                "proposals",
                (200, "ProposalResult", "已退回的申请"),
                codes=(*decided, "self_approval"),
                body="RejectInput",
                roles=WRITERS,
                params=[proposal_id],
            )
        },
        "/api/v1/proposals/{proposal_id}/withdraw": {
            "post": op(
                "录入人撤回自己待确认的申请",
                "proposals",
                (200, "ProposalResult", "已撤回的申请"),
                codes=decided,
                roles=CREATORS,
                params=[proposal_id],
                description="只有录入人可以撤回（其他人 403 `forbidden`）；不需要请求内容。",
            )
        },
        "/api/v1/proposals/{proposal_id}/photos/{position}": {"get": photo},
    }


def _points_post(doc: ModuleType) -> dict[str, Any]:
    operation = doc._op(
        "加分或扣分：提交加减分申请（须另一位管理员确认）",
        "points",
        (202, "ProposalResult", "新的待确认申请；积分账户不变，message 提示须另一位管理员确认"),
        codes=(*doc.WRITE_CODES, "not_found", "idempotency_conflict"),
        body="PointsProposalInput",
        roles=WRITERS,
        params=[doc.HOUSEHOLD_ID, KEY_HEADER_PARAM],
        description=(
            "不再直接记入积分：与 POST /api/v1/proposals 相同，提交一笔发生日期为今天的申请，"
            "确认前积分不变。\n\n" + TWO_SIGNATURES + "\n\n" + RETRY
        ),
    )
    operation["responses"]["200"] = {
        "description": "重试：原来的申请（状态可能已变）",
        "content": doc._json(doc._ref("ProposalResult")),
    }
    return operation


def merge(document: dict[str, Any]) -> None:
    """Add the proposals to the document (its paths, schemas and tags), and document the
    points route as the proposal it now makes."""
    from kiosk.api import openapi as doc  # the helpers; called once they exist

    document["components"]["schemas"].update(_schemas(doc))
    document["paths"].update(_paths(doc))
    document["paths"]["/api/v1/households/{household_id}/points"]["post"] = _points_post(doc)
    tags = document.setdefault("tags", [])
    if not any(t["name"] == "proposals" for t in tags):
        tags.append({"name": "proposals", "description": "加减分申请：提交、确认、退回、撤回"})
