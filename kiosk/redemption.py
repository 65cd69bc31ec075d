"""Redemption at the counter: one transaction from card to ledger, then the receipt.

``redeem`` verifies the card, locks the account (BEGIN IMMEDIATE on SQLite, FOR UPDATE on
PostgreSQL), asks the rules, checks every line, deducts points and stock, writes the entries,
movements, redemption, audit event and print job, commits, and only then prints.

The rules (:func:`kiosk.rules.decide`) see the household's standing read under that lock
(:func:`kiosk.rules.standing.account_state`) and the cart; each line is charged what the decision
says (0 for a free restricted item such as 寨里's 长者食堂 meal). Under a balance policy the
charge is taken from the balance (``spent_points`` = ``total_points``); under a quota policy
(寨里) no point entry is written (``spent_points`` 0) and the charge counts against the
period's quota.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from inventory import periods
from inventory.models import MOVE_REDEMPTION, MOVE_VOID_RETURN, Product, StockMovement
from inventory.products import catalogue
from inventory.stock import apply_movement, locked_products
from kiosk import assessments, audit, clock, permissions, printing
from kiosk.cards import resolve_card
from kiosk.database import write_transaction
from kiosk.errors import (
    AlreadyVoided,
    EmptyCart,
    HouseholdInactive,
    IdempotencyConflict,
    InsufficientPoints,
    NotEligible,
    NotFound,
    OutOfStock,
    PermissionDenied,
    ProductUnavailable,
    ValidationFailed,
    VoidNotAllowed,
)
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import (
    ACTIVE,
    ENTRY_REDEMPTION,
    ENTRY_REVERSAL,
    REDEMPTION_COMPLETED,
    REDEMPTION_VOIDED,
    Household,
    PointAccount,
    PointEntry,
    Redemption,
    RedemptionLine,
    Supermarket,
    User,
)
from kiosk.points import locked_account, post_entry
from kiosk.rules import SPEND_BALANCE, AccountState, CartItem, Decision, Policy, decide, standing
from kiosk.rules.policies import policy_for
from kiosk.rules.reasons import Reason
from kiosk.timeutil import local_date, utcnow

logger = logging.getLogger(__name__)

MAX_LINES = 50
MAX_LINE_QUANTITY = 999
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-:.]{8,64}$")


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int


def normalize_cart(lines: list[CartLine]) -> list[CartLine]:
    """Validate a cart and merge repeated products; sorted by product id."""
    if not lines:
        raise EmptyCart()
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("一次最多兑换%(n)s种物品", n=MAX_LINES))
    merged: dict[int, int] = {}
    for line in lines:
        if isinstance(line.product_id, bool) or not isinstance(line.product_id, int):
            raise ValidationFailed(_("商品编号不正确"))
        if (
            isinstance(line.quantity, bool)
            or not isinstance(line.quantity, int)
            or line.quantity <= 0
        ):
            raise ValidationFailed(_("数量必须是正整数"))
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
        if merged[line.product_id] > MAX_LINE_QUANTITY:
            raise ValidationFailed(_("单个物品数量不能超过%(n)s", n=MAX_LINE_QUANTITY))
    return [CartLine(pid, qty) for pid, qty in sorted(merged.items())]


def cart_hash(card_serial: int, lines: list[CartLine]) -> str:
    """Fingerprint of (household card, cart), to tell a retry from a different cart."""
    body = json.dumps([card_serial, [[ln.product_id, ln.quantity] for ln in lines]])
    return hashlib.sha256(body.encode()).hexdigest()


def _refuse(decision: Decision, total: int) -> None:
    """Raise the domain error matching the decision's blocking reason (its sentences kept as
    messages, rendered in the reader's language where the refusal is shown)."""
    reason = decision.blocking_reason
    reasons = [r.to_dict(render=False) for r in decision.reasons]
    if reason is not None and reason.code in ("insufficient_points", "no_points"):
        raise InsufficientPoints(
            reason.text, needed=total, spendable=decision.spendable, reasons=reasons
        )
    raise NotEligible(reason.text if reason else None, reasons=reasons)


@dataclass(frozen=True)
class Offer:
    """A product as the counter would ring up one unit of it for a household now."""

    product: Product
    price: int  # its points price under the policy (what a tile shows)
    points: int  # what one unit is charged: 0 for a free restricted item (寨里's 长者食堂 meal)
    allowed: bool  # whether the rules let the household take one now (its stock aside)
    refusal: Reason | None = None  # when not allowed: the rules' first blocking reason


