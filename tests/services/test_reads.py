"""The services' read functions that pages, API handlers and CLI commands call instead of
querying themselves (tests/ops/test_reads_behind_services.py keeps them from querying): each
finds what it says, in the order it says, and nothing of another supermarket."""

from __future__ import annotations

from datetime import date

import pytest

from inventory import donations, fund, products
from kiosk import auth, cards, households, intake, places, printing
from kiosk import redemption as redemption_service
from kiosk.redemption import CartLine, redeem
from tests import factories


@pytest.fixture
def other(app):
    return factories.supermarket(code="GY01", name="高阳积分超市")


def test_households_by_id_number_and_status(supermarket, other, admin):
    a = factories.household(supermarket, number="B-2", head_name="张三", members=["张三", "王芳"])
    b = factories.household(supermarket, number="A-1", head_name="李四")
    gone = factories.household(supermarket, number="C-3", head_name="赵六")
    households.set_household_status(gone.id, False, reason="迁出", actor=admin)
    theirs = factories.household(other, number="A-1", head_name="李四")

    assert households.find_household(a.id) is a
    assert households.find_household(999_999) is None
    assert households.find_member(a.members[1].id).name == "王芳"
    assert households.find_member(999_999) is None
    assert [h.number for h in households.list_households(supermarket.id)] == ["A-1", "B-2", "C-3"]
    assert [h.number for h in households.list_households(supermarket.id, active_only=True)] == [
        "A-1",
        "B-2",
    ]
    asked = households.households_by_number(supermarket.id, ["C-3", "A-1", "Z-9"])
    assert [h.id for h in asked] == [gone.id, b.id]  # in the order asked, the absent left out
    assert households.household_by_number(supermarket.id, "A-1") is b
    assert households.household_by_number(other.id, "A-1") is theirs
    assert households.household_by_number(supermarket.id, "A-") is None  # exact, not a search


def test_active_members_and_a_member_by_name(supermarket, admin):
    home = factories.household(supermarket, head_name="张三", members=["张三", "王芳", "张小宝"])
    baby = home.members[2]
    households.set_member_status(baby.id, False, reason="去世", actor=admin)
    assert [m.name for m in households.active_members(home.id)] == ["张三", "王芳"]
    assert households.active_member_named(home.id, "王芳").id == home.members[1].id
    assert households.active_member_named(home.id, "张小宝") is None  # no longer active
    assert households.active_member_named(home.id, "王") is None


def test_find_households_pages_a_search_or_finds_a_card(supermarket, other):
    zhang = factories.household(supermarket, number="A-01", head_name="张三")
    factories.household(supermarket, number="A-02", head_name="李张胜")
    factories.household(supermarket, number="A-03", head_name="王五")
    factories.household(other, number="A-04", head_name="张三")
    rows, total = households.find_households(supermarket.id, "zs", page=1, per_page=1)
    assert ([h.number for h in rows], total) == (["A-01"], 2)
    rows, total = households.find_households(supermarket.id, "zs", page=2, per_page=1)
    assert ([h.number for h in rows], total) == (["A-02"], 2)
    rows, total = households.find_households(supermarket.id, "", page=1, per_page=10)
    assert ([h.number for h in rows], total) == (["A-01", "A-02", "A-03"], 3)
    _, code = factories.card(zhang)
    assert households.find_households(supermarket.id, code) == ([zhang], 1)
    assert households.find_households(other.id, code) == ([], 0)  # another village's card


def test_place_names_are_the_villages_list_else_its_groups(supermarket, admin):
    for number, group in (("1", "二组"), ("2", "一组"), ("3", "二组"), ("4", "")):
        home = factories.household(supermarket, number=number)
        households.update_household(
            home.id, number=number, head_name=home.head_name, group_name=group, actor=admin
        )
    assert households.group_names(supermarket.id) == ["一组", "二组"]
    assert places.place_names(supermarket.id) == ["一组", "二组"]
    places.add_place(supermarket.id, "村委会广场", actor=admin)
    stale = places.add_place(supermarket.id, "老戏台", actor=admin)
    places.set_place_active(stale.id, False, actor=admin, supermarket_id=supermarket.id)
    assert places.place_names(supermarket.id) == ["村委会广场"]


