"""Display helpers shared by pages, receipts and notices (masking, money, local time, and the
rule sets' shipped words and assessment periods in the page's language)."""

from __future__ import annotations

from datetime import datetime

import flask_babel
from flask import Flask, current_app

from kiosk.timeutil import to_local


def mask_name(name: str) -> str:
    """Mask a person's name for receipts and notices: 张三丰 → 张*丰, 张三 → 张*, 欧阳娜娜 → 欧**娜."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def yuan(fen: int) -> str:
    """Integer fen as a yuan amount: 1250 → '12.50'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A naive-UTC timestamp in the supermarket's local time."""
    if moment is None:
        return ""
    return to_local(moment, current_app.config["JIFEN_TIMEZONE"]).strftime(fmt)


def rule_term(term: str) -> str:
    """A rule set's name, tier or restricted item as shown: one jifen ships (默认规则, the seed
    presets' names, tiers and items) in the page's language, a village's own as it wrote it."""
    from kiosk.rules.reasons import Term

    return Term(term).render()


def period_name(key: str) -> str:
    """An assessment period by its key ("2025Q1", "2025-03") in the page's language: "2025年第一季度"
    / "Q1 2025". What a notice stores (its ``period_label``) stays Chinese."""
    from kiosk.rules.reasons import Period

    return Period(key).render()


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["mask"] = mask_name
    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["rule_term"] = rule_term
    app.jinja_env.filters["period_name"] = period_name
    # The page's language (zh or en, chosen by ?lang= and kept in the session) for <html lang>.
    app.jinja_env.globals["get_locale"] = flask_babel.get_locale
