"""The API's typed contract: request models (pydantic v2), one route decorator, and the
registry the OpenAPI document is generated from (:mod:`kiosk.api.openapi`).

A limit is written once, on the model; the handler's check and the document's schema both
come from it. How to write an endpoint::

    class VoidRequest(contract.Body):
        reason: Annotated[str, contract.Text(200, multiline=True)]


    @contract.route(
        "POST", "/redemptions/<int:redemption_id>/void",
        summary="作废兑换单（冲回积分和库存）", tag="counter", action="redemption.void",
        body=VoidRequest, ok=(200, answers.RedemptionResult, "已作废"),
        errors=("void_not_allowed", "not_found", "already_voided", "month_closed"),
    )
    def void(redemption_id: int, body: VoidRequest):
        ...  # body.reason is stripped, non-blank, at most 200 characters

The decorator registers the Flask route, checks that the permission map (kiosk.permissions)
lets the caller do ``action`` (401/403 before anything else; the document lists its roles), parses the JSON body (``body=``) and the query string (``query=``) into their models and
hands them to the view as ``body`` and ``query``. A refusal is ``invalid_request`` (400) with a
message naming the field in Chinese (``商品清单（lines[1].quantity）必须是正整数``) and its path in
``details.field``. ``ok`` names the success status and the answer's response model (an
:class:`Answer`, in :mod:`kiosk.api.answers` or beside the route): the view returns an instance,
or a dict of its shape, or either with its status when it is one of ``also_ok``'s, and it is
serialised through the model; ``None`` when the answer is not JSON (a spreadsheet, a photo:
the route's ``openapi=`` says what it is, and the view returns its own response).
The error codes each operation may give are listed by code (``kiosk.api.openapi.ERROR_CODES``);
the role ones (401, 403), ``invalid_request``, ``csrf_failed`` and ``too_large`` are added from
what the route takes.

Field types: :func:`Text` (stripped, no control characters, a length limit), :func:`Whole`
(a JSON whole number within bounds, never beyond the database's integer column),
:func:`Choice`, :func:`Day`, and :func:`Search` and :func:`QueryWhole` for the query string
are a :class:`FieldType`, written in an ``Annotated`` after the Python type the view gets
(``Annotated[str | None, contract.Text(80, required=False, blank=None)]``), so a type checker
sees the field's type and pydantic the limit; :data:`ID`, :data:`Count`, :data:`Flag`,
:data:`Period` and :data:`IdempotencyKey` are whole types. Models ignore fields they do not name (older clients
send more) while the document says ``additionalProperties: false``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, GroupedMetadata, Le
from flask import jsonify, request
from flask_babel import gettext, lazy_gettext
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    Strict,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from kiosk import parsing, permissions
from kiosk.authn import require
from kiosk.errors import ValidationFailed

# Chinese names of the fields, so a keeper can read the message aloud (English when asked).
FIELD_LABELS = {
    "payload": lazy_gettext("卡片内容"),
    "card": lazy_gettext("卡片内容"),
    "lines": lazy_gettext("商品清单"),
    "product_id": lazy_gettext("商品编号"),
    "quantity": lazy_gettext("数量"),
    "unit_cost_fen": lazy_gettext("进价（分）"),
    "idempotency_key": lazy_gettext("请求编号"),
    "reason": lazy_gettext("原因"),
    "number": lazy_gettext("户号"),
    "head_name": lazy_gettext("户主姓名"),
    "village": lazy_gettext("村"),
    "group_name": lazy_gettext("组"),
    "members": lazy_gettext("家庭成员"),
    "name": lazy_gettext("名称"),
    "relation": lazy_gettext("与户主关系"),
    "birth_date": lazy_gettext("出生日期"),
    "active": lazy_gettext("启用状态"),
    "kind": lazy_gettext("类型"),
    "amount": lazy_gettext("积分"),
    "sku": lazy_gettext("商品编号（SKU）"),
    "unit": lazy_gettext("单位"),
    "category": lazy_gettext("分类"),
    "barcode": lazy_gettext("条码"),
    "supplier": lazy_gettext("供货方"),
    "invoice_no": lazy_gettext("单据号"),
    "note": lazy_gettext("备注"),
    "label": lazy_gettext("用途说明"),
    "page": lazy_gettext("页码"),
    "per_page": lazy_gettext("每页条数"),
    "limit": lazy_gettext("条数"),
    # Rule sets (issue 3).
    "preset": lazy_gettext("规则模板"),
    "policy": lazy_gettext("兑换规则"),
    "toml": lazy_gettext("规则文本（TOML）"),
    "period": lazy_gettext("考评期"),
    "score": lazy_gettext("评分"),
    "scores": lazy_gettext("评分清单"),
    "household_id": lazy_gettext("户"),
    "member_id": lazy_gettext("家庭成员"),
    "on": lazy_gettext("日期"),
    "year": lazy_gettext("年份"),
    "date": lazy_gettext("日期"),
    # Proposals (two signatures for every award).
    "standard_item_id": lazy_gettext("积分标准"),
    "occurred_on": lazy_gettext("发生日期"),
    "evidence": lazy_gettext("证明材料"),
    "status": lazy_gettext("状态"),
}


def label_of(path: str) -> str | None:
    """The Chinese name of the field at ``path`` (``lines[1].quantity``: 数量), if it has one."""
    label = FIELD_LABELS.get(path.rsplit(".", 1)[-1].split("[", 1)[0])
    return str(label) if label is not None else None


def invalid(path: str, message: str) -> ValidationFailed:
    """An invalid_request error about one field, named in Chinese and by its JSON path."""
    label = label_of(path)
    if label is None:
        return ValidationFailed(f"{path}{message}", field=path)
    text = gettext("%(label)s（%(path)s）%(message)s", label=label, path=path, message=message)
    return ValidationFailed(text, field=path)


# Field types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldType(GroupedMetadata):
    """A field type's validators and JSON schema, the metadata of an ``Annotated`` whose first
    argument is the Python type the view gets: pydantic unpacks it (annotated_types'
    GroupedMetadata), a type checker reads only the Python type."""

    parts: tuple[Any, ...]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.parts)


def refusal(message: str) -> PydanticCustomError:
    """A refusal whose message (already rendered) is shown after the field's name: raise it
    from a model's own validator (``@field_validator``)."""
    return PydanticCustomError("jifen", "{message}", {"message": message})


