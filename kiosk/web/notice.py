"""The public notice pages (公示): draft, preview and publish a quarter's notice; the printable A4
page, the XLSX and the village hall's large screen; objections (异议) recorded and resolved.

Admins draft, publish and record or resolve objections; supervisors read every page (and the
objection log); keepers have none of these pages. The large screen (``/notice/screen``) needs
no login: it shows what the notice board shows — the newest published notice of this kiosk's
supermarket, nothing else (no drafts, no old revisions, no objections; see docs/notice.md).
Plain HTML forms, posted and redirected (PRG); a refusal shows the Chinese message on the page
with what was typed kept.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup, escape

from kiosk import auth, clock, households, intake, notice, objections, parsing, rules
from kiosk.authn import current_supermarket, current_user, may, require
from kiosk.errors import DomainError, ValidationFailed
from kiosk.formatting import period_name
from kiosk.models import (
    NOTICE_DRAFT,
    NOTICE_PUBLISHED,
    NOTICE_SUPERSEDED,
    OBJECTION_OPEN,
    Notice,
    Objection,
    User,
)
from kiosk.reports.notice import bar_label, chart_title, hash_groups, notice_xlsx, shown_bars
from kiosk.web.downloads import send_xlsx
from kiosk.web.forms import NoteForm, ObjectionForm, PeriodForm, ResolveForm

bp = Blueprint("notice", __name__, url_prefix="/notice")

# The large screen: rows per page and seconds per page (a village may pass ?seconds=).
SCREEN_ROWS = 10
SCREEN_SECONDS = 15
SCREEN_SECONDS_RANGE = (5, 120)


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("notice.publish"),
        **extra,
    }


def _notice(notice_id: int) -> Notice:
    return notice.get_notice(notice_id, current_supermarket().id)


def _printable(notice_id: int) -> Notice:
    """Only published notices (and superseded ones, marked) are printed or exported."""
    n = _notice(notice_id)
    if n.status not in (NOTICE_PUBLISHED, NOTICE_SUPERSEDED):
        raise ValidationFailed(gettext("草稿不能打印或导出，请先发布"))
    return n


# ---------------------------------------------------------------------------
# The chart (inline SVG, drawn here: no JavaScript library, works offline and on paper)
# ---------------------------------------------------------------------------

_BAR_COLOURS = ("#9aa5b1", "#e8a33d", "#d9642b", "#c0392b", "#8e1b12")


def chart_svg(distribution: dict[str, Any], *, title: str = "") -> Markup:
    """The notice's chart: a pyramid (羊亭) or horizontal bars (寨里 stars, points bands), its
    words in the page's language."""
    bars = shown_bars(distribution)

    def unit(n: int) -> str:
        return gettext("%(n)s户", n=n)

    if distribution.get("kind") == notice.CHART_PYRAMID:
        return _pyramid_svg(bars, unit, title)
    row_h, label_w, bar_w, width = 46, 230, 300, 640
    height = row_h * len(bars) + 8
    top = max([b["count"] for b in bars] + [1])
    parts = [
        f'<svg class="notice-chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * row_h
        w = round(bar_w * bar["count"] / top) if bar["count"] else 0
        colour = _BAR_COLOURS[min(bar.get("stars") or 0, 5) - 1 if bar.get("stars") else 0]
        if distribution.get("kind") == notice.CHART_BANDS:
            colour = _BAR_COLOURS[min(4, 1 + i * 4 // max(1, len(bars)))]
        parts.append(
            f'<text x="{label_w - 10}" y="{y + row_h / 2 + 8}" text-anchor="end" '
            f'font-size="22" fill="currentColor">{escape(bar_label(bar))}</text>'
            f'<rect x="{label_w}" y="{y + 6}" width="{max(w, 2)}" height="{row_h - 14}" '
            f'rx="4" fill="{colour}"/>'
            f'<text x="{label_w + max(w, 2) + 10}" y="{y + row_h / 2 + 8}" font-size="22" '
            f'font-weight="bold" fill="currentColor">{escape(unit(bar["count"]))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _pyramid_svg(levels: list[dict[str, Any]], unit: Any, title: str) -> Markup:
    """Stacked layers of one triangle, the lowest band at the base, with name, range and count
    beside each layer (004 "以金字塔形式直觀展現")."""
    n = max(1, len(levels))
    layer_h, half_base, apex_x, top_y, width = 62, 118, 122, 8, 530
    height = top_y + layer_h * n + 8
    parts = [
        f'<svg class="notice-chart notice-pyramid" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
    ]
    total_h = layer_h * n

    def half(y: float) -> float:
        return half_base * (y - top_y) / total_h

    colours = ("#e8a33d", "#d9642b", "#c0392b", "#8e1b12", "#6d140d")
    for i, level in enumerate(reversed(levels)):  # i = 0 is the top layer
        y0, y1 = top_y + i * layer_h, top_y + (i + 1) * layer_h
        pts = [
            (apex_x - half(y0), y0),
            (apex_x + half(y0), y0),
            (apex_x + half(y1), y1),
            (apex_x - half(y1), y1),
        ]
        colour = colours[min(len(levels) - 1 - i, len(colours) - 1)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(
            f'<polygon points="{points}" fill="{colour}" stroke="#fff" stroke-width="2"/>'
            f'<text x="{apex_x + half_base + 18}" y="{y0 + layer_h / 2 + 9}" font-size="26" '
            f'fill="currentColor"><tspan font-weight="bold">{escape(level["label"])}</tspan> '
            f"{escape(level.get('range') or '')}  "
            f'<tspan font-weight="bold">{escape(unit(level["count"]))}</tspan></text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _view(n: Notice) -> dict[str, Any]:
    """What every rendering of a notice needs."""
    content = n.content
    title = chart_title(content)
    return {
        "n": n,
        "c": content,
        "red": notice.red_list(n),
        "chart": chart_svg(content["distribution"], title=title),
        "chart_title": title,
        "hash_short": hash_groups(n.content_hash),
    }


@bp.app_template_filter("redact")
def _redact_filter(text: str | None) -> str:
    return notice.redact(text)


@bp.app_template_filter("public_name")
def _public_name_filter(text: str | None) -> str:
    return notice.public_name(text)


# ---------------------------------------------------------------------------
# The list, drafting, preview, publishing
# ---------------------------------------------------------------------------


@bp.get("/")
@require("notice.review", page=True)
def index_page():
    sm = current_supermarket()
    today = clock.local_now().date()
    notices = notice.list_notices(sm.id)
    return render_template(
        "notice/index.html",
        **_context(
            notices=notices,
            quarters=[(q, period_name(q)) for q in notice.quarter_choices(today)],
            months=[(m, period_name(m)) for m in notice.month_choices(today)],
            counts=objections.counts_by_period(sm.id),
            open_count=objections.counts(sm.id)["open"],
            users=_users({x.published_by_id for x in notices} | {x.created_by_id for x in notices}),
            screen=notice.latest_published(sm.id),
        ),
    )


def _users(ids: set[int | None]) -> dict[int, User]:
    return auth.users_by_id(ids)


@bp.post("/draft")
@require("notice.publish", page=True)
def draft():
    form = PeriodForm(formdata=request.form)
    try:
        form.checked()
        n = notice.draft_notice(
            current_supermarket().id,
            form.period.data or "",
            actor=current_user(),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("notice.index_page"))
    return redirect(url_for("notice.notice_page", notice_id=n.id))


@bp.get("/<int:notice_id>")
@require("notice.review", page=True)
def notice_page(notice_id: int):
    n = _notice(notice_id)
    sm = current_supermarket()
    in_force = notice.published(sm.id, n.period)
    objection_rows = objections.list_objections(sm.id, period=n.period)
    return render_template(
        "notice/notice.html",
        **_context(
            **_view(n),
            stale=n.status == NOTICE_DRAFT and notice.is_stale(n),
            in_force=in_force,
            olist=objection_rows,
            counts=objections.counts(sm.id, n.period),
            objected={o.household_id for o in objection_rows if o.status == OBJECTION_OPEN},
        ),
    )


@bp.post("/<int:notice_id>/publish")
@require("notice.publish", page=True)
def publish(notice_id: int):
    n = _notice(notice_id)
    note = NoteForm(formdata=request.form).note.data or ""
    try:
        n = notice.publish_notice(n.id, actor=current_user(), note=note)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("notice.notice_page", notice_id=notice_id, note=note))
    flash(
        gettext(
            "已发布%(period)s公示（第%(rev)s版）",
            period=period_name(n.period),
            rev=n.revision,
        ),
        "info",
    )
    return redirect(url_for("notice.notice_page", notice_id=n.id))


@bp.post("/<int:notice_id>/discard")
@require("notice.publish", page=True)
def discard(notice_id: int):
    n = _notice(notice_id)
    try:
        notice.discard_draft(n.id, actor=current_user())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("notice.notice_page", notice_id=notice_id))
    flash(gettext("草稿已放弃"), "info")
    return redirect(url_for("notice.index_page"))


# ---------------------------------------------------------------------------
# Print, XLSX, the large screen
# ---------------------------------------------------------------------------


@bp.get("/<int:notice_id>/print")
@require("notice.review", page=True)
def print_page(notice_id: int):
    n = _printable(notice_id)
    return render_template("notice/print.html", **_context(**_view(n)))


@bp.get("/<int:notice_id>/xlsx")
@require("notice.review", page=True)
def xlsx(notice_id: int):
    return send_xlsx(*notice_xlsx(_printable(notice_id)))


@bp.get("/screen")
def screen_page():
    """The village hall's TV: the newest published notice, no login (what the board shows)."""
    sm = current_supermarket()
    n = notice.latest_published(sm.id)
    seconds = request.args.get("seconds", SCREEN_SECONDS, type=parsing.count)
    seconds = min(max(seconds, SCREEN_SECONDS_RANGE[0]), SCREEN_SECONDS_RANGE[1])
    view = _view(n) if n is not None else {}
    rows = n.content["rows"] if n is not None else []
    pages = [rows[i : i + SCREEN_ROWS] for i in range(0, len(rows), SCREEN_ROWS)] or [[]]
    return render_template(
        "notice/screen.html", supermarket=sm, seconds=seconds, pages=pages, **view
    )


# ---------------------------------------------------------------------------
# Objections
# ---------------------------------------------------------------------------


def _objection_form(n: Notice, household_id: int, form: dict[str, str], error: str | None = None):
    row = next((r for r in n.content["rows"] if r["household_id"] == household_id), None)
    if row is None:
        abort(404)
    household = households.find_household(household_id)
    members = households.active_members(household_id)
    return render_template(
        "notice/objection_form.html",
        **_context(
            n=n,
            row=row,
            household=household,
            members=members,
            form=form,
            error=error,
            today=clock.local_now().date(),
        ),
    ), (400 if error else 200)


@bp.get("/<int:notice_id>/objections/new")
@require("objection.handle", page=True)
def objection_new(notice_id: int):
    n = _notice(notice_id)
    if n.status != NOTICE_PUBLISHED:
        raise ValidationFailed(gettext("只能对正在公示的版本提出异议（草稿或已被取代的版本不行）"))
    household_id = request.args.get("household", type=parsing.db_id)
    if household_id is None:
        abort(404)
    return _objection_form(n, household_id, {})


@bp.post("/<int:notice_id>/objections")
@require("objection.handle", page=True)
def objection_create(notice_id: int):
    n = _notice(notice_id)
    form = ObjectionForm(formdata=request.form)
    form.validate()
    household_id = form.household_id.data
    if household_id is None:
        abort(404)
    try:
        member_id = form.member_id.data
        member = households.find_member(member_id) if member_id is not None else None
        if member is None or member.household_id != household_id:
            raise ValidationFailed(gettext("请选择提出异议的家庭成员"))
        form.checked()
        assert form.raised_on.data is not None  # checked: a day is required
        o = objections.record_objection(
            n.id,
            household_id,
            raised_by=member.name,
            raised_on=form.raised_on.data,
            disputed=form.disputed.data or "",
            actor=current_user(),
        )
    except DomainError as exc:
        return _objection_form(n, household_id, form.typed(), exc.message)
    flash(gettext("已记录第%(id)s号异议", id=o.id), "info")
    return redirect(url_for("notice.notice_page", notice_id=n.id) + "#objections")


@bp.get("/objections")
@require("notice.review", page=True)
def objections_page():
    sm = current_supermarket()
    status = request.args.get("status") or None
    if status not in (None, *objections.STATUSES):
        status = None
    rows = objections.list_objections(sm.id, status=status)
    return render_template(
        "notice/objections.html",
        **_context(olist=rows, status=status, counts=objections.counts(sm.id)),
    )


def _objection_page(o: Objection, form: dict[str, str], error: str | None = None):
    return render_template(
        "notice/objection.html",
        **_context(
            o=o,
            form=form,
            error=error,
            users=_users({o.created_by_id, o.resolved_by_id}),
            correction=objections.correction_proposal(o),
            evidence=intake.approved_between(
                o.supermarket_id, o.household_id, *rules.period_bounds(o.notice.period)
            ),
        ),
    ), (400 if error else 200)


@bp.get("/objections/<int:objection_id>")
@require("notice.review", page=True)
def objection_page(objection_id: int):
    o = objections.get_objection(objection_id, current_supermarket().id)
    return _objection_page(o, {})


@bp.post("/objections/<int:objection_id>/resolve")
@require("objection.handle", page=True)
def objection_resolve(objection_id: int):
    o = objections.get_objection(objection_id, current_supermarket().id)
    form = ResolveForm(formdata=request.form)
    correction = None
    upheld = False
    try:
        upheld = form.upheld()
        form.checked()
        correction = form.correction.data
        objections.resolve_objection(
            o.id,
            upheld=upheld,
            resolution=form.resolution.data or "",
            correction=correction,
            actor=current_user(),
        )
    except DomainError as exc:
        o = objections.get_objection(objection_id, current_supermarket().id)
        return _objection_page(o, form.typed(), exc.message)
    if correction is not None and upheld:
        flash(gettext("异议已处理；积分更正须由另一位管理员在“积分录入”确认后才计入"), "info")
    else:
        flash(gettext("异议已处理"), "info")
    return redirect(url_for("notice.objection_page", objection_id=o.id))
