"""jifen install / uninstall: every file written into a temporary root, the units accepted by
``systemd-analyze verify``, the udev rules parsed strictly, and uninstall leaving the root as
it was except the data."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk import install as inst
from kiosk.cli import main

UNITS = [
    "/etc/systemd/system/jifen.service",
    "/etc/systemd/system/jifen-backup.service",
    "/etc/systemd/system/jifen-backup.timer",
]
KIOSK_FILES = ["/etc/systemd/system/jifen-kiosk.service", "/etc/pam.d/jifen-kiosk"]
OTHER_FILES = [
    "/etc/udev/rules.d/70-jifen-printers.rules",
    "/etc/systemd/journald.conf.d/jifen.conf",
    "/etc/default/jifen",
]
MANIFEST = "/etc/jifen/install-manifest.json"


def at(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its content (None for folders)."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), root)] = None
        for name in filenames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = Path(full).read_bytes()
    return out


def run_cli(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


@pytest.fixture
def root(tmp_path):
    """A target root with an /etc that already has something of its own."""
    r = tmp_path / "root"
    (r / "etc" / "systemd" / "system").mkdir(parents=True)
    (r / "etc" / "hostname").write_text("village-box\n")
    (r / "etc" / "systemd" / "system" / "other.service").write_text("[Service]\n")
    return r


def units_of(root: Path) -> dict[str, str]:
    return {p: at(root, p).read_text() for p in UNITS + [KIOSK_FILES[0]] if at(root, p).exists()}


def test_install_writes_every_file(root):
    result = run_cli("install", "--root", str(root), "--port", "8123", "--user", "jifen")
    assert result.exit_code == 0, result.output
    written = {p for p in UNITS + KIOSK_FILES + OTHER_FILES}
    for path in written:
        text = at(root, path).read_text()
        assert not re.search(r"@[A-Z_]+@", text), f"placeholder left in {path}"
        assert f"已写入 {path}" in result.output
    assert at(root, "/var/lib/jifen").is_dir()

    service = at(root, "/etc/systemd/system/jifen.service").read_text()
    for line in (
        "User=jifen",
        "Restart=always",
        "Environment=JIFEN_INSTANCE=/var/lib/jifen JIFEN_HOST=127.0.0.1 JIFEN_PORT=8123",
        "EnvironmentFile=-/etc/default/jifen",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/jifen",
        "PrivateTmp=yes",
        "SupplementaryGroups=lp dialout video plugdev",
        "WantedBy=multi-user.target",
        "StartLimitIntervalSec=0",
    ):
        assert line in service.splitlines(), line
    exec_start = next(x for x in service.splitlines() if x.startswith("ExecStart="))
    assert exec_start.endswith("jifen serve --host ${JIFEN_HOST} --port ${JIFEN_PORT}")
    assert os.path.isabs(exec_start.split("=", 1)[1].split()[0])

    backup = at(root, "/etc/systemd/system/jifen-backup.service").read_text().splitlines()
    assert "Type=oneshot" in backup and "User=jifen" in backup
    assert any(x.startswith("ExecStart=") and x.endswith("jifen backup") for x in backup)
    timer = at(root, "/etc/systemd/system/jifen-backup.timer").read_text().splitlines()
    assert "Persistent=true" in timer and "WantedBy=timers.target" in timer
    assert any(x.startswith("OnCalendar=") for x in timer)
    assert any(x.startswith("RandomizedDelaySec=") for x in timer)

    kiosk = at(root, KIOSK_FILES[0]).read_text().splitlines()
    for line in (
        "User=jifen-kiosk",
        "PAMName=jifen-kiosk",
        "TTYPath=/dev/tty1",
        "After=jifen.service systemd-user-sessions.service plymouth-quit-wait.service",
        "Conflicts=getty@tty1.service",
        "Environment=XDG_SESSION_TYPE=wayland JIFEN_PORT=8123",
        "Restart=always",
    ):
        assert line in kiosk, line
    exec_start = next(x for x in kiosk if x.startswith("ExecStart="))
    assert exec_start.startswith("ExecStart=/usr/bin/cage -d -s -- /usr/bin/chromium --kiosk ")
    assert "--app=http://127.0.0.1:${JIFEN_PORT}/counter" in exec_start
    pam = at(root, KIOSK_FILES[1]).read_text()
    assert "session   required  pam_systemd.so" in pam

    journald = at(root, "/etc/systemd/journald.conf.d/jifen.conf").read_text().splitlines()
    assert "[Journal]" in journald and "SystemMaxUse=200M" in journald
    default = at(root, "/etc/default/jifen").read_text().splitlines()
    assert "JIFEN_PORT=8123" in default and "JIFEN_HOST=127.0.0.1" in default

    manifest = json.loads(at(root, MANIFEST).read_text())
    assert sorted(e["path"] for e in manifest["files"]) == sorted(written)
    for entry in manifest["files"]:
        assert entry["sha256"] == inst._sha256(at(root, entry["path"]).read_bytes())
    assert "/etc/systemd/system" not in manifest["created_dirs"]  # it was there already
    assert "/etc/udev/rules.d" in manifest["created_dirs"]


def test_no_kiosk_writes_no_screen(root):
    assert run_cli("install", "--root", str(root), "--no-kiosk").exit_code == 0
    for path in KIOSK_FILES:
        assert not at(root, path).exists()
    assert at(root, "/etc/systemd/system/jifen.service").exists()


def test_install_again_without_kiosk_removes_the_screen(root):
    assert run_cli("install", "--root", str(root), "--kiosk").exit_code == 0
    assert at(root, KIOSK_FILES[0]).exists()
    result = run_cli("install", "--root", str(root), "--no-kiosk", "--port", "9000")
    assert result.exit_code == 0, result.output
    assert not at(root, KIOSK_FILES[0]).exists() and not at(root, KIOSK_FILES[1]).exists()
    assert "JIFEN_PORT=9000" in at(root, "/etc/default/jifen").read_text()


def test_install_refuses_to_overwrite_a_file_it_did_not_write(root):
    at(root, "/etc/default").mkdir(parents=True)
    at(root, "/etc/default/jifen").write_text("# the technician's own\n")
    before = snapshot(root)
    result = CliRunner().invoke(main, ["install", "--root", str(root)])
    assert result.exit_code == 1
    assert "/etc/default/jifen" in result.output and "没有改动任何文件" in result.output
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "root"], "不能以 root 运行"),
        (["--user", "Bad User"], "用户名不合适"),
        (["--root", "/nonexistent/jifen-root"], "目录不存在"),
        (["--host", "0.0.0.0 --evil"], "监听地址不合适"),
    ],
)
def test_install_refuses_bad_options(root, args, message):
    if args[0] != "--root":
        args = ["--root", str(root), *args]
    before = snapshot(root)
    result = CliRunner().invoke(main, ["install", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert snapshot(root) == before


def test_uninstall_leaves_the_root_as_it_was_except_the_data(root):
    before = snapshot(root)
    assert run_cli("install", "--root", str(root)).exit_code == 0
    data = at(root, "/var/lib/jifen/jifen.sqlite3")
    data.write_bytes(b"the village's books")
    result = run_cli("uninstall", "--root", str(root))
    assert result.exit_code == 0, result.output
    after = snapshot(root)
    kept = {"var", "var/lib", "var/lib/jifen", "var/lib/jifen/jifen.sqlite3"}
    assert set(after) - set(before) == kept
    assert {k: v for k, v in after.items() if k not in kept} == before
    assert data.read_bytes() == b"the village's books"


def test_uninstall_keeps_what_others_put_into_folders_install_made(root):
    assert run_cli("install", "--root", str(root)).exit_code == 0
    own = at(root, "/etc/udev/rules.d/99-local.rules")
    own.write_text('SUBSYSTEM=="usb", GROUP="plugdev"\n')
    assert run_cli("uninstall", "--root", str(root)).exit_code == 0
    assert own.read_text() == 'SUBSYSTEM=="usb", GROUP="plugdev"\n'
    assert not at(root, "/etc/udev/rules.d/70-jifen-printers.rules").exists()


def test_uninstall_without_an_install_says_so(root):
    result = CliRunner().invoke(main, ["uninstall", "--root", str(root)])
    assert result.exit_code == 1
    assert "没有找到安装清单" in result.output


# --- systemd-analyze verify ------------------------------------------------------------------


def verify_units(root: Path, units: list[str]) -> subprocess.CompletedProcess:
    """``systemd-analyze verify --root`` over the installed units.

    The root gets the system's own units (targets the units name) and an executable stand-in
    for each program the units run, as a real box has them.
    """
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt install systemd (./run test installs it)"
    shutil.copytree("/usr/lib/systemd/system", at(root, "/usr/lib/systemd/system"), symlinks=True)
    for unit in units:
        for line in at(root, unit).read_text().splitlines():
            if re.match(r"Exec\w*=", line):
                program = line.split("=", 1)[1].lstrip("-@!+:").split()[0]
                stand_in = at(root, program)
                stand_in.parent.mkdir(parents=True, exist_ok=True)
                if not stand_in.exists():
                    stand_in.write_text("#!/bin/sh\n")
                    stand_in.chmod(0o755)
    return subprocess.run(
        [analyze, "verify", f"--root={root}", *units],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_systemd_analyze_verify_accepts_the_units(root):
    assert run_cli("install", "--root", str(root), "--kiosk").exit_code == 0
    units = UNITS + [KIOSK_FILES[0]]
    result = verify_units(root, units)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "" and result.stdout.strip() == ""


def test_systemd_analyze_verify_would_catch_a_bad_unit(root):
    """The check above can fail: a misspelt key or a missing program is reported."""
    assert run_cli("install", "--root", str(root), "--no-kiosk").exit_code == 0
    unit = at(root, UNITS[0])
    unit.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilegez="))
    result = verify_units(root, UNITS)
    assert "Unknown key 'NoNewPrivilegez'" in result.stderr


# --- udev rules ------------------------------------------------------------------------------

MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "ATTR", "ATTRS", "ENV"}
ASSIGN_KEYS = {"MODE", "GROUP", "OWNER", "GOTO", "LABEL", "IMPORT", "TAG"}
TOKEN = re.compile(
    r'^(?P<key>[A-Z]+)(?:\{(?P<attr>[A-Za-z_:0-9 -]+)\})?(?P<op>==|!=|\+=|=)"(?P<value>[^"]*)"$'
)


def parse_udev_rules(text: str) -> list[list[tuple[str, str | None, str, str]]]:
    """A strict reading of udev's rule syntax (udev(7)): each rule a comma-separated list of
    ``KEY[{attr}]OP"value"``; match keys compare (== !=), the others assign (= +=); every
    GOTO has its LABEL; MODE is octal; a vendor id is four lower-case hex digits."""
    rules = []
    labels, gotos = set(), set()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens = []
        for raw in re.split(r",\s*", line):
            m = TOKEN.match(raw)
            assert m, f"line {number}: cannot parse {raw!r}"
            key, attr, op, value = m["key"], m["attr"], m["op"], m["value"]
            if key in MATCH_KEYS:
                assert op in ("==", "!="), f"line {number}: {key} must compare"
            else:
                assert key in ASSIGN_KEYS, f"line {number}: unknown key {key}"
                assert op in ("=", "+="), f"line {number}: {key} must assign"
            if key == "MODE":
                assert re.fullmatch(r"0[0-7]{3}", value), f"line {number}: MODE {value}"
            if key == "ATTR" and attr == "idVendor":
                assert re.fullmatch(r"[0-9a-f]{4}", value), f"line {number}: vendor {value}"
            if key in ("ATTR", "ATTRS", "ENV", "IMPORT"):
                assert attr, f"line {number}: {key} needs {{…}}"
            if key == "LABEL":
                labels.add(value)
            if key == "GOTO":
                gotos.add(value)
            tokens.append((key, attr, op, value))
        rules.append(tokens)
    assert gotos <= labels, f"GOTO without LABEL: {gotos - labels}"
    return rules


def test_udev_rules_parse_and_cover_the_common_printers(root):
    assert run_cli("install", "--root", str(root), "--user", "kiosk1").exit_code == 0
    text = at(root, "/etc/udev/rules.d/70-jifen-printers.rules").read_text()
    rules = parse_udev_rules(text)
    vendors = {value for rule in rules for key, attr, _, value in rule if attr == "idVendor"}
    # Epson, Winbond (Xprinter), STMicro and GigaDevice (Gprinter, Xprinter), Rongta, Star …
    assert {"04b8", "0416", "0483", "28e9", "0fe6", "0519", "1d90", "1504"} <= vendors
    for rule in rules:
        if any(attr == "idVendor" for _, attr, _, _ in rule):
            assert ("GROUP", None, "=", "kiosk1") in rule
            assert ("MODE", None, "=", "0660") in rule
    # each vendor line follows a comment naming its maker
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "idVendor" in line:
            assert lines[i - 1].startswith("# "), line
    kernels = {value for rule in rules for key, _, _, value in rule if key == "KERNEL"}
    assert {"ttyUSB[0-9]*", "ttyACM[0-9]*"} <= kernels
    # systemd 254 and later check rules themselves; Debian 12's (252) has no udevadm verify.
    udevadm = shutil.which("udevadm")
    if (
        udevadm
        and subprocess.run([udevadm, "verify", "--help"], capture_output=True).returncode == 0
    ):
        path = at(root, "/etc/udev/rules.d/70-jifen-printers.rules")
        result = subprocess.run([udevadm, "verify", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_udev_parser_rejects_broken_rules():
    with pytest.raises(AssertionError):
        parse_udev_rules('ATTR{idVendor}="04b8", MODE="0660"\n')  # assignment to a match key
    with pytest.raises(AssertionError):
        parse_udev_rules('ATTR{idVendor}=="04b8" MODE="0660"\n')  # missing comma
    with pytest.raises(AssertionError):
        parse_udev_rules('GOTO="nowhere"\n')


# --- the kiosk's wait for the counter --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wait_for_returns_once_the_server_answers_even_503():
    class Down(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Down)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
        assert inst.wait_for(url, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert not inst.wait_for(f"http://127.0.0.1:{_free_port()}/healthz", timeout=0.3, interval=0.1)
    assert inst.main(["wait", f"http://127.0.0.1:{_free_port()}/", "0.2"]) == 1


# --- nothing left behind ---------------------------------------------------------------------


def test_starting_jifen_twice_leaves_no_folder_in_tmp(tmp_path):
    """python-escpos's capability cache lives under the instance, not in a new /tmp folder."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env.update(
        TMPDIR=str(tmpdir),
        JIFEN_INSTANCE=str(instance),
        DATABASE_URL=f"sqlite:///{tmp_path / 'jifen.sqlite3'}",
    )
    # The app as `jifen serve` makes it, then what a receipt needs from python-escpos.
    script = (
        "from kiosk import create_app; create_app(); "
        "from hardware.printers import printer_profile; printer_profile(80)"
    )
    jifen = os.path.join(os.path.dirname(sys.executable), "jifen")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
        subprocess.run([jifen, "check"], env=env, capture_output=True, timeout=120)
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    cache = instance / "cache" / "escpos"
    assert [p.name for p in cache.iterdir() if p.name.endswith(".capabilities.pickle")]


