"""The office's households and cards pages (户与积分卡): find a household by name, pinyin
initials, number or card on a touch keypad; its members, points and cards; forms to add and
correct households and members, to deactivate or take them back, and to issue, reissue, revoke
and print cards.

Admins write; supervisors read the same pages without the forms; keepers have the counter.
Full names are shown: this is the office, not a public screen. Plain HTML forms post here and
redirect (PRG); a refusal re-shows the form with what was typed and the Chinese reason.
"""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from hardware.cards import group_digits
from inventory.products import policy_for
from kiosk import assessments, card_sheets, cards, households, points, printing
from kiosk.authn import current_supermarket, current_user, may, require, visible
from kiosk.clock import local_now
from kiosk.errors import DomainError, NotFound, ValidationFailed
from kiosk.models import (
    ACTIVE,
    ENTRY_AWARD,
    ENTRY_BASE_GRANT,
    ENTRY_CONVERSION,
    ENTRY_DEDUCTION,
    ENTRY_EXPIRY,
    ENTRY_REDEMPTION,
    ENTRY_REVERSAL,
    ENTRY_VETO_CLEAR,
    PRINT_PRINTED,
    Card,
    Household,
    Member,
)
from kiosk.web.forms import CardReasonForm, HouseholdForm, MemberForm, StatusForm, VillageForm

bp = Blueprint("households", __name__, url_prefix="/households")

HISTORY_LIMIT = 12

ENTRY_LABELS = {
    ENTRY_AWARD: lazy_gettext("加分"),
    ENTRY_DEDUCTION: lazy_gettext("扣分"),
    ENTRY_REDEMPTION: lazy_gettext("兑换"),
    ENTRY_REVERSAL: lazy_gettext("退回"),
    ENTRY_CONVERSION: lazy_gettext("评分折换"),
    ENTRY_VETO_CLEAR: lazy_gettext("一票否决清零"),
    ENTRY_EXPIRY: lazy_gettext("年终清零"),
    ENTRY_BASE_GRANT: lazy_gettext("基础分"),
}
# Suggestions offered under the reason fields (any other text may be typed).
HOUSEHOLD_REASONS = (lazy_gettext("迁出"), lazy_gettext("合户"), lazy_gettext("户已注销"))
MEMBER_REASONS = (
    lazy_gettext("迁出"),
    lazy_gettext("去世"),
    lazy_gettext("分户"),
    lazy_gettext("录入有误"),
)
CARD_REASONS = (
    lazy_gettext("遗失"),
    lazy_gettext("损坏"),
    lazy_gettext("被他人冒用"),
    lazy_gettext("户已注销"),
)


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("household.manage"),
        **extra,
    }


def _own_household(household_id: int) -> Household:
    """The household, if it belongs to this office's supermarket (else 404, as if absent)."""
    household = households.find_household(household_id)
    if household is None or not visible(household.supermarket_id):
        raise NotFound(gettext("没有找到该户"))
    return household


def _own_member(member_id: int) -> Member:
    member = households.find_member(member_id)
    if member is None or not visible(member.household.supermarket_id):
        raise NotFound(gettext("没有找到该成员"))
    return member


def _own_card(card_id: int) -> Card:
    card = cards.find_card(card_id)
    if card is None or not visible(card.household.supermarket_id):
        raise NotFound(gettext("没有找到该卡"))
    return card


def _find(query: str) -> list[Household]:
    """Search results; a scanned or typed card code finds its household directly."""
    return households.find_households(current_supermarket().id, query)[0]


# Search ----------------------------------------------------------------------------------------


@bp.get("")
@require("household.read", page=True)
def index_page() -> str:
    """Search with the on-screen keypad; the results follow every key."""
    query = (request.args.get("q") or "").strip()[:50]
    supermarket = current_supermarket()
    return render_template(
        "households/index.html",
        **_context(
            query=query,
            results=_find(query),
            limit=households.SEARCH_LIMIT,
            villages=card_sheets.villages(supermarket.id),
            keypad_rows=["1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"],
        ),
    )


@bp.get("/results")
@require("household.read", page=True)
def results_fragment() -> str:
    """The results list alone (HTML), fetched by households.js as the query changes."""
    query = (request.args.get("q") or "").strip()[:50]
    return render_template(
        "households/_results.html",
        query=query,
        results=_find(query),
        limit=households.SEARCH_LIMIT,
    )


# One household -------------------------------------------------------------------------------


