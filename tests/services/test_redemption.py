"""The redemption service: one transaction from card to ledger, every refusal loses nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from inventory.models import MOVE_REDEMPTION, MOVE_VOID_RETURN, StockMovement
from inventory.stock import StockInLine, moving_average, receive_stock
from kiosk import points
from kiosk.check import run_checks
from kiosk.errors import (
    AlreadyVoided,
    CardInvalid,
    CardRevoked,
    EmptyCart,
    HouseholdInactive,
    IdempotencyConflict,
    InsufficientPoints,
    NotFound,
    OutOfStock,
    PermissionDenied,
    ProductUnavailable,
    ValidationFailed,
    VoidNotAllowed,
)
from kiosk.extensions import db
from kiosk.households import set_household_status
from kiosk.models import (
    AuditEvent,
    PointAccount,
    PointEntry,
    PrintJob,
    Redemption,
)
from kiosk.redemption import CartLine, redeem, scan, void_redemption
from tests import factories


def _state(household_id):
    db.session.expire_all()
    account = db.session.scalar(
        sa.select(PointAccount).where(PointAccount.household_id == household_id)
    )
    return account.balance


def _counts():
    return (
        db.session.scalar(sa.select(sa.func.count(Redemption.id))),
        db.session.scalar(sa.select(sa.func.count(PointEntry.id))),
        db.session.scalar(sa.select(sa.func.count(StockMovement.id))),
        db.session.scalar(sa.select(sa.func.count(PrintJob.id))),
    )


@pytest.fixture
def shop(supermarket):
    hh = factories.household(supermarket, points=100)
    _, payload = factories.card(hh)
    rice = factories.product(supermarket, name="金龙鱼大米5kg", cost_fen=2550, stock_qty=5)
    soap = factories.product(
        supermarket, name="雕牌洗衣皂", cost_fen=300, stock_qty=20, category="日用品"
    )
    return hh, payload, rice, soap


def test_redeem_writes_every_book(app, supermarket, keeper, shop):
    hh, payload, rice, soap = shop
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 2), CartLine(soap.id, 3)],
        keeper=keeper,
        idempotency_key="cart-0000000001",
    )
    # 25.50 yuan at 1 point per yuan rounds up to 26 points; soap 3 points.
    assert [(ln.product_name, ln.quantity, ln.unit_points, ln.line_points) for ln in r.lines] == [
        ("金龙鱼大米5kg", 2, 26, 52),
        ("雕牌洗衣皂", 3, 3, 9),
    ]
    assert (r.total_points, r.balance_before, r.balance_after) == (61, 100, 39)
    assert r.total_cost_fen == 2 * 2550 + 3 * 300
    assert r.receipt_no == "DT01-00000001"
    assert _state(hh.id) == 39
    db.session.refresh(rice)
    db.session.refresh(soap)
    assert (rice.stock_qty, soap.stock_qty) == (3, 17)
    moves = db.session.scalars(
        sa.select(StockMovement).where(StockMovement.redemption_id == r.id)
    ).all()
    assert sorted((m.kind, m.quantity) for m in moves) == [
        (MOVE_REDEMPTION, -3),
        (MOVE_REDEMPTION, -2),
    ]
    entry = db.session.scalar(sa.select(PointEntry).where(PointEntry.redemption_id == r.id))
    assert (entry.kind, entry.amount, entry.balance_after) == ("redemption", -61, 39)
    assert (
        db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "redemption.create")
        ).actor_id
        == keeper.id
    )
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.redemption_id == r.id))
    assert job.status == "printed" and "DT01-00000001" in job.text
    assert run_checks() == []


def test_receipt_numbers_are_sequential(app, supermarket, keeper, shop):
    _, payload, rice, soap = shop
    nos = [
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key=f"cart-seq-{i:04d}",
        ).receipt_no
        for i in range(3)
    ]
    assert nos == ["DT01-00000001", "DT01-00000002", "DT01-00000003"]


def test_same_product_twice_is_merged(app, supermarket, keeper, shop):
    _, payload, rice, soap = shop
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(soap.id, 1), CartLine(soap.id, 2)],
        keeper=keeper,
        idempotency_key="cart-merge-01",
    )
    assert [(ln.quantity, ln.line_points) for ln in r.lines] == [(3, 9)]


@pytest.mark.parametrize(
    ("lines_of", "error"),
    [
        (lambda rice, soap: [], EmptyCart),
        (lambda rice, soap: [CartLine(rice.id, 0)], ValidationFailed),
        (lambda rice, soap: [CartLine(rice.id, -1)], ValidationFailed),
        (lambda rice, soap: [CartLine(rice.id, True)], ValidationFailed),
        (lambda rice, soap: [CartLine(rice.id, 1.5)], ValidationFailed),
        (lambda rice, soap: [CartLine(rice.id, 6)], OutOfStock),
        (lambda rice, soap: [CartLine(soap.id, 1), CartLine(999999, 1)], ProductUnavailable),
        (lambda rice, soap: [CartLine(rice.id, 4)], InsufficientPoints),  # 104 > 100
    ],
)
def test_refusals_change_nothing(app, supermarket, keeper, shop, lines_of, error):
    hh, payload, rice, soap = shop
    before = _counts()
    with pytest.raises(error) as exc:
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=lines_of(rice, soap),
            keeper=keeper,
            idempotency_key="cart-refused-1",
        )
    assert exc.value.message  # a Chinese sentence for the keeper
    assert _counts() == before
    assert _state(hh.id) == 100
    assert run_checks() == []
    # The refused key is not burnt: the same key redeems once the cart is right.
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(soap.id, 1)],
        keeper=keeper,
        idempotency_key="cart-refused-1",
    )
    assert r.receipt_no == "DT01-00000001"  # no gap left by the refusals


def test_insufficient_points_says_how_many_are_missing(app, supermarket, keeper, shop):
    _, payload, rice, _ = shop
    with pytest.raises(InsufficientPoints) as exc:
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(rice.id, 4)],
            keeper=keeper,
            idempotency_key="cart-short-01",
        )
    assert "104" in exc.value.message and "100" in exc.value.message and "4分" in exc.value.message
    assert exc.value.details["needed"] == 104


def test_out_of_stock_names_the_product(app, supermarket, keeper, shop):
    _, payload, rice, _ = shop
    with pytest.raises(OutOfStock) as exc:
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(rice.id, 6)],
            keeper=keeper,
            idempotency_key="cart-stock-01",
        )
    assert "金龙鱼大米5kg" in exc.value.message and exc.value.details["available"] == 5


def test_inactive_household_is_refused(app, supermarket, keeper, shop):
    hh, payload, _, soap = shop
    set_household_status(hh.id, False, actor=None)
    with pytest.raises(HouseholdInactive):
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key="cart-inactive",
        )
    assert scan(supermarket.id, payload).decision.may_redeem is False


def test_forged_and_revoked_cards_are_refused(app, supermarket, keeper, shop):
    hh, payload, _, soap = shop
    forged = payload[:-1] + str((int(payload[-1]) + 1) % 10)
    with pytest.raises(CardInvalid):
        redeem(
            supermarket.id,
            card_payload=forged,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key="cart-forged",
        )
    factories.card(hh)  # reissue
    with pytest.raises(CardRevoked):
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key="cart-revoked",
        )
    assert _state(hh.id) == 100


def test_card_of_another_supermarket_is_refused(app, supermarket, keeper):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    hh = factories.household(other, points=50)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=300)
    with pytest.raises(NotFound):
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key="cart-foreign",
        )


@pytest.mark.parametrize("key", ["", "short", "has space 123", "x" * 65, None])
def test_idempotency_key_is_required(app, supermarket, keeper, shop, key):
    _, payload, _, soap = shop
    with pytest.raises(ValidationFailed):
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key=key,
        )


def test_retry_returns_the_same_redemption(app, supermarket, keeper, shop):
    hh, payload, rice, soap = shop
    args = dict(
        card_payload=payload,
        lines=[CartLine(soap.id, 2)],
        keeper=keeper,
        idempotency_key="cart-retry-001",
    )
    first = redeem(supermarket.id, **args)
    before = _counts()
    again = redeem(supermarket.id, **args)
    assert again.id == first.id and again.receipt_no == first.receipt_no
    assert _counts() == before
    assert _state(hh.id) == 94


def test_same_key_different_cart_is_a_conflict(app, supermarket, keeper, shop):
    hh, payload, rice, soap = shop
    redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(soap.id, 2)],
        keeper=keeper,
        idempotency_key="cart-conflict-1",
    )
    with pytest.raises(IdempotencyConflict) as exc:
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 3)],
            keeper=keeper,
            idempotency_key="cart-conflict-1",
        )
    assert exc.value.status == 409
    other = factories.household(supermarket, points=10)
    _, other_payload = factories.card(other)
    with pytest.raises(IdempotencyConflict):
        redeem(
            supermarket.id,
            card_payload=other_payload,
            lines=[CartLine(soap.id, 2)],
            keeper=keeper,
            idempotency_key="cart-conflict-1",
        )
    assert _state(hh.id) == 94


def test_service_items_need_no_stock(app, supermarket, keeper):
    hh = factories.household(supermarket, points=30)
    _, payload = factories.card(hh)
    meal = factories.product(
        supermarket,
        name="长者食堂午餐",
        kind="service",
        cost_fen=800,
        stock_qty=0,
        category="服务",
        unit="次",
    )
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(meal.id, 2)],
        keeper=keeper,
        idempotency_key="cart-service1",
    )
    assert r.total_points == 16
    assert (
        db.session.scalar(
            sa.select(sa.func.count(StockMovement.id)).where(StockMovement.product_id == meal.id)
        )
        == 0
    )
    assert run_checks() == []


def test_points_price_follows_policy_rate(app, keeper):
    sm = factories.supermarket(code="YT01", name="羊亭镇信用超市", points_per_yuan=2)
    hh = factories.household(sm, points=100)
    _, payload = factories.card(hh)
    oil = factories.product(sm, cost_fen=1234)  # 12.34 yuan * 2 = 24.68 -> 25 points
    assert oil.points_price == 25
    r = redeem(
        sm.id,
        card_payload=payload,
        lines=[CartLine(oil.id, 1)],
        keeper=keeper,
        idempotency_key="cart-rate-001",
    )
    assert r.total_points == 25


def test_moving_average_cost_and_price(app, supermarket):
    oil = factories.product(supermarket, cost_fen=1000, stock_qty=10)
    receive_stock(supermarket.id, [StockInLine(oil.id, 30, 1200)], actor=None)
    db.session.refresh(oil)
    assert oil.unit_cost_fen == 1150 and oil.points_price == 12 and oil.stock_qty == 40
    assert moving_average(0, 999, 5, 700) == 700
    assert moving_average(3, 100, 0 + 1, 101) == 100  # 400.25 rounds to 100 (half up of 100.25)
    assert moving_average(1, 100, 1, 101) == 101  # 100.5 rounds half up


def test_void_reverses_points_and_stock(app, supermarket, keeper, shop):
    hh, payload, rice, soap = shop
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1), CartLine(soap.id, 2)],
        keeper=keeper,
        idempotency_key="cart-void-0001",
    )
    before = _counts()
    void_redemption(r.id, actor=keeper, reason="顾客退回")
    assert _state(hh.id) == 100
    db.session.refresh(rice)
    db.session.refresh(soap)
    assert (rice.stock_qty, soap.stock_qty) == (5, 20)
    # Nothing deleted: the original rows remain, reversals are added.
    counts = _counts()
    assert counts[0] == before[0] and counts[1] == before[1] + 1 and counts[2] == before[2] + 2
    returns = db.session.scalars(
        sa.select(StockMovement).where(StockMovement.kind == MOVE_VOID_RETURN)
    ).all()
    assert all(m.reverses_id is not None for m in returns)
    db.session.refresh(r)
    assert r.status == "voided" and r.void_reason == "顾客退回" and r.voided_by_id == keeper.id
    with pytest.raises(AlreadyVoided):
        void_redemption(r.id, actor=keeper, reason="again")
    assert run_checks() == []


def test_void_rules(app, supermarket, keeper, admin, supervisor, shop):
    _, payload, _, soap = shop
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(soap.id, 1)],
        keeper=keeper,
        idempotency_key="cart-void-rule",
    )
    with pytest.raises(ValidationFailed):
        void_redemption(r.id, actor=keeper, reason=" ")
    with pytest.raises(PermissionDenied):
        void_redemption(r.id, actor=supervisor, reason="监督小组不能作废")
    # Yesterday's redemption: the keeper may not void it, an admin may.
    db.session.execute(
        sa.update(Redemption)
        .where(Redemption.id == r.id)
        .values(created_at=r.created_at - timedelta(days=1))
    )
    db.session.commit()
    with pytest.raises(VoidNotAllowed):
        void_redemption(r.id, actor=keeper, reason="昨天的单")
    void_redemption(r.id, actor=admin, reason="村委核实后作废")
    assert run_checks() == []


def test_scan_reports_balance_and_reasons(app, supermarket, shop):
    hh, payload, _, _ = shop
    result = scan(supermarket.id, payload)
    assert result.household.id == hh.id
    assert result.decision.may_redeem and result.decision.spendable == 100
    assert any("100" in r.message for r in result.decision.reasons)


def test_negative_balance_after_deduction_cannot_redeem(app, supermarket, keeper, shop):
    hh, payload, _, soap = shop
    points.deduct_points(hh.id, 120, reason="违规焚烧秸秆", actor=None)
    result = scan(supermarket.id, payload)
    assert not result.decision.may_redeem and result.decision.spendable == 0
    with pytest.raises(InsufficientPoints):
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key="cart-negative",
        )
    assert run_checks() == []


def test_check_finds_a_tampered_balance(app, supermarket, keeper, shop):
    hh, payload, _, soap = shop
    db.session.execute(
        sa.update(PointAccount).where(PointAccount.household_id == hh.id).values(balance=999)
    )
    db.session.commit()
    problems = run_checks()
    assert [p.check for p in problems] == ["points"]
    assert f"household {hh.id}" in problems[0].subject


def test_check_finds_tampered_stock_and_receipt_gap(app, supermarket, keeper, shop):
    _, payload, rice, soap = shop
    redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(soap.id, 1)],
        keeper=keeper,
        idempotency_key="cart-tamper-01",
    )
    from inventory.models import Product
    from kiosk.models import Supermarket

    db.session.execute(sa.update(Product).where(Product.id == rice.id).values(stock_qty=99))
    db.session.execute(sa.update(Supermarket).values(next_receipt_no=5))
    db.session.commit()
    assert sorted(p.check for p in run_checks()) == ["receipts", "stock"]


def test_what_a_redemption_committed_stays_loaded_until_the_next_transaction(
    app, supermarket, keeper, shop
):
    """The answer is built from the committed objects without reading them again, and the
    session's next transaction reads them afresh (another kiosk may have moved them)."""
    from sqlalchemy import event

    hh, payload, rice, _soap = shop
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key="cart-kept-000001",
    )
    account = db.session.get(PointAccount, r.account_id)
    statements: list[str] = []

    def count(*_args) -> None:
        statements.append("x")

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        # Loaded: no statement to read what was just committed.
        assert (r.receipt_no, r.balance_after, len(r.lines)) == ("DT01-00000001", 74, 1)
        assert account.balance == 74
        assert statements == []
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # Another kiosk (another connection) awards points meanwhile.
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(PointAccount).where(PointAccount.id == account.id).values(balance=500)
        )
    # The session's next transaction sees it, not the kept value.
    db.session.execute(sa.select(1))
    assert account.balance == 500


def test_a_change_to_a_kept_object_is_written_not_dropped(app, supermarket, keeper, shop):
    """The next transaction reads kept objects afresh, but a change made to one meanwhile is
    this session's own: it is written, never silently dropped."""
    _hh, payload, rice, _soap = shop
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key="cart-kept-000002",
    )
    r.void_reason = "测试"  # on the kept object, before any new transaction
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Redemption, r.id).void_reason == "测试"
