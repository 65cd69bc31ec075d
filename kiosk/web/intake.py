"""The points intake pages (积分录入, 导入): enter awards and deductions by standard item, sign
off other admins' entries, the standard items, and importing spreadsheets with a row-by-row
preview.

Admins enter, approve (others' entries) and import; supervisors read the same pages without
the forms; keepers have no business here. Plain HTML forms post here and redirect (PRG); a
refusal re-shows the form with what was typed and the Chinese reason.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from kiosk import households, imports, intake, parsing, standards
from kiosk.authn import current_supermarket, current_user, may, require
from kiosk.clock import local_now
from kiosk.errors import DomainError, ImportInvalid, ValidationFailed
from kiosk.messages import from_json
from kiosk.models import (
    IMPORT_COMMITTED,
    IMPORT_KINDS,
    IMPORT_POINTS,
    ImportBatch,
)
from kiosk.reports import intake as intake_reports
from kiosk.reports.intake import STATUS_LABELS
from kiosk.web.downloads import send_xlsx
from kiosk.web.forms import (
    DecideManyForm,
    ImportForm,
    NoteForm,
    ProposalForm,
    StandardItemForm,
)

bp = Blueprint("intake", __name__, url_prefix="/intake")

PREVIEW_PAGE_ROWS = 200
HISTORY_ROWS = 50

KIND_LABELS = {
    "households": lazy_gettext("户与成员"),
    "points": lazy_gettext("加减分"),
    "scores": lazy_gettext("季度评分"),
}
KIND_HINTS = {
    "households": lazy_gettext("每位成员一行，同一户的户号相同；只新增户，不改已有的户。"),
    "points": lazy_gettext("导入后成为待确认的加减分，须由另一位管理员确认后才计入积分。"),
    "scores": lazy_gettext("每户（或每人）每期一个分数，0到100；寨里可填达标的标准编号代替分数。"),
}
TOTAL_LABELS = {
    "households": lazy_gettext("户"),
    "members": lazy_gettext("成员"),
    "proposals": lazy_gettext("加减分条数"),
    "awards": lazy_gettext("加分合计"),
    "deductions": lazy_gettext("扣分合计"),
    "scores": lazy_gettext("评分条数"),
}


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("points.enter"),
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        **extra,
    }


# --- proposals ---------------------------------------------------------------------------


def _index(form: dict[str, str] | None = None, error: str | None = None, status: int = 200):
    supermarket = current_supermarket()
    items = standards.list_items(supermarket.id, active_only=True)
    return (
        render_template(
            "intake/index.html",
            **_context(
                items=items,
                pending=intake.list_pending(supermarket.id),
                batches=intake.pending_batches(supermarket.id),
                history=intake.list_history(supermarket.id, limit=HISTORY_ROWS),
                form=form or {},
                error=error,
                today=local_now().date(),
            ),
        ),
        status,
    )


@bp.get("")
@require("proposal.read", page=True)
def index_page():
    """Enter an award or deduction; the pending ones to sign off; the decided ones."""
    return _index()


def _household_and_member(supermarket_id: int, number: str, name: str) -> tuple[int, int | None]:
    number = (number or "").strip()
    if not number:
        raise ValidationFailed(gettext("请填写户号"))
    household = households.household_by_number(supermarket_id, number)
    if household is None:
        raise ValidationFailed(gettext("户号 %(number)s 不存在", number=number))
    name = "".join((name or "").split())
    if not name:
        return household.id, None
    member = households.active_member_named(household.id, name)
    if member is None:
        raise ValidationFailed(
            gettext("户号 %(number)s 没有名为 %(name)s 的成员", number=number, name=name)
        )
    return household.id, member.id


@bp.post("/proposals")
@require("points.enter", page=True)
def propose():
    form = ProposalForm(formdata=request.form)
    supermarket = current_supermarket()
    try:
        household_id, member_id = _household_and_member(
            supermarket.id, form.number.data or "", form.member.data or ""
        )
        form.checked()
        assert form.occurred_on.data is not None  # checked: a day is required
        proposal = intake.propose(
            supermarket.id,
            intake.ProposalInput(
                household_id=household_id,
                occurred_on=form.occurred_on.data,
                standard_item_id=form.item.data,
                amount=form.amount.data,
                member_id=member_id,
                reason=form.reason.data or "",
                evidence=form.evidence.data or "",
            ),
            actor=current_user(),
        )
    except DomainError as exc:
        return _index(form.typed(), exc.message, 422)
    flash(
        gettext(
            "已录入：%(number)s %(amount)s分，等待另一位管理员确认",
            number=proposal.household.number,
            amount=f"{proposal.amount:+d}",
        ),
        "ok",
    )
    return redirect(url_for("intake.index_page"))


def _decide(action) -> Response:
    try:
        action()
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("intake.index_page") + "#pending")


@bp.post("/proposals/<int:proposal_id>/approve")
@require("proposal.decide", page=True)
def approve(proposal_id: int):
    def run():
        p = intake.approve(
            proposal_id,
            actor=current_user(),
            note=NoteForm(formdata=request.form).note.data or "",
            supermarket_id=current_supermarket().id,
        )
        flash(
            gettext(
                "已确认：%(number)s %(amount)s分，已计入积分",
                number=p.household.number,
                amount=f"{p.amount:+d}",
            ),
            "ok",
        )

    return _decide(run)


@bp.post("/proposals/<int:proposal_id>/reject")
@require("proposal.decide", page=True)
def reject(proposal_id: int):
    def run():
        p = intake.reject(
            proposal_id,
            actor=current_user(),
            note=NoteForm(formdata=request.form).note.data or "",
            supermarket_id=current_supermarket().id,
        )
        flash(gettext("已退回 %(number)s 的加减分", number=p.household.number), "ok")

    return _decide(run)


@bp.post("/proposals/<int:proposal_id>/withdraw")
@require("points.enter", page=True)
def withdraw(proposal_id: int):
    def run():
        p = intake.withdraw(
            proposal_id, actor=current_user(), supermarket_id=current_supermarket().id
        )
        flash(gettext("已撤回 %(number)s 的加减分", number=p.household.number), "ok")

    return _decide(run)


@bp.post("/proposals/decide")
@require("proposal.decide", page=True)
def decide_many():
    """Approve or reject the ticked proposals together (one transaction, all or none)."""

    def run():
        form = DecideManyForm(formdata=request.form)
        ids = form.proposal_ids()
        rejecting = form.rejecting()
        note = form.note.data or ""
        supermarket_id = current_supermarket().id
        if rejecting:
            n = intake.reject_many(
                ids, actor=current_user(), note=note, supermarket_id=supermarket_id
            )
            flash(gettext("已退回 %(n)s 条加减分", n=n), "ok")
        else:
            n = intake.approve_many(
                ids, actor=current_user(), note=note, supermarket_id=supermarket_id
            )
            flash(gettext("已确认 %(n)s 条加减分，已计入积分", n=n), "ok")

    return _decide(run)


@bp.post("/batches/<int:batch_id>/approve")
@require("proposal.decide", page=True)
def approve_batch(batch_id: int):
    def run():
        n = intake.approve_batch(
            batch_id, actor=current_user(), supermarket_id=current_supermarket().id
        )
        flash(gettext("已确认导入批次 #%(id)s 的 %(n)s 条加减分", id=batch_id, n=n), "ok")

    return _decide(run)


@bp.get("/export/proposals.xlsx")
@require("proposal.read", page=True)
def export_proposals() -> Response:
    """Every proposal, pending and decided, as the assessment group's register (台账)."""
    return send_xlsx(*intake_reports.proposals_xlsx(current_supermarket()))


