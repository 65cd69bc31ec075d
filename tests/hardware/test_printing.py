"""Print jobs through the configured printer: preview, file, network (a local TCP listener
that records, refuses or drops), failures that leave the redemption committed, reprints."""

from __future__ import annotations

import socket
import struct
import threading

import pytest
import sqlalchemy as sa
from pyzbar.pyzbar import decode as zbar_decode

from hardware.receipt import text_width
from kiosk import printing
from kiosk.check import run_checks
from kiosk.extensions import db
from kiosk.formatting import local_time
from kiosk.models import AuditEvent, PointAccount, PrintJob, Redemption
from kiosk.redemption import CartLine, redeem, void_redemption
from tests import factories
from tests.escpos_decode import decode

TIMEOUT = 1.0


class FakeNetworkPrinter:
    """A raw port-9100 printer on 127.0.0.1: records each job's bytes, or drops connections.

    The socket is bound at once but only listens after ``start()``, so until then a
    connection is refused (nothing listening on a bound port) without racing for the port.
    """

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.mode = "record"  # "record", "drop" (read a little, then reset) or "reset"
        self.jobs: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def config(self, **extra) -> dict:
        return {
            "type": "network",
            "host": "127.0.0.1",
            "port": self.port,
            "timeout": TIMEOUT,
            "paper_mm": 58,
            **extra,
        }

    def start(self) -> None:
        self.server.listen(8)
        self.server.settimeout(0.05)
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
            self.connections += 1
            with conn:
                conn.settimeout(5)
                if self.mode == "record":
                    chunks = []
                    while chunk := conn.recv(65536):
                        chunks.append(chunk)
                    self.jobs.append(b"".join(chunks))
                    continue
                if self.mode == "drop":
                    conn.recv(16)  # take the first bytes, then die mid-job
                # SO_LINGER 0: close with a reset, as a printer that crashes or reboots does.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.server.close()


@pytest.fixture
def net_printer():
    fake = FakeNetworkPrinter()
    yield fake
    fake.stop()


@pytest.fixture
def shop(supermarket):
    hh = factories.household(supermarket, points=100, head_name="张三丰")
    _, payload = factories.card(hh)
    rice = factories.product(supermarket, name="金龙鱼大米5kg", cost_fen=2550, stock_qty=5)
    return hh, payload, rice


def _redeem(supermarket, keeper, shop, key="cart-0000001", qty=2):
    _, payload, rice = shop
    return redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, qty)],
        keeper=keeper,
        idempotency_key=key,
    )


def _jobs(redemption_id=None):
    db.session.expire_all()
    stmt = sa.select(PrintJob).order_by(PrintJob.id)
    if redemption_id is not None:
        stmt = stmt.where(PrintJob.redemption_id == redemption_id)
    return list(db.session.scalars(stmt))


def _balance(household_id):
    db.session.expire_all()
    return db.session.scalar(
        sa.select(PointAccount.balance).where(PointAccount.household_id == household_id)
    )


def _assert_committed(shop, redemption):
    hh, _, _ = shop
    assert _balance(hh.id) == 100 - 52
    assert db.session.get(Redemption, redemption.id).receipt_no == "DT01-00000001"
    assert run_checks() == []


def test_preview_printer_keeps_the_printed_job(app, supermarket, keeper, shop):
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert (job.status, job.printer, job.copy_no, job.attempts) == ("printed", "preview", 1, 1)
    assert job.redemption_id == r.id and job.requested_by_id == keeper.id
    assert job.printed_at is not None and job.last_error is None
    printout = decode(job.payload)
    assert printout.qr_codes == ["DT01-00000001"]
    # The readable text is what the printer prints.
    assert [ln.strip() for ln in job.text.splitlines() if ln.strip()] == [
        ln.strip() for ln in printout.lines if ln.strip()
    ]
    for expected in (
        "大同镇积分超市",
        "单号：DT01-00000001",
        "户主：张*丰",
        "经办人：王店长",
        "合计积分",
        "领取人签字：",
    ):
        assert expected in job.text
    assert printing.latest_receipt(r.id).id == job.id
    assert all(text_width(line) <= 48 for line in job.text.splitlines())


def test_receipt_shows_only_the_masked_name(app, supermarket, keeper, shop):
    _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert "张三丰".encode("gb18030") not in job.payload
    assert "张三丰" not in job.text and "三" not in job.text
    lines = decode(job.payload).lines
    assert "户主：张*丰" in lines and not any("三" in line for line in lines)


def test_local_time_and_household_number_on_the_receipt(app, supermarket, keeper, shop):
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    hh, _, _ = shop
    assert f"户号：{hh.number}" in job.text
    assert f"时间：{local_time(r.created_at, '%Y-%m-%d %H:%M:%S')}" in job.text


