"""Domain errors: a stable code, an HTTP status and a Chinese message a keeper can read aloud.

Services raise these; the web layer maps them to HTTP in one place
(:func:`kiosk.register_errorhandlers`). Codes are part of the API contract: never rename one.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class of every refusal the domain can make."""

    code = "domain_error"
    status = 400
    message = "操作未能完成"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class ValidationFailed(DomainError):
    code = "invalid_request"
    status = 400
    message = "请求内容不正确"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    message = "没有找到"


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    message = "没有权限进行此操作"


class AuthenticationRequired(DomainError):
    code = "unauthorized"
    status = 401
    message = "请先登录"


class LoginFailed(DomainError):
    code = "login_failed"
    status = 401
    message = "用户名或密码不正确"


class AccountLocked(DomainError):
    code = "account_locked"
    status = 423
    message = "尝试次数过多，账号已暂时锁定"


class CardInvalid(DomainError):
    code = "card_invalid"
    status = 422
    message = "卡片无效：二维码无法识别或已被篡改"


class CardUnknown(DomainError):
    code = "card_unknown"
    status = 404
    message = "卡片未登记：本系统中没有这张卡"


class CardRevoked(DomainError):
    code = "card_revoked"
    status = 422
    message = "卡片已作废，请使用补办后的新卡"


class HouseholdInactive(DomainError):
    code = "household_inactive"
    status = 422
    message = "该户已停用，不能兑换"


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    status = 422
    message = "积分不足"


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 422
    message = "库存不足"


class ProductUnavailable(DomainError):
    code = "product_unavailable"
    status = 422
    message = "该商品已下架或不存在"


class NotEligible(DomainError):
    code = "not_eligible"
    status = 422
    message = "当前不符合兑换条件"


class EmptyCart(DomainError):
    code = "empty_cart"
    status = 422
    message = "购物车是空的，请先选择商品"


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"
    status = 409
    message = "同一个请求编号已用于另一笔不同的兑换"


class AlreadyVoided(DomainError):
    code = "already_voided"
    status = 409
    message = "该兑换单已作废"


class VoidNotAllowed(DomainError):
    code = "void_not_allowed"
    status = 403
    message = "管理员才能作废非当日的兑换单"


class DuplicateValue(DomainError):
    code = "duplicate"
    status = 409
    message = "该编号已存在"


class MonthClosed(DomainError):
    code = "month_closed"
    status = 409
    message = "该月已结账，不能再记入；更正请记入下一个未结账的月份"


class FundInsufficient(DomainError):
    code = "fund_insufficient"
    status = 409
    message = "基金池余额不足"


class AdjustmentAlreadyDecided(DomainError):
    code = "adjustment_decided"
    status = 409
    message = "该报损申请已经处理过了"


class DonationAlreadyReversed(DomainError):
    code = "donation_reversed"
    status = 409
    message = "该捐赠已撤销"


class SelfApprovalRefused(DomainError):
    code = "self_approval"
    status = 403
    message = "不能确认自己录入的加减分：请由评议小组的另一位管理员签字确认"


class AlreadyDecided(DomainError):
    code = "already_decided"
    status = 409
    message = "该加减分申请已经处理过了"


class ImportInvalid(DomainError):
    code = "import_invalid"
    status = 422
    message = "导入文件有错误，没有写入任何数据"


class ImportAlreadyCommitted(DomainError):
    code = "import_committed"
    status = 409
    message = "该批次已经导入过了，不能重复导入"


class MonthCloseRefused(DomainError):
    """A month-end close (月结) refused; ``details["reasons"]`` lists every reason in Chinese."""

    code = "month_close_refused"
    status = 409
    message = "该月暂时不能结账"

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("不能结账：" + "；".join(reasons), reasons=list(reasons))
        self.reasons = list(reasons)


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    message = "失败次数过多，请稍后再试"


class TooLarge(DomainError):
    """A file or request beyond its limit (bytes, or an image's pixels before decoding)."""

    code = "too_large"
    status = 413
    message = "文件或请求内容太大"
