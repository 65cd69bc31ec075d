"""A decision's reasons: a stable code, parameters, and a sentence rendered at the edge.

A :class:`Reason` holds a gettext msgid (the Chinese sentence with ``%(name)s`` placeholders)
and its parameters; nothing is rendered while the rules decide. The sentence is made when
someone reads :attr:`Reason.message` (the scan and redeem answers, the pages, the preview), in
the request's language through Flask-Babel; outside a request (CLI, tests) in Chinese, exactly
as the seeds word it.

Parameters are plain numbers and names (names are data: never translated) or one of the small
types below, each rendered per language: a :class:`Day` as "2024年3月28日" or "28 March 2024",
a :class:`Period` as "2024年第一季度" or "Q1 2024", a rule set's own word as a :class:`Term`
("三星级" / "3 stars" when jifen ships it, a village's own as written), and so on. :meth:`Reason.to_dict` also gives
them as JSON (dates in ISO form, periods as their keys) for the API's ``params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeAlias

from babel.dates import format_date, get_month_names
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _

from kiosk.rules.periods import cn_count, cn_date, parse_period, period_label
from kiosk.rules.policy import PERIOD_QUARTER

JSONValue: TypeAlias = "int | str | None | list[JSONValue] | dict[str, JSONValue]"


def N_(msgid: str) -> str:  # noqa: N802  (the gettext convention for "mark, do not translate")
    """Mark ``msgid`` for extraction (``pybabel extract``); it is translated when rendered."""
    return msgid


def language() -> str:
    """The language reasons are rendered in: the request's ("zh" or "en"), else Chinese."""
    if has_request_context():
        locale = get_locale()
        if locale is not None and locale.language == "en":
            return "en"
    return "zh"


def translate(msgid: str) -> str:
    """``msgid`` in the request's language (the Chinese msgid itself outside a request)."""
    return _(msgid) if language() != "zh" else msgid


@dataclass(frozen=True)
class Day:
    """A calendar day: "2024年3月28日" / "28 March 2024"."""

    value: date

    def render(self) -> str:
        if language() == "en":
            return format_date(self.value, "d MMMM y", locale="en")
        return cn_date(self.value)

    def to_json(self) -> JSONValue:
        return self.value.isoformat()


@dataclass(frozen=True)
class MonthDay:
    """A day within the year being spoken of: "3月28日" / "28 March"."""

    value: date

    def render(self) -> str:
        if language() == "en":
            return format_date(self.value, "d MMMM", locale="en")
        return f"{self.value.month}月{self.value.day}日"

    def to_json(self) -> JSONValue:
        return self.value.isoformat()


@dataclass(frozen=True)
class Period:
    """An assessment period by its key: "2024年第一季度" / "Q1 2024", "2024年3月" / "March 2024"."""

    key: str

    def render(self) -> str:
        if language() != "en":
            return period_label(self.key)
        kind, year, index = parse_period(self.key)
        if kind == PERIOD_QUARTER:
            return f"Q{index} {year}"
        return f"{get_month_names('wide', locale='en')[index]} {year}"

    def to_json(self) -> JSONValue:
        return self.key


@dataclass(frozen=True)
class Months:
    """Months of the year: "1月、4月、7月、10月" / "January, April, July, October"."""

    months: tuple[int, ...]

    def render(self) -> str:
        if language() == "en":
            names = get_month_names("wide", locale="en")
            return ", ".join(str(names[m]) for m in self.months)
        return "、".join(f"{m}月" for m in self.months)

    def to_json(self) -> JSONValue:
        return list(self.months)


@dataclass(frozen=True)
class Count:
    """A small count said in words in Chinese ("两") and in digits in English."""

    n: int

    def render(self) -> str:
        return str(self.n) if language() == "en" else cn_count(self.n)

    def to_json(self) -> JSONValue:
        return self.n


@dataclass(frozen=True)
class Span:
    """A run of consecutive periods: "两个季度" / "2 quarters", "一个月" / "1 month"."""

    n: int
    period: str

    def render(self) -> str:
        quarter = self.period == PERIOD_QUARTER
        if self.n == 1:
            return translate(N_("一个季度") if quarter else N_("一个月"))
        return translate(N_("%(count)s个季度") if quarter else N_("%(count)s个月")) % {
            "count": Count(self.n).render()
        }

    def to_json(self) -> JSONValue:
        return self.n


@dataclass(frozen=True)
class Phrase:
    """A part of a sentence with its own msgid and parameters (one item of a :class:`Listing`)."""

    msgid: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def render(self) -> str:
        return format_message(self.msgid, self.params)

    def to_json(self) -> JSONValue:
        return params_json(self.params)


@dataclass(frozen=True)
class Term:
    """A rule set's own word, a tier or a restricted item: in the request's language when jifen
    ships it (the presets' words, ``SHIPPED_TERMS``), as the village wrote it otherwise. In
    JSON it is the word as stored."""

    text: str

    def render(self) -> str:
        # Imported when used: the package's __init__ loads this module before the presets.
        from kiosk.rules.presets import SHIPPED_TERMS

        return translate(self.text) if self.text in SHIPPED_TERMS else self.text

    def to_json(self) -> JSONValue:
        return self.text


# Separators between the items of a listing, by language.
COMMA, SEMICOLON, ENUMERATION = "，", "；", "、"
_ENGLISH_SEPARATORS = {COMMA: ", ", SEMICOLON: "; ", ENUMERATION: ", "}


@dataclass(frozen=True)
class Listing:
    """Phrases one after another: "2024年第一季度：80分，2024年第二季度：未评分"."""

    items: tuple[Phrase, ...]
    separator: str = COMMA

    def render(self) -> str:
        sep = _ENGLISH_SEPARATORS[self.separator] if language() == "en" else self.separator
        return sep.join(item.render() for item in self.items)

    def to_json(self) -> JSONValue:
        return [item.to_json() for item in self.items]


# What a reason's parameter may be: a number or a name as it is, or one of the types above.
Param: TypeAlias = (
    "int | str | Day | MonthDay | Period | Months | Count | Span | Term | Phrase | Listing"
)


def _render_param(value: Param) -> str:
    if isinstance(value, (int, str)):
        return str(value)
    return value.render()


def _param_json(value: Param) -> JSONValue:
    if isinstance(value, (int, str)):
        return value
    return value.to_json()


def params_json(params: Mapping[str, Param]) -> dict[str, JSONValue]:
    """Parameters as JSON: numbers and names as they are, days in ISO form, periods as keys."""
    return {key: _param_json(value) for key, value in params.items()}


def format_message(msgid: str, params: Mapping[str, Param]) -> str:
    """``msgid`` translated to the request's language with its parameters filled in."""
    template = translate(msgid)
    if not params:
        return template
    return template % {key: _render_param(value) for key, value in params.items()}


@dataclass(frozen=True)
class Reason:
    """One line of a decision: a stable ``code`` (part of the API contract), the sentence's
    msgid and parameters, and whether it stops the redemption."""

    code: str
    msgid: str
    params: Mapping[str, Param] = field(default_factory=dict, hash=False)
    blocking: bool = False

    @property
    def message(self) -> str:
        """The sentence a keeper can read aloud, in the request's language."""
        return format_message(self.msgid, self.params)

    def to_dict(self) -> dict[str, object]:
        """``code``, ``message`` (rendered now), ``blocking`` and the JSON ``params``."""
        return {
            "code": self.code,
            "message": self.message,
            "blocking": self.blocking,
            "params": params_json(self.params),
        }
