"""The stock pages (库存): stock-in (入库) at the counter touchscreen, write-offs (报损) and the two
books (台账: the stock-in ledger and the redemption / pickup ledger) with their XLSX export.

Keepers and admins receive stock and ask for write-offs; only admins decide write-offs (never
approving their own); supervisors read every page and change nothing. Plain HTML forms, posted
and redirected (PRG); a refusal re-renders the page with what was typed and a Chinese message.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from inventory import adjustments, fund, ledgers, printouts
from inventory import stock as stock_service
from inventory.models import ADJ_PENDING, ADJUST_REASONS, PAID_FROM_FUND
from inventory.products import catalogue, categories, policy_for
from kiosk import auth, parsing
from kiosk.authn import current_supermarket, current_user, may, require, signed_in_user
from kiosk.errors import DomainError, FundInsufficient, ValidationFailed
from kiosk.formatting import yuan
from kiosk.messages import N_
from kiosk.models import User
from kiosk.web.downloads import send_xlsx
from kiosk.web.forms import NewProductForm, NoteForm, StockInForm, WriteOffForm

logger = logging.getLogger(__name__)

bp = Blueprint("stock", __name__, url_prefix="/stock")

PAGE_SIZE = 50
# Sources other than the fund pool offered before any has been used (村集体收益, 镇奖励, 帮扶单位).
DEFAULT_SOURCES = (N_("村集体"), N_("镇奖励"), N_("帮扶单位"))


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("stock.receive"),
        "is_admin": may("writeoff.decide"),
        **extra,
    }


def _message(exc: DomainError) -> str:
    """A refusal in words a keeper can act on (the fund pool says how much is missing)."""
    if isinstance(exc, FundInsufficient):
        d = exc.details
        return gettext(
            "基金池余额不足：现有%(balance)s元，本单需要%(needed)s元，最多可垫付%(limit)s元。"
            "请改选其他付款来源，或先登记捐款。",
            balance=yuan(d.get("balance_fen", 0)),
            needed=yuan(d.get("needed_fen", 0)),
            limit=yuan(d.get("advance_limit_fen", 0)),
        )
    return exc.message


# Stock-in (入库) -----------------------------------------------------------------------------


def _catalogue_json(supermarket_id: int) -> list[dict[str, Any]]:
    """The goods a stock-in may take, for the page's scanner and search (no services)."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "barcode": p.barcode or "",
            "sku": p.sku,
            "unit": p.unit,
            "category": p.category.name if p.category else "",
            "stock": p.stock_qty,
            "cost": p.unit_cost_fen,
            "points": p.points_price,
        }
        for p in catalogue(supermarket_id)
        if p.tracks_stock
    ]


def _stock_in_page(
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    draft: list[dict[str, str]] | None = None,
    product_error: str | None = None,
    product_form: dict[str, str] | None = None,
):
    supermarket = current_supermarket()
    used = stock_service.paid_from_sources(supermarket.id)
    # The suggestions are a typing aid in the page's language; what is typed is kept as typed.
    suggested = [gettext(s) for s in DEFAULT_SOURCES]
    sources = used + [s for s in suggested if s not in used]
    documents = stock_service.recent_stock_ins(supermarket.id, limit=15)
    creators = _users({d.created_by_id for d in documents})
    return render_template(
        "stock/stock_in.html",
        **_context(
            products=_catalogue_json(supermarket.id),
            points_per_yuan=policy_for(supermarket).points_per_yuan,
            categories=[c.name for c in categories(supermarket.id)],
            sources=sources,
            fund_balance_fen=fund.balance_fen(supermarket.id),
            fund_limit_fen=supermarket.fund_advance_limit_fen,
            documents=documents,
            creators=creators,
            error=error,
            form=form or _default_form(supermarket),
            draft=draft,
            product_error=product_error,
            product_form=product_form or {},
            paid_from_label=lambda paid_from: paid_from_shown(ledgers.paid_from_label(paid_from)),
        ),
    ), status


@bp.app_template_filter("paid_from_shown")
def paid_from_shown(label: str) -> str:
    """A ledger's payment source as shown: its own words (基金池, 未注明, 捐赠) in the page's
    language, a source someone named (村集体, a supplier) as written."""
    return gettext(label) if label in ledgers.PAID_FROM_WORDS else label


def _default_form(supermarket: Any) -> dict[str, Any]:
    """The fund pool is offered first when it can pay; otherwise the keeper chooses."""
    can_pay = fund.balance_fen(supermarket.id) + supermarket.fund_advance_limit_fen > 0
    return {"paid_from": PAID_FROM_FUND if can_pay else "", "print_slip": True}


def _users(ids: set[int | None]) -> dict[int, User]:
    return auth.users_by_id(ids)


