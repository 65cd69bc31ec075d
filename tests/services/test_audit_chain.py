"""The audit hash chain: every write is a link; editing, deleting or reordering rows in the
database is found by ``jifen check`` (both ``run_checks()`` and the CLI)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from kiosk import audit
from kiosk.check import run_checks
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import AuditChainHead, AuditEvent, Supermarket, User
from kiosk.redemption import CartLine, redeem
from tests import factories


def _events(chain: int) -> list[AuditEvent]:
    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
        )
    )


def _raw(sql: str, **params) -> None:
    """Tamper with the database behind the application's back, as an intruder would."""
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _write(n: int, sm: Supermarket, actor: User) -> None:
    for i in range(n):
        with write_transaction():
            audit.record("test.write", sm, actor=actor, supermarket_id=sm.id, n=i, note=f"第{i}次")


def test_every_write_is_a_link(app, supermarket, admin):
    _write(3, supermarket, admin)
    rows = _events(supermarket.id)
    # admin creation (user.create) is in the supermarket's chain too
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == audit.GENESIS
    for prev, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == prev.hash
        assert audit.row_hash(row, row.prev_hash) == row.hash
    head = db.session.get(AuditChainHead, supermarket.id)
    assert (head.seq, head.hash) == (rows[-1].seq, rows[-1].hash)
    assert audit.chain_head(supermarket.id) == (rows[-1].seq, rows[-1].hash)
    assert run_checks() == []


def test_before_and_after_are_stored_in_data(app, supermarket, admin):
    with write_transaction():
        audit.record(
            "test.change", supermarket, actor=admin, before={"name": "旧"}, after={"name": "新"}
        )
    ev = _events(audit.GLOBAL_CHAIN)[-1]  # (a supermarket's own row: the global chain)
    assert ev.action == "test.change" and ev.data == {
        "before": {"name": "旧"},
        "after": {"name": "新"},
    }
    assert run_checks() == []


def test_rolled_back_events_leave_no_gap(app, supermarket, admin):
    _write(1, supermarket, admin)
    try:
        with write_transaction():
            audit.record("test.lost", supermarket, actor=admin)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    _write(1, supermarket, admin)
    rows = _events(supermarket.id)
    assert "test.lost" not in [r.action for r in rows]
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert run_checks() == []


def test_chains_are_per_supermarket_and_global(app, supermarket, admin):
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    with write_transaction():
        audit.record("test.a", supermarket, actor=admin, supermarket_id=supermarket.id)
        audit.record("test.b", other, actor=admin, supermarket_id=other.id)
        audit.record("test.global", admin, actor=admin, supermarket_id=None)
    db.session.rollback()
    states = {s.chain: s for s in audit.verify_chains()}
    assert other.id in states and supermarket.id in states
    assert states[other.id].verified_seq == 1
    assert all(s.ok for s in states.values())


def test_edited_row_is_found_by_check(app, supermarket, admin):
    _write(4, supermarket, admin)
    target = _events(supermarket.id)[2]
    _raw(
        "UPDATE audit_events SET data = :d WHERE id = :id",
        d='{"n": 99, "note": "改过"}',
        id=target.id,
    )
    problems = [p for p in run_checks() if p.check == "audit_chain"]
    assert len(problems) == 1
    assert f"第{target.seq}号" in problems[0].detail and "被改动" in problems[0].detail


def test_deleted_row_is_found_by_check(app, supermarket, admin):
    _write(4, supermarket, admin)
    target = _events(supermarket.id)[1]
    target_id, target_seq = target.id, target.seq
    _raw("DELETE FROM audit_events WHERE id = :id", id=target_id)
    problems = [p for p in run_checks() if p.check == "audit_chain"]
    assert len(problems) == 1
    assert f"第{target_seq}号" in problems[0].detail and "删除" in problems[0].detail


def test_deleted_last_row_is_found_against_the_head(app, supermarket, admin):
    _write(3, supermarket, admin)
    last = _events(supermarket.id)[-1]
    _raw("DELETE FROM audit_events WHERE id = :id", id=last.id)
    problems = [p for p in run_checks() if p.check == "audit_chain"]
    assert len(problems) == 1 and "删除" in problems[0].detail


def test_changed_hash_is_found_by_check(app, supermarket, admin):
    _write(3, supermarket, admin)
    target = _events(supermarket.id)[1]
    _raw("UPDATE audit_events SET hash = :h WHERE id = :id", h="f" * 64, id=target.id)
    problems = [p for p in run_checks() if p.check == "audit_chain"]
    assert len(problems) == 1 and f"第{target.seq}号" in problems[0].detail


def test_reordered_rows_are_found_by_check(app, supermarket, admin):
    _write(3, supermarket, admin)
    (a_id, a_seq), (b_id, b_seq) = [(r.id, r.seq) for r in _events(supermarket.id)[1:3]]
    # Swap the two rows' places (through a free number: seq is unique per chain).
    _raw("UPDATE audit_events SET seq = -1 WHERE id = :id", id=a_id)
    _raw("UPDATE audit_events SET seq = :s WHERE id = :id", s=a_seq, id=b_id)
    _raw("UPDATE audit_events SET seq = :s WHERE id = :id", s=b_seq, id=a_id)
    problems = [p for p in run_checks() if p.check == "audit_chain"]
    assert len(problems) == 1 and f"第{a_seq}号" in problems[0].detail


