"""The JSON API under /api/v1 (bearer tokens, or the counter's session with its CSRF header).

Every handler parses and validates its input, calls one service, and renders JSON. Errors are
domain errors, rendered as ``{"error": {"code", "message"[, "details"]}}`` by
:mod:`kiosk.web.errors`.

CSRF: a bearer token cannot be sent by another site's page, so token requests need no CSRF
token; Flask-WTF's automatic check is switched off for this blueprint and, instead, a
session-authenticated write must carry the page's token in the ``X-CSRFToken`` header.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from kiosk.authn import current_user
from kiosk.errors import DomainError
from kiosk.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(DomainError):
    """A session-authenticated write without a valid ``X-CSRFToken`` header."""

    code = "csrf_failed"
    status = 400
    message = "页面已过期，请刷新后重试"


@bp.before_request
def _authenticate() -> None:
    """Resolve who is calling, fresh for every request, and check the session's CSRF header."""
    # The app's own before_request hook has already forgotten any previous request's user.
    user = current_user()
    if (
        request.method not in SAFE_METHODS
        and user is not None
        and g.get("jifen_auth") == "session"
        and current_app.config.get("WTF_CSRF_ENABLED", True)
    ):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError:
            raise CsrfFailed() from None


# The routes register themselves (and their contracts) on import.
from kiosk.api import (  # noqa: E402, F401
    admin,
    counter,
    exports,
    fund,
    monthend,
    notice,
    openapi,
    printer,
    proposals,
    rules,
    stock,
    stocktakes,
)

openapi.complete(openapi.DOCUMENT)  # every route is registered now: add the generated operations