def test_file_printer_receives_the_bytes(app, supermarket, keeper, shop, tmp_path):
    device = tmp_path / "lp0"
    app.config["JIFEN_PRINTER"] = {"type": "file", "device": str(device), "paper_mm": 80}
    _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "printed" and job.printer == f"file {device}"[:50]
    assert device.read_bytes() == job.payload
    assert decode(device.read_bytes()).qr_codes == ["DT01-00000001"]


def test_file_printer_missing_device_fails_but_keeps_the_redemption(
    app, supermarket, keeper, shop, tmp_path
):
    app.config["JIFEN_PRINTER"] = {"type": "file", "device": str(tmp_path / "no" / "lp0")}
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "failed" and "lp0" in job.last_error
    _assert_committed(shop, r)


def test_network_printer_receives_exactly_the_job(app, supermarket, keeper, shop, net_printer):
    net_printer.start()
    app.config["JIFEN_PRINTER"] = net_printer.config()
    _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "printed" and job.attempts == 1
    assert net_printer.jobs == [job.payload]
    assert decode(net_printer.jobs[0]).lines[0] == "大同镇积分超市"


def test_network_printer_image_qr_reads_back(app, supermarket, keeper, shop, net_printer):
    net_printer.start()
    app.config["JIFEN_PRINTER"] = net_printer.config(native_qr=False)
    _redeem(supermarket, keeper, shop)
    (received,) = net_printer.jobs
    (image,) = decode(received).images
    assert [r.data.decode() for r in zbar_decode(image)] == ["DT01-00000001"]


def test_refused_connection_then_resend_when_the_printer_is_back(
    app, supermarket, keeper, shop, net_printer
):
    app.config["JIFEN_PRINTER"] = net_printer.config()  # bound, not listening: refused
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "failed" and job.attempts == 1
    assert "ConnectionRefusedError" in job.last_error or "refused" in job.last_error
    assert job.printed_at is None
    _assert_committed(shop, r)
    assert [j.id for j in printing.unprinted_jobs(supermarket.id)] == [job.id]

    net_printer.start()
    job = printing.send_job(job.id)
    assert (job.status, job.attempts, job.last_error) == ("printed", 2, None)
    assert net_printer.jobs == [job.payload]
    assert printing.unprinted_jobs(supermarket.id) == []
    # A printed job is not sent again; another copy is a reprint.
    printing.send_job(job.id)
    assert len(net_printer.jobs) == 1 and _jobs()[0].attempts == 2


@pytest.mark.parametrize("mode", ["drop", "reset"])
def test_dropped_connection_marks_the_job_failed(app, supermarket, keeper, shop, net_printer, mode):
    net_printer.mode = mode
    net_printer.start()
    app.config["JIFEN_PRINTER"] = net_printer.config()
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert net_printer.connections == 1
    assert job.status == "failed", "a reset connection must not pass for printed"
    assert job.last_error
    _assert_committed(shop, r)

    net_printer.mode = "record"
    copy = printing.reprint(r.id, actor=keeper)
    assert copy.status == "printed" and copy.copy_no == 2
    assert net_printer.jobs == [copy.payload]
    assert printing.send_job(job.id).status == "printed"
    assert net_printer.jobs == [copy.payload, job.payload]


def test_print_failure_never_repeats_the_redemption(app, supermarket, keeper, shop, net_printer):
    app.config["JIFEN_PRINTER"] = net_printer.config()  # refused
    first = _redeem(supermarket, keeper, shop)
    net_printer.start()
    again = _redeem(supermarket, keeper, shop)  # the counter retries with the same key
    assert again.id == first.id and again.receipt_no == first.receipt_no
    (job,) = _jobs()
    assert job.status == "failed" and job.attempts == 1  # not printed or queued again
    assert net_printer.connections == 0
    assert db.session.scalar(sa.select(sa.func.count(Redemption.id))) == 1
    _assert_committed(shop, first)


def test_reprint_is_marked_numbered_and_audited(app, supermarket, keeper, admin, shop):
    r = _redeem(supermarket, keeper, shop)
    second = printing.reprint(r.id, actor=keeper)
    third = printing.reprint(r.id, actor=admin)
    jobs = _jobs(r.id)
    assert [j.copy_no for j in jobs] == [1, 2, 3]
    assert [j.status for j in jobs] == ["printed"] * 3
    assert "补打" not in jobs[0].text
    assert "补打（第2份）" in second.text and "补打（第3份）" in third.text
    assert "补打时间：" in second.text
    assert "补打（第2份）" in decode(second.payload).lines
    assert decode(second.payload).qr_codes == ["DT01-00000001"]
    assert printing.latest_receipt(r.id).id == third.id
    events = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "receipt.reprint")
            .order_by(AuditEvent.id)
        )
    )
    assert [(e.actor_id, e.data["copy_no"], e.subject_id) for e in events] == [
        (keeper.id, 2, second.id),
        (admin.id, 3, third.id),
    ]
    assert events[0].data["receipt_no"] == "DT01-00000001" and events[0].created_at is not None
    assert jobs[1].requested_by_id == keeper.id and jobs[2].requested_by_id == admin.id
    _assert_committed(shop, r)


