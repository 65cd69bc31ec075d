"""The assessment group's phone page (手机记分, ``/m``): points recorded where they happen.

A recorder (评议员) or an admin finds the household by scanning its card with the phone's
camera (the frame is decoded here, the same decoder path as the tablet page) or by number,
name or pinyin in the village's household list, which the page keeps for use without signal;
then picks the standard item, points, time, place, reason and up to four photos. Each record
waits in the phone's IndexedDB with its own idempotency key and goes to
``POST /api/v1/proposals`` (multipart) when the phone is online: it counts once a second
admin approves it at /intake.

- ``GET /m`` — the page; ``GET /m/sw.js`` — its service worker (scope /m), which keeps the
  page and its assets for use without signal; ``GET /m/manifest.webmanifest`` and
  ``GET /m/icon.svg`` — to install it on the home screen.
- ``GET /m/households`` — the village's households for the page's search (JSON).
- ``POST /m/scan`` — one camera frame; the household of the card in it, if any.
- ``GET /m/token`` — a fresh CSRF token for the uploads of records made hours ago.
- ``POST /self/report`` — a household's own report (群众自主申报) with its card: the card's
  payload, an award item, what was done and up to four photos (multipart); public like the
  self-service screen, guarded against card guessing as it is.
- ``GET /m/places`` — the village's places list, which admins keep (``POST /m/places``,
  ``POST /m/places/<id>/active``).
- ``GET /m/visits`` — the month's visit list (月记录) per village group, and
  ``GET /m/visits.xlsx`` — the same as a spreadsheet (recorders, admins and supervisors).
"""

from __future__ import annotations

import os
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from hardware import decoders
from kiosk import evidence, parsing, standards, visits
from kiosk.authn import current_supermarket, current_user, may, require, signed_in_user
from kiosk.clock import local_now
from kiosk.households import household_for_card_text, list_households
from kiosk.models import ACTIVE, Household
from kiosk.places import place_names
from kiosk.reports.visits import month_visits_xlsx
from kiosk.web.downloads import send_xlsx
from kiosk.web.guards import body_limit

bp = Blueprint("phone", __name__, url_prefix="/m")
report_bp = Blueprint("selfreport", __name__)

STATIC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")


def _household(row: Household) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "name": row.head_name,
        "group": row.group_name or "",
        "key": row.search_key or "",
    }


@bp.get("/")
@require("proposal.create", page=True)
def page() -> str:
    """The phone page."""
    supermarket = current_supermarket()
    return render_template(
        "phone/index.html",
        supermarket=supermarket,
        user=current_user(),
        items=standards.list_items(supermarket.id, active_only=True),
        places=place_names(supermarket.id),
        max_photos=evidence.MAX_PHOTOS,
    )


@bp.get("/households")
@require("proposal.create")
def households() -> Response:
    """The village's active households (number, head, group, search key) for the search."""
    rows = list_households(current_supermarket().id, active_only=True)
    response = jsonify({"households": [_household(h) for h in rows]})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/scan")
@body_limit(4 * 1024 * 1024 + 64 * 1024)
@require("proposal.create")
def scan() -> Any:
    """Decode one camera frame; the household whose card is in it (or found: false)."""
    from kiosk.web.scanner import hub, read_frame

    image = read_frame()
    if image is None:
        return jsonify(
            {"error": {"code": "bad_image", "message": gettext("无法读取这张图片")}}
        ), 400
    try:
        found = decoders.decode(image, hub().decoder)
    except decoders.DecoderUnavailable:
        return jsonify(
            {"error": {"code": "no_decoder", "message": gettext("本机没有可用的扫码解码器")}}
        ), 503
    supermarket_id = current_supermarket().id
    for code in found:
        row = household_for_card_text(supermarket_id, code.text)
        if row is not None:
            if row.status != ACTIVE:
                return jsonify(
                    {"found": False, "message": gettext("该户已停用：%(n)s", n=row.number)}
                )
            return jsonify({"found": True, "household": _household(row)})
    if found:
        return jsonify({"found": False, "message": gettext("这不是本村的积分卡")})
    return jsonify({"found": False})


