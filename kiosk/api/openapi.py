"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Every operation is generated from what its route declares with :func:`kiosk.api.contract.route`
(its permission-map action and roles, request models, response model, error codes; see
:func:`complete`), so a limit and a field are written once, on the model (the answers'
models are in :mod:`kiosk.api.answers`). Written here by hand in ``SCHEMAS``: the error body,
the policy as data and a printer's settings (free-form objects a request takes too), and this
document's own public route. ``tests/api/test_api_openapi.py`` checks that every route of the blueprint is
documented and that nothing documented is missing from the blueprint.
"""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from kiosk.api import bp, contract
from kiosk.parsing import DB_INT_MAX

# Stable error codes (kiosk.errors, plus the web layer's own). Never rename one.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "请求内容不正确：JSON格式、字段类型或取值有误（message 指出字段）"),
    "bad_request": (400, "请求无法解析"),
    "csrf_failed": (400, "用会话登录时缺少或带错了 X-CSRFToken 请求头"),
    "unauthorized": (401, "没有登录，或令牌无效、已撤销"),
    "login_failed": (401, "用户名或密码不正确"),
    "forbidden": (403, "当前角色没有权限进行此操作"),
    "void_not_allowed": (403, "超市管理员只能作废当日的兑换单"),
    "not_found": (404, "没有找到（或不属于本超市）"),
    "card_unknown": (404, "卡片签名正确但本系统没有这张卡"),
    "method_not_allowed": (405, "不支持该请求方法"),
    "duplicate": (409, "编号（户号、商品编号、条码、用户名）已存在"),
    "idempotency_conflict": (409, "同一请求编号已用于另一笔不同的操作"),
    "already_voided": (409, "该兑换单已作废"),
    "too_large": (413, "请求内容太大"),
    "card_invalid": (422, "卡片内容无法识别、被伪造或被篡改"),
    "card_revoked": (422, "卡片已作废（例如补办后旧卡）"),
    "household_inactive": (422, "该户已停用"),
    "insufficient_points": (422, "可用积分不足"),
    "out_of_stock": (422, "库存不足"),
    "product_unavailable": (422, "商品已下架或不存在"),
    "not_eligible": (422, "当前不符合兑换条件"),
    "empty_cart": (422, "购物车是空的"),
    "account_locked": (423, "尝试次数过多，账号已暂时锁定"),
    "too_many_attempts": (429, "失败次数过多，请稍后再试"),
    "month_closed": (409, "该月已结账：不能再记入，更正记入下一个未结账的月份"),
    "month_close_refused": (409, "该月暂时不能结账（details 列出原因）"),
    "fund_insufficient": (409, "基金池余额不足（超出允许的垫付额度）"),
    "adjustment_decided": (409, "该报损申请已经处理过了"),
    "donation_reversed": (409, "该捐赠已撤销"),
    "already_decided": (409, "该加减分申请已经处理过了"),
    "import_committed": (409, "该批次已经导入过了"),
    "self_approval": (403, "不能确认自己录入的加减分"),
    "import_invalid": (422, "导入文件有错误，没有写入任何数据"),
    "backup_failed": (500, "备份或恢复未能完成（jifen backup / restore；API 不做备份）"),
    "server_error": (500, "系统出错"),
}

COMMON_CODES = ("unauthorized", "forbidden")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _obj(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    schema["additionalProperties"] = False
    schema.update(extra)
    return schema


STR = {"type": "string"}
BOOL = {"type": "boolean"}
NULLABLE_STR = {"type": ["string", "null"]}
# A path's id: the guards take ASCII digits up to the database's integer (larger is 404).
ID = {"type": "integer", "minimum": 1, "maximum": DB_INT_MAX}


def _op(
    summary: str,
    tag: str,
    ok: tuple[int, str, str],
    *,
    codes: tuple[str, ...] = COMMON_CODES,
    body: str | None = None,
    roles: str,
    params: list[dict[str, Any]] | None = None,
    description: str = "",
    role_list: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """One operation: its success answer and, per status, the error codes it may give (the
    codes' texts are ERROR_CODES', so each is written once)."""
    status, schema, ok_text = ok
    if body is not None and "too_large" not in codes:
        codes = (*codes, "too_large")  # bodies over JIFEN_MAX_BODY_BYTES (kiosk.web.guards)
    responses: dict[str, Any] = {
        str(status): {"description": ok_text, "content": _json(_ref(schema))}
    }
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    for err_status, err_codes in sorted(by_status.items()):
        responses[str(err_status)] = {
            "description": "；".join(f"`{c}`：{ERROR_CODES[c][1]}" for c in err_codes),
            "content": _json(_ref("Error")),
        }
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "description": (description + "\n\n" if description else "") + f"角色：{roles}",
        "responses": responses,
    }
    if role_list is not None:
        operation["x-roles"] = list(role_list)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(_ref(body))}
    if params:
        operation["parameters"] = params
    return operation


SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        {
            "error": _obj(
                {
                    "code": {"type": "string", "enum": list(ERROR_CODES)},
                    "message": {"type": "string", "description": "中文说明，可直接念给居民听"},
                    "details": {"type": "object", "additionalProperties": True},
                },
                required=["code", "message"],
            )
        }
    ),
    "OpenApiDocument": {"type": "object", "description": "本文档"},
    # The policy as data and a printer's settings: each is a request (PUT /policy, PUT /printer)
    # and part of an answer, with fields a pydantic model would hold no better than this.
    "Policy": {
        "type": "object",
        "description": "兑换规则（与 TOML 文件同样的字段）：持有人、积分与元的换算、基础分、周期、"
        "考评期、门槛、评分折算、星级和额度、兑换窗口、一票否决、限制物品",
        "properties": {
            "name": STR,
            "preset": NULLABLE_STR,
            "holder": {"type": "string", "enum": ["household", "individual"]},
            "points_per_yuan": {"type": "integer", "minimum": 1},
            "spend": {"type": "string", "enum": ["balance", "quota"]},
            "reserved_base": {"type": "integer", "minimum": 0},
            "base_grant": {"type": "integer", "minimum": 0},
            "cycle": {"type": "string", "enum": ["rolling", "calendar_year"]},
            "period": {"type": "string", "enum": ["quarter", "month"]},
            "gate": {"type": ["object", "null"]},
            "conversion": {"type": ["object", "null"]},
            "tier_basis": {"type": "string", "enum": ["score", "points"]},
            "tiers": {"type": "array", "items": {"type": "object"}},
            "window": {"type": "object"},
            "veto": {
                "type": "string",
                "enum": ["none", "clear_and_bar_year", "zero_score_period"],
            },
            "restrictions": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["name", "holder", "points_per_yuan", "spend", "cycle", "period", "window"],
        "additionalProperties": True,
    },
    "PrinterSettings": _obj(
        {
            "type": {
                "type": "string",
                "enum": ["preview", "usb", "serial", "network", "file", "cups"],
            },
            "vendor_id": {"type": ["string", "integer"], "description": "usb：厂商号，如 0x0416"},
            "product_id": {"type": ["string", "integer"], "description": "usb：产品号，如 0x5011"},
            "device": {"type": "string", "description": "serial / file：设备路径，如 /dev/usb/lp0"},
            "baudrate": {"type": "integer", "description": "serial：波特率，如 9600"},
            "host": {"type": "string", "description": "network：IP地址或主机名"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "timeout": {"type": "number", "description": "network：超时秒数（0.5到30）"},
            "name": {"type": "string", "description": "cups：打印机名称"},
            "paper_mm": {"type": "integer", "enum": [58, 80]},
            "mode": {"type": "string", "enum": ["text", "raster"]},
            "profile": {"type": "string", "description": "python-escpos 型号名，空为通用"},
            "native_qr": {**BOOL, "description": "用 GS ( k 打印二维码；省略时按型号"},
            "charset": {"type": "string", "enum": ["gb2312", "gb18030"]},
            "rare_chars": {"type": "string", "enum": ["image", "placeholder"]},
        },
        required=["type"],
        description="本机打印机的设置：各类型只需要（也只接受）自己的连接字段",
    ),
}

# The one route not declared with contract.route: this document, which needs no login.
PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {
        "get": {
            "summary": "本文档（OpenAPI 3.1）",
            "tags": ["meta"],
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 文档", "content": _json(_ref("OpenApiDocument"))}
            },
        }
    },
}


# Generated from the contract (kiosk.api.contract) -------------------------------------------

# What each path parameter names, for the document.
PATH_PARAMS = {
    "household_id": "户的编号（id）",
    "redemption_id": "兑换单的编号（id）",
    "product_id": "商品的编号（id）",
    "card_id": "卡片编号（id）",
    "user_id": "用户编号（id）",
    "token_id": "令牌编号（id）",
    "proposal_id": "加减分申请的编号（id）",
    "notice_id": "公示的编号（id）",
    "position": "照片的序号（从1起）",
    "code": "条码或商品编号",
}
_RULE_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _path_params(rule: str) -> list[dict[str, Any]]:
    params = []
    for converter, name in _RULE_PARAM.findall(rule):
        param = {"name": name, "in": "path", "required": True}
        param["schema"] = ID if converter == "int" else STR
        if name in PATH_PARAMS:
            param["description"] = PATH_PARAMS[name]
        params.append(param)
    return params


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        prop = _tidy(prop)
        text = prop.pop("description", "")
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if text:
            param["description"] = text
        params.append(param)
    return params


def _codes(op: contract.Operation) -> tuple[str, ...]:
    """The error codes of an operation: the role ones, the input ones from what it takes, and
    its own."""
    codes: list[str] = []
    if op.body is not None or op.query is not None:
        codes.append("invalid_request")
    if op.method != "GET":
        codes.append("csrf_failed")
    codes += [*COMMON_CODES, *op.errors]
    return tuple(dict.fromkeys(codes))


def _operation(op: contract.Operation, names: dict[type, str]) -> dict[str, Any]:
    def _answer_name(answer: type[BaseModel] | None) -> str:
        if answer is None:
            return "Error"  # (a placeholder: the content is replaced by the route's own)
        return names[answer]

    status, answer, text = op.ok
    own = {(p["name"], p["in"]): p for p in op.params}  # a route's own word on a parameter
    params = [own.pop((p["name"], p["in"]), p) for p in _path_params(op.rule)]
    if op.query is not None:
        params += _query_params(op.query)
    params += list(own.values())
    operation = _op(
        op.summary,
        op.tag,
        (status, _answer_name(answer), text),
        codes=_codes(op),
        body=names[op.body] if op.body is not None else None,
        roles=", ".join(op.roles),
        params=params,
        description=op.description,
        role_list=op.roles,
    )
    operation["x-action"] = op.action  # the permission map's name (kiosk.permissions)
    if answer is None:  # not JSON: the route's openapi= says what it is
        del operation["responses"][str(status)]["content"]
    if op.body is not None and not op.body_required:
        operation["requestBody"]["required"] = False
    for also_status, also_answer, also_text in op.also_ok:
        operation["responses"][str(also_status)] = {
            "description": also_text,
            "content": _json(_ref(_answer_name(also_answer))),
        }
    _deep_merge(operation, op.openapi or {})
    return operation


def _deep_merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _tidy(schema: Any) -> Any:
    """Without pydantic's titles (they repeat the names) and null defaults (a field left out is
    simply not there)."""
    if isinstance(schema, dict):
        return {
            k: _tidy(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str)) and not (k == "default" and v is None)
        }
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    return schema


def generated_schemas(
    operations: list[contract.Operation],
) -> tuple[dict[str, Any], dict[type, str]]:
    """The request and response models' schemas by name, and each model's name (pydantic
    names two models of the same class name by their modules)."""
    pairs: list[tuple[type[BaseModel], Any]] = []
    for op in operations:
        if op.body is not None:
            pairs.append((op.body, "validation"))
        if op.query is not None:
            pairs.append((op.query, "validation"))
        for _status, answer, _text in (op.ok, *op.also_ok):
            if isinstance(answer, type):
                pairs.append((answer, "serialization"))
    refs, top = models_json_schema(
        list(dict.fromkeys(pairs)), ref_template="#/components/schemas/{model}"
    )
    names = {model: ref["$ref"].rsplit("/", 1)[-1] for (model, _mode), ref in refs.items()}
    schemas = _tidy(top.get("$defs", {}))
    for op in operations:  # a query's model is the parameters, not a schema of its own
        if op.query is not None:
            schemas.pop(names[op.query], None)
    schemas["IdempotencyKey"] = contract.IDEMPOTENCY_KEY_SCHEMA
    return schemas, names


def generated_paths(operations: list[contract.Operation], names: dict[type, str]) -> dict[str, Any]:
    """The operations declared with contract.route, by path and method."""
    paths: dict[str, Any] = {}
    for op in operations:
        path = "/api/v1" + _RULE_PARAM.sub(r"{\2}", op.rule)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op, names)
    return paths


def complete(document: dict[str, Any]) -> None:
    """Add the generated operations and schemas to the hand-written ones (never over them).

    Called once by kiosk.api when every API module has registered its routes."""
    if document["paths"].get("/api/v1/scan"):  # (the counter's scan is generated: done)
        return
    generated, names = generated_schemas(contract.OPERATIONS)
    for path, ops in generated_paths(contract.OPERATIONS, names).items():
        existing = document["paths"].setdefault(path, {})
        assert not set(ops) & set(existing), f"{path} documented twice"
        existing.update(ops)
    schemas = document["components"]["schemas"]
    for name, schema in generated.items():
        assert name not in schemas, f"schema {name} written twice"
        schemas[name] = schema


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "jifen 积分超市 API",
        "version": "1",
        "description": (
            "村积分超市的兑换台和管理接口。\n\n"
            "认证：`Authorization: Bearer jf_...`（`jifen token` 或 POST /api/v1/users/{id}/tokens 签发），"
            "或兑换台页面的登录会话；用会话时，每个非 GET 请求必须带 `X-CSRFToken` 请求头"
            '（页面 `<meta name="csrf-token">` 中的值）。\n\n'
            '错误：`{"error": {"code", "message", "details"?}}`，code 是稳定的英文代码，'
            "message 是中文说明。积分为整数；金额为整数（分）；时间为超市本地时间 ISO 8601。\n\n"
            "姓名：管理员（admin）和监督员（supervisor）看全名，超市管理员（keeper）看脱敏名；"
            "系统不保存身份证号和电话号码。"
        ),
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}, {"session": []}],
    "tags": [
        {"name": "counter", "description": "兑换台：扫卡、兑换、作废、小票"},
        {"name": "catalogue", "description": "商品和入库"},
        {"name": "households", "description": "户和成员"},
        {"name": "cards", "description": "积分卡"},
        {"name": "points", "description": "积分记录"},
        {"name": "tokens", "description": "API 令牌"},
        {"name": "rules", "description": "兑换规则、评分、一票否决、预览和年终结转"},
        {"name": "printer", "description": "打印机状态、测试页和未打印的任务"},
        {"name": "proposals", "description": "加减分申请：提交、确认、退回、撤回"},
        {"name": "notices", "description": "季度排名与公示（只读）"},
        {"name": "meta", "description": "文档"},
    ],
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "jf_..."},
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "兑换台页面的登录会话；非 GET 请求须带 X-CSRFToken 请求头",
            },
        },
        "schemas": SCHEMAS,
    },
}


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (no login needed)."""
    return jsonify(DOCUMENT)