# --- standard items ------------------------------------------------------------------------


@bp.get("/standards")
@require("proposal.read", page=True)
def standards_page():
    """The supermarket's standard items, each editable by admins."""
    return _standards()


def _standards(error: str | None = None, form: dict[str, str] | None = None, status: int = 200):
    supermarket = current_supermarket()
    return (
        render_template(
            "intake/standards.html",
            **_context(
                items=standards.list_items(supermarket.id),
                error=error,
                form=form or {},
                error_item=(form or {}).get("item_id"),
            ),
        ),
        status,
    )


@bp.post("/standards")
@require("points.enter", page=True)
def create_standard():
    form = StandardItemForm()
    try:
        if not form.validate():
            raise ValidationFailed(form.first_error())
        item = standards.create_item(
            current_supermarket().id,
            code=form.code.data,
            title=form.title.data,
            points=form.points.data,
            category=form.category.data,
            actor=current_user(),
        )
    except DomainError as exc:
        return _standards(exc.message, form.typed(), 422)
    flash(gettext("已添加标准 %(code)s", code=item.code), "ok")
    return redirect(url_for("intake.standards_page"))


@bp.post("/standards/<int:item_id>")
@require("points.enter", page=True)
def update_standard(item_id: int):
    form = StandardItemForm()
    try:
        if not form.validate():
            raise ValidationFailed(form.first_error())
        item = standards.update_item(
            item_id,
            title=form.title.data or "",
            points=form.points.data,
            category=form.category.data or "",
            active=form.active.data == "1",
            sort_order=form.order(),
            actor=current_user(),
            supermarket_id=current_supermarket().id,
        )
    except DomainError as exc:
        return _standards(exc.message, {**form.typed(), "item_id": str(item_id)}, 422)
    flash(gettext("已保存标准 %(code)s", code=item.code), "ok")
    return redirect(url_for("intake.standards_page") + f"#item-{item.id}")


@bp.post("/standards/seed")
@require("points.enter", page=True)
def seed_standards():
    n = standards.seed_standard_items(current_supermarket().id, actor=current_user())
    if n:
        flash(gettext("已添加寨里镇的 %(n)s 条标准", n=n), "ok")
    else:
        flash(gettext("已有积分标准，没有重复添加"), "error")
    return redirect(url_for("intake.standards_page"))


@bp.get("/export/standards.xlsx")
@require("proposal.read", page=True)
def export_standards() -> Response:
    """The point standards, in use and retired, as a spreadsheet."""
    return send_xlsx(*intake_reports.standards_xlsx(current_supermarket()))


