"""Set a village box up to run jifen by itself (安装): ``jifen install`` and ``jifen uninstall``.

``install`` writes, under a root folder (``/`` on the box itself, any folder in tests or when
preparing an image): the systemd units that serve the counter, back it up every night and,
with ``--kiosk``, open Chromium full screen on the counter page at boot (Debian's ``cage``
compositor on tty1); udev rules that give the service user the USB receipt printers and the
serial ports; a journald drop-in that keeps the logs within bounds; ``/etc/default/jifen``.
The templates live in ``kiosk/deploy/``. Every file written is listed, with its sha256, in a
manifest (``/etc/jifen/install-manifest.json``), so that ``uninstall`` removes exactly those
files (and the folders ``install`` made, when empty) and nothing else; the data under
``/var/lib/jifen`` is always kept. On ``/`` install also creates the users and enables and
starts the units with ``systemctl``.

``python -m kiosk.install wait URL`` waits until the counter answers (the kiosk unit's
``ExecStartPre``), so the screen never opens on a connection error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources

import click

logger = logging.getLogger(__name__)

INSTANCE_DIR = "/var/lib/jifen"
MANIFEST_PATH = "/etc/jifen/install-manifest.json"
UNIT_DIR = "/etc/systemd/system"

SERVICE_UNITS = ("jifen.service", "jifen-backup.timer")
KIOSK_UNIT = "jifen-kiosk.service"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


class InstallError(Exception):
    """A refusal of install/uninstall with a message for the technician (Chinese)."""


@dataclass(frozen=True)
class InstallOptions:
    """What ``jifen install`` was asked for."""

    root: str = "/"
    user: str = "jifen"
    kiosk: bool = True
    port: int = 8000
    host: str = "127.0.0.1"
    jifen_bin: str = ""  # the ``jifen`` command the units run; default: beside this Python
    python_bin: str = ""  # the Python that has jifen installed; default: this one

    @property
    def kiosk_user(self) -> str:
        return f"{self.user}-kiosk"


@dataclass(frozen=True)
class PlannedFile:
    path: str  # absolute path on the target system (under the root)
    template: str  # file name in kiosk/deploy/
    mode: int = 0o644
    # Settings the technician edits (/etc/default/jifen, the log limits): once edited, neither
    # a new install nor uninstall overwrites or removes them.
    config: bool = False


@dataclass
class InstallReport:
    written: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


@dataclass
class UninstallReport:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # settings edited since install wrote them


def planned_files(options: InstallOptions) -> list[PlannedFile]:
    """Every file install writes, as paths on the target system."""
    files = [
        PlannedFile(f"{UNIT_DIR}/jifen.service", "jifen.service"),
        PlannedFile(f"{UNIT_DIR}/jifen-backup.service", "jifen-backup.service"),
        PlannedFile(f"{UNIT_DIR}/jifen-backup.timer", "jifen-backup.timer"),
        PlannedFile("/etc/udev/rules.d/70-jifen-printers.rules", "70-jifen-printers.rules"),
        PlannedFile("/etc/systemd/journald.conf.d/jifen.conf", "journald-jifen.conf", config=True),
        PlannedFile("/etc/default/jifen", "default-jifen", config=True),
    ]
    if options.kiosk:
        files += [
            PlannedFile(f"{UNIT_DIR}/{KIOSK_UNIT}", "jifen-kiosk.service"),
            PlannedFile("/etc/pam.d/jifen-kiosk", "pam-jifen-kiosk"),
        ]
    return files


def _target(root: str, path: str) -> str:
    """``path`` (absolute on the target system) inside ``root``."""
    return os.path.join(root, path.lstrip("/"))


def _default_jifen_bin() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "jifen")


def _chromium(root: str) -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.exists(_target(root, candidate)):
            return candidate
    return CHROMIUM_CANDIDATES[0]


def render_template(name: str, options: InstallOptions) -> str:
    """A template of kiosk/deploy/ with this installation's values filled in."""
    text = resources.files("kiosk").joinpath("deploy", name).read_text(encoding="utf-8")
    values = {
        "@USER@": options.user,
        "@KIOSK_USER@": options.kiosk_user,
        "@PORT@": str(options.port),
        "@HOST@": options.host,
        "@INSTANCE@": INSTANCE_DIR,
        "@JIFEN@": options.jifen_bin or _default_jifen_bin(),
        "@PYTHON@": options.python_bin or os.path.abspath(sys.executable),
        "@CAGE@": "/usr/bin/cage",
        "@CHROMIUM@": _chromium(options.root),
    }
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(root: str) -> dict | None:
    """The manifest of the installation under ``root``, or None when jifen is not installed."""
    path = _target(root, MANIFEST_PATH)
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InstallError(f"安装清单 {MANIFEST_PATH} 读不出来（{exc}）：请检查后再试") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise InstallError(f"安装清单 {MANIFEST_PATH} 格式不对：请检查后再试")
    return manifest


