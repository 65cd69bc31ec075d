"""Backups of a village box (备份) and their restore (恢复).

``jifen backup`` writes one file per backup: a tar.gz holding the database snapshot (SQLite:
the online backup API in one step, so writers carry on and the copy never restarts;
PostgreSQL: ``pg_dump -Fc``), the instance folder's irreplaceable files (``secrets.cfg`` with
the card secret, ``jifen.cfg``, the printer settings, stored files under ``instance/files/``)
and ``manifest.json`` (version, migration head, row counts, the checks' result, a sha256 of
every part). With a passphrase the whole file is encrypted (AES-GCM in chunks, scrypt key).
Every backup is read back from its file and verified (sha256s, SQLite ``integrity_check`` or a
real ``pg_restore`` into a throwaway database, and ``jifen check``); one that fails is moved
to ``failed/`` and reported. Good backups are copied to a removable drive's ``jifen-backup``
folder when one is mounted, and rotated (daily / weekly / monthly; the newest good one is
never deleted).

After each run ``<instance>/backups/status.json`` says when the last good backup was made,
where it and its removable-drive copy went, and the last failure; :func:`read_status` is how
the health page and ``/healthz`` read it.

``jifen restore FILE`` checks an archive, refuses to replace newer data unless forced, keeps
what it replaces under ``instance/replaced-<time>/``, upgrades the restored database to the
current migration head and runs the checks before anything is changed.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from kiosk.errors import DomainError

logger = logging.getLogger(__name__)

BACKUP_DIR_NAME = "backups"
FAILED_DIR_NAME = "failed"
STATUS_FILE_NAME = "status.json"
STATUS_KEYS = (
    "last_good_at",
    "last_good_path",
    "last_copy_path",
    "last_failed_at",
    "last_failed_path",
    "last_error",
)
COPY_FOLDER = "jifen-backup"
# Where a removable drive's jifen-backup folder is looked for (JIFEN_BACKUP_MEDIA_GLOBS).
MEDIA_GLOBS = ("/media/*/*/jifen-backup", "/media/*/jifen-backup", "/mnt/*/jifen-backup")
# Instance files that cannot be rebuilt (the printer file is found through its config key).
INSTANCE_FILES = ("secrets.cfg", "jifen.cfg")
INSTANCE_FOLDERS = ("files",)
PRINTER_MEMBER = "instance/printer.json"
SQLITE_MEMBER = "database/jifen.sqlite3"
PG_MEMBER = "database/jifen.dump"
MANIFEST_MEMBER = "manifest.json"
# Ledgers whose newest row says how recent a database's data is (restore's newer-data guard).
RECENCY_TABLES = ("point_entries", "redemptions", "stock_movements", "fund_entries", "audit_events")
NAME_RE = re.compile(r"^jifen-backup-(\d{8}T\d{6}Z)(?:-\d+)?\.tar\.gz(?:\.enc)?$")
FORMAT_VERSION = 1


class BackupFailed(DomainError):
    """A backup or restore could not be made; nothing was changed."""

    code = "backup_failed"
    status = 500
    message = "备份未能完成"


# --- the state the health page reads --------------------------------------------------------


def status_path(instance_path: str) -> str:
    """Where the backup state of this instance is kept."""
    return os.path.join(instance_path, BACKUP_DIR_NAME, STATUS_FILE_NAME)


def read_status(instance_path: str) -> dict[str, Any]:
    """The last backup run's state: every key of :data:`STATUS_KEYS`, None when unknown.

    ``last_good_at`` / ``last_failed_at`` are ISO-8601 UTC strings; ``last_copy_path`` is the
    copy on a removable drive. A missing or unreadable file gives all None.
    """
    status: dict[str, Any] = dict.fromkeys(STATUS_KEYS)
    try:
        with open(status_path(instance_path), encoding="utf-8") as fh:
            stored = json.load(fh)
    except (OSError, ValueError):
        return status
    if isinstance(stored, dict):
        for key in STATUS_KEYS:
            value = stored.get(key)
            status[key] = value if isinstance(value, str) else None
    return status


def write_status(instance_path: str, **changes: Any) -> dict[str, Any]:
    """Update the backup state atomically (a temp file, then ``os.replace``); the new state."""
    status = read_status(instance_path)
    for key, value in changes.items():
        if key not in STATUS_KEYS:
            raise KeyError(key)
        status[key] = value
    path = status_path(instance_path)
    _write_atomically(path, json.dumps(status, ensure_ascii=False, indent=2).encode("utf-8"))
    return status


def _write_atomically(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- encryption: AES-GCM in chunks, a scrypt key ----------------------------------------------

MAGIC = b"JIFENBAK"
CHUNK = 1 << 20
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
_HEADER = struct.Struct(
    ">8sBBBB16s7sI16s"
)  # magic, version, log2 n, r, p, salt, nonce, chunk, check


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    material = Scrypt(salt=salt, length=64, n=1 << log2_n, r=r, p=p).derive(
        passphrase.encode("utf-8")
    )
    key, check_key = material[:32], material[32:]
    return key, hmac.new(check_key, b"jifen backup passphrase", hashlib.sha256).digest()[:16]


class EncryptingWriter:
    """A write-only file that encrypts what is written into ``raw`` in authenticated chunks.

    Each chunk is sealed with AES-GCM under a nonce of the header's random prefix, the chunk
    number and a last-chunk flag, with the header as associated data: chunks cannot be
    reordered, dropped, or the file cut short without the restore noticing.
    """

    def __init__(self, raw: BinaryIO, passphrase: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        salt, self._prefix = secrets.token_bytes(16), secrets.token_bytes(7)
        key, check = _derive(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
        self._header = _HEADER.pack(
            MAGIC,
            FORMAT_VERSION,
            SCRYPT_LOG2_N,
            SCRYPT_R,
            SCRYPT_P,
            salt,
            self._prefix,
            CHUNK,
            check,
        )
        self._aead = AESGCM(key)
        self._raw = raw
        self._raw.write(self._header)
        self._buffer = bytearray()
        self._counter = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # more follows, so this chunk is not the last
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        nonce = self._prefix + struct.pack(">IB", self._counter, 1 if last else 0)
        sealed = self._aead.encrypt(nonce, plain, self._header)
        self._raw.write(struct.pack(">I", len(sealed)))
        self._raw.write(sealed)
        self._counter += 1

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer = bytearray()
            self.closed = True


class DecryptingReader:
    """A read-only file over an encrypted backup; a wrong passphrase or any tampering raises."""

    def __init__(self, raw: BinaryIO, passphrase: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        header = raw.read(_HEADER.size)
        if len(header) != _HEADER.size or not header.startswith(MAGIC):
            raise BackupFailed("备份文件已损坏：加密文件头不完整")
        _magic, version, log2_n, r, p, salt, prefix, chunk, check = _HEADER.unpack(header)
        if version != FORMAT_VERSION or not (10 <= log2_n <= 22) or chunk > 64 * CHUNK:
            raise BackupFailed("备份文件的格式不认识（可能由更新版本的 jifen 写成，或已损坏）")
        key, expected = _derive(passphrase, salt, log2_n, r, p)
        if not hmac.compare_digest(check, expected):
            raise BackupFailed("备份口令不对：请用做备份时设置的口令（JIFEN_BACKUP_PASSPHRASE）")
        self._aead = AESGCM(key)
        self._header, self._prefix, self._chunk, self._raw = header, prefix, chunk, raw
        self._counter = 0
        self._pending = self._read_sealed()
        self._plain = b""
        self._done = False

    def _read_sealed(self) -> bytes | None:
        size = self._raw.read(4)
        if not size:
            return None
        if len(size) != 4:
            raise BackupFailed("备份文件已损坏：文件被截断")
        (n,) = struct.unpack(">I", size)
        if n > self._chunk + 16:
            raise BackupFailed("备份文件已损坏：数据块长度不对")
        sealed = self._raw.read(n)
        if len(sealed) != n:
            raise BackupFailed("备份文件已损坏：文件被截断")
        return sealed

    def _next_chunk(self) -> bytes:
        from cryptography.exceptions import InvalidTag

        sealed = self._pending
        if sealed is None:
            raise BackupFailed("备份文件已损坏：文件被截断")
        self._pending = self._read_sealed()
        last = self._pending is None
        nonce = self._prefix + struct.pack(">IB", self._counter, 1 if last else 0)
        try:
            plain = self._aead.decrypt(nonce, sealed, self._header)
        except InvalidTag:
            raise BackupFailed("备份文件已损坏：加密数据校验失败（文件被改动或截断）") from None
        self._counter += 1
        self._done = last
        return plain

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._plain) < size) and not self._done:
            self._plain += self._next_chunk()
        if size < 0:
            out, self._plain = self._plain, b""
        else:
            out, self._plain = self._plain[:size], self._plain[size:]
        return out

    def close(self) -> None:
        pass


def is_encrypted(path: str) -> bool:
    """Whether a backup file is encrypted (starts with the jifen header)."""
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def configured_passphrase(app: Flask | None = None) -> str | None:
    """``JIFEN_BACKUP_PASSPHRASE`` (environment, else config) or the file named by
    ``JIFEN_BACKUP_PASSPHRASE_FILE`` (relative to the instance folder); None when neither."""
    app = app or current_app
    value = os.environ.get("JIFEN_BACKUP_PASSPHRASE") or app.config.get("JIFEN_BACKUP_PASSPHRASE")
    if value:
        return str(value)
    name = os.environ.get("JIFEN_BACKUP_PASSPHRASE_FILE") or app.config.get(
        "JIFEN_BACKUP_PASSPHRASE_FILE"
    )
    if not name:
        return None
    path = os.path.join(app.instance_path, name)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
    except OSError as exc:
        raise BackupFailed(f"读不到备份口令文件 {path}：{exc.strerror}") from None
    if not text:
        raise BackupFailed(f"备份口令文件 {path} 是空的")
    return text


# --- the database: snapshot, inspection on a copy ---------------------------------------------


def _database_url(app: Flask) -> sa.URL:
    return sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])


def _kind(url: sa.URL) -> str:
    if url.get_backend_name() == "sqlite":
        return "sqlite"
    if url.get_backend_name() == "postgresql":
        return "postgresql"
    raise BackupFailed(f"不支持备份这种数据库：{url.get_backend_name()}")


def sqlite_snapshot(source: str, target: str) -> None:
    """Copy a live SQLite database with the online backup API in one step.

    One step runs in one read transaction: kiosks keep writing (WAL), and the copy never
    restarts because of their writes (a stepwise backup does, and under load grows without
    bound). The copy is the database as of the step's start.

    The copy is a scratch file (it is checked, hashed and packed, and the archive is what is
    synced to disk), so it is written without a journal or fsync: forcing hundreds of
    megabytes to disk at once would stall the kiosks' own commits behind it.
    """
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            dst.execute("PRAGMA journal_mode=OFF")
            dst.execute("PRAGMA synchronous=OFF")
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_message(what: str, exc: sqlite3.Error) -> str:
    if "disk is full" in str(exc) or "disk I/O" in str(exc):
        return f"{what}：磁盘空间不足或磁盘出错（{exc}），请先腾出空间或检查磁盘"
    return f"{what}：{exc}"


def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def _pg_tool(name: str, url: sa.URL) -> str:
    """The path of pg_dump / pg_restore, of a major version able to read this server."""
    path = shutil.which(name)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            server = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    except sa.exc.SQLAlchemyError as exc:
        raise BackupFailed(f"连不上 PostgreSQL 数据库：{exc.__class__.__name__}") from None
    finally:
        engine.dispose()
    if path is None:
        raise BackupFailed(
            f"找不到 {name}：请安装 Debian 的 postgresql-client 软件包"
            f"（sudo apt install postgresql-client-{server}，与数据库服务器的版本 {server} 一致）"
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    tool = int(match.group(1)) if match else 0
    if tool < server:
        raise BackupFailed(
            f"{name} 的版本（{tool}）比数据库服务器（{server}）旧，无法读取：请安装 Debian 的 "
            f"postgresql-client-{server} 软件包"
        )
    return path


def _run_tool(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupFailed(f"{what}失败：{detail[-1] if detail else done.returncode}")


def pg_dump(url: sa.URL, target: str) -> None:
    """``pg_dump -Fc`` of the database (a consistent snapshot; writers are not held up)."""
    tool = _pg_tool("pg_dump", url)
    dsn, env = _libpq(url)
    _run_tool(
        [tool, "-Fc", "--no-owner", "--no-privileges", "-f", target, "--dbname", dsn],
        env,
        "pg_dump 导出数据库",
    )


@contextmanager
def _admin_connection(url: sa.URL) -> Iterator[sa.Connection]:
    """An autocommit connection to the server's maintenance database (for CREATE/DROP)."""
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _pg_create(url: sa.URL, name: str) -> sa.URL:
    with _admin_connection(url) as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return url.set(database=name)


