"""Donations and the fund pool over the API (捐赠与基金池): the pool's balance and ledger, donors,
the donation register, one donation, recording one (cash or goods) and reversing one.

What a county platform reads of a village, and what it may write as the roles allow, through
the same services as the office's pages (kiosk/web/fund.py) and with the same roles
(:mod:`kiosk.permissions`): keepers, admins and supervisors read; keepers and admins record
donations; admins reverse them. Money is in fen, times are local ISO 8601.

Recording a donation is safe to retry: the client's key (the ``Idempotency-Key`` header or the
``idempotency_key`` field) is stored namespaced by the caller, as a proposal's is, and a retry
answers with the donation the first copy recorded (no second receipt number).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask_babel import gettext
from pydantic import Field

from inventory import books, donations, fund
from inventory.donations import GoodsLine
from inventory.models import (
    DONATION_CASH,
    DONATION_FORMS,
    DONATION_GOODS,
    DONATION_RECORDED,
    Donation,
)
from inventory.stock import MAX_QUANTITY
from kiosk.api import access, contract, listing, outputs, proposals
from kiosk.authn import current_supermarket
from kiosk.reports import fund as fund_reports

MAX_GOODS_LINES = 50


# The fund pool (基金池) ------------------------------------------------------------------------


class FundBalance(contract.Answer):
    balance_fen: int = Field(description="基金池余额（分），垫支时为负")
    advance_limit_fen: int = Field(description="允许垫支额度（分）")


@contract.route(
    "GET",
    "/fund",
    summary="基金池余额和允许垫支额度",
    tag="books",
    action="fund.read",
    ok=(200, FundBalance, "余额和额度"),
)
def fund_balance():
    """The pool's balance now and how far below zero it may go (允许垫支额度)."""
    sm = current_supermarket()
    return {
        "balance_fen": fund.balance_fen(sm.id),
        "advance_limit_fen": fund.advance_limit_fen(sm.id),
    }


class FundEntryOut(contract.Answer):
    id: int
    kind: Literal["donation", "purchase", "reversal"]
    amount_fen: int = Field(description="收入为正，支出为负")
    balance_after_fen: int
    reference: str = Field(description="单据：捐赠收据号（JZ000001）或入库单")
    note: str
    reverses_id: int | None
    created_at: contract.LocalTime
    created_by: str = Field(description="经办人")


class FundLedger(listing.Paged):
    start: date
    end: date
    opening_fen: int = Field(description="期初余额（开始日之前）")
    closing_fen: int = Field(description="期末余额")
    in_fen: int = Field(description="范围内收入合计")
    out_fen: int = Field(description="范围内支出合计")
    entries: list[FundEntryOut]


@contract.route(
    "GET",
    "/fund/entries",
    summary="基金池台账",
    tag="books",
    action="fund.read",
    query=listing.RangeQuery,
    ok=(200, FundLedger, "范围内的记录（最早的在前）、期初期末余额和合计"),
    description="与办公室的基金池台账相同；默认本月1日到今天" + listing.RANGE_TEXT,
)
def fund_entries(query: listing.RangeQuery):
    """The pool ledger (基金池台账) over a range of local days, with the balance before and
    after it and its totals; entries oldest first."""
    today = listing.today()
    start, end = listing.date_range(query, today.replace(day=1), today)
    led = fund.ledger(current_supermarket().id, start, end)
    shown = books.page_of(led.entries, listing.offset(query), query.per_page)
    refs = donations.references(shown.rows)
    names = books.display_names(e.created_by_id for e in shown.rows)
    return {
        "start": start,
        "end": end,
        "opening_fen": led.opening_fen,
        "closing_fen": led.closing_fen,
        "in_fen": led.in_fen,
        "out_fen": led.out_fen,
        **listing.paged(query, shown.total),
        "entries": [
            {
                "id": e.id,
                "kind": e.kind,
                "amount_fen": e.amount_fen,
                "balance_after_fen": e.balance_after_fen,
                "reference": refs.get(e.id, ""),
                "note": e.note,
                "reverses_id": e.reverses_id,
                "created_at": outputs.iso_local(e.created_at),
                "created_by": names.get(e.created_by_id or 0, ""),
            }
            for e in shown.rows
        ],
    }


