"""Donations and the fund pool pages (捐赠与基金池): the pool's balance and allowed advance,
donors, recording a cash or goods donation with its thank-you receipt, a donation's detail
with reprint and reversal, the pool ledger over a date range, and the public donor list.

Keepers and admins record donations and add donors (a donor often arrives at the counter);
admins reverse donations, edit donors and set the advance; supervisors read everything.
Plain HTML forms post here and redirect (PRG); a refusal re-shows the form with what was
typed and the Chinese reason.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from inventory import donations, fund, printouts
from inventory.models import (
    DONATION_CASH,
    DONATION_GOODS,
    DONATION_RECORDED,
    DONOR_KINDS,
    Donation,
    Product,
)
from inventory.products import donatable_goods
from kiosk import auth, intake, printing
from kiosk.authn import current_supermarket, current_user, may, require, signed_in_user
from kiosk.clock import local_now
from kiosk.errors import DomainError, IdempotencyConflict, ValidationFailed
from kiosk.formatting import yuan
from kiosk.models import PRINT_PRINTED
from kiosk.reports import fund as fund_reports
from kiosk.reports.fund import ENTRY_LABELS, FORM_LABELS, KIND_LABELS
from kiosk.web.downloads import send_xlsx
from kiosk.web.forms import (
    AdvanceLimitForm,
    CashDonationForm,
    DateRangeForm,
    DonorForm,
    GoodsDonationForm,
    ReasonForm,
    new_form_key,
)

bp = Blueprint("fund", __name__, url_prefix="/fund")

GOODS_ROWS = 5  # blank goods rows on the form (the page's script adds more)
RECENT = 15

REVERSE_REASONS = (lazy_gettext("登记重复"), lazy_gettext("金额记错"), lazy_gettext("捐赠方记错"))


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "supermarket": current_supermarket(),
        "user": current_user(),
        "can_edit": may("donation.record"),
        "can_record": may("donation.record"),
        "is_admin": may("fund.manage"),
        "kind_labels": KIND_LABELS,
        "form_labels": FORM_LABELS,
        "entry_labels": ENTRY_LABELS,
        "public_name": donations.public_name,
        **extra,
    }


def _date_range(default_start: date) -> tuple[date, date, str | None]:
    """``start`` and ``end`` from the query (YYYY-MM-DD), else ``default_start``..today."""
    today = local_now().date()
    form = DateRangeForm(formdata=request.args)
    if not form.validate():
        return default_start, today, gettext("日期格式不正确，应为 YYYY-MM-DD")
    start, end = form.start.data or default_start, form.end.data or today
    if end < start:
        return default_start, today, gettext("结束日期不能早于开始日期")
    return start, end, None


def _month_start() -> date:
    return local_now().date().replace(day=1)


def _year_start() -> date:
    return local_now().date().replace(month=1, day=1)


def _donors(active_only: bool = False) -> list:
    rows = donations.list_donors(current_supermarket().id, active_only=active_only)
    from pypinyin import lazy_pinyin  # (large dictionaries: loaded on first use, not at start)

    return sorted(rows, key=lambda d: (lazy_pinyin(d.name), d.id))


def _display_user(user_id: int | None) -> str:
    user = auth.find_user(user_id) if user_id else None
    return user.display_name if user is not None else ""


# ---------------------------------------------------------------- the pool


@bp.get("")
@require("fund.read", page=True)
def index_page() -> str:
    """The pool's balance, the allowed advance and the latest donations."""
    sm = current_supermarket()
    return render_template(
        "fund/index.html",
        **_context(
            balance_fen=fund.balance_fen(sm.id),
            limit_fen=sm.fund_advance_limit_fen,
            recent=donations.list_donations(sm.id, limit=RECENT),
            limit_error=None,
            limit_value=yuan(sm.fund_advance_limit_fen),
        ),
    )


@bp.post("/advance-limit")
@require("fund.manage", page=True)
def set_advance_limit() -> Response | tuple[str, int]:
    sm = current_supermarket()
    form = AdvanceLimitForm(formdata=request.form)
    raw = form.typed()["limit"]
    try:
        form.checked()
        limit = form.limit.data
        fund.set_advance_limit(sm.id, limit, actor=current_user())
    except DomainError as exc:
        return render_template(
            "fund/index.html",
            **_context(
                balance_fen=fund.balance_fen(sm.id),
                limit_fen=sm.fund_advance_limit_fen,
                recent=donations.list_donations(sm.id, limit=RECENT),
                limit_error=exc.message,
                limit_value=raw,
            ),
        ), exc.status
    flash(gettext("允许垫支额度已改为 %(amount)s 元", amount=yuan(limit)), "ok")
    return redirect(url_for("fund.index_page"))