def _pg_drop(url: sa.URL, name: str) -> None:
    with _admin_connection(url) as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_restore(url: sa.URL, dump: str) -> None:
    """``pg_restore`` a custom-format dump into the (empty) database at ``url``."""
    tool = _pg_tool("pg_restore", url)
    dsn, env = _libpq(url)
    _run_tool(
        [tool, "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", dsn, dump],
        env,
        "pg_restore 恢复数据库",
    )


@contextmanager
def app_on(url: sa.URL | str, base: Flask | None = None) -> Iterator[Flask]:
    """This installation's app, pointed at another database (a copy being checked)."""
    from kiosk import create_app
    from kiosk.extensions import db

    base = base or current_app._get_current_object()  # type: ignore[attr-defined]
    config = dict(base.config)
    config["SQLALCHEMY_DATABASE_URI"] = (
        url.render_as_string(hide_password=False) if isinstance(url, sa.URL) else url
    )
    config.pop("SQLALCHEMY_ENGINES", None)
    app = create_app(config)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@dataclass
class Inspection:
    """What a database copy holds and whether its books are clean."""

    revision: str | None
    counts: dict[str, int]
    latest: dict[str, str | None]
    integrity: str = "ok"
    problems: list[str] = field(default_factory=list)
    checked_at_revision: str | None = None

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not self.problems


