"""A policy to and from plain data (dicts, JSON) and TOML, every field checked.

:func:`policy_from_dict` checks every field and names the wrong one in the committee's words
(:data:`FIELD_LABELS`), so a bad file or request loses nothing; :func:`policy_to_toml` writes a
document (with ``tomli-w``) that :func:`policy_from_toml` reads back to the same policy.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import tomli_w

from kiosk.errors import ValidationFailed
from kiosk.messages import N_, WORD_SEPARATOR, Joined, Message, _, render
from kiosk.rules.policy import (
    CYCLE_ROLLING,
    CYCLE_YEAR,
    HOLDER_HOUSEHOLD,
    HOLDER_INDIVIDUAL,
    PERIOD_MONTH,
    PERIOD_QUARTER,
    SPEND_BALANCE,
    SPEND_QUOTA,
    TIER_BY_POINTS,
    TIER_BY_SCORE,
    VETO_CLEAR_AND_BAR_YEAR,
    VETO_NONE,
    VETO_ZERO_SCORE_PERIOD,
    WINDOW_ALWAYS,
    WINDOW_LAST_MARKET_DAY,
    WINDOW_MONTHS,
    Conversion,
    Gate,
    Policy,
    Restriction,
    Tier,
    Window,
)

# ---------------------------------------------------------------------------
# Policy <-> dict
# ---------------------------------------------------------------------------


def policy_to_dict(p: Policy) -> dict[str, Any]:
    """A policy as plain JSON-able data (lists, not tuples; None for an absent gate etc.)."""
    return {
        "name": p.name,
        "preset": p.preset,
        "holder": p.holder,
        "points_per_yuan": p.points_per_yuan,
        "spend": p.spend,
        "reserved_base": p.reserved_base,
        "base_grant": p.base_grant,
        "cycle": p.cycle,
        "period": p.period,
        "gate": (
            {"min_score": p.gate.min_score, "consecutive_periods": p.gate.consecutive_periods}
            if p.gate
            else None
        ),
        "conversion": (
            {"numerator": p.conversion.numerator, "denominator": p.conversion.denominator}
            if p.conversion
            else None
        ),
        "tier_basis": p.tier_basis,
        "tiers": [
            {
                "name": t.name,
                "min_value": t.min_value,
                "max_value": t.max_value,
                "quota_yuan": t.quota_yuan,
            }
            for t in p.tiers
        ],
        "window": {
            "kind": p.window.kind,
            "months": list(p.window.months),
            "market_days": list(p.window.market_days),
            "every_months": p.window.every_months,
        },
        "veto": p.veto,
        "restrictions": [
            {
                "key": r.key,
                "label": r.label,
                "min_age": r.min_age,
                "max_age": r.max_age,
                "min_score": r.min_score,
                "min_tier": r.min_tier,
                "free": r.free,
                "per_period_limit": r.per_period_limit,
            }
            for r in p.restrictions
        ],
    }


_CHOICES = {
    "holder": {HOLDER_HOUSEHOLD: N_("按户"), HOLDER_INDIVIDUAL: N_("按个人")},
    "spend": {SPEND_BALANCE: N_("扣积分余额"), SPEND_QUOTA: N_("按额度")},
    "cycle": {CYCLE_ROLLING: N_("滚动结存"), CYCLE_YEAR: N_("每年重新积分")},
    "period": {PERIOD_QUARTER: N_("季度"), PERIOD_MONTH: N_("月")},
    "tier_basis": {TIER_BY_SCORE: N_("按评分"), TIER_BY_POINTS: N_("按积分")},
    "veto": {
        VETO_NONE: N_("无"),
        VETO_CLEAR_AND_BAR_YEAR: N_("清零并取消当年兑换资格"),
        VETO_ZERO_SCORE_PERIOD: N_("该期评分为0分"),
    },
    "window.kind": {
        WINDOW_ALWAYS: N_("随时"),
        WINDOW_MONTHS: N_("指定月份"),
        WINDOW_LAST_MARKET_DAY: N_("每月最后一个赶场天"),
    },
}

CHOICES = _CHOICES  # each choice field's values in Chinese (see choice_words), for the policy form

_TOP_FIELDS = {
    "name",
    "preset",
    "holder",
    "points_per_yuan",
    "spend",
    "reserved_base",
    "base_grant",
    "cycle",
    "period",
    "gate",
    "conversion",
    "tier_basis",
    "tiers",
    "window",
    "veto",
    "restrictions",
}
_GATE_FIELDS = {"min_score", "consecutive_periods"}
_CONVERSION_FIELDS = {"numerator", "denominator"}
_TIER_FIELDS = {"name", "min_value", "max_value", "quota_yuan"}
_WINDOW_FIELDS = {"kind", "months", "market_days", "every_months"}
_RESTRICTION_FIELDS = {
    "key",
    "label",
    "min_age",
    "max_age",
    "min_score",
    "min_tier",
    "free",
    "per_period_limit",
}
_EVERY_MONTHS = (1, 2, 3, 4, 6, 12)
_MAX_POINTS = 10**9


# Every field of a rule set in the words of a village committee: said once here, used by the
# policy form's labels and by the validator's messages (a cadre never reads `points_per_yuan`).
FIELD_LABELS: dict[str, str] = {
    "name": N_("规则名称"),
    "preset": N_("规则模板"),
    "holder": N_("评分对象"),
    "points_per_yuan": N_("1元兑换需要的积分"),
    "spend": N_("兑换方式"),
    "reserved_base": N_("基础分（不能兑换的部分）"),
    "base_grant": N_("每年发放基础分"),
    "cycle": N_("积分周期"),
    "period": N_("考评周期"),
    "gate": N_("评分门槛"),
    "gate.min_score": N_("门槛最低评分"),
    "gate.consecutive_periods": N_("门槛连续期数"),
    "conversion": N_("评分折换积分"),
    "conversion.numerator": N_("折换：积分"),
    "conversion.denominator": N_("折换：评分"),
    "tier_basis": N_("分级依据"),
    "tiers": N_("等级"),
    "tier.name": N_("级别名称"),
    "tier.min_value": N_("最低"),
    "tier.max_value": N_("最高"),
    "tier.quota_yuan": N_("每期额度（元）"),
    "window": N_("兑换时间"),
    "window.kind": N_("兑换时间"),
    "window.months": N_("可以兑换的月份"),
    "window.market_days": N_("赶场日"),
    "window.every_months": N_("每几个月兑换一次"),
    "veto": N_("一票否决"),
    "restrictions": N_("限定物品"),
    "restriction.key": N_("标记"),
    "restriction.label": N_("名称"),
    "restriction.min_age": N_("最低年龄"),
    "restriction.max_age": N_("最高年龄"),
    "restriction.min_score": N_("最低评分"),
    "restriction.min_tier": N_("最低等级"),
    "restriction.free": N_("免费"),
    "restriction.per_period_limit": N_("每期每人限几次"),
}


def field_labels() -> dict[str, str]:
    """:data:`FIELD_LABELS` in the request's language (Chinese outside a request), for the form."""
    return {key: render(label) for key, label in FIELD_LABELS.items()}