@contract.route(
    "GET",
    "/fund/entries.xlsx",
    summary="基金池台账（XLSX，与办公室导出的相同）",
    tag="books",
    action="fund.read",
    query=listing.DateQuery,
    ok=(200, None, "基金池台账表格"),
    description="默认本月1日到今天" + listing.RANGE_TEXT,
    openapi=listing.XLSX_ANSWER,
)
def fund_entries_xlsx(query: listing.DateQuery):
    """The pool ledger as the office exports it."""
    today = listing.today()
    start, end = listing.date_range(query, today.replace(day=1), today)
    return listing.xlsx(*fund_reports.pool_ledger_xlsx(current_supermarket(), start, end))


# Donors and donations (捐赠) -------------------------------------------------------------------


class DonorOut(contract.Answer):
    id: int
    name: str
    public_name: str = Field(description="公示和收据上的名称（个人未同意时脱敏）")
    kind: str
    active: bool
    donations: int = Field(description="有效捐赠笔数")
    cash_fen: int
    goods_fen: int


class DonorList(contract.Answer):
    donors: list[DonorOut]


@contract.route(
    "GET",
    "/donors",
    summary="捐赠方及其捐赠合计",
    tag="books",
    action="fund.read",
    ok=(200, DonorList, "本超市的捐赠方（不含联系方式）"),
)
def list_donors():
    """The supermarket's donors with what they have given (donations still in force)."""
    sm = current_supermarket()
    totals = donations.donor_totals(sm.id)
    rows = []
    for d in donations.list_donors(sm.id):
        count, cash, goods = totals.get(d.id, (0, 0, 0))
        rows.append(
            {
                "id": d.id,
                "name": d.name,
                "public_name": donations.public_name(d),
                "kind": d.kind,
                "active": d.active,
                "donations": count,
                "cash_fen": cash,
                "goods_fen": goods,
            }
        )
    return {"donors": rows}


class DonorBrief(contract.Answer):
    id: int
    name: str
    public_name: str
    kind: str


class DonatedGoods(contract.Answer):
    product_id: int
    name: str
    unit: str
    quantity: int
    unit_value_fen: int = Field(description="评估单价（分）")


class DonationOut(contract.Answer):
    id: int
    receipt_no: str
    donor: DonorBrief
    form: Literal["cash", "goods"]
    amount_fen: int = Field(description="现金金额，或物品评估总价（分）")
    donated_on: date
    note: str
    status: Literal["recorded", "reversed"]
    goods: list[DonatedGoods]
    created_at: contract.LocalTime
    created_by: str
    reversed_at: contract.LocalTime
    reversed_by: str | None
    reverse_reason: str | None


class DonationResult(contract.Answer):
    donation: DonationOut


class DonationList(listing.Paged):
    start: date
    end: date
    cash_fen: int = Field(description="范围内有效现金捐赠合计")
    goods_fen: int = Field(description="范围内有效物品捐赠评估合计")
    donations: list[DonationOut]


def _donation(d: Donation, goods: list[Any], names: dict[int, str]) -> dict[str, Any]:
    """A donation as its office page shows it (the donor's contact details left out)."""
    return {
        "id": d.id,
        "receipt_no": d.receipt_no,
        "donor": {
            "id": d.donor.id,
            "name": d.donor.name,
            "public_name": donations.public_name(d.donor),
            "kind": d.donor.kind,
        },
        "form": d.form,
        "amount_fen": d.amount_fen,
        "donated_on": d.donated_on,
        "note": d.note,
        "status": d.status,
        "goods": [
            {
                "product_id": m.product_id,
                "name": m.product.name,
                "unit": m.product.unit,
                "quantity": m.quantity,
                "unit_value_fen": m.unit_cost_fen,
            }
            for m in goods
        ],
        "created_at": outputs.iso_local(d.created_at),
        "created_by": names.get(d.created_by_id or 0, ""),
        "reversed_at": outputs.iso_local(d.reversed_at),
        "reversed_by": names.get(d.reversed_by_id) if d.reversed_by_id else None,
        "reverse_reason": d.reverse_reason or None,
    }