# --- import --------------------------------------------------------------------------------


@bp.get("/import")
@require("proposal.read", page=True)
def import_page():
    """Upload a file to check; the import templates; recent batches."""
    return _import_page()


def _import_page(error: str | None = None, kind: str = "", status: int = 200):
    supermarket = current_supermarket()
    return (
        render_template(
            "intake/import.html",
            **_context(
                kinds=IMPORT_KINDS,
                kind_hints=KIND_HINTS,
                chosen=kind or request.args.get("kind") or "households",
                batches=imports.recent_batches(supermarket.id),
                error=error,
                max_mb=imports.MAX_FILE_BYTES // (1024 * 1024),
            ),
        ),
        status,
    )


@bp.post("/import")
@require("points.enter", page=True)
def upload():
    kind = ImportForm(formdata=request.form).kind.data or ""
    upload = request.files.get("file")
    if kind not in IMPORT_KINDS:
        return _import_page(gettext("请选择导入的内容"), status=422)
    if upload is None or not upload.filename:
        return _import_page(gettext("请选择要导入的文件"), kind, 422)
    data = upload.stream.read(imports.MAX_FILE_BYTES + 1)
    if len(data) > imports.MAX_FILE_BYTES:
        return _import_page(
            gettext("文件太大：最大 %(n)s MB", n=imports.MAX_FILE_BYTES // (1024 * 1024)), kind, 422
        )
    try:
        batch, _ = imports.preview_import(
            current_supermarket().id, kind, upload.filename, data, actor=current_user()
        )
    except DomainError as exc:
        return _import_page(exc.message, kind, 422)
    return redirect(url_for("intake.batch_page", batch_id=batch.id))


@bp.get("/import/<int:batch_id>")
@require("proposal.read", page=True)
def batch_page(batch_id: int):
    """Every row of an uploaded file with its status and errors; commit when all are valid."""
    batch = imports.get_batch(batch_id, current_supermarket().id)
    preview = batch.preview or {}
    # The problems and errors as stored (msgids and parameters; plain Chinese text in a batch
    # previewed before), rendered in the page's language.
    rows = [{**r, "errors": from_json(r["errors"])} for r in preview.get("rows", [])]
    only_errors = request.args.get("errors") == "1"
    shown = [r for r in rows if r["errors"]] if only_errors else rows
    pages = max(1, (len(shown) + PREVIEW_PAGE_ROWS - 1) // PREVIEW_PAGE_ROWS)
    page = min(parsing.optional_int(request.args.get("page", "1"), minimum=1) or 1, pages)
    start = (page - 1) * PREVIEW_PAGE_ROWS
    error_rows = sum(1 for r in rows if r["errors"])
    problems = from_json(preview.get("problems", []))
    committable = (
        batch.status != IMPORT_COMMITTED and not problems and error_rows == 0 and bool(rows)
    )
    pending = 0
    if batch.kind == IMPORT_POINTS and batch.status == IMPORT_COMMITTED:
        pending = intake.pending_in_batch(batch.id)
    return render_template(
        "intake/batch.html",
        **_context(
            batch=batch,
            headers=preview.get("headers", []),
            problems=problems,
            ignored=preview.get("ignored", []),
            totals=preview.get("totals", {}),
            total_labels=TOTAL_LABELS,
            rows=shown[start : start + PREVIEW_PAGE_ROWS],
            all_rows=len(rows),
            error_rows=error_rows,
            only_errors=only_errors,
            page=page,
            pages=pages,
            committable=committable,
            pending=pending,
        ),
    )


@bp.post("/import/<int:batch_id>/commit")
@require("points.enter", page=True)
def commit(batch_id: int):
    try:
        result = imports.commit_import(
            batch_id, actor=current_user(), supermarket_id=current_supermarket().id
        )
    except ImportInvalid as exc:
        flash(exc.message[:500], "error")
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        parts = imports.written_message(result.written)
        flash(gettext("已导入：%(parts)s", parts=parts), "ok")
    return redirect(url_for("intake.batch_page", batch_id=batch_id))


@bp.get("/import/template/<kind>.xlsx")
@require("proposal.read", page=True)
def template(kind: str) -> Response:
    if kind not in IMPORT_KINDS:
        abort(404)
    name = gettext("%(kind)s导入模板.xlsx", kind=KIND_LABELS[kind])
    return send_xlsx(imports.template_bytes(kind), name)


@bp.get("/import/<int:batch_id>/errors.xlsx")
@require("proposal.read", page=True)
def batch_errors(batch_id: int) -> Response:
    """The rows of a batch with their errors, to correct in Excel."""
    batch = imports.get_batch(batch_id, current_supermarket().id)
    return send_xlsx(*intake_reports.batch_errors_xlsx(batch))


def batch_status(batch: ImportBatch) -> str:
    if batch.status == IMPORT_COMMITTED:
        return gettext("已导入")
    if batch.error_rows:
        return gettext("有错误，未导入")
    return gettext("已检查，未导入")


bp.add_app_template_filter(batch_status, "import_batch_status")