@bp.get("/ledger")
@require("fund.read", page=True)
def ledger_page() -> str:
    """The pool ledger (基金池台账) over a date range."""
    start, end, error = _date_range(_month_start())
    led = fund.ledger(current_supermarket().id, start, end)
    return render_template(
        "fund/ledger.html",
        **_context(
            ledger=led,
            refs=donations.references(led.entries),
            users={e.created_by_id: _display_user(e.created_by_id) for e in led.entries},
            start=start,
            end=end,
            error=error,
        ),
    )


@bp.get("/ledger.xlsx")
@require("fund.read", page=True)
def ledger_xlsx() -> Response:
    sm = current_supermarket()
    start, end, _ = _date_range(_month_start())
    return send_xlsx(*fund_reports.pool_ledger_xlsx(sm, start, end))


# ---------------------------------------------------------------- donors


@bp.get("/donors")
@require("fund.read", page=True)
def donors_page() -> str:
    """Every donor with what they have given; a form to add one."""
    return render_template(
        "fund/donors.html",
        **_context(
            donors=_donors(),
            totals=donations.donor_totals(current_supermarket().id),
            kinds=DONOR_KINDS,
            form={"kind": "", "next": request.args.get("next", "")},
            error=None,
        ),
    )


def _safe_next(target: str) -> str | None:
    """Only our own donation form may be the place to go back to."""
    if target.startswith("/fund/donations/new"):
        return target
    return None


@bp.post("/donors")
@require("donation.record", page=True)
def create_donor() -> Response | tuple[str, int]:
    form = DonorForm()
    values = form.values()
    try:
        donor = donations.create_donor(
            current_supermarket().id,
            name=values["name"],
            kind=values["kind"],
            contact=values["contact"],
            publish_full_name=values["publish_full_name"],
            actor=current_user(),
        )
    except DomainError as exc:
        return render_template(
            "fund/donors.html",
            **_context(
                donors=_donors(),
                totals=donations.donor_totals(current_supermarket().id),
                kinds=DONOR_KINDS,
                form=form.typed(),
                error=exc.message,
            ),
        ), exc.status
    flash(gettext("已登记捐赠方 %(name)s", name=donor.name), "ok")
    target = _safe_next(form.next.data or "")
    if target:
        sep = "&" if "?" in target else "?"
        return redirect(f"{target}{sep}donor_id={donor.id}")
    return redirect(url_for("fund.donors_page"))


@bp.get("/donors/<int:donor_id>")
@require("fund.read", page=True)
def donor_page(donor_id: int) -> str:
    """A donor's details (the edit form for admins) and their donations."""
    sm = current_supermarket()
    donor = donations.get_donor(sm.id, donor_id)
    return render_template(
        "fund/donor.html",
        **_context(
            donor=donor,
            form={
                "name": donor.name,
                "kind": donor.kind,
                "contact": donor.contact,
                "publish_full_name": donor.publish_full_name,
                "active": donor.active,
            },
            kinds=DONOR_KINDS,
            history=donations.list_donations(sm.id, donor_id=donor.id),
            error=None,
        ),
    )


@bp.post("/donors/<int:donor_id>")
@require("fund.manage", page=True)
def update_donor(donor_id: int) -> Response | tuple[str, int]:
    sm = current_supermarket()
    donor = donations.get_donor(sm.id, donor_id)
    values = DonorForm().values()
    try:
        donations.update_donor(donor.id, **values, actor=current_user())
    except DomainError as exc:
        return render_template(
            "fund/donor.html",
            **_context(
                donor=donations.get_donor(sm.id, donor_id),
                form=values,
                kinds=DONOR_KINDS,
                history=donations.list_donations(sm.id, donor_id=donor_id),
                error=exc.message,
            ),
        ), exc.status
    flash(gettext("已保存"), "ok")
    return redirect(url_for("fund.donor_page", donor_id=donor_id))


# ---------------------------------------------------------------- donations


def _goods_products() -> list[Product]:
    return donatable_goods(current_supermarket().id)


