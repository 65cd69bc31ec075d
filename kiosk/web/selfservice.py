"""Resident self-service (自助查询): scan your own card to see your balance, what you may
redeem now and your recent history.

A public screen: the signed card is the only credential, and every answer is about the one
household whose card was scanned. Names are masked; no ID or phone number is ever sent. The
page clears itself after ``JIFEN_SELF_SERVICE_IDLE_SECONDS`` without a touch.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from kiosk import points, scan_guard
from kiosk.assessments import format_points
from kiosk.authn import current_supermarket
from kiosk.errors import (
    CardInvalid,
    DomainError,
    TooManyAttempts,
    ValidationFailed,
)
from kiosk.formatting import local_time, mask_name
from kiosk.models import (
    ENTRY_AWARD,
    ENTRY_BASE_GRANT,
    ENTRY_CONVERSION,
    ENTRY_DEDUCTION,
    ENTRY_EXPIRY,
    ENTRY_REDEMPTION,
    ENTRY_REVERSAL,
    ENTRY_VETO_CLEAR,
    REDEMPTION_VOIDED,
    Household,
    PointEntry,
    Redemption,
)
from kiosk.redemption import Offer, recent_redemptions, scan

bp = Blueprint("selfservice", __name__)

HISTORY_LIMIT = 10
REDEMPTIONS_LIMIT = 5
MAX_PAYLOAD_LENGTH = 64

ENTRY_LABELS: dict[str, Any] = {
    ENTRY_AWARD: lazy_gettext("加分"),
    ENTRY_DEDUCTION: lazy_gettext("扣分"),
    ENTRY_REDEMPTION: lazy_gettext("兑换"),
    ENTRY_REVERSAL: lazy_gettext("退回"),
    ENTRY_CONVERSION: lazy_gettext("评分折算"),
    ENTRY_VETO_CLEAR: lazy_gettext("一票否决清零"),
    ENTRY_EXPIRY: lazy_gettext("年末清零"),
    ENTRY_BASE_GRANT: lazy_gettext("基础分"),
}


@bp.get("/self")
def page() -> str:
    """The self-service screen, waiting for a card."""
    return render_template(
        "self/self.html",
        supermarket=current_supermarket(),
        idle_seconds=int(current_app.config["JIFEN_SELF_SERVICE_IDLE_SECONDS"]),
    )


@bp.post("/self/scan")
def scan_card() -> Response | tuple[Response, int]:
    """What the scanned card's household may see about itself, as JSON."""
    data = request.get_json(silent=True)
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(payload, str) or not payload.strip():
        exc: DomainError = ValidationFailed(gettext("请扫描您的积分卡"))
        return jsonify(exc.to_dict()), exc.status
    supermarket = current_supermarket()
    # A public screen and 10-digit signatures: forged codes are counted per kiosk in the
    # database, and too many are refused for a while (kiosk.scan_guard); a valid card is
    # always answered, and never clears the count. A kiosk is its address (behind a proxy,
    # configure ProxyFix, or every kiosk shares the proxy's).
    try:
        with scan_guard.guarded(
            (scan_guard.self_key(request.remote_addr),), payload, supermarket_id=supermarket.id
        ):
            if len(payload) > MAX_PAYLOAD_LENGTH:
                raise CardInvalid(gettext("卡片无效：不是本系统的积分卡"))
            result = scan(supermarket.id, payload, with_offers=True)
    except scan_guard.ScanThrottled as exc:
        refusal = TooManyAttempts(
            gettext("无效的卡扫描次数过多，请%(n)s分钟后再试，或请管理员帮助", n=exc.minutes),
            retry_after=exc.retry_after,
        )
        response = jsonify(refusal.to_dict())
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, refusal.status
    except DomainError as exc:
        # Always JSON, whatever the Accept header: the page shows the message as it is.
        return jsonify(exc.to_dict()), exc.status
    household, account, decision = result.household, result.account, result.decision
    return jsonify(
        {
            "household": {
                "number": household.number,
                "masked_name": mask_name(household.head_name),
                "village": household.village,
            },
            "account": {
                "balance": account.balance,
                "earned_total": account.earned_total,
                "redeemed_total": account.redeemed_total,
            },
            "decision": decision.to_dict(),
            "carried_points": format_points(result.carried) if result.carried > 0 else None,
            "goods": _goods(result.offers),
            "history": _history(household),
            "redemptions": [
                _redemption(r) for r in recent_redemptions(household.id, REDEMPTIONS_LIMIT)
            ],
        }
    )


def _goods(offers: tuple[Offer, ...]) -> list[dict[str, Any]]:
    """Goods and services in the catalogue, each with what the counter would charge this
    household for one (``points``: 0 for the elders' canteen meal to an eligible elder) and
    whether it is within reach now, as the rules decide it at the counter."""
    rows = []
    for offer in offers:
        product = offer.product
        in_stock = not product.tracks_stock or product.stock_qty > 0
        rows.append(
            {
                "name": product.name,
                "unit": product.unit,
                "category": product.category.name if product.category else "",
                "points_price": offer.price,
                "points": offer.points,
                "in_stock": in_stock,
                "available": offer.allowed and in_stock,
            }
        )
    # What can be taken now first, then the rest by what it costs this household.
    rows.sort(key=lambda r: (not r["available"], r["points"]))
    return rows


def _history(household: Household) -> list[dict[str, Any]]:
    """The latest entries, each on the day its event happened, with every name masked."""
    entries = points.history(household.id, HISTORY_LIMIT)
    events = points.entry_events([e.id for e in entries])
    names = [household.head_name, *(m.name for m in household.members)]
    return [_entry(e, events.get(e.id), names) for e in entries]


def mask_names(text: str, names: list[str]) -> str:
    """``text`` with each of ``names`` masked as the head's is (崔强峰 → 崔*峰): a member's
    award reads "崔*峰：标准10…" on a public screen. Longer names first, so a name that holds
    a shorter one is masked whole."""
    for name in sorted(
        {n.strip() for n in names if n and len(n.strip()) > 1}, key=len, reverse=True
    ):
        text = text.replace(name, mask_name(name))
    return text


def _entry(entry: PointEntry, event: points.EntryEvent | None, names: list[str]) -> dict[str, Any]:
    row = {
        "when": local_time(entry.created_at, "%Y-%m-%d"),
        "kind": entry.kind,
        "label": str(ENTRY_LABELS.get(entry.kind, entry.kind)),
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "reason": mask_names(entry.reason or "", names),
    }
    if event is not None:
        # An approved proposal's event: when and where it happened (never its photos).
        row["when"] = (
            local_time(event.occurred_at, "%Y-%m-%d %H:%M")
            if event.occurred_at
            else event.occurred_on.isoformat()
        )
        row["place"] = mask_names(event.place, names)
    return row


def _redemption(redemption: Redemption) -> dict[str, Any]:
    return {
        "receipt_no": redemption.receipt_no,
        "when": local_time(redemption.created_at),
        "total_points": redemption.total_points,
        "voided": redemption.status == REDEMPTION_VOIDED,
        "items": [
            {"name": ln.product_name, "quantity": ln.quantity, "unit": ln.unit}
            for ln in redemption.lines
        ],
    }
