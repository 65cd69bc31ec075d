"""Policies to and from dicts and TOML: every bad field is refused in Chinese, by name."""

from __future__ import annotations

import copy

import pytest

from kiosk.errors import ValidationFailed
from kiosk.rules import Policy
from kiosk.rules.policy_io import (
    field_label,
    policy_from_dict,
    policy_from_toml,
    policy_to_dict,
    policy_to_toml,
)
from kiosk.rules.presets import DATONG, PRESETS, ZHAILI, preset_choices


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_presets_round_trip(key):
    p = PRESETS[key]
    assert policy_from_dict(policy_to_dict(p)) == p
    text = policy_to_toml(p)
    assert policy_from_toml(text) == p
    assert text.startswith("# 积分兑换规则")


def test_empty_dict_is_the_default_policy():
    assert policy_from_dict({}) == Policy()


def test_preset_choices_for_pickers():
    assert preset_choices() == [
        {"key": "datong", "name": "大同镇文明积分制"},
        {"key": "gaoyang", "name": "高阳镇乡风文明积分制"},
        {"key": "zhaili", "name": "寨里镇美德信用积分"},
        {"key": "yangting", "name": "羊亭镇信用积分"},
    ]


def test_toml_escapes_quotes_in_names():
    p = Policy(name='南郊村"信用有礼"\\超市')
    assert policy_from_toml(policy_to_toml(p)) == p


def broken(base: Policy, path: str, value):
    d = copy.deepcopy(policy_to_dict(base))
    target = d
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value
    return d


@pytest.mark.parametrize(
    ("base", "path", "value", "field", "text"),
    [
        (DATONG, "holder", "family", "holder", "应为以下之一：household（按户）、individual（按个人）"),
        (DATONG, "points_per_yuan", 0, "points_per_yuan", "应在1到1000之间，收到0"),
        (DATONG, "points_per_yuan", "1", "points_per_yuan", "应为整数，收到“1”"),
        (DATONG, "reserved_base", True, "reserved_base", "应为整数，收到“True”"),
        (DATONG, "gate.min_score", 101, "gate.min_score", "应在0到100之间，收到101"),
        (DATONG, "gate.consecutive_periods", 0, "gate.consecutive_periods", "应在1到12之间，收到0"),
        (DATONG, "conversion.denominator", 0, "conversion.denominator", "应在1到1000之间，收到0"),
        (DATONG, "window.kind", "weekly", "window.kind", "应为以下之一"),
        (DATONG, "window.market_days", [], "window.market_days", "按赶场天兑换时至少要有一个赶场日"),
        (DATONG, "window.market_days", [3, 32], "window.market_days", "每一项应为1到31之间的整数"),
        (DATONG, "window.market_days", [3, 3], "window.market_days", "3重复"),
        (DATONG, "window.every_months", 5, "window.every_months", "应为1、2、3、4、6或12"),
        (ZHAILI, "tiers.0.min_value", 101, "tiers[0].min_value", "应在0到100之间，收到101"),
        (ZHAILI, "tiers.1.min_value", 80, "tiers[1]", "范围与第1个等级“三星级”重叠"),
        (ZHAILI, "tiers.1.max_value", 75, "tiers[1].max_value", "不能小于最低值81"),
        (ZHAILI, "tiers.2.name", "三星级", "tiers[2].name", "与第1个等级重名"),
        (ZHAILI, "tiers.0.quota_yuan", -5, "tiers[0].quota_yuan", "应在0到1000000000之间"),
        (ZHAILI, "restrictions.0.max_age", 50, "restrictions[0].max_age", "不能小于最低年龄60"),
        (ZHAILI, "restrictions.0.min_tier", "六星级", "restrictions[0].min_tier", "没有名为“六星级”的等级"),
        (ZHAILI, "restrictions.0.free", "yes", "restrictions[0].free", "应为 true 或 false"),
        (ZHAILI, "restrictions.0.label", "  ", "restrictions[0].label", "应为非空文字"),
        (ZHAILI, "tiers", [], "spend", "按额度兑换时，至少一个等级要设定每期额度"),
        (ZHAILI, "colour", "red", "colour", "没有这个设置项"),
        (ZHAILI, "window.start", 1, "window.start", "没有这个设置项"),
        (ZHAILI, "tiers.0", "三星级", "tiers[0]", "应为一组设置（表）"),
    ],
)  # fmt: skip
def test_bad_fields_are_named_in_chinese(base, path, value, field, text):
    with pytest.raises(ValidationFailed) as err:
        policy_from_dict(broken(base, path, value))
    assert err.value.details["field"] == field
    # The message names the field in Chinese (issue 17), never `points_per_yuan`; only a
    # name the rule set does not have (a typo in TOML) is quoted as written.
    assert err.value.message.startswith(f"“{field_label(field)}”不正确：")
    if field not in ("colour", "window.start"):
        assert field not in err.value.message
    assert text in err.value.message


def test_bad_toml_is_refused_in_chinese():
    with pytest.raises(ValidationFailed, match="规则文件不是有效的TOML"):
        policy_from_toml("name = 大同")
    with pytest.raises(ValidationFailed, match="“可以兑换的月份”不正确"):
        policy_from_toml('[window]\nkind = "months"\nmonths = [1, 13]\n')


def test_a_village_edits_a_preset_in_toml():
    text = policy_to_toml(DATONG).replace("every_months = 1", "every_months = 3")
    p = policy_from_toml(text)
    assert p.window.every_months == 3 and p.gate == DATONG.gate