def _donation_form(
    form: dict[str, Any], lines: list[dict[str, str]], error: str | None, key: str
) -> str:
    """The donation form, carrying ``key``: a new one for each form the office opens, the
    same one when a refused form comes back to be corrected."""
    kind = (
        form.get("form") if form.get("form") in (DONATION_CASH, DONATION_GOODS) else DONATION_CASH
    )
    while kind == DONATION_GOODS and len(lines) < GOODS_ROWS:
        lines.append({"product_id": "", "quantity": "", "unit_value": ""})
    products = _goods_products() if kind == DONATION_GOODS else []
    return render_template(
        "fund/donation_form.html",
        **_context(
            form=form,
            kind=kind,
            lines=lines,
            form_key=key,
            donors=_donors(active_only=True),
            products=products,
            product_data={
                p.id: {"cost": yuan(p.unit_cost_fen), "barcode": p.barcode or "", "unit": p.unit}
                for p in products
            },
            today=local_now().date(),
            error=error,
        ),
    )


@bp.get("/donations/new")
@require("donation.record", page=True)
def new_donation_page() -> str:
    form = {
        "form": request.args.get("form", DONATION_CASH),
        "donor_id": request.args.get("donor_id", ""),
        "donated_on": local_now().date().isoformat(),
        "print": "1",
    }
    return _donation_form(form, [], None, new_form_key())


def _record(form: CashDonationForm | GoodsDonationForm, key: str | None) -> Donation:
    """The donation the form describes, recorded once for its key (a second submit of the same
    rendered form answers with the first one's donation)."""
    sm = current_supermarket()
    form.checked()
    assert form.donor_id.data is not None and form.donated_on.data is not None  # checked above
    common: dict[str, Any] = {
        "donor_id": form.donor_id.data,
        "donated_on": form.donated_on.data,
        "note": form.note.data,
        "actor": current_user(),
        "idempotency_key": key,
    }
    if isinstance(form, CashDonationForm):
        assert form.amount.data is not None  # checked above
        return donations.record_cash_donation(sm.id, amount_fen=form.amount.data, **common)
    return donations.record_goods_donation(sm.id, lines=form.lines(), **common)


@bp.post("/donations/new")
@require("donation.record", page=True)
def create_donation() -> Response | tuple[str, int]:
    kind = request.form.get("form")
    form: CashDonationForm | GoodsDonationForm = (
        GoodsDonationForm(formdata=request.form)
        if kind == DONATION_GOODS
        else CashDonationForm(formdata=request.form)
    )
    typed = form.typed()
    rows = form.rows() if isinstance(form, GoodsDonationForm) else []
    shown_key = form.key_to_show()
    stored: str | None = None
    try:
        if kind not in (DONATION_CASH, DONATION_GOODS):
            raise ValidationFailed(gettext("请选择捐赠方式"))
        key = form.form_key()
        stored = intake.client_key(signed_in_user().id, key, channel="web") if key else None
        earlier = donations.find_by_key(stored) if stored else None
        donation = _record(form, stored)
    except IdempotencyConflict as exc:
        # The same rendered form sent again with other values (back, changed, saved): the first
        # is recorded; saving once more is another donation, so the form comes back with a new key.
        done = donations.find_by_key(stored) if stored else None
        message = gettext(
            "这张登记表已保存为捐赠 %(no)s。如果这是另一笔捐赠，请再点一次保存",
            no=done.receipt_no if done is not None else "",
        )
        return _donation_form(typed, rows, message, new_form_key()), exc.status
    except DomainError as exc:
        return _donation_form(typed, rows, exc.message, shown_key), exc.status
    if earlier is not None or donation.last_print_job_id is not None:
        # A second submit of a form already saved: nothing new recorded, nothing printed.
        flash(gettext("这笔捐赠已经登记过（%(no)s），没有重复登记", no=donation.receipt_no), "ok")
        return redirect(url_for("fund.donation_page", donation_id=donation.id))
    flash(
        gettext(
            "已登记捐赠 %(no)s，金额 %(amount)s 元",
            no=donation.receipt_no,
            amount=yuan(donation.amount_fen),
        ),
        "ok",
    )
    if form.print.data == "1":
        _print(donation.id, reprint=False)
    return redirect(url_for("fund.donation_page", donation_id=donation.id))


