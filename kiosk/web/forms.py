"""The office's forms (Flask-WTF): what a page accepts, each field parsed once, with the
refusal the page shows in Chinese.

``CSRFProtect`` (:data:`kiosk.extensions.csrf`) already checks the token of every POST before a
view runs, so these forms do not check it a second time. Whole numbers go through
:mod:`kiosk.parsing`, the one strict parser of integers.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import date
from itertools import zip_longest
from typing import Any

from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Field, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import TextInput

from inventory import donations, stock
from kiosk import households, imports, parsing
from kiosk.clock import local_now
from kiosk.errors import ValidationFailed


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class OfficeForm(FlaskForm):
    """A form of the office's pages: text stripped, the token left to CSRFProtect."""

    class Meta:
        csrf = False  # CSRFProtect has checked it before the view runs

    def typed(self) -> dict[str, str]:
        """What was typed, field by field (stripped), to show again beside a refusal."""
        return {
            name: (field.raw_data[0] if field.raw_data else "").strip()
            for name, field in self._fields.items()
        }

    def first_error(self) -> str:
        """The first refusal, as the page shows it."""
        return next(str(error) for field in self for error in field.errors)

    def checked(self) -> None:
        """Every field understood, or the first refusal as a domain error (400)."""
        if not self.validate():
            raise ValidationFailed(self.first_error())


def Text(**kwargs: Any) -> StringField:  # noqa: N802 - a field factory, read like a class
    """A text field, stripped of surrounding spaces; left out, it is blank (or its default)."""
    kwargs.setdefault("default", "")
    return StringField(filters=[_strip], **kwargs)


class WholeNumberField(Field):
    """A whole number in ASCII digits, parsed by ``parse`` (:func:`kiosk.parsing.parse_int`
    unless the page accepts more); a blank or malformed entry is refused with ``message``."""

    widget = TextInput()

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        message: str,
        parse: Callable[[Any], int] = parsing.parse_int,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.message = message
        self.parse = parse

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        raw = valuelist[0] if valuelist else ""  # a field not sent at all is refused too
        try:
            self.data = self.parse(raw)
        except (TypeError, ValueError):
            raise ValueError(str(self.message)) from None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class StandardItemForm(OfficeForm):
    """A point standard (积分标准), new or corrected: its code (new ones only), text, points
    (an award positive, a deduction negative), category, place in the list and whether in use."""

    code = Text()
    title = Text()
    points = WholeNumberField(
        message=lazy_gettext("分值必须是非零整数：加分写正数，扣分写负数"),
        # As the import reads a cell: "+4", full-width "４" and a trailing 分 are taken too.
        parse=imports.parse_int,
    )
    category = Text()
    sort_order = Text()
    active = Text()

    def order(self) -> int | None:
        """The place in the list; blank (or not a number ≥ 0) keeps the current one."""
        return parsing.optional_int(self.sort_order.data, minimum=0, signed=False)


class DonorForm(OfficeForm):
    """A donor (捐赠方), new or corrected: name, kind, a contact the office alone sees, consent
    to publish the full name, and whether still in use (the edit form sends a hidden "0" after
    the box, so an unticked box says no; a form without the field, the new donor's, says yes)."""

    name = Text()
    kind = Text()
    contact = Text()
    publish_full_name = Text()
    active = Text(default="1")
    next = Text()  # the donation form to go back to, once the donor is added

    def values(self) -> dict[str, Any]:
        """The donor's fields as the service takes them."""
        return {
            "name": self.name.data,
            "kind": self.kind.data,
            "contact": self.contact.data,
            "publish_full_name": self.publish_full_name.data == "1",
            "active": self.active.data == "1",
        }


class DayField(Field):
    """A day as YYYY-MM-DD; blank is no day. A malformed one is no day either, and says so in
    the field's errors (the log still opens, filtered by what was understood)."""

    widget = TextInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0] if valuelist else ""
        self.data = None
        if not raw.strip():
            return
        try:
            self.data = date.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(gettext("日期格式不正确：%(value)s", value=raw)) from None

    def _value(self) -> str:
        return self.data.isoformat() if self.data else ""


