"""Health of the box: ``GET /healthz`` for monitors and the 设备状态 page for the staff.

``/healthz`` answers without login, in JSON, with states and numbers only (kiosk.health.public):
200 while the counter works (``ok`` or ``degraded``), 503 when it cannot (``down``). The page
``/device`` shows keepers, admins and supervisors the same checks with what they need to act:
where the last backup went, the printer, the camera and the USB scanner, the version.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, render_template
from werkzeug.wrappers import Response

from kiosk import health
from kiosk.authn import current_supermarket, current_user, may, require

bp = Blueprint("device", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """The box's health as JSON: 200 for ok/degraded, 503 for down."""
    state = health.public(health.collect(printer_timeout=0.5))
    response = jsonify(state)
    response.headers["Cache-Control"] = "no-store"
    return response, 503 if state["status"] == health.STATUS_DOWN else 200


@bp.get("/device/warnings")
@require("counter.serve")
def warnings() -> Response:
    """The counter's device warnings, in the user's language (the counter asks every few minutes)."""
    response = jsonify({"warnings": health.counter_warnings()})
    response.headers["Cache-Control"] = "no-store"
    return response


def _naive_utc(value: str | None) -> datetime | None:
    moment = health._parse_time(value)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


@bp.get("/device")
@require("printer.read", page=True)
def page() -> str:
    """设备状态: printer, scanner and camera, database, disk, last backup, version."""
    state = health.collect(printer_timeout=1.0)
    backup = state["checks"]["backup"]
    user = current_user()
    return render_template(
        "device/index.html",
        supermarket=current_supermarket(),
        user=user,
        # Nothing to change here; the layout's 只读 mark is for supervisors, as on the printer page.
        can_edit=may("printer.operate"),
        health=state,
        checks=state["checks"],
        backup_good_at=_naive_utc(backup["last_good_at"]),
        backup_failed_at=_naive_utc(backup["last_failed_at"]),
        stale_hours=health.BACKUP_STALE_HOURS,
        camera=health.camera_state(),
        keyboards=health.keyboard_devices(),
        instance_path=current_app.instance_path,
    )
