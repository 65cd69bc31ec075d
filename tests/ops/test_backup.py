"""Backups and restores of a village box (kiosk.backup): everything comes back, or nothing changes.

Each box is a real instance folder (secrets.cfg made by the app factory, jifen.cfg, printer
settings, stored files) on its own database, SQLite or PostgreSQL.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from kiosk import backup, create_app
from kiosk.backup import BackupFailed, read_status, rotate, run_backup, run_restore
from kiosk.extensions import db
from tests import factories
from tests.conftest import BACKENDS, PG_ADMIN_URL

PASSPHRASE = "村里的口令 2026"


class Boxes:
    """Instance folders, each with its own database, made and cleaned up by the test."""

    def __init__(self, backend: str, tmp_path, monkeypatch) -> None:
        self.backend, self.tmp_path, self.monkeypatch = backend, tmp_path, monkeypatch
        self.databases: list[str] = []
        for name in ("JIFEN_BACKUP_PASSPHRASE", "JIFEN_BACKUP_COPY_DIRS", "DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)

    def url(self, name: str) -> str | None:
        if self.backend == "sqlite":
            return None
        database = f"jifen_bk_{uuid.uuid4().hex[:8]}_{name}"
        with self._admin() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
        self.databases.append(database)
        return sa.make_url(PG_ADMIN_URL).set(database=database).render_as_string(False)

    def app(self, name: str, url: str | None = None, **config):
        """The app of box ``name`` as the box would start it (instance folder, environment)."""
        instance = self.tmp_path / name
        self.monkeypatch.setenv("JIFEN_INSTANCE", str(instance))
        if url:
            self.monkeypatch.setenv("DATABASE_URL", url)
        else:
            self.monkeypatch.delenv("DATABASE_URL", raising=False)
        app = create_app()
        app.config.update(
            TESTING=True,
            JIFEN_PASSWORD_METHOD="pbkdf2:sha256:1000",
            JIFEN_BACKUP_MEDIA_GLOBS=(),
            **config,
        )
        return app

    def _admin(self):
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self._engine = engine
        return engine.connect()

    def close(self) -> None:
        if self.backend == "sqlite":
            return
        with self._admin() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database")).scalars().all()
            for name in names:
                if any(name.startswith(d) for d in self.databases):
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._engine.dispose()


@pytest.fixture(params=BACKENDS)
def boxes(request, tmp_path, monkeypatch):
    made = Boxes(request.param, tmp_path, monkeypatch)
    yield made
    made.close()


def _schema_at_head() -> None:
    """The models' tables, stamped at the migration head (what ``jifen init`` leaves)."""
    import flask_migrate

    from kiosk.extensions import real_migrate

    db.create_all()
    real_migrate(current_app)
    flask_migrate.stamp(revision="head")


def _village():
    """A supermarket with households, cards, stock, a redemption and a void: every book."""
    from kiosk.redemption import CartLine, redeem, void_redemption

    sm = factories.supermarket()
    keeper = factories.user("keeper1", "keeper", sm, pin="1234", display_name="王店长")
    factories.user("admin1", "admin", sm, display_name="李主任")
    homes = [
        factories.household(sm, points=80 + 10 * i, head_name=n)
        for i, n in enumerate(["张三丰", "李秀英", "王建国"])
    ]
    payloads = [factories.card(hh)[1] for hh in homes]
    rice = factories.product(sm, name="金龙鱼大米5kg", cost_fen=2550, stock_qty=9)
    soap = factories.product(sm, name="雕牌洗衣皂", cost_fen=300, stock_qty=20)
    redeem(
        sm.id,
        card_payload=payloads[0],
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key="bk-000000001",
    )
    second = redeem(
        sm.id,
        card_payload=payloads[1],
        lines=[CartLine(soap.id, 2)],
        keeper=keeper,
        idempotency_key="bk-000000002",
    )
    void_redemption(second.id, actor=keeper, reason="拿错了")
    return sm, homes, payloads


