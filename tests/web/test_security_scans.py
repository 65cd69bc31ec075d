"""Forged card codes (issue 16, items 6 and 7): counted per self-service kiosk, API token and
user whatever valid cards come between, refused with 429 past the limit, halted past the
halt, audited once per burst, and counted exactly across two servers on one database
(kiosk.scan_guard)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kiosk import auth, create_app
from kiosk.cards import make_payload
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import AuditEvent, ScanThrottle
from kiosk.scan_guard import self_key, token_key, user_key
from kiosk.timeutil import utcnow
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    Api,
    api_for,
    as_keeper_fixture,
    error_code,
)
from tests.conftest import TEST_CONFIG

KIOSK = "10.0.0.7"


@pytest.fixture
def home(supermarket):
    """A household with points, its card's payload, and a product to redeem."""
    hh = factories.household(supermarket, points=100)
    _, payload = factories.card(hh)
    product = factories.product(supermarket, name="花生油", cost_fen=1000, stock_qty=50)
    return {"hh": hh, "payload": payload, "product": product}


def forged(payload: str, n: int = 0) -> str:
    """The card's code with another signature: the form of a card, a wrong guess."""
    mac = int(payload[-10:])
    return payload[:-10] + f"{(mac + 1 + n) % 10**10:010d}"


def scan_self(client, payload: str, ip: str = KIOSK):
    return client.post("/self/scan", json={"payload": payload}, environ_base={"REMOTE_ADDR": ip})


def row(key: str) -> ScanThrottle | None:
    db.session.rollback()
    return db.session.get(ScanThrottle, key)


