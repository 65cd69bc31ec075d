"""Login security (issue 16, items 1–4): the lock holds against parallel guesses on two
servers, waits grow per account and per device and say how long, a stranger gets about ten PIN
guesses an hour yet cannot keep the keeper out for more than two minutes, unknown names answer
as wrong passwords do, and sessions end server-side (a copied cookie dies with the logout)."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kiosk import auth, create_app, login_limits
from kiosk.errors import AccountLocked, LoginFailed, ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent, ScanThrottle, User
from kiosk.timeutil import utcnow
from tests import factories

BURST = 40


def _error(response) -> str:
    match = re.search(r'id="login-error">(.*?)</div>', response.get_data(as_text=True), re.S)
    return match.group(1).strip() if match else ""


def _pin(client, keeper_id: int, pin: str, addr: str = "192.0.2.1"):
    return client.post(
        "/login/pin", data={"keeper_id": keeper_id, "pin": pin}, environ_base={"REMOTE_ADDR": addr}
    )


def _password(client, username: str, password: str, addr: str = "192.0.2.1"):
    return client.post(
        "/login/password",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by hand (seconds from now)."""
    start = utcnow()
    now = {"s": 0.0}
    monkeypatch.setattr(login_limits, "utcnow", lambda: start + timedelta(seconds=now["s"]))
    return now


class HashChecks:
    """check_password_hash counted (per stored hash) and slowed, so that parallel guesses
    overlap in the check the way a real scrypt check makes them overlap."""

    def __init__(self, monkeypatch, pause: float = 0.0) -> None:
        self.real = auth.check_password_hash
        self.pause = pause
        self.lock = threading.Lock()
        self.hashes: list[str] = []
        self.entered = threading.local()
        self.on_enter = None
        monkeypatch.setattr(auth, "check_password_hash", self)

    def __call__(self, pwhash: str, secret: str) -> bool:
        with self.lock:
            self.hashes.append(pwhash)
        if self.on_enter is not None:
            self.on_enter()
        time.sleep(self.pause)
        return self.real(pwhash, secret)

    def of(self, pwhash: str) -> int:
        return self.hashes.count(pwhash)


@pytest.fixture
def second_app(app):
    """A second server on the same database (its own engine and connection pool)."""
    config = {
        k: app.config[k]
        for k in (
            "TESTING",
            "SECRET_KEY",
            "JIFEN_CARD_SECRET",
            "WTF_CSRF_ENABLED",
            "JIFEN_PRINTER",
            "JIFEN_PASSWORD_METHOD",
            "SQLALCHEMY_DATABASE_URI",
            "SQLALCHEMY_ENGINE_OPTIONS",
        )
    }
    other = create_app(config)
    yield other
    with other.app_context():
        db.engine.dispose()


