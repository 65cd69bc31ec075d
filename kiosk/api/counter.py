"""The counter's endpoints: scan a card, the catalogue, redemptions, void, receipts, reprint."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from flask import g, jsonify, request

from inventory.products import catalogue, categories, find_by_barcode, policy_for
from kiosk import printing, scan_guard
from kiosk.api import access, bp, inputs, outputs
from kiosk.authn import current_supermarket, current_supermarket_id, require
from kiosk.errors import NotFound
from kiosk.models import PrintJob, Redemption
from kiosk.redemption import CartLine, redeem, scan, void_redemption
from kiosk.timeutil import utcnow

MAX_PAYLOAD_LENGTH = 64


@bp.post("/scan")
@require("card.scan")
def scan_card():
    """Verify a card and say what its household may redeem now."""
    body = inputs.json_body()
    payload = inputs.string(body, "payload", max_len=MAX_PAYLOAD_LENGTH)
    supermarket_id = current_supermarket().id
    with _guarded(payload, supermarket_id):
        result = scan(supermarket_id, payload)
    return jsonify(
        {
            "card_id": result.card_id,
            "household": outputs.household_brief(result.household),
            "account": outputs.account(result.account),
            "decision": result.decision.to_dict(),
            "carried_points": outputs.carried_points(result.carried),
        }
    )


def _guarded(payload: str, supermarket_id: int) -> AbstractContextManager[None]:
    """Count forged card codes sent with this request's token and by its user (the counter
    page's session: by its user), and refuse them past the limits (kiosk.scan_guard)."""
    user = access.me()
    keys = [scan_guard.user_key(user.id)]
    header = request.headers.get("Authorization", "")
    if g.get("jifen_auth") == "token" and header.startswith("Bearer "):
        keys.append(scan_guard.token_key(header[len("Bearer ") :].strip()))
    return scan_guard.guarded(keys, payload, supermarket_id=supermarket_id, actor=user)


@bp.get("/products")
@require("product.read")
def list_products():
    """The active catalogue with its categories, in shelf order."""
    supermarket = current_supermarket()
    policy = policy_for(supermarket)
    return jsonify(
        {
            "categories": [outputs.category(c) for c in categories(supermarket.id)],
            "products": [outputs.product(p, policy) for p in catalogue(supermarket.id)],
        }
    )


@bp.get("/products/barcode/<code>")
@require("product.read")
def product_by_barcode(code: str):
    """The active product with this barcode (or SKU)."""
    supermarket = current_supermarket()
    product = find_by_barcode(supermarket.id, code)
    return jsonify({"product": outputs.product(product, policy_for(supermarket))})


def _cart(body: dict[str, Any]) -> list[CartLine]:
    lines = []
    for i, raw in enumerate(inputs.object_list(body, "lines", max_items=100)):
        product_id = inputs.integer(raw, "product_id", minimum=1, path=f"lines[{i}].product_id")
        quantity = inputs.integer(raw, "quantity", minimum=1, path=f"lines[{i}].quantity")
        lines.append(CartLine(product_id, quantity))
    return lines


def _redemption_body(redemption: Redemption, receipt: PrintJob | None = None) -> dict[str, Any]:
    """A redemption with its latest receipt (``receipt``: the one just made, or read here)."""
    body = outputs.redemption(redemption)  # (just redeemed: still loaded, no reading)
    if receipt is None:
        receipt = printing.latest_receipt(redemption.id)
    return {"redemption": body, "receipt": outputs.receipt(receipt)}


@bp.post("/redemptions")
@require("redemption.create")
def create_redemption():
    """Redeem a cart; a retry with the same idempotency key returns the same redemption (200)."""
    body = inputs.json_body()
    payload = inputs.string(body, "card", max_len=MAX_PAYLOAD_LENGTH)
    lines = _cart(body)
    key = inputs.idempotency_key(body, required=True)
    # The service stamps a new redemption with the moment it is given; a retry returns the
    # earlier row with its own moment. This tells them apart even when two copies of the same
    # request race, which a look-up of the key before the call cannot.
    moment = utcnow()
    with _guarded(payload, current_supermarket_id()):
        redemption = redeem(
            current_supermarket_id(),
            card_payload=payload,
            lines=lines,
            keeper=access.me(),
            idempotency_key=key,
            moment=moment,
        )
    if redemption.created_at == moment:  # made now: its one receipt is still loaded
        return jsonify(_redemption_body(redemption, redemption.receipts[-1])), 201
    return jsonify(_redemption_body(redemption)), 200


@bp.get("/redemptions/<int:redemption_id>")
@require("redemption.read")
def get_redemption(redemption_id: int):
    """One redemption with its latest receipt."""
    return jsonify(_redemption_body(access.redemption(redemption_id)))


@bp.post("/redemptions/<int:redemption_id>/void")
@require("redemption.void")
def void(redemption_id: int):
    """Void a redemption: keepers on the day it was made, admins any day."""
    body = inputs.json_body()
    reason = inputs.string(body, "reason", max_len=200)
    access.redemption(redemption_id)
    redemption = void_redemption(redemption_id, actor=access.me(), reason=reason)
    return jsonify(_redemption_body(redemption))


@bp.get("/redemptions/<int:redemption_id>/receipt")
@require("redemption.read")
def receipt(redemption_id: int):
    """The latest receipt of a redemption: its text and its ESC/POS bytes (base64)."""
    redemption = access.redemption(redemption_id)
    job = printing.latest_receipt(redemption.id)
    if job is None:
        raise NotFound("该兑换单没有小票")
    return jsonify({"receipt": outputs.receipt(job), "escpos_base64": outputs.escpos_base64(job)})


@bp.post("/redemptions/<int:redemption_id>/reprint")
@require("redemption.reprint")
def reprint(redemption_id: int):
    """Print another copy (补打) of a redemption's receipt."""
    access.redemption(redemption_id)
    job = printing.reprint(redemption_id, actor=access.me())
    return jsonify({"receipt": outputs.receipt(job)}), 201