def _print(donation_id: int, *, reprint: bool) -> None:
    """Print after the commit; say on the next page whether it came out."""
    try:
        job = printouts.print_donation_receipt(donation_id, actor=current_user(), reprint=reprint)
    except DomainError as exc:
        flash(exc.message, "error")
        return
    if job.status == PRINT_PRINTED:
        flash(gettext("收据已打印"), "ok")
    else:
        flash(
            gettext(
                "收据没有打印出来：%(error)s。请检查打印机后点“补打”。", error=job.last_error or ""
            ),
            "error",
        )


def _donation_context(donation: Donation) -> dict[str, Any]:
    job = printing.find_job(donation.last_print_job_id) if donation.last_print_job_id else None
    return _context(
        d=donation,
        movements=donations.donation_movements(donation.id),
        created_by=_display_user(donation.created_by_id),
        reversed_by=_display_user(donation.reversed_by_id),
        job=job,
        reasons=REVERSE_REASONS,
        error=None,
        reason_value="",
    )


@bp.get("/donations/<int:donation_id>")
@require("fund.read", page=True)
def donation_page(donation_id: int) -> str:
    """One donation: donor, amount or goods, status, the receipt (print, reprint), reversal."""
    donation = donations.get_donation(current_supermarket().id, donation_id)
    return render_template("fund/donation.html", **_donation_context(donation))


@bp.post("/donations/<int:donation_id>/print")
@require("donation.record", page=True)
def print_receipt(donation_id: int) -> Response:
    donation = donations.get_donation(current_supermarket().id, donation_id)
    _print(donation.id, reprint=donation.copies_printed > 0)
    return redirect(url_for("fund.donation_page", donation_id=donation_id))


@bp.post("/donations/<int:donation_id>/reverse")
@require("fund.manage", page=True)
def reverse(donation_id: int) -> Response | tuple[str, int]:
    sm = current_supermarket()
    donation = donations.get_donation(sm.id, donation_id)
    reason = ReasonForm(formdata=request.form).reason.data or ""
    try:
        donations.reverse_donation(donation.id, actor=current_user(), reason=reason)
    except DomainError as exc:
        donation = donations.get_donation(sm.id, donation_id)
        context = _donation_context(donation)
        context.update(error=exc.message, reason_value=reason)
        return render_template("fund/donation.html", **context), exc.status
    flash(gettext("捐赠 %(no)s 已撤销", no=donation.receipt_no), "ok")
    return redirect(url_for("fund.donation_page", donation_id=donation_id))


@bp.get("/donations")
@require("fund.read", page=True)
def donations_page() -> str:
    """Every donation over a date range (the office's register, reversed ones included)."""
    start, end, error = _date_range(_year_start())
    rows = donations.list_donations(current_supermarket().id, start, end)
    return render_template(
        "fund/donations.html",
        **_context(
            rows=rows,
            summaries={d.id: donations.goods_summary(d) for d in rows if d.form == DONATION_GOODS},
            start=start,
            end=end,
            error=error,
            total_cash=sum(
                d.amount_fen
                for d in rows
                if d.status == DONATION_RECORDED and d.form == DONATION_CASH
            ),
            total_goods=sum(
                d.amount_fen
                for d in rows
                if d.status == DONATION_RECORDED and d.form == DONATION_GOODS
            ),
        ),
    )


@bp.get("/donations.xlsx")
@require("fund.read", page=True)
def donations_xlsx() -> Response:
    """The donation register as a workbook: every donation, reversed ones marked."""
    sm = current_supermarket()
    start, end, _ = _date_range(_year_start())
    return send_xlsx(*fund_reports.donations_xlsx(sm, start, end))


# ---------------------------------------------------------------- the public list


@bp.get("/public")
@require("fund.read", page=True)
def public_page() -> str:
    """The donor list for public notice (捐赠公示), an A4 page to print: people masked unless
    they agreed, never a contact."""
    start, end, error = _date_range(_year_start())
    rows = donations.public_rows(current_supermarket().id, start, end)
    return render_template(
        "fund/public.html",
        **_context(
            rows=rows,
            start=start,
            end=end,
            error=error,
            total_cash=sum(r.amount_fen for r in rows if r.cash),
            total_goods=sum(r.amount_fen for r in rows if not r.cash),
            printed_on=local_now().date(),
        ),
    )


@bp.get("/public.xlsx")
@require("fund.read", page=True)
def public_xlsx() -> Response:
    sm = current_supermarket()
    start, end, _ = _date_range(_year_start())
    return send_xlsx(*fund_reports.public_list_xlsx(sm, start, end))
