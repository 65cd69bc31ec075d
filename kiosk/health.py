"""The box's health (设备状态): database, schema, disk, last backup, printer.

One function per check, each returning a plain dict with a ``status`` of ``ok``, ``warning``
or ``error`` and the facts behind it; :func:`collect` runs them in order and sums them up as
``ok`` / ``degraded`` / ``down``. ``GET /healthz`` shows the summary without login and without
anything personal (no names, no paths); the 设备状态 page shows it all to the staff, and the
counter shows :func:`counter_warnings` when backups are stale or the disk is nearly full.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from kiosk.extensions import db

logger = logging.getLogger(__name__)

OK, WARNING, ERROR = "ok", "warning", "error"
STATUS_OK, STATUS_DEGRADED, STATUS_DOWN = "ok", "degraded", "down"

BACKUP_STALE_HOURS = 36
# The disk is "nearly full" below either mark; below DISK_DOWN_BYTES nothing can be written.
DISK_LOW_BYTES = 1024**3
DISK_LOW_FRACTION = 0.10
DISK_DOWN_BYTES = 64 * 1024**2


def jifen_version() -> str:
    """The installed jifen's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jifen")
    except PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def _head_revision() -> str | None:
    # The migration scripts do not change while the process runs.
    from kiosk.schema import head_revision

    return head_revision()


def read_backup_status(instance_path: str) -> dict[str, Any]:
    """The backup state of ``<instance>/backups/status.json`` (kiosk.backup's contract)."""
    from kiosk.backup import read_status

    return read_status(instance_path)


def database_check() -> dict[str, Any]:
    """Can the database answer a query?"""
    backend = db.engine.dialect.name
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        logger.warning("health: database unreachable: %s", exc)
        return {"status": ERROR, "backend": backend, "reachable": False}
    return {"status": OK, "backend": backend, "reachable": True}


def schema_check() -> dict[str, Any]:
    """Is the database at the newest migration (``jifen init`` upgrades it)?"""
    from kiosk.schema import current_revision

    head = _head_revision()
    try:
        revision = current_revision()
    except sa.exc.SQLAlchemyError:
        return {"status": ERROR, "revision": None, "head": head, "at_head": False}
    at_head = revision is not None and revision == head
    return {
        "status": OK if at_head else WARNING,
        "revision": revision,
        "head": head,
        "at_head": at_head,
    }


def disk_check(path: str) -> dict[str, Any]:
    """Free space on the filesystem of ``path`` (the instance folder)."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return {"status": ERROR, "free_bytes": None, "total_bytes": None, "free_percent": None}
    fraction = usage.free / usage.total if usage.total else 0.0
    if usage.free < DISK_DOWN_BYTES:
        status = ERROR
    elif usage.free < DISK_LOW_BYTES or fraction < DISK_LOW_FRACTION:
        status = WARNING
    else:
        status = OK
    return {
        "status": status,
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "free_percent": round(100 * fraction, 1),
    }


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def backup_check(instance_path: str, now: datetime | None = None) -> dict[str, Any]:
    """How old the last good backup is, whether a copy left the box, whether the last run failed.

    A warning when there is none, when it is older than BACKUP_STALE_HOURS, or when a later
    run failed. ``last_good_path`` / ``last_copy_path`` are for the staff page only.
    """
    now = now or datetime.now(UTC)
    state = read_backup_status(instance_path)
    good_at = _parse_time(state.get("last_good_at"))
    failed_at = _parse_time(state.get("last_failed_at"))
    age_hours = None if good_at is None else round((now - good_at).total_seconds() / 3600, 1)
    stale = age_hours is None or age_hours > BACKUP_STALE_HOURS
    failed_since = failed_at is not None and (good_at is None or failed_at > good_at)
    return {
        "status": WARNING if stale or failed_since else OK,
        "last_good_at": good_at.isoformat(timespec="seconds") if good_at else None,
        "age_hours": age_hours,
        "stale": stale,
        "off_box": bool(state.get("last_copy_path")),
        "last_failed": failed_since,
        "last_failed_at": failed_at.isoformat(timespec="seconds") if failed_at else None,
        "last_good_path": state.get("last_good_path"),
        "last_copy_path": state.get("last_copy_path"),
        "last_error": state.get("last_error"),
    }


def printer_check(timeout: float = 0.5) -> dict[str, Any]:
    """The receipt printer's state (kiosk.printing.printer_status)."""
    from kiosk import printing

    config = printing.printer_config()
    try:
        state = printing.printer_status(timeout=timeout)
    except Exception:  # a status query must never take the health page down
        logger.warning("health: printer status failed", exc_info=True)
        state = "unknown"
    bad = state in ("offline", "paper_out")
    return {"status": WARNING if bad else OK, "type": config.get("type", "preview"), "state": state}