def _normal_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    text: str = value.isoformat(sep=" ", timespec="microseconds")
    return text


def database_facts() -> tuple[str | None, dict[str, int], dict[str, str | None]]:
    """The current app's database: migration revision, rows per table, newest ledger rows."""
    from kiosk.extensions import db
    from kiosk.schema import VERSION_TABLE, current_revision, table_names

    tables = sorted(table_names())
    revision = current_revision() if VERSION_TABLE in tables else None
    counts: dict[str, int] = {}
    latest: dict[str, str | None] = {}
    with db.engine.connect() as conn:
        for table in tables:
            if table == VERSION_TABLE:
                continue
            counts[table] = conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))
            ).scalar_one()
        for table in RECENCY_TABLES:
            if table in tables:
                latest[table] = _normal_time(
                    conn.execute(
                        sa.select(sa.func.max(sa.column("created_at"))).select_from(sa.table(table))
                    ).scalar()
                )
    return revision, counts, latest


def inspect_database(url: sa.URL, *, scratch: bool, base: Flask | None = None) -> Inspection:
    """Facts and checks of the database at ``url``, on this installation's code.

    The checks need the current schema: a copy at an older revision is upgraded first, which
    is allowed only when it is a ``scratch`` copy (the upgrade is then also proven to work on
    this data before the real database is touched).
    """
    from kiosk.check import run_checks
    from kiosk.schema import head_revision, upgrade_database

    integrity = "ok"
    if _kind(url) == "sqlite":
        conn = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            rows = [(str(exc),)]
        finally:
            conn.close()
        integrity = "; ".join(str(r[0]) for r in rows[:5]) or "?"
        if integrity != "ok":
            return Inspection(None, {}, {}, integrity=integrity)
    with app_on(url, base):
        revision, counts, latest = database_facts()
        head = head_revision()
        if revision != head:
            if not scratch:
                raise RuntimeError("an old-revision database is checked on a scratch copy only")
            try:
                upgrade_database()
            except Exception as exc:  # noqa: BLE001 - any failure of a migration is the finding
                logger.exception("upgrading a copy from %s failed", revision)
                failure = f"数据库结构从 {revision} 升级到 {head} 失败：{exc.__class__.__name__}"
                return Inspection(revision, counts, latest, integrity, [failure], head)
        problems = [str(p) for p in run_checks()]
        return Inspection(revision, counts, latest, integrity, problems, head)


# --- the archive --------------------------------------------------------------------------------


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _jifen_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jifen")
    except PackageNotFoundError:
        return "unknown"


def _printer_file(app: Flask) -> str:
    return app.config.get("JIFEN_PRINTER_FILE") or os.path.join(app.instance_path, "printer.json")


def instance_parts(app: Flask) -> dict[str, str]:
    """The instance's irreplaceable files: archive member name → path on disk."""
    parts: dict[str, str] = {}
    for name in INSTANCE_FILES:
        path = os.path.join(app.instance_path, name)
        if os.path.isfile(path):
            parts[f"instance/{name}"] = path
    printer = _printer_file(app)
    if os.path.isfile(printer):
        parts[PRINTER_MEMBER] = printer
    for folder in INSTANCE_FOLDERS:
        root = os.path.join(app.instance_path, folder)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, app.instance_path).replace(os.sep, "/")
                parts[f"instance/{rel}"] = path
    return parts


