"""Redemption under each seed preset, end to end through the services, on both databases.

Each scenario cites the seed line it protects, checks what is written (and that a refusal
writes nothing), the receipt's quota note, and ends with ``run_checks() == []``.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from inventory.models import Product
from kiosk import rules
from kiosk.assessments import record_assessment
from kiosk.check import run_checks
from kiosk.errors import DomainError, InsufficientPoints, NotEligible
from kiosk.extensions import db
from kiosk.models import PointAccount, PointEntry, PrintJob, Redemption, Supermarket, User
from kiosk.redemption import CartLine, redeem, scan, void_redemption
from kiosk.vetoes import record_veto
from tests import factories
from tests.race import at_once

_keys = itertools.count(1)


def _key() -> str:
    return f"rules-{next(_keys):06d}"


def _redeem(sm, keeper, payload, lines, local: datetime):
    return redeem(
        sm.id,
        card_payload=payload,
        lines=[CartLine(pid, qty) for pid, qty in lines],
        keeper=keeper,
        idempotency_key=_key(),
        moment=factories.utc(local),
    )


def _counts() -> tuple[int, int, int, int]:
    db.session.rollback()
    return (
        db.session.scalar(sa.select(sa.func.count(Redemption.id))),
        db.session.scalar(sa.select(sa.func.count(PointEntry.id))),
        db.session.scalar(sa.select(sa.func.count(PrintJob.id))),
        db.session.scalar(sa.select(Supermarket.next_receipt_no)),
    )


def _balance(hh) -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(PointAccount.balance).where(PointAccount.household_id == hh.id)
    )


def _open_days(policy, year: int, month: int) -> list[date]:
    day, out = date(year, month, 1), []
    while day.month == month:
        if rules.window_status(policy.window, day)[0]:
            out.append(day)
        day += timedelta(days=1)
    return out


# --- 寨里 (000): quotas by star tier, spent from the quota, not the score --------------------


@pytest.fixture
def zhaili(app, supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 2, 15, 10, 0))
    return factories.policy(supermarket, "zhaili")


def test_zhaili_quota_150_used_30_leaves_120_and_the_receipt_says_so(zhaili, supermarket, keeper):
    # 000: "91-100为五星级，该季度享受美德信用超市兑换150元物品"
    hh = factories.household(supermarket, head_name="李桂芳")
    member_id = hh.members[0].id
    record_assessment(hh.id, "2024Q1", 95, member_id=member_id, actor=None)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, name="香皂", cost_fen=1000, stock_qty=50)
    when = datetime(2024, 2, 15, 10, 0)

    first = _redeem(supermarket, keeper, payload, [(soap.id, 3)], when)
    assert first.total_points == 30
    assert first.spent_points == 0  # the score is a rating, not a currency
    assert first.balance_before == first.balance_after == 0
    assert first.quota_left == 120
    assert (
        db.session.scalar(
            sa.select(sa.func.count(PointEntry.id)).where(PointEntry.redemption_id == first.id)
        )
        == 0
    )
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.redemption_id == first.id))
    assert "本季度剩余额度120元" in job.text

    seen = scan(supermarket.id, payload, moment=factories.utc(when))
    assert seen.decision.may_redeem and seen.decision.quota_left == 120

    before = _counts()
    with pytest.raises(DomainError) as refused:
        _redeem(supermarket, keeper, payload, [(soap.id, 13)], when)  # 130 > 120
    assert isinstance(refused.value, NotEligible | InsufficientPoints)
    assert "120" in refused.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)
    assert _counts() == before  # nothing written, no receipt number taken
    assert db.session.get(Product, soap.id).stock_qty == 47

    exact = _redeem(supermarket, keeper, payload, [(soap.id, 12)], when)
    assert exact.quota_left == 0
    assert run_checks() == []


def test_zhaili_void_gives_the_quota_back_and_writes_no_points(zhaili, supermarket, keeper):
    hh = factories.household(supermarket)
    record_assessment(hh.id, "2024Q1", 75, member_id=hh.members[0].id, actor=None)  # ★★★ 50元
    _, payload = factories.card(hh)
    oil = factories.product(supermarket, name="花生油", cost_fen=5000, stock_qty=5)
    when = datetime(2024, 2, 15, 10, 0)
    first = _redeem(supermarket, keeper, payload, [(oil.id, 1)], when)
    assert first.quota_left == 0
    with pytest.raises(DomainError):
        _redeem(supermarket, keeper, payload, [(oil.id, 1)], when)
    admin = factories.user("admin9", "admin", supermarket)
    void_redemption(first.id, actor=admin, reason="录错")
    again = _redeem(supermarket, keeper, payload, [(oil.id, 1)], when)
    assert again.spent_points == 0
    assert _balance(hh) == 0
    assert run_checks() == []


def test_zhaili_quotas_of_members_add_up_and_next_quarter_starts_afresh(
    zhaili, supermarket, keeper
):
    # 000: "仅个人信用积分可兑换应用场景使用权" — each member's tier quota, summed to the household.
    hh = factories.family(supermarket, [("王建国", None), ("王小红", None)])
    a, b = (m.id for m in hh.members)
    record_assessment(hh.id, "2024Q1", 95, member_id=a, actor=None)  # 150
    record_assessment(hh.id, "2024Q1", 75, member_id=b, actor=None)  # 50
    _, payload = factories.card(hh)
    rice = factories.product(supermarket, cost_fen=10000, stock_qty=10)  # 100 points
    q1 = datetime(2024, 3, 30, 9, 0)
    assert _redeem(supermarket, keeper, payload, [(rice.id, 2)], q1).quota_left == 0
    # Next quarter: the quota is fresh (the latest score not after the quarter still counts).
    q2 = datetime(2024, 4, 2, 9, 0)
    assert scan(supermarket.id, payload, moment=factories.utc(q2)).decision.quota_left == 200
    assert run_checks() == []


def test_zhaili_disqualification_cancels_the_quarters_rights(zhaili, supermarket, keeper):
    # 000: "美德信用积分一律为0分，自动取消积分范围内的一切应用奖励"
    hh = factories.household(supermarket)
    record_assessment(hh.id, "2024Q1", 95, member_id=hh.members[0].id, actor=None)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=1000, stock_qty=5)
    record_veto(
        hh.id, on=date(2024, 2, 1), reason="醉酒驾驶", member_id=hh.members[0].id, actor=None
    )
    before = _counts()
    with pytest.raises(NotEligible):
        _redeem(supermarket, keeper, payload, [(soap.id, 1)], datetime(2024, 2, 15, 10))
    assert _counts() == before
    assert run_checks() == []


@pytest.mark.parametrize(("born", "allowed"), [(date(1959, 1, 1), True), (date(1953, 1, 1), False)])
def test_zhaili_elder_canteen_free_at_65_refused_at_71(zhaili, supermarket, keeper, born, allowed):
    # 000: "60-70岁的老人，美德信用积分在80分以上的，该季度在长者食堂免费就餐"
    _, payload = factories.scored_elder(supermarket, born)  # ★★★★ 100
    meal = factories.canteen_meal(supermarket)
    when = datetime(2024, 2, 15, 11, 30)
    if allowed:
        red = _redeem(supermarket, keeper, payload, [(meal.id, 1)], when)
        assert red.total_points == 0 and red.spent_points == 0
        assert red.lines[0].unit_points == 0 and red.lines[0].restriction_key == "elder_canteen"
        assert red.quota_left == 100  # free meals do not count against the quota
        seen = scan(supermarket.id, payload, moment=factories.utc(when))
        assert seen.decision.quota_left == 100
    else:
        before = _counts()
        with pytest.raises(NotEligible) as refused:
            _redeem(supermarket, keeper, payload, [(meal.id, 1)], when)
        assert "长者食堂" in refused.value.message or "岁" in refused.value.message
        assert _counts() == before
    assert run_checks() == []


# --- 高阳 (003): only the surplus over the base of 100, in the first month of a quarter -------


@pytest.fixture
def gaoyang(app, supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 1, 10, 10, 0))
    return factories.policy(supermarket, "gaoyang")


def test_gaoyang_only_the_surplus_over_100_is_spendable(gaoyang, supermarket, keeper):
    # 003: "超出基础分的部分（即总积分减去100分）到“积分超市”兑换等值物品"
    hh = factories.household(supermarket, points=25)  # + the year's 100 base on joining
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=100)
    jan = datetime(2024, 1, 10, 10, 0)
    assert scan(supermarket.id, payload, moment=factories.utc(jan)).decision.spendable == 25
    before = _counts()
    with pytest.raises(InsufficientPoints):
        _redeem(supermarket, keeper, payload, [(soap.id, 26)], jan)
    assert _counts() == before
    red = _redeem(supermarket, keeper, payload, [(soap.id, 25)], jan)
    assert red.spent_points == red.total_points == 25
    assert red.balance_after == 100
    assert red.quota_left is None
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.redemption_id == red.id))
    assert "剩余额度" not in job.text
    # 003: "扣减的积分不影响年底积分排名" — earned_total is untouched by redemption.
    db.session.rollback()
    account = db.session.scalar(sa.select(PointAccount).where(PointAccount.household_id == hh.id))
    assert account.earned_total == 125
    assert run_checks() == []


@pytest.mark.parametrize(("points", "spendable"), [(100, 0), (101, 1)])
def test_gaoyang_boundary_100_vs_101(gaoyang, supermarket, keeper, points, spendable):
    hh = factories.household(supermarket, points=points - 100)  # + the 100 base on joining
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=10)
    jan = datetime(2024, 1, 10, 10, 0)
    assert scan(supermarket.id, payload, moment=factories.utc(jan)).decision.spendable == spendable
    if spendable:
        assert _redeem(supermarket, keeper, payload, [(soap.id, 1)], jan).balance_after == 100
    else:
        with pytest.raises(DomainError):
            _redeem(supermarket, keeper, payload, [(soap.id, 1)], jan)
    assert run_checks() == []


def test_gaoyang_closed_in_february(gaoyang, supermarket, keeper):
    # 003: "农户在每季度第一月进行兑换"
    hh = factories.household(supermarket, points=150)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=10)
    feb = datetime(2024, 2, 1, 10, 0)
    decision = scan(supermarket.id, payload, moment=factories.utc(feb)).decision
    assert not decision.may_redeem
    assert decision.next_open == date(2024, 4, 1)
    before = _counts()
    with pytest.raises(NotEligible) as refused:
        _redeem(supermarket, keeper, payload, [(soap.id, 1)], feb)
    assert refused.value.details["reasons"]
    assert _counts() == before
    assert _redeem(supermarket, keeper, payload, [(soap.id, 1)], datetime(2024, 4, 1, 9))
    assert run_checks() == []


def test_a_refused_redemption_is_said_in_the_readers_language(app, gaoyang, supermarket, keeper):
    """The refusal keeps its reasons as messages: raised in a service (no request), it is read
    in English by an English request, reasons and all, and stays Chinese for what is stored."""
    from flask import g

    hh = factories.household(supermarket, points=150)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=10)
    with pytest.raises(NotEligible) as refused:
        _redeem(supermarket, keeper, payload, [(soap.id, 1)], datetime(2024, 2, 1, 10, 0))
    chinese_text = "每季度第一个月（1月、4月、7月、10月）兑换，今天不能兑换，下次从2024年4月1日开始"
    english = (
        "Redemption in the first month of each quarter (January, April, July, October): "
        "closed today, open again from 1 April 2024"
    )
    assert refused.value.message == chinese_text
    with app.test_request_context("/?lang=en"):
        g.pop("_flask_babel", None)
        error = refused.value.to_dict()["error"]
        assert error["message"] == english
        reasons = {r["code"]: r for r in error["details"]["reasons"]}
        assert reasons["window_closed"]["message"] == english
        assert "2024-04-01" in reasons["window_closed"]["params"].values()
        assert "Total points: 250" in [r["message"] for r in reasons.values()]
        assert refused.value.source_text == chinese_text


# --- 大同 (001): gate of two quarters ≥ 85, the last market day, 一票否决 ---------------------


@pytest.fixture
def datong(app, supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 6, 1, 10, 0))
    return factories.policy(supermarket, "datong")


def _datong_home(supermarket, scores: dict[str, int], points: int):
    hh = factories.household(supermarket, points=points)
    for period, score in scores.items():
        record_assessment(hh.id, period, score, actor=None)
    return hh, factories.card(hh)[1]


def test_datong_gate_and_last_market_day(datong, supermarket, keeper):
    # 001: "连续两季度评分达85分以上即可参加积分兑换活动"; "每月最后一个赶场天"
    open_days = _open_days(datong, 2024, 6)
    assert len(open_days) == 1  # one exchange a month: its last market day
    last = datetime.combine(open_days[0], datetime.min.time()).replace(hour=10)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=100)

    hh, payload = _datong_home(supermarket, {"2024Q1": 86, "2024Q2": 84}, points=50)
    before = _counts()
    with pytest.raises(NotEligible) as refused:
        _redeem(supermarket, keeper, payload, [(soap.id, 1)], last)
    assert "85" in refused.value.message
    assert _counts() == before

    record_assessment(hh.id, "2024Q2", 85, actor=None)  # a correction: the latest row counts
    balance = _balance(hh)
    red = _redeem(supermarket, keeper, payload, [(soap.id, 5)], last)
    assert red.spent_points == 5 and red.balance_after == balance - 5

    other_day = last - timedelta(days=1)
    with pytest.raises(NotEligible) as closed:
        _redeem(supermarket, keeper, payload, [(soap.id, 1)], other_day)
    assert "赶场" in closed.value.message or "兑换日" in closed.value.message
    assert run_checks() == []


def test_datong_veto_clears_points_and_bars_until_year_end(
    datong, supermarket, keeper, monkeypatch
):
    # 001: "实行“一票否决”制，对于发生负面清单行为的，清零当前积分，并取消当年兑换资格"
    factories.pin_clock(monkeypatch, datetime(2025, 3, 1, 10, 0))
    scores = {p: 90 for p in ("2023Q4", "2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1")}
    hh, payload = _datong_home(supermarket, scores, points=50)
    soap = factories.product(supermarket, cost_fen=100, stock_qty=100)
    record_veto(hh.id, on=date(2024, 5, 10), reason="乱搭乱建", actor=None)
    assert _balance(hh) == 0
    factories.points_award(hh, 30)
    last_june = datetime.combine(_open_days(datong, 2024, 6)[0], datetime.min.time())
    with pytest.raises(NotEligible):
        _redeem(supermarket, keeper, payload, [(soap.id, 1)], last_june.replace(hour=10))
    last_dec = datetime.combine(_open_days(datong, 2024, 12)[0], datetime.min.time())
    with pytest.raises(NotEligible):
        _redeem(supermarket, keeper, payload, [(soap.id, 1)], last_dec.replace(hour=10))
    last_jan = datetime.combine(_open_days(datong, 2025, 1)[0], datetime.min.time())
    red = _redeem(supermarket, keeper, payload, [(soap.id, 1)], last_jan.replace(hour=10))
    assert red.spent_points == 1
    assert run_checks() == []


# --- concurrency: the quota holds across 32 kiosks ------------------------------------------


def test_32_kiosks_against_a_zhaili_quota_for_exactly_10(app, supermarket, keeper, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 2, 15, 10, 0))
    factories.policy(supermarket, "zhaili")
    hh = factories.household(supermarket)
    record_assessment(hh.id, "2024Q1", 75, member_id=hh.members[0].id, actor=None)  # 50元
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=500, stock_qty=100)  # 5 points each
    supermarket_id, soap_id, keeper_id = supermarket.id, soap.id, keeper.id
    moment = factories.utc(datetime(2024, 2, 15, 10, 0))

    def attempt(i: int, keeper_row: User) -> str:
        return redeem(
            supermarket_id,
            card_payload=payload,
            lines=[CartLine(soap_id, 1)],
            keeper=keeper_row,
            idempotency_key=f"quota-race-{i:04d}",
            moment=moment,
        ).receipt_no

    results = at_once(app, keeper_id, attempt)
    ok = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, NotEligible | InsufficientPoints)]
    assert len(ok) == 10 and len(refused) == 22, results
    assert sorted(ok) == [f"DT01-{n:08d}" for n in range(1, 11)]
    db.session.rollback()
    quotas = db.session.scalars(sa.select(Redemption.quota_left).order_by(Redemption.id)).all()
    assert quotas == list(range(45, -1, -5))
    assert db.session.get(Product, soap_id).stock_qty == 90
    assert run_checks() == []


def test_check_catches_spent_points_that_disagree_with_the_ledger(zhaili, supermarket, keeper):
    hh = factories.household(supermarket, points=5)
    record_assessment(hh.id, "2024Q1", 95, member_id=hh.members[0].id, actor=None)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, cost_fen=1000, stock_qty=5)
    red = _redeem(supermarket, keeper, payload, [(soap.id, 2)], datetime(2024, 2, 15, 10))
    assert run_checks() == []
    with db.engine.begin() as conn:  # tamper behind the services' back
        conn.execute(sa.update(Redemption).where(Redemption.id == red.id).values(spent_points=20))
    db.session.rollback()  # end the test's read snapshot
    problems = run_checks()
    assert [p.check for p in problems] == ["redemption"]
    assert "spent 20" in problems[0].detail
    # An entry of an unknown kind can no longer be written at all (migration 0008's CHECK;
    # tests/ops/test_known_values.py), so the tamper relabels the redemption's entries as awards.
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.update(PointEntry).values(kind="bonus"))
    with db.engine.begin() as conn:
        conn.execute(sa.update(Redemption).where(Redemption.id == red.id).values(spent_points=7))
        conn.execute(sa.update(PointEntry).values(kind="award"))
    db.session.rollback()
    problems = run_checks()
    assert [p.check for p in problems] == ["redemption"]
    assert "spent 7" in problems[0].detail
