"""Donations and the fund pool as services: cash into the pool, goods into stock at assessed
value (moving average), gap-free receipt numbers, reversal of both kinds and its refusals,
the allowed advance, closed months, roles, and ``jifen check`` clean after each."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from inventory import donations, fund, periods
from inventory.donations import GoodsLine
from inventory.models import (
    FUND_DONATION,
    FUND_PURCHASE,
    FUND_REVERSAL,
    MOVE_DONATION_IN,
    Donation,
    FundEntry,
    MonthClose,
    Product,
    StockMovement,
)
from kiosk.check import run_checks
from kiosk.clock import local_now
from kiosk.database import write_transaction
from kiosk.errors import (
    DonationAlreadyReversed,
    DuplicateValue,
    FundInsufficient,
    MonthClosed,
    NotFound,
    OutOfStock,
    PermissionDenied,
    ValidationFailed,
)
from kiosk.extensions import db
from kiosk.models import AuditEvent
from kiosk.redemption import CartLine, redeem
from kiosk.timeutil import utcnow
from tests import factories


@pytest.fixture
def today(app):
    return local_now().date()


@pytest.fixture
def donor(supermarket, keeper):
    return donations.create_donor(
        supermarket.id, name="王德福", kind="xiangxian", contact="13800000000", actor=keeper
    )


def _cash(sm, donor, keeper, fen, on):
    return donations.record_cash_donation(
        sm.id, donor_id=donor.id, amount_fen=fen, donated_on=on, actor=keeper
    )


def _audits(action):
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_cash_donation_goes_into_the_pool(app, supermarket, keeper, donor, today):
    d = _cash(supermarket, donor, keeper, 50000, today)
    assert (d.receipt_no, d.form, d.amount_fen, d.status) == ("JZ000001", "cash", 50000, "recorded")
    assert fund.balance_fen(supermarket.id) == 50000
    entry = db.session.get(FundEntry, d.fund_entry_id)
    assert (entry.kind, entry.amount_fen, entry.balance_after_fen) == (FUND_DONATION, 50000, 50000)
    assert (entry.ref_type, entry.ref_id) == ("donation", d.id)
    assert _audits("donation.record")[0].data["amount_fen"] == 50000
    assert run_checks() == []


def test_goods_donation_goes_into_stock_at_the_moving_average(
    app, supermarket, keeper, donor, today
):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=10, unit="袋")
    oil = factories.product(supermarket, name="花生油", cost_fen=0, stock_qty=0, unit="桶")
    d = donations.record_goods_donation(
        supermarket.id,
        donor_id=donor.id,
        lines=[GoodsLine(rice.id, 10, 3000), GoodsLine(oil.id, 2, 4990)],
        donated_on=today,
        actor=keeper,
    )
    assert (d.form, d.amount_fen) == ("goods", 10 * 3000 + 2 * 4990)
    db.session.expire_all()
    rice, oil = db.session.get(Product, rice.id), db.session.get(Product, oil.id)
    # (10 × 20.00 + 10 × 30.00) / 20 = 25.00
    assert (rice.stock_qty, rice.unit_cost_fen, rice.points_price) == (20, 2500, 25)
    assert (oil.stock_qty, oil.unit_cost_fen, oil.points_price) == (2, 4990, 50)
    lines = donations.donation_movements(d.id)
    assert [(m.kind, m.quantity, m.unit_cost_fen, m.ref_type) for m in lines] == [
        (MOVE_DONATION_IN, 10, 3000, "donation"),
        (MOVE_DONATION_IN, 2, 4990, "donation"),
    ]
    # Goods in kind are not cash: the pool does not move.
    assert fund.balance_fen(supermarket.id) == 0
    assert donations.goods_summary(d) == "大米×10袋、花生油×2桶"
    assert run_checks() == []


def test_receipt_numbers_are_gap_free_and_stay_used_after_a_reversal(
    app, supermarket, keeper, admin, donor, today
):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)
    numbers = []
    for i in range(3):
        numbers.append(_cash(supermarket, donor, keeper, 1000 + i, today).receipt_no)
    donations.reverse_donation(
        db.session.scalar(sa.select(Donation.id).where(Donation.receipt_no == "JZ000002")),
        actor=admin,
        reason="金额记错",
    )
    g = donations.record_goods_donation(
        supermarket.id,
        donor_id=donor.id,
        lines=[GoodsLine(rice.id, 1, 100)],
        donated_on=today,
        actor=keeper,
    )
    numbers.append(g.receipt_no)
    assert numbers == ["JZ000001", "JZ000002", "JZ000003", "JZ000004"]
    # Another supermarket numbers its own from 1.
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    other_donor = donations.create_donor(other.id, name="县农商银行", kind="enterprise", actor=None)
    d = donations.record_cash_donation(
        other.id, donor_id=other_donor.id, amount_fen=100, donated_on=today, actor=None
    )
    assert d.receipt_no == "JZ000001"
    assert run_checks() == []


def test_a_gap_in_the_numbers_is_found_by_the_check(app, supermarket, keeper, donor, today):
    d = _cash(supermarket, donor, keeper, 1000, today)
    with write_transaction():
        db.session.get(Donation, d.id).seq = 2
    assert [p.check for p in run_checks()] == ["donations"]


def test_reversing_cash_takes_it_back_out_of_the_pool(
    app, supermarket, keeper, admin, donor, today
):
    d = _cash(supermarket, donor, keeper, 50000, today)
    donations.reverse_donation(d.id, actor=admin, reason="重复登记")
    db.session.expire_all()
    d = db.session.get(Donation, d.id)
    assert (d.status, d.reverse_reason, d.reversed_by_id) == ("reversed", "重复登记", admin.id)
    assert fund.balance_fen(supermarket.id) == 0
    reversal = db.session.scalar(sa.select(FundEntry).where(FundEntry.kind == FUND_REVERSAL))
    assert (reversal.amount_fen, reversal.reverses_id) == (-50000, d.fund_entry_id)
    assert _audits("donation.reverse")[0].data["reason"] == "重复登记"
    with pytest.raises(DonationAlreadyReversed):
        donations.reverse_donation(d.id, actor=admin, reason="再撤一次")
    assert fund.balance_fen(supermarket.id) == 0
    assert run_checks() == []


def _purchase(sm, fen):
    """Money paid out of the pool (a purchase, as the stock-in work posts it)."""
    with write_transaction():
        fund.post_entry(sm.id, FUND_PURCHASE, -fen, actor=None, ref_type="stock_in", ref_id=1)


def test_reversing_cash_already_spent_is_refused_beyond_the_advance(
    app, supermarket, keeper, admin, donor, today
):
    d = _cash(supermarket, donor, keeper, 50000, today)
    _purchase(supermarket, 40000)
    with pytest.raises(FundInsufficient) as exc:
        donations.reverse_donation(d.id, actor=admin, reason="记错")
    assert "允许垫支0.00元" in exc.value.message
    db.session.expire_all()
    assert db.session.get(Donation, d.id).status == "recorded"
    assert fund.balance_fen(supermarket.id) == 10000
    # Once the village allows an advance of 400 yuan, the pool may go to -400.00.
    fund.set_advance_limit(supermarket.id, 40000, actor=admin)
    donations.reverse_donation(d.id, actor=admin, reason="记错")
    assert fund.balance_fen(supermarket.id) == -40000
    assert run_checks() == []


def test_the_advance_limit_cannot_go_below_what_is_already_advanced(
    app, supermarket, admin, keeper, supervisor
):
    fund.set_advance_limit(supermarket.id, 30000, actor=admin)
    _purchase(supermarket, 20000)
    assert fund.balance_fen(supermarket.id) == -20000
    with pytest.raises(FundInsufficient):
        _purchase(supermarket, 10001)
    with pytest.raises(ValidationFailed, match="已垫支200.00元"):
        fund.set_advance_limit(supermarket.id, 19999, actor=admin)
    for who in (keeper, supervisor):
        with pytest.raises(PermissionDenied):
            fund.set_advance_limit(supermarket.id, 50000, actor=who)
    with pytest.raises(ValidationFailed):
        fund.set_advance_limit(supermarket.id, -1, actor=admin)
    fund.set_advance_limit(supermarket.id, 20000, actor=admin)
    event = _audits("fund.advance_limit")[-1]
    assert (event.data["old_fen"], event.data["new_fen"], event.actor_id) == (
        30000,
        20000,
        admin.id,
    )
    assert run_checks() == []


def test_reversing_goods_takes_them_back_out(app, supermarket, keeper, admin, donor, today):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=10, unit="袋")
    d = donations.record_goods_donation(
        supermarket.id,
        donor_id=donor.id,
        lines=[GoodsLine(rice.id, 10, 100000)],  # a typo: 1000 yuan a bag
        donated_on=today,
        actor=keeper,
    )
    db.session.expire_all()
    assert db.session.get(Product, rice.id).unit_cost_fen == 51000
    donations.reverse_donation(d.id, actor=admin, reason="单价记错")
    db.session.expire_all()
    rice = db.session.get(Product, rice.id)
    # The typo's effect on the average cost is undone with the goods.
    assert (rice.stock_qty, rice.unit_cost_fen, rice.points_price) == (10, 2000, 20)
    moves = donations.donation_movements(d.id)
    assert [(m.quantity, m.reverses_id) for m in moves] == [(10, None), (-10, moves[0].id)]
    assert run_checks() == []


def test_reversing_goods_no_longer_on_the_shelf_is_refused(
    app, supermarket, keeper, admin, donor, today
):
    oil = factories.product(supermarket, name="花生油", cost_fen=0, stock_qty=0, unit="桶")
    d = donations.record_goods_donation(
        supermarket.id,
        donor_id=donor.id,
        lines=[GoodsLine(oil.id, 5, 5000)],
        donated_on=today,
        actor=keeper,
    )
    hh = factories.household(supermarket, points=500)
    _, payload = factories.card(hh)
    redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(oil.id, 2)],
        keeper=keeper,
        idempotency_key="donation-test-1",
        print_receipt=False,
    )
    with pytest.raises(OutOfStock, match="现有库存3桶"):
        donations.reverse_donation(d.id, actor=admin, reason="记错")
    db.session.expire_all()
    assert db.session.get(Donation, d.id).status == "recorded"
    assert db.session.get(Product, oil.id).stock_qty == 3
    assert run_checks() == []


def test_a_closed_month_refuses_donations_and_reversals(
    app, supermarket, keeper, admin, donor, today
):
    d = _cash(supermarket, donor, keeper, 1000, today)
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)
    with write_transaction():
        db.session.add(MonthClose(supermarket_id=supermarket.id, month=periods.month_of(utcnow())))
    with pytest.raises(MonthClosed):
        _cash(supermarket, donor, keeper, 1000, today)
    with pytest.raises(MonthClosed):
        donations.record_goods_donation(
            supermarket.id,
            donor_id=donor.id,
            lines=[GoodsLine(rice.id, 1, 100)],
            donated_on=today,
            actor=keeper,
        )
    with pytest.raises(MonthClosed):
        donations.reverse_donation(d.id, actor=admin, reason="记错")
    assert db.session.scalar(sa.select(sa.func.count(Donation.id))) == 1
    assert fund.balance_fen(supermarket.id) == 1000
    # The month was closed by hand here, without the month-end report its own check wants.
    assert [p for p in run_checks() if p.check != "month"] == []


@pytest.mark.parametrize(
    "fen,on,message",
    [
        (0, 0, "必须大于0"),
        (-5, 0, "必须大于0"),
        (10**12, 0, "一千万"),
        (100, 1, "不能晚于今天"),
    ],
)
def test_bad_cash_donations_are_refused(app, supermarket, keeper, donor, today, fen, on, message):
    with pytest.raises(ValidationFailed, match=message):
        _cash(supermarket, donor, keeper, fen, today + timedelta(days=on))
    assert db.session.scalar(sa.select(sa.func.count(Donation.id))) == 0


def test_bad_goods_donations_are_refused(app, supermarket, keeper, donor, today):
    rice = factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)
    meal = factories.product(supermarket, name="长者餐", kind="service", cost_fen=800, stock_qty=0)

    def give(lines):
        return donations.record_goods_donation(
            supermarket.id, donor_id=donor.id, lines=lines, donated_on=today, actor=keeper
        )

    with pytest.raises(ValidationFailed, match="至少"):
        give([])
    with pytest.raises(ValidationFailed, match="数量"):
        give([GoodsLine(rice.id, 0, 100)])
    with pytest.raises(ValidationFailed, match="评估单价"):
        give([GoodsLine(rice.id, 1, 0)])
    with pytest.raises(ValidationFailed, match="服务项目"):
        give([GoodsLine(meal.id, 1, 100)])
    with pytest.raises(NotFound):
        give([GoodsLine(99999, 1, 100)])
    assert db.session.scalar(sa.select(sa.func.count(StockMovement.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Donation.id))) == 0


def test_roles(app, supermarket, keeper, admin, supervisor, donor, today):
    with pytest.raises(PermissionDenied):
        _cash(supermarket, donor, supervisor, 100, today)
    with pytest.raises(PermissionDenied):
        donations.create_donor(supermarket.id, name="某人", kind="individual", actor=supervisor)
    d = _cash(supermarket, donor, keeper, 100, today)
    for who in (keeper, supervisor):
        with pytest.raises(PermissionDenied):
            donations.reverse_donation(d.id, actor=who, reason="x")
        with pytest.raises(PermissionDenied):
            donations.update_donor(
                donor.id,
                name="王德福",
                kind="xiangxian",
                contact="",
                publish_full_name=True,
                active=True,
                actor=who,
            )
    assert fund.balance_fen(supermarket.id) == 100


def test_donors_inactive_duplicates_and_public_names(app, supermarket, keeper, admin, donor, today):
    assert donations.public_name(donor) == "王*福"
    bank = donations.create_donor(
        supermarket.id, name="县农商银行", kind="enterprise", actor=keeper
    )
    assert donations.public_name(bank) == "县农商银行"
    with pytest.raises(DuplicateValue):
        donations.create_donor(supermarket.id, name="县农商银行", kind="enterprise", actor=keeper)
    # Two people may share a name.
    donations.create_donor(supermarket.id, name="王德福", kind="xiangxian", actor=keeper)
    donations.update_donor(
        donor.id,
        name="王德福",
        kind="xiangxian",
        contact="新电话",
        publish_full_name=True,
        active=False,
        actor=admin,
    )
    assert donations.public_name(donor) == "王德福"
    changed = _audits("donor.update")[0].data["changed"]
    assert set(changed) == {"contact", "publish_full_name", "active"}
    assert "新电话" not in str(changed)
    with pytest.raises(ValidationFailed, match="已停用"):
        _cash(supermarket, donor, keeper, 100, today)
    with pytest.raises(ValidationFailed, match="类别"):
        donations.create_donor(supermarket.id, name="某", kind="alien", actor=keeper)


def test_public_rows_leave_out_reversed_donations_and_contacts(
    app, supermarket, keeper, admin, donor, today
):
    a = _cash(supermarket, donor, keeper, 20000, today - timedelta(days=1))
    b = _cash(supermarket, donor, keeper, 500, today)
    donations.reverse_donation(b.id, actor=admin, reason="记错")
    rows = donations.public_rows(supermarket.id, today - timedelta(days=7), today)
    assert [(r.name, r.kind, r.form, r.amount_fen) for r in rows] == [
        ("王*福", "乡贤", "现金", 20000)
    ]
    assert "13800000000" not in repr(rows)
    assert a.donated_on == today - timedelta(days=1)


def test_fund_ledger_over_a_range(app, supermarket, keeper, donor, today):
    _cash(supermarket, donor, keeper, 30000, today)
    _purchase(supermarket, 5000)
    led = fund.ledger(supermarket.id, today, today)
    assert (led.opening_fen, led.closing_fen, led.in_fen, led.out_fen) == (0, 25000, 30000, 5000)
    assert [e.amount_fen for e in led.entries] == [30000, -5000]
    refs = donations.references(led.entries)
    assert list(refs.values()) == ["JZ000001", "入库单 1"]
    later = fund.ledger(supermarket.id, today + timedelta(days=1), today + timedelta(days=2))
    assert (later.opening_fen, later.closing_fen, later.entries) == (25000, 25000, [])
    with pytest.raises(ValidationFailed):
        fund.ledger(supermarket.id, today, today - timedelta(days=1))


@pytest.mark.parametrize(
    "text,fen",
    [("500", 50000), ("12.5", 1250), ("0.01", 1), ("１２.３４", 1234), ("1,000元", 100000)],
)
def test_fen_from_yuan(text, fen):
    assert donations.fen_from_yuan(text) == fen


@pytest.mark.parametrize("text", ["", "abc", "1.234", "-5", "1e3"])
def test_fen_from_yuan_refuses(text):
    with pytest.raises(ValidationFailed):
        donations.fen_from_yuan(text)


def test_demo_seed(app, supermarket, keeper, admin):
    import random

    factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=5)
    donations.seed_demo_fund(supermarket, {"keeper": keeper, "admin": admin}, random.Random(1))
    assert len(donations.list_donations(supermarket.id)) == 6
    assert fund.balance_fen(supermarket.id) > 0
    assert run_checks() == []
    assert date.today() >= min(d.donated_on for d in donations.list_donations(supermarket.id))
