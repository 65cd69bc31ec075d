"""The quarterly public notice (季公示): drafted from the ledgers, previewed, then published frozen.

A notice is a snapshot. :func:`draft_notice` reads the ledgers of one quarter and stores the
rows a notice board shows — rank, household number, the head's masked name, points earned in
the quarter and in the year (or cycle) to date, the tier or band — as JSON with a SHA-256 of
that JSON. :func:`publish_notice` makes the draft the supermarket's notice of that quarter
(003 "每季度对农户积分进行考核认定，并将考核认定的积分情况在村公示栏进行公示"); a later
correction (after objections, :mod:`kiosk.objections`) is a new revision that supersedes the
old one, which is kept. Nothing later in the ledgers changes a published notice.

What the rows hold, and why no more: see ``docs/notice.md``. In short, 002 keeps credit files
private ("诚信档案不对外公开，仅用于本人查询"), so a notice carries only what the rule itself
publishes: the ranking basis (001 "对文明积分前十名的在红榜进行表扬", 003 "扣减的积分不影响年底
积分排名"), 寨里's member scores and star (000 "根据家庭成员信用积分平均分确定诚信家庭星级"), 羊亭's
pyramid band (004 "以戶為單位張貼村民信用積分匯總表…以金字塔形式直觀展現"). Names are masked
(张*丰) and anything in a name or number that looks like an ID card or a phone number is
starred out (:func:`redact`) before it is stored.

Which ledger rows count. Points earned are the entries of :data:`kiosk.models.EARNED_KINDS`
(awards, deductions, conversions, base grants), never redemptions, clearing or expiry: the
ranking is by points earned (``PointAccount.earned_total``). An entry belongs to the quarter it
was posted in, except a correction posted when an objection was upheld: it belongs to the
quarter of the notice objected to, so the revised notice shows it there. Under a yearly cycle
(高阳 "次年重新积分") the total runs from the year's start (the previous year's close, when it
was closed); otherwise it runs from the beginning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from kiosk import audit, clock, rules
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.formatting import mask_name
from kiosk.messages import Message, _, chinese
from kiosk.models import (
    ACTIVE,
    EARNED_KINDS,
    NOTICE_DISCARDED,
    NOTICE_DRAFT,
    NOTICE_PUBLISHED,
    NOTICE_SUPERSEDED,
    CycleClose,
    Household,
    Member,
    Notice,
    Objection,
    PointAccount,
    PointEntry,
    Supermarket,
    User,
    Veto,
)
from kiosk.problems import Problem
from kiosk.rules import Policy, standing
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

BASIS_POINTS = "points"
BASIS_SCORE = "score"

CHART_STARS = "stars"
CHART_PYRAMID = "pyramid"
CHART_BANDS = "bands"

# 001 "对文明积分前十名的在红榜进行表扬".
RED_LIST_RANKS = 10
CONTENT_VERSION = 1
MAX_NOTE = 200
# How far back an admin may draft: two years of quarters, a year of months.
QUARTERS_BACK = 8
MONTHS_BACK = 12

# An ID card number (18 digits, or 17 and a check letter X) or any other run of 11 or more digits
# (a mobile number, a bank card): starred out wherever a notice would show it.
_SENSITIVE = re.compile(r"\d{17}[\dXx]|\d{11,}")
_CN_STARS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_TICK = timedelta(microseconds=1)
_STAR_NAME = re.compile(r"([一二两三四五六七]|[1-7])\s*星")


def redact(text: str | None) -> str:
    """Star out ID-card and phone-like digit runs: 13812345678 → 138****5678."""

    def _star(m: re.Match[str]) -> str:
        s: str = m.group(0)
        return s[:3] + "*" * (len(s) - 7) + s[-4:]

    return _SENSITIVE.sub(_star, text or "")


def public_name(name: str | None) -> str:
    """A person's name as a notice shows it: masked, and never carrying an ID or phone."""
    return redact(mask_name(redact(name or "")))