# Control characters a text may not hold (tab and line breaks only in multi-line text), as the
# document's patterns say it; the check itself is kiosk.parsing.bad_character.
_CONTROLS = "\\u0000-\\u001f\\u007f-\\u009f"
_LINE_CONTROLS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"


def text_schema(max_len: int, *, required: bool = True, multiline: bool = False) -> dict:
    """The JSON schema of a text field: at most max_len characters, no control characters; a
    required one holds more than spaces, an optional one may be null."""
    bad = _LINE_CONTROLS if multiline else _CONTROLS
    pattern = f"^[^{bad}]*[^\\s{bad}][^{bad}]*$" if required else f"^[^{bad}]*$"
    schema: dict[str, Any] = {
        "type": "string" if required else ["string", "null"],
        "maxLength": max_len,
        "pattern": pattern,
    }
    if required:
        schema["minLength"] = 1
    return schema


def _text_check(
    max_len: int, *, required: bool, multiline: bool, blank: str | None
) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            if required:
                raise refusal(gettext("不能为空"))
            return blank
        if not isinstance(value, str):
            raise refusal(gettext("必须是文字"))
        # Before stripping: a name sent as "张三\n" is refused, as the document says.
        bad = parsing.bad_character(value, multiline=multiline)
        if bad is not None:
            raise refusal(
                gettext("含有不允许的控制字符（%(char)s）", char=parsing.describe_character(bad))
            )
        value = value.strip()
        if not value:
            if required:
                raise refusal(gettext("不能为空"))
            return blank
        if len(value) > max_len:
            raise refusal(gettext("不能超过%(n)s个字", n=max_len))
        return value

    return check


