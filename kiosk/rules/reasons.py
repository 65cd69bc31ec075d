"""A decision's reasons: a stable code, parameters, and a sentence rendered at the edge.

A :class:`Reason` holds a gettext msgid (the Chinese sentence with ``%(name)s`` placeholders)
and its parameters; nothing is rendered while the rules decide. :attr:`Reason.text` is the
sentence as a :class:`kiosk.messages.Message`, rendered like every other message when someone
reads it (:attr:`Reason.message`: the scan and redeem answers, the pages, the preview): in the
request's language through Flask-Babel, outside a request (CLI, tests) in Chinese, exactly as
the seeds word it.

Parameters are plain numbers and names (names are data: never translated) or one of the small
types below, each rendered per language: a :class:`Day` as "2024年3月28日" or "28 March 2024",
a :class:`Period` as "2024年第一季度" or "Q1 2024", a rule set's own word as a :class:`Term`
("三星级" / "3 stars" when jifen ships it, a village's own as written), and so on: ``str()`` in
the reader's language, ``chinese()`` as the source says (what :func:`kiosk.messages.chinese`
asks of a parameter). :meth:`Reason.to_dict` also gives them as JSON (dates in ISO form,
periods as their keys) for the API's ``params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeAlias

from babel.dates import format_date, get_month_names
from flask import has_request_context
from flask_babel import get_locale

from kiosk.messages import N_, Message
from kiosk.rules.periods import cn_count, cn_date, parse_period, period_label
from kiosk.rules.policy import PERIOD_QUARTER

JSONValue: TypeAlias = "int | str | None | list[JSONValue] | dict[str, JSONValue]"


def language() -> str:
    """The language reasons are rendered in: the request's ("zh" or "en"), else Chinese."""
    if has_request_context():
        locale = get_locale()
        if locale is not None and locale.language == "en":
            return "en"
    return "zh"


def _said(message: Message, lang: str) -> str:
    """``message`` in Chinese, or in the request's language (which ``lang`` then is)."""
    return message.chinese() if lang == "zh" else str(message)


class _Typed:
    """A parameter rendered per language: ``str()`` in the reader's language (as the sentence
    around it is), ``chinese()`` as the source says; each type says how in ``_say``."""

    __slots__ = ()

    def _say(self, lang: str) -> str:
        raise NotImplementedError

    def render(self) -> str:
        """In the reader's language (Chinese outside a request)."""
        return self._say(language())

    def chinese(self) -> str:
        return self._say("zh")

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class Day(_Typed):
    """A calendar day: "2024年3月28日" / "28 March 2024"."""

    value: date

    def _say(self, lang: str) -> str:
        if lang == "en":
            return format_date(self.value, "d MMMM y", locale="en")
        return cn_date(self.value)

    def to_json(self) -> JSONValue:
        return self.value.isoformat()


@dataclass(frozen=True)
class MonthDay(_Typed):
    """A day within the year being spoken of: "3月28日" / "28 March"."""

    value: date

    def _say(self, lang: str) -> str:
        if lang == "en":
            return format_date(self.value, "d MMMM", locale="en")
        return f"{self.value.month}月{self.value.day}日"

    def to_json(self) -> JSONValue:
        return self.value.isoformat()


@dataclass(frozen=True)
class Period(_Typed):
    """An assessment period by its key: "2024年第一季度" / "Q1 2024", "2024年3月" / "March 2024"."""

    key: str

    def _say(self, lang: str) -> str:
        if lang != "en":
            return period_label(self.key)
        kind, year, index = parse_period(self.key)
        if kind == PERIOD_QUARTER:
            return f"Q{index} {year}"
        return f"{get_month_names('wide', locale='en')[index]} {year}"

    def to_json(self) -> JSONValue:
        return self.key


@dataclass(frozen=True)
class Months(_Typed):
    """Months of the year: "1月、4月、7月、10月" / "January, April, July, October"."""

    months: tuple[int, ...]

    def _say(self, lang: str) -> str:
        if lang == "en":
            names = get_month_names("wide", locale="en")
            return ", ".join(str(names[m]) for m in self.months)
        return "、".join(f"{m}月" for m in self.months)

    def to_json(self) -> JSONValue:
        return list(self.months)


