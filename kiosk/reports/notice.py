"""The quarterly notice (积分公示) on paper: its table, red list and chart's counts as a
workbook, and the words the notice's pages share with it (the hash in groups, the chart's
title, its bars' words in the page's language)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from kiosk import notice, rules
from kiosk.export import Sheet, workbook_bytes
from kiosk.formatting import rule_term
from kiosk.models import NOTICE_SUPERSEDED, Notice


def hash_groups(value: str, length: int = 16) -> str:
    """The start of a content hash in groups of four ("3f2a 09bc …"), short enough to read out
    and never a long run of digits."""
    head = (value or "")[:length]
    return " ".join(head[i : i + 4] for i in range(0, len(head), 4))


def shown_bars(distribution: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's bars with their label and range in the page's language, said from what each
    bar stands for (a tier's name through ``rule_term``: a village's own as written); a bar of
    a notice stored before that was kept shows its stored words. The workbook keeps the stored
    words (a spreadsheet's data stays as published)."""
    shown = []
    for bar, term in zip(
        distribution.get("bars") or [], notice.bar_terms(distribution), strict=True
    ):
        if term is None:
            shown.append(bar)
            continue
        label, span = notice.band_words(term)
        words = {"label": rule_term(label) if isinstance(label, str) else str(label)}
        if "range" in bar:
            words["range"] = str(span)
        shown.append(bar | words)
    return shown


def bar_label(bar: dict[str, Any]) -> str:
    """A bar's label, with its stars (寨里's 星级) in front."""
    stars = bar.get("stars") or 0
    return ("★" * stars + " " if stars else "") + bar["label"]


def chart_title(content: dict[str, Any]) -> str:
    """The chart's title for the notice's kind of distribution."""
    kind = content["distribution"]["kind"]
    if kind == notice.CHART_STARS:
        return gettext("诚信家庭星级分布")
    if kind == notice.CHART_PYRAMID:
        return gettext("信用积分金字塔")
    return gettext("积分分布")


def notice_xlsx(n: Notice) -> tuple[bytes, str]:
    """A published (or superseded) notice as a workbook and its file name."""
    name = gettext("积分公示_%(period)s_第%(rev)s版.xlsx", period=n.period, rev=n.revision)
    return workbook_bytes(notice_sheets(n)), name


def notice_sheets(n: Notice) -> list[Sheet]:
    """The notice as workbook sheets: the full list, the red list and the chart's counts."""
    c = n.content
    headers, rows = _table(c, c["rows"])
    title = gettext(
        "%(place)s%(period)s积分公示",
        place=c["village"] or c["supermarket"],
        period=c["period_label"],
    )
    subtitle = [
        gettext("%(sm)s · %(policy)s", sm=c["supermarket"], policy=c["policy_name"]),
        gettext("统计期间：%(start)s 至 %(end)s", start=c["from"], end=c["through"]),
        gettext(
            "第%(rev)s版 · 校验码 %(hash)s", rev=n.revision or "", hash=hash_groups(n.content_hash)
        ),
    ]
    if n.status == NOTICE_SUPERSEDED:
        subtitle.append(gettext("此版本已被新版本取代，仅供存档"))
    footer = [
        gettext("对积分有异议的，请在公示期内向村积分工作小组反映，调查核实后作出处理。"),
        gettext("积分评议小组：            监督小组：            村两委（盖章）："),
    ]
    red_headers, red_rows = _table(c, notice.red_list(n))
    return [
        Sheet(
            title=title,
            headers=headers,
            rows=rows,
            subtitle=subtitle,
            footer=footer,
            name=gettext("公示"),
        ),
        Sheet(
            title=gettext("红榜（前十名）"),
            headers=red_headers,
            rows=red_rows,
            subtitle=[title],
            name=gettext("红榜"),
        ),
        Sheet(
            title=chart_title(c),
            headers=[gettext("档次"), gettext("户数")],
            rows=[
                [bar_label(b) + (f"（{b['range']}）" if b.get("range") else ""), b["count"]]
                for b in c["distribution"]["bars"]
            ],
            subtitle=[title],
            name=gettext("分布"),
            widths=[28, 10],
        ),
    ]


def _table(c: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Headers and cells of the notice's table, shared by the XLSX (the pages use the macro)."""
    rank = gettext("名次")
    if c["basis"] == notice.BASIS_SCORE:
        headers = [
            rank,
            gettext("户号"),
            gettext("户主"),
            gettext("成员评分"),
            gettext("家庭平均分"),
            gettext("星级"),
        ]
        cells = [
            [
                r["rank"] or "—",
                r["number"],
                r["name"],
                "、".join(
                    f"{m['name']} {m['score'] if m['score'] is not None else '—'}"
                    for m in r["members"] or []
                ),
                r["score"] or gettext("未评分"),
                r["tier"] or "—",
            ]
            for r in rows
        ]
        return headers, cells
    total = gettext("本年累计积分") if c["yearly"] else gettext("累计积分")
    headers = [rank, gettext("户号"), gettext("户主")]
    monthly = c.get("kind") == rules.PERIOD_MONTH
    if c["has_score"]:
        headers.append(gettext("本月评分") if monthly else gettext("本季评分"))
    headers += [gettext("本月积分") if monthly else gettext("本季积分"), total]
    if c["tiers"]:
        headers.append(gettext("档次"))
    cells = []
    for r in rows:
        line = [r["rank"], r["number"], r["name"]]
        if c["has_score"]:
            line.append(r["score"] or "—")
        line += [r["period_points"], r["total_points"]]
        if c["tiers"]:
            line.append(r["tier"] or "—")
        cells.append(line)
    return headers, cells
