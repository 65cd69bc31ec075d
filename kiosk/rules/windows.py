"""When redemption is open: always, in listed months (高阳), or on the month's last market day
(大同's 赶场天), and the next opening day when it is closed."""

from __future__ import annotations

import calendar
from datetime import date

from kiosk.rules.policy import WINDOW_ALWAYS, WINDOW_LAST_MARKET_DAY, WINDOW_MONTHS, Window


def _add_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def last_market_day(window: Window, year: int, month: int) -> date | None:
    """The redemption day of a month under WINDOW_LAST_MARKET_DAY, or None if the month has none.

    Only every ``every_months``-th month redeems (months divisible by it: 3 -> Mar, Jun, Sep,
    Dec); market days past the month's end (30 in February) do not exist that month.
    """
    every = max(1, window.every_months)
    if month % every:
        return None
    days_in_month = calendar.monthrange(year, month)[1]
    days = [d for d in window.market_days if 1 <= d <= days_in_month]
    return date(year, month, max(days)) if days else None


def window_status(window: Window, day: date) -> tuple[bool, date | None]:
    """(open on ``day``?, next opening day after ``day`` when closed — None when open or never)."""
    if window.kind == WINDOW_ALWAYS:
        return True, None
    if window.kind == WINDOW_MONTHS:
        months = {m for m in window.months if 1 <= m <= 12}
        if day.month in months:
            return True, None
        year, month = day.year, day.month
        for _ in range(12):
            year, month = _add_month(year, month)
            if month in months:
                return False, date(year, month, 1)
        return False, None
    if window.kind == WINDOW_LAST_MARKET_DAY:
        if last_market_day(window, day.year, day.month) == day:
            return True, None
        year, month = day.year, day.month
        for _ in range(13):
            opening = last_market_day(window, year, month)
            if opening is not None and opening > day:
                return False, opening
            year, month = _add_month(year, month)
        return False, None
    raise ValueError(f"unknown window kind: {window.kind!r}")