class AuditFilterForm(OfficeForm):
    """The log's filters (操作日志), read from the query string: a span of days, who, what
    action, which kind of object and its number, and words in the event."""

    day_from = DayField(name="from")
    day_to = DayField(name="to")
    actor = Text()
    action = Text()
    subject = Text()
    subject_id = Text()
    q = Text()

    def actor_id(self) -> int | None:
        """The chosen user's id; anything else chooses no one."""
        return parsing.optional_int(self.actor.data, minimum=1, signed=False)

    def object_id(self) -> int | None:
        """The object's number, or None (blank, or refused in :meth:`problems`)."""
        return parsing.optional_int(self.subject_id.data, minimum=0, signed=False)

    def problems(self) -> list[str]:
        """What was not understood, in the order the page lists it; the days come back in
        order when they were given the wrong way round."""
        self.validate()
        found = [str(e) for e in (*self.day_from.errors, *self.day_to.errors)]
        start, end = self.day_from.data, self.day_to.data
        if start and end and start > end:
            found.append(gettext("开始日期晚于结束日期"))
            self.day_from.data, self.day_to.data = end, start
        if self.subject_id.data and self.object_id() is None:
            found.append(gettext("对象编号应为数字"))
        return found


class DateRangeForm(OfficeForm):
    """A span of days from the query string (``start``, ``end``: YYYY-MM-DD); blank is the
    page's default."""

    start = DayField()
    end = DayField()


# ---------------------------------------------------------------- donations (捐赠登记)

MAX_GOODS_ROWS = 50  # goods rows one donation may hold (as the API's lines)
_FORM_KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_form_key() -> str:
    """The key a form carries from the moment it is rendered (22 URL-safe characters): a
    second submit of the same rendered form is known by it and records nothing new."""
    return secrets.token_urlsafe(16)


class RequiredDayField(DayField):
    """A day as YYYY-MM-DD that must be given; blank or malformed, refused with ``message``."""

    def __init__(
        self, label: str | None = None, validators: Any = None, *, message: str, **kw: Any
    ):
        super().__init__(label, validators, **kw)
        self.message = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(self.message)) from None
        if self.data is None:
            raise ValueError(str(self.message))