def _write_archive(
    target: str, parts: dict[str, str], manifest: dict[str, Any], passphrase: str | None
) -> None:
    """Write manifest and parts as a tar.gz (encrypted when a passphrase is given)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the secrets
    with os.fdopen(fd, "wb") as raw:
        sink: Any = EncryptingWriter(raw, passphrase) if passphrase else raw
        gz = gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6, mtime=0)
        with gz, tarfile.open(fileobj=gz, mode="w|") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST_MEMBER)
            info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            for member, path in parts.items():
                info = tar.gettarinfo(path, arcname=member)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o600
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
        if passphrase:
            sink.close()
        raw.flush()
        os.fsync(raw.fileno())


def open_archive(path: str, target_dir: str, passphrase: str | None) -> dict[str, Any]:
    """Unpack a backup into ``target_dir`` and check every part's sha256; the manifest.

    Raises BackupFailed with a Chinese message on a corrupt or tampered file, a missing or
    wrong passphrase, or a part that does not match the manifest.
    """
    try:
        raw = open(path, "rb")  # noqa: SIM115  (closed by the with below)
    except OSError as exc:
        raise BackupFailed(f"打不开备份文件 {path}：{exc.strerror}") from None
    with raw:
        encrypted = raw.read(len(MAGIC)) == MAGIC
        raw.seek(0)
        if encrypted and not passphrase:
            raise BackupFailed(
                "这个备份是加密的：请设置做备份时的口令（环境变量 JIFEN_BACKUP_PASSPHRASE）"
            )
        source: Any = DecryptingReader(raw, passphrase) if encrypted and passphrase else raw
        manifest = None
        hashes: dict[str, str] = {}
        try:
            gz = gzip.GzipFile(fileobj=source, mode="rb")
            with tarfile.open(fileobj=gz, mode="r|") as tar:
                for info in tar:
                    name = info.name
                    if not info.isfile() or name.startswith("/") or ".." in name.split("/"):
                        raise BackupFailed(f"备份文件里有不该有的内容：{name}")
                    fh = tar.extractfile(info)
                    assert fh is not None
                    if name == MANIFEST_MEMBER:
                        manifest = json.loads(fh.read().decode("utf-8"))
                        continue
                    dest = os.path.join(target_dir, *name.split("/"))
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    digest = hashlib.sha256()
                    with open(dest, "wb") as out:
                        while block := fh.read(CHUNK):
                            digest.update(block)
                            out.write(block)
                    hashes[name] = digest.hexdigest()
            while gz.read(CHUNK):  # to the end: the gzip checksum is verified there
                pass
        except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
            if isinstance(exc, OSError) and exc.errno == 28:
                raise BackupFailed("磁盘空间不足，无法解开备份文件：请先腾出空间") from None
            raise BackupFailed(f"备份文件已损坏，无法读取：{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "jifen-backup":
        raise BackupFailed("备份文件里没有有效的清单（manifest.json）：不是 jifen 的备份或已损坏")
    expected = manifest.get("parts") or {}
    if set(expected) != set(hashes):
        missing = sorted(set(expected) - set(hashes))
        extra = sorted(set(hashes) - set(expected))
        raise BackupFailed(f"备份文件已损坏或不完整：缺少 {missing}，多出 {extra}")
    for name, hexdigest in hashes.items():
        if expected[name] != hexdigest:
            raise BackupFailed(f"备份文件已损坏：{name} 的校验值（sha256）与清单不符")
    return manifest


# --- backup ---------------------------------------------------------------------------------


@dataclass
class BackupResult:
    """One run of ``jifen backup``."""

    path: str
    ok: bool
    manifest: dict[str, Any]
    copies: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    error: str | None = None
    copy_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def default_backup_dir(app: Flask | None = None) -> str:
    app = app or current_app
    return os.path.join(app.instance_path, BACKUP_DIR_NAME)


def _backup_name(directory: str, moment: datetime, encrypted: bool) -> str:
    stem = f"jifen-backup-{moment.strftime('%Y%m%dT%H%M%SZ')}"
    ext = ".tar.gz.enc" if encrypted else ".tar.gz"
    name, n = stem + ext, 1
    while os.path.exists(os.path.join(directory, name)) or os.path.exists(
        os.path.join(directory, FAILED_DIR_NAME, name)
    ):
        n += 1
        name = f"{stem}-{n}{ext}"
    return name


def run_backup(
    directory: str | None = None,
    *,
    keep_daily: int = 7,
    keep_weekly: int = 5,
    keep_monthly: int = 12,
    reason: str = "",
) -> BackupResult:
    """Write, verify, copy and rotate one backup; the result (``ok`` False when it failed
    verification: it is then in ``failed/`` and the state says so)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    directory = os.path.abspath(directory or default_backup_dir(app))
    passphrase = configured_passphrase(app)
    url = _database_url(app)
    kind = _kind(url)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise BackupFailed(f"无法创建备份目录 {directory}：{exc.strerror}") from None
    moment = datetime.now(UTC)
    name = _backup_name(directory, moment, bool(passphrase))
    final = os.path.join(directory, name)
    work = tempfile.mkdtemp(prefix=".tmp-backup-", dir=directory)
    try:
        try:
            started = time.perf_counter()
            manifest, parts = _snapshot(app, url, kind, work, moment, reason)
            packing = time.perf_counter()
            partial = os.path.join(work, name)
            _write_archive(partial, parts, manifest, passphrase)
            os.replace(partial, final)
        except OSError as exc:
            if exc.errno == 28:
                raise BackupFailed(
                    f"磁盘空间不足，备份没有写成（{directory}）：请先腾出空间"
                ) from None
            raise BackupFailed(f"备份没有写成：{exc}") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
        verifying = time.perf_counter()
        error = verify_backup(final, passphrase, base=app, written=manifest)
    except BackupFailed as exc:
        # The status file is read by the home page and the CLI alike: kept in Chinese.
        write_status(app.instance_path, last_failed_at=_now_iso(), last_error=exc.source_text)
        raise
    if error is not None:
        failed_dir = os.path.join(directory, FAILED_DIR_NAME)
        os.makedirs(failed_dir, exist_ok=True)
        aside = os.path.join(failed_dir, name)
        os.replace(final, aside)
        write_status(
            app.instance_path,
            last_failed_at=_now_iso(),
            last_failed_path=aside,
            last_error=error,
        )
        logger.error("backup %s failed verification: %s", aside, error)
        return BackupResult(aside, False, manifest, error=error)
    result = BackupResult(final, True, manifest)
    result.seconds = {
        **manifest["seconds"],
        "archive": round(verifying - packing, 3),
        "verify": round(time.perf_counter() - verifying, 3),
        "total": round(time.perf_counter() - started, 3),
    }
    for folder in copy_folders(app):
        try:
            copy = os.path.join(folder, name)
            shutil.copyfile(final, copy + ".part")
            with open(copy + ".part", "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(copy + ".part", copy)
        except OSError as exc:
            _unlink(os.path.join(folder, name + ".part"))
            result.copy_errors.append(f"复制到 {folder} 失败：{exc.strerror}")
            continue
        result.copies.append(copy)
        result.deleted += rotate(folder, keep_daily, keep_weekly, keep_monthly)
    result.deleted += rotate(directory, keep_daily, keep_weekly, keep_monthly)
    changes: dict[str, Any] = {"last_good_at": _now_iso(), "last_good_path": final}
    if result.copies:
        changes["last_copy_path"] = result.copies[-1]
    write_status(app.instance_path, **changes)
    logger.info("backup %s written and verified", final)
    return result


def _snapshot(
    app: Flask, url: sa.URL, kind: str, work: str, moment: datetime, reason: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The database snapshot and the instance files in ``work``; the manifest and parts."""
    started = time.perf_counter()
    if kind == "sqlite":
        if not url.database or not os.path.isfile(url.database):
            raise BackupFailed(f"找不到数据库文件 {url.database}：请先运行 jifen init")
        snapshot = os.path.join(work, "jifen.sqlite3")
        try:
            sqlite_snapshot(url.database, snapshot)
        except sqlite3.Error as exc:
            raise BackupFailed(_sqlite_message("读取数据库失败", exc)) from None
        snapshot_seconds = time.perf_counter() - started
        if _revision_of_sqlite(snapshot) == _head(app):
            checked = inspect_database(
                sa.make_url(f"sqlite:///{snapshot}"), scratch=False, base=app
            )
        else:  # an upgrade is about to run (jifen init): the checks need the new schema
            checked = _inspect_scratch_sqlite(app, snapshot, work)
        member = SQLITE_MEMBER
    else:
        snapshot = os.path.join(work, "jifen.dump")
        pg_dump(url, snapshot)
        snapshot_seconds = time.perf_counter() - started
        checked = _inspect_pg_dump(app, url, snapshot)
        member = PG_MEMBER
    parts = {member: snapshot, **instance_parts(app)}
    manifest = {
        "format": "jifen-backup",
        "format_version": FORMAT_VERSION,
        "jifen_version": _jifen_version(),
        "created_at": moment.isoformat(timespec="seconds"),
        "database": kind,
        "reason": reason,
        "alembic_revision": checked.revision,
        "alembic_head": _head(app),
        "counts": checked.counts,
        "latest": checked.latest,
        "checks": {
            "integrity": checked.integrity,
            "problems": checked.problems,
            "ok": checked.ok,
            "at_revision": checked.checked_at_revision,
        },
        "parts": {name: _sha256(path) for name, path in parts.items()},
        # How long the database was read (what the kiosks share the database with) and
        # how long the snapshot's facts and checks took.
        "seconds": {
            "snapshot": round(snapshot_seconds, 3),
            "checks": round(time.perf_counter() - started - snapshot_seconds, 3),
        },
    }
    return manifest, parts


def _head(app: Flask) -> str | None:
    from kiosk.schema import head_revision

    with app.app_context():
        return head_revision()


def _revision_of_sqlite(path: str) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        revision: str | None = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        return revision
    except (sqlite3.Error, TypeError):
        return None
    finally:
        conn.close()


def _inspect_scratch_sqlite(app: Flask, snapshot: str, work: str) -> Inspection:
    """Inspect an older-revision snapshot on a scratch copy (the snapshot stays as it is)."""
    scratch = os.path.join(work, "scratch.sqlite3")
    try:
        sqlite_snapshot(snapshot, scratch)
        return inspect_database(sa.make_url(f"sqlite:///{scratch}"), scratch=True, base=app)
    finally:
        for suffix in ("", "-wal", "-shm"):
            _unlink(scratch + suffix)


def _inspect_pg_dump(app: Flask, url: sa.URL, dump: str) -> Inspection:
    """Restore a dump into a throwaway database ``jifen_verify_<random>``, inspect, drop it."""
    name = f"jifen_verify_{secrets.token_hex(6)}"
    try:
        copy = _pg_create(url, name)
    except sa.exc.SQLAlchemyError as exc:
        raise BackupFailed(
            f"无法建立临时数据库来检验备份（需要 CREATEDB 权限）：{exc.__class__.__name__}"
        ) from None
    try:
        pg_restore(copy, dump)
        return inspect_database(copy, scratch=True, base=app)
    finally:
        _pg_drop(url, name)


def verify_backup(
    path: str,
    passphrase: str | None,
    *,
    base: Flask | None = None,
    written: dict[str, Any] | None = None,
) -> str | None:
    """Read a backup back from its file and check it; None when good, else the reason.

    Every part's sha256 is checked against the manifest as the file is unpacked. SQLite: the
    unpacked database is opened, ``PRAGMA integrity_check`` run and its rows counted;
    PostgreSQL: ``pg_restore --list`` reads the unpacked dump. The checks of ``jifen check``
    ran on the snapshot before it was packed; when ``written`` (the manifest just written)
    has the same sha256 for the database part, the unpacked copy is that snapshot byte for
    byte and their result stands (the checks, or PostgreSQL's restore, once per backup, not
    twice). Without ``written`` (a file checked later) everything runs on the unpacked copy:
    SQLite's checks on it, PostgreSQL's restore into a throwaway database.
    """
    app = base or current_app._get_current_object()  # type: ignore[attr-defined]
    work = tempfile.mkdtemp(prefix=".tmp-verify-", dir=os.path.dirname(path))
    try:
        manifest = open_archive(path, work, passphrase)
        member = SQLITE_MEMBER if manifest.get("database") == "sqlite" else PG_MEMBER
        unpacked = os.path.join(work, *member.split("/"))
        same = written is not None and written["parts"].get(member) == manifest["parts"].get(member)
        if same and member == SQLITE_MEMBER:
            found = _recorded(manifest)
            found.integrity, found.counts = _sqlite_integrity_and_counts(unpacked)
        elif same:
            url = _database_url(app)
            _run_tool(
                [_pg_tool("pg_restore", url), "--list", unpacked], dict(os.environ), "读取导出文件"
            )
            found = _recorded(manifest)
        elif member == SQLITE_MEMBER:
            found = inspect_database(sa.make_url(f"sqlite:///{unpacked}"), scratch=True, base=app)
        else:
            dump = os.path.join(work, *PG_MEMBER.split("/"))
            found = _inspect_pg_dump(app, _database_url(app), dump)
        if found.integrity != "ok":
            return f"备份里的数据库已损坏（integrity_check：{found.integrity}）"
        if found.counts != manifest.get("counts"):
            return "备份里的数据库与清单记录的行数不符"
        if found.problems:
            return (
                f"备份的账目检查发现 {len(found.problems)} 处问题（请运行 jifen check）："
                + "；".join(found.problems[:3])
            )
    except BackupFailed as exc:
        return exc.source_text
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return None


def _recorded(manifest: dict[str, Any]) -> Inspection:
    """The inspection a manifest records (of the snapshot it was written with)."""
    checks = manifest.get("checks") or {}
    return Inspection(
        manifest.get("alembic_revision"),
        dict(manifest.get("counts") or {}),
        dict(manifest.get("latest") or {}),
        checks.get("integrity", "?"),
        list(checks.get("problems") or []),
    )


def _sqlite_integrity_and_counts(path: str) -> tuple[str, dict[str, int]]:
    """``PRAGMA integrity_check`` of a SQLite file and the rows of each of its tables."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        integrity = "; ".join(str(r[0]) for r in rows[:5]) or "?"
        if integrity != "ok":
            return integrity, {}
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'"
            )
        ]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        return integrity, counts
    except sqlite3.DatabaseError as exc:
        return str(exc), {}
    finally:
        conn.close()


