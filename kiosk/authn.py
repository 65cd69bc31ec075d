"""Who is making this request (the logged-in user or a bearer token's), and the gate on views.

Shared by the pages, the JSON API (a token, ``Authorization: Bearer``, or the counter's own
session, then with the CSRF header the page sends) and the templates. What a user may do, and
which supermarket's rows they see, is :mod:`kiosk.permissions`; this module applies it to the
request: :func:`require` guards a view by its action, :func:`may` asks for a template,
:func:`visible` says whether a row is the caller's to see.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, Protocol, TypeVar, runtime_checkable

import sqlalchemy as sa
from flask import current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from kiosk import permissions
from kiosk.auth import end_sessions, user_for_token
from kiosk.errors import AuthenticationRequired, PermissionDenied
from kiosk.extensions import db
from kiosk.models import Supermarket, User

_P = ParamSpec("_P")
_R = TypeVar("_R")


def current_user() -> User | None:
    """The user of this request, from a bearer token or the session, cached on ``g``."""
    if "jifen_user" in g:
        cached: User | None = g.jifen_user
        return cached
    user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = user_for_token(header[len("Bearer ") :].strip())
        g.jifen_auth = "token"
    elif session.get("user_id") is not None:
        user = db.session.get(User, session["user_id"])
        if user is not None and (not user.active or session.get("sv") != user.session_version):
            # Ended server-side (logout anywhere, a new password or PIN, deactivation, a new
            # role): a copied cookie is worth nothing from here on.
            _clear_session()
            user = None
        if user is not None and _session_expired():
            _clear_session()
            session["expired"] = True  # the login page says why
            user = None
        g.jifen_auth = "session"
    g.jifen_user = user
    return user


def signed_in_user() -> User:
    """The user of a request that :func:`require` has let in (a view behind it never sees
    None)."""
    user = current_user()
    if user is None:
        raise RuntimeError("no signed-in user: the view is not behind require()")
    return user


def _now() -> int:
    return int(time.time())


def _session_expired() -> bool:
    """Whether this session is past its idle limit or its absolute lifetime; else touch it.

    Flask refreshes the cookie on every request, so the cookie alone would never expire while
    in use: the login time and the last request are kept in the (signed) session and checked.
    """
    now = _now()
    config = current_app.config
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    lifetime = lifetime.total_seconds() if hasattr(lifetime, "total_seconds") else lifetime
    idle = float(config.get("JIFEN_SESSION_IDLE_MINUTES") or 0) * 60
    if "login_at" not in session:  # a session from before these limits: the clock starts now
        session["login_at"] = session["seen"] = now
    login_at = session["login_at"]
    seen = session.get("seen", login_at)
    if now - login_at > lifetime or (idle and now - seen > idle):
        return True
    if now - seen >= 30:  # touch at most every 30 s, not on every request
        session["seen"] = now
    return False


def session_expired_notice() -> bool:
    """True once after a session ended by time-out (for the login page's message)."""
    return bool(session.pop("expired", False))


def _clear_session() -> None:
    # A new or ended login starts a fresh session, but the screen's language stays as chosen.
    lang = session.get("lang")
    session.clear()
    if lang is not None:
        session["lang"] = lang


def log_in(user: User) -> None:
    _clear_session()
    session.permanent = True
    session["user_id"] = user.id
    session["login_at"] = session["seen"] = _now()
    session["sv"] = user.session_version
    g.jifen_user = user
    g.pop("jifen_supermarket", None)


def log_out() -> None:
    """End this user's sessions everywhere (server-side: a copied cookie stops working too)."""
    user = current_user()
    if user is not None and g.get("jifen_auth") == "session":
        end_sessions(user.id)
    _clear_session()
    g.jifen_user = None
    g.pop("jifen_supermarket", None)


def current_supermarket() -> Supermarket:
    """The supermarket this kiosk serves: the user's own, the configured one, or the first.

    Cached on ``g`` for the request: it also keeps the object in the session's (weak)
    identity map, so services that ``get`` it by id again do not read it again."""
    if "jifen_supermarket" in g:
        kept: Supermarket = g.jifen_supermarket
        return kept
    supermarket = _find_supermarket()
    g.jifen_supermarket = supermarket
    return supermarket


def current_supermarket_id() -> int:
    """The id of :func:`current_supermarket`, without reading the row when the signed-in user
    belongs to a supermarket (a service that needs the row reads it in its own transaction)."""
    if "jifen_supermarket" in g:
        return current_supermarket().id
    user = current_user()
    if user is not None and user.supermarket_id is not None:
        return user.supermarket_id
    return current_supermarket().id


def _find_supermarket() -> Supermarket:
    user = current_user()
    if user is not None and user.supermarket_id is not None:
        return db.session.get_one(Supermarket, user.supermarket_id)
    code = current_app.config.get("JIFEN_SUPERMARKET")
    stmt = sa.select(Supermarket).order_by(Supermarket.id)
    if code:
        stmt = stmt.where(Supermarket.code == code)
    supermarket = db.session.scalar(stmt)
    if supermarket is None:
        raise RuntimeError("no supermarket: run `jifen init` and `jifen demo` first")
    return supermarket


def visible(row_supermarket_id: int | None) -> bool:
    """Whether a row of ``row_supermarket_id`` is the caller's to see (else answer 404)."""
    return permissions.sees(row_supermarket_id, current_supermarket_id())


def may(action: str) -> bool:
    """Whether this request's user may do ``action`` (for templates and a view's own forms)."""
    return permissions.allows(current_user(), action)


def may_open(endpoint: str, user: User | None = None) -> bool:
    """Whether ``user`` (this request's by default) may open the view at ``endpoint``: the
    action its :func:`require` names, any logged-in user for ``require()``, anyone for a
    public view. For tabs and buttons that lead to a page, so they show exactly when it opens."""
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    if not isinstance(view, GuardedView):
        return True  # a public view (the login page, the village hall's screen)
    user = current_user() if user is None else user
    action = view.jifen_action
    return user is not None and (action is None or permissions.allows(user, action))


@runtime_checkable
class GuardedView(Protocol):
    """A view wrapped by :func:`require`: it carries the action it needs (None: any user)."""

    jifen_action: str | None


def require(
    action: str | None = None, *, page: bool = False
) -> Callable[[Callable[_P, _R]], Callable[_P, _R | Response]]:
    """Allow the view only to users the permission map lets do ``action`` (any logged-in user
    when ``None``). The action is kept on the view (``view.jifen_action``) for the API document.

    Pages send an anonymous visitor to the login page; the API answers 401/403 as JSON.
    """
    if action is not None:
        permissions.roles_for(action)  # an unknown action fails when the module is imported

    def decorator(view: Callable[_P, _R]) -> Callable[_P, _R | Response]:
        @wraps(view)
        def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R | Response:
            user = current_user()
            if user is None:
                if page:
                    return redirect(url_for("auth.login", next=request.full_path))
                raise AuthenticationRequired()
            if action is not None and not permissions.allows(user, action):
                raise PermissionDenied()
            return view(*args, **kwargs)

        wrapped.jifen_action = action  # type: ignore[attr-defined]
        return wrapped

    return decorator
