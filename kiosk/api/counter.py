"""The counter's endpoints: scan a card, the catalogue, redemptions, void, receipts, reprint."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated, Any

from flask import g, request
from flask_babel import gettext
from pydantic import Field

from inventory.products import catalogue, categories, find_by_barcode, policy_for
from kiosk import printing, scan_guard
from kiosk import redemption as service
from kiosk.api import access, answers, contract, outputs
from kiosk.authn import current_supermarket, current_supermarket_id
from kiosk.errors import NotFound
from kiosk.models import PrintJob, Redemption
from kiosk.redemption import redeem, scan, void_redemption
from kiosk.timeutil import utcnow

MAX_PAYLOAD_LENGTH = 64
MAX_CART_LINES = 100
# A card check answers 429 too: forged codes past kiosk.scan_guard's limits (Retry-After).
CARD_CODES = ("card_invalid", "card_unknown", "card_revoked", "too_many_attempts")


class ScanRequest(contract.Body):
    payload: Annotated[
        str,
        contract.Text(
            MAX_PAYLOAD_LENGTH, description="卡片二维码内容（JF+20位数字，或只输20位数字）"
        ),
    ]


class CartLine(contract.Body):
    product_id: contract.ID
    quantity: contract.Count


class RedemptionRequest(contract.Body):
    card: Annotated[str, contract.Text(MAX_PAYLOAD_LENGTH, description="卡片二维码内容")]
    lines: Annotated[list[CartLine], Field(max_length=MAX_CART_LINES)]
    idempotency_key: contract.IdempotencyKey = Field(
        description="每个购物车一个；重试时原样再发，返回同一张兑换单"
    )


class VoidRequest(contract.Body):
    reason: Annotated[str, contract.Text(200, multiline=True)]


@contract.route(
    "POST",
    "/scan",
    summary="扫卡：核验卡片，返回户、余额和可兑换判断",
    tag="counter",
    action="card.scan",
    body=ScanRequest,
    ok=(200, answers.ScanResult, "卡片有效"),
    errors=("not_found", *CARD_CODES),
)
def scan_card(body: ScanRequest):
    """Verify a card and say what its household may redeem now, and each product as the rules
    would charge one unit of it (``offers``: the counter's tiles, from the rules' decision)."""
    payload = body.payload
    supermarket_id = current_supermarket().id
    with _guarded(payload, supermarket_id):
        result = scan(supermarket_id, payload, with_offers=True)
    return {
        "card_id": result.card_id,
        "household": outputs.household_brief(result.household),
        "account": outputs.account(result.account),
        "decision": result.decision.to_dict(),
        "carried_points": outputs.carried_points(result.carried),
        "offers": [outputs.offer(o) for o in result.offers],
    }


def _guarded(payload: str, supermarket_id: int) -> AbstractContextManager[None]:
    """Count forged card codes sent with this request's token and by its user (the counter
    page's session: by its user), and refuse them past the limits (kiosk.scan_guard)."""
    user = access.me()
    keys = [scan_guard.user_key(user.id)]
    header = request.headers.get("Authorization", "")
    if g.get("jifen_auth") == "token" and header.startswith("Bearer "):
        keys.append(scan_guard.token_key(header[len("Bearer ") :].strip()))
    return scan_guard.guarded(keys, payload, supermarket_id=supermarket_id, actor=user)


@contract.route(
    "GET",
    "/products",
    summary="商品目录（按分类）",
    tag="catalogue",
    action="product.read",
    ok=(200, answers.Catalogue, "上架商品及分类"),
)
def list_products():
    """The active catalogue with its categories, in shelf order."""
    supermarket = current_supermarket()
    policy = policy_for(supermarket)
    return {
        "categories": [outputs.category(c) for c in categories(supermarket.id)],
        "products": [outputs.product(p, policy) for p in catalogue(supermarket.id)],
    }


@contract.route(
    "GET",
    "/products/barcode/<code>",
    summary="按条码（或商品编号）查找上架商品",
    tag="catalogue",
    action="product.read",
    ok=(200, answers.ProductResult, "找到的商品"),
    errors=("not_found",),
)
def product_by_barcode(code: str):
    """The active product with this barcode (or SKU)."""
    supermarket = current_supermarket()
    product = find_by_barcode(supermarket.id, code)
    return {"product": outputs.product(product, policy_for(supermarket))}


