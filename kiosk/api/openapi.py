"""The OpenAPI 3.1 document of /api/v1, written by hand and served at /api/v1/openapi.json.

``tests/api/test_api_openapi.py`` checks that every route of the blueprint is documented here and
that nothing documented here is missing from the blueprint, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from kiosk.api import bp, openapi_notice, openapi_proposals
from kiosk.models import ENTRY_KINDS
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
WRITE_CODES = ("invalid_request", "csrf_failed", *COMMON_CODES)


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


INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
DATETIME = {"type": ["string", "null"], "format": "date-time", "description": "本地时间 ISO 8601"}
NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
PERIOD = {
    "type": "string",
    "pattern": "^(20[0-9]{2}|2100)([Qq][1-4]|-(0[1-9]|1[0-2]))$",
    "description": "考评期：季度 2024Q1 或月份 2024-03",
}
SCORE = {"type": "integer", "minimum": 0, "maximum": 100}

# What the handlers enforce (kiosk/api/inputs.py), stated here so that a request the document
# allows is never refused for its shape: ids and counts fit the database's integer column, and
# text holds no control characters (tab and line breaks only in multi-line fields).
ID = {"type": "integer", "minimum": 1, "maximum": DB_INT_MAX}
COUNT = {"type": "integer", "minimum": 1, "maximum": DB_INT_MAX}
NULLABLE_ID = {"type": ["integer", "null"], "minimum": 1, "maximum": DB_INT_MAX}
_CONTROLS = "\\u0000-\\u001f\\u007f-\\u009f"
_LINE_CONTROLS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"


def _text(max_len: int, *, required: bool = True, multiline: bool = False, **extra: Any):
    """A text field as inputs.string takes it: at most max_len characters, no control
    characters; a required one holds more than spaces, an optional one may be null."""
    bad = _LINE_CONTROLS if multiline else _CONTROLS
    pattern = f"^[^{bad}]*[^\\s{bad}][^{bad}]*$" if required else f"^[^{bad}]*$"
    schema: dict[str, Any] = {
        "type": "string" if required else ["string", "null"],
        "maxLength": max_len,
        "pattern": pattern,
    }
    if required:
        schema["minLength"] = 1
    schema.update(extra)
    return schema


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
) -> dict[str, Any]:
    """One operation: its success answer and, per status, the error codes it may give."""
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
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(_ref(body))}
    if params:
        operation["parameters"] = params
    return operation


def _path_id(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID, "description": text}


def _query(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": text}


HOUSEHOLD_ID = _path_id("household_id", "户的编号（id）")
REDEMPTION_ID = _path_id("redemption_id", "兑换单的编号（id）")
COUNTER_ROLES = "keeper, admin"
ADMIN_ROLES = "admin"
ALL_ROLES = "keeper, admin, supervisor"

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
    "HouseholdBrief": _obj(
        {
            "id": INT,
            "number": STR,
            "masked_name": {"type": "string", "description": "户主姓名（脱敏，如 张*丰）"},
            "village": STR,
            "status": {"type": "string", "enum": ["active", "inactive"]},
        }
    ),
    "Account": _obj({"balance": INT, "earned_total": INT, "redeemed_total": INT}),
    "Reason": _obj(
        {
            "code": {"type": "string", "description": "稳定的英文代码"},
            "message": {"type": "string", "description": "说明（按请求的语言）"},
            "blocking": BOOL,
            "params": {
                "type": "object",
                "additionalProperties": True,
                "description": "说明里的数值（如 balance），供客户端自己组句",
            },
        },
        required=["code", "message", "blocking"],
    ),
    "Decision": _obj(
        {
            "may_redeem": BOOL,
            "spendable": INT,
            "quota_left": NULLABLE_INT,
            "tier": NULLABLE_STR,
            "next_open": {
                "type": ["string", "null"],
                "format": "date",
                "description": "兑换窗口关闭时，下一个可兑换日",
            },
            "reasons": {"type": "array", "items": _ref("Reason")},
        }
    ),
    "ScanRequest": _obj(
        {"payload": _text(64, description="卡片二维码内容（JF+20位数字，或只输20位数字）")}
    ),
    "ScanResult": _obj(
        {
            "card_id": INT,
            "household": _ref("HouseholdBrief"),
            "account": _ref("Account"),
            "decision": _ref("Decision"),
            "carried_points": {
                "type": ["string", "null"],
                "description": "评分折算后结转的不足1分部分（如 0.55），没有时为 null",
            },
        }
    ),
    "Category": _obj({"id": INT, "name": STR}),
    "Product": _obj(
        {
            "id": INT,
            "sku": STR,
            "barcode": NULLABLE_STR,
            "name": STR,
            "unit": STR,
            "category_id": NULLABLE_INT,
            "category": NULLABLE_STR,
            "kind": {"type": "string", "enum": ["goods", "service"]},
            "restriction_key": {
                "type": ["string", "null"],
                "description": "受限物品的规则键（如 elder_canteen），见规则的 restrictions",
            },
            "points_price": {"type": "integer", "description": "按成本价折算的积分（向上取整）"},
            "stock_qty": INT,
            "unit_cost_fen": {"type": "integer", "description": "移动平均成本（分）"},
            "active": BOOL,
        }
    ),
    "Catalogue": _obj(
        {
            "categories": {"type": "array", "items": _ref("Category")},
            "products": {"type": "array", "items": _ref("Product")},
        }
    ),
    "ProductResult": _obj({"product": _ref("Product")}),
    "ProductInput": _obj(
        {
            "sku": _text(32),
            "name": _text(100),
            "unit": _text(16, required=False, default="件"),
            "category": _text(50, required=False),
            "barcode": {"type": ["string", "null"], "pattern": "^[0-9]*$", "maxLength": 32},
            "kind": {"type": "string", "enum": ["goods", "service"], "default": "goods"},
            "unit_cost_fen": {
                "type": "integer",
                "minimum": 0,
                "maximum": 10_000_000,
                "default": 0,
                "description": "服务项目的成本价（分）；实物的成本由入库决定",
            },
            "restriction_key": {
                "type": ["string", "null"],
                "pattern": "^([a-z][a-z0-9_]{0,31})?$",
                "description": "受限物品的规则键（如 elder_canteen），见规则的 restrictions",
            },
        },
        required=["sku", "name"],
    ),
    "ProductChange": _obj(
        {
            "name": _text(100),
            "unit": _text(16),
            "kind": {"type": "string", "enum": ["goods", "service"]},
            "unit_cost_fen": {
                "type": "integer",
                "minimum": 0,
                "maximum": 10_000_000,
                "description": "服务项目的价格（分）；实物的成本由入库决定，不能在此修改",
            },
            "restriction_key": {
                "type": ["string", "null"],
                "pattern": "^([a-z][a-z0-9_]{0,31})?$",
                "description": "现行规则 restrictions 里的键（如 elder_canteen）；null 或空为普通物品",
            },
            "active": {"type": "boolean", "description": "是否上架"},
        },
        required=[],
    ),
    "CartLine": _obj({"product_id": ID, "quantity": COUNT}),
    "RedemptionRequest": _obj(
        {
            "card": _text(64, description="卡片二维码内容"),
            "lines": {"type": "array", "items": _ref("CartLine"), "maxItems": 100},
            "idempotency_key": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_\\-:.]{8,64}$",
                "description": "每个购物车一个；重试时原样再发，返回同一张兑换单",
            },
        }
    ),
    "RedemptionLine": _obj(
        {
            "product_id": INT,
            "name": STR,
            "unit": STR,
            "quantity": INT,
            "unit_points": INT,
            "line_points": INT,
        }
    ),
    "Redemption": _obj(
        {
            "id": INT,
            "receipt_no": {"type": "string", "examples": ["DT01-00000001"]},
            "status": {"type": "string", "enum": ["completed", "voided"]},
            "household": _ref("HouseholdBrief"),
            "lines": {"type": "array", "items": _ref("RedemptionLine")},
            "total_points": INT,
            "balance_before": INT,
            "balance_after": INT,
            "keeper": {"type": "string", "description": "经办人显示名"},
            "created_at": DATETIME,
            "voided_at": DATETIME,
            "void_reason": NULLABLE_STR,
        }
    ),
    "Receipt": _obj(
        {
            "job_id": INT,
            "status": {"type": "string", "enum": ["queued", "sending", "printed", "failed"]},
            "copy_no": INT,
            "text": {"type": "string", "description": "小票的文字排版"},
            "last_error": NULLABLE_STR,
        }
    ),
    "RedemptionResult": _obj(
        {
            "redemption": _ref("Redemption"),
            "receipt": {"oneOf": [_ref("Receipt"), {"type": "null"}]},
        }
    ),
    "VoidRequest": _obj({"reason": _text(200, multiline=True)}),
    "ReceiptResult": _obj({"receipt": _ref("Receipt")}),
    "ReceiptBytes": _obj(
        {
            "receipt": _ref("Receipt"),
            "escpos_base64": {"type": "string", "contentEncoding": "base64"},
        }
    ),
    "HouseholdSummary": _obj(
        {
            "id": INT,
            "number": STR,
            "head_name": {
                "type": "string",
                "description": "户主姓名：管理员和监督员看全名，超市管理员看脱敏名",
            },
            "masked_name": STR,
            "village": STR,
            "group_name": STR,
            "status": {"type": "string", "enum": ["active", "inactive"]},
            "balance": INT,
        }
    ),
    "HouseholdPage": _obj(
        {
            "households": {"type": "array", "items": _ref("HouseholdSummary")},
            "page": INT,
            "per_page": INT,
            "total": INT,
        }
    ),
    "Member": _obj(
        {
            "id": INT,
            "name": {"type": "string", "description": "管理员和监督员看全名，超市管理员看脱敏名"},
            "relation": STR,
            "active": BOOL,
            "birth_date": {
                "type": ["string", "null"],
                "format": "date",
                "description": "只对管理员和监督员输出",
            },
        },
        required=["id", "name", "relation", "active"],
    ),
    "MemberInput": _obj(
        {
            "name": _text(50),
            "relation": _text(20, required=False, examples=["户主", "配偶", "子女"]),
            "birth_date": {
                "type": ["string", "null"],
                "format": "date",
                "description": "1880年以后，不能晚于今天（超市所在地的日期）",
            },
        },
        required=["name"],
    ),
    "MemberResult": _obj({"member": _ref("Member")}),
    "HouseholdInput": _obj(
        {
            "number": _text(32, description="户号"),
            "head_name": _text(50),
            "village": _text(50, required=False),
            "group_name": _text(50, required=False),
            "members": {
                "type": ["array", "null"],
                "items": _ref("MemberInput"),
                "maxItems": 30,
                "description": "省略时以户主为唯一成员",
            },
        },
        required=["number", "head_name"],
    ),
    "HouseholdDetail": _obj(
        {
            "id": INT,
            "number": STR,
            "head_name": STR,
            "masked_name": STR,
            "village": STR,
            "group_name": STR,
            "status": {"type": "string", "enum": ["active", "inactive"]},
            "members": {"type": "array", "items": _ref("Member")},
            "account": _ref("Account"),
            "active_card_id": NULLABLE_INT,
            "created_at": DATETIME,
        }
    ),
    "HouseholdResult": _obj({"household": _ref("HouseholdDetail")}),
    "StatusInput": _obj({"active": BOOL}),
    "CardIssueInput": _obj({"reason": _text(200, required=False, multiline=True)}, required=[]),
    "Card": _obj(
        {
            "id": INT,
            "household_id": INT,
            "serial": INT,
            "issue_no": INT,
            "payload": {"type": "string", "description": "印在卡上的二维码内容"},
            "status": {"type": "string", "enum": ["active", "revoked"]},
            "issued_at": DATETIME,
            "revoked_at": DATETIME,
            "revoke_reason": NULLABLE_STR,
        }
    ),
    "CardResult": _obj({"card": _ref("Card")}),
    "RevokeInput": _obj({"reason": _text(200, multiline=True)}),
    "PointsInput": _obj(
        {
            "kind": {"type": "string", "enum": ["award", "deduct"]},
            "amount": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "reason": _text(200, multiline=True),
            "idempotency_key": {"type": "string", "pattern": "^[A-Za-z0-9_\\-:.]{8,64}$"},
        },
        required=["kind", "amount", "reason"],
    ),
    "PointEntry": _obj(
        {
            "id": INT,
            # Every kind the ledger holds, the rules' own entries included (conversion,
            # veto_clear, expiry, base_grant): one list, the models'.
            "kind": {"type": "string", "enum": list(ENTRY_KINDS)},
            "amount": {"type": "integer", "description": "带符号"},
            "balance_after": INT,
            "reason": STR,
            "redemption_id": NULLABLE_INT,
            "reverses_id": NULLABLE_INT,
            "created_by": NULLABLE_STR,
            "created_at": DATETIME,
        }
    ),
    "PointEntryResult": _obj({"entry": _ref("PointEntry"), "account": _ref("Account")}),
    "PointHistory": _obj(
        {"account": _ref("Account"), "entries": {"type": "array", "items": _ref("PointEntry")}}
    ),
    "StockInLine": _obj(
        {
            "product_id": ID,
            "quantity": COUNT,
            "unit_cost_fen": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
        }
    ),
    "StockInInput": _obj(
        {
            "supplier": _text(100, required=False),
            "invoice_no": _text(50, required=False),
            "note": _text(200, required=False, multiline=True),
            "lines": {"type": "array", "items": _ref("StockInLine"), "maxItems": 200},
            "print_slip": {**BOOL, "description": "入库后打印物品入库单（打印失败不影响入库）"},
        },
        required=["lines"],
    ),
    "StockMovement": _obj(
        {
            "id": INT,
            "product_id": INT,
            "kind": STR,
            "quantity": INT,
            "unit_cost_fen": INT,
            "quantity_after": INT,
            "supplier": STR,
            "invoice_no": STR,
            "note": STR,
            "created_at": DATETIME,
        }
    ),
    "StockInResult": _obj(
        {
            "movements": {"type": "array", "items": _ref("StockMovement")},
            "products": {
                "type": "array",
                "items": _ref("Product"),
                "description": "入库后的商品：新的移动平均成本和积分价",
            },
            "slip": {
                "anyOf": [_ref("PrintJob"), {"type": "null"}],
                "description": "print_slip 时：入库单的打印任务（打印出错为 null，入库照样有效）",
            },
        },
        required=["movements", "products"],
    ),
    "TokenInput": _obj({"label": _text(100, required=False)}, required=[]),
    "TokenRecord": _obj(
        {
            "id": INT,
            "user_id": INT,
            "label": STR,
            "created_at": DATETIME,
            "last_used_at": DATETIME,
            "revoked_at": DATETIME,
        }
    ),
    "TokenIssued": _obj(
        {
            "token": {"type": "string", "description": "令牌本身，只在此时显示一次"},
            "record": _ref("TokenRecord"),
        }
    ),
    "TokenList": _obj({"tokens": {"type": "array", "items": _ref("TokenRecord")}}),
    "TokenRevoked": _obj({"record": _ref("TokenRecord")}),
    "OpenApiDocument": {"type": "object", "description": "本文档"},
    # Rule sets (issue 3).
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
    "PresetRef": _obj({"key": STR, "name": STR}),
    "PolicyInfo": _obj(
        {"policy": _ref("Policy"), "presets": {"type": "array", "items": _ref("PresetRef")}}
    ),
    "PolicyResult": _obj({"policy": _ref("Policy")}),
    "PolicyInput": {
        "type": "object",
        "description": "三选一：preset（模板代号）、policy（规则对象）或 toml（规则文本）",
        "oneOf": [
            _obj(
                {"preset": {"type": "string", "enum": ["datong", "gaoyang", "zhaili", "yangting"]}}
            ),
            _obj({"policy": _ref("Policy")}),
            _obj({"toml": _text(20_000, multiline=True)}),
        ],
    },
    "PolicyBrief": _obj({"name": STR, "preset": NULLABLE_STR}),
    "Standing": _obj(
        {
            "id": INT,
            "number": STR,
            "name": {"type": "string", "description": "户主姓名（超市管理员看到脱敏名）"},
            "balance": INT,
            "earned_total": INT,
            "may_redeem": BOOL,
            "spendable": INT,
            "tier": NULLABLE_STR,
            "quota_left": NULLABLE_INT,
            "next_open": {"type": ["string", "null"], "format": "date"},
            "reasons": {"type": "array", "items": _ref("Reason")},
        }
    ),
    "Preview": _obj(
        {
            "date": {"type": "string", "format": "date"},
            "policy": _ref("PolicyBrief"),
            "households": {"type": "array", "items": _ref("Standing")},
        }
    ),
    "AssessmentInput": _obj(
        {
            "period": PERIOD,
            "household_id": ID,
            "member_id": NULLABLE_ID,
            "score": SCORE,
            "note": _text(200, required=False, multiline=True),
        },
        required=["period", "household_id", "score"],
    ),
    "AssessmentBatchInput": _obj(
        {
            "period": PERIOD,
            "scores": {
                "type": "array",
                "minItems": 1,
                "maxItems": 500,
                "items": _obj(
                    {
                        "household_id": ID,
                        "member_id": NULLABLE_ID,
                        "score": SCORE,
                        "note": _text(200, required=False, multiline=True),
                    },
                    required=["household_id", "score"],
                ),
            },
        }
    ),
    "Assessment": _obj(
        {
            "id": INT,
            "household_id": INT,
            "household_number": STR,
            "member_id": NULLABLE_INT,
            "member_name": NULLABLE_STR,
            "period": PERIOD,
            "score": SCORE,
            "note": STR,
            "created_by": NULLABLE_STR,
            "created_at": DATETIME,
        }
    ),
    "AssessmentResult": _obj({"assessment": _ref("Assessment")}),
    "AssessmentList": _obj(
        {"period": PERIOD, "assessments": {"type": "array", "items": _ref("Assessment")}}
    ),
    "VetoInput": _obj(
        {
            "household_id": ID,
            "member_id": NULLABLE_ID,
            "on": {"type": "string", "format": "date", "description": "2000年以后，不能晚于今天"},
            "reason": _text(200, multiline=True),
        },
        required=["household_id", "on", "reason"],
    ),
    "Veto": _obj(
        {
            "id": INT,
            "household_id": INT,
            "household_number": STR,
            "head_name": STR,
            "member_id": NULLABLE_INT,
            "member_name": NULLABLE_STR,
            "on": {"type": "string", "format": "date"},
            "kind": STR,
            "reason": STR,
            "created_by": NULLABLE_STR,
            "created_at": DATETIME,
        }
    ),
    "VetoResult": _obj({"veto": _ref("Veto")}),
    "VetoList": _obj({"year": NULLABLE_INT, "vetoes": {"type": "array", "items": _ref("Veto")}}),
    "CycleInput": _obj(
        {"year": {"type": "integer", "minimum": 2000, "description": "不能晚于今年"}}
    ),
    "CycleResult": _obj(
        {
            "cycle": _obj(
                {
                    "year": INT,
                    "households": {"type": "integer", "description": "结转的户数"},
                    "expired_points": {"type": "integer", "description": "清零的积分合计"},
                    "granted_points": {"type": "integer", "description": "发放的基础分合计"},
                    "closed_at": DATETIME,
                },
                description="年终结转的结果（再次结转同一年返回第一次的结果，不再记账）",
            )
        }
    ),
    "Printer": _obj(
        {
            "type": {
                "type": "string",
                "enum": ["preview", "usb", "serial", "network", "file", "cups"],
            },
            "paper_mm": {"type": "integer", "enum": [58, 80]},
            "mode": {"type": "string", "enum": ["text", "raster"], "description": "文字或图像模式"},
            "profile": {**NULLABLE_STR, "description": "python-escpos 打印机型号配置"},
            "described": {"type": "string", "description": "打印机的简短说明（类型和地址）"},
        },
        description="本机的打印机（instance/printer.json，没有时用实例配置 JIFEN_PRINTER），不含连接细节",
    ),
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
    "PrinterSettingsInput": _obj({"settings": _ref("PrinterSettings")}),
    "PrinterSettingsResult": _obj(
        {"printer": _ref("Printer"), "settings": _ref("PrinterSettings")}
    ),
    "PrinterState": _obj(
        {
            "printer": _ref("Printer"),
            "status": {
                "type": "string",
                "enum": ["online", "offline", "paper_out", "unknown"],
                "description": "在线、离线、缺纸、未知（打印机没有回答状态查询）",
            },
        }
    ),
    "PrintJob": _obj(
        {
            "id": INT,
            "kind": {"type": "string", "enum": ["receipt", "test_page", "card", "stock_in"]},
            "status": {"type": "string", "enum": ["queued", "sending", "printed", "failed"]},
            "redemption_id": NULLABLE_INT,
            "receipt_no": {**NULLABLE_STR, "description": "小票的兑换单号（其他打印任务为空）"},
            "copy_no": INT,
            "attempts": {"type": "integer", "description": "已发送的次数"},
            "last_error": NULLABLE_STR,
            "printer": STR,
            "created_at": DATETIME,
            "printed_at": DATETIME,
            "text": {"type": "string", "description": "打印内容的文字排版"},
        }
    ),
    "PrintJobResult": _obj({"job": _ref("PrintJob")}),
    "PrintJobList": _obj({"jobs": {"type": "array", "items": _ref("PrintJob")}}),
    "RetryResult": _obj(
        {
            "sent": {
                "type": "array",
                "items": _ref("PrintJob"),
                "description": "本次重新发送的任务（遇到第一次失败即停止）",
            },
            "remaining": {"type": "integer", "description": "仍未打印的任务数"},
        }
    ),
}

# A card check answers 429 too: forged codes past kiosk.scan_guard's limits (Retry-After).
CARD_CODES = ("card_invalid", "card_unknown", "card_revoked", "too_many_attempts")

PATHS: dict[str, Any] = {
    "/api/v1/scan": {
        "post": _op(
            "扫卡：核验卡片，返回户、余额和可兑换判断",
            "counter",
            (200, "ScanResult", "卡片有效"),
            codes=(*WRITE_CODES, "not_found", *CARD_CODES),
            body="ScanRequest",
            roles=COUNTER_ROLES,
        )
    },
    "/api/v1/products": {
        "get": _op(
            "商品目录（按分类）",
            "catalogue",
            (200, "Catalogue", "上架商品及分类"),
            roles=ALL_ROLES,
        ),
        "post": _op(
            "新增商品或服务项目",
            "catalogue",
            (201, "ProductResult", "已新增"),
            codes=(*WRITE_CODES, "duplicate"),
            body="ProductInput",
            roles=ADMIN_ROLES,
        ),
    },
    "/api/v1/products/{product_id}": {
        "patch": _op(
            "修改商品的规则相关设置（类型、限定物品、服务价格、上架）",
            "catalogue",
            (200, "ProductResult", "修改后的商品"),
            codes=(*WRITE_CODES, "not_found"),
            body="ProductChange",
            roles=ADMIN_ROLES,
            params=[_path_id("product_id", "商品的编号（id）")],
        )
    },
    "/api/v1/products/barcode/{code}": {
        "get": _op(
            "按条码（或商品编号）查找上架商品",
            "catalogue",
            (200, "ProductResult", "找到的商品"),
            codes=(*COMMON_CODES, "not_found"),
            roles=ALL_ROLES,
            params=[{"name": "code", "in": "path", "required": True, "schema": STR}],
        )
    },
    "/api/v1/redemptions": {
        "post": _op(
            "兑换：扣积分、减库存、出小票",
            "counter",
            (201, "RedemptionResult", "新的兑换单"),
            codes=(
                *WRITE_CODES,
                "not_found",
                *CARD_CODES,
                "household_inactive",
                "insufficient_points",
                "out_of_stock",
                "not_eligible",
                "product_unavailable",
                "empty_cart",
                "idempotency_conflict",
                "month_closed",
            ),
            body="RedemptionRequest",
            roles=COUNTER_ROLES,
            description="同一 idempotency_key、同一购物车的重试返回 200 和原来的兑换单，不重复扣分；"
            "同一 idempotency_key 用于不同购物车返回 409 idempotency_conflict。",
        )
    },
    "/api/v1/redemptions/{redemption_id}": {
        "get": _op(
            "查看兑换单",
            "counter",
            (200, "RedemptionResult", "兑换单及最近一张小票"),
            codes=(*COMMON_CODES, "not_found"),
            roles=ALL_ROLES,
            params=[REDEMPTION_ID],
        )
    },
    "/api/v1/redemptions/{redemption_id}/void": {
        "post": _op(
            "作废兑换单（冲回积分和库存）",
            "counter",
            (200, "RedemptionResult", "已作废"),
            codes=(
                *WRITE_CODES,
                "void_not_allowed",
                "not_found",
                "already_voided",
                "month_closed",
            ),
            body="VoidRequest",
            roles=COUNTER_ROLES,
            params=[REDEMPTION_ID],
            description="超市管理员只能作废本超市当日的兑换单；村委管理员可作废任何一天的。",
        )
    },
    "/api/v1/redemptions/{redemption_id}/receipt": {
        "get": _op(
            "小票：文字和 ESC/POS 字节",
            "counter",
            (200, "ReceiptBytes", "最近一张小票"),
            codes=(*COMMON_CODES, "not_found"),
            roles=ALL_ROLES,
            params=[REDEMPTION_ID],
        )
    },
    "/api/v1/redemptions/{redemption_id}/reprint": {
        "post": _op(
            "补打小票",
            "counter",
            (201, "ReceiptResult", "补打的小票"),
            codes=("csrf_failed", *COMMON_CODES, "not_found"),
            roles=COUNTER_ROLES,
            params=[REDEMPTION_ID],
        )
    },
    "/api/v1/households": {
        "get": _op(
            "户列表（按户号、成员姓名、拼音或首字母、卡号搜索，与办公室查户相同；分页）",
            "households",
            (200, "HouseholdPage", "一页户"),
            codes=("invalid_request", *COMMON_CODES),
            roles=ALL_ROLES,
            params=[
                _query(
                    "q",
                    {"type": "string", "pattern": f"^[^{_CONTROLS}]*$"},
                    "户号、成员姓名、拼音或首字母的一部分，或整张卡号（只看前50个字）",
                ),
                _query(
                    "page",
                    {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1},
                    "页码",
                ),
                _query(
                    "per_page",
                    {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                    "每页条数",
                ),
            ],
        ),
        "post": _op(
            "登记新户（含成员，积分账户余额为0）",
            "households",
            (201, "HouseholdResult", "已登记"),
            codes=(*WRITE_CODES, "duplicate"),
            body="HouseholdInput",
            roles=ADMIN_ROLES,
        ),
    },
    "/api/v1/households/{household_id}": {
        "get": _op(
            "户详情：成员、积分账户、当前有效卡",
            "households",
            (200, "HouseholdResult", "户详情"),
            codes=(*COMMON_CODES, "not_found"),
            roles=ALL_ROLES,
            params=[HOUSEHOLD_ID],
        )
    },
    "/api/v1/households/{household_id}/members": {
        "post": _op(
            "添加家庭成员",
            "households",
            (201, "MemberResult", "已添加"),
            codes=(*WRITE_CODES, "not_found"),
            body="MemberInput",
            roles=ADMIN_ROLES,
            params=[HOUSEHOLD_ID],
        )
    },
    "/api/v1/households/{household_id}/status": {
        "post": _op(
            "启用或停用一户",
            "households",
            (200, "HouseholdResult", "新状态"),
            codes=(*WRITE_CODES, "not_found"),
            body="StatusInput",
            roles=ADMIN_ROLES,
            params=[HOUSEHOLD_ID],
        )
    },
    "/api/v1/households/{household_id}/cards": {
        "post": _op(
            "发卡或补卡（补卡时旧卡作废）",
            "cards",
            (201, "CardResult", "新卡"),
            codes=(*WRITE_CODES, "not_found"),
            body="CardIssueInput",
            roles=ADMIN_ROLES,
            params=[HOUSEHOLD_ID],
        )
    },
    "/api/v1/cards/{card_id}/revoke": {
        "post": _op(
            "作废卡片",
            "cards",
            (200, "CardResult", "已作废的卡"),
            codes=(*WRITE_CODES, "not_found", "card_revoked"),
            body="RevokeInput",
            roles=ADMIN_ROLES,
            params=[_path_id("card_id", "卡片编号（id）")],
        )
    },
    "/api/v1/households/{household_id}/points": {
        "get": _op(
            "积分明细（最新在前）",
            "points",
            (200, "PointHistory", "账户和明细"),
            codes=("invalid_request", *COMMON_CODES, "not_found"),
            roles=ALL_ROLES,
            params=[
                HOUSEHOLD_ID,
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    "条数",
                ),
            ],
        ),
        "post": _op(
            "加分或扣分",
            "points",
            (201, "PointEntryResult", "新的积分记录"),
            codes=(*WRITE_CODES, "not_found", "idempotency_conflict"),
            body="PointsInput",
            roles=ADMIN_ROLES,
            params=[HOUSEHOLD_ID],
            description="带 idempotency_key 的重试返回 200 和原来的记录，不重复加减分。",
        ),
    },
    "/api/v1/stock-ins": {
        "post": _op(
            "入库（按进价，更新移动平均成本和积分价）",
            "catalogue",
            (201, "StockInResult", "入库记录和入库后的商品"),
            codes=(*WRITE_CODES, "not_found", "month_closed"),
            body="StockInInput",
            roles=COUNTER_ROLES,
        )
    },
    "/api/v1/users/{user_id}/tokens": {
        "get": _op(
            "用户的 API 令牌记录",
            "tokens",
            (200, "TokenList", "令牌记录（不含令牌本身）"),
            codes=(*COMMON_CODES, "not_found"),
            roles="admin, supervisor",
            params=[_path_id("user_id", "用户编号（id）")],
        ),
        "post": _op(
            "为用户签发 API 令牌",
            "tokens",
            (201, "TokenIssued", "新令牌（只显示这一次）"),
            codes=(*WRITE_CODES, "not_found"),
            body="TokenInput",
            roles=ADMIN_ROLES,
            params=[_path_id("user_id", "用户编号（id）")],
        ),
    },
    "/api/v1/tokens/{token_id}/revoke": {
        "post": _op(
            "撤销 API 令牌",
            "tokens",
            (200, "TokenRevoked", "已撤销"),
            codes=("csrf_failed", *COMMON_CODES, "not_found"),
            roles=ADMIN_ROLES,
            params=[_path_id("token_id", "令牌编号（id）")],
        )
    },
    "/api/v1/policy": {
        "get": _op(
            "当前兑换规则和可选的规则模板",
            "rules",
            (200, "PolicyInfo", "当前规则"),
            roles=ALL_ROLES,
        ),
        "put": _op(
            "更换兑换规则：选模板，或保存编辑后的规则（JSON 或 TOML）",
            "rules",
            (200, "PolicyResult", "保存后的规则"),
            codes=WRITE_CODES,
            body="PolicyInput",
            roles=ADMIN_ROLES,
            description="规则先整体校验，出错时返回 invalid_request 和指出字段的中文说明，什么都不改。",
        ),
    },
    "/api/v1/policy/preview": {
        "get": _op(
            "预览：某一天在当前规则（或某个模板）下每户能否兑换、可兑换多少",
            "rules",
            (200, "Preview", "每户的情况"),
            codes=("invalid_request", *COMMON_CODES),
            roles=ALL_ROLES,
            params=[
                _query(
                    "date", {"type": "string", "format": "date"}, "日期（2000–2100年），默认今天"
                ),
                _query(
                    "preset",
                    {"type": "string", "enum": ["datong", "gaoyang", "zhaili", "yangting"]},
                    "按此模板预览（不改变当前规则）",
                ),
            ],
        )
    },
    "/api/v1/assessments": {
        "get": _op(
            "某考评期的评分记录",
            "rules",
            (200, "AssessmentList", "评分记录"),
            codes=("invalid_request", *COMMON_CODES),
            roles="admin, supervisor",
            params=[_query("period", PERIOD, "考评期，省略时为本期")],
        ),
        "post": _op(
            "录入一条评分（更正即再录一条，以最新的为准）",
            "rules",
            (201, "AssessmentResult", "新的评分记录"),
            codes=(*WRITE_CODES, "not_found"),
            body="AssessmentInput",
            roles=ADMIN_ROLES,
        ),
    },
    "/api/v1/assessments/batch": {
        "post": _op(
            "批量录入一个考评期的评分（全部成功或全部不录）",
            "rules",
            (201, "AssessmentList", "新的评分记录"),
            codes=WRITE_CODES,
            body="AssessmentBatchInput",
            roles=ADMIN_ROLES,
            description="出错时 details.field 指出是第几行（如 scores[2].score）。",
        )
    },
    "/api/v1/vetoes": {
        "get": _op(
            "一票否决和取消资格记录",
            "rules",
            (200, "VetoList", "记录"),
            codes=("invalid_request", *COMMON_CODES),
            roles="admin, supervisor",
            params=[
                _query(
                    "year",
                    {"type": "integer", "minimum": 2000, "maximum": 2100},
                    "年份，省略时列出全部",
                )
            ],
        ),
        "post": _op(
            "记录一票否决或取消资格",
            "rules",
            (201, "VetoResult", "新的记录"),
            codes=(*WRITE_CODES, "not_found"),
            body="VetoInput",
            roles=ADMIN_ROLES,
            description="按规则处理：大同清零当前积分并取消当年兑换资格；寨里当期评分记0分。",
        ),
    },
    "/api/v1/cycle/close": {
        "post": _op(
            "年终结转：按规则清零并发放新一年的基础分",
            "rules",
            (200, "CycleResult", "结转结果"),
            codes=WRITE_CODES,
            body="CycleInput",
            roles=ADMIN_ROLES,
            description="同一年只结转一次：再次调用返回第一次的结果，不再记账。",
        )
    },
    "/api/v1/printer": {
        "get": _op(
            "打印机：配置和当前状态",
            "printer",
            (200, "PrinterState", "打印机和状态"),
            roles=ALL_ROLES,
            description="状态查询最多等1秒。网络打印机用 DLE EOT 询问；预览打印机总是在线。",
        ),
        "put": _op(
            "修改本机打印机的设置",
            "printer",
            (200, "PrinterSettingsResult", "保存后的设置"),
            codes=WRITE_CODES,
            body="PrinterSettingsInput",
            roles=ADMIN_ROLES,
            description="设置保存在本机的 instance/printer.json；字段不正确时返回中文说明，不保存任何内容。",
        ),
    },
    "/api/v1/printer/test-page": {
        "post": _op(
            "打印测试页",
            "printer",
            (201, "PrintJobResult", "测试页的打印任务（失败时 status 为 failed，附原因）"),
            codes=("csrf_failed", *COMMON_CODES),
            roles=COUNTER_ROLES,
        )
    },
    "/api/v1/print-jobs": {
        "get": _op(
            "未打印的任务（排队、发送中、失败）",
            "printer",
            (200, "PrintJobList", "未打印的任务，最早的在前"),
            codes=("invalid_request", *COMMON_CODES),
            roles=ALL_ROLES,
            params=[
                _query(
                    "status",
                    {"type": "string", "enum": ["failed", "queued", "sending", ""]},
                    "只列出这一状态的任务，省略或为空时列出全部未打印的",
                )
            ],
        )
    },
    "/api/v1/print-jobs/retry": {
        "post": _op(
            "重新打印失败的任务",
            "printer",
            (200, "RetryResult", "本次发送的任务和仍未打印的数量"),
            codes=("csrf_failed", *COMMON_CODES),
            roles=COUNTER_ROLES,
            description="按时间顺序重发失败的任务，遇到第一次失败即停止；失败5次以上的请在兑换单上补打。",
        )
    },
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

# Optional bodies: an empty POST is accepted for these.
PATHS["/api/v1/households/{household_id}/cards"]["post"]["requestBody"]["required"] = False
PATHS["/api/v1/users/{user_id}/tokens"]["post"]["requestBody"]["required"] = False

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

# The proposals (two signatures for every award) are documented in their own module.
openapi_proposals.merge(DOCUMENT)
# The quarterly ranking and notice (公示), read only, likewise.
openapi_notice.merge(DOCUMENT)


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (no login needed)."""
    return jsonify(DOCUMENT)
