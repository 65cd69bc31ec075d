"""A donation recorded with an idempotency key is recorded once (inventory/donations.py), on
both databases: a retry returns the first copy's donation (no second pool entry, stock line,
receipt number or audit event), the same key for another donation is refused, and copies
racing each other on two apps over one database make exactly one donation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inventory import donations, fund
from inventory.donations import GoodsLine
from inventory.models import Donation, FundEntry, Product, StockMovement
from kiosk import create_app
from kiosk.check import run_checks
from kiosk.clock import local_now
from kiosk.errors import IdempotencyConflict, ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent, User
from tests import factories
from tests.conftest import TEST_CONFIG

KEY = "api:1:retry-0001"


@pytest.fixture
def donor(supermarket):
    return donations.create_donor(supermarket.id, name="县农商银行", kind="enterprise", actor=None)


@pytest.fixture
def rice(supermarket):
    return factories.product(supermarket, name="大米", cost_fen=2000, stock_qty=0)


def today():
    return local_now().date()


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def cash(supermarket, donor, keeper, *, amount_fen=50000, key=KEY, **extra):
    return donations.record_cash_donation(
        supermarket.id,
        donor_id=donor.id,
        amount_fen=amount_fen,
        donated_on=extra.pop("donated_on", today()),
        actor=keeper,
        idempotency_key=key,
        **extra,
    )


def goods(supermarket, donor, keeper, lines, *, key=KEY, **extra):
    return donations.record_goods_donation(
        supermarket.id,
        donor_id=donor.id,
        lines=lines,
        donated_on=extra.pop("donated_on", today()),
        actor=keeper,
        idempotency_key=key,
        **extra,
    )


def test_a_cash_retry_returns_the_first_donation_and_posts_nothing(supermarket, donor, keeper):
    first = cash(supermarket, donor, keeper, note="修路捐款")
    first_id, receipt_no = first.id, first.receipt_no
    again = cash(supermarket, donor, keeper, note=" 修路捐款 ")  # the note as stored is stripped
    assert (again.id, again.receipt_no) == (first_id, receipt_no) == (again.id, "JZ000001")
    assert again.idempotency_key == KEY
    assert fund.balance_fen(supermarket.id) == 50000
    assert count(Donation) == 1
    assert count(FundEntry) == 1
    assert count(AuditEvent, AuditEvent.action == "donation.record") == 1
    # the next donation still takes the next number: the retry used none
    assert cash(supermarket, donor, keeper, key=None).receipt_no == "JZ000002"
    assert run_checks() == []


def test_a_goods_retry_returns_the_first_donation_and_stocks_nothing(
    supermarket, donor, keeper, rice
):
    oil = factories.product(supermarket, name="花生油", cost_fen=6000, stock_qty=0)
    lines = [GoodsLine(rice.id, 10, 2000), GoodsLine(oil.id, 2, 6000)]
    first_id = goods(supermarket, donor, keeper, lines).id
    again = goods(supermarket, donor, keeper, list(reversed(lines)))  # the same lines
    assert again.id == first_id
    assert again.amount_fen == 10 * 2000 + 2 * 6000
    assert db.session.get(Product, rice.id).stock_qty == 10
    assert db.session.get(Product, oil.id).stock_qty == 2
    assert count(StockMovement) == 2
    assert count(Donation) == 1
    assert run_checks() == []


def test_a_retry_after_a_reversal_returns_the_reversed_donation(supermarket, donor, keeper, admin):
    first = cash(supermarket, donor, keeper)
    donations.reverse_donation(first.id, actor=admin, reason="登记错了")
    again = cash(supermarket, donor, keeper)
    assert (again.id, again.status) == (first.id, "reversed")
    assert fund.balance_fen(supermarket.id) == 0
    assert count(Donation) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount_fen": 50001},
        {"note": "另一笔"},
        {"donated_on": "yesterday"},
        {"donor": "another"},
    ],
)
def test_the_same_key_for_another_cash_donation_is_a_conflict(supermarket, donor, keeper, change):
    first = cash(supermarket, donor, keeper)
    first_id = first.id
    kw = dict(change)
    if kw.get("donated_on") == "yesterday":
        kw["donated_on"] = today() - timedelta(days=1)
    if kw.pop("donor", None):
        donor = donations.create_donor(
            supermarket.id, name="县供电公司", kind="enterprise", actor=None
        )
    with pytest.raises(IdempotencyConflict) as refused:
        cash(supermarket, donor, keeper, **kw)
    assert refused.value.code == "idempotency_conflict"
    assert refused.value.status == 409
    assert refused.value.details == {"donation_id": first_id}
    assert count(Donation) == 1
    assert fund.balance_fen(supermarket.id) == 50000


def test_a_cash_key_reused_for_goods_or_other_goods_is_a_conflict(supermarket, donor, keeper, rice):
    cash(supermarket, donor, keeper)
    with pytest.raises(IdempotencyConflict):
        goods(supermarket, donor, keeper, [GoodsLine(rice.id, 1, 2000)])
    goods(supermarket, donor, keeper, [GoodsLine(rice.id, 1, 2000)], key="api:1:goods-0001")
    for lines in ([GoodsLine(rice.id, 2, 2000)], [GoodsLine(rice.id, 1, 2001)]):
        with pytest.raises(IdempotencyConflict):
            goods(supermarket, donor, keeper, lines, key="api:1:goods-0001")
    assert count(Donation) == 2
    assert db.session.get(Product, rice.id).stock_qty == 1


def test_without_a_key_each_call_records_a_donation(supermarket, donor, keeper):
    assert cash(supermarket, donor, keeper, key=None).receipt_no == "JZ000001"
    assert cash(supermarket, donor, keeper, key=None).receipt_no == "JZ000002"
    assert count(Donation, Donation.idempotency_key.is_(None)) == 2


def test_a_key_longer_than_the_column_is_refused(supermarket, donor, keeper):
    with pytest.raises(ValidationFailed, match="请求编号太长"):
        cash(supermarket, donor, keeper, key="k" * 101)
    with pytest.raises(ValidationFailed, match="请求编号太长"):
        cash(supermarket, donor, keeper, key="")
    assert count(Donation) == 0


def test_copies_racing_on_two_apps_record_one_donation(
    app, supermarket, donor, keeper, rice, tmp_path
):
    """The same donation sent at once to two servers on one database, four copies on each,
    round after round (cash, then goods): one donation, one receipt number, one posting."""
    config = dict(
        TEST_CONFIG,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        JIFEN_PRINTER_FILE=str(tmp_path / "printer2.json"),
    )
    second = create_app(config)
    apps = [app, second] * 4
    sid, donor_id, rice_id, keeper_id = supermarket.id, donor.id, rice.id, keeper.id
    day = today()
    db.session.commit()

    def record(i: int, n: int, who: User) -> str:
        key = f"api:{keeper_id}:race-{n:04d}"
        if n % 2:
            row = donations.record_goods_donation(
                sid,
                donor_id=donor_id,
                lines=[GoodsLine(rice_id, 3, 2000)],
                donated_on=day,
                actor=who,
                idempotency_key=key,
            )
        else:
            row = donations.record_cash_donation(
                sid,
                donor_id=donor_id,
                amount_fen=100,
                donated_on=day,
                actor=who,
                idempotency_key=key,
            )
        return row.receipt_no

    rounds = 4
    try:
        for n in range(rounds):
            results = at_once_on(apps, keeper_id, lambda i, who, n=n: record(i, n, who))
            assert all(isinstance(r, str) for r in results), results
            assert set(results) == {f"JZ{n + 1:06d}"}, results
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()
    assert count(Donation) == rounds
    assert count(AuditEvent, AuditEvent.action == "donation.record") == rounds
    assert fund.balance_fen(sid) == 100 * (rounds // 2)
    assert db.session.get(Product, rice_id).stock_qty == 3 * (rounds // 2)
    assert run_checks() == []


def at_once_on(apps, user_id: int, attempt) -> list[object]:
    """``attempt(i, user)`` in one thread per app (each its own session and connection),
    released together; each result or the exception it raised."""
    barrier = threading.Barrier(len(apps), timeout=60)
    results: list[object] = [None] * len(apps)

    def run(i: int) -> None:
        with apps[i].app_context():
            user = db.session.get(User, user_id)
            try:
                barrier.wait()
                results[i] = attempt(i, user)
            except Exception as exc:  # noqa: BLE001 - the caller's assertion shows it
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results
