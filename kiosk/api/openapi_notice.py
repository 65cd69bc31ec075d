"""The OpenAPI paths and schemas of the quarterly ranking and notice (公示), read only.

Merged into :mod:`kiosk.api.openapi`'s document by :func:`merge`, the way
:mod:`kiosk.api.openapi_proposals` is; the helpers are taken from that module when it calls.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from kiosk.models import NOTICE_PUBLISHED, NOTICE_SUPERSEDED
from kiosk.notice import BASIS_POINTS, BASIS_SCORE, CHART_BANDS, CHART_PYRAMID, CHART_STARS

READERS = "keeper, admin, supervisor"
MASKED = (
    "姓名和户号按公示张贴的样子遮挡（如“张*明”），与公示页面相同；不含联系方式。"
    "草稿和放弃的草稿不在这里（404 `not_found`）。"
)


def _schemas(doc: ModuleType) -> dict[str, Any]:
    obj, ref = doc._obj, doc._ref
    INT, STR, BOOL = doc.INT, doc.STR, doc.BOOL  # noqa: N806
    NULLABLE_STR, NULLABLE_INT, DATETIME = doc.NULLABLE_STR, doc.NULLABLE_INT, doc.DATETIME  # noqa: N806
    day = {"type": "string", "format": "date"}
    status = {"type": "string", "enum": [NOTICE_PUBLISHED, NOTICE_SUPERSEDED]}
    summary = {
        "id": doc.ID,
        "period": {"type": "string", "description": "季度如 2026Q4，或月份如 2026-11"},
        "period_label": STR,
        "revision": NULLABLE_INT,
        "status": status,
        "published_at": DATETIME,
    }
    return {
        "NoticeSummary": obj(summary),
        "NoticeList": obj({"notices": {"type": "array", "items": ref("NoticeSummary")}}),
        "RankingMember": obj(
            {
                "name": {"type": "string", "description": "遮挡后的姓名"},
                "score": {"type": ["number", "null"]},
                "tier": NULLABLE_STR,
            }
        ),
        "RankingRow": obj(
            {
                "rank": {
                    "type": ["integer", "null"],
                    "description": "名次（并列同名次；无分为空）",
                },
                "number": {"type": "string", "description": "遮挡后的户号"},
                "name": {"type": "string", "description": "户主姓名，遮挡如公示"},
                "period_points": INT,
                "total_points": INT,
                "score": {"type": ["string", "null"], "description": "评分（如 87.5）"},
                "tier": NULLABLE_STR,
                "stars": INT,
                "red": {**BOOL, "description": "是否上红榜"},
                "members": {"type": ["array", "null"], "items": ref("RankingMember")},
            }
        ),
        "ChartBar": obj(
            {
                "label": STR,
                "count": INT,
                "range": STR,
                "stars": NULLABLE_INT,
            }
        ),
        "Ranking": obj(
            {
                "period": STR,
                "period_label": STR,
                "kind": {"type": "string", "enum": ["quarter", "month"]},
                "from": day,
                "through": day,
                "complete": BOOL,
                "policy_name": STR,
                "basis": {"type": "string", "enum": [BASIS_POINTS, BASIS_SCORE]},
                "red_ranks": INT,
                "rows": {"type": "array", "items": ref("RankingRow")},
                "red_list": {"type": "array", "items": ref("RankingRow")},
                "chart": obj(
                    {
                        "kind": {
                            "type": "string",
                            "enum": [CHART_STARS, CHART_PYRAMID, CHART_BANDS],
                        },
                        "bars": {"type": "array", "items": ref("ChartBar")},
                    }
                ),
            }
        ),
        "NoticeDetail": obj(
            {
                **summary,
                "note": {"type": "string", "description": "修订说明"},
                "as_of": DATETIME,
                "content_hash": STR,
                "supersedes_id": NULLABLE_INT,
                "ranking": ref("Ranking"),
            }
        ),
        "RankingNow": obj(
            {
                "published_notice_id": NULLABLE_INT,
                "ranking": ref("Ranking"),
            }
        ),
    }


def _paths(doc: ModuleType) -> dict[str, Any]:
    op, path_id, query = doc._op, doc._path_id, doc._query
    COMMON = doc.COMMON_CODES  # noqa: N806
    return {
        "/api/v1/notices": {
            "get": op(
                "本超市已发布的公示（期间、版本、发布时间）",
                "notices",
                (200, "NoticeList", "已发布的公示，最近的期间在前；被修订版取代的标为 superseded"),
                roles=READERS,
                description=MASKED,
            )
        },
        "/api/v1/notices/{notice_id}": {
            "get": op(
                "一份已发布的公示：排名、红榜和分布图，与发布时相同",
                "notices",
                (200, "NoticeDetail", "发布时冻结的内容"),
                codes=(*COMMON, "not_found"),
                roles=READERS,
                params=[path_id("notice_id", "公示的编号（id）")],
                description=MASKED + "别的超市的公示同样 404。",
            )
        },
        "/api/v1/ranking": {
            "get": op(
                "某期间现在的排名（按台账现算，不保存、不是公示）",
                "notices",
                (200, "RankingNow", "现算的排名；published_notice_id 是该期间已发布的公示"),
                codes=(*COMMON, "invalid_request"),
                roles=READERS,
                params=[
                    query(
                        "period",
                        {"type": "string"},
                        "季度如 2026Q4，或月份如 2026-11；不给时为本超市规则当前的期间",
                    )
                ],
                description="期间格式不对、还没开始，或与本超市评分周期不符时 400 `invalid_request`。"
                + "姓名遮挡与公示相同。",
            )
        },
    }


def merge(document: dict[str, Any]) -> None:
    """Add the notice routes to the document (paths, schemas and the tag)."""
    from kiosk.api import openapi as doc  # the helpers; called once they exist

    document["components"]["schemas"].update(_schemas(doc))
    document["paths"].update(_paths(doc))
    tags = document.setdefault("tags", [])
    if not any(t["name"] == "notices" for t in tags):
        tags.append({"name": "notices", "description": "季度排名与公示（只读）"})