class YuanField(Field):
    """An amount of money as the office types it ("500", "1,234.50", "１２元"), read into fen by
    :func:`inventory.donations.fen_from_yuan`; its refusal names ``what`` was wrong."""

    widget = TextInput()

    def __init__(self, label: str | None = None, validators: Any = None, *, what: str, **kw: Any):
        super().__init__(label, validators, **kw)
        self.what = what

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        raw = valuelist[0] if valuelist else ""
        try:
            self.data = donations.fen_from_yuan(raw if isinstance(raw, str) else "", self.what)
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class ColumnField(Field):
    """Every value posted under one name, in order, stripped: one column of a table whose rows
    the page's script may add to (``product_id``, ``quantity``, ...); none sent, no values."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("default", list)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = [value.strip() if isinstance(value, str) else "" for value in valuelist]

    def _value(self) -> str:
        return ""


class DonationForm(OfficeForm):
    """What the cash and goods donation forms share (登记捐赠): the donor, the day, a note,
    whether to print the receipt, and the key the form was rendered with."""

    form = Text()
    donated_on = RequiredDayField(message=lazy_gettext("请填写捐赠日期（YYYY-MM-DD）"))
    donor_id = WholeNumberField(message=lazy_gettext("请选择捐赠方"), parse=parsing.db_id)
    note = Text()
    print = Text()  # "1": print the receipt once it is saved
    idempotency_key = Text()

    def form_key(self) -> str | None:
        """The key the form was rendered with; None when it carries none (a client that is not
        our page); a malformed one is refused."""
        key = self.idempotency_key.data
        if not key:
            return None
        if not _FORM_KEY_RE.fullmatch(key):
            raise ValidationFailed(gettext("这张登记表已失效，请重新打开登记表"))
        return key

    def key_to_show(self) -> str:
        """The key the form goes back with after a refusal: its own (nothing was recorded with
        it), or a new one when it carried none or a malformed one."""
        key = self.idempotency_key.data
        return key if key and _FORM_KEY_RE.fullmatch(key) else new_form_key()


class CashDonationForm(DonationForm):
    """A cash donation (现金捐赠): the amount in yuan."""

    amount = YuanField(what=lazy_gettext("捐赠金额"))


class GoodsDonationForm(DonationForm):
    """A donation in kind (物品捐赠): rows of goods, quantity and assessed unit value (元)."""

    product_id = ColumnField()
    quantity = ColumnField()
    unit_value = ColumnField()

    def rows(self) -> list[dict[str, str]]:
        """The goods rows as typed, to show again after a refusal; a column sent longer than
        the others makes rows of its own (seen, then refused as half filled)."""
        columns = (self.product_id.data or [], self.quantity.data or [], self.unit_value.data or [])
        return [
            {"product_id": pid, "quantity": qty, "unit_value": value}
            for pid, qty, value in zip_longest(*columns, fillvalue="")
        ]

    def lines(self) -> list[donations.GoodsLine]:
        """The rows typed: blank rows skipped, a half-filled or wrong row refused with its
        number, more rows than a donation holds refused."""
        parsed: list[donations.GoodsLine] = []
        for i, row in enumerate(self.rows(), 1):
            pid, qty, value = row["product_id"], row["quantity"], row["unit_value"]
            if not (pid or qty or value):
                continue
            if len(parsed) == MAX_GOODS_ROWS:
                raise ValidationFailed(gettext("一次最多登记%(n)s种捐赠物品", n=MAX_GOODS_ROWS))
            product_id = parsing.optional_int(pid, minimum=1, signed=False)
            quantity = parsing.optional_int(qty, minimum=1, signed=False)
            if product_id is None:
                raise ValidationFailed(gettext("第%(n)s行：请选择物品", n=i))
            if quantity is None:
                raise ValidationFailed(gettext("第%(n)s行：数量应为正整数", n=i))
            try:
                fen = donations.fen_from_yuan(value, gettext("评估单价"))
            except ValidationFailed as exc:
                raise ValidationFailed(gettext("第%(n)s行：", n=i) + exc.message) from exc
            parsed.append(donations.GoodsLine(product_id, quantity, fen))
        return parsed


# ---------------------------------------------------------------- stocktake (盘点)


def json_formdata(data: Any) -> MultiDict[str, Any]:
    """A JSON body as a form's data: an object's members, one value each (a list stays one
    value, which no field takes for a number); anything but an object is an empty form."""
    return MultiDict(list(data.items())) if isinstance(data, dict) else MultiDict()


class OptionalWholeNumberField(WholeNumberField):
    """A whole number that may be left out (missing, blank or JSON null: ``default``); one
    given must be what ``parse`` accepts. A JSON number is taken as sent, never a true/false."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0] if valuelist else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            self.data = self.default
            return
        super().process_formdata(valuelist)


class StocktakeStartForm(OfficeForm):
    """Starting a count (开始盘点): everything, or the categories ticked, and a note."""

    scope = Text(default="all")
    category = ColumnField()
    note = Text()

    def category_ids(self) -> list[int]:
        """The categories ticked; a box that sends no category number chooses none."""
        found = (parsing.optional_int(raw, minimum=1, signed=False) for raw in self.category.data)
        return [category_id for category_id in found if category_id is not None]


class CountScanForm(OfficeForm):
    """One count on a line (清点): by barcode or the line's number; add (a scan is +1), set a
    total or clear; which device; the phone's key for a scan it may send twice."""

    kind = Text(default="add")
    line_id = OptionalWholeNumberField(
        message=lazy_gettext("清点行编号不正确，请刷新页面"), parse=parsing.db_id
    )
    barcode = Text()
    quantity = OptionalWholeNumberField(message=lazy_gettext("数量必须是整数"), default=1)
    device = Text()
    key = Text()

    @staticmethod
    def _text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else "" if value is None else str(value)

    def barcode_text(self) -> str | None:
        return self._text(self.barcode.data) or None

    def device_text(self) -> str:
        return self._text(self.device.data) or ("typed" if self.barcode_text() else "button")

    def kind_text(self) -> str:
        return self._text(self.kind.data) or "add"

    def client_key(self) -> str | None:
        return self._text(self.key.data) or None


# ---------------------------------------------------------------- stock (入库, 报损)