@bp.get("/<int:household_id>")
@require("household.read", page=True)
def detail_page(household_id: int) -> str:
    """Members with their ages, status, points balance and recent entries, and the cards."""
    household = _own_household(household_id)
    today = local_now().date()
    members = [(m, households.age_on(m.birth_date, today)) for m in household.members]
    entries = points.history(household.id, HISTORY_LIMIT)
    return render_template(
        "households/detail.html",
        **_context(
            household=household,
            members=members,
            account=household.account,
            carried=_carried(household),
            entries=entries,
            events=points.entry_events([e.id for e in entries]),
            entry_labels=ENTRY_LABELS,
            cards=sorted(household.cards, key=lambda c: c.issue_no, reverse=True),
            active_card=cards.active_card(household),
            household_reasons=HOUSEHOLD_REASONS,
            member_reasons=MEMBER_REASONS,
            card_reasons=CARD_REASONS,
            digits=lambda card: group_digits(cards.payload_for(card)),
        ),
    )


def _carried(household: Household) -> str | None:
    """大同: the converted scores' fraction not yet a whole point, as "0.55", or None."""
    fraction = assessments.carried_fraction(household.id, policy_for(current_supermarket()))
    return assessments.format_points(fraction) if fraction > 0 else None


@bp.get("/new")
@require("household.manage", page=True)
def new_page() -> str:
    supermarket = current_supermarket()
    form = {"village": supermarket.village, "relation": gettext("户主")}
    return render_template("households/household_form.html", **_context(form=form, household=None))


@bp.post("/new")
@require("household.manage", page=True)
def create() -> Response | tuple[str, int]:
    form = HouseholdForm(formdata=request.form)
    try:
        form.checked()
        household = households.create_household(
            current_supermarket().id,
            number=form.number.data or "",
            head_name=form.head_name.data or "",
            village=form.village.data or "",
            group_name=form.group_name.data or "",
            members=[
                households.MemberInput(
                    form.head_name.data or "",
                    form.relation.data or gettext("户主"),
                    form.birth_date.data,
                )
            ],
            actor=current_user(),
        )
    except DomainError as exc:
        return render_template(
            "households/household_form.html",
            **_context(form=form.typed(), household=None, error=exc.message),
        ), exc.status
    flash(gettext("已登记 %(number)s 户", number=household.number), "ok")
    return redirect(url_for("households.detail_page", household_id=household.id))


@bp.get("/<int:household_id>/edit")
@require("household.manage", page=True)
def edit_page(household_id: int) -> str:
    household = _own_household(household_id)
    form = {
        "number": household.number,
        "head_name": household.head_name,
        "village": household.village,
        "group_name": household.group_name,
    }
    return render_template(
        "households/household_form.html", **_context(form=form, household=household)
    )


@bp.post("/<int:household_id>/edit")
@require("household.manage", page=True)
def update(household_id: int) -> Response | tuple[str, int]:
    household = _own_household(household_id)
    form = HouseholdForm(formdata=request.form)
    try:
        households.update_household(
            household.id,
            number=form.number.data or "",
            head_name=form.head_name.data or "",
            village=form.village.data or "",
            group_name=form.group_name.data or "",
            actor=current_user(),
        )
    except DomainError as exc:
        return render_template(
            "households/household_form.html",
            **_context(form=form.typed(), household=household, error=exc.message),
        ), exc.status
    flash(gettext("已保存"), "ok")
    return redirect(url_for("households.detail_page", household_id=household.id))


@bp.post("/<int:household_id>/status")
@require("household.manage", page=True)
def set_status(household_id: int) -> Response:
    household = _own_household(household_id)
    form = StatusForm(formdata=request.form)
    active = form.active.data
    try:
        form.checked()
        households.set_household_status(
            household.id, bool(active), actor=current_user(), reason=form.reason.data or ""
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("该户已恢复在册") if active else gettext("该户已停用"), "ok")
    return redirect(url_for("households.detail_page", household_id=household.id))


# Members ---------------------------------------------------------------------------------------


def _member_form_page(household: Household, member: Member | None, form: dict, **extra: Any):
    return render_template(
        "households/member_form.html",
        **_context(household=household, member=member, form=form, **extra),
    )


@bp.get("/<int:household_id>/members/new")
@require("household.manage", page=True)
def new_member_page(household_id: int) -> str:
    return _member_form_page(_own_household(household_id), None, {})


@bp.post("/<int:household_id>/members/new")
@require("household.manage", page=True)
def add_member(household_id: int) -> Response | tuple[str, int]:
    household = _own_household(household_id)
    form = MemberForm(formdata=request.form)
    try:
        form.checked()
        member = households.MemberInput(
            form.name.data or "", form.relation.data or "", form.birth_date.data
        )
        row = households.add_member(household.id, member, actor=current_user())
    except DomainError as exc:
        return _member_form_page(household, None, form.typed(), error=exc.message), exc.status
    flash(gettext("已添加成员 %(name)s", name=row.name), "ok")
    return redirect(url_for("households.detail_page", household_id=household.id))