def copy_folders(app: Flask | None = None) -> list[str]:
    """The ``jifen-backup`` folders of mounted removable drives (and JIFEN_BACKUP_COPY_DIRS)."""
    app = app or current_app
    found: list[str] = []
    extra = os.environ.get("JIFEN_BACKUP_COPY_DIRS") or app.config.get("JIFEN_BACKUP_COPY_DIRS")
    if isinstance(extra, str):
        extra = [p for p in extra.split(os.pathsep) if p]
    patterns = app.config.get("JIFEN_BACKUP_MEDIA_GLOBS", MEDIA_GLOBS)
    for pattern in patterns:
        found.extend(sorted(glob.glob(pattern)))
    found.extend(extra or [])
    folders = []
    for folder in found:
        folder = os.path.abspath(folder)
        if os.path.isdir(folder) and os.access(folder, os.W_OK) and folder not in folders:
            folders.append(folder)
    return folders


def rotate(directory: str, keep_daily: int, keep_weekly: int, keep_monthly: int) -> list[str]:
    """Delete the backups of ``directory`` no rule keeps; the paths deleted.

    Kept: the newest backup of each of the newest ``keep_daily`` days, ``keep_weekly`` ISO
    weeks and ``keep_monthly`` months, and always the newest one. Only files named as jifen
    names its backups are considered; ``failed/`` is never touched.
    """
    backups: list[tuple[datetime, str]] = []
    for name in os.listdir(directory):
        match = NAME_RE.match(name)
        if match and os.path.isfile(os.path.join(directory, name)):
            moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ")
            backups.append((moment, name))
    backups.sort(reverse=True)
    keep: set[str] = {backups[0][1]} if backups else set()
    for limit, bucket in (
        (keep_daily, lambda m: m.date()),
        (keep_weekly, lambda m: m.isocalendar()[:2]),
        (keep_monthly, lambda m: (m.year, m.month)),
    ):
        seen: list[Any] = []
        for moment, name in backups:
            key = bucket(moment)
            if key in seen:
                continue
            if len(seen) >= limit:
                break
            seen.append(key)
            keep.add(name)
    deleted = []
    for _moment, name in backups:
        if name not in keep:
            path = os.path.join(directory, name)
            os.unlink(path)
            deleted.append(path)
    return deleted