class StockInForm(OfficeForm):
    """A stock-in (入库单): supplier, invoice, who paid (the fund pool or a source named), a
    note, whether to print the slip, and the lines (goods, quantity, unit cost in yuan)."""

    supplier = Text()
    invoice_no = Text()
    paid_from = Text()
    paid_from_other = Text()
    note = Text()
    print_slip = Text()
    product_id = ColumnField()
    quantity = ColumnField()
    unit_cost = ColumnField()

    def shown(self) -> dict[str, Any]:
        """The header as typed, to show again beside a refusal."""
        return {
            "supplier": self.supplier.data or "",
            "invoice_no": self.invoice_no.data or "",
            "paid_from": self.paid_from.data or "",
            "paid_from_other": self.paid_from_other.data or "",
            "note": self.note.data or "",
            "print_slip": self.print_slip.data == "1",
        }

    def rows(self) -> list[dict[str, str]]:
        """The lines as typed (as many as every column has), for the page to show again."""
        return [
            {"product_id": pid, "quantity": qty, "unit_cost": cost}
            for pid, qty, cost in zip(
                self.product_id.data, self.quantity.data, self.unit_cost.data, strict=False
            )
        ]

    def lines(self) -> list[stock.StockInLine]:
        """The lines parsed, or the first refusal with its line number."""
        columns = (self.product_id.data, self.quantity.data, self.unit_cost.data)
        if len({len(column) for column in columns}) != 1:
            raise ValidationFailed(gettext("入库单的内容不完整，请重新填写"))
        if len(columns[0]) > stock.MAX_LINES:
            raise ValidationFailed(gettext("一张入库单最多%(n)s行", n=stock.MAX_LINES))
        lines = []
        for n, row in enumerate(self.rows(), start=1):
            pid = parsing.optional_int(row["product_id"], minimum=1, signed=False)
            qty = parsing.optional_int(
                row["quantity"], minimum=1, maximum=stock.MAX_QUANTITY, signed=False
            )
            if pid is None:
                raise ValidationFailed(gettext("第%(n)s行：没有选择商品", n=n))
            if qty is None:
                typed = row["quantity"]
                if typed.isascii() and typed.isdigit() and int(typed) > stock.MAX_QUANTITY:
                    raise ValidationFailed(
                        gettext(
                            "第%(n)s行：数量太大，一次最多入库%(max)s", n=n, max=stock.MAX_QUANTITY
                        )
                    )
                raise ValidationFailed(gettext("第%(n)s行：数量必须是正整数", n=n))
            try:
                cost = stock.parse_yuan(row["unit_cost"])
            except ValidationFailed as exc:
                raise ValidationFailed(
                    gettext("第%(n)s行：%(message)s", n=n, message=exc.message)
                ) from None
            lines.append(stock.StockInLine(pid, qty, cost))
        return lines


class NewProductForm(OfficeForm):
    """Goods met for the first time at stock-in: name, unit, category, barcode."""

    name = Text()
    unit = Text()
    category = Text()
    barcode = Text()


class WriteOffForm(OfficeForm):
    """A write-off asked for (报损申请): the goods, how many, why, and a note."""

    product_id = Text()
    quantity = Text()
    reason = Text()
    note = Text()

    def product(self) -> int:
        found = parsing.optional_int(self.product_id.data, minimum=1, signed=False)
        if found is None:
            raise ValidationFailed(gettext("请选择要报损的商品"))
        return found

    def count(self) -> int:
        found = parsing.optional_int(self.quantity.data, minimum=0, signed=False)
        if found is None:
            raise ValidationFailed(gettext("报损数量必须是正整数"))
        return found


class NoteForm(OfficeForm):
    """A decision's note (审批意见), nothing else."""

    note = Text()


# ---------------------------------------------------------------- users (用户)


def Secret() -> StringField:  # noqa: N802 - a field factory, read like a class
    """A password as typed: never stripped (a space may be part of it); left out, blank."""
    return StringField(default="")


def _keypad_pin(pin: str | None) -> str:
    """A PIN as the counter's keypad types it: ASCII digits (``"١٢٣٤".isdigit()`` is true, yet
    no keypad sends it); blank is no PIN. The length is the service's to check."""
    pin = pin or ""
    if pin and not (pin.isascii() and pin.isdigit()):
        raise ValidationFailed(gettext("PIN应为4到8位数字"))
    return pin