@bp.get("/members/<int:member_id>/edit")
@require("household.manage", page=True)
def edit_member_page(member_id: int) -> str:
    member = _own_member(member_id)
    form = {
        "name": member.name,
        "relation": member.relation,
        "birth_date": member.birth_date.isoformat() if member.birth_date else "",
    }
    return _member_form_page(member.household, member, form)


@bp.post("/members/<int:member_id>/edit")
@require("household.manage", page=True)
def update_member(member_id: int) -> Response | tuple[str, int]:
    member = _own_member(member_id)
    household = member.household
    form = MemberForm(formdata=request.form)
    try:
        form.checked()
        data = households.MemberInput(
            form.name.data or "", form.relation.data or "", form.birth_date.data
        )
        households.update_member(member.id, data, actor=current_user())
    except DomainError as exc:
        return _member_form_page(household, member, form.typed(), error=exc.message), exc.status
    flash(gettext("已保存"), "ok")
    return redirect(url_for("households.detail_page", household_id=household.id))


@bp.post("/members/<int:member_id>/status")
@require("household.manage", page=True)
def set_member_status(member_id: int) -> Response:
    member = _own_member(member_id)
    household_id = member.household_id
    form = StatusForm(formdata=request.form)
    active = form.active.data
    try:
        form.checked()
        row = households.set_member_status(
            member.id, bool(active), reason=form.reason.data or "", actor=current_user()
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        if active:
            flash(gettext("%(name)s已恢复在册", name=row.name), "ok")
        else:
            flash(gettext("%(name)s已停用", name=row.name), "ok")
    return redirect(url_for("households.detail_page", household_id=household_id))


# Cards -----------------------------------------------------------------------------------------


@bp.post("/<int:household_id>/cards")
@require("household.manage", page=True)
def issue_card(household_id: int) -> Response:
    """Issue the first card, or reissue (补办): the active card is revoked with the reason."""
    household = _own_household(household_id)
    form = CardReasonForm(formdata=request.form)
    reason = form.reason.data or ""
    try:
        form.checked()
        if household.status != ACTIVE:
            raise ValidationFailed(gettext("该户已停用，不能发卡。请先恢复在册。"))
        if cards.active_card(household) is not None and not reason:
            raise ValidationFailed(gettext("补办新卡需要填写原因（旧卡会作废）"))
        card = cards.issue_card(household.id, actor=current_user(), reason=reason)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("已发卡：第%(n)s张卡", n=card.issue_no), "ok")
    return redirect(url_for("households.detail_page", household_id=household.id))


@bp.post("/cards/<int:card_id>/revoke")
@require("household.manage", page=True)
def revoke_card(card_id: int) -> Response:
    card = _own_card(card_id)
    household_id = card.household_id
    form = CardReasonForm(formdata=request.form)
    try:
        form.checked()
        cards.revoke_card(card.id, actor=current_user(), reason=form.reason.data or "")
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("卡片已作废，柜台将拒绝这张卡"), "ok")
    return redirect(url_for("households.detail_page", household_id=household_id))


@bp.post("/<int:household_id>/print")
@require("household.manage", page=True)
def print_card(household_id: int) -> Response:
    """The active card on the thermal printer (audited by the printing service)."""
    household = _own_household(household_id)
    try:
        job = printing.print_household_card(household.id, actor=current_user())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        if job.status == PRINT_PRINTED:
            flash(gettext("积分卡已发送到打印机"), "ok")
        else:
            flash(
                gettext(
                    "打印失败：%(error)s。可在“打印机”页重新打印。", error=job.last_error or ""
                ),
                "error",
            )
    return redirect(url_for("households.detail_page", household_id=household.id))


def _pdf(sheet: card_sheets.CardSheet, filename: str) -> Response:
    response = send_file(
        io.BytesIO(sheet.pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=filename,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:household_id>/card.pdf")
@require("household.manage", page=True)
def card_pdf(household_id: int) -> Response:
    """One household's card as an A4 PDF sheet to print at 100 % and cut out."""
    household = _own_household(household_id)
    try:
        sheet = card_sheets.household_sheet(household.id, actor=current_user())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("households.detail_page", household_id=household.id))
    return _pdf(sheet, f"card-{household.number}.pdf")


@bp.post("/cards.pdf")
@require("household.manage", page=True)
def village_pdf() -> Response:
    """Every active household's card of one village on A4 sheets (ten to a page)."""
    village = VillageForm(formdata=request.form).village.data or ""
    supermarket = current_supermarket()
    try:
        sheet = card_sheets.village_sheet(supermarket.id, village, actor=current_user())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("households.index_page"))
    response = _pdf(sheet, "cards-village.pdf")
    if sheet.without_card:
        # Told on the next page shown: the download itself cannot carry a message.
        flash(
            gettext(
                "这些户还没有有效卡片，没有打印：%(numbers)s",
                numbers="、".join(sheet.without_card),
            ),
            "error",
        )
    return response