def _donations(rows: list[Donation]) -> list[dict[str, Any]]:
    goods = books.donation_goods(d.id for d in rows if d.form == DONATION_GOODS)
    names = books.display_names(uid for d in rows for uid in (d.created_by_id, d.reversed_by_id))
    return [_donation(d, goods.get(d.id, []), names) for d in rows]


@contract.route(
    "GET",
    "/donations",
    summary="捐赠登记簿",
    tag="books",
    action="fund.read",
    query=listing.RangeQuery,
    ok=(200, DonationList, "范围内的捐赠（按捐赠日期，最新的在前，含已撤销的）和有效合计"),
    description="与办公室的捐赠登记簿相同；默认今年1月1日到今天" + listing.RANGE_TEXT,
)
def list_donations(query: listing.RangeQuery):
    """Every donation by its donation day in the range, newest first, reversed ones included
    and marked; the totals of those in force."""
    today = listing.today()
    start, end = listing.date_range(query, today.replace(month=1, day=1), today)
    rows = donations.list_donations(current_supermarket().id, start, end)
    shown = books.page_of(rows, listing.offset(query), query.per_page)
    in_force = [d for d in rows if d.status == DONATION_RECORDED]
    return {
        "start": start,
        "end": end,
        "cash_fen": sum(d.amount_fen for d in in_force if d.form == DONATION_CASH),
        "goods_fen": sum(d.amount_fen for d in in_force if d.form == DONATION_GOODS),
        **listing.paged(query, shown.total),
        "donations": _donations(shown.rows),
    }


@contract.route(
    "GET",
    "/donations.xlsx",
    summary="捐赠登记簿（XLSX，与办公室导出的相同）",
    tag="books",
    action="fund.read",
    query=listing.DateQuery,
    ok=(200, None, "捐赠登记簿表格"),
    description="默认今年1月1日到今天" + listing.RANGE_TEXT,
    openapi=listing.XLSX_ANSWER,
)
def donations_register_xlsx(query: listing.DateQuery):
    """The donation register as the office exports it (reversed ones marked)."""
    today = listing.today()
    start, end = listing.date_range(query, today.replace(month=1, day=1), today)
    return listing.xlsx(*fund_reports.donations_xlsx(current_supermarket(), start, end))


@contract.route(
    "GET",
    "/donations/<int:donation_id>",
    summary="查看一笔捐赠",
    tag="books",
    action="fund.read",
    ok=(200, DonationResult, "捐赠方、金额或物品、状态"),
    errors=("not_found",),
)
def get_donation(donation_id: int):
    """One donation: donor, amount or goods, status."""
    row = donations.get_donation(current_supermarket().id, donation_id)
    return {"donation": _donations([row])[0]}


class GoodsLineIn(contract.Body):
    product_id: contract.ID
    quantity: Annotated[int, contract.Whole(1, MAX_QUANTITY)]
    unit_value_fen: Annotated[int, contract.Whole(1, donations.MAX_AMOUNT_FEN)] = Field(
        description="评估单价（分）"
    )


class DonationRequest(contract.Body):
    form: Annotated[str, contract.Choice(*DONATION_FORMS)] = Field(
        description="cash 现金，goods 物品"
    )
    donor_id: contract.ID
    donated_on: Annotated[
        date | None, contract.Day(required=False, description="捐赠日期，默认今天")
    ] = None
    amount_fen: Annotated[int, contract.Whole(1, donations.MAX_AMOUNT_FEN)] | None = Field(
        default=None, description="现金金额（分），现金捐赠必填"
    )
    lines: Annotated[list[GoodsLineIn], Field(max_length=MAX_GOODS_LINES)] | None = Field(
        default=None, description="捐赠的物品，物品捐赠必填"
    )
    note: Annotated[str, contract.Text(200, required=False, multiline=True)] = ""
    idempotency_key: contract.IdempotencyKey | None = Field(
        default=None, description="请求编号（或用请求头 Idempotency-Key）；重试时原样再发"
    )


