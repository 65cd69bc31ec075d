"""Property tests: whatever the sequence of awards, deductions, redemptions and voids, the
balances equal their entries, stock equals its movements, and redemption never overspends."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import Product
from kiosk import points
from kiosk.check import CHECKS, run_checks
from kiosk.errors import DomainError
from kiosk.extensions import db
from kiosk.models import PointAccount, PointEntry, Redemption
from kiosk.redemption import CartLine, redeem, void_redemption
from tests import factories

# The books these operations write, checked after every step (the whole of `jifen check`, which
# also walks the audit chains, stocktakes, notices…, runs once at the end of each example).
STEP_CHECKS = [
    c
    for c in CHECKS
    if c.__name__ in {"_accounts", "_entry_kinds", "_stock", "_redemptions", "_receipt_numbers"}
]
assert len(STEP_CHECKS) == 5, "a check was renamed: name it here again"


def _step_problems() -> list:
    return [problem for check in STEP_CHECKS for problem in check()]


operation = st.one_of(
    st.tuples(st.just("award"), st.integers(1, 40)),
    st.tuples(st.just("deduct"), st.integers(1, 40)),
    st.tuples(
        st.just("redeem"), st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4)), max_size=3)
    ),
    st.tuples(st.just("void"), st.integers(0, 20)),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_books_always_balance(app, supermarket, keeper, ops):
    hh = factories.household(supermarket, points=20)
    _, payload = factories.card(hh)
    goods = [
        factories.product(supermarket, name=f"商品{i}", cost_fen=cost, stock_qty=qty)
        for i, (cost, qty) in enumerate([(150, 4), (990, 2), (2000, 1)])
    ]
    for step, (kind, arg) in enumerate(ops):
        balance_before = db.session.scalar(
            sa.select(PointAccount.balance).where(PointAccount.household_id == hh.id)
        )
        try:
            if kind == "award":
                points.award_points(hh.id, arg, reason="志愿服务", actor=None)
            elif kind == "deduct":
                points.deduct_points(hh.id, arg, reason="违规", actor=None)
            elif kind == "redeem":
                r = redeem(
                    supermarket.id,
                    card_payload=payload,
                    lines=[CartLine(goods[i].id, q) for i, q in arg],
                    keeper=keeper,
                    idempotency_key=f"prop-{hh.id}-{step}",
                )
                assert r.balance_after >= 0
                assert r.total_points <= max(balance_before, 0)
            else:
                done = db.session.scalars(
                    sa.select(Redemption.id).where(
                        Redemption.household_id == hh.id, Redemption.status == "completed"
                    )
                ).all()
                if done:
                    void_redemption(done[arg % len(done)], actor=keeper, reason="测试作废")
        except DomainError:
            pass
        db.session.expire_all()
        assert _step_problems() == []
    assert run_checks() == []
    # A redemption never takes a balance below zero.
    redemption_entries = db.session.scalars(
        sa.select(PointEntry).where(PointEntry.kind == "redemption")
    ).all()
    assert all(e.balance_after >= 0 for e in redemption_entries)
    assert all(p.stock_qty >= 0 for p in db.session.scalars(sa.select(Product)))