def choice_words() -> dict[str, dict[str, str]]:
    """:data:`CHOICES` in the request's language (Chinese outside a request), for the form."""
    return {
        field: {value: render(word) for value, word in options.items()}
        for field, options in CHOICES.items()
    }


_INDEXED = re.compile(r"^(tiers|restrictions)\[(\d+)\](?:\.(\w+))?$")


def field_label(field: str) -> str:
    """A rule-set field path in the reader's words: "points_per_yuan" → "1元兑换需要的积分",
    "tiers[1].min_value" → "第2个等级的最低"; an unknown name (a typo in TOML) as written."""
    return str(_field_words(field))


def _field_words(field: str) -> Message:
    if not field:
        return _("规则")
    if field in FIELD_LABELS:
        return Message(FIELD_LABELS[field])
    match = _INDEXED.match(field)
    if match is None:
        return _as_written(field)
    group, index, sub = match.group(1), int(match.group(2)) + 1, match.group(3)
    whole = _("第%(n)s个%(group)s", n=index, group=Message(FIELD_LABELS[group]))
    if sub is None:
        return whole
    label = FIELD_LABELS.get(f"{group[:-1]}.{sub}")
    part = Message(label) if label is not None else _as_written(sub)
    return _("%(whole)s的%(part)s", whole=whole, part=part)


def _as_written(name: str) -> Message:
    """A name as the file wrote it (not a msgid: never translated)."""
    return Message("%(name)s", name=name)


def _fail(field: str, problem: Message) -> ValidationFailed:
    return ValidationFailed(
        _("“%(field)s”不正确：%(problem)s", field=_field_words(field), problem=problem),
        field=field,
    )


def _table(value: Any, field: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(field, _("应为一组设置（表）"))
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        name = f"{field}.{unknown[0]}" if field else unknown[0]
        raise _fail(name, _("没有这个设置项"))
    return value


def _int(
    d: dict[str, Any],
    key: str,
    field: str,
    *,
    default: int | None = None,
    low: int = 0,
    high: int = _MAX_POINTS,
    optional: bool = False,
) -> int | None:
    value = d.get(key, default)
    if value is None:
        if optional:
            return None
        raise _fail(field, _("必须填写"))
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, _("应为整数，收到“%(value)s”", value=value))
    if not low <= value <= high:
        raise _fail(
            field, _("应在%(low)s到%(high)s之间，收到%(value)s", low=low, high=high, value=value)
        )
    return value


