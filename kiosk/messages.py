"""Sentences for people, kept as a msgid and its parameters until someone reads them.

A service does not know who will read its refusal: a keeper at the counter in Chinese, an
office clerk who chose English, a county platform over the API, or ``jifen`` on a terminal.
So it says ``_("只剩%(left)s%(unit)s", left=3, unit="斤")`` and the sentence is rendered where
it is shown: inside a request through Flask-Babel's gettext in the request's locale, anywhere
else (CLI, logs, tests) in Chinese, the msgid itself. Chinese therefore reads byte for byte as
the source says.

``_`` is the name ``pybabel extract`` (babel.cfg) and ``tests/web/test_i18n.py`` look for, so
every msgid written here is collected into the catalogue and must have its English there.
A msgid with parameters escapes a literal percent sign as ``%%``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask.json.provider import DefaultJSONProvider


def render(msgid: str, params: dict[str, Any] | None = None, context: str | None = None) -> str:
    """``msgid`` with ``params`` in the request's language, or in Chinese outside a request;
    with a ``context``, the translation given for that context (gettext's msgctxt)."""
    from flask import has_request_context

    if has_request_context():
        from flask_babel import gettext, pgettext

        if context is not None:
            return pgettext(context, msgid, **(params or {}))
        return gettext(msgid, **(params or {}))
    return msgid % params if params else msgid


class Message:
    """A msgid and its parameters; ``str()`` renders it in the reader's language.

    A parameter may itself be a :class:`Message` (a row's problem inside an import's refusal):
    it is rendered in the same language when the outer sentence is.
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return render(self.msgid, self.params)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"

    def chinese(self) -> str:
        """The source text, whatever the request's language (for what is stored or printed)."""
        params = {k: chinese(v) for k, v in self.params.items()}
        return self.msgid % params if params else self.msgid

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return self.msgid == other.msgid and self.params == other.params
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.msgid)

    def __add__(self, other: object) -> str:
        return str(self) + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + str(self)

    def __contains__(self, text: str) -> bool:
        return text in str(self)

    def startswith(self, prefix: str) -> bool:
        return str(self).startswith(prefix)

    def to_json(self) -> dict[str, Any]:
        """The msgid and its parameters as JSON (what is stored); :func:`from_json` reads it."""
        return {"msgid": self.msgid, "params": {k: to_json(v) for k, v in self.params.items()}}


def _(msgid: str, **params: Any) -> Message:
    """Mark ``msgid`` for the catalogue and keep it, with ``params``, until it is shown."""
    return Message(msgid, **params)


class InContext(Message):
    """A msgid said in one context (gettext's msgctxt): the same Chinese word translated apart
    where English needs another form, 提交 on a button ("Submit") and in "cannot be submitted"."""

    __slots__ = ("context",)

    def __init__(self, context: str, msgid: str, **params: Any) -> None:
        super().__init__(msgid, **params)
        self.context = context

    def __str__(self) -> str:
        return render(self.msgid, self.params, self.context)

    def __repr__(self) -> str:
        return f"InContext({self.context!r}, {self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message) and not isinstance(other, InContext):
            return False
        if isinstance(other, InContext) and other.context != self.context:
            return False
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((self.context, self.msgid))

    def to_json(self) -> dict[str, Any]:
        return {"context": self.context, **super().to_json()}


def pgettext(context: str, msgid: str, **params: Any) -> Message:
    """Like :func:`_`, in ``context``: ``pgettext("cannot be …", "提交")``. ``pybabel extract``
    knows the name (msgctxt ``context``); the catalogue gives English per context."""
    return InContext(context, msgid, **params)


def N_(msgid: str) -> str:  # noqa: N802  (the gettext convention: mark now, translate later)
    """Mark ``msgid`` for the catalogue and keep it a plain string: for labels kept in tables
    and translated where they are shown (``{{ _(label) }}`` on a page, ``Message(label)``)."""
    return msgid


# Between the sentences of one refusal ("不能结账：A；B").
LIST_SEPARATOR = _("；")
# Between the words of a list ("usb、serial、network").
WORD_SEPARATOR = _("、")


class Joined(Message):
    """Several sentences (or words) shown as one, joined by the language's separator."""

    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[str | Message], separator: Message = LIST_SEPARATOR) -> None:
        super().__init__(separator.msgid)
        self.parts = list(parts)

    def __str__(self) -> str:
        return render(self.msgid).join(str(p) for p in self.parts)

    def __repr__(self) -> str:
        return f"Joined({self.parts!r})"

    def chinese(self) -> str:
        return self.msgid.join(chinese(p) for p in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "parts": [to_json(p) for p in self.parts]}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Joined):
            return self.msgid == other.msgid and self.parts == other.parts
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((self.msgid, *(str(p) for p in self.parts)))


def chinese(value: Any) -> Any:
    """``value`` with every :class:`Message` in it rendered in Chinese (lists and dicts too);
    a parameter that says itself per language (a reason's day or period) by its ``chinese()``."""
    if isinstance(value, Message) or callable(getattr(value, "chinese", None)):
        return value.chinese()
    return _walk(value, chinese)


def rendered(value: Any) -> Any:
    """``value`` with every :class:`Message` in it rendered in the reader's language."""
    if isinstance(value, Message):
        return str(value)
    return _walk(value, rendered)


def _walk(value: Any, each: Any) -> Any:
    if isinstance(value, dict):
        return {k: each(v) for k, v in value.items()}
    if isinstance(value, list):
        return [each(v) for v in value]
    if type(value) is tuple:
        return tuple(each(v) for v in value)
    return value


def to_json(value: Any) -> Any:
    """``value`` as JSON to store, every :class:`Message` in it as ``{"msgid", "params"}``
    (a :class:`Joined` as ``{"msgid", "parts"}``), so that it can be shown later in whichever
    language the reader has. Text, numbers and None are kept; anything else is kept as its
    ``to_json()`` if it has one, else as its text."""
    if isinstance(value, Message):
        return value.to_json()
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if callable(getattr(value, "to_json", None)):
        return to_json(value.to_json())
    return str(value)


def from_json(value: Any) -> Any:
    """What :func:`to_json` stored, with its messages back as :class:`Message` (rendered when
    shown). Plain text (what was stored before messages were) is kept as it is."""
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    msgid = value.get("msgid")
    if isinstance(msgid, str) and isinstance(value.get("parts"), list):
        return Joined([from_json(p) for p in value["parts"]], Message(msgid))
    if isinstance(msgid, str) and isinstance(value.get("params", {}), dict):
        params = {str(k): from_json(v) for k, v in value.get("params", {}).items()}
        if isinstance(value.get("context"), str):
            return InContext(value["context"], msgid, **params)
        return Message(msgid, **params)
    return {k: from_json(v) for k, v in value.items()}


class MessageJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with a :class:`Message` written as its sentence in the request's language."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Message):
            return str(o)
        return DefaultJSONProvider.default(o)