def Text(  # noqa: N802 - a type, used as one
    max_len: int,
    *,
    required: bool = True,
    multiline: bool = False,
    blank: str | None = "",
    **schema: Any,
) -> FieldType:
    """A text field, stripped; a required one may not be blank; an optional one that is left
    out, null or blank becomes ``blank`` (give the same value as the field's default).
    ``schema`` adds to the document's schema (a description, examples)."""
    check = _text_check(max_len, required=required, multiline=multiline, blank=blank)
    full = {**text_schema(max_len, required=required, multiline=multiline), **schema}
    return FieldType((PlainValidator(check), WithJsonSchema(full)))


def _whole_number(value: Any) -> Any:
    """JSON's whole numbers only: true/false and "3" are refused; 33.0 is 33 (as JSON Schema
    counts it); 1.5 is left for pydantic to refuse."""
    if value is None:
        raise refusal(gettext("不能为空"))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refusal(gettext("必须是整数"))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def Whole(minimum: int | None = None, maximum: int | None = None) -> FieldType:  # noqa: N802
    """A whole number within bounds, and always within the database's integer column (±2³¹):
    a larger id is refused here, not by PostgreSQL."""
    low = parsing.DB_INT_MIN if minimum is None else max(minimum, parsing.DB_INT_MIN)
    high = parsing.DB_INT_MAX if maximum is None else min(maximum, parsing.DB_INT_MAX)
    return FieldType((Ge(low), Le(high), BeforeValidator(_whole_number)))


ID = Annotated[int, Whole(1)]
Count = Annotated[int, Whole(1)]
Flag = Annotated[bool, Strict()]


def Choice(  # noqa: N802
    *values: str, default: str | None = None, blank: bool = False
) -> FieldType:
    """One of a fixed set of words (null is ``default`` when there is one; give the field the
    same default); ``blank``: an empty word too, meaning None (a query's "any")."""

    def check(value: Any) -> str | None:
        if value is None and default is not None:
            return default
        if blank and value == "":
            return None
        if value not in values:
            raise refusal(gettext("只能是 %(words)s", words=gettext(" 或 ").join(values)))
        return value

    enum = [*values, ""] if blank else list(values)
    return FieldType((PlainValidator(check), WithJsonSchema({"type": "string", "enum": enum})))


def _today() -> date:
    """Today in the supermarket's time zone (not the server's: at 01:00 in the village it is
    still yesterday in UTC)."""
    from kiosk.clock import local_now

    return local_now().date()


def Day(  # noqa: N802
    *,
    earliest: int = 2000,
    latest: int | None = None,
    future: bool = False,
    required: bool = True,
    description: str = "",
) -> FieldType:
    """An ISO date (YYYY-MM-DD) from the year ``earliest`` on (to the year ``latest``), not
    after today unless ``future``; an optional one that is left out, null or blank is None."""

    def check(value: Any) -> date | None:
        if value is None or value == "":
            if required:
                raise refusal(gettext("不能为空"))
            return None
        if not isinstance(value, str):
            raise refusal(gettext("必须是日期，格式为 YYYY-MM-DD"))
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise refusal(gettext("必须是日期，格式为 YYYY-MM-DD")) from None
        too_late = latest is not None and parsed.year > latest
        if parsed.year < earliest or too_late or (not future and parsed > _today()):
            raise refusal(gettext("日期不合理"))
        return parsed

    schema: dict[str, Any] = {"type": "string" if required else ["string", "null"]}
    schema["format"] = "date"
    if description:
        schema["description"] = description
    return FieldType((PlainValidator(check), WithJsonSchema(schema)))


# An assessment period: a quarter ("2024Q1") or a month ("2024-03"), years 2000–2100.
PERIOD_RE = re.compile(r"^(\d{4})(?:Q([1-4])|-(0[1-9]|1[0-2]))$", re.ASCII)
PERIOD_SCHEMA = {
    "type": "string",
    "pattern": "^(20[0-9]{2}|2100)([Qq][1-4]|-(0[1-9]|1[0-2]))$",
    "description": "考评期：季度 2024Q1 或月份 2024-03",
}