def test_reprint_of_a_voided_redemption_says_so(app, supermarket, keeper, shop):
    r = _redeem(supermarket, keeper, shop)
    void_redemption(r.id, actor=keeper, reason="顾客退回")
    job = printing.reprint(r.id, actor=keeper)
    assert "此单已作废：顾客退回" in job.text
    assert "此单已作废：顾客退回" in decode(job.payload).lines
    # 作废 in big type under the supermarket's name, on paper and on screen.
    printout = decode(job.payload)
    mark = printout.text_lines[1]
    assert (mark.text, mark.width, mark.height, mark.bold) == ("【作废】", 2, 2, True)
    assert job.text.splitlines()[1].strip() == "【作废】"
    # The original copy, printed before the void, is left as it was.
    assert "作废" not in _jobs(r.id)[0].text


def test_a_failed_receipt_retried_after_the_void_prints_the_void_mark(
    app, supermarket, keeper, shop, net_printer
):
    app.config["JIFEN_PRINTER"] = net_printer.config()  # refused
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "failed" and "作废" not in job.text
    void_redemption(r.id, actor=keeper, reason="顾客不要了")
    net_printer.start()
    (sent,) = printing.retry_failed(supermarket.id)
    assert (sent.id, sent.status) == (job.id, "printed")
    printout = decode(net_printer.jobs[0])
    assert printout.text_lines[1].text == "【作废】"
    assert "此单已作废：顾客不要了" in printout.lines
    assert "【作废】" in _jobs(r.id)[0].text


def test_reprint_of_unknown_redemption_is_refused(app, keeper):
    from kiosk.errors import NotFound

    with pytest.raises(NotFound):
        printing.reprint(9999, actor=keeper)
    with pytest.raises(NotFound):
        printing.send_job(9999)


def test_usb_printer_not_attached_fails_the_job_not_the_redemption(app, supermarket, keeper, shop):
    # pyusb is a dependency (USB is how most village printers connect); no such printer is
    # plugged into the test machine, so python-escpos's Usb finds no device.
    app.config["JIFEN_PRINTER"] = {"type": "usb", "vendor_id": "0x0416", "product_id": "0x5011"}
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "failed" and "usb 0x0416:0x5011" in job.last_error
    _assert_committed(shop, r)


def test_unusable_printer_settings_do_not_block_a_redemption(app, supermarket, keeper, shop):
    app.config["JIFEN_PRINTER"] = {"type": "preview", "paper_mm": 76, "profile": "No-Such"}
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "printed"
    assert all(text_width(line) <= 48 for line in job.text.splitlines())
    assert decode(job.payload).qr_codes == ["DT01-00000001"]
    _assert_committed(shop, r)


def test_58mm_receipt_fits_the_paper(app, supermarket, keeper, shop):
    app.config["JIFEN_PRINTER"] = {"type": "preview", "paper_mm": 58}
    _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    printout = decode(job.payload)
    assert all(line.columns <= 32 for line in printout.text_lines)
    assert "领取人签字：" + "_" * 20 in printout.lines


def test_retry_failed_sends_the_job_once_the_printer_is_back(
    app, supermarket, keeper, shop, net_printer
):
    app.config["JIFEN_PRINTER"] = net_printer.config()  # refused
    r = _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "failed"
    # Still down: tried once more, still failed, and the redemption untouched.
    (again,) = printing.retry_failed(supermarket.id)
    assert (again.status, again.attempts) == ("failed", 2)
    net_printer.start()
    (sent,) = printing.retry_failed(supermarket.id)
    assert (sent.id, sent.status, sent.attempts) == (job.id, "printed", 3)
    assert net_printer.jobs == [job.payload]
    assert printing.retry_failed(supermarket.id) == []  # a printed job is never resent
    assert printing.unprinted_jobs(supermarket.id) == []
    assert len(net_printer.jobs) == 1
    _assert_committed(shop, r)


def test_retry_failed_gives_up_after_max_attempts(app, supermarket, keeper, shop, net_printer):
    app.config["JIFEN_PRINTER"] = net_printer.config()
    _redeem(supermarket, keeper, shop)
    net_printer.start()
    assert printing.retry_failed(supermarket.id, max_attempts=1) == []
    assert net_printer.jobs == []
    (job,) = printing.unprinted_jobs(supermarket.id)
    assert job.status == "failed"  # still on the keeper's list for a one-tap resend