@dataclass(frozen=True)
class Count(_Typed):
    """A small count said in words in Chinese ("两") and in digits in English."""

    n: int

    def _say(self, lang: str) -> str:
        return str(self.n) if lang == "en" else cn_count(self.n)

    def to_json(self) -> JSONValue:
        return self.n


@dataclass(frozen=True)
class Span(_Typed):
    """A run of consecutive periods: "两个季度" / "2 quarters", "一个月" / "1 month"."""

    n: int
    period: str

    def _say(self, lang: str) -> str:
        quarter = self.period == PERIOD_QUARTER
        if self.n == 1:
            return _said(Message(N_("一个季度") if quarter else N_("一个月")), lang)
        msgid = N_("%(count)s个季度") if quarter else N_("%(count)s个月")
        return _said(Message(msgid, count=Count(self.n)), lang)

    def to_json(self) -> JSONValue:
        return self.n


@dataclass(frozen=True)
class Phrase(_Typed):
    """A part of a sentence with its own msgid and parameters (one item of a :class:`Listing`)."""

    msgid: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def _say(self, lang: str) -> str:
        return _said(Message(self.msgid, **self.params), lang)

    def to_json(self) -> JSONValue:
        return params_json(self.params)


@dataclass(frozen=True)
class Term(_Typed):
    """A rule set's own word, a tier or a restricted item: in the request's language when jifen
    ships it (the presets' words, ``SHIPPED_TERMS``), as the village wrote it otherwise. In
    JSON it is the word as stored."""

    text: str

    def _say(self, lang: str) -> str:
        # Imported when used: the package's __init__ loads this module before the presets.
        from kiosk.rules.presets import SHIPPED_TERMS

        return _said(Message(self.text), lang) if self.text in SHIPPED_TERMS else self.text

    def to_json(self) -> JSONValue:
        return self.text


# Separators between the items of a listing, by language.
COMMA, SEMICOLON, ENUMERATION = "，", "；", "、"
_ENGLISH_SEPARATORS = {COMMA: ", ", SEMICOLON: "; ", ENUMERATION: ", "}


@dataclass(frozen=True)
class Listing(_Typed):
    """Phrases one after another: "2024年第一季度：80分，2024年第二季度：未评分"."""

    items: tuple[Phrase, ...]
    separator: str = COMMA

    def _say(self, lang: str) -> str:
        sep = _ENGLISH_SEPARATORS[self.separator] if lang == "en" else self.separator
        return sep.join(item._say(lang) for item in self.items)

    def to_json(self) -> JSONValue:
        return [item.to_json() for item in self.items]


# What a reason's parameter may be: a number or a name as it is, or one of the types above.
Param: TypeAlias = (
    "int | str | Day | MonthDay | Period | Months | Count | Span | Term | Phrase | Listing"
)


def _param_json(value: Param) -> JSONValue:
    if isinstance(value, (int, str)):
        return value
    return value.to_json()


def params_json(params: Mapping[str, Param]) -> dict[str, JSONValue]:
    """Parameters as JSON: numbers and names as they are, days in ISO form, periods as keys."""
    return {key: _param_json(value) for key, value in params.items()}


@dataclass(frozen=True)
class Reason:
    """One line of a decision: a stable ``code`` (part of the API contract), the sentence's
    msgid and parameters, and whether it stops the redemption."""

    code: str
    msgid: str
    params: Mapping[str, Param] = field(default_factory=dict, hash=False)
    blocking: bool = False

    @property
    def text(self) -> Message:
        """The sentence as a message, rendered where it is read (kiosk.messages)."""
        return Message(self.msgid, **self.params)

    @property
    def message(self) -> str:
        """The sentence a keeper can read aloud, in the request's language."""
        return str(self.text)

    def to_dict(self, *, render: bool = True) -> dict[str, object]:
        """``code``, ``message`` (rendered now; with ``render=False`` kept as :attr:`text`, to be
        rendered where it is read), ``blocking`` and the JSON ``params``."""
        return {
            "code": self.code,
            "message": self.message if render else self.text,
            "blocking": self.blocking,
            "params": params_json(self.params),
        }
