"""The kiosk's printer settings (打印机设置), edited in the admin UI.

A printer is attached to one kiosk, so its settings live in that kiosk's instance folder
(``instance/printer.json``), not in the shared database. Until an admin saves them there, the
instance config's ``JIFEN_PRINTER`` applies. :func:`save` validates every field and refuses bad
input with a Chinese message naming the field, writing nothing; a good setting is written
atomically (a temp file, then ``os.replace``) and audited. :func:`load` is called for every
print job, so it reads the file again only when the file has changed.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from typing import Any

from flask import current_app

from hardware import printers
from kiosk import audit, parsing
from kiosk.database import write_transaction
from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from kiosk.messages import WORD_SEPARATOR, Joined, Message, _
from kiosk.models import Supermarket, User

logger = logging.getLogger(__name__)

FILE_NAME = "printer.json"
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
CHARSETS = ("gb2312", "gb18030")
RARE_CHAR_MODES = ("image", "placeholder")
# The fields' names, for the messages a keeper or admin reads (in the reader's language).
FIELD_LABELS = {
    "type": _("打印机类型"),
    "vendor_id": _("厂商号"),
    "product_id": _("产品号"),
    "device": _("设备路径"),
    "baudrate": _("波特率"),
    "host": _("打印机地址"),
    "port": _("端口"),
    "timeout": _("超时秒数"),
    "name": _("打印机名称"),
    "paper_mm": _("纸宽"),
    "mode": _("打印模式"),
    "profile": _("打印机型号"),
    "native_qr": _("原生二维码"),
    "charset": _("字库字符集"),
    "rare_chars": _("生僻字处理"),
}
# The fields each connection type needs, beyond the common ones.
TYPE_FIELDS = {
    "preview": (),
    "usb": ("vendor_id", "product_id"),
    "serial": ("device", "baudrate"),
    "network": ("host", "port"),
    "file": ("device",),
    "cups": ("name",),
}
OPTIONAL_TYPE_FIELDS = {"network": ("timeout",)}
COMMON_FIELDS = ("type", "paper_mm", "mode", "profile", "native_qr", "charset", "rare_chars")
_HOST = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")
_CUPS_NAME = re.compile(r"^[^\s/#]{1,127}$")

_cache: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def settings_path() -> str:
    """Where this kiosk keeps its printer settings (``JIFEN_PRINTER_FILE`` overrides)."""
    return current_app.config.get("JIFEN_PRINTER_FILE") or os.path.join(
        current_app.instance_path, FILE_NAME
    )


def load() -> dict[str, Any]:
    """The printer settings: instance/printer.json if present, else ``JIFEN_PRINTER`` (a copy).

    The file is parsed again only when it changed (inode, mtime, size). A file that cannot be
    read is logged and the instance config applies, so a broken file never stops a redemption.
    """
    path = settings_path()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return dict(current_app.config["JIFEN_PRINTER"])
    key = (st.st_ino, st.st_mtime_ns, st.st_size)
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == key:
        return dict(cached[1])
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        logger.error("printer settings %s unreadable (%s); using JIFEN_PRINTER", path, exc)
        return dict(current_app.config["JIFEN_PRINTER"])
    with _cache_lock:
        _cache[path] = (key, data)
    return dict(data)


@functools.lru_cache(maxsize=1)
def profile_names() -> tuple[str, ...]:
    """The python-escpos capability profile names, sorted (loading them takes about 0.5 s)."""
    from escpos.capabilities import CAPABILITIES

    return tuple(sorted(CAPABILITIES["profiles"]))


def _invalid(field: str, problem: Message) -> ValidationFailed:
    label = FIELD_LABELS.get(field, field)
    return ValidationFailed(_("%(label)s%(problem)s", label=label, problem=problem), field=field)


def _one_of(choices: Iterable[str]) -> Message:
    return _("只能是 %(choices)s 之一", choices=Joined(choices, WORD_SEPARATOR))


def _int(value: Any, field: str, minimum: int, maximum: int) -> int:
    """A whole number in range, given as a number or as decimal digits."""
    if isinstance(value, bool):
        raise _invalid(field, _("必须是整数"))
    if isinstance(value, str):
        value = parsing.optional_int(value, signed=False)
    if not isinstance(value, int):
        raise _invalid(field, _("必须是整数"))
    if not minimum <= value <= maximum:
        raise _invalid(field, _("必须在%(low)s到%(high)s之间", low=minimum, high=maximum))
    return value


def _usb_id(value: Any, field: str) -> str:
    """A USB id (0–0xFFFF) given as an integer or hex text ("0x0416" or "0416"); kept as hex."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().lower()
        text = text[2:] if text.startswith("0x") else text
        if not re.fullmatch(r"[0-9a-f]{1,4}", text):
            raise _invalid(field, _("必须是十六进制数，例如 0x0416"))
        number = int(text, 16)
    else:
        raise _invalid(field, _("必须填写，例如 0x0416"))
    if not 0 <= number <= 0xFFFF:
        raise _invalid(field, _("必须在 0x0000 到 0xFFFF 之间"))
    return f"0x{number:04x}"


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, _("必须填写"))
    return value.strip()