def audit_rows(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def end_lock(key: str) -> None:
    """Let a lock's time run out."""
    db.session.rollback()
    with write_transaction():
        db.session.get(ScanThrottle, key).locked_until = utcnow() - timedelta(seconds=1)


# The self-service screen: per kiosk (address) ---------------------------------------------


def test_nine_forged_then_a_valid_card_keeps_counting(client, home):
    """The attack that made 10,540 guesses a minute: a valid card between forgeries no longer
    clears the count, and is itself answered every time."""
    answers = []
    for round_no in range(3):
        for i in range(9):
            answers.append(scan_self(client, forged(home["payload"], i)).status_code)
        valid = scan_self(client, home["payload"])
        assert valid.status_code == 200, round_no
        assert valid.get_json()["account"]["balance"] == 100
    assert answers == [422] * 10 + [429] * 17
    assert row(self_key(KIOSK)).failures == 27


def test_forged_codes_past_the_limit_get_429_with_the_wait_until_the_lock_ends(client, home):
    for i in range(10):
        answer = scan_self(client, forged(home["payload"], i))
        assert answer.status_code == 422, i
        assert answer.get_json()["error"]["code"] == "card_invalid"
    refused = scan_self(client, forged(home["payload"], 10))
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_attempts"
    assert "请5分钟后再试" in error["message"]
    assert 290 <= int(refused.headers["Retry-After"]) <= 300
    assert scan_self(client, home["payload"]).status_code == 200  # a valid card: answered
    assert scan_self(client, forged(home["payload"]), ip="10.0.0.8").status_code == 422
    # the lock ends when its time is over, and the kiosk starts afresh
    end_lock(self_key(KIOSK))
    for i in range(9):
        assert scan_self(client, forged(home["payload"], 20 + i)).status_code == 422
    assert row(self_key(KIOSK)).failures == 9
    # a window that ends below the limit is forgotten: the next one starts from nothing
    with write_transaction():
        db.session.get(ScanThrottle, self_key(KIOSK)).first_failure_at -= timedelta(minutes=6)
    answers = [scan_self(client, forged(home["payload"], 30 + i)).status_code for i in range(11)]
    assert answers == [422] * 10 + [429]


def test_unknown_cards_count_and_codes_that_are_no_card_do_not(client, supermarket, home):
    """A signed code naming no card counts; a product barcode, a payment QR or a revoked card
    can never be a guess at a card, so it is answered and never counted."""
    old = home["payload"]
    factories.card(home["hh"])  # reissue: the old card is revoked
    for _ in range(15):
        assert scan_self(client, "6901234567892").status_code == 422
        assert scan_self(client, "https://qr.alipay.com/fkx12345").status_code == 422
        assert scan_self(client, old).get_json()["error"]["code"] == "card_revoked"
    assert row(self_key(KIOSK)) is None
    for serial in range(90_000_001, 90_000_011):
        answer = scan_self(client, make_payload(serial, 1))
        assert answer.get_json()["error"]["code"] == "card_unknown"
    assert scan_self(client, make_payload(90_000_011, 1)).status_code == 429


def test_the_halt_refuses_every_scan_and_the_burst_is_audited_once(
    app, client, supermarket, admin, home
):
    """Thirty forgeries within a window and its lock: from then on nothing from that kiosk is
    checked, not even a valid card (else the 429 would still tell a wrong guess from a right
    one at full speed). One audit row when the lock starts, one when the halt does."""
    answers = [scan_self(client, forged(home["payload"], i)).status_code for i in range(25)]
    assert answers == [422] * 10 + [429] * 15
    (locked,) = audit_rows("selfservice.scan_locked")
    assert locked.supermarket_id == supermarket.id and locked.actor_id is None
    assert locked.data["keys"] == [self_key(KIOSK)]
    assert (locked.data["stage"], locked.data["guesses"]) == ("lock", 11)
    for i in range(25, 30):
        assert scan_self(client, forged(home["payload"], i)).status_code == 429
    halted = scan_self(client, home["payload"])
    assert halted.status_code == 429
    assert "分钟后再试" in halted.get_json()["error"]["message"]
    assert scan_self(client, home["payload"], ip="10.0.0.8").status_code == 200
    assert [e.data["stage"] for e in audit_rows("selfservice.scan_locked")] == ["lock", "halt"]
    assert row(self_key(KIOSK)).failures == 30  # a halted kiosk's scans are not even counted
    office = app.test_client()
    office.post("/login/password", data={"username": "admin1", "password": "secret123"})
    log = office.get("/audit").get_data(as_text=True)
    assert "自助查询机因无效扫卡过多暂停" in log and "暂停扫卡" in log and "限流" in log
    end_lock(self_key(KIOSK))
    assert scan_self(client, home["payload"]).status_code == 200
    assert scan_self(client, forged(home["payload"])).status_code == 422


# The counter: per API token and per user ---------------------------------------------------


def test_the_counter_api_throttles_forged_codes_and_answers_valid_cards(as_keeper, keeper, home):
    """POST /api/v1/scan took 32,495 forged guesses a minute from one token: now 20 are
    answered in ten minutes, whatever valid cards come between; valid cards scan and redeem
    until the 60th guess halts the token and its user."""
    answers = []
    for _ in range(3):
        for i in range(9):
            r = as_keeper.post("/api/v1/scan", {"payload": forged(home["payload"], i)})
            answers.append(error_code(r))
        assert as_keeper.post("/api/v1/scan", {"payload": home["payload"]}).status_code == 200
    assert answers == ["card_invalid"] * 20 + ["too_many_attempts"] * 7
    refused = as_keeper.post("/api/v1/scan", {"payload": forged(home["payload"])})
    assert refused.status_code == 429
    assert "请10分钟后再扫" in refused.get_json()["error"]["message"]
    assert 590 <= refused.get_json()["error"]["details"]["retry_after"] <= 600
    assert refused.headers["Retry-After"] == str(
        refused.get_json()["error"]["details"]["retry_after"]
    )
    # a redemption is a card check too
    cart = {"lines": [{"product_id": home["product"].id, "quantity": 1}]}
    bad = as_keeper.post(
        "/api/v1/redemptions",
        {**cart, "card": forged(home["payload"]), "idempotency_key": "forged-0001"},
    )
    assert bad.status_code == 429, bad.get_json()
    good = as_keeper.post(
        "/api/v1/redemptions", {**cart, "card": home["payload"], "idempotency_key": "valid-0002"}
    )
    assert good.status_code == 201
    (locked,) = audit_rows("counter.scan_locked")  # one row for the burst, both keys in it
    token_id = db.session.scalar(sa.select(sa.func.max(auth.ApiToken.id)))
    assert sorted(locked.data["keys"]) == sorted([f"api-token:{token_id}", user_key(keeper.id)])
    assert locked.actor_id == keeper.id and locked.data["stage"] == "lock"
    assert row(token_key(as_keeper.token)).failures == row(user_key(keeper.id)).failures == 29
    # the 60th halts the token and its user: nothing is checked, valid cards neither
    for i in range(31):
        as_keeper.post("/api/v1/scan", {"payload": forged(home["payload"], 100 + i)})
    r = as_keeper.post("/api/v1/scan", {"payload": home["payload"]})
    assert r.status_code == 429
    assert "已暂停扫卡" in r.get_json()["error"]["message"]
    assert [e.data["stage"] for e in audit_rows("counter.scan_locked")] == ["lock", "halt"]


def test_the_limit_is_per_user_across_tokens_and_the_counter_page(client, keeper, home):
    """A second token does not buy a second allowance, nor does the counter page's session."""
    first, second = api_for(client, keeper), api_for(client, keeper)
    for i in range(10):
        assert error_code(first.post("/api/v1/scan", {"payload": forged(home["payload"], i)})) == (
            "card_invalid"
        )
        assert error_code(second.post("/api/v1/scan", {"payload": forged(home["payload"], i)})) == (
            "card_invalid"
        )
    r = second.post("/api/v1/scan", {"payload": forged(home["payload"], 10)})
    assert error_code(r) == "too_many_attempts"  # the user's 21st, the token's 11th
    assert row(token_key(second.token)).failures == 11
    page = Api(client, None)  # the counter page: the session, by its user
    login = client.post("/login/password", data={"username": "keeper1", "password": "secret123"})
    assert login.status_code == 302
    assert page.post("/api/v1/scan", {"payload": forged(home["payload"])}).status_code == 429
    assert page.post("/api/v1/scan", {"payload": home["payload"]}).status_code == 200
    assert row(user_key(keeper.id)).failures == 22
    for _ in range(30):  # a product's barcode scanned by mistake is no guess at a card
        r = page.post("/api/v1/scan", {"payload": "6901234567892"})
        assert error_code(r) == "card_invalid"
    other = factories.user("keeper2", "keeper", home["hh"].supermarket, pin="5678")
    assert error_code(
        api_for(client, other).post("/api/v1/scan", {"payload": forged(home["payload"])})
    ) == ("card_invalid")


# Two servers on one database ---------------------------------------------------------------


def _second_app(app, tmp_path):
    return create_app(
        dict(
            TEST_CONFIG,
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            JIFEN_PRINTER_FILE=str(tmp_path / "printer2.json"),
        )
    )


def _all_at_once(apps, requests) -> list:
    """Send ``requests`` (callables taking a test client) at once, spread over the apps."""
    barrier = threading.Barrier(len(requests), timeout=60)
    answers: list = [None] * len(requests)

    def send(i: int) -> None:
        client = apps[i % len(apps)].test_client()
        try:
            barrier.wait()
            answers[i] = requests[i](client)
        except Exception as exc:  # noqa: BLE001 - the caller's assertion shows it
            answers[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def _close(second) -> None:
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def test_two_servers_answer_exactly_ten_forged_guesses_from_a_kiosk(app, home, tmp_path):
    """28 forged codes and 8 valid cards at once, from one kiosk, over two servers: exactly
    ten forgeries answered (the count is atomic: no slack), every valid card answered."""
    payload = home["payload"]
    db.session.commit()
    second = _second_app(app, tmp_path)
    requests = [lambda c, i=i: scan_self(c, forged(payload, i)) for i in range(28)]
    requests += [lambda c: scan_self(c, payload)] * 8
    try:
        answers = _all_at_once([app, second], requests)
    finally:
        _close(second)
    statuses = [a.status_code if hasattr(a, "status_code") else a for a in answers]
    assert sorted(statuses[:28]) == [422] * 10 + [429] * 18, statuses
    assert statuses[28:] == [200] * 8, statuses
    assert row(self_key(KIOSK)).failures == 28
    assert len(audit_rows("selfservice.scan_locked")) == 1


def test_two_servers_answer_exactly_twenty_forged_guesses_from_a_token(app, keeper, home, tmp_path):
    token = auth.issue_token(keeper.id, label="race")
    payload = home["payload"]
    db.session.commit()
    second = _second_app(app, tmp_path)
    headers = {"Authorization": f"Bearer {token}"}
    requests = [
        lambda c, i=i: c.post("/api/v1/scan", json={"payload": forged(payload, i)}, headers=headers)
        for i in range(40)
    ]
    try:
        answers = _all_at_once([app, second], requests)
    finally:
        _close(second)
    statuses = sorted(a.status_code if hasattr(a, "status_code") else a for a in answers)
    assert statuses == [422] * 20 + [429] * 20, statuses
    assert row(token_key(token)).failures == 40
    assert len(audit_rows("counter.scan_locked")) == 1