def _validate(options: InstallOptions) -> None:
    if not os.path.isabs(options.root):
        raise InstallError(f"--root 必须是绝对路径：{options.root}")
    if not os.path.isdir(options.root):
        raise InstallError(f"--root 目录不存在：{options.root}")
    user = options.user
    if not user or len(user) > 24 or not (user[0].isascii() and user[0].isalpha()):
        raise InstallError(f"用户名不合适：{user!r}（字母开头，只用小写字母、数字、- 和 _）")
    if not all(c.isascii() and (c.islower() or c.isdigit() or c in "-_") for c in user):
        raise InstallError(f"用户名不合适：{user!r}（字母开头，只用小写字母、数字、- 和 _）")
    if user == "root":
        raise InstallError("服务不能以 root 运行：请用 --user 指定普通用户（默认 jifen）")
    if not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", options.host):
        raise InstallError(f"监听地址不合适：{options.host!r}（例如 127.0.0.1 或 0.0.0.0）")
    if not 1 <= options.port <= 65535:
        raise InstallError(f"端口必须在 1–65535 之间：{options.port}")


def install(
    options: InstallOptions,
    *,
    run: Callable[[list[str]], None] | None = None,
    on_box: bool | None = None,
) -> InstallReport:
    """Write the files of :func:`planned_files` under the root; on ``/`` also set the box up.

    A file that exists and was not written by an earlier ``jifen install`` is never
    overwritten: nothing is written then and the refusal names it. Running install again
    rewrites jifen's own files (an upgrade or a new --port).
    """
    _validate(options)
    root = options.root
    if on_box is None:  # the box itself: users and systemctl too (tests say so explicitly)
        on_box = os.path.realpath(root) == "/"
    if on_box and os.geteuid() != 0:
        raise InstallError("在本机安装需要 root：请用 sudo jifen install …")
    previous = read_manifest(root)
    previous_files = {entry["path"]: entry for entry in (previous or {}).get("files", [])}
    previous_dirs = list((previous or {}).get("created_dirs", []))

    files = planned_files(options)
    rendered = {f.path: render_template(f.template, options).encode("utf-8") for f in files}
    foreign = [
        f.path
        for f in files
        if os.path.lexists(_target(root, f.path)) and f.path not in previous_files
    ]
    if foreign:
        raise InstallError(
            "这些文件已经存在且不是 jifen install 写的，没有改动任何文件："
            + "、".join(foreign)
            + "。请先移走它们再安装"
        )

    report = InstallReport()
    created_dirs = list(previous_dirs)
    for directory in _dirs_needed([f.path for f in files] + [MANIFEST_PATH], root):
        os.makedirs(_target(root, directory), exist_ok=False)
        created_dirs.append(directory)
    entries = []
    for f in files:
        earlier = previous_files.get(f.path)
        if f.config and earlier and _edited(_target(root, f.path), earlier):
            entries.append({**earlier, "config": True})  # what install wrote, to compare later
            report.actions.append(f"保留了改动过的 {f.path}（没有覆盖）")
            continue
        data = rendered[f.path]
        _write_atomic(_target(root, f.path), data, f.mode)
        entry: dict[str, str | bool] = {"path": f.path, "sha256": _sha256(data)}
        if f.config:
            entry["config"] = True
        entries.append(entry)
        report.written.append(f.path)
    # Files of an earlier install this one does not write any more (--kiosk → --no-kiosk).
    for path in previous_files:
        if path not in rendered and os.path.lexists(_target(root, path)):
            os.unlink(_target(root, path))
            report.actions.append(f"已删除上次安装的 {path}")
    instance = _target(root, INSTANCE_DIR)
    if not os.path.isdir(instance):
        os.makedirs(instance, mode=0o750)
        report.actions.append(f"已创建数据目录 {INSTANCE_DIR}")
    manifest = {
        "jifen_install": 1,
        "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": options.user,
        "kiosk_user": options.kiosk_user if options.kiosk else None,
        "kiosk": options.kiosk,
        "port": options.port,
        "files": entries,
        "created_dirs": created_dirs,
        "units": list(SERVICE_UNITS) + ([KIOSK_UNIT] if options.kiosk else []),
    }
    _write_atomic(
        _target(root, MANIFEST_PATH),
        json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n",
        0o644,
    )
    if on_box:
        _set_up_box(options, previous, report, run or _run)
    return report


