"""Time helpers: the database stores naive UTC; people see the supermarket's local time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"


def utcnow() -> datetime:
    """Current time as naive UTC, the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(moment: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """Convert a naive-UTC timestamp to the supermarket's local wall-clock time."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))


def local_date(moment: datetime, tz: str = DEFAULT_TZ) -> date:
    """The local calendar day a naive-UTC timestamp falls on."""
    return to_local(moment, tz).date()
