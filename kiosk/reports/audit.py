"""The audit log in words and on paper: labels for its actions, subjects, fields and values
(used by the log's page too), and the log as a spreadsheet (操作日志)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext, lazy_gettext

from kiosk.export import Sheet, workbook_bytes
from kiosk.formatting import local_time, yuan
from kiosk.messages import LIST_SEPARATOR, WORD_SEPARATOR
from kiosk.models import AuditEvent, Supermarket
from kiosk.timeutil import utcnow

ROLE_LABELS = {
    "keeper": lazy_gettext("超市管理员"),
    "admin": lazy_gettext("村委管理员"),
    "supervisor": lazy_gettext("监督小组"),
    "recorder": lazy_gettext("评议员"),
}

# What each kind of row is called; an action "object.verb" is shown from these two tables
# unless it has a name of its own in ACTION_LABELS.
OBJECT_LABELS = {
    "user": lazy_gettext("用户"),
    "token": lazy_gettext("API令牌"),
    "household": lazy_gettext("户"),
    "member": lazy_gettext("家庭成员"),
    "card": lazy_gettext("积分卡"),
    "points": lazy_gettext("积分"),
    "redemption": lazy_gettext("兑换单"),
    "receipt": lazy_gettext("小票"),
    "policy": lazy_gettext("兑换规则"),
    "assessment": lazy_gettext("评分"),
    "veto": lazy_gettext("一票否决"),
    "cycle": lazy_gettext("积分周期"),
    "product": lazy_gettext("物品"),
    "stock": lazy_gettext("库存"),
    "stock_in": lazy_gettext("入库单"),
    "adjustment": lazy_gettext("报损"),
    "donation": lazy_gettext("捐赠"),
    "donor": lazy_gettext("捐赠人"),
    "fund": lazy_gettext("基金池"),
    "stocktake": lazy_gettext("盘点"),
    "month": lazy_gettext("月结"),
    "notice": lazy_gettext("公示"),
    "objection": lazy_gettext("异议"),
    "proposal": lazy_gettext("积分申报"),
    "import": lazy_gettext("导入"),
    "standards": lazy_gettext("积分标准"),
    "printer": lazy_gettext("打印机"),
    "supermarket": lazy_gettext("超市"),
    "selfservice": lazy_gettext("自助查询"),
}
VERB_LABELS = {
    "create": lazy_gettext("新建"),
    "update": lazy_gettext("修改"),
    "status": lazy_gettext("改状态"),
    "issue": lazy_gettext("发放"),
    "revoke": lazy_gettext("作废"),
    "void": lazy_gettext("作废"),
    "record": lazy_gettext("登记"),
    "set": lazy_gettext("设置"),
    "close": lazy_gettext("结账"),
    "approve": lazy_gettext("批准"),
    "reject": lazy_gettext("驳回"),
    "request": lazy_gettext("申请"),
    "submit": lazy_gettext("提交"),
    "cancel": lazy_gettext("取消"),
    "start": lazy_gettext("开始"),
    "print": lazy_gettext("打印"),
    "reprint": lazy_gettext("补打"),
    "add": lazy_gettext("添加"),
    "commit": lazy_gettext("确认"),
    "preview": lazy_gettext("预览"),
    "reverse": lazy_gettext("冲销"),
    "withdraw": lazy_gettext("撤回"),
    "settings": lazy_gettext("设置"),
}
ACTION_LABELS = {
    "user.login_failed": lazy_gettext("登录失败"),
    "user.reset_password": lazy_gettext("重设密码"),
    "user.reset_pin": lazy_gettext("重设PIN"),
    "user.activate": lazy_gettext("启用用户"),
    "user.deactivate": lazy_gettext("停用用户"),
    "user.unlock": lazy_gettext("解锁账号"),
    "user.set_role": lazy_gettext("修改角色"),
    "token.issue": lazy_gettext("发放API令牌"),
    "token.revoke": lazy_gettext("吊销API令牌"),
    "selfservice.scan_locked": lazy_gettext("自助查询机因无效扫卡过多暂停"),
    "counter.scan_locked": lazy_gettext("柜台因无效扫卡过多限流"),
    "points.conversion": lazy_gettext("评分折换积分"),
    "stock.in": lazy_gettext("入库"),
    "card.print_pdf": lazy_gettext("打印积分卡(PDF)"),
    "card.print_thermal": lazy_gettext("打印积分卡(小票机)"),
    "month.print_slip": lazy_gettext("打印月结单"),
    "stocktake.sign_off": lazy_gettext("盘点签字"),
    "stocktake.send_back": lazy_gettext("盘点退回"),
    "notice.drafted": lazy_gettext("公示草稿"),
    "notice.published": lazy_gettext("发布公示"),
    "notice.discarded": lazy_gettext("放弃公示"),
    "objection.recorded": lazy_gettext("登记异议"),
    "proposal.approve_batch": lazy_gettext("批量批准积分申报"),
    "fund.advance_limit": lazy_gettext("设置垫付上限"),
    "donation.receipt_print": lazy_gettext("打印捐赠收据"),
    "donation.receipt_reprint": lazy_gettext("补打捐赠收据"),
    "standards.seed": lazy_gettext("导入积分标准"),
}
SUBJECT_LABELS = {
    "User": lazy_gettext("用户"),
    "ApiToken": lazy_gettext("API令牌"),
    "Household": lazy_gettext("户"),
    "Member": lazy_gettext("家庭成员"),
    "Card": lazy_gettext("积分卡"),
    "PointEntry": lazy_gettext("积分流水"),
    "Redemption": lazy_gettext("兑换单"),
    "Supermarket": lazy_gettext("超市"),
    "Assessment": lazy_gettext("评分"),
    "Veto": lazy_gettext("一票否决"),
    "Product": lazy_gettext("物品"),
    "StockMovement": lazy_gettext("库存流水"),
    "StockIn": lazy_gettext("入库单"),
    "StockAdjustment": lazy_gettext("报损单"),
    "Donation": lazy_gettext("捐赠"),
    "Donor": lazy_gettext("捐赠人"),
    "Stocktake": lazy_gettext("盘点"),
    "MonthClose": lazy_gettext("月结"),
    "PrintJob": lazy_gettext("打印任务"),
    "ScanThrottle": lazy_gettext("扫卡限流"),
}
FIELD_LABELS = {
    "username": lazy_gettext("用户名"),
    "display_name": lazy_gettext("姓名"),
    "role": lazy_gettext("角色"),
    "active": lazy_gettext("启用"),
    "supermarket_id": lazy_gettext("超市编号"),
    "has_password": lazy_gettext("已设密码"),
    "has_pin": lazy_gettext("已设PIN"),
    "failed_attempts": lazy_gettext("失败次数"),
    "locked": lazy_gettext("已锁定"),
    "method": lazy_gettext("方式"),
    "user_id": lazy_gettext("用户编号"),
    "label": lazy_gettext("用途"),
    "reason": lazy_gettext("原因"),
    "receipt_no": lazy_gettext("小票号"),
    "total_points": lazy_gettext("积分"),
    "points": lazy_gettext("积分"),
    "amount": lazy_gettext("数量"),
    "quantity": lazy_gettext("数量"),
    "name": lazy_gettext("名称"),
    "number": lazy_gettext("编号"),
    "sku": lazy_gettext("货号"),
    "supplier": lazy_gettext("供货方"),
    "invoice_no": lazy_gettext("发票号"),
    "paid_from": lazy_gettext("付款来源"),
    "total_cost_fen": lazy_gettext("总金额"),
    "unit_cost_fen": lazy_gettext("单价"),
    "cost_fen": lazy_gettext("成本"),
    "lines": lazy_gettext("明细"),
    "product_id": lazy_gettext("物品编号"),
    "stock_in_id": lazy_gettext("入库单编号"),
    "restriction_key": lazy_gettext("限购类别"),
    "issue_no": lazy_gettext("卡次"),
    "card_id": lazy_gettext("卡编号"),
    "serial": lazy_gettext("卡序列号"),
    "head_name": lazy_gettext("户主"),
    "village": lazy_gettext("村"),
    "period": lazy_gettext("期"),
    "score": lazy_gettext("评分"),
    "member_id": lazy_gettext("成员编号"),
    "year": lazy_gettext("年份"),
    "spent_points": lazy_gettext("扣减积分"),
    "balance_after": lazy_gettext("余额"),
    "code": lazy_gettext("代码"),
    "unit": lazy_gettext("单位"),
    "category": lazy_gettext("类别"),
    "kind": lazy_gettext("种类"),
    "redemption_id": lazy_gettext("兑换单编号"),
    "status": lazy_gettext("状态"),
    "household_id": lazy_gettext("户编号"),
    "kiosk": lazy_gettext("查询机"),
    "minutes": lazy_gettext("分钟"),
    "keys": lazy_gettext("限流对象"),
    "stage": lazy_gettext("阶段"),
    "guesses": lazy_gettext("无效扫卡次数"),
    "copy_no": lazy_gettext("联次"),
    "note": lazy_gettext("备注"),
}

# kiosk.scan_guard: forged card codes refused (限流) or every scan stopped (暂停扫卡).
SCAN_STAGE_LABELS = {"lock": lazy_gettext("限流"), "halt": lazy_gettext("暂停扫卡")}


def action_label(action: str) -> str:
    """An action code in words: "user.deactivate" → 停用用户."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    obj, _, verb = action.partition(".")
    if obj in OBJECT_LABELS and verb in VERB_LABELS:
        return f"{VERB_LABELS[verb]}{OBJECT_LABELS[obj]}"
    return action


