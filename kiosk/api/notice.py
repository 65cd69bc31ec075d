"""The quarterly ranking and notice (公示) over the API, read only.

A published notice is frozen (kiosk.notice): the API shows it as published, with the names
masked as on the posted notice, its red list (红榜) and its chart (stars, pyramid or points
bands). Drafts and discarded drafts are the office's working copies and are not shown here.
The ranking of a period as the ledgers give it now is computed by the same service that drafts
a notice, without storing anything. Keepers, admins and supervisors read; nobody writes.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask_babel import gettext
from pydantic import Field
from pydantic.json_schema import JsonDict

from kiosk import clock, notice, rules
from kiosk.api import contract, outputs
from kiosk.authn import current_supermarket
from kiosk.errors import NotFound
from kiosk.models import NOTICE_PUBLISHED, NOTICE_SUPERSEDED, Notice
from kiosk.rules import policies
from kiosk.timeutil import utcnow

SHOWN = (NOTICE_PUBLISHED, NOTICE_SUPERSEDED)
MASKED = (
    "姓名和户号按公示张贴的样子遮挡（如“张*明”），与公示页面相同；不含联系方式。"
    "草稿和放弃的草稿不在这里（404 `not_found`）。"
)
DAY: JsonDict = {"format": "date"}  # a day in an answer, as the document says it

# The answers --------------------------------------------------------------------------------


class NoticeSummary(contract.Answer):
    id: contract.ID
    period: str = Field(description="季度如 2026Q4，或月份如 2026-11")
    period_label: str
    revision: int | None
    status: Annotated[str, contract.Choice(*SHOWN)]
    published_at: contract.LocalTime


class NoticeList(contract.Answer):
    notices: list[NoticeSummary]


class RankingMember(contract.Answer):
    name: str = Field(description="遮挡后的姓名")
    score: int | float | None
    tier: str | None


class RankingRow(contract.Answer):
    rank: int | None = Field(description="名次（并列同名次；无分为空）")
    number: str = Field(description="遮挡后的户号")
    name: str = Field(description="户主姓名，遮挡如公示")
    period_points: int
    total_points: int
    score: str | None = Field(description="评分（如 87.5）")
    tier: str | None
    stars: int
    red: bool = Field(description="是否上红榜")
    members: list[RankingMember] | None


class ChartBar(contract.Answer):
    label: str
    count: int
    range: str
    stars: int | None


class Chart(contract.Answer):
    kind: Annotated[
        str, contract.Choice(notice.CHART_STARS, notice.CHART_PYRAMID, notice.CHART_BANDS)
    ]
    bars: list[ChartBar]


class Ranking(contract.Answer):
    period: str
    period_label: str
    kind: Annotated[str, contract.Choice("quarter", "month")]
    from_: str = Field(alias="from", json_schema_extra=DAY)
    through: str = Field(json_schema_extra=DAY)
    complete: bool
    policy_name: str
    basis: Annotated[str, contract.Choice(notice.BASIS_POINTS, notice.BASIS_SCORE)]
    red_ranks: int
    rows: list[RankingRow]
    red_list: list[RankingRow]
    chart: Chart


class NoticeDetail(NoticeSummary):
    note: str = Field(description="修订说明")
    as_of: contract.LocalTime
    content_hash: str
    supersedes_id: int | None
    ranking: Ranking


class RankingNow(contract.Answer):
    published_notice_id: int | None
    ranking: Ranking


class RankingQuery(contract.Query):
    blank_is_absent = False  # an empty period is a wrong one (400), not the current one
    # (None when left out: a query string holds no null, and the document says a string)
    period: str = Field(
        None,  # type: ignore[assignment]
        description="季度如 2026Q4，或月份如 2026-11；不给时为本超市规则当前的期间",
    )


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """One ranking row as the notice shows it (household number and names masked)."""
    members = row.get("members")
    return {
        "rank": row.get("rank"),
        "number": row["number"],
        "name": row["name"],
        "period_points": row.get("period_points", 0),
        "total_points": row.get("total_points", 0),
        "score": row.get("score"),
        "tier": row.get("tier"),
        "stars": row.get("stars", 0),
        "red": bool(row.get("red")),
        "members": (
            [{"name": m["name"], "score": m.get("score"), "tier": m.get("tier")} for m in members]
            if members is not None
            else None
        ),
    }


def _bar(bar: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": bar["label"],
        "count": bar["count"],
        "range": bar.get("range", ""),
        "stars": bar.get("stars"),
    }


def _ranking(content: dict[str, Any]) -> dict[str, Any]:
    """The period, its ranked rows, the red list and the chart of a notice's content."""
    rows = [_row(r) for r in content["rows"]]
    distribution = content["distribution"]
    return {
        "period": content["period"],
        "period_label": content.get("period_label", content["period"]),
        "kind": content.get("kind", notice.period_kind(content["period"])),
        "from": content["from"],
        "through": content["through"],
        "complete": bool(content.get("complete")),
        "policy_name": content.get("policy_name", ""),
        "basis": content["basis"],
        "red_ranks": content.get("red_ranks", notice.RED_LIST_RANKS),
        "rows": rows,
        "red_list": [r for r in rows if r["red"]],
        "chart": {
            "kind": distribution["kind"],
            "bars": [_bar(b) for b in distribution["bars"]],
        },
    }


