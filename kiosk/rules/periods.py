"""Assessment periods and dates: "2024Q1" and "2024-03" keys, their bounds and Chinese labels.

A period key is plain text so it can sit in the database (``Assessment.period``) and in a URL;
these functions are the only place that knows its shape.
"""

from __future__ import annotations

import re
from datetime import date

from kiosk.rules.policy import PERIOD_MONTH, PERIOD_QUARTER

_QUARTER_RE = re.compile(r"^([0-9]{4})Q([1-4])$")
_MONTH_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
_CN_NUMERALS = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
_CN_QUARTERS = ("", "一", "二", "三", "四")


def parse_period(key: object) -> tuple[str, int, int]:
    """(kind, year, index) of a period key: index is the quarter 1–4 or the month 1–12."""
    if isinstance(key, str):
        m = _QUARTER_RE.match(key)
        if m:
            return PERIOD_QUARTER, int(m.group(1)), int(m.group(2))
        m = _MONTH_RE.match(key)
        if m:
            return PERIOD_MONTH, int(m.group(1)), int(m.group(2))
    raise ValueError(f"not a period key: {key!r} (expected like 2024Q1 or 2024-03)")


def _make_period(kind: str, year: int, index: int) -> str:
    return f"{year}Q{index}" if kind == PERIOD_QUARTER else f"{year}-{index:02d}"


def is_period_key(key: object, period: str | None = None) -> bool:
    """True if ``key`` is a period key ("2024Q1", "2024-03"), of kind ``period`` if given."""
    try:
        kind, _, _ = parse_period(key)
    except ValueError:
        return False
    return period is None or kind == period


def period_key(day: date, period: str) -> str:
    """The period a day falls in: "2024Q1" for quarters, "2024-03" for months."""
    if period == PERIOD_QUARTER:
        return _make_period(PERIOD_QUARTER, day.year, (day.month - 1) // 3 + 1)
    if period == PERIOD_MONTH:
        return _make_period(PERIOD_MONTH, day.year, day.month)
    raise ValueError(f"unknown period kind: {period!r}")


def previous_period(key: str) -> str:
    """The period just before ``key`` ("2024Q1" -> "2023Q4", "2024-01" -> "2023-12")."""
    kind, year, index = parse_period(key)
    if index > 1:
        return _make_period(kind, year, index - 1)
    return _make_period(kind, year - 1, 4 if kind == PERIOD_QUARTER else 12)


def next_period(key: str) -> str:
    """The period just after ``key`` ("2023Q4" -> "2024Q1", "2023-12" -> "2024-01")."""
    kind, year, index = parse_period(key)
    last = 4 if kind == PERIOD_QUARTER else 12
    if index < last:
        return _make_period(kind, year, index + 1)
    return _make_period(kind, year + 1, 1)


def period_bounds(key: str) -> tuple[date, date]:
    """First day of the period (inclusive) and first day of the next one (exclusive)."""
    kind, year, index = parse_period(key)
    month = (index - 1) * 3 + 1 if kind == PERIOD_QUARTER else index
    start = date(year, month, 1)
    _, next_year, next_index = parse_period(next_period(key))
    next_month = (next_index - 1) * 3 + 1 if kind == PERIOD_QUARTER else next_index
    return start, date(next_year, next_month, 1)


def period_label(key: str) -> str:
    """A period in Chinese: "2024年第一季度" or "2024年3月"."""
    kind, year, index = parse_period(key)
    if kind == PERIOD_QUARTER:
        return f"{year}年第{_CN_QUARTERS[index]}季度"
    return f"{year}年{index}月"


def cn_date(day: date) -> str:
    """A date in Chinese: "2024年3月28日"."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_count(n: int) -> str:
    """A small count in Chinese words ("两" for 2), as the seeds write "连续两个季度"."""
    return _CN_NUMERALS[n] if 0 <= n < len(_CN_NUMERALS) else str(n)


def age_on(birth: date, day: date) -> int:
    """Age in full years on ``day`` (a 29 February birthday counts from 1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def this_period_word(period: str) -> str:
    """ "本季度" or "本月": the current period in Chinese, for the CLI's summaries."""
    return "本季度" if period == PERIOD_QUARTER else "本月"
