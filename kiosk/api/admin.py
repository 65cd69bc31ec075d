"""Administration endpoints: households and members, cards, point entries, products, stock-in,
and API tokens."""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify, request

from inventory import printouts
from inventory.models import KIND_GOODS, KIND_SERVICE
from inventory.products import (
    MAX_SERVICE_COST_FEN,
    create_product,
    policy_for,
    products_by_id,
    update_product,
)
from inventory.stock import StockInLine, receive_stock
from kiosk import auth, cards, households, intake, points
from kiosk.api import access, bp, inputs, outputs, proposals
from kiosk.authn import current_supermarket, require
from kiosk.errors import NotFound

logger = logging.getLogger(__name__)

MAX_PER_PAGE = 100
MAX_HISTORY = 200


# Households and members ---------------------------------------------------------------------


@bp.get("/households")
@require("household.lookup")
def list_households():
    """This supermarket's households, paginated; ``q`` finds them as the office's search does
    (number, any member's name, pinyin, initials, or a card code)."""
    supermarket = current_supermarket()
    page = inputs.query_int("page", default=1, minimum=1, maximum=100_000)
    per_page = inputs.query_int("per_page", default=20, minimum=1, maximum=MAX_PER_PAGE)
    q = (request.args.get("q") or "").strip()[:50]
    rows, total = households.find_households(supermarket.id, q, page=page, per_page=per_page)
    viewer = access.me()
    return jsonify(
        {
            "households": [outputs.household_summary(h, viewer) for h in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


def _member_input(raw: dict[str, Any], path: str) -> households.MemberInput:
    return households.MemberInput(
        name=inputs.string(raw, "name", max_len=50, path=f"{path}.name"),
        relation=inputs.string(
            raw, "relation", required=False, max_len=20, path=f"{path}.relation"
        ),
        birth_date=inputs.optional_date(raw, "birth_date", path=f"{path}.birth_date"),
    )


@bp.post("/households")
@require("household.manage")
def create_household():
    """Register a household with its members and an empty points account."""
    body = inputs.json_body()
    number = inputs.string(body, "number", max_len=32)
    head_name = inputs.string(body, "head_name", max_len=50)
    village = inputs.string(body, "village", required=False, max_len=50)
    group_name = inputs.string(body, "group_name", required=False, max_len=50)
    members = [
        _member_input(raw, f"members[{i}]")
        for i, raw in enumerate(inputs.object_list(body, "members", required=False, max_items=30))
    ]
    household = households.create_household(
        current_supermarket().id,
        number=number,
        head_name=head_name,
        village=village,
        group_name=group_name,
        members=members or None,
        actor=access.me(),
    )
    return jsonify({"household": outputs.household_detail(household, access.me())}), 201


@bp.get("/households/<int:household_id>")
@require("household.lookup")
def get_household(household_id: int):
    """A household with its members, account balance and active card."""
    household = access.household(household_id)
    return jsonify({"household": outputs.household_detail(household, access.me())})


@bp.post("/households/<int:household_id>/members")
@require("household.manage")
def add_member(household_id: int):
    """Add a resident to a household."""
    body = inputs.json_body()
    member = _member_input(body, "member")
    access.household(household_id)
    row = households.add_member(household_id, member, actor=access.me())
    return jsonify({"member": outputs.member(row, access.me())}), 201


@bp.post("/households/<int:household_id>/status")
@require("household.manage")
def set_status(household_id: int):
    """Activate or deactivate a household (a deactivated one cannot redeem)."""
    body = inputs.json_body()
    active = inputs.boolean(body, "active")
    access.household(household_id)
    household = households.set_household_status(household_id, active, actor=access.me())
    return jsonify({"household": outputs.household_detail(household, access.me())})


# Cards --------------------------------------------------------------------------------------


@bp.post("/households/<int:household_id>/cards")
@require("household.manage")
def issue_card(household_id: int):
    """Issue the household's card; a reissue revokes the card it replaces."""
    body = inputs.json_body() if request.get_data() else {}
    reason = inputs.string(body, "reason", required=False, max_len=200)
    access.household(household_id)
    card = cards.issue_card(household_id, actor=access.me(), reason=reason)
    return jsonify({"card": outputs.card(card)}), 201


@bp.post("/cards/<int:card_id>/revoke")
@require("household.manage")
def revoke_card(card_id: int):
    """Revoke a card (lost, damaged, household left); it is refused everywhere after."""
    body = inputs.json_body()
    reason = inputs.string(body, "reason", max_len=200)
    access.card(card_id)
    card = cards.revoke_card(card_id, actor=access.me(), reason=reason)
    return jsonify({"card": outputs.card(card)})


# Point entries ------------------------------------------------------------------------------


@bp.post("/households/<int:household_id>/points")
@require("points.enter")
def post_points(household_id: int):
    """Propose an award or deduction (202): it counts only when another admin approves it.

    Kept for the clients written against the one-signature version of this route: the same body
    now makes a pending proposal, exactly as POST /proposals does (the same key namespace, so a
    retry returns the same proposal, 200); the ledger is not touched until a second admin
    approves it at /proposals/<id>/approve or at the office's /intake."""
    body = inputs.json_body()
    kind = inputs.choice(body, "kind", ("award", "deduct"))
    amount = inputs.integer(body, "amount", minimum=1, maximum=points.MAX_ADJUSTMENT)
    reason = inputs.string(body, "reason", max_len=intake.MAX_REASON)
    key = proposals.stored_key(proposals.request_key(body))
    access.household(household_id)
    data = intake.ProposalInput(
        household_id=household_id,
        occurred_on=proposals.default_day(key),
        amount=amount if kind == "award" else -amount,
        reason=reason,
    )
    row, created = intake.submit_proposal(
        current_supermarket().id, data, actor=access.me(), idempotency_key=key
    )
    answer = proposals.result(row, message=proposals.PENDING_MESSAGE)
    return jsonify(answer), 202 if created else 200


@bp.get("/households/<int:household_id>/points")
@require("household.lookup")
def points_history(household_id: int):
    """A household's point entries, newest first (``limit``, default 50)."""
    household = access.household(household_id)
    limit = inputs.query_int("limit", default=50, minimum=1, maximum=MAX_HISTORY)
    return jsonify(
        {
            "account": outputs.account(household.account),
            "entries": [outputs.point_entry(e) for e in points.history(household.id, limit)],
        }
    )


# Products and stock-in ----------------------------------------------------------------------


@bp.post("/products")
@require("product.manage")
def new_product():
    """Add goods or a service to the catalogue (goods get stock by stock-in)."""
    body = inputs.json_body()
    sku = inputs.string(body, "sku", max_len=32)
    name = inputs.string(body, "name", max_len=100)
    unit = inputs.string(body, "unit", required=False, max_len=16, default="件") or "件"
    category = inputs.optional_string(body, "category", max_len=50)
    barcode = inputs.optional_string(body, "barcode", max_len=32)
    if barcode is not None and not (barcode.isascii() and barcode.isdigit()):
        raise inputs.invalid("barcode", "只能由数字组成")
    kind = inputs.choice(body, "kind", (KIND_GOODS, KIND_SERVICE), default=KIND_GOODS)
    cost = inputs.integer(
        body, "unit_cost_fen", minimum=0, maximum=10_000_000, required=False, default=0
    )
    supermarket = current_supermarket()
    product = create_product(
        supermarket.id,
        sku=sku,
        name=name,
        unit=unit,
        category=category,
        barcode=barcode,
        kind=kind,
        unit_cost_fen=cost,
        restriction_key=inputs.optional_string(body, "restriction_key", max_len=32),
        actor=access.me(),
    )
    return jsonify({"product": outputs.product(product, policy_for(supermarket))}), 201


@bp.patch("/products/<int:product_id>")
@require("product.manage")
def edit_product(product_id: int):
    """Change a product's rule-linked fields (kind, restriction, service price, on sale)."""
    body = inputs.json_body()
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = inputs.string(body, "name", max_len=100)
    if "unit" in body:
        changes["unit"] = inputs.string(body, "unit", max_len=16)
    if "kind" in body:
        changes["kind"] = inputs.choice(body, "kind", (KIND_GOODS, KIND_SERVICE))
    if "unit_cost_fen" in body:
        changes["unit_cost_fen"] = inputs.integer(
            body, "unit_cost_fen", minimum=0, maximum=MAX_SERVICE_COST_FEN
        )
    if "restriction_key" in body:
        changes["restriction_key"] = inputs.optional_string(body, "restriction_key", max_len=32)
    if "active" in body:
        changes["active"] = inputs.boolean(body, "active")
    supermarket = current_supermarket()
    product = update_product(supermarket.id, product_id, actor=access.me(), **changes)
    return jsonify({"product": outputs.product(product, policy_for(supermarket))})


@bp.post("/stock-ins")
@require("stock.receive")
def stock_in():
    """Receive goods (入库) at unit cost; costs and points prices move to the new average."""
    body = inputs.json_body()
    supplier = inputs.string(body, "supplier", required=False, max_len=100)
    invoice_no = inputs.string(body, "invoice_no", required=False, max_len=50)
    note = inputs.string(body, "note", required=False, max_len=200)
    print_slip = inputs.boolean(body, "print_slip") if "print_slip" in body else False
    lines = []
    for i, raw in enumerate(inputs.object_list(body, "lines", max_items=200)):
        lines.append(
            StockInLine(
                product_id=inputs.integer(
                    raw, "product_id", minimum=1, path=f"lines[{i}].product_id"
                ),
                quantity=inputs.integer(raw, "quantity", minimum=1, path=f"lines[{i}].quantity"),
                unit_cost_fen=inputs.integer(
                    raw,
                    "unit_cost_fen",
                    minimum=0,
                    maximum=10_000_000,
                    path=f"lines[{i}].unit_cost_fen",
                ),
            )
        )
    supermarket = current_supermarket()
    movements = receive_stock(
        supermarket.id,
        lines,
        actor=access.me(),
        supplier=supplier,
        invoice_no=invoice_no,
        note=note,
    )
    movement_ids = [m.id for m in movements]
    policy = policy_for(supermarket)
    product_ids = sorted({m.product_id for m in movements})
    products = products_by_id(product_ids)
    result: dict[str, Any] = {
        "movements": [outputs.movement(m) for m in movements],
        "products": [outputs.product(p, policy) for p in products],
    }
    if print_slip:
        result["slip"] = _print_stock_in_slip(movement_ids)
    return jsonify(result), 201


def _print_stock_in_slip(movement_ids: list[int]) -> dict[str, Any] | None:
    """Print the committed stock-in's slip (物品入库单); a failure is logged, never raised:
    the stock-in stands whatever the printer does."""
    try:
        job = printouts.print_stock_in_slip(movement_ids, actor=access.me())
    except Exception:  # noqa: BLE001 - the stock-in has committed; the slip is extra
        logger.exception("stock-in slip for movements %s not printed", movement_ids)
        return None
    return outputs.print_job(job, None)


# API tokens ---------------------------------------------------------------------------------


@bp.get("/users/<int:user_id>/tokens")
@require("user.read")
def list_tokens(user_id: int):
    """A user's API tokens (their records, never the tokens themselves)."""
    user = access.user(user_id)
    rows = sorted(auth.list_tokens([user.id]), key=lambda t: t.id)
    return jsonify({"tokens": [outputs.token(t) for t in rows]})


@bp.post("/users/<int:user_id>/tokens")
@require("user.manage")
def new_token(user_id: int):
    """Issue an API token for a user; the token is in this answer only."""
    body = inputs.json_body() if request.get_data() else {}
    label = inputs.string(body, "label", required=False, max_len=100)
    access.user(user_id)
    secret = auth.issue_token(user_id, label=label, actor=access.me())
    row = auth.token_record(secret)
    return jsonify({"token": secret, "record": outputs.token(row)}), 201


@bp.post("/tokens/<int:token_id>/revoke")
@require("user.manage")
def revoke_token(token_id: int):
    """Revoke an API token: every request with it is refused from now on."""
    row = auth.find_token(token_id)
    if row is None:
        raise NotFound("没有找到该令牌")
    access.user(row.user_id)
    auth.revoke_token(token_id, actor=access.me())
    return jsonify({"record": outputs.token(auth.find_token(token_id))})