def subject_label(event: AuditEvent) -> str:
    kind = str(SUBJECT_LABELS.get(event.subject_type, event.subject_type))
    return f"{kind} #{event.subject_id}" if event.subject_id is not None else kind


def _field(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


def show_value(value: Any, key: str = "") -> str:
    """A stored value as a person reads it (是/否, roles in words, lists joined)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if key == "role" and value in ROLE_LABELS:
        return str(ROLE_LABELS[value])
    if key == "stage" and value in SCAN_STAGE_LABELS:
        return str(SCAN_STAGE_LABELS[value])
    if key.endswith("_fen") and isinstance(value, int):
        return gettext("%(yuan)s元", yuan=yuan(value))
    if isinstance(value, list):
        return str(WORD_SEPARATOR).join(show_value(v) for v in value) or "—"
    if isinstance(value, dict):
        facts = (_fact(_field(k), show_value(v, k)) for k, v in value.items())
        return gettext("，").join(facts) or "—"
    return str(value)


def _fact(field: str, value: str) -> str:
    """ "数量：2" / "Qty: 2"."""
    return gettext("%(field)s：%(value)s", field=field, value=value)


def data_rows(data: dict | None) -> list[dict[str, str]]:
    """An event's data as rows: changes (field, before, after) first, then plain facts."""
    data = data or {}
    rows: list[dict[str, str]] = []
    before, after = data.get("before"), data.get("after")
    if before is None and isinstance(after, dict):
        # A new row: what it was created with, as plain facts.
        rows += [{"field": _field(k), "value": show_value(v, k)} for k, v in after.items()]
    elif isinstance(before, dict) and after is None:
        rows += [
            {"field": gettext("原%(field)s", field=_field(k)), "value": show_value(v, k)}
            for k, v in before.items()
        ]
    elif isinstance(before, dict) or isinstance(after, dict):
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        for key in [*before, *(k for k in after if k not in before)]:
            rows.append(
                {
                    "field": _field(key),
                    "before": show_value(before.get(key), key) if key in before else "",
                    "after": show_value(after.get(key), key) if key in after else "",
                    "changed": "1" if before.get(key) != after.get(key) else "",
                }
            )
    elif before is not None or after is not None:
        rows.append(
            {
                "field": gettext("内容"),
                "before": show_value(before),
                "after": show_value(after),
                "changed": "1",
            }
        )
    for key, value in data.items():
        if key in ("before", "after"):
            continue
        rows.append({"field": _field(key), "value": show_value(value, key)})
    return rows


def data_text(data: dict | None) -> str:
    """The same rows on one line (for the export)."""
    parts = []
    for row in data_rows(data):
        if "value" in row:
            parts.append(_fact(row["field"], row["value"]))
        else:
            change = f"{row['before'] or '—'} → {row['after'] or '—'}"
            parts.append(_fact(row["field"], change))
    return str(LIST_SEPARATOR).join(parts)


def log_xlsx(
    supermarket: Supermarket, events: Sequence[AuditEvent], span: str
) -> tuple[bytes, str]:
    """The events as a workbook, oldest first, each with its chain number and hash; ``span``
    names the dates they were chosen from (empty: all dates)."""
    sheet = Sheet(
        title=gettext("操作日志"),
        subtitle=[supermarket.name, span or gettext("全部日期")],
        headers=[
            gettext("链号"),
            gettext("时间"),
            gettext("操作人"),
            gettext("操作"),
            gettext("对象"),
            gettext("内容"),
            gettext("哈希(前16位)"),
        ],
        rows=[
            [
                ev.seq if ev.seq is not None else "",
                local_time(ev.created_at, "%Y-%m-%d %H:%M:%S"),
                ev.actor.display_name if ev.actor else gettext("系统"),
                action_label(ev.action),
                subject_label(ev),
                data_text(ev.data),
                (ev.hash or "")[:16],
            ]
            for ev in events
        ],
        widths=[8, 20, 12, 18, 16, 60, 20],
        footer=[gettext("监督小组："), gettext("审核人：")],
    )
    stamp = local_time(utcnow(), "%Y%m%d")
    return workbook_bytes([sheet]), f"操作日志-{supermarket.code}-{stamp}.xlsx"
