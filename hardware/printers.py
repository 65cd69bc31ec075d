"""Printer connections through python-escpos's own classes, chosen by configuration.

``{"type": "preview"}`` is the printer of a kiosk with no printer attached: it keeps every job
in the database (bytes and a readable rendering) and the counter shows it on screen.
Other types map to python-escpos: usb, serial, network, file, cups.
"""

from __future__ import annotations

from typing import Any


class DeviceNotFound(Exception):
    """The configured printer cannot be reached."""


PRINTER_TYPES = ("preview", "usb", "serial", "network", "file", "cups")


def open_printer(config: dict[str, Any]):
    """A python-escpos printer for ``config``, or None for the preview printer."""
    kind = config.get("type", "preview")
    if kind == "preview":
        return None
    try:
        if kind == "usb":
            from escpos.printer import Usb

            return Usb(
                int(str(config["vendor_id"]), 0),
                int(str(config["product_id"]), 0),
                timeout=int(config.get("timeout", 0)),
                profile=config.get("profile"),
            )
        if kind == "serial":
            from escpos.printer import Serial

            return Serial(
                devfile=config["device"],
                baudrate=int(config.get("baudrate", 9600)),
                profile=config.get("profile"),
            )
        if kind == "network":
            from escpos.printer import Network

            return Network(
                config["host"],
                port=int(config.get("port", 9100)),
                timeout=float(config.get("timeout", 5)),
                profile=config.get("profile"),
            )
        if kind == "file":
            from escpos.printer import File

            return File(config["device"], profile=config.get("profile"))
        if kind == "cups":
            from escpos.printer import CupsPrinter

            return CupsPrinter(config["name"], profile=config.get("profile"))
    except KeyError as exc:
        raise DeviceNotFound(f"printer setting missing: {exc}") from exc
    raise DeviceNotFound(f"unknown printer type {kind!r}")


def send(config: dict[str, Any], payload: bytes) -> None:
    """Send raw ESC/POS bytes to the configured printer; raise DeviceNotFound on any failure."""
    printer = open_printer(config)
    if printer is None:
        return
    try:
        printer.open()
        printer._raw(payload)
    except DeviceNotFound:
        raise
    except Exception as exc:  # the escpos transports raise many kinds; all mean "not printed"
        raise DeviceNotFound(f"{type(exc).__name__}: {exc}") from exc
    finally:
        try:
            printer.close()
        except Exception:  # noqa: BLE001 - closing a dead connection must not hide the cause
            pass