@bp.get("/in")
@require("stock.read", page=True)
def stock_in_page():
    """The stock-in form (scan or pick goods, quantity and unit cost) and the latest documents."""
    return _stock_in_page()


@bp.post("/in")
@require("stock.receive", page=True)
def stock_in_submit():
    """Receive one purchase; on success show its document (and print its slip if asked)."""
    supermarket = current_supermarket()
    entry = StockInForm(formdata=request.form)
    form, raw = entry.shown(), entry.rows()
    try:
        lines = entry.lines()
        if form["paid_from"] == PAID_FROM_FUND:
            paid_from = PAID_FROM_FUND
        elif form["paid_from"] == "other":
            paid_from = form["paid_from_other"]
            if not paid_from:
                raise ValidationFailed(gettext("请写明付款来源（例如：村集体、镇奖励）"))
        else:
            raise ValidationFailed(gettext("请选择付款来源：基金池或其他来源"))
        if not lines:
            raise ValidationFailed(gettext("入库单没有商品，请扫码或从左边选择商品"))
        document = stock_service.create_stock_in(
            supermarket.id,
            lines,
            actor=current_user(),
            supplier=form["supplier"],
            invoice_no=form["invoice_no"],
            paid_from=paid_from,
            note=form["note"],
        )
    except DomainError as exc:
        return _stock_in_page(status=422, error=_message(exc), form=form, draft=raw)
    if form["print_slip"]:
        _print(document.id)
    return redirect(url_for("stock.stock_in_document", stock_in_id=document.id, new=1))


def _print(stock_in_id: int) -> None:
    """Print the slip after the commit; whatever the printer does, the stock-in stands."""
    try:
        job = printouts.print_stock_in(current_supermarket().id, stock_in_id, actor=current_user())
    except DomainError as exc:
        flash(_message(exc), "error")
        return
    except Exception:  # noqa: BLE001 - the stock-in has committed; the slip is extra
        logger.exception("stock-in %s slip not printed", stock_in_id)
        flash(gettext("入库单没有打印出来，入库已经保存。请检查打印机后点“补打入库单”。"), "error")
        return
    if job.status == "printed":
        flash(gettext("入库单已打印"), "info")
    else:
        flash(
            gettext(
                "入库单没有打印出来（%(error)s），入库已经保存。请检查打印机后点“补打入库单”。",
                error=job.last_error or job.status,
            ),
            "error",
        )


@bp.get("/in/<int:stock_in_id>")
@require("stock.read", page=True)
def stock_in_document(stock_in_id: int):
    """One stock-in document (入库单) with its lines, its fund entry and the print button."""
    supermarket = current_supermarket()
    document = stock_service.get_stock_in(supermarket.id, stock_in_id)
    movements = stock_service.stock_in_movements(document.id)
    creator = auth.find_user(document.created_by_id) if document.created_by_id else None
    prints = stock_service.print_count(document.id)
    entry = fund.find_entry(document.fund_entry_id) if document.fund_entry_id else None
    return render_template(
        "stock/document.html",
        **_context(
            document=document,
            movements=movements,
            creator=creator,
            prints=prints,
            fund_entry=entry,
            paid_from=paid_from_shown(ledgers.paid_from_label(document.paid_from)),
            just_created=request.args.get("new") == "1",
        ),
    )


@bp.post("/in/<int:stock_in_id>/print")
@require("stock.receive", page=True)
def stock_in_print(stock_in_id: int):
    """Print or reprint (补打) a stock-in document's slip."""
    stock_service.get_stock_in(current_supermarket().id, stock_in_id)
    _print(stock_in_id)
    return redirect(url_for("stock.stock_in_document", stock_in_id=stock_in_id))


@bp.post("/products")
@require("stock.receive", page=True)
def new_product():
    """Add goods met for the first time at stock-in, then go back to the stock-in form, where
    the new goods join the lines being typed (kept in the browser meanwhile)."""
    product_form = NewProductForm(formdata=request.form).typed()
    try:
        product = stock_service.new_product_for_stock_in(
            current_supermarket().id,
            name=product_form["name"],
            unit=product_form["unit"] or "件",
            category=product_form["category"] or None,
            barcode=product_form["barcode"] or None,
            actor=current_user(),
        )
    except DomainError as exc:
        return _stock_in_page(status=422, product_error=_message(exc), product_form=product_form)
    return redirect(url_for("stock.stock_in_page", added=product.id))


# Write-offs (报损) ---------------------------------------------------------------------------


