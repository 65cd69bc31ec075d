"""Parsing and validating API request bodies and query strings.

Every refusal is ``invalid_request`` (400) with a Chinese message that names the field, and the
field's path in ``details.field`` (``lines[1].quantity``), so a client can point at it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import request

from kiosk import parsing
from kiosk.errors import ValidationFailed

IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_\-:.]{8,64}$")
_MISSING = object()


# Chinese names of the fields, so a keeper can read the message aloud.
FIELD_LABELS = {
    "payload": "卡片内容",
    "card": "卡片内容",
    "lines": "商品清单",
    "product_id": "商品编号",
    "quantity": "数量",
    "unit_cost_fen": "进价（分）",
    "idempotency_key": "请求编号",
    "reason": "原因",
    "number": "户号",
    "head_name": "户主姓名",
    "village": "村",
    "group_name": "组",
    "members": "家庭成员",
    "name": "名称",
    "relation": "与户主关系",
    "birth_date": "出生日期",
    "active": "启用状态",
    "kind": "类型",
    "amount": "积分",
    "sku": "商品编号（SKU）",
    "unit": "单位",
    "category": "分类",
    "barcode": "条码",
    "supplier": "供货方",
    "invoice_no": "单据号",
    "note": "备注",
    "label": "用途说明",
    "page": "页码",
    "per_page": "每页条数",
    "limit": "条数",
    # Rule sets (issue 3).
    "preset": "规则模板",
    "policy": "兑换规则",
    "toml": "规则文本（TOML）",
    "period": "考评期",
    "score": "评分",
    "scores": "评分清单",
    "household_id": "户",
    "member_id": "家庭成员",
    "on": "日期",
    "year": "年份",
    "date": "日期",
    # Proposals (two signatures for every award).
    "standard_item_id": "积分标准",
    "occurred_on": "发生日期",
    "evidence": "证明材料",
    "status": "状态",
}

# Text fields that may hold several lines (tab and line breaks allowed); every other text field
# is one line. No text field may hold other control characters (NUL, ESC, ...).
MULTILINE_FIELDS = frozenset({"note", "reason", "toml"})

# An assessment period: a quarter ("2024Q1") or a month ("2024-03").
PERIOD_RE = re.compile(r"^(\d{4})(?:Q([1-4])|-(0[1-9]|1[0-2]))$")


def invalid(field: str, message: str) -> ValidationFailed:
    """An invalid_request error about one field, named in Chinese and by its JSON path."""
    last = field.rsplit(".", 1)[-1].split("[", 1)[0]
    label = FIELD_LABELS.get(last)
    shown = f"{label}（{field}）" if label else field
    return ValidationFailed(f"{shown}{message}", field=field)


def json_body() -> dict[str, Any]:
    """The request's JSON object; invalid_request when it is missing, malformed or not an object."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed('请求内容必须是JSON对象（例如 {"payload": "..."}）')
    return body


def string(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = True,
    max_len: int = 200,
    default: str = "",
    path: str | None = None,
) -> str:
    """A text field, stripped; required ones may not be blank."""
    name = path or field
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise invalid(name, "不能为空")
        return default
    if not isinstance(value, str):
        raise invalid(name, "必须是文字")
    # Before stripping: a name sent as "张三\n" is refused, as the API document says.
    bad = parsing.bad_character(value, multiline=field in MULTILINE_FIELDS)
    if bad is not None:
        raise invalid(name, f"含有不允许的控制字符（{parsing.describe_character(bad)}）")
    value = value.strip()
    if required and not value:
        raise invalid(name, "不能为空")
    if len(value) > max_len:
        raise invalid(name, f"不能超过{max_len}个字")
    return value


def optional_string(
    body: dict[str, Any], field: str, *, max_len: int, path: str | None = None
) -> str | None:
    """A text field that may be absent, null or blank (then None)."""
    value = string(body, field, required=False, max_len=max_len, path=path)
    return value or None


