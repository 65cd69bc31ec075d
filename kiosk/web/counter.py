"""The counter page (柜台兑换): the screen a keeper works at.

The page is a shell; its JavaScript (``static/js/counter.js``) calls the JSON API under
/api/v1 with the session cookie and the CSRF header, so the counter and any other client go
through the same services.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from kiosk import health
from kiosk import home as office_home
from kiosk.authn import current_supermarket, current_user, require, signed_in_user
from kiosk.models import ROLE_KEEPER, ROLE_SUPERVISOR

bp = Blueprint("counter", __name__)


@bp.get("/")
def index() -> Response:
    """The front door: the counter for keepers, the office home for admins and supervisors,
    the login page for nobody signed in."""
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    if user.role == ROLE_KEEPER:
        return redirect(url_for("counter.page"))
    return redirect(url_for("counter.home"))


@bp.get("/home")
@require(page=True)
def home() -> str:
    """The office home (首页): this role's to-do counts and one tap to each job (kiosk.home)."""
    user = signed_in_user()
    supermarket = current_supermarket()
    return render_template(
        "home.html",
        supermarket=supermarket,
        user=user,
        can_edit=user.role != ROLE_SUPERVISOR,
        tiles=office_home.tiles_for(user, supermarket.id, current_app.instance_path),
        backup_state=office_home.backup_state(current_app.instance_path),
    )


@bp.get("/counter")
@require("counter.serve", page=True)
def page() -> str:
    """The counter: waiting for a card, household, goods, cart, receipt."""
    config = current_app.config
    return render_template(
        "counter/counter.html",
        supermarket=current_supermarket(),
        user=current_user(),
        done_seconds=int(config.get("JIFEN_COUNTER_DONE_SECONDS", 10)),
        printer_type=(config.get("JIFEN_PRINTER") or {}).get("type", "preview"),
        device_warnings=health.counter_warnings(),
    )
