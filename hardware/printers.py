"""Printer connections through python-escpos's own classes, chosen by configuration.

``{"type": "preview"}`` is the printer of a kiosk with no printer attached: it keeps every job
in the database (bytes and a readable rendering) and the counter shows it on screen.
Other types map to python-escpos: usb, serial, network, file, cups.

Configuration keys (``JIFEN_PRINTER``)::

    type        preview | usb | serial | network | file | cups
    paper_mm    58 or 80
    profile     a python-escpos capability profile name (e.g. "POS-5890", "TM-T20II");
                unset means a generic ESC/POS printer of the paper's width
    columns     characters per line in font A (default: the profile's, else 32 / 48)
    native_qr   print the QR with GS ( k (True) or as a raster image (False);
                default: what the profile says it supports
    timeout     seconds for network connections (default 3)
    mode        text (Chinese font, GB18030) or raster (drawn with Pillow; default text)
    charset     the printer font's character set for text mode (default gb2312)
    rare_chars  text mode, characters outside that set: image (the line as a raster image,
                default) or placeholder (□ for each such character)
    usb: vendor_id, product_id   serial: device, baudrate   network: host, port
    file: device   cups: name (host, port optional)
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import socket
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escpos.capabilities import Profile


PRINTER_TYPES = ("preview", "usb", "serial", "network", "file", "cups")
PAPER_MM = (58, 80)
# Font A (12×24 dots) columns and printable dots of the common 203 dpi Chinese thermal
# printers (Xprinter, Gprinter, Rongta): 48 mm of 58 mm paper, 72 mm of 80 mm paper.
COLUMNS = {58: 32, 80: 48}
DOTS = {58: 384, 80: 576}
DEFAULT_NETWORK_TIMEOUT = 3.0
PRINT_MODES = ("text", "raster")

# Real-time status (DLE EOT n), answered by the printer even while it is busy or offline.
DLE_EOT_PRINTER = b"\x10\x04\x01"
DLE_EOT_PAPER = b"\x10\x04\x04"
STATUS_ONLINE, STATUS_OFFLINE = "online", "offline"
STATUS_PAPER_OUT, STATUS_UNKNOWN = "paper_out", "unknown"

# What each python-escpos class needs beyond python-escpos itself.
_EXTRA_PACKAGE = {"usb": "pyusb", "serial": "pyserial", "cups": "pycups"}


class DeviceNotFound(Exception):
    """The configured printer cannot be reached or did not take the job."""


@functools.lru_cache(maxsize=32)
def printer_profile(paper_mm: int = 80, name: str | None = None) -> Profile:
    """The python-escpos capability profile for the printer, with the paper's width filled in.

    Cached: building one deep-copies python-escpos's capability data, about 2 ms, and every
    receipt asks for it. Callers must not change the profile they get.

    Without a name this is python-escpos's generic "default" profile (QR codes, raster
    images and cutting supported) narrowed to the paper: 384 or 576 dots and 32 or 48
    columns. A named profile keeps its own data; only an unknown media width is filled in
    from the paper, so that images can be checked and centred (python-escpos prints a
    notice on stdout for every image when the width is unknown).
    """
    if paper_mm not in PAPER_MM:
        raise ValueError(f"纸宽只能是58或80毫米，不是{paper_mm!r}")
    name = name or None  # an empty setting means no particular model
    # Imported here: loading python-escpos's capability database takes about half a second,
    # which every `jifen` command and server start would otherwise pay before its first print.
    from escpos.capabilities import CAPABILITIES, Profile

    profiles = CAPABILITIES["profiles"]
    if name is not None and name not in profiles:
        raise ValueError(f"python-escpos 没有名为 {name!r} 的打印机型号配置")
    data = copy.deepcopy(profiles[name or "default"])
    media = data.setdefault("media", {})
    width = media.setdefault("width", {})
    if not str(width.get("pixels", "")).isdigit():
        width["pixels"] = DOTS[paper_mm]
        width["mm"] = DOTS[paper_mm] // 8
    if not str(media.get("dpi", "")).isdigit():
        media["dpi"] = 203
    if name is None:
        data["name"] = f"Generic {paper_mm} mm"
        data["fonts"]["0"]["columns"] = COLUMNS[paper_mm]
    # python-escpos takes a profile object only if it is a ``Profile`` (its user class).
    cls = type(f"Jifen{paper_mm}Profile", (Profile,), {"profile_data": data})
    return cls(features=data["features"])


def printer_columns(
    paper_mm: int = 80, profile: str | None = None, columns: int | None = None
) -> int:
    """Characters per line in font A: the configured count, else the profile's, else the paper's."""
    if columns not in (None, ""):
        columns = int(columns)
        if not 16 <= columns <= 64:
            raise ValueError(f"每行字数应在16到64之间，不是{columns}")
        return columns
    return int(printer_profile(paper_mm, profile).get_columns(0))


def describe(config: dict[str, Any]) -> str:
    """A short human description of the configured printer (kept on each print job)."""
    kind = config.get("type", "preview")
    where = {
        "usb": f"{config.get('vendor_id')}:{config.get('product_id')}",
        "serial": str(config.get("device", "")),
        "network": f"{config.get('host')}:{config.get('port', 9100)}",
        "file": str(config.get("device", "")),
        "cups": str(config.get("name", "")),
    }.get(kind, "")
    return f"{kind} {where}".strip()[:50]


def open_printer(config: dict[str, Any]):
    """A python-escpos printer for ``config`` (not yet opened), or None for the preview printer."""
    kind = config.get("type", "preview")
    if kind == "preview":
        return None
    if kind not in PRINTER_TYPES:
        raise DeviceNotFound(f"未知的打印机类型 {kind!r}")
    from escpos import printer as escpos_printer

    cls = {
        "usb": escpos_printer.Usb,
        "serial": escpos_printer.Serial,
        "network": escpos_printer.Network,
        "file": escpos_printer.File,
        "cups": escpos_printer.CupsPrinter,
    }[kind]
    if not cls.is_usable():
        raise DeviceNotFound(f"{kind} 打印机需要安装 {_EXTRA_PACKAGE.get(kind, '依赖包')}")
    try:
        profile = printer_profile(int(config.get("paper_mm", 80)), config.get("profile"))
        if kind == "usb":
            return cls(
                int(str(config["vendor_id"]), 0),
                int(str(config["product_id"]), 0),
                timeout=int(float(config.get("timeout", 0)) * 1000),  # pyusb counts milliseconds
                profile=profile,
            )
        if kind == "serial":
            return cls(
                devfile=config["device"],
                baudrate=int(config.get("baudrate", 9600)),
                profile=profile,
            )
        if kind == "network":
            return cls(
                config["host"],
                port=int(config.get("port", 9100)),
                timeout=float(config.get("timeout", DEFAULT_NETWORK_TIMEOUT)),
                profile=profile,
            )
        if kind == "file":
            return cls(config["device"], profile=profile)
        return cls(
            config["name"],
            host=config.get("host", "localhost"),
            port=int(config.get("port", 631)),
            profile=profile,
        )
    except KeyError as exc:
        raise DeviceNotFound(f"打印机设置缺少 {exc.args[0]}") from exc
    except ValueError as exc:
        raise DeviceNotFound(f"打印机设置不正确：{exc}") from exc


def send(config: dict[str, Any], payload: bytes) -> None:
    """Send raw ESC/POS bytes to the configured printer; raise DeviceNotFound on any failure."""
    printer = open_printer(config)
    if printer is None:
        return
    try:
        printer.open()
        printer._raw(payload)
        if config.get("type") == "network":
            _await_network_close(
                printer.device, float(config.get("timeout", DEFAULT_NETWORK_TIMEOUT))
            )
    except DeviceNotFound:
        raise
    except Exception as exc:  # the escpos transports raise many kinds; all mean "not printed"
        raise DeviceNotFound(
            f"打印失败（{describe(config)}）：{type(exc).__name__}: {exc}"
        ) from exc
    finally:
        # Closing a dead connection must not hide the cause.
        with contextlib.suppress(Exception):
            printer.close()


def _await_network_close(sock: socket.socket, wait: float) -> None:
    """End the job on a raw (port 9100) connection and wait for the printer to close it.

    ``sendall`` returns once the bytes are in the local socket buffer, so a printer that
    resets the connection (crash, paper jam reboot) would otherwise pass for printed. As
    CUPS's socket backend does, we half-close and read until the printer closes its side:
    a reset raises here; a printer that keeps the connection open past ``wait`` has
    accepted the bytes.
    """
    sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(256):  # status bytes are discarded; b"" is the printer's close
                return
        except TimeoutError:
            return


def _valid_status_byte(b: int) -> bool:
    """DLE EOT answers have bits 1 and 4 set and bits 0 and 7 clear."""
    return b & 0x93 == 0x12


def _ask(sock: socket.socket, command: bytes) -> int | None:
    """Send one DLE EOT request and return the status byte, or None if the printer is mute."""
    sock.sendall(command)
    try:
        data = sock.recv(1)
    except (TimeoutError, OSError):
        return None
    if not data or not _valid_status_byte(data[0]):
        return None
    return data[0]


def network_status(host: str, port: int = 9100, timeout: float = 1.0) -> str:
    """A network printer's real state from DLE EOT 1 (printer) and DLE EOT 4 (paper sensor).

    No connection: offline. Connected but no (valid) answer: unknown — python-escpos's
    ``paper_status`` would call that "adequate", which is how a keeper ends up with a blank slip.
    """
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return STATUS_OFFLINE
    with sock:
        sock.settimeout(timeout)
        try:
            printer = _ask(sock, DLE_EOT_PRINTER)
            if printer is None:
                return STATUS_UNKNOWN
            paper = _ask(sock, DLE_EOT_PAPER)
        except OSError:
            return STATUS_OFFLINE  # the printer dropped the connection mid-question
    return _interpret(printer, paper)


def _interpret(printer: int, paper: int | None) -> str:
    """The state from the DLE EOT 1 (printer) and DLE EOT 4 (paper sensor) answers."""
    if paper is not None and paper & 0x60:  # bits 5 and 6: roll paper end
        return STATUS_PAPER_OUT
    if printer & 0x08:  # bit 3: offline (cover open, error, paper out on some models)
        return STATUS_OFFLINE
    return STATUS_ONLINE if paper is not None else STATUS_UNKNOWN


def serial_status(device: str, baudrate: int = 9600, timeout: float = 1.0) -> str:
    """A serial printer's state by DLE EOT over its port (pyserial, as python-escpos uses).

    The port cannot be opened: offline. Opened but no valid answer: unknown, never "adequate".
    """
    try:
        import serial
    except ImportError:
        return STATUS_UNKNOWN
    try:
        port = serial.Serial(device, baudrate=baudrate, timeout=timeout, write_timeout=timeout)
    except (serial.SerialException, OSError, ValueError):
        return STATUS_OFFLINE
    with port:
        try:
            port.reset_input_buffer()
            printer = _ask_port(port, DLE_EOT_PRINTER)
            if printer is None:
                return STATUS_UNKNOWN
            paper = _ask_port(port, DLE_EOT_PAPER)
        except (serial.SerialException, OSError):
            return STATUS_OFFLINE  # unplugged mid-question
    return _interpret(printer, paper)


def _ask_port(port: Any, command: bytes) -> int | None:
    port.write(command)
    port.flush()
    data = port.read(1)
    if not data or not _valid_status_byte(data[0]):
        return None
    return data[0]


def status(config: dict[str, Any], timeout: float = 1.0) -> str:
    """online / offline / paper_out / unknown for the configured printer, within ``timeout``.

    Network and serial printers are asked with DLE EOT; the preview printer is always online;
    a file device is online when it exists and is writable; USB and CUPS printers cannot be
    asked without taking the device from the print path and answer unknown.
    """
    kind = config.get("type", "preview")
    if kind == "preview":
        return STATUS_ONLINE
    if kind == "network":
        if not config.get("host"):
            return STATUS_OFFLINE
        return network_status(str(config["host"]), int(config.get("port", 9100)), timeout)
    if kind == "file":
        device = str(config.get("device") or "")
        # Only asked, never created: a status check must not leave a file behind.
        ok = bool(device) and os.path.exists(device) and os.access(device, os.W_OK)
        return STATUS_ONLINE if ok else STATUS_OFFLINE
    if kind == "serial":
        device = str(config.get("device") or "")
        if not device:
            return STATUS_OFFLINE
        return serial_status(device, int(config.get("baudrate", 9600)), timeout)
    return STATUS_UNKNOWN