def _period(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise refusal(gettext("不能为空"))
    if not isinstance(value, str):
        raise refusal(gettext("必须是文字"))
    value = value.strip().upper()
    match = PERIOD_RE.match(value)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise refusal(gettext("格式应为季度 2024Q1 或月份 2024-03"))
    return value


Period = Annotated[str, PlainValidator(_period), WithJsonSchema(PERIOD_SCHEMA)]

# A client-made request id that makes a retry safe: defined once, referenced by every operation
# that takes one (the document's components/schemas/IdempotencyKey).
IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_\-:.]{8,64}$")
IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_\\-:.]{8,64}$",
    "description": "客户端生成的请求编号（8到64位字母、数字或 - _ : .）；重试时原样再发，结果不变",
}


def idempotency_key_message() -> str:
    """What a malformed request id is told."""
    return gettext("应为8到64位字母、数字或 - _ : .")


_key_text = _text_check(64, required=False, multiline=False, blank=None)


def _idempotency_key(value: Any) -> str | None:
    value = _key_text(value)
    if value is not None and not IDEMPOTENCY_KEY_RE.match(value):
        raise refusal(idempotency_key_message())
    return value


IdempotencyKey = Annotated[
    str,
    PlainValidator(_idempotency_key),
    # (allOf: pydantic resolves a bare $ref itself, and this one is the document's, not its)
    WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/IdempotencyKey"}]}),
]


def Search(max_len: int) -> FieldType:  # noqa: N802
    """Searched text from the query string: stripped; only its first max_len characters count
    (the guards have already refused control characters in a query string)."""

    def check(value: Any) -> str:
        return str(value).strip()[:max_len]

    schema = {"type": "string", "pattern": f"^[^{_CONTROLS}]*$"}
    return FieldType((PlainValidator(check), WithJsonSchema(schema)))


def QueryWhole(minimum: int, maximum: int) -> FieldType:  # noqa: N802
    """A whole number in the query string (ASCII digits), within bounds."""

    def check(value: Any) -> int:
        try:
            return parsing.parse_int(value, minimum=minimum, maximum=maximum)
        except ValueError:
            raise refusal(
                gettext("应为%(low)s到%(high)s之间的整数", low=minimum, high=maximum)
            ) from None

    schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return FieldType((PlainValidator(check), WithJsonSchema(schema)))


# Models -------------------------------------------------------------------------------------


class Body(BaseModel):
    """A JSON request body. Unnamed fields are ignored; the document lists only the named."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class Query(BaseModel):
    """A query string: each parameter once; an empty one counts as left out (unless the model
    says ``blank_is_absent = False``: then its fields see the empty text)."""

    model_config = ConfigDict(extra="ignore")
    blank_is_absent: ClassVar[bool] = True


class Answer(BaseModel):
    """A response body: exactly these fields, every one present (null where it has none).
    A view may return an instance or a dict of its shape; the route serialises it."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True
    )


# A moment in an answer: ISO 8601 in the supermarket's local time, with its offset.
LocalTime = Annotated[
    str | None,
    WithJsonSchema(
        {"type": ["string", "null"], "format": "date-time", "description": "本地时间 ISO 8601"}
    ),
]


