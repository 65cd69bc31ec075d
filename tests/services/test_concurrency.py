"""No double spend across kiosks: concurrent redemptions against one household.

Each thread is a kiosk with its own app context, session and database connection, so the
database's locks (BEGIN IMMEDIATE on SQLite, FOR UPDATE on PostgreSQL) are what keep the
books right.
"""

from __future__ import annotations

import sqlalchemy as sa

from inventory.models import Product
from kiosk.check import run_checks
from kiosk.errors import InsufficientPoints, OutOfStock
from kiosk.extensions import db
from kiosk.models import PointAccount, PointEntry, Redemption, User
from kiosk.redemption import CartLine, redeem
from tests import factories
from tests.race import KIOSKS, at_once


def _race(app, supermarket_id, keeper_id, payloads, product_id, key_prefix):
    """KIOSKS different carts of one item at once; return (successes, refusals, other errors)."""

    def attempt(i: int, keeper: User) -> str:
        return redeem(
            supermarket_id,
            card_payload=payloads[i % len(payloads)],
            lines=[CartLine(product_id, 1)],
            keeper=keeper,
            idempotency_key=f"{key_prefix}-{i:04d}",
        ).receipt_no

    results = at_once(app, keeper_id, attempt)
    ok = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, InsufficientPoints | OutOfStock)]
    other = [r for r in results if not isinstance(r, str | InsufficientPoints | OutOfStock)]
    return ok, refused, other


def test_32_kiosks_one_household_with_points_for_exactly_10(app, supermarket, keeper):
    hh = factories.household(supermarket, points=10)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, name="香皂", cost_fen=100, stock_qty=100)
    ok, refused, other = _race(app, supermarket.id, keeper.id, [payload], soap.id, "race")
    assert other == []
    assert len(ok) == 10 and len(refused) == 22
    assert sorted(ok) == [f"DT01-{n:08d}" for n in range(1, 11)]  # gap-free
    db.session.rollback()  # end the test's own read snapshot
    account = db.session.scalar(sa.select(PointAccount).where(PointAccount.household_id == hh.id))
    assert account.balance == 0
    balances = db.session.scalars(
        sa.select(PointEntry.balance_after).where(PointEntry.account_id == account.id)
    ).all()
    assert min(balances) >= 0  # never negative, at any step
    assert db.session.get(Product, soap.id).stock_qty == 90
    assert run_checks() == []


def test_32_kiosks_racing_for_the_last_5_in_stock(app, supermarket, keeper):
    homes = [factories.household(supermarket, points=50) for _ in range(4)]
    payloads = [factories.card(h)[1] for h in homes]
    oil = factories.product(supermarket, name="花生油", cost_fen=100, stock_qty=5)
    ok, refused, other = _race(app, supermarket.id, keeper.id, payloads, oil.id, "stock")
    assert other == []
    assert len(ok) == 5 and len(refused) == 27
    db.session.rollback()  # end the test's own read snapshot
    assert db.session.get(Product, oil.id).stock_qty == 0
    assert run_checks() == []


def test_32_retries_of_one_cart_redeem_once(app, supermarket, keeper):
    hh = factories.household(supermarket, points=100)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=100)
    # Plain ids only: the threads must not touch the test's own session's objects.
    supermarket_id, soap_id = supermarket.id, soap.id

    def retry(i: int, keeper_row: User) -> str:
        return redeem(
            supermarket_id,
            card_payload=payload,
            lines=[CartLine(soap_id, 3)],
            keeper=keeper_row,
            idempotency_key="same-cart-key",
        ).receipt_no

    results = at_once(app, keeper.id, retry)
    assert results == ["DT01-00000001"] * KIOSKS
    db.session.rollback()  # end the test's own read snapshot
    assert db.session.scalar(sa.select(sa.func.count(Redemption.id))) == 1
    assert (
        db.session.scalar(sa.select(PointAccount.balance).where(PointAccount.household_id == hh.id))
        == 97
    )
    assert run_checks() == []


def test_sqlite_write_transactions_take_the_write_lock_first(app, supermarket, keeper):
    """On SQLite a service begins with BEGIN IMMEDIATE, so it waits for the lock up front
    instead of failing with 'database is locked' halfway through."""
    hh = factories.household(supermarket, points=5)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=5)
    seen: list[str] = []

    def capture(conn, cursor, statement, *args):
        seen.append(statement.strip().upper())

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        redeem(
            supermarket.id,
            card_payload=payload,
            lines=[CartLine(soap.id, 1)],
            keeper=keeper,
            idempotency_key="lock-check-01",
        )
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    if db.engine.dialect.name == "sqlite":
        assert "BEGIN IMMEDIATE" in seen
    else:
        assert any("FOR UPDATE" in s and "POINT_ACCOUNTS" in s for s in seen)
        assert any("FOR UPDATE" in s and "PRODUCTS" in s for s in seen)


def test_only_the_signed_in_user_is_carried_into_the_write_transaction(app, supermarket, keeper):
    """A view reads before it calls a service; the service's write transaction reads again
    under its locks whatever that read loaded (another kiosk may have moved it meanwhile),
    and carries only the signed-in user, which it does not read again."""
    from inventory.stock import locked_products
    from kiosk.database import write_transaction

    soap = factories.product(supermarket, name="香皂", cost_fen=100, stock_qty=5)
    db.session.commit()
    user = db.session.get(User, keeper.id)  # the sign-in's read
    assert db.session.get(Product, soap.id).stock_qty == 5  # the view's read
    with db.engine.begin() as conn:  # another kiosk takes 3 meanwhile
        conn.execute(sa.update(Product).where(Product.id == soap.id).values(stock_qty=2))
    reads: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        reads.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with write_transaction(carry=(user,)):
            assert locked_products(supermarket.id, [soap.id])[soap.id].stock_qty == 2
            assert user.role == "keeper"
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in reads if "FROM users" in s]
