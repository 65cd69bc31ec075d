"""The month-end pages (月结): the months and their state, a month's reconciliation report on
screen, as XLSX and as a printable A4 page with sign-off lines, the close action and the
summary slip on the thermal printer.

Admins (the village committee) close; keepers view and print; supervisors view (and sign the
paper). An open month's report is computed live and marked as a preview; a closed month shows
the report stored at its close.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext

from inventory import monthend, periods, printouts
from kiosk import auth
from kiosk.authn import current_supermarket, current_user, may, require, signed_in_user
from kiosk.errors import DomainError
from kiosk.models import PRINT_PRINTED
from kiosk.reports.monthend import month_report_xlsx, tieout_rows
from kiosk.web.downloads import send_xlsx

bp = Blueprint("monthend", __name__, url_prefix="/month-end")


def _month(value: str) -> str:
    try:
        periods.parse_month(value)
    except ValueError:
        abort(404)
    return value


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("monthend.close"),
        "can_close": may("monthend.close"),
        "can_print": may("slip.print"),
        **extra,
    }


def _report_context(month: str) -> dict[str, Any]:
    supermarket = current_supermarket()
    report, close = monthend.report_for(supermarket.id, month)
    closed_by = auth.find_user(close.closed_by_id) if close and close.closed_by_id else None
    return {
        "month": month,
        "report": report,
        "close": close,
        "closed_by": closed_by,
        "refusals": [] if close else monthend.close_refusals(supermarket.id, month),
        "is_next": close is None and periods.next_month_to_close(supermarket.id) == month,
        "tieout_rows": tieout_rows(report),
    }


@bp.get("/")
@require("monthend.read", page=True)
def index_page():
    supermarket = current_supermarket()
    months = monthend.month_list(supermarket.id)
    upcoming = next((m for m in months if m["next"]), None)
    refusals = monthend.close_refusals(supermarket.id, upcoming["month"]) if upcoming else []
    closers = auth.users_by_id(m["close"].closed_by_id for m in months if m["close"] is not None)
    return render_template(
        "monthend/index.html",
        **_context(months=months, upcoming=upcoming, refusals=refusals, closers=closers),
    )


@bp.get("/<month>")
@require("monthend.read", page=True)
def report_page(month: str):
    month = _month(month)
    return render_template("monthend/report.html", **_context(**_report_context(month)))


@bp.get("/<month>/print")
@require("monthend.read", page=True)
def print_page(month: str):
    """The A4 page for the binder: the report and the sign-off lines."""
    month = _month(month)
    return render_template("monthend/print.html", **_context(**_report_context(month)))


@bp.get("/<month>/report.xlsx")
@require("monthend.read", page=True)
def report_xlsx(month: str):
    return send_xlsx(*month_report_xlsx(current_supermarket(), _month(month)))


@bp.post("/<month>/close")
@require("monthend.close", page=True)
def close_action(month: str):
    month = _month(month)
    supermarket = current_supermarket()
    try:
        monthend.close_month(supermarket.id, month, actor=signed_in_user())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("monthend.report_page", month=month))
    flash(gettext("%(month)s 已结账。以后发现的更正记入下一个未结账的月份。", month=month), "ok")
    return redirect(url_for("monthend.report_page", month=month))


@bp.post("/<month>/slip")
@require("slip.print", page=True)
def print_slip(month: str):
    month = _month(month)
    supermarket = current_supermarket()
    try:
        job = printouts.print_month_slip(supermarket.id, month, actor=current_user())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        if job.status == PRINT_PRINTED:
            flash(gettext("月结小票已打印"), "ok")
        else:
            flash(
                gettext(
                    "小票没有打印出来：%(error)s。请检查打印机后再试。", error=job.last_error or ""
                ),
                "error",
            )
    return redirect(url_for("monthend.report_page", month=month))