def _path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(error: ErrorDetails) -> str:
    """The Chinese sentence for one pydantic error (after the field's name)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "jifen":
        return ctx["message"]
    if kind == "missing" or (kind != "jifen" and error.get("input", "") is None):
        return gettext("不能为空")  # left out, or null where a value is needed
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return gettext("必须是整数")
    if kind == "greater_than_equal":
        if ctx["ge"] == 1:
            return gettext("必须是正整数")
        return gettext("不能小于%(n)s", n=ctx["ge"])
    if kind == "less_than_equal":
        return gettext("不能大于%(n)s", n=ctx["le"])
    if kind in ("bool_type", "bool_parsing"):
        return gettext("必须是 true 或 false")
    if kind == "list_type":
        return gettext("必须是列表")
    if kind == "too_long":
        return gettext("最多%(n)s项", n=ctx["max_length"])
    if kind == "too_short":
        return gettext("不能为空")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return gettext("必须是JSON对象")
    if kind == "string_type":
        return gettext("必须是文字")
    return gettext("不正确")


def parse(model: type[BaseModel], data: Any, *, prefix: str = "") -> Any:
    """``data`` as ``model``, or invalid_request naming the first wrong field (``prefix`` goes
    before every field's path: ``member.name``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = _path(tuple(first["loc"]), prefix)
        if not path:
            raise ValidationFailed(_message(first)) from None
        raise invalid(path, _message(first)) from None


def json_object(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}`` when ``optional``); invalid_request
    when it is missing, malformed or not an object."""
    if optional and not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(gettext('请求内容必须是JSON对象（例如 {"payload": "..."}）'))
    return body


def query_values(model: type[Query]) -> dict[str, str]:
    """The query string, each parameter's first value (the empty ones left out, as the model
    says)."""
    values = request.args.to_dict()
    if model.blank_is_absent:
        return {k: v for k, v in values.items() if v.strip() != ""}
    return values


# Routes and their registry ------------------------------------------------------------------


@dataclass
class Operation:
    """One documented route: what the OpenAPI generator needs to describe it."""

    method: str
    rule: str
    summary: str
    tag: str
    action: str
    ok: tuple[int, Any, str]
    errors: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    description: str = ""
    also_ok: tuple[tuple[int, Any, str], ...] = ()
    params: tuple[dict[str, Any], ...] = ()
    openapi: dict[str, Any] | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles the permission map lets call this operation."""
        return permissions.roles_for(self.action)


OPERATIONS: list[Operation] = []


def route(
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    action: str,
    ok: tuple[int, Any, str],
    errors: tuple[str, ...] = (),
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    query: type[Query] | None = None,
    description: str = "",
    also_ok: tuple[tuple[int, Any, str], ...] = (),
    params: tuple[dict[str, Any], ...] = (),
    openapi: dict[str, Any] | None = None,
    parse_body: bool = True,
) -> Callable:
    """Register an API route with its contract (see the module's docstring); ``action`` is the
    permission map's name for what it does (kiosk.permissions).

    ``also_ok``: other success answers (a retry's 200); ``params``: parameters beyond the path
    and the query model (a header), as OpenAPI objects; ``openapi``: merged into the generated
    operation for what a model cannot say (a multipart body, an image answer);
    ``parse_body=False``: the view reads its own body (multipart) and parses it with
    :func:`parse`, the model still documenting it."""
    from kiosk.api import bp

    operation = Operation(
        method=method.upper(),
        rule=rule,
        summary=summary,
        tag=tag,
        action=action,
        ok=ok,
        errors=errors,
        body=body,
        body_required=body_required,
        query=query,
        description=description,
        also_ok=also_ok,
        params=params,
        openapi=openapi,
    )
    OPERATIONS.append(operation)
    status, answer, _text = ok

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def handler(**kwargs: Any):
            if body is not None and parse_body:
                kwargs["body"] = parse(body, json_object(optional=not body_required))
            if query is not None:
                kwargs["query"] = parse(query, query_values(query))
            result = view(**kwargs)
            if isinstance(answer, type) and issubclass(answer, BaseModel):
                # (a view may say its status: a retry's 200, one of ``also_ok``)
                reply, code = result if isinstance(result, tuple) else (result, status)
                data = reply if isinstance(reply, answer) else answer.model_validate(reply)
                return jsonify(data.model_dump(mode="json", by_alias=True)), code
            return result

        guarded = require(action)(handler)
        bp.add_url_rule(rule, view_func=guarded, methods=[operation.method])
        return guarded

    return decorator