class NewUserForm(OfficeForm):
    """A new user: login name, the name shown, role, password, and a keeper's PIN."""

    username = Text()
    display_name = Text()
    role = Text()
    password = Secret()
    pin = Text()

    def keypad_pin(self) -> str:
        return _keypad_pin(self.pin.data)


class PasswordForm(OfficeForm):
    password = Secret()


class PinForm(OfficeForm):
    """A keeper's new PIN; blank removes it."""

    pin = Text()

    def keypad_pin(self) -> str:
        return _keypad_pin(self.pin.data)


class ActiveForm(OfficeForm):
    """Reactivate ("1") or deactivate (anything else)."""

    active = Text()


class RoleForm(OfficeForm):
    role = Text()


class TokenForm(OfficeForm):
    """An API token's label (what it is for), at most 100 characters kept."""

    label = Text()


# ---------------------------------------------------------------- the fund pool (基金池)


class AdvanceLimitForm(OfficeForm):
    """The allowed advance (允许垫支额度) in yuan, as the admin types it."""

    limit = YuanField(what=lazy_gettext("垫支额度"))


class ReasonForm(OfficeForm):
    """Why a record is reversed (撤销原因)."""

    reason = Text()


# ---------------------------------------------------------------- households (户与积分卡)


def _at_most(label: Any, most: int) -> Callable[[Any, Field], None]:
    """A validator: the text at most ``most`` characters, refused as the household service
    says it ("原因太长了，最多200个字"), before a column too short for it is reached."""

    def check(form: Any, field: Field) -> None:
        if len(field.data or "") > most:
            raise ValidationError(
                gettext("%(label)s太长了，最多%(n)s个字", label=str(label), n=most)
            )

    return check


class BirthDateField(Field):
    """A birth date as an elderly admin types it, read by
    :func:`kiosk.households.parse_birth_date` (1950-03-07, 1950年3月7日, 19500307, full-width
    digits); blank is unknown. Digits no keyboard here types (١٩٥٠, ¹⁹⁵⁰) are not read."""

    widget = TextInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        raw = valuelist[0] if valuelist else ""
        shown = unicodedata.normalize("NFKC", raw).strip()
        if any(ch.isdigit() and not (ch.isascii() or "０" <= ch <= "９") for ch in raw):
            raise ValueError(
                gettext(
                    "出生日期“%(raw)s”看不懂，请写成 1950-03-07 或 8 位数字 19500307", raw=shown
                )
            )
        try:
            self.data = households.parse_birth_date(raw, today=local_now().date())
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None


class SwitchField(Field):
    """A yes ("1") or no ("0") that a page's own button sends; anything else is refused with
    ``message`` (a tampered value must not be read as "no")."""

    widget = TextInput()

    def __init__(
        self, label: str | None = None, validators: Any = None, *, message: str, **kw: Any
    ):
        super().__init__(label, validators, **kw)
        self.message = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if raw not in ("0", "1"):
            raise ValueError(str(self.message))
        self.data = raw == "1"


class HouseholdForm(OfficeForm):
    """A household, new or corrected (登记/修改户): number, head's name, village and group;
    a new one also the head's relation and birth date (its first member)."""

    number = Text()
    head_name = Text()
    village = Text()
    group_name = Text()
    relation = Text()
    birth_date = BirthDateField()


class MemberForm(OfficeForm):
    """A member, new or corrected (成员): name, relation to the head, birth date."""

    name = Text()
    relation = Text()
    birth_date = BirthDateField()


class StatusForm(OfficeForm):
    """Deactivate a household or member with a reason (停用), or take it back (恢复在册)."""

    active = SwitchField(message=lazy_gettext("请在页面上选择停用或恢复在册"))
    reason = Text()


CARD_REASON_MAX = 200  # as a card's revoke_reason column


class CardReasonForm(OfficeForm):
    """Why a card is revoked or reissued (遗失, 损坏...)."""

    reason = Text(validators=[_at_most(lazy_gettext("原因"), CARD_REASON_MAX)])


class VillageForm(OfficeForm):
    """The village whose cards are printed on A4 sheets."""

    village = Text()


# ---------------------------------------------------------------- points intake (积分录入)