def _adjustments_page(
    *, status: int = 200, error: str | None = None, form: dict[str, Any] | None = None
):
    supermarket = current_supermarket()
    rows = adjustments.adjustments(supermarket.id)
    people = _users({a.requested_by_id for a in rows} | {a.decided_by_id for a in rows})
    goods = [p for p in catalogue(supermarket.id) if p.tracks_stock]
    return render_template(
        "stock/adjustments.html",
        **_context(
            rows=rows,
            people=people,
            goods=goods,
            reasons=ADJUST_REASONS,
            reason_labels=adjustments.REASON_LABELS,
            status_labels=adjustments.STATUS_LABELS,
            pending=ADJ_PENDING,
            pending_count=sum(1 for a in rows if a.status == ADJ_PENDING),
            error=error,
            form=form or {},
            barcodes={p.barcode: p.id for p in goods if p.barcode},
        ),
    ), status


@bp.get("/adjustments")
@require("stock.read", page=True)
def adjustments_page():
    """Ask for a write-off; the requests, pending first, with approve / reject for admins."""
    return _adjustments_page()


@bp.post("/adjustments")
@require("writeoff.request", page=True)
def adjustment_request():
    entry = WriteOffForm(formdata=request.form)
    form = entry.typed()
    try:
        adjustments.request_adjustment(
            current_supermarket().id,
            entry.product(),
            entry.count(),
            form["reason"],
            note=form["note"],
            actor=current_user(),
        )
    except DomainError as exc:
        return _adjustments_page(status=422, error=_message(exc), form=form)
    flash(gettext("报损申请已提交，等待管理员审批"), "info")
    return redirect(url_for("stock.adjustments_page"))


@bp.post("/adjustments/<int:adjustment_id>/<any(approve, reject):decision>")
@require("writeoff.decide", page=True)
def adjustment_decide(adjustment_id: int, decision: str):
    service = (
        adjustments.approve_adjustment if decision == "approve" else adjustments.reject_adjustment
    )
    try:
        service(
            current_supermarket().id,
            adjustment_id,
            actor=signed_in_user(),
            note=NoteForm(formdata=request.form).note.data or "",
        )
    except DomainError as exc:
        return _adjustments_page(status=422, error=_message(exc))
    flash(gettext("已批准，库存已减少") if decision == "approve" else gettext("已驳回"), "info")
    return redirect(url_for("stock.adjustments_page"))


# The books (台账) ----------------------------------------------------------------------------

BOOKS = ("stock_in", "redemption")
LEDGER_QUERY = ("book", "from", "to", "product", "household", "keeper")


def _filters_from_request() -> tuple[ledgers.Filters, str | None]:
    args = request.args
    try:
        return ledgers.make_filters(
            args.get("from"),
            args.get("to"),
            product_id=args.get("product"),
            household_no=args.get("household"),
            keeper_id=args.get("keeper"),
        ), None
    except ValidationFailed as exc:
        return ledgers.make_filters(None, None), exc.message


@bp.get("/ledgers")
@require("stock.read", page=True)
def ledgers_page():
    """The stock-in ledger or the redemption / pickup ledger for a date range, paged."""
    supermarket = current_supermarket()
    book = request.args.get("book", "stock_in")
    if book not in BOOKS:
        book = "stock_in"
    filters, error = _filters_from_request()
    if book == "stock_in":
        rows = ledgers.stock_in_rows(supermarket.id, filters)
        totals = {
            "quantity": sum(r.quantity for r in rows),
            "amount_fen": sum(r.amount_fen for r in rows),
        }
    else:
        rows = ledgers.redemption_rows(supermarket.id, filters)
        totals = {
            "quantity": sum(r.quantity for r in rows),
            "points": sum(r.points for r in rows),
        }
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(parsing.optional_int(request.args.get("page"), minimum=1) or 1, pages)
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    query = {
        "book": book,
        "from": filters.date_from.isoformat(),
        "to": filters.date_to.isoformat(),
        "product": filters.product_id or "",
        "household": filters.household_no,
        "keeper": filters.keeper_id or "",
    }
    return render_template(
        "stock/ledgers.html",
        **_context(
            book=book,
            filters=filters,
            error=error,
            rows=shown,
            count=len(rows),
            totals=totals,
            page=page,
            pages=pages,
            query=query,
            choices=ledgers.choices(supermarket.id),
        ),
    )


@bp.get("/ledgers/export")
@require("stock.read", page=True)
def ledgers_export():
    """The chosen ledger for the chosen range and filters as an XLSX file to print."""
    supermarket = current_supermarket()
    book = request.args.get("book", "stock_in")
    filters, error = _filters_from_request()
    if error is not None or book not in BOOKS:
        # Back to the page with the filters as typed (it says what is wrong), and nothing else:
        # url_for's own arguments (endpoint, _scheme, _external, ...) are not the query's to set.
        kept = {k: request.args[k] for k in LEDGER_QUERY if k in request.args}
        return redirect(url_for("stock.ledgers_page", **kept))
    data, filename = ledgers.ledger_xlsx(book, supermarket, filters)
    return send_xlsx(data, filename)