# --- on the box itself: users and systemctl (the commands recorded, not run) -----------------


def test_on_the_box_install_makes_the_users_and_starts_the_units(root, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(inst, "_user_exists", lambda name: False)
    commands: list[list[str]] = []
    options = inst.InstallOptions(root=str(root), user="jifen", kiosk=True, port=8000)
    report = inst.install(options, run=commands.append, on_box=True)
    assert ["systemctl", "daemon-reload"] in commands
    useradd = [c for c in commands if c[0] == "useradd"]
    assert [c[-1] for c in useradd] == ["jifen", "jifen-kiosk"]
    assert "--system" in useradd[0] and "/usr/sbin/nologin" in useradd[0]
    assert ["chown", "-R", "jifen:jifen", "/var/lib/jifen"] in commands
    enable = commands.index(["systemctl", "enable", "jifen.service", "jifen-backup.timer"])
    assert commands.index(["systemctl", "daemon-reload"]) < enable
    assert ["systemctl", "enable", "jifen-kiosk.service"] in commands
    assert ["udevadm", "control", "--reload"] in commands
    # cage and chromium are not in this root: the report says what to install
    assert any("apt install cage chromium" in a for a in report.actions)

    commands.clear()
    inst.uninstall(str(root), run=commands.append, on_box=True)
    assert commands[0] == [
        "systemctl",
        "disable",
        "--now",
        "jifen.service",
        "jifen-backup.timer",
        "jifen-kiosk.service",
    ]
    assert ["systemctl", "daemon-reload"] in commands


def test_on_the_box_install_needs_root(root, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    options = inst.InstallOptions(root=str(root))
    before = snapshot(root)
    with pytest.raises(inst.InstallError, match="需要 root"):
        inst.install(options, run=lambda argv: None, on_box=True)
    assert snapshot(root) == before


def test_edited_settings_survive_a_new_install_and_uninstall(root):
    assert run_cli("install", "--root", str(root), "--port", "8000").exit_code == 0
    default = at(root, "/etc/default/jifen")
    edited = default.read_text() + "DATABASE_URL=postgresql://jifen@10.0.0.2/jifen\n"
    default.write_text(edited)
    result = run_cli("install", "--root", str(root), "--port", "9000")
    assert result.exit_code == 0, result.output
    assert "保留了改动过的 /etc/default/jifen" in result.output
    assert default.read_text() == edited  # the town's database is not forgotten
    assert "JIFEN_PORT=9000" in at(root, "/etc/systemd/system/jifen.service").read_text()
    result = run_cli("uninstall", "--root", str(root))
    assert result.exit_code == 0, result.output
    assert "保留了安装后改动过的 /etc/default/jifen" in result.output
    assert default.read_text() == edited
    assert not at(root, "/etc/systemd/system/jifen.service").exists()
    assert not at(root, MANIFEST).exists()
