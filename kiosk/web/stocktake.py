"""The stocktake pages (盘点): the list of counts, starting one, the count page several
people use at once, and the variance report with the approval and sign-off buttons.

Keepers and admins start, count and submit; admins approve, send back and cancel; the
supervisors sign off and read everything. The count page posts each scan here
(``POST /stocktake/<id>/scan``, JSON from ``static/js/stocktake.js`` or a plain form without
JavaScript) and polls the lines every few seconds, so what one phone counts shows up on the
others. A phone's camera posts frames to ``/stocktake/<id>/frame``, decoded by the same
decoders as the counter's tablet page but never published to the counter's scan stream.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response

from hardware import decoders
from inventory import products as product_service
from inventory import stocktake as service
from inventory.models import (
    COUNT_APPROVED,
    COUNT_COUNTING,
    COUNT_EVENT_KINDS,
    COUNT_SUBMITTED,
)
from kiosk import auth
from kiosk.authn import current_supermarket, current_user, may, require, signed_in_user
from kiosk.errors import DomainError, PermissionDenied, ValidationFailed
from kiosk.formatting import local_time
from kiosk.reports.stocktake import state_label, variance_xlsx
from kiosk.timeutil import utcnow
from kiosk.web.downloads import send_xlsx
from kiosk.web.forms import CountScanForm, StocktakeStartForm, json_formdata
from kiosk.web.guards import body_limit
from kiosk.web.scanner import MAX_FRAME_REQUEST_BYTES, hub, read_frame

bp = Blueprint("stocktake", __name__, url_prefix="/stocktake")

POLL_SECONDS = 3


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("stocktake.count"),
        "can_count": may("stocktake.count"),
        "is_admin": may("stocktake.decide"),
        "is_supervisor": may("stocktake.sign_off"),
        "state_label": state_label,
        **extra,
    }


def _blind(status: str) -> bool:
    """Keepers count blind: no book quantities for them while the count is counting."""
    return status == COUNT_COUNTING and not may("stocktake.see_book")


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


@bp.get("")
@require("stocktake.read", page=True)
def index_page() -> str:
    """Every count of this supermarket, newest first, with its progress."""
    supermarket = current_supermarket()
    counts = service.list_stocktakes(supermarket.id)
    progress = service.progress([st.id for st in counts])
    return render_template("stocktake/index.html", **_context(counts=counts, progress=progress))


@bp.get("/new")
@require("stocktake.count", page=True)
def start_page() -> str:
    """Choose what to count: everything, or some categories."""
    return _start_form()


def _start_form(error: str | None = None, chosen: list[int] | None = None, note: str = ""):
    supermarket = current_supermarket()
    categories = product_service.categories(supermarket.id)
    return render_template(
        "stocktake/start.html",
        **_context(
            categories=categories, error=error, chosen=set(chosen or []), note=note, scope="all"
        ),
    ), (400 if error else 200)


@bp.post("/new")
@require("stocktake.count", page=True)
def start() -> Any:
    supermarket = current_supermarket()
    form = StocktakeStartForm(formdata=request.form)
    form.validate()
    scope, note, chosen = form.scope.data, form.note.data or "", form.category_ids()
    if scope == "categories" and not chosen:
        return _start_form(gettext("请至少选择一个分类，或选择盘点全部商品"), chosen, note)
    try:
        st = service.start_count(
            supermarket.id,
            actor=signed_in_user(),
            category_ids=chosen if scope == "categories" else None,
            note=note,
        )
    except DomainError as exc:
        return _start_form(exc.message, chosen, note)
    flash(gettext("已开始第%(n)s号盘点，账面数量已锁定", n=st.id), "ok")
    return redirect(url_for("stocktake.count_page", stocktake_id=st.id))


@bp.get("/<int:stocktake_id>/count")
@require("stocktake.count", page=True)
def count_page(stocktake_id: int) -> Any:
    """The count: scan (wedge, camera or typed), + / − / set per line, polled from the server."""
    supermarket = current_supermarket()
    st = service.get_stocktake(stocktake_id, supermarket.id)
    if st.status != COUNT_COUNTING:
        flash(gettext("这次盘点已不在清点中"), "error")
        return redirect(url_for("stocktake.report_page", stocktake_id=st.id))
    lines = service.line_states(st.id)
    return render_template(
        "stocktake/count.html",
        **_context(
            st=st,
            lines=lines,
            counted=sum(1 for ln in lines if ln.counted_qty is not None),
            poll_seconds=POLL_SECONDS,
            can_decode=bool(decoders.available_decoders()),
        ),
    )


@bp.get("/<int:stocktake_id>/lines")
@require("stocktake.count")
def lines_json(stocktake_id: int) -> Response:
    """The count's lines as JSON, for the count page's polling."""
    supermarket = current_supermarket()
    st = service.get_stocktake(stocktake_id, supermarket.id)
    lines = service.line_states(st.id)
    return jsonify(
        {
            "status": st.status,
            "status_label": state_label(st.status),
            "counted": sum(1 for ln in lines if ln.counted_qty is not None),
            "total": len(lines),
            "lines": [
                dict(ln.to_dict(), last_local=local_time(ln.last_at, "%H:%M")) for ln in lines
            ],
        }
    )


@bp.post("/<int:stocktake_id>/scan")
@require("stocktake.count")  # a lapsed session answers 401 JSON: the page goes to the login
def scan(stocktake_id: int) -> Any:
    """Count one line: JSON {barcode | line_id, kind, quantity, device, key} or a plain form."""
    supermarket = current_supermarket()
    if request.is_json:
        form = CountScanForm(formdata=json_formdata(request.get_json(silent=True)))
    else:
        form = CountScanForm(formdata=request.form)
    as_json = _wants_json()
    try:
        kind = form.kind_text()
        if kind not in COUNT_EVENT_KINDS:
            raise ValidationFailed(gettext("清点方式不正确"))
        if not form.validate():
            raise ValidationFailed(form.first_error())
        line_id, barcode = form.line_id.data, form.barcode_text()
        if line_id is None and barcode is None:
            raise ValidationFailed(gettext("请扫描或输入商品条码"))
        result = service.record_count(
            stocktake_id,
            actor=signed_in_user(),
            kind=kind,
            quantity=form.quantity.data,
            line_id=line_id,
            barcode=barcode,
            device=form.device_text(),
            client_key=form.client_key(),
            supermarket_id=supermarket.id,
        )
    except DomainError as exc:
        if as_json:
            return jsonify(exc.to_dict()), exc.status
        flash(exc.message, "error")
        return redirect(url_for("stocktake.count_page", stocktake_id=stocktake_id))
    if as_json:
        return jsonify(
            {
                "line_id": result.line_id,
                "product_id": result.product_id,
                "name": result.name,
                "counted_qty": result.counted_qty,
                "duplicate": result.duplicate,
                "last_by": signed_in_user().display_name,
                "last_local": local_time(utcnow(), "%H:%M"),
            }
        )
    if result.counted_qty is None:
        flash(gettext("%(name)s：已改回未清点", name=result.name), "ok")
    else:
        flash(gettext("%(name)s：已清点 %(n)s", name=result.name, n=result.counted_qty), "ok")
    return redirect(url_for("stocktake.count_page", stocktake_id=stocktake_id))


@bp.post("/<int:stocktake_id>/frame")
@body_limit(MAX_FRAME_REQUEST_BYTES)
@require("stocktake.count")
def frame(stocktake_id: int) -> Any:
    """Decode one phone camera frame and return the codes; the page counts each new one.

    Unlike ``/scanner/frame`` nothing is published to the counter's scan stream: a product
    shown to a counting phone must not land in a resident's cart at the counter.
    """
    service.get_stocktake(stocktake_id, current_supermarket().id)
    image = read_frame()
    if image is None:
        message = gettext("图片无法识别：请上传清晰的JPEG照片")
        return jsonify({"error": {"code": "bad_image", "message": message}}), 400
    try:
        found = decoders.decode(image, hub().decoder)
    except decoders.DecoderUnavailable:
        message = gettext("本机没有可用的扫码解码器")
        return jsonify({"error": {"code": "no_decoder", "message": message}}), 503
    return jsonify({"codes": [{"text": c.text, "kind": c.kind} for c in found]})


def _action(stocktake_id: int, fn, done: str, **kwargs: Any) -> Response:
    try:
        fn(stocktake_id, actor=signed_in_user(), supermarket_id=current_supermarket().id, **kwargs)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "ok")
    return redirect(url_for("stocktake.report_page", stocktake_id=stocktake_id))


@bp.post("/<int:stocktake_id>/submit")
@require("stocktake.count", page=True)
def submit(stocktake_id: int) -> Response:
    return _action(stocktake_id, service.submit, gettext("已提交，等待村管理员审批"))


@bp.post("/<int:stocktake_id>/send-back")
@require("stocktake.decide", page=True)
def send_back(stocktake_id: int) -> Response:
    reason = request.form.get("reason", "")
    return _action(stocktake_id, service.send_back, gettext("已退回，可以继续清点"), reason=reason)


@bp.post("/<int:stocktake_id>/cancel")
@require("stocktake.decide", page=True)
def cancel(stocktake_id: int) -> Response:
    reason = request.form.get("reason", "")
    return _action(stocktake_id, service.cancel, gettext("已取消这次盘点"), reason=reason)


@bp.post("/<int:stocktake_id>/approve")
@require("stocktake.decide", page=True)
def approve(stocktake_id: int) -> Response:
    return _action(
        stocktake_id, service.approve, gettext("已审批：盘盈盘亏已记入库存台账，等待监督小组签字")
    )


@bp.post("/<int:stocktake_id>/sign-off")
@require("stocktake.sign_off", page=True)
def sign_off(stocktake_id: int) -> Response:
    return _action(stocktake_id, service.sign_off, gettext("已签字确认，本次盘点入账完成"))


@bp.get("/<int:stocktake_id>")
@require("stocktake.read", page=True)
def report_page(stocktake_id: int) -> str:
    """The variance report (盘点差异表) and the buttons for the next step."""
    rep = service.report(stocktake_id, current_supermarket().id)
    only = request.args.get("show", "all")
    st = rep.stocktake
    ids = {
        st.started_by_id,
        st.submitted_by_id,
        st.approved_by_id,
        st.posted_by_id,
        st.cancelled_by_id,
    } - {None}
    people = {i: u.display_name for i, u in auth.users_by_id(ids).items()}
    return render_template(
        "stocktake/report.html",
        **_context(
            st=rep.stocktake,
            rep=rep,
            show_book=not _blind(rep.stocktake.status),
            show=only if only in ("all", "variance", "uncounted") else "all",
            events=service.count_events(rep.stocktake.id, limit=30),
            people=people,
            device_labels={
                "wedge": gettext("扫码枪"),
                "camera": gettext("摄像头"),
                "typed": gettext("输入条码"),
                "button": gettext("按键"),
            },
            COUNT_COUNTING=COUNT_COUNTING,
            COUNT_SUBMITTED=COUNT_SUBMITTED,
            COUNT_APPROVED=COUNT_APPROVED,
        ),
    )


@bp.get("/<int:stocktake_id>/report.xlsx")
@require("stocktake.read", page=True)
def report_xlsx(stocktake_id: int) -> Response:
    """The variance report as a spreadsheet, to print and sign."""
    rep = service.report(stocktake_id, current_supermarket().id)
    st = rep.stocktake
    if _blind(st.status):
        raise PermissionDenied(gettext("清点期间不显示账面数量，提交后才能下载差异表"))
    return send_xlsx(*variance_xlsx(rep, current_supermarket()))
