"""Printer status by DLE EOT against a local TCP listener that answers like a printer,
answers paper out, stays silent, or is not there at all."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from hardware import printers
from kiosk import printing

TIMEOUT = 0.5
ONLINE = {1: 0x12, 4: 0x12}
PAPER_OUT = {1: 0x1A, 4: 0x72}  # offline bit, and paper end bits 5 and 6
COVER_OPEN = {1: 0x1A, 4: 0x12}
NEAR_END = {1: 0x12, 4: 0x1E}  # near end only: still printing


class StatusPrinter:
    """Answers DLE EOT n with the configured byte; ``answers=None`` reads and says nothing."""

    def __init__(self, answers: dict[int, int] | None) -> None:
        self.answers = answers
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.server.settimeout(0.05)
        self.port = self.server.getsockname()[1]
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    while request := conn.recv(3):
                        self.requests.append(request)
                        if self.answers is not None:
                            conn.sendall(bytes([self.answers[request[2]]]))
                except OSError:
                    pass

    def config(self) -> dict:
        return {"type": "network", "host": "127.0.0.1", "port": self.port}

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


@pytest.fixture
def status_printer(request):
    fake = StatusPrinter(request.param)
    yield fake
    fake.stop()


@pytest.mark.parametrize(
    "status_printer,expected",
    [
        (ONLINE, "online"),
        (NEAR_END, "online"),
        (PAPER_OUT, "paper_out"),
        (COVER_OPEN, "offline"),
    ],
    indirect=["status_printer"],
)
def test_status_from_the_printers_own_bytes(status_printer, expected):
    assert printers.status(status_printer.config(), timeout=TIMEOUT) == expected
    assert status_printer.requests[:2] == [b"\x10\x04\x01", b"\x10\x04\x04"]


@pytest.mark.parametrize("status_printer", [None], indirect=True)
def test_a_silent_printer_is_unknown_not_adequate(status_printer):
    started = time.monotonic()
    assert printers.status(status_printer.config(), timeout=TIMEOUT) == "unknown"
    assert time.monotonic() - started < 4 * TIMEOUT
    assert status_printer.requests == [b"\x10\x04\x01"]


@pytest.mark.parametrize("status_printer", [{1: 0x41, 4: 0x12}], indirect=True)
def test_a_malformed_answer_is_unknown(status_printer):
    assert printers.status(status_printer.config(), timeout=TIMEOUT) == "unknown"


def test_refused_connection_is_offline():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    try:
        config = {"type": "network", "host": "127.0.0.1", "port": sock.getsockname()[1]}
        assert printers.status(config, timeout=TIMEOUT) == "offline"
    finally:
        sock.close()


def test_other_printer_types(tmp_path):
    assert printers.status({"type": "preview"}) == "online"
    device = tmp_path / "lp0"
    assert printers.status({"type": "file", "device": str(device)}) == "offline"
    assert not device.exists(), "a status check must not create the device"
    device.write_bytes(b"")
    assert printers.status({"type": "file", "device": str(device)}) == "online"
    assert printers.status({"type": "usb", "vendor_id": "0x0416", "product_id": "0x5011"}) == (
        "unknown"
    )


@pytest.mark.parametrize("status_printer", [PAPER_OUT], indirect=True)
def test_printing_reports_the_configured_printers_status(app, status_printer):
    app.config["JIFEN_PRINTER"] = status_printer.config()
    assert printing.printer_status(timeout=TIMEOUT) == "paper_out"


# --- serial printers: DLE EOT over a real pseudo-terminal through pyserial --------------------


class SerialStatusPrinter:
    """The far end of a pty pair: answers DLE EOT n like a serial printer (or stays silent)."""

    def __init__(self, answers: dict[int, int] | None) -> None:
        import os
        import tty

        self.answers = answers
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.device = os.ttyname(self.slave)
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import os
        import select

        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer += os.read(self.master, 64)
            except OSError:
                return
            while len(buffer) >= 3 and buffer[:2] == b"\x10\x04":
                n, buffer = buffer[2], buffer[3:]
                self.requests.append(bytes([0x10, 0x04, n]))
                if self.answers is not None and n in self.answers:
                    os.write(self.master, bytes([self.answers[n]]))

    def close(self) -> None:
        import os

        self._stop.set()
        self._thread.join(timeout=1)
        os.close(self.master)
        os.close(self.slave)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (ONLINE, "online"),
        (PAPER_OUT, "paper_out"),
        (COVER_OPEN, "offline"),
        (NEAR_END, "online"),
        (None, "unknown"),  # silent: never "adequate"
    ],
)
def test_serial_printer_status_by_dle_eot(answers, expected):
    fake = SerialStatusPrinter(answers)
    try:
        config = {"type": "serial", "device": fake.device, "baudrate": 19200}
        assert printers.status(config, timeout=TIMEOUT) == expected
        assert fake.requests[0] == b"\x10\x04\x01"
        if answers is not None:
            assert fake.requests[1] == b"\x10\x04\x04"
    finally:
        fake.close()


def test_serial_printer_not_plugged_in_is_offline(tmp_path):
    config = {"type": "serial", "device": str(tmp_path / "ttyUSB9")}
    assert printers.status(config, timeout=TIMEOUT) == "offline"
    assert printers.status({"type": "serial"}, timeout=TIMEOUT) == "offline"