@dataclass(frozen=True)
class ScanResult:
    """What the counter shows after a card scan."""

    household: Household
    account: PointAccount
    decision: Decision
    card_id: int
    carried: Fraction = Fraction(0)  # 结转: a converted score's fraction not yet a whole point
    offers: tuple[Offer, ...] = ()  # the catalogue for this household, when asked for


def scan(
    supermarket_id: int, payload: str, moment: datetime | None = None, *, with_offers: bool = False
) -> ScanResult:
    """Verify a card and decide what its household may redeem now (reads only); with
    ``with_offers``, each product in the catalogue as the rules would charge it (``offers``).

    ``moment`` is naive UTC (default now); the rules see it as local time."""
    card = resolve_card(payload, with_account=True)
    household = card.household
    if household.supermarket_id != supermarket_id:
        raise NotFound(_("这张卡不属于本超市"))
    account = household.account
    supermarket = db.session.get_one(Supermarket, supermarket_id)
    policy = policy_for(supermarket)
    local = clock.utc_to_local(moment) if moment is not None else clock.local_now()
    state = standing.account_state(household, policy, local)
    decision = decide(state, policy, local)
    carried = assessments.carried_fraction(household.id, policy)
    offers = _offers(state, policy, local, catalogue(supermarket_id)) if with_offers else ()
    return ScanResult(household, account, decision, card.id, carried, offers)


def _offers(
    state: AccountState, policy: Policy, local: datetime, products: Iterable[Product]
) -> tuple[Offer, ...]:
    """Each product as the rules decide a cart of one unit of it, as ``redeem`` would: what it
    is charged (a free restricted item costs an eligible household 0) and whether it may be
    taken (only by an eligible holder, within the period's limit, within what may be spent)."""
    offers = []
    for product in products:
        price = policy.points_price(product.unit_cost_fen)
        item = CartItem(product.id, product.name, 1, price, product.restriction_key)
        one = decide(state, policy, local, cart=(item,), look_ahead=False)
        charged = one.charged.get(product.id, price)
        offers.append(Offer(product, price, charged, one.may_redeem, one.blocking_reason))
    return tuple(offers)