def overall(checks: dict[str, dict[str, Any]]) -> str:
    """down when the counter cannot work (no database, a full disk), degraded on any warning."""
    if checks["database"]["status"] == ERROR or checks["disk"]["status"] == ERROR:
        return STATUS_DOWN
    if any(check["status"] != OK for check in checks.values()):
        return STATUS_DEGRADED
    return STATUS_OK


def collect(*, printer_timeout: float = 0.5, now: datetime | None = None) -> dict[str, Any]:
    """Every check and their sum, for the current app."""
    instance_path = current_app.instance_path
    checks: dict[str, dict[str, Any]] = {"database": database_check()}
    if checks["database"]["reachable"]:
        checks["schema"] = schema_check()
    else:
        checks["schema"] = {"status": ERROR, "revision": None, "head": _head_revision()}
        checks["schema"]["at_head"] = False
    checks["disk"] = disk_check(instance_path)
    checks["backup"] = backup_check(instance_path, now=now)
    checks["printer"] = printer_check(timeout=printer_timeout)
    return {
        "status": overall(checks),
        "version": jifen_version(),
        "checked_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "checks": checks,
    }


PUBLIC_FIELDS = {
    "database": ("status", "backend", "reachable"),
    "schema": ("status", "revision", "head", "at_head"),
    "disk": ("status", "free_bytes", "total_bytes", "free_percent"),
    "backup": ("status", "last_good_at", "age_hours", "stale", "off_box", "last_failed"),
    "printer": ("status", "type", "state"),
}


def public(health: dict[str, Any]) -> dict[str, Any]:
    """What /healthz shows to anyone: states and numbers, no paths, no error texts."""
    return {
        **{k: v for k, v in health.items() if k != "checks"},
        "checks": {
            name: {field: health["checks"][name].get(field) for field in fields}
            for name, fields in PUBLIC_FIELDS.items()
        },
    }


def counter_warnings(instance_path: str | None = None) -> list[str]:
    """The counter's small warnings: stale or failed backups, a nearly full disk (cheap checks)."""
    from flask_babel import gettext

    instance_path = instance_path or current_app.instance_path
    warnings = []
    backup = backup_check(instance_path)
    if backup["last_good_at"] is None:
        warnings.append(gettext("还没有备份"))
    elif backup["stale"]:
        warnings.append(gettext("备份已超过 %(hours)s 小时", hours=int(backup["age_hours"])))
    elif backup["last_failed"]:
        warnings.append(gettext("最近一次备份失败"))
    if disk_check(instance_path)["status"] != OK:
        warnings.append(gettext("磁盘快满了"))
    return warnings


def camera_state() -> dict[str, Any]:
    """The counter camera as the scanner hub knows it (None when no camera is configured)."""
    hub = current_app.extensions.get("jifen_scanner")
    camera = getattr(hub, "camera", None)
    if camera is None:
        return {"configured": False}
    return {
        "configured": True,
        "source": str(camera.source),
        "running": bool(camera.running),
        "opened": bool(camera.opened),
        "last_error": getattr(camera, "last_error", None),
        "failures": camera.failures,
        # what the camera was asked for and what it really delivers (e.g. 640x480 at 15 fps)
        "requested_size": camera.state()["requested_size"],
        "delivered_size": camera.state()["delivered_size"],
        "delivered_fps": camera.state()["delivered_fps"],
    }


def keyboard_devices(by_id: str = "/dev/input/by-id") -> list[str]:
    """The USB keyboards the box sees (a USB scanner is one: it types the card's number)."""
    try:
        names = sorted(os.listdir(by_id))
    except OSError:
        return []
    return [name for name in names if name.endswith("-event-kbd")]
