"""Donations from many counters at once, on both databases: receipt numbers stay gap-free and
unique, the pool's balance equals its entries, and a donation is reversed exactly once."""

from __future__ import annotations

import sqlalchemy as sa

from inventory import donations, fund
from inventory.donations import GoodsLine
from inventory.models import Donation, Product
from kiosk.check import run_checks
from kiosk.clock import local_now
from kiosk.errors import DonationAlreadyReversed
from kiosk.extensions import db
from kiosk.models import User
from tests import factories
from tests.race import KIOSKS, at_once


def test_many_counters_record_at_once(app, supermarket, keeper):
    donor = donations.create_donor(supermarket.id, name="县农商银行", kind="enterprise", actor=None)
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)
    sid, donor_id, rice_id = supermarket.id, donor.id, rice.id
    today = local_now().date()

    def attempt(i: int, who: User) -> str:
        if i % 4 == 0:  # every fourth counter takes goods in kind
            d = donations.record_goods_donation(
                sid,
                donor_id=donor_id,
                lines=[GoodsLine(rice_id, 1, 2000)],
                donated_on=today,
                actor=who,
            )
        else:
            d = donations.record_cash_donation(
                sid, donor_id=donor_id, amount_fen=100 + i, donated_on=today, actor=who
            )
        return d.receipt_no

    results = at_once(app, keeper.id, attempt)
    assert all(isinstance(r, str) for r in results), results
    assert sorted(results) == [f"JZ{n:06d}" for n in range(1, KIOSKS + 1)]
    db.session.rollback()  # end the read snapshot taken before the counters ran
    cash = sum(100 + i for i in range(KIOSKS) if i % 4)
    assert fund.balance_fen(sid) == cash
    assert db.session.get(Product, rice_id).stock_qty == KIOSKS // 4
    assert run_checks() == []


def test_a_donation_is_reversed_once(app, supermarket, keeper, admin):
    donor = donations.create_donor(supermarket.id, name="县农商银行", kind="enterprise", actor=None)
    d = donations.record_cash_donation(
        supermarket.id,
        donor_id=donor.id,
        amount_fen=50000,
        donated_on=local_now().date(),
        actor=keeper,
    )
    donation_id = d.id

    def attempt(i: int, who: User) -> str:
        donations.reverse_donation(donation_id, actor=who, reason=f"第{i}台")
        return "reversed"

    results = at_once(app, admin.id, attempt)
    assert results.count("reversed") == 1
    assert all(isinstance(r, DonationAlreadyReversed) for r in results if r != "reversed")
    db.session.rollback()  # end the read snapshot taken before the counters ran
    assert fund.balance_fen(supermarket.id) == 0
    assert db.session.scalar(sa.select(Donation.status)) == "reversed"
    assert run_checks() == []
