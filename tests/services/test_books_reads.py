"""The paged reads of the books (inventory/books.py): pages add up to the office's lists in the
office's order, filters keep one state, another supermarket's rows never appear, goods lines of
many donations come in one query, names of the people who did each step."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from inventory import adjustments, books, donations, stocktake
from inventory.donations import GoodsLine
from inventory.models import ADJ_APPROVED, ADJ_PENDING, ADJ_REJECTED
from kiosk.errors import NotFound
from tests import factories


@pytest.fixture
def rice(supermarket):
    return factories.product(supermarket, name="大米5kg", cost_fen=2500, stock_qty=50)


def test_write_off_pages_follow_the_offices_order(supermarket, keeper, admin, rice):
    second = factories.user("admin2", "admin", supermarket)
    made = [
        adjustments.request_adjustment(
            supermarket.id, rice.id, 1, "damage", note=f"第{i}次", actor=keeper
        )
        for i in range(5)
    ]
    adjustments.approve_adjustment(supermarket.id, made[1].id, actor=admin)
    adjustments.reject_adjustment(supermarket.id, made[3].id, actor=second)
    office = adjustments.adjustments(supermarket.id)
    pages = [books.adjustment_page(supermarket.id, offset=o, limit=2) for o in (0, 2, 4)]
    assert [p.total for p in pages] == [5, 5, 5]
    assert [r.id for p in pages for r in p.rows] == [r.id for r in office]
    assert [r.status for r in office] == [
        ADJ_PENDING,
        ADJ_PENDING,
        ADJ_PENDING,
        ADJ_REJECTED,
        ADJ_APPROVED,
    ]
    pending = books.adjustment_page(supermarket.id, status=ADJ_PENDING)
    assert [r.id for r in pending.rows] == [made[0].id, made[2].id, made[4].id]
    assert books.adjustment_page(supermarket.id, offset=10).rows == []


def test_another_supermarkets_rows_are_not_read(supermarket, keeper, admin, rice):
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    mine = adjustments.request_adjustment(
        supermarket.id, rice.id, 1, "loss", note="丢失", actor=keeper
    )
    assert books.adjustment_page(other.id).total == 0
    assert books.get_adjustment(supermarket.id, mine.id).id == mine.id
    with pytest.raises(NotFound):
        books.get_adjustment(other.id, mine.id)
    stocktake.start_count(supermarket.id, actor=keeper)
    assert books.stocktake_page(other.id).total == 0
    assert books.stocktake_page(supermarket.id).total == 1


def test_stocktake_pages_newest_first_and_by_state(supermarket, keeper, admin, rice):
    oil = factories.product(supermarket, name="花生油", cost_fen=6000, stock_qty=3)
    first = stocktake.start_count(supermarket.id, actor=keeper, product_ids=[rice.id])
    stocktake.cancel(first.id, actor=admin)
    second = stocktake.start_count(supermarket.id, actor=keeper, product_ids=[oil.id])
    page = books.stocktake_page(supermarket.id, limit=1)
    assert (page.total, [st.id for st in page.rows]) == (2, [second.id])
    assert [st.id for st in books.stocktake_page(supermarket.id, offset=1).rows] == [first.id]
    assert [st.id for st in books.stocktake_page(supermarket.id, status="cancelled").rows] == [
        first.id
    ]
    assert [st.id for st in stocktake.list_stocktakes(supermarket.id)] == [second.id, first.id]


def test_goods_of_many_donations_and_the_names_of_who_did_it(supermarket, keeper, admin, rice):
    donor = donations.create_donor(supermarket.id, name="东村企业", kind="enterprise", actor=None)
    yesterday = date.today() - timedelta(days=1)  # never after the village's today
    gift = donations.record_goods_donation(
        supermarket.id,
        donor_id=donor.id,
        lines=[GoodsLine(rice.id, 3, 2000)],
        donated_on=yesterday,
        actor=keeper,
    )
    money = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=100, donated_on=yesterday, actor=keeper
    )
    donations.reverse_donation(gift.id, actor=admin, reason="登记重复")
    goods = books.donation_goods([gift.id, money.id])
    # The reversal's own lines are left out: what was donated, as the office's summary says.
    assert [(m.product_id, m.quantity, m.unit_cost_fen) for m in goods[gift.id]] == [
        (rice.id, 3, 2000)
    ]
    assert goods[money.id] == []
    assert books.donation_goods([]) == {}
    assert books.display_names([keeper.id, admin.id, None, keeper.id]) == {
        keeper.id: "王店长",
        admin.id: "李主任",
    }
    assert books.display_names([None]) == {}


def test_a_page_of_rows_read_in_full():
    page = books.page_of(list(range(7)), 5, 5)
    assert (page.rows, page.total) == ([5, 6], 7)
    assert books.page_of([], 0, 5) == books.Page([], 0)