def _burst(apps, send, checks: HashChecks, wait_for_others: int | None = None) -> list:
    """BURST requests released together, alternating between the servers; ``send(i, client)``
    makes one. Request ``wait_for_others`` (an index) goes only when every other request is
    inside its hash check or answered: a guess at that position in the burst."""
    results: list = [None] * BURST
    ready: set[int] = set()
    cond = threading.Condition()
    mine = threading.local()
    others = BURST - (1 if wait_for_others is not None else 0)
    barrier = threading.Barrier(others, timeout=60)

    def mark() -> None:
        index = getattr(mine, "i", None)
        if index is not None and index != wait_for_others:
            with cond:
                ready.add(index)
                cond.notify_all()

    def run(i: int) -> None:
        mine.i = i
        client = apps[i % len(apps)].test_client()
        try:
            if i == wait_for_others:
                with cond:
                    assert cond.wait_for(lambda: len(ready) >= others, timeout=60)
            else:
                barrier.wait()
            results[i] = send(i, client)
        except Exception as exc:  # collected and asserted on below
            results[i] = exc
        finally:
            mark()

    checks.on_enter = mark
    threads = [threading.Thread(target=run, args=(i,)) for i in range(BURST)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


# --- 1. the lock cannot be raced --------------------------------------------------------------


def test_parallel_pin_burst_on_two_servers_evaluates_few_and_the_right_pin_at_30_fails(
    app, second_app, keeper, monkeypatch
):
    checks = HashChecks(monkeypatch, pause=0.3)
    keeper_id, pin_hash = keeper.id, keeper.pin_hash
    right_at = 29  # the 30th guess

    def send(i: int, client):
        # Forty devices (addresses): only the account's own counter can stop them.
        return _pin(client, keeper_id, "1234" if i == right_at else "0000", f"10.0.{i}.1")

    results = _burst([app, second_app], send, checks, wait_for_others=right_at)
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = [r.status_code for r in results]
    assert all(s in (401, 423) for s in statuses), statuses
    assert results[right_at].status_code == 423  # the right PIN came too late: no login
    assert re.fullmatch(r"尝试次数过多，已暂时锁定，请1[0-5]秒后再试", _error(results[right_at]))
    assert checks.of(pin_hash) <= 5
    assert statuses.count(401) == checks.of(pin_hash)  # every evaluated guess was a wrong one
    db.session.rollback()
    assert db.session.get(User, keeper_id).failed_attempts == checks.of(pin_hash)


def test_parallel_password_burst_on_two_servers_evaluates_few(app, second_app, keeper, monkeypatch):
    checks = HashChecks(monkeypatch, pause=0.2)
    password_hash = keeper.password_hash

    def send(i: int, client):
        name = "keeper1" if i % 4 else "nobody"  # a real name and an unknown one at once
        return _password(client, name, f"guess-{i}", f"10.1.{i}.1")

    results = _burst([app, second_app], send, checks)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(r.status_code in (401, 423) for r in results)
    assert checks.of(password_hash) <= 5
    unknown = len(checks.hashes) - checks.of(password_hash)  # dummy checks of "nobody"
    assert 1 <= unknown <= 5


# --- 2. growing waits, said plainly; ten PIN guesses an hour; the keeper back in two minutes --


def test_waits_grow_to_two_minutes_and_every_answer_says_how_long(client, keeper, clock):
    expected = [(0, None), (0, None), (15, "15秒"), (30, "30秒"), (60, "1分钟"), (120, "2分钟")]
    for seconds, wait in expected + [(120, "2分钟")]:
        response = _password(client, "keeper1", "wrong-one")
        assert response.status_code == 401
        message = _error(response)
        assert message.startswith("用户名或密码不正确")
        assert (f"请{wait}后再试" in message) if wait else ("后再试" not in message)
        if wait:
            # refused at once, even with the right password, and told how long is left
            refused = _password(client, "keeper1", "secret123")
            assert refused.status_code == 423
            assert f"请{wait}后再试" in _error(refused)
            clock["s"] += seconds - 5
            assert "请5秒后再试" in _error(_password(client, "keeper1", "secret123"))
            clock["s"] += 5
    assert _password(client, "keeper1", "secret123").status_code == 302


def _stranger(attempt, clock, seconds: float) -> tuple[int, list[AccountLocked]]:
    """Guess for ``seconds`` as fast as the waits allow (and at least once a minute while a
    long wait runs): the number of guesses evaluated, and the refusals."""
    evaluated, refusals = 0, []
    end = clock["s"] + seconds
    i = 0
    while clock["s"] < end:
        try:
            attempt(i)
        except LoginFailed as exc:
            evaluated += 1
            clock["s"] += min(60, max(1, exc.details["wait_seconds"]))
        except AccountLocked as exc:
            refusals.append(exc)
            clock["s"] += min(60, max(1, exc.details["wait_seconds"]))
        i += 1
    return evaluated, refusals


def test_a_stranger_at_the_kiosk_gets_ten_pin_guesses_an_hour(app, keeper, clock):
    evaluated, refusals = _stranger(
        lambda i: auth.login_pin(
            keeper.id, f"{i:04d}"[-4:].replace("1234", "4321"), device="kiosk"
        ),
        clock,
        3600 - 1,
    )
    assert evaluated == 10
    suspended = [r for r in refusals if r.details["pin_suspended"]]
    assert suspended and "或用用户名和密码登录" in suspended[0].message
    # the ordinary waits never exceed two minutes
    assert all(r.details["wait_seconds"] <= 120 for r in refusals if r not in suspended)


def test_after_the_pin_budget_is_spent_the_keeper_signs_in_by_password_within_2_minutes(
    client, keeper, clock
):
    messages = []
    for i in range(10):
        response = _pin(client, keeper.id, f"9{i:03d}", "192.0.2.50")
        assert response.status_code == 401
        messages.append(_error(response))
        clock["s"] += 120
    # the tenth wrong PIN spends the budget, and says so, in minutes, with the way out
    assert re.search(r"PIN错误次数过多，请\d+分钟后再试，或用用户名和密码登录", messages[-1])
    refused = _pin(client, keeper.id, "1234", "192.0.2.50")
    assert refused.status_code == 423
    assert re.fullmatch(r"PIN错误次数过多，请\d+分钟后再试，或用用户名和密码登录", _error(refused))
    # the right PIN from another device is refused too (the budget is the account's)
    assert _pin(client, keeper.id, "1234", "192.0.2.51").status_code == 423
    # the password at the same kiosk: in at once (the last wait has run out)
    assert _password(client, "keeper1", "secret123", "192.0.2.50").status_code == 302
    client.post("/logout", environ_base={"REMOTE_ADDR": "192.0.2.50"})
    # ... and a right login clears the budget: the PIN works again
    assert _pin(client, keeper.id, "1234", "192.0.2.50").status_code == 302


def test_many_devices_get_ten_pin_guesses_an_hour_on_one_keeper(app, keeper, clock):
    evaluated, _ = _stranger(
        lambda i: auth.login_pin(keeper.id, "0000", device=f"10.2.{i % 250}.{i // 250}"),
        clock,
        3600 - 1,
    )
    assert evaluated == 10


def test_one_device_gets_ten_pin_guesses_an_hour_over_all_keepers(app, supermarket, clock):
    keepers = [
        factories.user(f"k{n}", "keeper", supermarket, pin=f"{n}{n}{n}{n}").id for n in (5, 6, 7)
    ]
    evaluated, _ = _stranger(
        lambda i: auth.login_pin(keepers[i % 3], "0000", device="kiosk"), clock, 3600 - 1
    )
    assert evaluated == 10


def test_admin_unlock_lifts_the_pin_budget_and_the_device_waits(client, app, admin, keeper, clock):
    for i in range(10):
        with pytest.raises(LoginFailed):
            auth.login_pin(keeper.id, f"8{i:03d}", device="kiosk")
        clock["s"] += 120
    with pytest.raises(AccountLocked):
        auth.login_pin(keeper.id, "1234", device="kiosk")
    assert auth.is_locked(keeper)
    _password(client, "admin1", "secret123", "192.0.2.99")
    assert "已锁定至" in client.get("/users").get_data(as_text=True)
    client.post(f"/users/{keeper.id}/unlock", environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert auth.login_pin(keeper.id, "1234", device="kiosk").id == keeper.id


# --- 3. no username enumeration ----------------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answers_and_the_same_check(
    app, keeper, supermarket, monkeypatch
):
    factories.user("gone", "keeper", supermarket)
    auth.set_active(
        db.session.scalar(sa.select(User.id).where(User.username == "gone")),
        False,
        actor=factories.user("boss", "admin", supermarket),
    )
    checks = HashChecks(monkeypatch)
    answers = {}
    for n, name in enumerate(("keeper1", "nobody", "gone")):
        client = app.test_client()
        seen = []
        for _ in range(4):
            before = len(checks.hashes)
            response = _password(client, name, "wrong-password", f"192.0.2.{60 + n}")
            seen.append((response.status_code, _error(response), len(checks.hashes) - before))
        answers[name] = seen
    assert answers["nobody"] == answers["keeper1"] == answers["gone"]
    # a wrong guess: one hash check, whether the name exists or not; a refusal: none
    assert [check for *_, check in answers["nobody"]] == [1, 1, 1, 0]
    # unknown names are throttled like real ones
    assert answers["nobody"][3][0] == 423
    # and the dummy check costs what a real one costs: same method
    real = checks.hashes[0]
    dummy = checks.hashes[4]
    assert dummy != real and dummy.split("$")[0] == real.split("$")[0]


def test_pin_for_a_non_keeper_answers_like_a_wrong_pin(client, keeper, admin):
    wrong = [_pin(client, keeper.id, "0000", "192.0.2.70") for _ in range(3)]
    other = [_pin(client, admin.id, "0000", "192.0.2.71") for _ in range(3)]
    assert [(r.status_code, _error(r)) for r in wrong] == [
        (r.status_code, _error(r)) for r in other
    ]


# --- 4. sessions end server-side ---------------------------------------------------------------


def _copied_session(app, username: str = "keeper1", password: str = "secret123"):
    """A logged-in client and a second client holding a copy of its session cookie."""
    first = app.test_client()
    assert _password(first, username, password).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", first.get_cookie("session").value)
    assert thief.get("/counter").status_code == 200
    return first, thief


def _ended(client) -> bool:
    page = client.get("/counter")
    api = client.get("/api/v1/products", headers={"X-Requested-With": "jifen"})
    return (
        page.status_code == 302
        and "/login" in page.headers["Location"]
        and (api.status_code == 401)
    )


def test_a_copied_cookie_dies_with_the_logout(app, keeper):
    first, thief = _copied_session(app)
    first.post("/logout")
    assert _ended(thief)
    assert _ended(first)
    # a new login opens a new session that works
    assert _password(first, "keeper1", "secret123").status_code == 302
    assert first.get("/counter").status_code == 200
    assert _ended(thief)


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/users/{id}/password", {"password": "newpass1"}),
        ("/users/{id}/pin", {"pin": "8642"}),
        ("/users/{id}/active", {"active": "0"}),
        ("/users/{id}/role", {"role": "supervisor"}),
    ],
    ids=["password", "pin", "deactivate", "role"],
)
def test_an_admins_change_ends_the_users_sessions(app, admin, keeper, url, form):
    _, thief = _copied_session(app)
    office = app.test_client()
    assert _password(office, "admin1", "secret123", "192.0.2.80").status_code == 302
    response = office.post(url.format(id=keeper.id), data=form, follow_redirects=True)
    assert response.status_code == 200
    assert _ended(thief)