def _req_int(d: dict[str, Any], key: str, field: str, **kw: Any) -> int:
    value = _int(d, key, field, **kw)
    assert value is not None
    return value


def _text(
    d: dict[str, Any], key: str, field: str, *, default: str | None = None, optional: bool = False
) -> str | None:
    value = d.get(key, default)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, _("应为非空文字"))
    if len(value) > 60:
        raise _fail(field, _("文字太长（最多60个字）"))
    return value.strip()


def _choice(d: dict[str, Any], key: str, field: str, default: str) -> str:
    value = d.get(key, default)
    options = _CHOICES[field]
    if value not in options:
        listed = Joined(
            (_("%(key)s（%(word)s）", key=k, word=Message(v)) for k, v in options.items()),
            WORD_SEPARATOR,
        )
        raise _fail(field, _("应为以下之一：%(listed)s", listed=listed))
    return str(value)


def _int_list(d: dict[str, Any], key: str, field: str, low: int, high: int) -> tuple[int, ...]:
    value = d.get(key, [])
    if not isinstance(value, (list, tuple)):
        raise _fail(field, _("应为整数列表"))
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
            raise _fail(
                field,
                _(
                    "每一项应为%(low)s到%(high)s之间的整数，收到“%(item)s”",
                    low=low,
                    high=high,
                    item=item,
                ),
            )
        if item in out:
            raise _fail(field, _("%(item)s重复", item=item))
        out.append(item)
    return tuple(out)


def _list(d: dict[str, Any], key: str, field: str) -> list[Any]:
    value = d.get(key, [])
    if not isinstance(value, (list, tuple)):
        raise _fail(field, _("应为列表"))
    return list(value)


def policy_from_dict(d: Any) -> Policy:
    """Build and check a policy from plain data; ValidationFailed names the wrong field."""
    d = _table(d, "", _TOP_FIELDS)
    name = _text(d, "name", "name", default=Policy.name)
    preset_key = d.get("preset")
    if preset_key is not None and not isinstance(preset_key, str):
        raise _fail("preset", _("应为文字"))
    holder = _choice(d, "holder", "holder", HOLDER_HOUSEHOLD)
    spend = _choice(d, "spend", "spend", SPEND_BALANCE)
    cycle = _choice(d, "cycle", "cycle", CYCLE_ROLLING)
    period = _choice(d, "period", "period", PERIOD_QUARTER)
    tier_basis = _choice(d, "tier_basis", "tier_basis", TIER_BY_SCORE)
    veto = _choice(d, "veto", "veto", VETO_NONE)
    ppy = _req_int(d, "points_per_yuan", "points_per_yuan", default=1, low=1, high=1000)
    reserved_base = _req_int(d, "reserved_base", "reserved_base", default=0)
    base_grant = _req_int(d, "base_grant", "base_grant", default=0)
    gate = _gate(d.get("gate"))
    conversion = _conversion(d.get("conversion"))
    tiers = _tiers(_list(d, "tiers", "tiers"), tier_basis)
    window = _window(d.get("window", {}))
    restrictions = _restrictions(_list(d, "restrictions", "restrictions"), tiers)
    if spend == SPEND_QUOTA and not any(t.quota_yuan is not None for t in tiers):
        raise _fail("spend", _("按额度兑换时，至少一个等级要设定每期额度（元）"))
    return Policy(
        name=name or Policy.name,
        preset=preset_key,
        holder=holder,
        points_per_yuan=ppy,
        spend=spend,
        reserved_base=reserved_base,
        base_grant=base_grant,
        cycle=cycle,
        period=period,
        gate=gate,
        conversion=conversion,
        tier_basis=tier_basis,
        tiers=tiers,
        window=window,
        veto=veto,
        restrictions=restrictions,
    )


def _gate(raw: Any) -> Gate | None:
    if raw is None:
        return None
    g = _table(raw, "gate", _GATE_FIELDS)
    return Gate(
        min_score=_req_int(g, "min_score", "gate.min_score", high=100),
        consecutive_periods=_req_int(
            g, "consecutive_periods", "gate.consecutive_periods", low=1, high=12
        ),
    )


def _conversion(raw: Any) -> Conversion | None:
    if raw is None:
        return None
    c = _table(raw, "conversion", _CONVERSION_FIELDS)
    return Conversion(
        numerator=_req_int(c, "numerator", "conversion.numerator", default=1, high=1000),
        denominator=_req_int(
            c, "denominator", "conversion.denominator", default=10, low=1, high=1000
        ),
    )