def redeem(
    supermarket_id: int,
    *,
    card_payload: str,
    lines: list[CartLine],
    keeper: User,
    idempotency_key: str,
    moment: datetime | None = None,
    print_receipt: bool = True,
) -> Redemption:
    """Redeem a cart for a card's household. A retry with the same key returns the same one.

    ``moment`` (naive UTC, default now) stamps the redemption; the rules see it as local time.
    """
    if not isinstance(idempotency_key, str) or not _KEY_RE.match(idempotency_key):
        raise ValidationFailed(_("请求编号（idempotency key）应为8到64位字母、数字或 - _ : ."))
    lines = normalize_cart(lines)
    moment = moment or utcnow()
    local = clock.utc_to_local(moment)
    created = False
    try:
        with write_transaction(keep_loaded=True, carry=(keeper,)):
            card = resolve_card(card_payload)
            household = card.household
            if household.supermarket_id != supermarket_id:
                raise NotFound(_("这张卡不属于本超市"))
            fingerprint = cart_hash(card.serial, lines)
            account = locked_account(household.id)
            # The locked row is the household's account: the rules read it through the
            # relationship without loading it a second time.
            set_committed_value(household, "account", account)
            existing = _existing(idempotency_key, fingerprint)
            if existing is not None:
                return existing
            if household.status != ACTIVE:
                raise HouseholdInactive()
            # Goods leave the shelf in this month's books: never into a closed month.
            periods.ensure_open(supermarket_id, moment)
            supermarket = db.session.get_one(Supermarket, supermarket_id)
            policy = policy_for(supermarket)
            products = locked_products(supermarket_id, [ln.product_id for ln in lines])
            priced = []
            items = []
            for line in lines:
                product = products.get(line.product_id)
                if product is None or not product.active:
                    raise ProductUnavailable(product_id=line.product_id)
                if product.tracks_stock and product.stock_qty < line.quantity:
                    raise OutOfStock(
                        _(
                            "%(name)s 库存不足：只剩%(left)s%(unit)s",
                            name=product.name,
                            left=max(product.stock_qty, 0),
                            unit=product.unit,
                        ),
                        product_id=product.id,
                        available=max(product.stock_qty, 0),
                    )
                price = policy.points_price(product.unit_cost_fen)
                items.append(
                    CartItem(
                        product.id, product.name, line.quantity, price, product.restriction_key
                    )
                )
            state = standing.account_state(household, policy, local)
            decision = decide(state, policy, local, cart=tuple(items))
            for item in items:
                charged = decision.charged.get(item.product_id, item.unit_points)
                priced.append((products[item.product_id], item.quantity, charged))
            total = sum(qty * pts for _, qty, pts in priced)
            if not decision.may_redeem:
                _refuse(decision, total)
            spent = total if policy.spend == SPEND_BALANCE else 0
            if spent > 0 and spent > account.balance:  # the rules' guard, enforced again
                raise InsufficientPoints(needed=spent, spendable=max(account.balance, 0))
            quota_left = decision.quota_left  # the period's quota before this cart
            if quota_left is not None:
                quota_left = max(0, quota_left - total)

            receipt_no = _next_receipt_no(supermarket)
            balance_before = account.balance
            # The lines go in with the redemption (one flush) and stay loaded for the receipt.
            redemption = Redemption(
                supermarket_id=supermarket_id,
                receipt_no=receipt_no,
                household_id=household.id,
                account_id=account.id,
                card_id=card.id,
                keeper_id=keeper.id,
                idempotency_key=idempotency_key,
                cart_hash=fingerprint,
                total_points=total,
                spent_points=spent,
                quota_left=quota_left,
                total_cost_fen=sum(qty * p.unit_cost_fen for p, qty, _ in priced),
                balance_before=balance_before,
                balance_after=balance_before - spent,
                created_at=moment,
                lines=[
                    RedemptionLine(
                        product_id=product.id,
                        product_name=product.name,
                        unit=product.unit,
                        quantity=qty,
                        unit_points=unit_points,
                        unit_cost_fen=product.unit_cost_fen,
                        line_points=qty * unit_points,
                        restriction_key=product.restriction_key,
                    )
                    for product, qty, unit_points in priced
                ],
            )
            db.session.add(redemption)
            db.session.flush()
            for product, qty, _unit_points in priced:
                if product.tracks_stock:
                    apply_movement(
                        product,
                        MOVE_REDEMPTION,
                        -qty,
                        product.unit_cost_fen,
                        actor=keeper,
                        redemption_id=redemption.id,
                    )
            if policy.spend == SPEND_BALANCE:
                post_entry(
                    account,
                    ENTRY_REDEMPTION,
                    -spent,
                    actor=keeper,
                    reason=f"兑换 {receipt_no}",
                    redemption_id=redemption.id,
                    flush=False,
                )
                account.redeemed_total += spent
            audit.record(
                "redemption.create",
                redemption,
                actor=keeper,
                receipt_no=receipt_no,
                household_id=household.id,
                total_points=total,
                spent_points=spent,
                quota_left=quota_left,
                lines=[[p.id, qty, pts] for p, qty, pts in priced],
            )
            # The receipt's job goes out with the movements and the entry in one flush.
            job = printing.queue_receipt(redemption, requested_by=keeper, claim=print_receipt)
            # A new redemption's receipts are this one job: the answer needs no read-back.
            set_committed_value(redemption, "receipts", [job])
            job_id = job.id
            created = True
    except IntegrityError:
        # Another kiosk committed the same idempotency key first (for another household).
        db.session.rollback()
        existing = db.session.scalar(
            sa.select(Redemption).where(Redemption.idempotency_key == idempotency_key)
        )
        if existing is None:
            raise
        raise IdempotencyConflict() from None
    logger.info("redeemed %s", redemption.receipt_no)
    if created and print_receipt:
        printing.deliver_claimed(job_id)
    return redemption


def _next_receipt_no(supermarket: Supermarket) -> str:
    """Take the supermarket's next receipt number; the row stays locked until commit, so
    numbers are gap-free (a rolled-back redemption gives its number back)."""
    table = cast(sa.Table, Supermarket.__table__)
    # A plain statement on the transaction's connection (no ORM bookkeeping); the loaded
    # supermarket is told the new value.
    taken = (
        db.session.connection()
        .execute(
            sa.update(table)
            .where(table.c.id == supermarket.id)
            .values(next_receipt_no=table.c.next_receipt_no + 1)
            .returning(table.c.next_receipt_no)
        )
        .scalar_one()
    )
    set_committed_value(supermarket, "next_receipt_no", taken)
    return receipt_number(supermarket.code, taken - 1)


def receipt_number(code: str, number: int) -> str:
    """A redemption's receipt number as printed: the supermarket's code and 8 digits."""
    return f"{code}-{number:08d}"


