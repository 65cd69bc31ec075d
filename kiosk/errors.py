"""Domain errors: a stable code, an HTTP status and a message a keeper can read aloud.

Services raise these; the web layer maps them to HTTP in one place (:mod:`kiosk.web.errors`).
Codes are part of the API contract: never rename one.

A message is a msgid with parameters (:mod:`kiosk.messages`), rendered when it is read: in the
request's language on a page or in the API's answer, in Chinese on the CLI and in logs. Raise
``NotFound(_("没有找到编号为%(id)s的商品", id=product_id))``, not an f-string, so the sentence
can be translated. A subclass sets its default as ``default_message = _("...")``; a plain
``message = "..."`` is taken as its default too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kiosk.messages import Joined, Message, _, chinese, rendered


class DomainError(Exception):
    """Base class of every refusal the domain can make."""

    code = "domain_error"
    status = 400
    default_message: str | Message = _("操作未能完成")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # ``message = _("...")`` on a subclass is its default: kept as ``default_message`` so
        # that the ``message`` property below (the rendered sentence) is not shadowed.
        super().__init_subclass__(**kwargs)
        default = cls.__dict__.get("message")
        if isinstance(default, (str, Message)):
            cls.default_message = default
            delattr(cls, "message")

    def __init__(self, message: str | Message | None = None, **details: Any) -> None:
        self.text: str | Message = message or self.default_message
        self.details = details
        super().__init__(chinese(self.text))

    @property
    def msgid(self) -> str:
        """The untranslated (Chinese) sentence with its placeholders."""
        return self.text.msgid if isinstance(self.text, Message) else self.text

    @property
    def params(self) -> dict[str, Any]:
        """The values the sentence's placeholders take."""
        return dict(self.text.params) if isinstance(self.text, Message) else {}

    @property
    def source_text(self) -> str:
        """The sentence in Chinese whatever the reader's language: for what is stored."""
        return chinese(self.text)

    @property
    def message(self) -> str:
        """The sentence in the reader's language (Chinese outside a request)."""
        return str(self.text) if isinstance(self.text, Message) else _render_plain(self.text)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = rendered(self.details)
        return {"error": error}


def _render_plain(text: str) -> str:
    # A plain string from a subclass outside this module is still a msgid: look it up.
    return str(Message(text))


class ValidationFailed(DomainError):
    code = "invalid_request"
    status = 400
    default_message = _("请求内容不正确")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("没有找到")


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    default_message = _("没有权限进行此操作")


class AuthenticationRequired(DomainError):
    code = "unauthorized"
    status = 401
    default_message = _("请先登录")


class LoginFailed(DomainError):
    code = "login_failed"
    status = 401
    default_message = _("用户名或密码不正确")


class AccountLocked(DomainError):
    code = "account_locked"
    status = 423
    default_message = _("尝试次数过多，账号已暂时锁定")


class CardInvalid(DomainError):
    code = "card_invalid"
    status = 422
    default_message = _("卡片无效：二维码无法识别或已被篡改")


class CardUnknown(DomainError):
    code = "card_unknown"
    status = 404
    default_message = _("卡片未登记：本系统中没有这张卡")


class CardRevoked(DomainError):
    code = "card_revoked"
    status = 422
    default_message = _("卡片已作废，请使用补办后的新卡")


class HouseholdInactive(DomainError):
    code = "household_inactive"
    status = 422
    default_message = _("该户已停用，不能兑换")


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    status = 422
    default_message = _("积分不足")


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 422
    default_message = _("库存不足")


class ProductUnavailable(DomainError):
    code = "product_unavailable"
    status = 422
    default_message = _("该商品已下架或不存在")


class NotEligible(DomainError):
    code = "not_eligible"
    status = 422
    default_message = _("当前不符合兑换条件")


class EmptyCart(DomainError):
    code = "empty_cart"
    status = 422
    default_message = _("购物车是空的，请先选择商品")


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"
    status = 409
    default_message = _("同一个请求编号已用于另一笔不同的兑换")


class AlreadyVoided(DomainError):
    code = "already_voided"
    status = 409
    default_message = _("该兑换单已作废")


class VoidNotAllowed(DomainError):
    code = "void_not_allowed"
    status = 403
    default_message = _("管理员才能作废非当日的兑换单")


class DuplicateValue(DomainError):
    code = "duplicate"
    status = 409
    default_message = _("该编号已存在")


class MonthClosed(DomainError):
    code = "month_closed"
    status = 409
    default_message = _("该月已结账，不能再记入；更正请记入下一个未结账的月份")


class FundInsufficient(DomainError):
    code = "fund_insufficient"
    status = 409
    default_message = _("基金池余额不足")


class AdjustmentAlreadyDecided(DomainError):
    code = "adjustment_decided"
    status = 409
    default_message = _("该报损申请已经处理过了")


class DonationAlreadyReversed(DomainError):
    code = "donation_reversed"
    status = 409
    default_message = _("该捐赠已撤销")


class SelfApprovalRefused(DomainError):
    code = "self_approval"
    status = 403
    default_message = _("不能确认自己录入的加减分：请由评议小组的另一位管理员签字确认")


class AlreadyDecided(DomainError):
    code = "already_decided"
    status = 409
    default_message = _("该加减分申请已经处理过了")


class ImportInvalid(DomainError):
    code = "import_invalid"
    status = 422
    default_message = _("导入文件有错误，没有写入任何数据")


class ImportAlreadyCommitted(DomainError):
    code = "import_committed"
    status = 409
    default_message = _("该批次已经导入过了，不能重复导入")


class MonthCloseRefused(DomainError):
    """A month-end close (月结) refused; ``details["reasons"]`` lists every reason."""

    code = "month_close_refused"
    status = 409
    default_message = _("该月暂时不能结账")

    def __init__(self, reasons: Sequence[str | Message]) -> None:
        super().__init__(_("不能结账：%(reasons)s", reasons=Joined(reasons)), reasons=list(reasons))
        self.reasons = list(reasons)


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    default_message = _("失败次数过多，请稍后再试")


class TooLarge(DomainError):
    """A file or request beyond its limit (bytes, or an image's pixels before decoding)."""

    code = "too_large"
    status = 413
    default_message = _("文件或请求内容太大")