def _tiers(rows: list[Any], tier_basis: str) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    high = 100 if tier_basis == TIER_BY_SCORE else _MAX_POINTS
    for i, raw in enumerate(rows):
        f = f"tiers[{i}]"
        t = _table(raw, f, _TIER_FIELDS)
        tier = Tier(
            name=_text(t, "name", f"{f}.name") or "",
            min_value=_req_int(t, "min_value", f"{f}.min_value", high=high),
            max_value=_req_int(t, "max_value", f"{f}.max_value", high=high),
            quota_yuan=_int(t, "quota_yuan", f"{f}.quota_yuan", optional=True),
        )
        if tier.max_value < tier.min_value:
            raise _fail(f"{f}.max_value", _("不能小于最低值%(min)s", min=tier.min_value))
        for j, other in enumerate(tiers):
            if other.name == tier.name:
                raise _fail(f"{f}.name", _("与第%(n)s个等级重名", n=j + 1))
            if tier.min_value <= other.max_value and other.min_value <= tier.max_value:
                raise _fail(f, _("范围与第%(n)s个等级“%(name)s”重叠", n=j + 1, name=other.name))
        tiers.append(tier)
    return tuple(tiers)


def _window(raw: Any) -> Window:
    w = _table(raw, "window", _WINDOW_FIELDS)
    window = Window(
        kind=_choice(w, "kind", "window.kind", WINDOW_ALWAYS),
        months=_int_list(w, "months", "window.months", 1, 12),
        market_days=_int_list(w, "market_days", "window.market_days", 1, 31),
        every_months=_req_int(w, "every_months", "window.every_months", default=1, low=1, high=12),
    )
    if window.every_months not in _EVERY_MONTHS:
        raise _fail("window.every_months", _("应为1、2、3、4、6或12（能整除12个月）"))
    if window.kind == WINDOW_MONTHS and not window.months:
        raise _fail("window.months", _("按月份兑换时至少要有一个月份"))
    if window.kind == WINDOW_LAST_MARKET_DAY and not window.market_days:
        raise _fail("window.market_days", _("按赶场天兑换时至少要有一个赶场日"))
    return window


def _restrictions(rows: list[Any], tiers: tuple[Tier, ...]) -> tuple[Restriction, ...]:
    restrictions: list[Restriction] = []
    for i, raw in enumerate(rows):
        restriction = _restriction(raw, f"restrictions[{i}]", tiers)
        if any(other.key == restriction.key for other in restrictions):
            raise _fail(f"restrictions[{i}].key", _("“%(key)s”重复", key=restriction.key))
        restrictions.append(restriction)
    return tuple(restrictions)


def _restriction(raw: Any, f: str, tiers: tuple[Tier, ...]) -> Restriction:
    r = _table(raw, f, _RESTRICTION_FIELDS)
    free = r.get("free", False)
    if not isinstance(free, bool):
        raise _fail(f"{f}.free", _("应为 true 或 false"))
    min_tier = _text(r, "min_tier", f"{f}.min_tier", optional=True)
    if min_tier is not None and min_tier not in [t.name for t in tiers]:
        raise _fail(f"{f}.min_tier", _("没有名为“%(name)s”的等级", name=min_tier))
    restriction = Restriction(
        key=_text(r, "key", f"{f}.key") or "",
        label=_text(r, "label", f"{f}.label") or "",
        min_age=_int(r, "min_age", f"{f}.min_age", high=150, optional=True),
        max_age=_int(r, "max_age", f"{f}.max_age", high=150, optional=True),
        min_score=_int(r, "min_score", f"{f}.min_score", high=100, optional=True),
        min_tier=min_tier,
        free=free,
        per_period_limit=_int(r, "per_period_limit", f"{f}.per_period_limit", low=1, optional=True),
    )
    if (
        restriction.min_age is not None
        and restriction.max_age is not None
        and restriction.max_age < restriction.min_age
    ):
        raise _fail(f"{f}.max_age", _("不能小于最低年龄%(min)s", min=restriction.min_age))
    return restriction


# ---------------------------------------------------------------------------
# TOML
# ---------------------------------------------------------------------------


def _without_none(value: Any) -> Any:
    """TOML has no null: an absent optional value is left out."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def policy_to_toml(p: Policy) -> str:
    """A policy as a TOML document that :func:`policy_from_toml` reads back to the same policy
    (its title comment in the reader's language; the values as they are)."""
    title = _("积分兑换规则（jifen policy）")
    return f"# {title}\n" + tomli_w.dumps(_without_none(policy_to_dict(p)))


def policy_from_toml(text: str) -> Policy:
    """Read and check a policy from TOML text (ValidationFailed on bad TOML or a bad field)."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, TypeError) as exc:
        raise ValidationFailed(_("规则文件不是有效的TOML：%(error)s", error=str(exc))) from None
    return policy_from_dict(data)