def _redemption_body(redemption: Redemption, receipt: PrintJob | None = None) -> dict[str, Any]:
    """A redemption with its latest receipt (``receipt``: the one just made, or read here)."""
    body = outputs.redemption(redemption)  # (just redeemed: still loaded, no reading)
    if receipt is None:
        receipt = printing.latest_receipt(redemption.id)
    return {"redemption": body, "receipt": outputs.receipt(receipt)}


@contract.route(
    "POST",
    "/redemptions",
    summary="兑换：扣积分、减库存、出小票",
    tag="counter",
    action="redemption.create",
    body=RedemptionRequest,
    ok=(201, answers.RedemptionResult, "新的兑换单"),
    also_ok=((200, answers.RedemptionResult, "重试：原来的兑换单"),),
    errors=(
        "not_found",
        *CARD_CODES,
        "household_inactive",
        "insufficient_points",
        "out_of_stock",
        "not_eligible",
        "product_unavailable",
        "empty_cart",
        "idempotency_conflict",
        "month_closed",
    ),
    description="同一 idempotency_key、同一购物车的重试返回 200 和原来的兑换单，不重复扣分；"
    "同一 idempotency_key 用于不同购物车返回 409 idempotency_conflict。",
)
def create_redemption(body: RedemptionRequest):
    """Redeem a cart; a retry with the same idempotency key returns the same redemption (200)."""
    payload = body.card
    lines = [service.CartLine(line.product_id, line.quantity) for line in body.lines]
    key = body.idempotency_key
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
        return _redemption_body(redemption, redemption.receipts[-1]), 201
    return _redemption_body(redemption), 200


@contract.route(
    "GET",
    "/redemptions/<int:redemption_id>",
    summary="查看兑换单",
    tag="counter",
    action="redemption.read",
    ok=(200, answers.RedemptionResult, "兑换单及最近一张小票"),
    errors=("not_found",),
)
def get_redemption(redemption_id: int):
    """One redemption with its latest receipt."""
    return _redemption_body(access.redemption(redemption_id))


@contract.route(
    "POST",
    "/redemptions/<int:redemption_id>/void",
    summary="作废兑换单（冲回积分和库存）",
    tag="counter",
    action="redemption.void",
    body=VoidRequest,
    ok=(200, answers.RedemptionResult, "已作废"),
    errors=("void_not_allowed", "not_found", "already_voided", "month_closed"),
    description="超市管理员只能作废本超市当日的兑换单；村委管理员可作废任何一天的。",
)
def void(redemption_id: int, body: VoidRequest):
    """Void a redemption: keepers on the day it was made, admins any day."""
    access.redemption(redemption_id)
    redemption = void_redemption(redemption_id, actor=access.me(), reason=body.reason)
    return _redemption_body(redemption)


@contract.route(
    "GET",
    "/redemptions/<int:redemption_id>/receipt",
    summary="小票：文字和 ESC/POS 字节",
    tag="counter",
    action="redemption.read",
    ok=(200, answers.ReceiptBytes, "最近一张小票"),
    errors=("not_found",),
)
def receipt(redemption_id: int):
    """The latest receipt of a redemption: its text and its ESC/POS bytes (base64)."""
    redemption = access.redemption(redemption_id)
    job = printing.latest_receipt(redemption.id)
    if job is None:
        raise NotFound(gettext("该兑换单没有小票"))
    return {"receipt": outputs.receipt(job), "escpos_base64": outputs.escpos_base64(job)}


@contract.route(
    "POST",
    "/redemptions/<int:redemption_id>/reprint",
    summary="补打小票",
    tag="counter",
    action="redemption.reprint",
    ok=(201, answers.ReceiptResult, "补打的小票"),
    errors=("not_found",),
)
def reprint(redemption_id: int):
    """Print another copy (补打) of a redemption's receipt."""
    access.redemption(redemption_id)
    job = printing.reprint(redemption_id, actor=access.me())
    return {"receipt": outputs.receipt(job)}
