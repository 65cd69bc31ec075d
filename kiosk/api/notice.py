"""The quarterly ranking and notice (公示) over the API, read only.

A published notice is frozen (kiosk.notice): the API shows it as published, with the names
masked as on the posted notice, its red list (红榜) and its chart (stars, pyramid or points
bands). Drafts and discarded drafts are the office's working copies and are not shown here.
The ranking of a period as the ledgers give it now is computed by the same service that drafts
a notice, without storing anything. Keepers, admins and supervisors read; nobody writes.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from kiosk import clock, notice, rules
from kiosk.api import bp, outputs
from kiosk.authn import current_supermarket, require
from kiosk.errors import NotFound
from kiosk.models import NOTICE_PUBLISHED, NOTICE_SUPERSEDED, Notice
from kiosk.rules import policies
from kiosk.timeutil import utcnow

SHOWN = (NOTICE_PUBLISHED, NOTICE_SUPERSEDED)


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


@bp.get("/notices")
@require("notice.read")
def list_notices():
    """The supermarket's published notices (superseded revisions marked), latest period first."""
    rows = notice.list_notices(current_supermarket().id)
    return jsonify({"notices": [_summary(n) for n in rows if _shown(n)]})


@bp.get("/notices/<int:notice_id>")
@require("notice.read")
def get_notice(notice_id: int):
    """A published notice as it was published (frozen rows, red list, chart)."""
    n = notice.get_notice(notice_id, current_supermarket().id)
    if not _shown(n):
        raise NotFound("没有找到该公示")
    return jsonify(
        {
            **_summary(n),
            "note": n.note or "",
            "as_of": outputs.iso_local(n.as_of),
            "content_hash": n.content_hash,
            "supersedes_id": n.supersedes_id,
            "ranking": _ranking(n.content),
        }
    )


@bp.get("/ranking")
@require("notice.read")
def get_ranking():
    """A period's ranking as the ledgers give it now (what a draft would freeze), unstored;
    without ``period``, the rule set's current period."""
    sm = current_supermarket()
    now = utcnow()
    today = clock.utc_to_local(now).date()
    given = request.args.get("period")
    if given is None:  # the rule set's current period (a quarter, or 寨里-like monthly scores)
        given = rules.period_key(today, policies.policy_for(sm).period)
    period = notice.validate_period(given, today)
    in_force = notice.published(sm.id, period)
    return jsonify(
        {
            "published_notice_id": in_force.id if in_force is not None else None,
            "ranking": _ranking(notice.compute(sm, period, now)),
        }
    )
