"""The office home (首页): each role's to-do counts and one tap to each job.

An admin sees what waits for them (points awaiting a second signature, write-offs and counts
to approve, open objections, receipts that did not print) and the backup's state; a
supervisor sees what they check and sign (counts to sign, the month to close, open
objections) beside the audit, notices and ledgers; a keeper sees the counter, stock-in and
the count. Each count comes from the service that owns the rows; this module only gathers
them into tiles, so the page stays a rendering of data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from inventory import adjustments, periods, stocktake
from inventory.models import COUNT_APPROVED, COUNT_SUBMITTED
from kiosk import backup, clock, intake, objections, printing
from kiosk.models import OBJECTION_OPEN, ROLE_ADMIN, ROLE_KEEPER, ROLE_SUPERVISOR, User

# A backup older than this is shown as a to-do (the box backs up nightly).
BACKUP_STALE_HOURS = 36


@dataclass(frozen=True)
class Tile:
    """One job on the home page: its page, a title, and its to-do count (None: no count)."""

    key: str
    endpoint: str
    count: int | None = None
    detail: str | None = None  # a fact instead of a count (the backup's day, the month)
    alert: bool = False  # something to do now


@dataclass(frozen=True)
class BackupState:
    """The last backup as the home page shows it (naive UTC times, as the models keep them)."""

    last_good_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None
    stale: bool


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _naive(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def backup_state(instance_path: str, now: datetime | None = None) -> BackupState:
    """The backup's last good and failed runs (kiosk.backup.read_status), and whether the box
    has gone too long without a good one (or the last run failed after it)."""
    status = backup.read_status(instance_path)
    good, failed = _parse(status.get("last_good_at")), _parse(status.get("last_failed_at"))
    now = now or datetime.now(UTC)
    stale = good is None or (now - good).total_seconds() > BACKUP_STALE_HOURS * 3600
    if failed is not None and (good is None or failed > good):
        stale = True
    return BackupState(_naive(good), _naive(failed), status.get("last_error"), stale)


def month_to_close(supermarket_id: int) -> str | None:
    """The month whose books wait to be closed (月结), or None while only this month is open."""
    upcoming = periods.next_month_to_close(supermarket_id)
    current = periods.month_key(clock.local_now())
    return upcoming if upcoming < current else None


def _count(key: str, endpoint: str, n: int) -> Tile:
    return Tile(key, endpoint, count=n, alert=n > 0)


def admin_tiles(supermarket_id: int, instance_path: str) -> list[Tile]:
    """The admin's to-dos, then the backup, then the counter."""
    state = backup_state(instance_path)
    return [
        _count("proposals", "intake.index_page", intake.pending_count(supermarket_id)),
        _count("adjustments", "stock.adjustments_page", adjustments.pending_count(supermarket_id)),
        _count(
            "objections",
            "notice.objections_page",
            objections.counts(supermarket_id)[OBJECTION_OPEN],
        ),
        _count(
            "stocktakes_to_approve",
            "stocktake.index_page",
            stocktake.count_in_status(supermarket_id, COUNT_SUBMITTED),
        ),
        _count("unprinted", "admin.printer_page", len(printing.unprinted_jobs(supermarket_id))),
        Tile("backup", "device.page", alert=state.stale),
        Tile("counter", "counter.page"),
        Tile("rules", "admin.index"),
        Tile("households", "households.index_page"),
    ]


def supervisor_tiles(supermarket_id: int) -> list[Tile]:
    """The supervisor's checks: counts to sign, the month to close, objections, and the
    records they read (audit, notices, ledgers)."""
    month = month_to_close(supermarket_id)
    return [
        _count(
            "stocktakes_to_sign",
            "stocktake.index_page",
            stocktake.count_in_status(supermarket_id, COUNT_APPROVED),
        ),
        Tile("monthend", "monthend.index_page", detail=month, alert=month is not None),
        _count(
            "objections",
            "notice.objections_page",
            objections.counts(supermarket_id)[OBJECTION_OPEN],
        ),
        Tile("audit", "audit.index_page"),
        Tile("notices", "notice.index_page"),
        Tile("ledgers", "stock.ledgers_page"),
    ]


def keeper_tiles(supermarket_id: int) -> list[Tile]:
    """The keeper's jobs: the counter first, stock-in and the count one tap away."""
    return [
        Tile("counter", "counter.page"),
        Tile("stock_in", "stock.stock_in_page"),
        Tile("stocktake", "stocktake.index_page"),
        Tile("adjustments", "stock.adjustments_page"),
        Tile("ledgers", "stock.ledgers_page"),
        _count("unprinted", "admin.printer_page", len(printing.unprinted_jobs(supermarket_id))),
    ]


def tiles_for(user: User, supermarket_id: int, instance_path: str) -> list[Tile]:
    """The home page's tiles for this user's role."""
    if user.role == ROLE_ADMIN:
        return admin_tiles(supermarket_id, instance_path)
    if user.role == ROLE_SUPERVISOR:
        return supervisor_tiles(supermarket_id)
    if user.role == ROLE_KEEPER:
        return keeper_tiles(supermarket_id)
    return []
