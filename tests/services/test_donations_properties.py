"""Property test: whatever the sequence of cash and goods donations, purchases paid from the
pool, reversals and changes of the allowed advance, the pool's balance equals its entries and
never goes below the advance, stock equals its movements, and a refused step changes nothing."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import donations, fund
from inventory.donations import GoodsLine
from inventory.models import FUND_PURCHASE, Donation, FundEntry, Product
from kiosk.check import CHECKS, run_checks
from kiosk.clock import local_now
from kiosk.database import write_transaction
from kiosk.errors import DomainError
from kiosk.extensions import db
from kiosk.models import Supermarket
from tests import factories

_seq = itertools.count(1)

# The books these operations write, checked after every step (the whole of `jifen check`, which
# also walks the audit chains, stocktakes, notices…, runs once at the end of each example).
STEP_CHECKS = [
    c for c in CHECKS if c.__name__ in {"_stock", "_fund", "check_donations", "check_stock_ins"}
]
assert len(STEP_CHECKS) == 4, "a check was renamed: name it here again"

operation = st.one_of(
    st.tuples(st.just("cash"), st.integers(1, 5000)),
    st.tuples(st.just("goods"), st.tuples(st.integers(1, 5), st.integers(1, 3000))),
    st.tuples(st.just("purchase"), st.integers(1, 5000)),
    st.tuples(st.just("reverse"), st.integers(0, 10)),
    st.tuples(st.just("limit"), st.integers(0, 3000)),
    st.tuples(st.just("take"), st.integers(1, 5)),
)


def _state(sid: int, product_id: int) -> tuple:
    return (
        fund.balance_fen(sid),
        db.session.scalar(sa.select(sa.func.count(FundEntry.id))),
        db.session.get(Product, product_id).stock_qty,
        db.session.get(Product, product_id).unit_cost_fen,
        tuple(db.session.scalars(sa.select(Donation.status).order_by(Donation.id))),
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operation, min_size=1, max_size=10))
def test_the_pool_always_balances(app, supermarket, admin, ops):
    sid = supermarket.id
    # Examples share the database: each gets its own donor and product.
    donor = donations.create_donor(sid, name=f"企业{next(_seq)}", kind="enterprise", actor=None)
    rice = factories.product(supermarket, name="大米", cost_fen=1000, stock_qty=3)
    today = local_now().date()
    for kind, arg in ops:
        db.session.expire_all()
        before = _state(sid, rice.id)
        try:
            if kind == "cash":
                donations.record_cash_donation(
                    sid, donor_id=donor.id, amount_fen=arg, donated_on=today, actor=admin
                )
            elif kind == "goods":
                qty, value = arg
                donations.record_goods_donation(
                    sid,
                    donor_id=donor.id,
                    lines=[GoodsLine(rice.id, qty, value)],
                    donated_on=today,
                    actor=admin,
                )
            elif kind == "purchase":
                with write_transaction():
                    fund.post_entry(sid, FUND_PURCHASE, -arg, actor=None, ref_type="stock_in")
            elif kind == "reverse":
                ids = list(db.session.scalars(sa.select(Donation.id).order_by(Donation.id)))
                if ids:
                    donations.reverse_donation(ids[arg % len(ids)], actor=admin, reason="测试")
            elif kind == "limit":
                fund.set_advance_limit(sid, arg, actor=admin)
            else:  # goods leave the shelf (a write-off), so some reversals must be refused
                from inventory.models import MOVE_ADJUSTMENT
                from inventory.stock import apply_movement, locked_products

                with write_transaction():
                    product = locked_products(sid, [rice.id])[rice.id]
                    take = min(arg, product.stock_qty)
                    if take:
                        apply_movement(
                            product, MOVE_ADJUSTMENT, -take, product.unit_cost_fen, actor=None
                        )
        except DomainError:
            db.session.expire_all()
            assert _state(sid, rice.id) == before, f"a refused {kind} changed the books"
        db.session.expire_all()
        limit = db.session.get(Supermarket, sid).fund_advance_limit_fen
        assert fund.balance_fen(sid) >= -limit
        assert db.session.get(Product, rice.id).stock_qty >= 0
        assert db.session.get(Product, rice.id).unit_cost_fen >= 0
        assert [problem for check in STEP_CHECKS for problem in check()] == []
    assert run_checks() == []