def test_users_and_tokens(supermarket, keeper, admin):
    assert auth.find_user(admin.id) is admin
    assert auth.find_user(999_999) is None
    assert auth.users_by_id([keeper.id, None, admin.id, 999_999]) == {
        keeper.id: keeper,
        admin.id: admin,
    }
    assert auth.users_by_id([None]) == {}
    assert auth.user_named(" admin1 ") is admin
    assert auth.user_named("nobody") is None
    secret = auth.issue_token(keeper.id, label="平板", actor=admin)
    record = auth.token_record(secret)
    assert (record.user_id, record.label) == (keeper.id, "平板")
    assert auth.find_token(record.id) is record
    assert auth.token_record(secret + "x") is None
    assert auth.find_token(999_999) is None


def test_cards_redemptions_receipts_and_print_jobs(supermarket, keeper):
    home = factories.household(supermarket, points=100)
    card, payload = factories.card(home)
    soap = factories.product(supermarket, name="雕牌洗衣皂", cost_fen=300, stock_qty=20)
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(soap.id, 1)],
        keeper=keeper,
        idempotency_key="cart-reads-0001",
    )
    assert cards.find_card(card.id) is card
    assert cards.find_card(999_999) is None
    assert redemption_service.find_redemption(r.id) is r
    assert redemption_service.find_redemption(999_999) is None
    assert redemption_service.receipt_numbers([r.id, None, 999_999]) == {r.id: r.receipt_no}
    assert redemption_service.receipt_numbers([]) == {}
    job = printing.latest_receipt(r.id)
    assert job is not None and printing.find_job(job.id) is job
    assert printing.find_job(999_999) is None


def test_products_by_id_sku_and_the_goods_a_donation_may_bring(supermarket, other, admin):
    rice = factories.product(supermarket, name="大米", cost_fen=2500)
    oil = factories.product(supermarket, name="菜籽油", cost_fen=4000)
    apple = factories.product(supermarket, name="Apple 苹果", cost_fen=500)
    products.update_product(supermarket.id, apple.id, active=False, actor=admin)
    haircut = factories.product(supermarket, name="理发", cost_fen=0, kind="service")
    factories.product(other, name="白糖", cost_fen=600)
    assert [p.id for p in products.products_by_id([oil.id, rice.id, oil.id])] == sorted(
        [rice.id, oil.id]
    )
    assert products.product_by_sku(supermarket.id, f" {rice.sku} ") is rice
    assert products.product_by_sku(other.id, rice.sku) is None
    # Active goods only, in pinyin order: 菜籽油 (cai) before 大米 (da); no service, no other
    # supermarket's, no inactive product.
    assert [p.name for p in products.donatable_goods(supermarket.id)] == ["菜籽油", "大米"]
    assert haircut.id not in {p.id for p in products.donatable_goods(supermarket.id)}


def test_fund_entry_by_id(supermarket, keeper):
    donor = donations.create_donor(supermarket.id, name="王德福", kind="xiangxian", actor=keeper)
    gift = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=5000, donated_on=date.today(), actor=keeper
    )
    entry = fund.find_entry(gift.fund_entry_id)
    assert (entry.id, entry.amount_fen) == (gift.fund_entry_id, 5000)
    assert fund.find_entry(999_999) is None


def test_proposals_by_id_register_page_and_batch(supermarket, other, admin):
    home = factories.household(supermarket)
    made = [
        intake.propose(
            supermarket.id,
            intake.ProposalInput(home.id, date(2024, 5, day), amount=day, reason="打扫卫生"),
            actor=admin,
        )
        for day in (1, 2, 3)
    ]
    theirs = factories.household(other)
    their_admin = factories.user("admin_gy", "admin", other)
    intake.propose(
        other.id,
        intake.ProposalInput(theirs.id, date(2024, 5, 1), amount=1, reason="x"),
        actor=their_admin,
    )
    assert intake.find_proposal(made[0].id) is made[0]
    assert intake.find_proposal(999_999) is None
    assert [p.id for p in intake.all_proposals(supermarket.id)] == [p.id for p in made]
    rows, total = intake.proposals_page(supermarket.id, page=1, per_page=2)
    assert ([p.id for p in rows], total) == ([made[2].id, made[1].id], 3)  # newest first
    rows, total = intake.proposals_page(supermarket.id, page=2, per_page=2)
    assert ([p.id for p in rows], total) == ([made[0].id], 3)
    rows, total = intake.proposals_page(supermarket.id, status="approved")
    assert (rows, total) == ([], 0)
    rows, total = intake.proposals_page(supermarket.id, household_id=theirs.id)
    assert (rows, total) == ([], 0)
    assert intake.pending_in_batch(999_999) == 0