def stars_of(tier_name: str | None) -> int:
    """The number of stars a tier's name speaks of ("四星级" → 4), 0 when none."""
    if not tier_name:
        return 0
    m = _STAR_NAME.search(tier_name)
    if not m:
        return 0
    token = m.group(1)
    return int(token) if token.isdigit() else _CN_STARS[token]


def _num(value: Fraction | int) -> str:
    """87, 87.5, 86.67: a score without a spurious ".0"."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the content's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def basis_for(policy: Policy) -> str:
    """寨里-like rules (tiers by quarterly score) rank by score; every other rule by points."""
    if policy.tiers and policy.tier_basis == rules.TIER_BY_SCORE:
        return BASIS_SCORE
    return BASIS_POINTS


def validate_period(period: object, today: date) -> str:
    """A quarter ("2024Q1", 003 "季公示") or a month ("2024-03", 001 "每月…更新上月积分情况…
    公示") that has begun."""
    period = period.strip().upper() if isinstance(period, str) else ""
    if not rules.is_period_key(period):
        raise ValidationFailed(_("公示期间格式不正确，应为季度如 2024Q1 或月份如 2024-03"))
    kind = rules.PERIOD_QUARTER if "Q" in period else rules.PERIOD_MONTH
    if period > rules.period_key(today, kind):
        raise ValidationFailed(
            _("%(period)s还没有开始，不能公示", period=rules.period_label(period))
        )
    return period


def period_kind(period: str) -> str:
    """rules.PERIOD_QUARTER or rules.PERIOD_MONTH."""
    return rules.PERIOD_QUARTER if "Q" in period else rules.PERIOD_MONTH


def quarter_choices(today: date, back: int = QUARTERS_BACK) -> list[str]:
    """The current quarter and the ``back`` before it, newest first."""
    keys = [rules.period_key(today, rules.PERIOD_QUARTER)]
    while len(keys) <= back:
        keys.append(rules.previous_period(keys[-1]))
    return keys


def month_choices(today: date, back: int = MONTHS_BACK) -> list[str]:
    """The current month and the ``back`` before it, newest first."""
    keys = [rules.period_key(today, rules.PERIOD_MONTH)]
    while len(keys) <= back:
        keys.append(rules.previous_period(keys[-1]))
    return keys


# ---------------------------------------------------------------------------
# Computing the rows
# ---------------------------------------------------------------------------


@dataclass
class _Row:
    household_id: int
    number: str
    name: str
    period_points: int = 0
    total_points: int = 0
    score: Fraction | None = None
    tier: str | None = None
    members: list[dict[str, Any]] | None = None


def _cycle_start_utc(supermarket_id: int, policy: Policy, period: str) -> datetime | None:
    """Where a yearly cycle's total starts (None: rolling, from the beginning)."""
    if policy.cycle != rules.CYCLE_YEAR:
        return None
    year = rules.period_bounds(period)[0].year
    closed = db.session.scalar(
        sa.select(CycleClose.created_at).where(
            CycleClose.supermarket_id == supermarket_id, CycleClose.year == year - 1
        )
    )
    start = clock.day_start_utc(date(year, 1, 1))
    return closed if closed is not None else start


def _points(
    supermarket_id: int, policy: Policy, period: str, as_of: datetime, rows: dict[int, _Row]
) -> None:
    """Fill each row's points earned in ``period`` and in the cycle up to its end."""
    start_day, end_day = rules.period_bounds(period)
    start, end = clock.day_start_utc(start_day), clock.day_start_utc(end_day)
    cycle_start = _cycle_start_utc(supermarket_id, policy, period)
    year = start_day.year
    stmt = (
        sa.select(
            PointAccount.household_id,
            PointEntry.amount,
            PointEntry.created_at,
            Objection.period,
        )
        .join(PointAccount, PointAccount.id == PointEntry.account_id)
        .join(Household, Household.id == PointAccount.household_id)
        .outerjoin(Objection, Objection.correction_entry_id == PointEntry.id)
        .where(
            Household.supermarket_id == supermarket_id,
            PointEntry.kind.in_(EARNED_KINDS),
            PointEntry.created_at < as_of,
        )
    )
    for household_id, amount, created_at, corrected_period in db.session.execute(stmt):
        row = rows.get(household_id)
        if row is None:
            continue
        if corrected_period is not None:
            # An upheld objection's correction counts at the end of the period objected to (a
            # quarter or a month), and in that period's year only.
            moment = clock.day_start_utc(rules.period_bounds(corrected_period)[1]) - _TICK
            if start <= moment < end:
                row.period_points += amount
            if moment < end and (cycle_start is None or int(corrected_period[:4]) == year):
                row.total_points += amount
            continue
        if start <= created_at < end:
            row.period_points += amount
        if created_at < end and (cycle_start is None or created_at >= cycle_start):
            row.total_points += amount


def _tier_reached(value: Fraction, tiers: tuple[rules.Tier, ...]) -> rules.Tier | None:
    """The tier holding ``value``; a value in a gap (80.5) keeps the lower tier, as the rules do."""
    found = rules.tier_for(value, tiers)
    if found is not None:
        return found
    below = [t for t in tiers if t.min_value <= value]
    return max(below, key=lambda t: t.min_value) if below else None


def _scores(
    policy: Policy, period: str, today: date, homes: list[Household], rows: dict[int, _Row]
) -> bool:
    """Fill the period's scores (and 寨里's member scores and tiers); True if any row has one."""
    ids = [h.id for h in homes]
    latest = standing.latest_assessments(ids)
    start_day, end_day = rules.period_bounds(period)
    zeroed: dict[int, set[int | None]] = {}
    if policy.veto == rules.VETO_ZERO_SCORE_PERIOD and ids:
        vetoes = db.session.scalars(
            sa.select(Veto).where(
                Veto.household_id.in_(ids),
                Veto.on >= start_day,
                Veto.on < end_day,
                Veto.on <= today,
            )
        )
        for v in vetoes:
            zeroed.setdefault(v.household_id, set()).add(v.member_id)
    individual = policy.holder == rules.HOLDER_INDIVIDUAL
    any_score = False
    for home in homes:
        row = rows[home.id]
        hit = zeroed.get(home.id, set())
        if individual:
            members = {m.id: m for m in home.members if m.active}
            scores: dict[int, int] = {}
            for a in latest.get(home.id, []):
                if a.period == period and a.member_id is not None:
                    scores[a.member_id] = a.score
                    if a.member_id not in members and a.member is not None:
                        members[a.member_id] = a.member
            for member_id in members:
                # 000 "美德信用积分一律为0分": a disqualified member's (or household's) score is 0.
                if None in hit or member_id in hit:
                    scores[member_id] = 0
            listed = []
            for member_id, member in sorted(members.items()):
                score = scores.get(member_id)
                tier = None
                if score is not None and not (None in hit or member_id in hit):
                    found = rules.tier_for(score, policy.tiers) if policy.tiers else None
                    tier = found.name if found else None
                listed.append({"name": public_name(member.name), "score": score, "tier": tier})
            row.members = listed
            if scores:
                row.score = Fraction(sum(scores.values()), len(scores))
        else:
            for a in latest.get(home.id, []):
                if a.period == period and a.member_id is None:
                    row.score = Fraction(a.score)
            if None in hit:
                row.score = Fraction(0)
        if row.score is not None:
            any_score = True
    return any_score


def _rank(
    rows: list[_Row], key: Callable[[_Row], Fraction | int | None]
) -> list[tuple[int | None, _Row]]:
    """Competition ranking (1, 1, 3): ties share a rank; rows without a value are unranked."""
    ranked = [(value, r) for r in rows if (value := key(r)) is not None]
    unranked = [r for r in rows if key(r) is None]
    ranked.sort(key=lambda vr: (-vr[0], vr[1].number, vr[1].household_id))
    unranked.sort(key=lambda r: (r.number, r.household_id))
    out: list[tuple[int | None, _Row]] = []
    previous = None
    rank = 0
    for i, (value, r) in enumerate(ranked, start=1):
        if value != previous:
            rank, previous = i, value
        out.append((rank, r))
    out.extend((None, r) for r in unranked)
    return out


def _nice_step(raw: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... not below ``raw``."""
    raw = max(1, raw)
    power: int = 10 ** (len(str(raw)) - 1)
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power  # pragma: no cover - the loop always returns


# What each bar of the chart stands for, stored beside its Chinese words (the distribution's
# "terms", one per bar), so that a page can say it in its reader's language while the stored
# words — hashed, and what objections refer to — stay as published. A notice stored before the
# terms were kept has none and shows its stored words.
BAND_BELOW = "below"  # {"band": "below", "value": 70}: 70分以下
BAND_RANGE = "range"  # {"band": "range", "low": 20, "high": 39}: 20–39分 (low == high: 5分)
BAND_TIER = "tier"  # {"band": "tier", "name": "三星级", "low": 70, "high": 80}: 70–80分,
#                      "high": None for an open top (塔尖 300分以上)
BAND_UNSCORED = "unscored"  # 未评分
BANDS = (BAND_BELOW, BAND_RANGE, BAND_TIER, BAND_UNSCORED)


def band_words(term: dict[str, Any]) -> tuple[Message | str, Message | str]:
    """A bar's label and range from what it stands for, as sentences rendered where they are
    read; a tier's label is its own name as the rule set writes it (shown through ``rule_term``)."""
    band = term["band"]
    if band == BAND_BELOW:
        return _("%(value)s分以下", value=term["value"]), ""
    if band == BAND_RANGE:
        low, high = term["low"], term["high"]
        if low == high:
            return _("%(value)s分", value=low), ""
        return _("%(low)s–%(high)s分", low=low, high=high), ""
    if band == BAND_TIER:
        low, high = term["low"], term.get("high")
        if high is None:
            return term["name"], _("%(value)s分以上", value=low)
        return term["name"], _("%(low)s–%(high)s分", low=low, high=high)
    if band == BAND_UNSCORED:
        return _("未评分"), ""
    raise ValueError(f"unknown band {band!r}")


def bar_terms(distribution: dict[str, Any]) -> list[dict[str, Any] | None]:
    """What each bar of a stored chart stands for, None where the notice does not say (stored
    before the terms were kept): such a bar is shown with its stored words."""
    bars = distribution.get("bars") or []
    terms = distribution.get("terms")
    if not isinstance(terms, list) or len(terms) != len(bars):
        return [None] * len(bars)
    return [t if isinstance(t, dict) and t.get("band") in BANDS else None for t in terms]


def _bar(
    terms: list[dict[str, Any]], term: dict[str, Any], *, with_range: bool = False, **fields: Any
) -> dict[str, Any]:
    """A bar as stored: its Chinese label (and its range, ``with_range``) written from what it
    stands for, which goes to ``terms`` in the same place."""
    terms.append(term)
    label, span = band_words(term)
    bar: dict[str, Any] = {"label": chinese(label)}
    if with_range:
        bar["range"] = chinese(span)
    return bar | fields


def _distribution(
    basis: str, policy: Policy, rows: list[dict[str, Any]], tiers_by_row: list[str | None]
) -> dict[str, Any]:
    """The chart's data: stars (寨里), the pyramid (羊亭) or points bands (大同, 高阳); each bar's
    words in Chinese, and in ``terms`` what it stands for (see :func:`band_words`)."""
    terms: list[dict[str, Any]] = []
    if basis == BASIS_SCORE:
        bars = []
        lowest = min(t.min_value for t in policy.tiers)
        below = sum(1 for r in rows if r["score"] is not None and r["tier"] is None)
        unscored = sum(1 for r in rows if r["score"] is None)
        bars.append(_bar(terms, {"band": BAND_BELOW, "value": lowest}, count=below, stars=0))
        for t in sorted(policy.tiers, key=lambda t: t.min_value):
            bars.append(
                _bar(
                    terms,
                    {"band": BAND_TIER, "name": t.name, "low": t.min_value, "high": t.max_value},
                    with_range=True,
                    count=sum(1 for name in tiers_by_row if name == t.name),
                    stars=stars_of(t.name),
                )
            )
        if unscored:
            bars.append(_bar(terms, {"band": BAND_UNSCORED}, count=unscored, stars=0))
        return {"kind": CHART_STARS, "bars": bars, "terms": terms}
    totals = [r["total_points"] for r in rows]
    if policy.tiers:
        levels = []
        lowest = min(t.min_value for t in policy.tiers)
        below = sum(1 for r in rows if r["tier"] is None)
        if below:  # the base of the pyramid, under its lowest band
            below_term = {"band": BAND_BELOW, "value": lowest}
            levels.append(_bar(terms, below_term, with_range=True, count=below))
        for t in sorted(policy.tiers, key=lambda t: t.min_value):
            open_ended = t.max_value >= 999_999
            levels.append(
                _bar(
                    terms,
                    {
                        "band": BAND_TIER,
                        "name": t.name,
                        "low": t.min_value,
                        "high": None if open_ended else t.max_value,
                    },
                    with_range=True,
                    count=sum(1 for name in tiers_by_row if name == t.name),
                )
            )
        return {"kind": CHART_PYRAMID, "bars": levels, "terms": terms}
    highest = max(totals, default=0)
    step = _nice_step(math.ceil((highest + 1) / 5)) if highest > 0 else 1
    bars = []
    negative = sum(1 for v in totals if v < 0)
    if negative:
        bars.append(_bar(terms, {"band": BAND_BELOW, "value": 0}, count=negative))
    low = 0
    while True:
        high = low + step - 1
        count = sum(1 for v in totals if low <= v <= high)
        bars.append(_bar(terms, {"band": BAND_RANGE, "low": low, "high": high}, count=count))
        if high >= highest:
            break
        low += step
    return {"kind": CHART_BANDS, "bars": bars, "terms": terms}


def compute(supermarket: Supermarket, period: str, as_of: datetime) -> dict[str, Any]:
    """The content of the supermarket's notice for ``period`` from the ledgers up to ``as_of``
    (naive UTC): every active household's row, ranked, with the red list and the chart data."""
    from kiosk.rules.policies import policy_for

    policy = policy_for(supermarket)
    basis = basis_for(policy)
    if basis == BASIS_SCORE and period_kind(period) != policy.period:
        unit = _("季度") if policy.period == rules.PERIOD_QUARTER else _("月")
        raise ValidationFailed(_("本超市的规则按%(unit)s评分，公示也按%(unit)s进行", unit=unit))
    today = clock.utc_to_local(as_of).date()
    homes = list(
        db.session.scalars(
            sa.select(Household)
            .where(Household.supermarket_id == supermarket.id, Household.status == ACTIVE)
            .order_by(Household.number, Household.id)
        )
    )
    rows = {h.id: _Row(h.id, redact(h.number), public_name(h.head_name)) for h in homes}
    _points(supermarket.id, policy, period, as_of, rows)
    has_score = _scores(policy, period, today, homes, rows)
    if basis == BASIS_SCORE:
        for r in rows.values():
            if r.score is not None:
                # 000 "根据家庭成员信用积分平均分确定诚信家庭星级".
                found = _tier_reached(r.score, policy.tiers)
                r.tier = found.name if found else None
        ranked = _rank(list(rows.values()), lambda r: r.score)
    else:
        if policy.tiers:
            for r in rows.values():
                found = rules.tier_for(r.total_points, policy.tiers)
                r.tier = found.name if found else None
        ranked = _rank(list(rows.values()), lambda r: r.total_points)
    out_rows: list[dict[str, Any]] = []
    for rank, r in ranked:
        qualifies = r.tier is not None if basis == BASIS_SCORE else r.total_points > 0
        out_rows.append(
            {
                "rank": rank,
                "household_id": r.household_id,
                "number": r.number,
                "name": r.name,
                "period_points": r.period_points,
                "total_points": r.total_points,
                "score": _num(r.score) if r.score is not None else None,
                "tier": r.tier,
                "stars": stars_of(r.tier),
                "members": r.members,
                "red": rank is not None and rank <= RED_LIST_RANKS and qualifies,
            }
        )
    start_day, end_day = rules.period_bounds(period)
    local_as_of = clock.utc_to_local(as_of)
    through = min(local_as_of.date(), date.fromordinal(end_day.toordinal() - 1))
    return {
        "version": CONTENT_VERSION,
        "supermarket": supermarket.name,
        "town": supermarket.town,
        "village": supermarket.village,
        "period": period,
        "period_label": rules.period_label(period),
        "kind": period_kind(period),
        "from": start_day.isoformat(),
        "through": through.isoformat(),
        "complete": local_as_of.date() >= end_day,
        "policy_name": policy.name,
        "basis": basis,
        "yearly": policy.cycle == rules.CYCLE_YEAR,
        "has_score": has_score and basis == BASIS_POINTS,
        "tiers": [
            {"name": t.name, "min": t.min_value, "max": t.max_value, "stars": stars_of(t.name)}
            for t in policy.tiers
        ],
        "rows": out_rows,
        "red_ranks": RED_LIST_RANKS,
        "distribution": _distribution(basis, policy, out_rows, [r["tier"] for r in out_rows]),
    }


# ---------------------------------------------------------------------------
# Draft, publish, discard
# ---------------------------------------------------------------------------


def _supermarket_locked(supermarket_id: int) -> Supermarket:
    sm = db.session.scalar(lock(sa.select(Supermarket).where(Supermarket.id == supermarket_id)))
    if sm is None:
        raise NotFound(_("没有找到该超市"))
    return sm


def draft_notice(
    supermarket_id: int, period: str, *, actor: User | None, moment: datetime | None = None
) -> Notice:
    """Compute a draft of ``period``'s notice now (``moment``: naive UTC, for tests); an
    earlier draft of the same period is discarded (kept, marked)."""
    as_of = moment or utcnow()
    period = validate_period(period, clock.utc_to_local(as_of).date())
    with write_transaction():
        sm = _supermarket_locked(supermarket_id)
        content = compute(sm, period, as_of)
        old = db.session.scalars(
            sa.select(Notice).where(
                Notice.supermarket_id == supermarket_id,
                Notice.period == period,
                Notice.status == NOTICE_DRAFT,
            )
        ).all()
        for d in old:
            d.status = NOTICE_DISCARDED
            audit.record("notice.discarded", d, actor=actor, period=period, replaced=True)
        notice = Notice(
            supermarket_id=supermarket_id,
            period=period,
            status=NOTICE_DRAFT,
            basis=content["basis"],
            policy_name=content["policy_name"],
            content=content,
            content_hash=content_hash(content),
            as_of=as_of,
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(notice)
        db.session.flush()
        audit.record(
            "notice.drafted",
            notice,
            actor=actor,
            period=period,
            households=len(content["rows"]),
            content_hash=notice.content_hash,
        )
    logger.info("drafted notice %s for %s", notice.id, period)
    return notice


def publish_notice(notice_id: int, *, actor: User | None, note: str = "") -> Notice:
    """Publish a draft as the quarter's notice. If one is already published, the draft becomes
    the next revision and supersedes it (the note, 修订说明, is then required)."""
    note = (note or "").strip() if isinstance(note, str) else ""
    if len(note) > MAX_NOTE:
        raise ValidationFailed(_("说明不能超过%(n)s个字", n=MAX_NOTE))
    with write_transaction():
        notice = db.session.get(Notice, notice_id)
        if notice is None:
            raise NotFound(_("没有找到该公示"))
        _supermarket_locked(notice.supermarket_id)
        notice = db.session.scalars(lock(sa.select(Notice).where(Notice.id == notice_id))).one()
        if notice.status != NOTICE_DRAFT:
            raise ValidationFailed(_("只有草稿可以发布，请重新生成草稿"))
        if content_hash(notice.content) != notice.content_hash:
            raise ValidationFailed(_("草稿内容校验不符，请重新生成草稿"))
        current = published(notice.supermarket_id, notice.period)
        last_revision = db.session.scalar(
            sa.select(sa.func.max(Notice.revision)).where(
                Notice.supermarket_id == notice.supermarket_id, Notice.period == notice.period
            )
        )
        now = utcnow()
        if current is not None:
            if not note:
                raise ValidationFailed(
                    _(
                        "%(period)s已发布第%(revision)s版，发布修订版请填写修订说明",
                        period=rules.period_label(notice.period),
                        revision=current.revision,
                    )
                )
            current.status = NOTICE_SUPERSEDED
            current.superseded_at = now
            db.session.flush()  # one published notice per quarter: the old one steps down first
            notice.supersedes_id = current.id
        notice.revision = (last_revision or 0) + 1
        notice.status = NOTICE_PUBLISHED
        notice.note = note
        notice.published_at = now
        notice.published_by_id = actor.id if actor is not None else None
        db.session.flush()
        audit.record(
            "notice.published",
            notice,
            actor=actor,
            period=notice.period,
            revision=notice.revision,
            content_hash=notice.content_hash,
            supersedes=current.id if current is not None else None,
            note=note,
        )
    logger.info("published notice %s (%s revision %s)", notice.id, notice.period, notice.revision)
    return notice


def discard_draft(notice_id: int, *, actor: User | None) -> Notice:
    """Set a draft aside (kept, marked discarded)."""
    with write_transaction():
        notice = db.session.scalar(lock(sa.select(Notice).where(Notice.id == notice_id)))
        if notice is None:
            raise NotFound(_("没有找到该公示"))
        if notice.status != NOTICE_DRAFT:
            raise ValidationFailed(_("只有草稿可以放弃，已发布的公示只能发布修订版"))
        notice.status = NOTICE_DISCARDED
        audit.record("notice.discarded", notice, actor=actor, period=notice.period)
    return notice


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def get_notice(notice_id: int, supermarket_id: int) -> Notice:
    """A notice of this supermarket (NotFound for another supermarket's)."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该公示"))
    return notice


def published(supermarket_id: int, period: str) -> Notice | None:
    """The quarter's notice in force (the latest published revision), if any."""
    return db.session.scalar(
        sa.select(Notice).where(
            Notice.supermarket_id == supermarket_id,
            Notice.period == period,
            Notice.status == NOTICE_PUBLISHED,
        )
    )


def _newest_first(notice: Notice) -> tuple[date, datetime, int]:
    end = rules.period_bounds(notice.period)[1]
    return (end, notice.published_at or notice.created_at, notice.id)


def latest_published(supermarket_id: int) -> Notice | None:
    """The published notice of the latest period (the large screen's); a quarter and its last
    month end together: then the one published last."""
    rows = db.session.scalars(
        sa.select(Notice).where(
            Notice.supermarket_id == supermarket_id, Notice.status == NOTICE_PUBLISHED
        )
    ).all()
    return max(rows, key=_newest_first, default=None)


def list_notices(supermarket_id: int) -> list[Notice]:
    """Every notice but discarded drafts, latest period first, newest revision first."""
    rows = db.session.scalars(
        sa.select(Notice).where(
            Notice.supermarket_id == supermarket_id, Notice.status != NOTICE_DISCARDED
        )
    ).all()
    return sorted(
        rows,
        key=lambda n: (rules.period_bounds(n.period)[1], "Q" in n.period, n.id),
        reverse=True,
    )


def is_stale(notice: Notice) -> bool:
    """True if the ledgers now give a draft different rows than it froze (points or scores
    recorded since): the preview says so and offers to draft again."""
    sm = db.session.get_one(Supermarket, notice.supermarket_id)
    fresh = compute(sm, notice.period, utcnow())
    frozen = dict(notice.content)
    # Only what the ledgers decide: "through" moves with the clock alone.
    for key in ("through", "complete"):
        fresh.pop(key, None)
        frozen.pop(key, None)
    return content_hash(fresh) != content_hash(frozen)


def red_list(notice: Notice) -> list[dict[str, Any]]:
    """The red list (红榜): rows ranked in the top ten that earned something."""
    return [r for r in notice.content["rows"] if r.get("red")]


def verify(notice: Notice) -> bool:
    """The stored content still hashes to the stored hash."""
    return content_hash(notice.content) == notice.content_hash


def check_notices() -> list[Any]:
    """``jifen check``: every published or superseded notice still matches its hash, and no
    quarter has two notices in force."""

    problems = []
    rows = db.session.scalars(
        sa.select(Notice)
        .where(Notice.status.in_((NOTICE_PUBLISHED, NOTICE_SUPERSEDED)))
        .order_by(Notice.id)
    )
    in_force: dict[tuple[int, str], int] = {}
    for n in rows:
        if not verify(n):
            problems.append(
                Problem("notices", f"notice {n.id} ({n.period})", "content does not match hash")
            )
        if n.status == NOTICE_PUBLISHED:
            key = (n.supermarket_id, n.period)
            if key in in_force:
                problems.append(
                    Problem("notices", f"notice {n.id} ({n.period})", "two published notices")
                )
            in_force[key] = n.id
    return problems


def member_names(household_id: int) -> list[str]:
    """The household's active members' names (who may raise an objection), for the form."""
    return list(
        db.session.scalars(
            sa.select(Member.name)
            .where(Member.household_id == household_id, Member.active.is_(True))
            .order_by(Member.id)
        )
    )


def seed_demo_notice(supermarket: Supermarket, users: dict[str, User], rng: Any) -> None:
    """Demo data: last quarter's notice published, one objection upheld (with a correction under
    a points rule) and revision 2 published, one objection left open, this quarter drafted."""
    from kiosk import intake, objections

    admin = users.get("admin")
    today = clock.local_now().date()
    current = rules.period_key(today, rules.PERIOD_QUARTER)
    last = rules.previous_period(current)
    first = publish_notice(draft_notice(supermarket.id, last, actor=admin).id, actor=admin)
    rows = [r for r in first.content["rows"] if r["rank"] is not None] or first.content["rows"]
    if len(rows) >= 2:
        upheld_row, open_row = rng.sample(rows, 2)
        names = member_names(upheld_row["household_id"])
        o = objections.record_objection(
            first.id,
            upheld_row["household_id"],
            raised_by=rng.choice(names),
            raised_on=today,
            disputed="上季度参加村里环境整治志愿服务两次，积分没有记上",
            actor=admin,
        )
        points_rule = first.basis == BASIS_POINTS
        objections.resolve_objection(
            o.id,
            upheld=True,
            resolution="经评议小组核实属实，补记志愿服务积分"
            if points_rule
            else "经核实属实，已更正评分",
            correction=5 if points_rule else None,
            actor=admin,
        )
        # The correction is a proposal: the assessment group's second admin signs it off.
        correction = objections.correction_proposal(o)
        signer = users.get(intake.DEMO_SECOND_ADMIN[0])
        if correction is not None and signer is not None:
            intake.approve(correction.id, actor=signer, note="评议小组同意")
        objections.record_objection(
            first.id,
            open_row["household_id"],
            raised_by=rng.choice(member_names(open_row["household_id"])),
            raised_on=today,
            disputed="认为本户排名有误，请核实",
            actor=admin,
        )
        publish_notice(
            draft_notice(supermarket.id, last, actor=admin).id,
            actor=admin,
            note=f"根据第{o.id}号异议更正",
        )
    draft_notice(supermarket.id, current, actor=admin)
