"""What every request must satisfy before a view sees it, for pages and the API alike.

- Ids in URLs are ASCII digits up to 2³¹−1 (the ``int`` converter is replaced): a larger one is
  404, never an overflow in the database.
- Bodies are bounded: ``JIFEN_MAX_BODY_BYTES`` (1 MB) for JSON and forms, Flask's
  ``MAX_CONTENT_LENGTH`` for file uploads, and a view's own limit set with :func:`body_limit`.
  Too much is 413 with a message that says so (see :mod:`kiosk.web.errors`).
- JSON bodies nest at most ``JIFEN_MAX_JSON_DEPTH`` deep, checked before parsing (100,000 ``[``
  would exhaust Python's recursion), and hold no control characters or lone surrogates.
- Query strings, form fields and URL paths hold no control characters either (tab and line
  breaks are allowed in form fields, which textareas send): PostgreSQL cannot store NUL, and
  SQLite's ``LIKE`` treats a NUL as the end of the pattern.

Registered first by the app factory, before the blueprints (the converter is read when a rule
is added) and before Flask-WTF's CSRF check (which reads the form).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from kiosk import parsing
from kiosk.errors import ValidationFailed
from kiosk.messages import N_, Message, _

F = TypeVar("F", bound=Callable[..., Any])


def digits_up_to(maximum: int) -> str:
    """A regular expression matching the decimal numbers 0…maximum (ASCII digits)."""
    top = str(maximum)
    alternatives = [f"[0-9]{{1,{len(top) - 1}}}"] if len(top) > 1 else []
    for i, digit in enumerate(top):
        if digit != "0":
            rest = len(top) - i - 1
            alternatives.append(
                top[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else "")
            )
    alternatives.append(top)
    return "(?:" + "|".join(alternatives) + ")"


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in a route: ASCII digits only (``\\d`` also matches ``٣``), at most 2³¹−1.

    The bound is in the pattern, not only in ``to_python``: werkzeug answers 405 rather than 404
    when a path matches one rule's pattern with another method and fails the other's check.
    """

    regex = digits_up_to(parsing.DB_INT_MAX)

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", parsing.DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Let one view read a body of up to ``max_bytes`` (put it right under ``@bp.post``)."""

    def mark(view: F) -> F:
        view.jifen_max_body_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


def _body_limit_for_request() -> int | None:
    view = current_app.view_functions.get(request.endpoint or "")
    own = getattr(view, "jifen_max_body_bytes", None)
    if own is not None:
        return own
    if request.mimetype == "multipart/form-data":
        return current_app.config.get("MAX_CONTENT_LENGTH")
    return current_app.config.get("JIFEN_MAX_BODY_BYTES")


def _refuse_text(where: str, name: str, ch: str) -> ValidationFailed:
    """``where`` is an ``N_`` msgid naming what held the character (查询参数, 输入项, ...)."""
    from kiosk.api.contract import label_of  # the fields' Chinese names, shared with the API

    label = label_of(name)
    shown = _("%(item)s（%(key)s）", item=label, key=name) if label else name
    return ValidationFailed(
        _(
            "%(where)s「%(field)s」含有不允许的控制字符（%(char)s），请删去后重试",
            where=Message(where),
            field=shown,
            char=parsing.describe_character(ch),
        ),
        field=name,
    )


def check_request() -> None:
    """Refuse a request whose size, path, query string or form breaks the rules above."""
    request.max_content_length = _body_limit_for_request()
    if parsing.bad_character(request.path) is not None:
        raise NotFound()
    for name, value in request.args.items(multi=True):
        ch = parsing.bad_character(name) or parsing.bad_character(value)
        if ch is not None:
            raise _refuse_text(N_("查询参数"), name, ch)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for name, value in request.form.items(multi=True):
            # (a malformed multipart part can come back without a name or a value: nothing to
            # check there, and no 500)
            ch = parsing.bad_character(name or "") or parsing.bad_character(
                value or "", multiline=True
            )
            if ch is not None:
                raise _refuse_text(N_("输入项"), name, ch)


def _check_json_strings(value: Any, path: str) -> None:
    """Refuse control characters (tab and line breaks allowed) anywhere in parsed JSON."""
    if isinstance(value, str):
        ch = parsing.bad_character(value, multiline=True)
        if ch is not None:
            raise _refuse_text(N_("字段"), path or "(body)", ch)
    elif isinstance(value, dict):
        for key, item in value.items():
            ch = parsing.bad_character(key)
            if ch is not None:
                raise _refuse_text(N_("字段名"), path or "(body)", ch)
            _check_json_strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_strings(item, f"{path}[{i}]")


class GuardedRequest(Request):
    """Flask's request whose JSON is checked for depth before parsing and for control
    characters after."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or self.is_json):
            return super().get_json(force=force, silent=silent, cache=cache)
        limit = current_app.config.get("JIFEN_MAX_JSON_DEPTH", 32)
        if parsing.json_depth(self.get_data(cache=True)) > limit:
            raise ValidationFailed(_("JSON嵌套太深：最多%(n)s层", n=limit))
        body = super().get_json(force=force, silent=silent, cache=cache)
        _check_json_strings(body, "")
        return body


def install(app: Flask) -> None:
    """Put the guards in place on a new app (before its blueprints and extensions)."""
    app.request_class = GuardedRequest
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(check_request)
