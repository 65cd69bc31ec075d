"""The supervisors' log (操作日志): every audited write with filters, the hash chain's state,
today's chain head, an XLSX export, and the keeper's closing slip (日结单).

Admins and the supervision group (监督小组) read the log; keepers and admins print the closing
slip, whose chain head lets the paper be checked against the log later (the form "核对日结单"
on this page does that).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from kiosk import audit, parsing, printing
from kiosk.auth import list_users
from kiosk.authn import current_supermarket, current_user, may, require
from kiosk.clock import day_start_utc, local_now
from kiosk.errors import DomainError
from kiosk.reports.audit import (
    ROLE_LABELS,
    SUBJECT_LABELS,
    action_label,
    data_rows,
    log_xlsx,
    subject_label,
)
from kiosk.web.downloads import send_xlsx
from kiosk.web.forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/audit")

PER_PAGE = 50


def _filters() -> tuple[audit.LogFilter, dict[str, Any], list[str]]:
    """The log filter from the query string, the query to repeat it, and input errors."""
    form = AuditFilterForm(formdata=request.args)
    errors = form.problems()
    day_from, day_to = form.day_from.data, form.day_to.data
    subject_id = form.object_id()
    f = audit.LogFilter(
        supermarket_id=current_supermarket().id,
        start=day_start_utc(day_from) if day_from else None,
        end=day_start_utc(day_to + timedelta(days=1)) if day_to else None,
        actor_id=form.actor_id(),
        action=(form.action.data or "")[:50],
        subject_type=(form.subject.data or "")[:50],
        subject_id=subject_id,
        text=(form.q.data or "")[:100],
    )
    query = {
        "from": day_from.isoformat() if day_from else "",
        "to": day_to.isoformat() if day_to else "",
        "actor": f.actor_id or "",
        "action": f.action,
        "subject": f.subject_type,
        "subject_id": form.subject_id.data if subject_id is not None else "",
        "q": f.text,
    }
    return f, {k: v for k, v in query.items() if v != ""}, errors


def _chains(supermarket_id: int) -> list[audit.ChainState]:
    names = {supermarket_id: current_supermarket().name}
    states = [audit.verify_chain(supermarket_id, names)]
    states.append(audit.verify_chain(audit.GLOBAL_CHAIN, names))
    return [s for s in states if s.rows or s.head_seq or s.chain == supermarket_id]


@bp.get("")
@require("audit.read", page=True)
def index_page() -> str:
    """The log with filters, the chains' state and today's chain head."""
    supermarket = current_supermarket()
    user = current_user()
    f, query, errors = _filters()
    page = request.args.get(
        "page", 1, type=lambda raw: parsing.parse_int(raw, minimum=1, maximum=100_000)
    )
    events, total = audit.search_log(f, page=page, per_page=PER_PAGE)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    actions, kinds = audit.known_values(supermarket.id)
    head_seq, head_hash = audit.chain_head(supermarket.id)
    paper = None
    paper_seq = request.args.get("paper_seq", type=parsing.count)
    paper_hash = (request.args.get("paper_hash") or "").strip()
    if paper_seq is not None or paper_hash:
        if paper_seq is None or len(paper_hash) < 8:
            paper = {"ok": None, "message": gettext("请填写日结单上的链号和至少8位哈希")}
        else:
            match = audit.link_matches(supermarket.id, paper_seq, paper_hash)
            paper = {
                "ok": match,
                "message": gettext("日结单与操作日志一致：第%(n)s号记录未被改动", n=paper_seq)
                if match
                else gettext("日志中没有第%(n)s号记录", n=paper_seq)
                if match is None
                else gettext(
                    "不一致！第%(n)s号记录的哈希与日结单不符，日志可能被改动", n=paper_seq
                ),
            }
    return render_template(
        "audit/index.html",
        supermarket=supermarket,
        user=user,
        can_edit=may("slip.print"),  # admins print the closing slip here
        can_print=may("slip.print"),
        events=events,
        total=total,
        page=page,
        pages=pages,
        query=query,
        filters=f,
        errors=errors,
        users=list_users(supermarket.id),
        actions=[(a, action_label(a)) for a in actions],
        kinds=[(k, str(SUBJECT_LABELS.get(k, k))) for k in kinds],
        chains=_chains(supermarket.id),
        head_seq=head_seq,
        head_hash=head_hash,
        today=local_now().date(),
        paper=paper,
        paper_seq=paper_seq,
        paper_hash=paper_hash,
        action_label=action_label,
        subject_label=subject_label,
        data_rows=data_rows,
        role_labels=ROLE_LABELS,
    )


@bp.get("/export.xlsx")
@require("audit.read", page=True)
def export() -> Response:
    """The filtered log as an Excel workbook, oldest first, with each row's link."""
    supermarket = current_supermarket()
    f, query, _errors = _filters()
    events = audit.all_matching(f)
    span = f"{query.get('from', '')} — {query.get('to', '')}".strip(" —")
    return send_xlsx(*log_xlsx(supermarket, events, span))


@bp.post("/closing-slip")
@require("slip.print", page=True)
def print_closing_slip() -> Response:
    """Print today's closing slip (日结单) and show it."""
    supermarket = current_supermarket()
    try:
        job = printing.print_closing_slip(supermarket.id, actor=current_user())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("audit.index_page"))
    if job.status != "printed":
        flash(gettext("日结单没有打印出来，请检查打印机后在“打印机”页重发。"), "error")
    back = request.form.get("back")
    return redirect(url_for("audit.closing_page", job_id=job.id, back=back or None))


@bp.get("/closing/<int:job_id>")
@require("monthend.read", page=True)
def closing_page(job_id: int) -> str:
    """A printed closing slip as text, with the way back."""
    supermarket = current_supermarket()
    job = printing.closing_job(job_id, supermarket.id)
    if job is None:
        abort(404)
    back = request.args.get("back")
    return render_template(
        "audit/closing.html",
        supermarket=supermarket,
        user=current_user(),
        can_edit=may("slip.print"),
        job=job,
        back_to_counter=back == "counter",
    )