def _edited(path: str, entry: dict) -> bool:
    """Has the file at ``path`` changed since install wrote it (its sha256 in the manifest)?"""
    try:
        with open(path, "rb") as fh:
            return _sha256(fh.read()) != entry.get("sha256")
    except FileNotFoundError:
        return False


def uninstall(
    root: str = "/",
    *,
    run: Callable[[list[str]], None] | None = None,
    on_box: bool | None = None,
) -> UninstallReport:
    """Remove what install wrote (by its manifest); keep /var/lib/jifen and edited settings."""
    if not os.path.isabs(root) or not os.path.isdir(root):
        raise InstallError(f"--root 必须是存在的绝对路径：{root}")
    manifest = read_manifest(root)
    if manifest is None:
        raise InstallError(f"没有找到安装清单 {MANIFEST_PATH}：这里没有用 jifen install 安装过")
    if on_box is None:
        on_box = os.path.realpath(root) == "/"
    run = run or _run
    if on_box:
        units = [u for u in manifest.get("units", []) if isinstance(u, str)]
        if units:
            _try(run, ["systemctl", "disable", "--now", *units])
        _try(run, ["systemctl", "stop", "jifen-backup.service"])
    report = UninstallReport()
    for entry in manifest["files"]:
        path = str(entry.get("path", ""))
        if not _safe(path):
            continue  # a hand-edited manifest never makes uninstall leave the root
        target = _target(root, path)
        if entry.get("config") and _edited(target, entry):
            report.kept.append(path)
        elif os.path.lexists(target):
            os.unlink(target)
            report.removed.append(path)
    os.unlink(_target(root, MANIFEST_PATH))
    report.removed.append(MANIFEST_PATH)
    # Folders install made, deepest first, when nothing else was put into them since.
    for directory in sorted(manifest.get("created_dirs", []), key=len, reverse=True):
        target = _target(root, str(directory))
        if _safe(str(directory)) and os.path.isdir(target) and not os.listdir(target):
            os.rmdir(target)
            report.removed.append(str(directory))
    if on_box:
        _try(run, ["systemctl", "daemon-reload"])
        _try(run, ["udevadm", "control", "--reload"])
        _try(run, ["systemctl", "try-restart", "systemd-journald.service"])
    return report


def _safe(path: str) -> bool:
    return path.startswith("/") and ".." not in path.split("/")


def _dirs_needed(paths: list[str], root: str) -> list[str]:
    """The folders (target paths, outermost first) that must be made for ``paths``."""
    needed: list[str] = []
    for path in paths:
        parts = os.path.dirname(path).strip("/").split("/")
        for i in range(1, len(parts) + 1):
            directory = "/" + "/".join(parts[:i])
            if directory not in needed and not os.path.isdir(_target(root, directory)):
                needed.append(directory)
    return needed


def _write_atomic(path: str, data: bytes, mode: int) -> None:
    tmp = f"{path}.jifen-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _run(argv: list[str]) -> None:
    logger.info("running %s", " ".join(argv))
    subprocess.run(argv, check=True)