class ProposalForm(OfficeForm):
    """An award or deduction entered (录入加减分): the household's number and the member's
    name, a standard item or signed points (or both), the day it happened, reason, evidence."""

    number = Text()
    member = Text()
    item = OptionalWholeNumberField(
        message=lazy_gettext("所选的积分标准不正确，请重新选择"), parse=parsing.db_id
    )
    # As the import reads a cell: "+4", full-width "４" and a trailing 分 are taken too.
    amount = OptionalWholeNumberField(
        message=lazy_gettext("分值必须是整数：加分写正数，扣分写负数"), parse=imports.parse_int
    )
    occurred_on = RequiredDayField(message=lazy_gettext("请填写日期"))
    reason = Text()
    evidence = Text()


class DecideManyForm(OfficeForm):
    """The ticked proposals (their row ids), approved or rejected together with one note."""

    ids = ColumnField()
    decision = Text()
    note = Text()

    def proposal_ids(self) -> list[int]:
        try:
            return [parsing.db_id(raw) for raw in self.ids.data]
        except ValueError:
            raise ValidationFailed(gettext("所选的加减分不正确")) from None

    def rejecting(self) -> bool:
        """True to reject, False to approve; any other decision is refused."""
        if self.decision.data not in ("approve", "reject"):
            raise ValidationFailed(gettext("请选择确认所选或退回所选"))
        return self.decision.data == "reject"


class ImportForm(OfficeForm):
    """What a spreadsheet being imported holds (households, points or scores); the file is
    read from ``request.files`` by the page."""

    kind = Text()


# ---------------------------------------------------------------- notices (公示)


def _ascii_period(form: Any, field: Field) -> None:
    if not (field.data or "").isascii():
        raise ValidationError(gettext("公示期间格式不正确，应为季度如 2024Q1 或月份如 2024-03"))


class PeriodForm(OfficeForm):
    """The quarter or month to draft a notice of ("2024Q1", "2024-03"), in ASCII digits
    (the period's pattern's ``\\d`` also matches ٢٠٢٤ and ２０２４, which no key is written in)."""

    period = Text(validators=[_ascii_period])


class ObjectionForm(OfficeForm):
    """An objection recorded (异议): the household on the notice, the member who raised it,
    the day and what is disputed."""

    household_id = OptionalWholeNumberField(
        message=lazy_gettext("没有找到该户"), parse=parsing.db_id
    )
    member_id = OptionalWholeNumberField(
        message=lazy_gettext("请选择提出异议的家庭成员"), parse=parsing.db_id
    )
    raised_on = RequiredDayField(message=lazy_gettext("日期格式不正确，应为 YYYY-MM-DD"))
    disputed = Text()


class ResolveForm(OfficeForm):
    """An objection resolved: upheld or rejected, the resolution, and an upheld one's
    correction in points (signed; blank is none)."""

    outcome = Text()
    resolution = Text()
    correction = OptionalWholeNumberField(message=lazy_gettext("更正积分必须是整数，例如 8 或 -5"))

    def upheld(self) -> bool:
        """True when upheld, False when rejected; anything else is refused."""
        if self.outcome.data not in ("upheld", "rejected"):
            raise ValidationFailed(gettext("请选择“属实，予以更正”或“不属实，驳回”"))
        return self.outcome.data == "upheld"


# ---------------------------------------------------------------- rules administration (规则管理)


class ProductSettingsForm(OfficeForm):
    """A product's settings (商品设置): name, unit, goods or service, a service's price in yuan
    (read by the page only for a service), the rule that restricts it, on sale or not."""

    name = Text()
    unit = Text()
    kind = Text()
    price = Text()
    restriction_key = Text()
    active = SwitchField(message=lazy_gettext("请选择上架或下架"))


# ---------------------------------------------------------------- login (登录)


class PinLoginForm(OfficeForm):
    """A keeper's tile and the PIN typed on the keypad, and the page asked for (``next``, as
    sent: :func:`kiosk.web.auth._safe_next` judges it). A tile that is no row id is no tile."""

    keeper_id = OptionalWholeNumberField(
        message=lazy_gettext("请先点选您的名字"), parse=parsing.db_id
    )
    pin = Text()
    next = Secret()


class PasswordLoginForm(OfficeForm):
    """A username (stripped) and a password (exactly as typed), and ``next`` as sent."""

    username = Text()
    password = Secret()
    next = Secret()