def test_two_kiosks_retrying_at_once_print_the_job_once(
    app, supermarket, keeper, shop, net_printer
):
    app.config["JIFEN_PRINTER"] = net_printer.config()
    _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "failed"
    net_printer.start()
    supermarket_id, job_id = supermarket.id, job.id
    db.session.rollback()  # end the test's read snapshot before the threads write
    barrier = threading.Barrier(4, timeout=30)
    results: list[object] = [None] * 4

    def kiosk(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[i] = [j.id for j in printing.retry_failed(supermarket_id)]
            except Exception as exc:  # asserted on below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results, key=len) == [[], [], [], [job_id]]
    assert len(net_printer.jobs) == 1
    db.session.rollback()
    (job,) = _jobs()
    assert (job.status, job.attempts) == ("printed", 2)


def test_a_job_being_sent_is_not_sent_again(app, supermarket, keeper, shop, net_printer):
    app.config["JIFEN_PRINTER"] = net_printer.config()
    _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    net_printer.start()
    with printing.write_transaction():
        db.session.get(PrintJob, job.id).status = printing.PRINT_SENDING  # another kiosk has it
    assert printing.send_job(job.id).status == "sending"
    assert printing.retry_failed(supermarket.id) == []
    assert net_printer.jobs == []
    assert [j.id for j in printing.unprinted_jobs(supermarket.id)] == [job.id]


def test_raster_mode_receipt_over_the_network(app, supermarket, keeper, shop, net_printer):
    net_printer.start()
    app.config["JIFEN_PRINTER"] = net_printer.config(mode="raster")
    _redeem(supermarket, keeper, shop)
    (job,) = _jobs()
    assert job.status == "printed"
    page = decode(net_printer.jobs[0]).page()
    assert page.width == 384
    assert [r.data.decode() for r in zbar_decode(page)] == ["DT01-00000001"]
    assert "户主：张*丰" in job.text


# --- claiming: one transaction for the preview printer, stale "sending" jobs reclaimed --------


def _count_commits(monkeypatch):
    from kiosk import database

    calls = []
    real = database.write_transaction

    def counting(**options):
        calls.append(1)
        return real(**options)

    for module in (database, printing, __import__("kiosk.redemption", fromlist=["x"])):
        monkeypatch.setattr(module, "write_transaction", counting, raising=False)
    return calls


def test_a_redemption_with_the_preview_printer_commits_once(
    app, supermarket, keeper, shop, monkeypatch
):
    calls = _count_commits(monkeypatch)
    _redeem(supermarket, keeper, shop)
    assert len(calls) == 1
    (job,) = _jobs()
    assert (job.status, job.attempts) == ("printed", 1)


def test_a_real_printer_is_claimed_in_the_redemption_and_sent_after_it(
    app, supermarket, keeper, shop, tmp_path, monkeypatch
):
    device = tmp_path / "lp0"
    app.config["JIFEN_PRINTER"] = {"type": "file", "device": str(device), "paper_mm": 80}
    calls = _count_commits(monkeypatch)
    _redeem(supermarket, keeper, shop)
    # The redemption (with its job already claimed), then the outcome: no separate claim.
    assert len(calls) == 2
    (job,) = _jobs()
    assert job.status == "printed" and job.claimed_at is not None
    assert device.read_bytes() == job.payload


def test_a_job_left_sending_by_a_stopped_kiosk_is_sent_again_once_stale(
    app, supermarket, keeper, shop, tmp_path
):
    from datetime import timedelta

    from kiosk.database import write_transaction
    from kiosk.timeutil import utcnow

    device = tmp_path / "lp0"
    app.config["JIFEN_PRINTER"] = {"type": "file", "device": str(device), "paper_mm": 80}
    r = redeem(
        supermarket.id,
        card_payload=shop[1],
        lines=[CartLine(shop[2].id, 1)],
        keeper=keeper,
        idempotency_key="cart-stale-01",
        print_receipt=False,
    )
    (job,) = _jobs(r.id)
    # A kiosk claimed it and lost power before the printer answered.
    with write_transaction():
        row = db.session.get(PrintJob, job.id)
        row.status, row.claimed_at = "sending", utcnow()
    assert printing.retry_failed(supermarket.id) == []  # still fresh: another kiosk's job
    assert printing.send_job(job.id).status == "sending"
    assert not device.exists()
    with write_transaction():
        db.session.get(PrintJob, job.id).claimed_at = utcnow() - timedelta(minutes=3)
    (sent,) = printing.retry_failed(supermarket.id)
    assert sent.id == job.id and sent.status == "printed"
    assert device.read_bytes() == sent.payload
    assert printing.send_job(job.id).status == "printed"  # never twice
    assert device.read_bytes() == sent.payload