def _device(value: Any, field: str, *, allow_com: bool = False) -> str:
    path = _text(value, field)
    if allow_com and re.fullmatch(r"COM\d{1,3}", path, re.IGNORECASE):
        return path
    if not path.startswith("/") or len(path) > 200 or any(ch in path for ch in "\0\n\r"):
        raise _invalid(field, _("必须是以 / 开头的设备路径，例如 /dev/usb/lp0"))
    return path


def validate(settings: Any) -> dict[str, Any]:
    """The settings checked and normalised; ValidationFailed naming the first bad field."""
    if not isinstance(settings, dict):
        raise ValidationFailed(_("打印机设置必须是JSON对象"))
    kind = settings.get("type")
    if kind not in printers.PRINTER_TYPES:
        raise _invalid("type", _one_of(printers.PRINTER_TYPES))
    allowed = set(COMMON_FIELDS) | set(TYPE_FIELDS[kind]) | set(OPTIONAL_TYPE_FIELDS.get(kind, ()))
    for field in settings:
        if field not in allowed:
            raise ValidationFailed(
                _("“%(field)s”不是%(kind)s打印机的设置项", field=field, kind=kind), field=field
            )
    out: dict[str, Any] = {"type": kind}
    for field in TYPE_FIELDS[kind]:
        if settings.get(field) in (None, ""):
            raise _invalid(field, _("必须填写"))
    if kind == "usb":
        out["vendor_id"] = _usb_id(settings["vendor_id"], "vendor_id")
        out["product_id"] = _usb_id(settings["product_id"], "product_id")
    elif kind == "serial":
        out["device"] = _device(settings["device"], "device", allow_com=True)
        baud = _int(settings["baudrate"], "baudrate", 1, 10_000_000)
        if baud not in BAUDRATES:
            raise _invalid("baudrate", _one_of(map(str, BAUDRATES)))
        out["baudrate"] = baud
    elif kind == "network":
        host = _text(settings["host"], "host")
        if not _HOST.fullmatch(host):
            raise _invalid("host", _("必须是IP地址或主机名，例如 192.168.1.100"))
        out["host"] = host
        out["port"] = _int(settings["port"], "port", 1, 65535)
        if settings.get("timeout") not in (None, ""):
            timeout = settings["timeout"]
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                raise _invalid("timeout", _("必须是数字"))
            if not 0.5 <= timeout <= 30:
                raise _invalid("timeout", _("必须在0.5到30秒之间"))
            out["timeout"] = timeout
    elif kind == "file":
        out["device"] = _device(settings["device"], "device")
    elif kind == "cups":
        name = _text(settings["name"], "name")
        if not _CUPS_NAME.fullmatch(name):
            raise _invalid("name", _("不能含空格、/ 或 #"))
        out["name"] = name

    paper = settings.get("paper_mm", 80)
    if isinstance(paper, str):
        paper = parsing.optional_int(paper, signed=False)
    if isinstance(paper, bool) or paper not in printers.PAPER_MM:
        raise _invalid("paper_mm", _("只能是58或80毫米"))
    out["paper_mm"] = paper
    mode = settings.get("mode", "text")
    if mode not in printers.PRINT_MODES:
        raise _invalid("mode", _("只能是 text（文字）或 raster（图像）"))
    out["mode"] = mode
    profile = settings.get("profile") or ""
    if not isinstance(profile, str) or (profile and profile not in profile_names()):
        raise _invalid("profile", _("不是 python-escpos 认识的型号：%(profile)s", profile=profile))
    out["profile"] = profile
    if "native_qr" in settings and settings["native_qr"] is not None:
        if not isinstance(settings["native_qr"], bool):
            raise _invalid("native_qr", _("必须是 true 或 false"))
        out["native_qr"] = settings["native_qr"]
    for field, choices in (("charset", CHARSETS), ("rare_chars", RARE_CHAR_MODES)):
        if settings.get(field) not in (None, ""):
            if settings[field] not in choices:
                raise _invalid(field, _one_of(choices))
            out[field] = settings[field]
    return out


def _write_atomically(path: str, data: dict[str, Any]) -> None:
    """Write the JSON next to ``path`` and move it into place: a reader sees old or new, whole."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".printer-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(settings: dict[str, Any], *, actor: User | None) -> dict[str, Any]:
    """Validate and save this kiosk's printer settings, audited; return what was saved.

    Invalid input raises ValidationFailed and writes nothing. The file is written last inside
    the audit's transaction, so a failed write leaves neither the file nor the audit row.
    """
    saved = validate(settings)
    path = settings_path()
    with write_transaction():
        supermarket = (
            db.session.get(Supermarket, actor.supermarket_id)
            if actor is not None and actor.supermarket_id is not None
            else None
        )
        audit.record(
            "printer.settings",
            supermarket,
            actor=actor,
            supermarket_id=supermarket.id if supermarket is not None else None,
            settings=saved,
            described=printers.describe(saved),
        )
        _write_atomically(path, saved)
    logger.info("printer settings saved: %s", printers.describe(saved))
    return dict(saved)