def _existing(idempotency_key: str, fingerprint: str) -> Redemption | None:
    existing = db.session.scalar(
        sa.select(Redemption).where(Redemption.idempotency_key == idempotency_key)
    )
    if existing is not None and existing.cart_hash != fingerprint:
        raise IdempotencyConflict()
    return existing


def void_redemption(redemption_id: int, *, actor: User, reason: str) -> Redemption:
    """Void (作废) a redemption: reversing point entry and stock movements; nothing deleted.

    A keeper may void a redemption of their own supermarket on the day it was made; an admin
    may void any. The receipt number stays used, so numbering stays gap-free.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("作废需要填写原因"))
    if not permissions.allows(actor, "redemption.void"):
        raise PermissionDenied(_("只有超市管理员或村委管理员可以作废兑换单"))
    with write_transaction():
        redemption = db.session.get(Redemption, redemption_id)
        if redemption is None:
            raise NotFound(_("没有找到该兑换单"))
        account = locked_account(redemption.household_id)
        db.session.refresh(redemption)
        if redemption.status == REDEMPTION_VOIDED:
            raise AlreadyVoided()
        if not permissions.allows(actor, "redemption.void_any"):
            if not permissions.works_for(actor, redemption.supermarket_id):
                raise PermissionDenied(_("不能作废其他超市的兑换单"))
            tz = current_app.config["JIFEN_TIMEZONE"]
            if local_date(redemption.created_at, tz) != local_date(utcnow(), tz):
                raise VoidNotAllowed()
        # The reversal is posted now, in the open month (a void of last month's redemption
        # is a correction in this month's books, never a change to a closed month).
        periods.ensure_open(redemption.supermarket_id)
        products = locked_products(
            redemption.supermarket_id, sorted({ln.product_id for ln in redemption.lines})
        )
        movements = db.session.scalars(
            sa.select(StockMovement)
            .where(
                StockMovement.redemption_id == redemption.id,
                StockMovement.kind == MOVE_REDEMPTION,
            )
            .order_by(StockMovement.id)
        )
        for movement in movements:
            apply_movement(
                products[movement.product_id],
                MOVE_VOID_RETURN,
                -movement.quantity,
                movement.unit_cost_fen,
                actor=actor,
                redemption_id=redemption.id,
                reverses_id=movement.id,
                note=reason,
            )
        original = db.session.scalar(
            sa.select(PointEntry).where(
                PointEntry.redemption_id == redemption.id, PointEntry.kind == ENTRY_REDEMPTION
            )
        )
        if original is not None:  # a quota redemption (寨里) took no points: nothing to reverse
            post_entry(
                account,
                ENTRY_REVERSAL,
                -original.amount,
                actor=actor,
                reason=f"作废 {redemption.receipt_no}：{reason}",
                redemption_id=redemption.id,
                reverses_id=original.id,
            )
            account.redeemed_total -= redemption.spent_points
        redemption.status = REDEMPTION_VOIDED
        redemption.voided_at = utcnow()
        redemption.voided_by_id = actor.id
        redemption.void_reason = reason
        printing.mark_unprinted_voided(redemption)
        audit.record(
            "redemption.void",
            redemption,
            actor=actor,
            receipt_no=redemption.receipt_no,
            reason=reason,
        )
    logger.info("voided %s", redemption.receipt_no)
    return redemption


def get_redemption(redemption_id: int) -> Redemption:
    redemption = db.session.get(Redemption, redemption_id)
    if redemption is None:
        raise NotFound(_("没有找到该兑换单"))
    return redemption


def find_redemption(redemption_id: int) -> Redemption | None:
    """The redemption with this id, or None."""
    return db.session.get(Redemption, redemption_id)


def receipt_numbers(redemption_ids: Iterable[int | None]) -> dict[int, str]:
    """Receipt number by redemption id (one query; None is skipped)."""
    wanted = {i for i in redemption_ids if i is not None}
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(Redemption.id, Redemption.receipt_no).where(Redemption.id.in_(wanted))
    )
    return {row.id: row.receipt_no for row in rows}


def recent_redemptions(household_id: int, limit: int = 10) -> list[Redemption]:
    return list(
        db.session.scalars(
            sa.select(Redemption)
            .where(Redemption.household_id == household_id)
            .order_by(Redemption.id.desc())
            .limit(limit)
        )
    )


__all__ = [
    "CartLine",
    "REDEMPTION_COMPLETED",
    "redeem",
    "scan",
    "void_redemption",
]