# --- restore ------------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    """What ``jifen restore`` put back and where the replaced data went."""

    manifest: dict[str, Any]
    counts: dict[str, int]
    replaced_dir: str
    replaced_database: str | None
    files: list[str]
    revision_before: str | None
    revision_after: str | None
    problems: list[str] = field(default_factory=list)


def newer_data(
    current: dict[str, str | None], current_counts: dict[str, int], manifest: dict[str, Any]
) -> list[str]:
    """Why the database now in use holds data the backup lacks (empty when it does not)."""
    reasons: list[str] = []
    backup_latest = manifest.get("latest") or {}
    backup_counts = manifest.get("counts") or {}
    for table in RECENCY_TABLES:
        now, then = current.get(table), backup_latest.get(table)
        if now is not None and (then is None or now > then):
            reasons.append(f"{table} 有 {now[:19]} 的记录，备份里最新的是 {(then or '无')[:19]}")
        elif current_counts.get(table, 0) > backup_counts.get(table, 0):
            reasons.append(
                f"{table} 现有 {current_counts[table]} 行，备份里只有 {backup_counts.get(table, 0)} 行"
            )
    return reasons


def run_restore(path: str, *, force: bool = False, passphrase: str | None = None) -> RestoreResult:
    """Restore a backup into this installation: check it, prove it restores and upgrades
    cleanly on a copy, keep aside what it replaces, then put the database and files back."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    from kiosk.extensions import db
    from kiosk.schema import table_names

    passphrase = passphrase if passphrase is not None else configured_passphrase(app)
    url = _database_url(app)
    kind = _kind(url)
    os.makedirs(app.instance_path, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".tmp-restore-", dir=app.instance_path)
    pg_new: str | None = None
    try:
        try:
            manifest = open_archive(os.path.abspath(path), work, passphrase)
        except OSError as exc:
            raise BackupFailed(f"无法解开备份：{exc}") from None
        if manifest.get("database") != kind:
            raise BackupFailed(
                f"这是 {manifest.get('database')} 数据库的备份，本机用的是 {kind}：不能直接恢复"
            )
        # 1. the database now in use: is it newer than the backup?
        try:
            has_tables = bool(table_names())
        except sa.exc.OperationalError:
            if kind == "sqlite":
                raise BackupFailed(f"打不开现在的数据库 {url.database}") from None
            has_tables = False  # no database yet on the server: the restore makes it
        revision_before, current_counts, current_latest = (
            database_facts() if has_tables else (None, {}, {})
        )
        db.session.remove()
        reasons = newer_data(current_latest, current_counts, manifest)
        if reasons and not force:
            raise BackupFailed(
                "现在的数据库里有比备份更新的数据，没有恢复（确认要用旧备份覆盖时加 --force）："
                + "；".join(reasons[:3])
            )
        # 2. the restored database, upgraded and checked, before anything is touched
        if kind == "sqlite":
            restored = os.path.join(work, *SQLITE_MEMBER.split("/"))
            found = inspect_database(sa.make_url(f"sqlite:///{restored}"), scratch=True, base=app)
        else:
            pg_new = f"jifen_restore_{secrets.token_hex(6)}"
            try:
                new_url = _pg_create(url, pg_new)
            except sa.exc.SQLAlchemyError as exc:
                pg_new = None
                raise BackupFailed(
                    f"无法建立新的数据库来恢复（需要 CREATEDB 权限）：{exc.__class__.__name__}"
                ) from None
            pg_restore(new_url, os.path.join(work, *PG_MEMBER.split("/")))
            found = inspect_database(new_url, scratch=True, base=app)
        if not found.ok and not force:
            raise BackupFailed(
                f"恢复出的数据库检查不通过，没有恢复：{found.integrity}；"
                + "；".join(found.problems[:3])
            )
        # 3. keep aside what is replaced (never deleted)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        replaced_dir = os.path.join(app.instance_path, f"replaced-{stamp}")
        n = 1
        while os.path.exists(replaced_dir):
            n += 1
            replaced_dir = os.path.join(app.instance_path, f"replaced-{stamp}-{n}")
        os.makedirs(replaced_dir)
        replaced_database = None
        db.engine.dispose()
        if kind == "sqlite":
            if url.database and os.path.isfile(url.database):
                replaced_database = os.path.join(replaced_dir, "jifen.sqlite3")
                sqlite_snapshot(url.database, replaced_database)
        elif has_tables:
            replaced_database = os.path.join(replaced_dir, "jifen.dump")
            pg_dump(url, replaced_database)
        # 4. the database (the step that can fail), then the small files
        if kind == "sqlite":
            _sqlite_replace(restored, url.database)
        else:
            kept = _pg_swap(url, pg_new, keep_old=has_tables)  # type: ignore[arg-type]
            pg_new = None
            if kept:
                replaced_database = f"{replaced_database}（另保留数据库 {kept}）"
        files = _restore_instance_files(app, work, replaced_dir)
        return RestoreResult(
            manifest,
            found.counts,
            replaced_dir,
            replaced_database,
            files,
            found.revision,
            found.checked_at_revision,
            ([found.integrity] if found.integrity != "ok" else []) + found.problems,
        )
    except OSError as exc:
        if exc.errno == 28:
            raise BackupFailed("磁盘空间不足，无法恢复：请先腾出空间") from None
        raise BackupFailed(f"恢复失败：{exc}") from None
    except sqlite3.Error as exc:
        raise BackupFailed(_sqlite_message("恢复失败", exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pg_new is not None:
            _pg_drop(url, pg_new)


def _sqlite_replace(restored: str, live: str | None) -> None:
    """Copy the restored database into the live file with the backup API (a WAL file of the
    old database can never be replayed onto the new one, as it could after a file move)."""
    if not live:
        raise BackupFailed("数据库设置里没有 SQLite 文件的路径：不能恢复")
    src = sqlite3.connect(restored)
    try:
        dst = sqlite3.connect(live, timeout=30)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()


def _pg_swap(url: sa.URL, new: str, *, keep_old: bool) -> str | None:
    """Put database ``new`` in the place of ``url``'s; the name the old one is kept under
    (an old database without tables, as on a new box, is dropped: it holds nothing)."""
    target = url.database
    kept = f"{target}_replaced_{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"[-63:]
    with _admin_connection(url) as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}
        ).scalar()
        if exists:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": target},
            )
            if keep_old:
                conn.exec_driver_sql(f'ALTER DATABASE "{target}" RENAME TO "{kept}"')
            else:
                conn.exec_driver_sql(f'DROP DATABASE "{target}"')
        conn.exec_driver_sql(f'ALTER DATABASE "{new}" RENAME TO "{target}"')
    return kept if exists and keep_old else None


def _restore_instance_files(app: Flask, work: str, replaced_dir: str) -> list[str]:
    """Put back secrets, settings and stored files; the ones replaced go to ``replaced_dir``."""
    restored_root = os.path.join(work, "instance")
    if not os.path.isdir(restored_root):
        return []
    aside = os.path.join(replaced_dir, "instance")
    os.makedirs(aside, exist_ok=True)
    written = []
    targets = {name: os.path.join(app.instance_path, name) for name in INSTANCE_FILES}
    targets["printer.json"] = _printer_file(app)
    for name, target in targets.items():
        source = os.path.join(restored_root, name)
        if not os.path.isfile(source):
            continue
        if os.path.isfile(target):
            shutil.copy2(target, os.path.join(aside, name))
        with open(source, "rb") as fh:
            _write_atomically(target, fh.read())
        if name == "secrets.cfg":
            os.chmod(target, 0o600)
        written.append(target)
    for folder in INSTANCE_FOLDERS:
        source = os.path.join(restored_root, folder)
        if not os.path.isdir(source):
            continue
        target = os.path.join(app.instance_path, folder)
        if os.path.isdir(target):
            shutil.move(target, os.path.join(aside, folder))
        shutil.copytree(source, target)
        written.append(target + os.sep)
    return written


# --- the commands (registered by kiosk.cli) ---------------------------------------------------


def _local(iso: str | None) -> str:
    if not iso:
        return "未知"
    from kiosk.timeutil import to_local

    moment = datetime.fromisoformat(iso)
    tz = current_app.config.get("JIFEN_TIMEZONE", "Asia/Shanghai")
    return to_local(moment.astimezone(UTC).replace(tzinfo=None), tz).strftime("%Y-%m-%d %H:%M")


COUNT_LABELS = (
    ("households", "户"),
    ("point_entries", "条积分流水"),
    ("redemptions", "张兑换单"),
    ("stock_movements", "条库存流水"),
    ("fund_entries", "条基金池流水"),
    ("audit_events", "条操作日志"),
)


def _counts_line(counts: dict[str, int]) -> str:
    return "、".join(f"{counts.get(t, 0)} {label}" for t, label in COUNT_LABELS)


@click.command("backup")
@click.option("--to", "directory", default=None, help="备份目录（默认 实例目录/backups）")
@click.option("--keep-daily", default=7, show_default=True, type=click.IntRange(0, 10000))
@click.option("--keep-weekly", default=5, show_default=True, type=click.IntRange(0, 10000))
@click.option("--keep-monthly", default=12, show_default=True, type=click.IntRange(0, 10000))
@with_appcontext
def backup_command(
    directory: str | None, keep_daily: int, keep_weekly: int, keep_monthly: int
) -> None:
    """Back up the database and the instance's secrets and settings into one verified file."""
    try:
        result = run_backup(
            directory, keep_daily=keep_daily, keep_weekly=keep_weekly, keep_monthly=keep_monthly
        )
    except BackupFailed as exc:
        raise click.ClickException(f"备份失败：{exc.message}") from None
    if not result.ok:
        click.echo(f"备份检验没有通过：{result.error}", err=True)
        click.echo(f"这个备份已另放在 {result.path}（未删除），请联系技术员。", err=True)
        raise SystemExit(1)
    for problem in result.copy_errors:
        click.echo(problem, err=True)
    for copy in result.copies:
        click.echo(f"已另存一份到 {copy}", err=True)
    for old in result.deleted:
        click.echo(f"按保留规则删除了旧备份 {old}", err=True)
    t = result.seconds
    click.echo(
        f"备份已写好并检验通过（{_counts_line(result.manifest['counts'])}；用时 {t['total']:.1f} 秒："
        f"读数据库 {t['snapshot']:.1f}、检查 {t['checks']:.1f}、打包 {t['archive']:.1f}、"
        f"检验 {t['verify']:.1f}）：",
        err=True,
    )
    click.echo(result.path)


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="即使现在的数据比备份新也恢复（现有数据另存，不删除）")
@with_appcontext
def restore_command(path: str, force: bool) -> None:
    """Restore a backup made by `jifen backup` (database, secrets, settings, stored files)."""
    import sys

    passphrase = None
    try:
        if os.path.isfile(path) and is_encrypted(path):
            passphrase = configured_passphrase()
            if passphrase is None and sys.stdin is not None and sys.stdin.isatty():
                passphrase = click.prompt("备份口令", hide_input=True)
        result = run_restore(path, force=force, passphrase=passphrase)
    except BackupFailed as exc:
        raise click.ClickException(f"没有恢复：{exc.message}") from None
    except OSError as exc:
        raise click.ClickException(f"没有恢复：读不到 {path}（{exc.strerror}）") from None
    m = result.manifest
    click.echo(f"已恢复 {_local(m.get('created_at'))} 的备份（jifen {m.get('jifen_version')}）")
    click.echo(f"数据：{_counts_line(result.counts)}")
    if result.revision_before != result.revision_after:
        click.echo(f"数据库结构已从 {result.revision_before} 升级到 {result.revision_after}")
    for target in result.files:
        click.echo(f"已恢复 {target}")
    click.echo(f"被替换的数据库和文件另存在 {result.replaced_dir}（不会自动删除）")
    if result.problems:
        for problem in result.problems:
            click.echo(problem, err=True)
        click.echo(f"注意：账目检查发现 {len(result.problems)} 处问题（用了 --force）", err=True)
    else:
        click.echo("账目检查通过。")
    click.echo("请重新启动 jifen 服务（sudo systemctl restart jifen）。")