def test_a_role_change_is_audited_drops_the_pin_and_holds_at_once(client, app, admin, keeper):
    _password(client, "admin1", "secret123", "192.0.2.81")
    page = client.post(
        f"/users/{keeper.id}/role", data={"role": "supervisor"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已修改王店长的角色" in page
    db.session.rollback()
    user = db.session.get(User, keeper.id)
    assert user.role == "supervisor" and user.pin_hash is None
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.set_role")
    ).one()
    assert event.data["before"] == {"role": "keeper", "has_pin": True}
    assert event.data["after"] == {"role": "supervisor", "has_pin": False}
    # the new role holds for the next login: a supervisor may not open the counter
    other = app.test_client()
    _password(other, "keeper1", "secret123", "192.0.2.82")
    assert other.get("/counter").status_code in (302, 403)


def test_role_changes_that_are_refused(app, admin, supermarket):
    pin_only = auth.create_user("pinonly", display_name="只有PIN", role="keeper", pin="2468")
    with pytest.raises(ValidationFailed, match="不能修改自己的角色"):
        auth.set_role(admin.id, "keeper", actor=admin)
    other = factories.user("admin2", "admin", supermarket)
    auth.set_role(other.id, "supervisor", actor=admin)
    with pytest.raises(ValidationFailed, match="最后一个"):
        auth.set_role(admin.id, "keeper", actor=db.session.get(User, other.id))
    with pytest.raises(ValidationFailed, match="请先为其设置密码"):
        auth.set_role(pin_only.id, "admin", actor=admin)
    with pytest.raises(ValidationFailed, match="角色只能是"):
        auth.set_role(pin_only.id, "root", actor=admin)


# --- 5. rows that hold nothing back are deleted -------------------------------------------------


def _login_rows() -> dict[str, tuple[int, object]]:
    db.session.rollback()  # read what the services committed
    table = ScanThrottle.__table__
    rows = db.session.execute(
        sa.select(table.c.key, table.c.failures, table.c.locked_until).where(
            table.c.key.like(f"{login_limits.PREFIX}%")
        )
    )
    return {key: (failures, until) for key, failures, until in rows}


def _guess(name: str, device: str) -> None:
    with pytest.raises((LoginFailed, AccountLocked)):
        auth.login_password(name, "guess", device=device)


def test_names_guessed_at_random_leave_no_rows_once_forgotten(app, clock):
    for i in range(1000):
        _guess(f"nobody-{i}", f"10.3.{i // 250}.{i % 250}")
    assert len(_login_rows()) == 2000  # a name's row and a device's, all still counting
    clock["s"] += app.config["JIFEN_LOGIN_FORGET_MINUTES"] * 60 + 1
    # Each later attempt deletes at most PRUNE_LIMIT of them besides counting itself.
    _guess("somebody", "10.4.0.1")
    assert len(_login_rows()) == 2000 - login_limits.PRUNE_LIMIT + 2
    for i in range(1, 2000 // login_limits.PRUNE_LIMIT):
        _guess(f"somebody-{i}", f"10.4.0.{i + 1}")
    rows = _login_rows()
    assert len(rows) == 2 * (2000 // login_limits.PRUNE_LIMIT)
    assert not [key for key in rows if "10.3." in key or key == login_limits.name_key("nobody-1")]


def _spend_pin_budget(keeper_id: int, clock) -> None:
    """Wrong PINs from the device "attacker" until its hourly budget is spent."""
    for i in range(100):
        try:
            auth.login_pin(keeper_id, f"{i:04d}", device="attacker")
        except LoginFailed as exc:
            if exc.details["pin_suspended"]:
                return
            clock["s"] += exc.details["wait_seconds"]
        except AccountLocked as exc:
            clock["s"] += exc.details["wait_seconds"]
    raise AssertionError("the PIN budget was never spent")


def test_spraying_names_never_removes_a_live_wait(app, clock):
    # A stranger's device and name run up the longest wait.
    for _ in range(6):
        try:
            auth.login_password("nobody", "guess", device="attacker")
        except LoginFailed as exc:
            clock["s"] += exc.details["wait_seconds"]
    before = _login_rows()
    device, name = login_limits.device_key("attacker"), login_limits.name_key("nobody")
    assert before[device][0] == 6 and before[name][0] == 6
    # Sprayed names from other addresses up to a second before the device's counter is
    # forgotten: each attempt prunes, and the stranger's rows stay as they were.
    forget = app.config["JIFEN_LOGIN_FORGET_MINUTES"] * 60
    clock["s"] = (before[device][1] - login_limits.utcnow()).total_seconds() + clock["s"]
    clock["s"] += forget - 1
    for i in range(3 * login_limits.PRUNE_LIMIT):
        _guess(f"spray-{i}", f"10.5.0.{i}")
    after = _login_rows()
    for key in (device, name):
        assert after[key] == before[key]
    # ... so the device's next guess still waits the longest wait, not the first free ones.
    with pytest.raises(LoginFailed) as failed:
        auth.login_password("nobody", "guess", device="attacker")
    assert failed.value.details["wait_seconds"] == 120


def test_spraying_names_within_the_pin_hour_keeps_the_spent_budget(app, keeper, clock):
    _spend_pin_budget(keeper.id, clock)
    budget = login_limits.device_pin_key("attacker")
    until = _login_rows()[budget][1]
    clock["s"] += (until - login_limits.utcnow()).total_seconds() - 1  # a second left
    for i in range(3 * login_limits.PRUNE_LIMIT):
        _guess(f"spray-{i}", f"10.6.0.{i}")
    assert _login_rows()[budget][0] == 10
    with pytest.raises(AccountLocked) as refused:
        auth.login_pin(keeper.id, "1234", device="attacker")
    assert refused.value.details["pin_suspended"]
    # Once its hour is over the budget holds nothing back, and the next attempt deletes it.
    clock["s"] += 1
    _guess("spray-last", "10.6.1.1")
    assert budget not in _login_rows()


def test_two_servers_pruning_at_once_count_every_guess_without_deadlock(app, second_app, clock):
    for i in range(300):
        _guess(f"old-{i}", f"10.7.{i // 250}.{i % 250}")
    clock["s"] += app.config["JIFEN_LOGIN_FORGET_MINUTES"] * 60 + 1
    db.session.rollback()
    barrier = threading.Barrier(32, timeout=60)
    results: list[object] = [None] * 32

    def guess(i: int) -> None:
        with (app if i % 2 else second_app).app_context():
            try:
                barrier.wait()
                # Devices and names coming back after their rows were forgotten: each thread
                # holds rows that the others' pruning would delete (a deadlock if it waited).
                auth.login_password(f"old-{i}", "guess", device=f"10.7.0.{i}")
            except Exception as exc:  # collected and asserted on below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, LoginFailed) for r in results), results
    rows = _login_rows()
    # Every guess counted afresh on its own rows (forgotten counters start again at one).
    for i in range(32):
        assert rows[login_limits.name_key(f"old-{i}")][0] == 1
        assert rows[login_limits.device_key(f"10.7.0.{i}")][0] == 1
    # What the burst left of the other old rows goes with the next few guesses.
    for i in range(300 // login_limits.PRUNE_LIMIT):
        _guess(f"later-{i}", f"10.9.0.{i}")
    left = {f"10.7.0.{i}" for i in range(32)}
    assert not [k for k in _login_rows() if "10.7." in k and k.split(":")[-1] not in left]
    assert len([k for k in _login_rows() if "10.7." in k]) == 32