RETRY = (
    "幂等：请求头 `Idempotency-Key` 或字段 `idempotency_key`（两者都给时必须相同）。"
    "同一用户用同一编号重试同一笔捐赠，返回 201 和第一次登记的那笔捐赠（同一收据号，"
    "不再进基金池或入库；此后撤销了就是已撤销的状态）；不填捐赠日期的重试沿用第一次的日期。"
    "同一编号用于不同的捐赠返回 409 `idempotency_conflict`。不同用户的编号互不影响。"
)


def _default_day(key: str | None) -> date:
    """Today, for a donation that names no day; a retry keeps the day its first copy got."""
    existing = donations.find_by_key(key) if key is not None else None
    return existing.donated_on if existing is not None else listing.today()


@contract.route(
    "POST",
    "/donations",
    summary="登记捐赠（现金进基金池，物品按评估价入库）",
    tag="books",
    action="donation.record",
    body=DonationRequest,
    ok=(201, DonationResult, "新登记的捐赠及其收据号（重试时是第一次登记的那笔）"),
    errors=("not_found", "month_closed", "idempotency_conflict"),
    params=(proposals.KEY_HEADER_PARAM,),
    description="与办公室的捐赠登记表相同：现金填 amount_fen，物品填 lines；"
    "每笔取下一个收据号（JZ000001，不跳号）。不打印收据。\n\n" + RETRY,
)
def record_donation(body: DonationRequest):
    """Record a donation as the office's form does: cash into the fund pool, or goods into
    stock at their assessed unit value; each takes the next receipt number. A retry with the
    same key answers with the first copy's donation."""
    key = proposals.stored_key(proposals.request_key(body.idempotency_key))
    donated_on = body.donated_on or _default_day(key)
    sm = current_supermarket()
    if body.form == DONATION_CASH:
        if body.lines is not None:
            raise contract.invalid("lines", gettext("只用于物品捐赠"))
        if body.amount_fen is None:
            raise contract.invalid("amount_fen", gettext("现金捐赠必须填写金额"))
        row = donations.record_cash_donation(
            sm.id,
            donor_id=body.donor_id,
            amount_fen=body.amount_fen,
            donated_on=donated_on,
            note=body.note,
            actor=access.me(),
            idempotency_key=key,
        )
    else:
        if body.amount_fen is not None:
            raise contract.invalid("amount_fen", gettext("只用于现金捐赠（物品按评估单价合计）"))
        if not body.lines:
            raise contract.invalid("lines", gettext("物品捐赠至少填写一种物品"))
        row = donations.record_goods_donation(
            sm.id,
            donor_id=body.donor_id,
            lines=[GoodsLine(x.product_id, x.quantity, x.unit_value_fen) for x in body.lines],
            donated_on=donated_on,
            note=body.note,
            actor=access.me(),
            idempotency_key=key,
        )
    return {"donation": _donations([row])[0]}


class ReverseRequest(contract.Body):
    reason: Annotated[str, contract.Text(200, multiline=True)]


@contract.route(
    "POST",
    "/donations/<int:donation_id>/reverse",
    summary="撤销登记错的捐赠（收据号保留）",
    tag="books",
    action="fund.manage",
    body=ReverseRequest,
    ok=(200, DonationResult, "已撤销"),
    errors=("not_found", "donation_reversed", "month_closed", "fund_insufficient", "out_of_stock"),
)
def reverse_donation(donation_id: int, body: ReverseRequest):
    """Reverse (撤销) a donation recorded in error; its receipt number stays used."""
    row = donations.get_donation(current_supermarket().id, donation_id)
    row = donations.reverse_donation(row.id, actor=access.me(), reason=body.reason)
    return {"donation": _donations([row])[0]}