def _all_rows() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: what a restore must bring back."""
    rows = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return rows


def _instance_files(instance) -> None:
    (instance / "jifen.cfg").write_text('JIFEN_SUPERMARKET = "DT01"\n', encoding="utf-8")
    (instance / "printer.json").write_text(
        json.dumps({"type": "preview", "paper_mm": 58}), encoding="utf-8"
    )
    photos = instance / "files" / "evidence"
    photos.mkdir(parents=True)
    (photos / "objection-1.jpg").write_bytes(b"\xff\xd8\xff\xe0 evidence photo")


def test_backup_then_restore_into_a_fresh_box_brings_everything_back(boxes, monkeypatch):
    """Every row of every table (households, entries, movements, receipts, audit), the
    secrets (a card printed before still scans), settings and stored files come back."""
    from kiosk.cards import resolve_card
    from kiosk.check import run_checks

    monkeypatch.setenv("JIFEN_BACKUP_PASSPHRASE", PASSPHRASE)
    old_url = boxes.url("a")
    old = boxes.app("a", old_url, JIFEN_PRINTER_FILE=None)
    _instance_files(boxes.tmp_path / "a")
    with old.app_context():
        _schema_at_head()
        _sm, homes, payloads = _village()
        home_ids = [h.id for h in homes]
        before = _all_rows()
    result = old.test_cli_runner().invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    path = result.stdout.strip().splitlines()[-1]
    assert os.path.isfile(path) and path.endswith(".tar.gz.enc")
    assert backup.is_encrypted(path)
    with open(path, "rb") as fh:
        assert "张三丰".encode() not in fh.read()
    status = read_status(old.instance_path)
    assert status["last_good_path"] == path and status["last_error"] is None

    new_url = boxes.url("b")
    new = boxes.app("b", new_url)
    assert new.config["JIFEN_CARD_SECRET"] != old.config["JIFEN_CARD_SECRET"]
    result = new.test_cli_runner().invoke(args=["restore", path])
    assert result.exit_code == 0, result.output
    assert "3 户" in result.output and "账目检查通过" in result.output

    restarted = boxes.app("b", new_url)  # the service restarts and reads the restored secrets
    assert restarted.config["JIFEN_CARD_SECRET"] == old.config["JIFEN_CARD_SECRET"]
    with restarted.app_context():
        assert _all_rows() == before
        assert [resolve_card(p).household_id for p in payloads] == home_ids
        assert run_checks() == []
        db.engine.dispose()
    b = boxes.tmp_path / "b"
    assert json.loads((b / "printer.json").read_text())["paper_mm"] == 58
    assert (b / "jifen.cfg").read_text(encoding="utf-8") == 'JIFEN_SUPERMARKET = "DT01"\n'
    assert (b / "files" / "evidence" / "objection-1.jpg").read_bytes().endswith(b"photo")
    assert len(list(b.glob("replaced-*/instance/secrets.cfg"))) == 1  # the new box's, kept


@pytest.fixture
def sqlite_box(tmp_path, monkeypatch):
    made = Boxes("sqlite", tmp_path, monkeypatch)
    app = made.app("a")
    _instance_files(tmp_path / "a")
    with app.app_context():
        _schema_at_head()
        _village()
        yield app
        db.session.remove()
        db.engine.dispose()


def sqlite_box_supermarket():
    from kiosk.supermarkets import find_supermarket

    return find_supermarket()


def _counts() -> dict[str, int]:
    return backup.database_facts()[1]


def test_a_corrupt_archive_is_refused_and_nothing_changes(sqlite_box):
    path = run_backup().path
    before = _counts()
    data = bytearray(Path(path).read_bytes())
    data[len(data) // 2] ^= 0x55
    bad = path.replace(".tar.gz", "-bad.tar.gz")
    Path(bad).write_bytes(bytes(data))
    with pytest.raises(BackupFailed, match="损坏"):
        run_restore(bad)
    truncated = path.replace(".tar.gz", "-cut.tar.gz")
    Path(truncated).write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(BackupFailed, match="损坏"):
        run_restore(truncated)
    assert _counts() == before
    # Checked again later (no manifest in hand): the good file passes, the damaged ones not.
    assert backup.verify_backup(path, None) is None
    assert "损坏" in backup.verify_backup(bad, None)
    assert "损坏" in backup.verify_backup(truncated, None)
    assert not list(os.scandir(sqlite_box.instance_path)) or not any(
        e.name.startswith(("replaced-", ".tmp-")) for e in os.scandir(sqlite_box.instance_path)
    )
    result = sqlite_box.test_cli_runner().invoke(args=["restore", bad])
    assert result.exit_code == 1 and "没有恢复" in result.output


def test_a_wrong_or_missing_passphrase_is_refused_and_nothing_changes(sqlite_box, monkeypatch):
    monkeypatch.setenv("JIFEN_BACKUP_PASSPHRASE", PASSPHRASE)
    path = run_backup().path
    before = _counts()
    with pytest.raises(BackupFailed, match="口令不对"):
        run_restore(path, passphrase="别的口令")
    monkeypatch.delenv("JIFEN_BACKUP_PASSPHRASE")
    with pytest.raises(BackupFailed, match="加密"):
        run_restore(path)
    # A tampered chunk is told apart from a wrong passphrase.
    data = bytearray(Path(path).read_bytes())
    data[-40] ^= 1
    Path(path).write_bytes(bytes(data))
    with pytest.raises(BackupFailed, match="损坏"):
        run_restore(path, passphrase=PASSPHRASE)
    assert _counts() == before
    assert not any(e.name.startswith("replaced-") for e in os.scandir(sqlite_box.instance_path))


def test_the_passphrase_can_come_from_a_file_named_in_the_config(sqlite_box):
    with open(os.path.join(sqlite_box.instance_path, "backup.key"), "w") as fh:
        fh.write(PASSPHRASE + "\n")
    sqlite_box.config["JIFEN_BACKUP_PASSPHRASE_FILE"] = "backup.key"
    path = run_backup().path
    assert backup.is_encrypted(path)
    with pytest.raises(BackupFailed, match="口令不对"):
        run_restore(path, passphrase="x")
    run_restore(path)  # the file's passphrase


def test_newer_data_is_not_replaced_unless_forced(boxes):
    from kiosk.models import PointEntry

    app = boxes.app("a", boxes.url("a"))
    with app.app_context():
        _schema_at_head()
        _sm, homes, _payloads = _village()
        path = run_backup().path
        factories.points_award(homes[2], 5, reason="备份之后的积分")
        after = _counts()
        db.session.remove()
        with pytest.raises(BackupFailed, match="更新的数据"):
            run_restore(path)
        assert _counts() == after
        result = run_restore(path, force=True)
        db.session.remove()
        assert _counts()["point_entries"] == after["point_entries"] - 1
        assert not db.session.scalar(
            sa.select(PointEntry).where(PointEntry.reason == "备份之后的积分")
        )
        db.session.remove()
        db.engine.dispose()
    # The replaced database, with the newer entry, is kept aside.
    kept = result.replaced_database
    if boxes.backend == "sqlite":
        conn = sqlite3.connect(kept)
        assert (
            conn.execute("SELECT count(*) FROM point_entries").fetchone()[0]
            == after["point_entries"]
        )
        conn.close()
    else:
        assert os.path.getsize(kept.split("（")[0]) > 0
        assert "_replaced_" in kept


def _touch_backups(directory, moments) -> list[str]:
    names = []
    for moment in moments:
        name = f"jifen-backup-{moment.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
        open(os.path.join(directory, name), "wb").close()
        names.append(name)
    return names


def test_rotation_keeps_daily_weekly_monthly_and_always_the_newest(tmp_path):
    start = datetime(2026, 1, 1, 2, 0)
    # Two backups a day for 120 days.
    moments = [start + timedelta(hours=12 * i) for i in range(240)]
    _touch_backups(tmp_path, moments)
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "jifen-backup-20260101T020000Z.tar.gz").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a backup")
    rotate(str(tmp_path), keep_daily=7, keep_weekly=5, keep_monthly=12)
    kept = sorted(p.name for p in tmp_path.glob("jifen-backup-*"))
    days = {n[13:21] for n in kept}
    newest = max(moments)
    assert f"jifen-backup-{newest.strftime('%Y%m%dT%H%M%SZ')}.tar.gz" in kept
    last7 = {(newest - timedelta(days=i)).strftime("%Y%m%d") for i in range(7)}
    assert last7 <= days
    assert len(kept) == len(days)  # one a day at most
    assert {n[13:19] for n in kept} == {"202601", "202602", "202603", "202604"}
    assert len(kept) <= 7 + 5 + 12
    assert (tmp_path / "failed" / "jifen-backup-20260101T020000Z.tar.gz").exists()
    assert (tmp_path / "notes.txt").exists()

    # Keeping nothing still keeps the only good one.
    rotate(str(tmp_path), keep_daily=0, keep_weekly=0, keep_monthly=0)
    assert [p.name for p in tmp_path.glob("jifen-backup-*")] == [
        f"jifen-backup-{newest.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
    ]


def test_a_backup_that_fails_verification_is_kept_aside_and_the_good_one_stays(boxes):
    app = boxes.app("a", boxes.url("a"))
    with app.app_context():
        _schema_at_head()
        _village()
        good = run_backup().path
        good_at = read_status(app.instance_path)["last_good_at"]
        with db.engine.begin() as conn:  # books broken by hand: a balance without its entries
            conn.exec_driver_sql("UPDATE point_accounts SET balance = balance + 7 WHERE id = 1")
        db.session.remove()
        result = app.test_cli_runner().invoke(
            args=["backup", "--keep-daily", "0", "--keep-weekly", "0", "--keep-monthly", "0"]
        )
        db.engine.dispose()
    assert result.exit_code == 1
    assert "检验没有通过" in result.output and "账目检查" in result.output
    backups = os.path.dirname(good)
    failed = os.listdir(os.path.join(backups, "failed"))
    assert len(failed) == 1
    assert os.path.exists(good)  # not rotated away by a failed run
    status = read_status(app.instance_path)
    assert status["last_good_path"] == good and status["last_good_at"] == good_at
    assert status["last_failed_path"] == os.path.join(backups, "failed", failed[0])
    assert "account 1" in status["last_error"]


def test_a_damaged_database_part_fails_verification(sqlite_box, monkeypatch):
    """Verification reads the file back: a snapshot damaged on its way is caught."""
    real = backup._write_archive

    def damaging(target, parts, manifest, passphrase):
        snapshot = parts[backup.SQLITE_MEMBER]
        with open(snapshot, "r+b") as fh:
            fh.seek(4096 * 3)
            fh.write(b"\x00garbage" * 512)
        real(target, parts, manifest, passphrase)

    monkeypatch.setattr(backup, "_write_archive", damaging)
    result = run_backup()
    assert not result.ok and "/failed/" in result.path
    assert "sha256" in result.error or "损坏" in result.error


def test_a_full_disk_leaves_no_partial_file_and_is_reported(sqlite_box, monkeypatch):
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_write_archive", full)
    with pytest.raises(BackupFailed, match="磁盘空间不足"):
        run_backup()
    directory = os.path.join(sqlite_box.instance_path, "backups")
    assert [n for n in os.listdir(directory) if n != "status.json"] == []
    status = read_status(sqlite_box.instance_path)
    assert "磁盘空间不足" in status["last_error"] and status["last_good_at"] is None


def test_each_backup_is_copied_to_a_removable_drive(sqlite_box, tmp_path, monkeypatch):
    usb = tmp_path / "media" / "keeper" / "U盘" / "jifen-backup"
    usb.mkdir(parents=True)
    sqlite_box.config["JIFEN_BACKUP_MEDIA_GLOBS"] = (
        str(tmp_path / "media" / "*" / "*" / "jifen-backup"),
    )
    other = tmp_path / "nas" / "jifen-backup"
    other.mkdir(parents=True)
    monkeypatch.setenv("JIFEN_BACKUP_COPY_DIRS", str(other))
    result = run_backup()
    name = os.path.basename(result.path)
    assert (usb / name).read_bytes() == Path(result.path).read_bytes()
    assert (other / name).exists()
    assert read_status(sqlite_box.instance_path)["last_copy_path"] == str(other / name)
    assert not list(usb.glob("*.part"))


def test_the_snapshot_does_not_wait_for_a_kiosk_mid_transaction(sqlite_box):
    """A kiosk holding the write lock neither blocks the snapshot nor lands in it half-done."""
    path = sa.make_url(sqlite_box.config["SQLALCHEMY_DATABASE_URI"]).database
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE supermarkets SET name = 'half-done'")
    done = threading.Event()

    def snapshot():
        backup.sqlite_snapshot(path, os.path.join(sqlite_box.instance_path, "snap.sqlite3"))
        done.set()

    thread = threading.Thread(target=snapshot)
    thread.start()
    assert done.wait(20), "the snapshot waited for the writer"
    writer.execute("ROLLBACK")
    writer.close()
    thread.join()
    snap = sqlite3.connect(os.path.join(sqlite_box.instance_path, "snap.sqlite3"))
    assert snap.execute("SELECT name FROM supermarkets").fetchone()[0] == "大同镇积分超市"
    snap.close()


def test_init_backs_up_a_database_with_pending_migrations(tmp_path, monkeypatch):
    import flask_migrate

    made = Boxes("sqlite", tmp_path, monkeypatch)
    app = made.app("a")
    with app.app_context():
        flask_migrate.upgrade(revision="0005")
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO supermarkets (code, name, town, village, points_per_yuan, "
                "next_receipt_no, fund_advance_limit_fen, created_at) "
                "VALUES ('DT01', '大同镇积分超市', '大同镇', '东村', 1, 1, 0, '2026-01-01')"
            )
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "升级前的备份" in result.output
    files = [n for n in os.listdir(tmp_path / "a" / "backups") if n.endswith(".tar.gz")]
    assert len(files) == 1
    with app.app_context():
        from kiosk.schema import current_revision, head_revision

        assert current_revision() == head_revision()
        work = tmp_path / "open"
        work.mkdir()
        manifest = backup.open_archive(str(tmp_path / "a" / "backups" / files[0]), str(work), None)
        db.engine.dispose()
    assert manifest["alembic_revision"] == "0005" and manifest["reason"] == "upgrade"
    assert manifest["counts"]["supermarkets"] == 1
    again = app.test_cli_runner().invoke(args=["init"])
    assert "升级前的备份" not in again.output  # nothing pending: no backup

    # That 0005 backup restores onto this jifen: upgraded to the head on the way.
    restored = app.test_cli_runner().invoke(
        args=["restore", str(tmp_path / "a" / "backups" / files[0])]
    )
    assert restored.exit_code == 0, restored.output
    assert "已从 0005 升级到" in restored.output
    with app.app_context():
        assert current_revision() == head_revision()
        assert backup.database_facts()[1]["supermarkets"] == 1
        db.engine.dispose()


def test_a_full_disk_during_restore_changes_nothing(sqlite_box, monkeypatch):
    path = run_backup().path
    secrets_cfg = Path(sqlite_box.instance_path) / "secrets.cfg"
    secrets_cfg.write_text("JIFEN_CARD_SECRET = 'changed since'\n")
    factories.points_award(factories.household(sqlite_box_supermarket()), 3)
    before = _counts()

    def full(*_args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(backup, "_sqlite_replace", full)
    with pytest.raises(BackupFailed, match="磁盘空间不足"):
        run_restore(path, force=True)
    assert _counts() == before
    assert secrets_cfg.read_text() == "JIFEN_CARD_SECRET = 'changed since'\n"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_a_missing_pg_dump_names_the_debian_package(backend, tmp_path, monkeypatch):
    boxes = Boxes(backend, tmp_path, monkeypatch)
    app = boxes.app("a", boxes.url("a"))
    real_which = backup.shutil.which
    monkeypatch.setattr(
        backup.shutil, "which", lambda n: None if n.startswith("pg_") else real_which(n)
    )
    with app.app_context():
        _schema_at_head()
        with pytest.raises(BackupFailed, match="postgresql-client-1[0-9]"):
            run_backup()
        db.engine.dispose()
    boxes.close()
    assert "postgresql-client" in read_status(app.instance_path)["last_error"]