def _try(run: Callable[[list[str]], None], argv: list[str]) -> None:
    try:
        run(argv)
    except (OSError, subprocess.CalledProcessError) as exc:
        logger.warning("%s failed: %s", " ".join(argv), exc)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _set_up_box(
    options: InstallOptions,
    previous: dict | None,
    report: InstallReport,
    run: Callable[[list[str]], None],
) -> None:
    """On the box itself: users, data folder owner, translations, then systemctl."""
    if not _user_exists(options.user):
        run(
            [
                "useradd", "--system", "--user-group", "--home-dir", INSTANCE_DIR,
                "--shell", "/usr/sbin/nologin", "--comment", "jifen service", options.user,
            ]
        )  # fmt: skip
        report.actions.append(f"已创建用户 {options.user}")
    run(["chown", "-R", f"{options.user}:{options.user}", INSTANCE_DIR])
    if options.kiosk and not _user_exists(options.kiosk_user):
        run(
            [
                "useradd", "--system", "--user-group", "--create-home",
                "--home-dir", f"/var/lib/{options.kiosk_user}", "--groups", "video,input",
                "--shell", "/usr/sbin/nologin", "--comment", "jifen counter screen",
                options.kiosk_user,
            ]
        )  # fmt: skip
        report.actions.append(f"已创建柜台屏幕用户 {options.kiosk_user}")
    # The service may not write into the installed package (ProtectSystem=strict): compile
    # the translations now, as root.
    from kiosk.i18n import ensure_compiled

    ensure_compiled(resources.files("kiosk").joinpath("translations"))  # type: ignore[arg-type]
    if options.kiosk:
        for binary in ("/usr/bin/cage", _chromium(options.root)):
            if not os.path.exists(_target(options.root, binary)):
                report.actions.append(
                    f"注意：没有 {binary}，柜台屏幕起不来：apt install cage chromium"
                )
    run(["systemctl", "daemon-reload"])
    _try(run, ["udevadm", "control", "--reload"])
    _try(run, ["udevadm", "trigger", "--subsystem-match=usb", "--subsystem-match=tty"])
    _try(run, ["systemctl", "restart", "systemd-journald.service"])
    if previous and previous.get("kiosk") and not options.kiosk:
        _try(run, ["systemctl", "disable", "--now", KIOSK_UNIT])
    run(["systemctl", "enable", *SERVICE_UNITS])
    run(["systemctl", "restart", *SERVICE_UNITS])
    report.actions.append("已启用并启动 jifen.service 和 jifen-backup.timer")
    if options.kiosk:
        run(["systemctl", "enable", KIOSK_UNIT])
        _try(run, ["systemctl", "restart", KIOSK_UNIT])
        report.actions.append(f"已启用 {KIOSK_UNIT}（开机在 tty1 打开柜台页面）")


def wait_for(url: str, timeout: float = 120.0, interval: float = 1.0) -> bool:
    """True once ``url`` answers with any HTTP status (the server is up), False at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=interval * 3):
                return True
        except urllib.error.HTTPError:
            return True  # 503 while degraded/down is still a server that answers
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- the commands (registered on the ``jifen`` group itself: they need no app) ----------------


@click.command("install")
@click.option("--root", default="/", show_default=True, help="写入哪个根目录（制作镜像或测试时用）")
@click.option("--user", default="jifen", show_default=True, help="运行服务的普通用户")
@click.option(
    "--kiosk/--no-kiosk", default=True, show_default=True, help="开机在 tty1 全屏打开柜台页面"
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="监听地址（0.0.0.0：局域网平板也能用）"
)
def install_command(root: str, user: str, kiosk: bool, port: int, host: str) -> None:
    """Install the systemd units, udev rules and log limits that run jifen on this box."""
    options = InstallOptions(
        root=os.path.abspath(root), user=user, kiosk=kiosk, port=port, host=host
    )
    try:
        report = install(options)
    except (InstallError, subprocess.CalledProcessError) as exc:
        raise click.ClickException(str(exc)) from None
    for path in report.written:
        click.echo(f"已写入 {path}")
    for action in report.actions:
        click.echo(action)
    click.echo(f"数据目录 {INSTANCE_DIR}（卸载时保留）；安装清单 {MANIFEST_PATH}")


@click.command("uninstall")
@click.option("--root", default="/", show_default=True, help="从哪个根目录卸载")
def uninstall_command(root: str) -> None:
    """Remove what jifen install wrote; the data in /var/lib/jifen is kept."""
    try:
        report = uninstall(os.path.abspath(root))
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    for path in report.removed:
        click.echo(f"已删除 {path}")
    for path in report.kept:
        click.echo(f"保留了安装后改动过的 {path}（里面是你的设置；不要时请自己删除）")
    click.echo(f"数据目录 {INSTANCE_DIR} 保留未动；服务用户也保留（userdel 可删除）")


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.install wait URL [SECONDS]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3) or args[0] != "wait":
        print("usage: python -m kiosk.install wait URL [SECONDS]", file=sys.stderr)
        return 2
    timeout = float(args[2]) if len(args) == 3 else 120.0
    if wait_for(args[1], timeout=timeout):
        return 0
    print(f"jifen: {args[1]} 在 {timeout:g} 秒内没有响应", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