def integer(
    body: dict[str, Any],
    field: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    required: bool = True,
    default: int | None = None,
    path: str | None = None,
) -> int | None:
    """A whole-number field (JSON true/false and 1.5 are refused), within the given bounds and
    always within the database's integer column (±2³¹): a larger id is refused here, not by
    PostgreSQL."""
    minimum = parsing.DB_INT_MIN if minimum is None else max(minimum, parsing.DB_INT_MIN)
    maximum = parsing.DB_INT_MAX if maximum is None else min(maximum, parsing.DB_INT_MAX)
    name = path or field
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise invalid(name, "不能为空")
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 33.0 is the integer 33 (as JSON Schema counts it)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(name, "必须是整数")
    if value < minimum:
        raise invalid(name, "必须是正整数" if minimum == 1 else f"不能小于{minimum}")
    if value > maximum:
        raise invalid(name, f"不能大于{maximum}")
    return value


def boolean(body: dict[str, Any], field: str) -> bool:
    """A required true/false field."""
    value = body.get(field, _MISSING)
    if not isinstance(value, bool):
        raise invalid(field, "必须是 true 或 false")
    return value


def choice(
    body: dict[str, Any], field: str, choices: tuple[str, ...], *, default: str | None = None
) -> str:
    """One of a fixed set of words."""
    value = body.get(field, _MISSING)
    if (value is _MISSING or value is None) and default is not None:
        return default
    if value not in choices:
        raise invalid(field, "只能是 " + " 或 ".join(choices))
    return value


def _today() -> date:
    """Today in the supermarket's time zone (not the server's: at 01:00 in the village it is
    still yesterday in UTC)."""
    from kiosk.clock import local_now

    return local_now().date()


def optional_date(body: dict[str, Any], field: str, *, path: str | None = None) -> date | None:
    """An ISO date (YYYY-MM-DD) or nothing."""
    name = path or field
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(name, "必须是日期，格式为 YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise invalid(name, "必须是日期，格式为 YYYY-MM-DD") from None
    if parsed > _today() or parsed.year < 1880:
        raise invalid(name, "日期不合理")
    return parsed


def object_list(
    body: dict[str, Any], field: str, *, required: bool = True, max_items: int = 100
) -> list[dict[str, Any]]:
    """A list of JSON objects (lines of a cart, members of a household)."""
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise invalid(field, "不能为空")
        return []
    if not isinstance(value, list):
        raise invalid(field, "必须是列表")
    if len(value) > max_items:
        raise invalid(field, f"最多{max_items}项")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise invalid(f"{field}[{i}]", "必须是JSON对象")
    return value


def idempotency_key(body: dict[str, Any], *, required: bool) -> str | None:
    """A client-made request id (8–64 letters, digits or - _ : .) that makes a retry safe."""
    value = string(body, "idempotency_key", required=required, max_len=64)
    if not value:
        return None
    if not IDEMPOTENCY_KEY_RE.match(value):
        raise invalid("idempotency_key", "应为8到64位字母、数字或 - _ : .")
    return value


def query_int(name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A whole number from the query string, within bounds."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parsing.parse_int(raw, minimum=minimum, maximum=maximum)
    except ValueError:
        raise invalid(name, f"应为{minimum}到{maximum}之间的整数") from None


def period(body: dict[str, Any], field: str = "period") -> str:
    """An assessment period: a quarter like 2024Q1 or a month like 2024-03."""
    value = string(body, field, max_len=16)
    value = value.upper()
    match = PERIOD_RE.match(value)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise invalid(field, "格式应为季度 2024Q1 或月份 2024-03")
    return value


def a_date(body: dict[str, Any], field: str, *, allow_future: bool = False) -> date:
    """A required ISO date (YYYY-MM-DD); a day in the future is refused unless allowed."""
    value = body.get(field)
    if value is None or value == "":
        raise invalid(field, "不能为空")
    if not isinstance(value, str):
        raise invalid(field, "必须是日期，格式为 YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise invalid(field, "必须是日期，格式为 YYYY-MM-DD") from None
    if parsed.year < 2000 or (not allow_future and parsed > _today()):
        raise invalid(field, "日期不合理")
    return parsed


def query_date(name: str, *, default: date) -> date:
    """An ISO date (YYYY-MM-DD) from the query string."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        parsed = date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "必须是日期，格式为 YYYY-MM-DD") from None
    if not 2000 <= parsed.year <= 2100:
        raise invalid(name, "日期不合理")
    return parsed


def query_period(name: str = "period") -> str:
    """A required assessment period from the query string (2024Q1 or 2024-03)."""
    return period({name: request.args.get(name)}, name)