def _summary(n: Notice) -> dict[str, Any]:
    return {
        "id": n.id,
        "period": n.period,
        "period_label": n.content.get("period_label", n.period),
        "revision": n.revision,
        "status": n.status,
        "published_at": outputs.iso_local(n.published_at),
    }


def _shown(n: Notice) -> bool:
    return n.status in SHOWN


@contract.route(
    "GET",
    "/notices",
    summary="本超市已发布的公示（期间、版本、发布时间）",
    tag="notices",
    action="notice.read",
    ok=(200, NoticeList, "已发布的公示，最近的期间在前；被修订版取代的标为 superseded"),
    description=MASKED,
)
def list_notices():
    """The supermarket's published notices (superseded revisions marked), latest period first."""
    rows = notice.list_notices(current_supermarket().id)
    return {"notices": [_summary(n) for n in rows if _shown(n)]}


@contract.route(
    "GET",
    "/notices/<int:notice_id>",
    summary="一份已发布的公示：排名、红榜和分布图，与发布时相同",
    tag="notices",
    action="notice.read",
    ok=(200, NoticeDetail, "发布时冻结的内容"),
    errors=("not_found",),
    description=MASKED + "别的超市的公示同样 404。",
)
def get_notice(notice_id: int):
    """A published notice as it was published (frozen rows, red list, chart)."""
    n = notice.get_notice(notice_id, current_supermarket().id)
    if not _shown(n):
        raise NotFound(gettext("没有找到该公示"))
    return {
        **_summary(n),
        "note": n.note or "",
        "as_of": outputs.iso_local(n.as_of),
        "content_hash": n.content_hash,
        "supersedes_id": n.supersedes_id,
        "ranking": _ranking(n.content),
    }


@contract.route(
    "GET",
    "/ranking",
    summary="某期间现在的排名（按台账现算，不保存、不是公示）",
    tag="notices",
    action="notice.read",
    query=RankingQuery,
    ok=(200, RankingNow, "现算的排名；published_notice_id 是该期间已发布的公示"),
    description="期间格式不对、还没开始，或与本超市评分周期不符时 400 `invalid_request`。"
    "姓名遮挡与公示相同。",
)
def get_ranking(query: RankingQuery):
    """A period's ranking as the ledgers give it now (what a draft would freeze), unstored;
    without ``period``, the rule set's current period."""
    sm = current_supermarket()
    now = utcnow()
    today = clock.utc_to_local(now).date()
    given = query.period
    if given is None:  # the rule set's current period (a quarter, or 寨里-like monthly scores)
        given = rules.period_key(today, policies.policy_for(sm).period)
    period = notice.validate_period(given, today)
    in_force = notice.published(sm.id, period)
    return {
        "published_notice_id": in_force.id if in_force is not None else None,
        "ranking": _ranking(notice.compute(sm, period, now)),
    }