def test_row_inserted_by_hand_without_a_link_is_found(app, supermarket, admin):
    _write(2, supermarket, admin)
    _raw(
        "INSERT INTO audit_events (supermarket_id, actor_id, action, subject_type, data,"
        " created_at) VALUES (:sm, :a, 'forged', 'X', '{}', '2026-01-01 00:00:00')",
        sm=supermarket.id,
        a=admin.id,
    )
    problems = [p for p in run_checks() if p.check == "audit_chain"]
    assert len(problems) == 1 and "链建立后" in problems[0].detail


def test_only_the_broken_chain_is_reported(app, supermarket, admin):
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    _write(2, supermarket, admin)
    _write(2, other, admin)
    target = _events(other.id)[0]
    _raw("UPDATE audit_events SET action = 'x' WHERE id = :id", id=target.id)
    states = {s.chain: s for s in audit.verify_chains()}
    assert states[supermarket.id].ok
    assert not states[other.id].ok and states[other.id].broken_seq == 1
    assert states[other.id].label == "高阳村积分超市"


def test_cli_check_reports_tampering(app, runner, supermarket, admin):
    _write(3, supermarket, admin)
    db.session.rollback()
    ok = runner.invoke(args=["check"])
    assert ok.exit_code == 0, ok.output
    target = _events(supermarket.id)[1]
    _raw("UPDATE audit_events SET actor_id = NULL WHERE id = :id", id=target.id)
    bad = runner.invoke(args=["check"])
    assert bad.exit_code == 1
    assert "audit_chain" in bad.output and f"第{target.seq}号" in bad.output


def test_closing_slip_link_matches(app, supermarket, admin):
    _write(2, supermarket, admin)
    seq, digest = audit.chain_head(supermarket.id)
    assert audit.link_matches(supermarket.id, seq, digest[:16]) is True
    assert audit.link_matches(supermarket.id, seq, "0" * 16) is False
    assert audit.link_matches(supermarket.id, seq + 5, digest[:16]) is None


def test_32_concurrent_writers_stay_one_linear_chain(app, supermarket, keeper):
    """32 kiosks writing at once on two supermarkets: every chain stays gap-free and valid."""
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    ids = [supermarket.id, other.id]
    keeper_id = keeper.id
    barrier = threading.Barrier(32, timeout=60)
    errors: list[BaseException] = []

    def kiosk(i: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, keeper_id)
                sm = db.session.get(Supermarket, ids[i % 2])
                barrier.wait()
                for j in range(3):
                    with write_transaction():
                        audit.record(
                            "test.race", sm, actor=actor, supermarket_id=sm.id, kiosk=i, n=j
                        )
            except BaseException as exc:  # asserted on below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    db.session.rollback()
    for sm_id in ids:
        rows = _events(sm_id)
        races = [r for r in rows if r.action == "test.race"]
        assert len(races) == 48
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert run_checks() == []


def test_concurrent_redemptions_keep_the_chain(app, supermarket, keeper):
    hh = factories.household(supermarket, points=100)
    _, payload = factories.card(hh)
    soap = factories.product(supermarket, name="香皂", cost_fen=100, stock_qty=100)
    from tests.race import at_once

    sm_id, soap_id = supermarket.id, soap.id

    def attempt(i: int, keeper_row: User) -> str:
        return redeem(
            sm_id,
            card_payload=payload,
            lines=[CartLine(soap_id, 1)],
            keeper=keeper_row,
            idempotency_key=f"chain-{i:04d}",
        ).receipt_no

    results = at_once(app, keeper.id, attempt)
    assert all(isinstance(r, str) for r in results)
    db.session.rollback()
    rows = _events(supermarket.id)
    assert sum(1 for r in rows if r.action == "redemption.create") == 32
    assert run_checks() == []


def test_rows_from_before_the_chain_are_counted_not_flagged(app, supermarket):
    # An installation upgraded from before the chain: its old rows have no seq.
    _raw(
        "INSERT INTO audit_events (supermarket_id, action, subject_type, data, created_at)"
        " VALUES (:sm, 'old.write', 'X', '{}', '2024-01-01 00:00:00')",
        sm=supermarket.id,
    )
    admin = factories.user("admin1", "admin", supermarket)
    _write(2, supermarket, admin)
    state = audit.verify_chain(supermarket.id)
    assert state.ok and state.legacy_rows == 1 and state.verified_seq == state.head_seq
    assert run_checks() == []


def test_a_row_is_written_once_linked_at_the_commit(app, supermarket, admin):
    """The row goes to the database at the commit, with its link: one INSERT, never an INSERT
    that a second statement links afterwards, even when a query autoflushes before it."""
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split("(")[0].strip().upper())

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with write_transaction():
            audit.record("test.early", supermarket, actor=admin, supermarket_id=supermarket.id)
            # a query in the same transaction autoflushes: the row is not written yet
            assert not db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "test.early")
            )
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert statements.count("INSERT INTO AUDIT_EVENTS") == 1
    assert not [s for s in statements if s.startswith("UPDATE AUDIT_EVENTS")]
    row = _events(supermarket.id)[-1]
    assert row.action == "test.early" and row.seq is not None
    assert run_checks() == []


def test_one_transaction_writing_to_two_chains(app, supermarket, admin):
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    with write_transaction():
        audit.record("test.x", other, actor=admin, supermarket_id=other.id)
        audit.record("test.y", supermarket, actor=admin, supermarket_id=supermarket.id)
        audit.record("test.z", other, actor=admin, supermarket_id=other.id)
    assert [(r.action, r.seq) for r in _events(other.id)] == [("test.x", 1), ("test.z", 2)]
    assert run_checks() == []
