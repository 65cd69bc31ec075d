"""The supermarket's clock: local wall-clock time now, and the naive UTC the database keeps.

People see the supermarket's time zone (``JIFEN_TIMEZONE``, default Asia/Shanghai); the
database keeps naive UTC. Services ask :func:`local_now` through this module
(``clock.local_now()``) so tests can pin "now" (``tests.factories.pin_now``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app

from kiosk.timeutil import DEFAULT_TZ, to_local, utcnow


def timezone_name() -> str:
    """The supermarket's time zone (``JIFEN_TIMEZONE``)."""
    return str(current_app.config.get("JIFEN_TIMEZONE", DEFAULT_TZ))


def local_now() -> datetime:
    """The supermarket's local wall-clock time now, naive."""
    return utc_to_local(utcnow())


def utc_to_local(moment: datetime) -> datetime:
    """A naive-UTC timestamp as naive local wall-clock time."""
    return to_local(moment, timezone_name()).replace(tzinfo=None)


def local_to_utc(moment: datetime) -> datetime:
    """Naive local wall-clock time as the naive UTC the database keeps."""
    aware = moment.replace(tzinfo=ZoneInfo(timezone_name()))
    return aware.astimezone(UTC).replace(tzinfo=None)


def day_start_utc(day: date) -> datetime:
    """Local midnight starting ``day``, in naive UTC."""
    return local_to_utc(datetime.combine(day, time.min))