@bp.get("/token")
@require("proposal.create")
def token() -> Response:
    """A fresh CSRF token (a page reopened from the phone's cache may carry an old one)."""
    response = jsonify({"csrf": generate_csrf(), "user_id": signed_in_user().id})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, served under /m so that its scope is the phone page."""
    response = send_file(os.path.join(STATIC, "js", "phone-sw.js"), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: the page installs to the home screen as 手机记分."""
    body = {
        "name": gettext("积分超市 · 手机记分"),
        "short_name": gettext("手机记分"),
        "start_url": url_for("phone.page"),
        "scope": url_for("phone.page"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "icons": [
            {
                "src": url_for("phone.icon"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            }
        ],
    }
    response = current_app.response_class(
        current_app.json.dumps(body), mimetype="application/manifest+json"
    )
    return response


@bp.get("/icon.svg")
def icon() -> Response:
    """The home-screen icon, drawn as SVG (a red tile with 分)."""
    return send_file(os.path.join(STATIC, "img", "phone-icon.svg"), mimetype="image/svg+xml")


def _month():
    today = local_now().date()
    return visits.parse_month(request.args.get("month"), today), today


@bp.get("/visits")
@require("visit.read", page=True)
def visits_page() -> tuple[str, int] | str:
    """The month's visit list per village group: who has been recorded, who not yet."""
    from kiosk.errors import DomainError

    today = local_now().date()
    error: str | None = None
    try:
        first = visits.parse_month(request.args.get("month"), today)
    except DomainError as exc:
        first, error = today.replace(day=1), exc.message
    groups = visits.month_visits(current_supermarket().id, first)
    return render_template(
        "phone/visits.html",
        supermarket=current_supermarket(),
        user=current_user(),
        month=first.strftime("%Y-%m"),
        this_month=today.strftime("%Y-%m"),
        groups=groups,
        error=error,
    ), (400 if error else 200)


@bp.get("/visits.xlsx")
@require("visit.read", page=True)
def visits_xlsx() -> Response:
    """The month's visit list as a spreadsheet, one row per household."""
    first, _today = _month()
    return send_xlsx(*month_visits_xlsx(current_supermarket(), first))


@bp.get("/places")
@require("place.read", page=True)
def places_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The village's places for the phone's 地点 list."""
    from kiosk import places as village_places

    user = current_user()
    return render_template(
        "phone/places.html",
        supermarket=current_supermarket(),
        user=user,
        can_edit=may("place.manage"),
        places=village_places.list_places(current_supermarket().id),
        error=error,
    ), status


@bp.post("/places")
@require("place.manage", page=True)
def add_place() -> Any:
    """Add a place to the list."""
    from kiosk import places as village_places
    from kiosk.errors import DomainError

    try:
        place = village_places.add_place(
            current_supermarket().id, request.form.get("name", ""), actor=current_user()
        )
    except DomainError as exc:
        return places_page(exc.message, 422)
    flash(gettext("已添加地点：%(name)s", name=place.name), "ok")
    return redirect(url_for("phone.places_page"))


@bp.post("/places/<int:place_id>/active")
@require("place.manage", page=True)
def set_place_active(place_id: int) -> Any:
    """Retire a place from the phone's list, or bring it back."""
    from kiosk import places as village_places
    from kiosk.errors import DomainError

    try:
        village_places.set_place_active(
            place_id,
            request.form.get("active") == "1",
            actor=current_user(),
            supermarket_id=current_supermarket().id,
        )
    except DomainError as exc:
        return places_page(exc.message, exc.status)
    return redirect(url_for("phone.places_page"))


@report_bp.get("/self/report/items")
def items() -> Response:
    """The village's award items a household may report itself (public, like the screen)."""
    rows = [
        {"id": i.id, "code": i.code, "title": i.title, "points": i.points}
        for i in standards.list_items(current_supermarket().id, active_only=True)
        if i.points > 0
    ]
    return jsonify({"items": rows})


@report_bp.post("/self/report")
@body_limit(evidence.MAX_PHOTOS * evidence.MAX_PHOTO_BYTES + 256 * 1024)
def self_report() -> tuple[Response, int]:
    """A household's own report of a good deed, with its card: a pending, self-reported
    proposal (201; a retry with the same key 200)."""
    from kiosk import intake, scan_guard
    from kiosk.errors import DomainError, TooLarge, TooManyAttempts, ValidationFailed

    form = request.form
    payload = (form.get("payload") or "").strip()
    supermarket = current_supermarket()
    try:
        item = parsing.optional_int(form.get("standard_item_id"), minimum=1, signed=False)
        if item is None:
            raise ValidationFailed(gettext("请选择做的是哪一项好事"))
        reason = (form.get("reason") or "").strip()
        if len(reason) > intake.MAX_REASON:
            raise ValidationFailed(gettext("说明不能超过%(n)s个字", n=intake.MAX_REASON))
        key = (form.get("idempotency_key") or "").strip() or None
        if key is not None and not (8 <= len(key) <= 64 and key.replace("-", "").isalnum()):
            raise ValidationFailed(gettext("请求编号不正确"))
        uploads = [f for f in request.files.getlist("photo") if f]
        if len(uploads) > evidence.MAX_PHOTOS:
            raise ValidationFailed(gettext("最多%(n)s张照片", n=evidence.MAX_PHOTOS))
        photos = []
        for upload in uploads:
            data = upload.read(evidence.MAX_PHOTO_BYTES + 1)
            if len(data) > evidence.MAX_PHOTO_BYTES:
                raise TooLarge(gettext("照片太大：每张最大 8 MB"))
            photos.append(evidence.prepare(data, name=upload.filename or ""))
        if not payload or len(payload) > 64:
            raise ValidationFailed(gettext("请扫描您的积分卡"))
        with scan_guard.guarded(
            (scan_guard.self_key(request.remote_addr),), payload, supermarket_id=supermarket.id
        ):
            row, created = intake.self_report(
                supermarket.id, payload, item, reason, photos=photos, idempotency_key=key
            )
    except scan_guard.ScanThrottled as exc:
        refusal = TooManyAttempts(
            gettext("无效的卡扫描次数过多，请%(n)s分钟后再试，或请管理员帮助", n=exc.minutes),
            retry_after=exc.retry_after,
        )
        response = jsonify(refusal.to_dict())
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, refusal.status
    except DomainError as exc:
        return jsonify(exc.to_dict()), exc.status
    return jsonify(
        {
            "proposal_id": row.id,
            "household_number": row.household.number,
            "points": row.amount,
            "message": gettext("已提交申报，村里审核后计入积分"),
        }
    ), (201 if created else 200)
