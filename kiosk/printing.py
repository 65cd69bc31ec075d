"""Print jobs: a receipt is saved with its redemption, then sent after the commit.

A failed send leaves the job saved as failed with its error, to be sent again or reprinted;
the redemption is never undone or repeated by a print failure. Reprints are new jobs marked
补打 with a copy number, audited with who asked for them.

A job is claimed before it is sent (a conditional UPDATE from queued/failed to ``sending``),
so two kiosks retrying the queue at once cannot print it twice. Every slip (receipt, test
page, household card) goes through one pipeline: text mode (the printer's Chinese font) or
raster mode (drawn with Pillow), as ``JIFEN_PRINTER["mode"]`` says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from hardware import printers, slips
from hardware.cards import CardFace, FontNotFound
from hardware.receipt import (
    Receipt,
    ReceiptItem,
    Slip,
    receipt_slip,
    render_slip_escpos,
    slip_text,
)
from kiosk import audit, printer_settings
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.formatting import local_time, mask_name, yuan
from kiosk.models import (
    PRINT_FAILED,
    PRINT_PRINTED,
    PRINT_QUEUED,
    REDEMPTION_VOIDED,
    Household,
    PrintJob,
    Redemption,
    Supermarket,
    User,
)
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PRINT_SENDING = "sending"  # claimed by one kiosk, on its way to the printer
DEFAULT_MAX_ATTEMPTS = 5


def printer_config() -> dict[str, Any]:
    """This kiosk's printer (instance/printer.json, else ``JIFEN_PRINTER``), a copy safe to change."""
    return printer_settings.load()


def receipt_for(
    redemption: Redemption, copy_no: int = 1, *, reprinted_at: str | None = None
) -> Receipt:
    """The plain receipt for a redemption, as printed and as shown on screen."""
    notes = []
    if redemption.status == REDEMPTION_VOIDED:
        notes.append(f"此单已作废：{redemption.void_reason or ''}")
    if redemption.quota_left is not None:
        notes.append(f"{_period_word(redemption)}剩余额度{redemption.quota_left}元")
    if copy_no > 1 and reprinted_at:
        notes.append(f"补打时间：{reprinted_at}")
    return Receipt(
        supermarket_name=redemption.supermarket.name,
        receipt_no=redemption.receipt_no,
        when=local_time(redemption.created_at, TIME_FORMAT),
        household_no=redemption.household.number,
        masked_name=mask_name(redemption.household.head_name),
        items=[
            ReceiptItem(ln.product_name, ln.quantity, ln.unit, ln.unit_points, ln.line_points)
            for ln in redemption.lines
        ],
        total_points=redemption.total_points,
        balance_before=redemption.balance_before,
        balance_after=redemption.balance_after,
        keeper=redemption.keeper.display_name,
        copy_label=f"补打（第{copy_no}份）" if copy_no > 1 else "",
        notes=notes,
    )


def _period_word(redemption: Redemption) -> str:
    """ "本季度" or "本月": the quota period of the supermarket's policy."""
    from kiosk.policies import policy_for
    from kiosk.rules import PERIOD_MONTH

    return "本月" if policy_for(redemption.supermarket).period == PERIOD_MONTH else "本季度"


def render(receipt: Receipt, config: dict[str, Any]) -> tuple[bytes, str]:
    """The receipt's ESC/POS bytes and readable text for the configured printer."""
    return render_slip(lambda columns: receipt_slip(receipt, columns), config)


def render_slip(make_slip: Callable[[int], Slip], config: dict[str, Any]) -> tuple[bytes, str]:
    """A slip's ESC/POS bytes (text or raster mode) and readable text for the printer.

    ``make_slip`` lays the slip out for a number of columns. A printer setting that cannot
    be used (unknown profile, paper width, mode, charset; no CJK font for raster mode) must
    not stop a redemption: it is logged and the slip goes out in text mode for a generic
    80 mm printer.
    """
    native_qr = config.get("native_qr")
    try:
        paper_mm = int(config.get("paper_mm", 80))
        profile = config.get("profile") or None
        columns = printers.printer_columns(paper_mm, profile, config.get("columns"))
        mode = config.get("mode") or "text"
        if mode not in printers.PRINT_MODES:
            raise ValueError(f"打印模式只能是 text 或 raster，不是{mode!r}")
        slip = make_slip(columns)
        if mode == "raster":
            from hardware.raster import render_slip_raster

            payload = render_slip_raster(slip, paper_mm, profile=profile)
        else:
            payload = render_slip_escpos(
                slip,
                paper_mm,
                native_qr=native_qr,
                profile=profile,
                charset=config.get("charset") or "gb2312",
                rare_chars=config.get("rare_chars") or "image",
            )
    except (ValueError, TypeError, KeyError, LookupError, FontNotFound) as exc:
        logger.error("printer settings unusable (%s); using a generic 80 mm text layout", exc)
        slip = make_slip(printers.COLUMNS[80])
        payload = render_slip_escpos(slip, native_qr=native_qr, rare_chars="placeholder")
    return payload, slip_text(slip)


def queue_receipt(
    redemption: Redemption,
    *,
    requested_by: User | None,
    copy_no: int = 1,
    reprinted_at: str | None = None,
) -> PrintJob:
    """Save the receipt's print job in the caller's transaction."""
    config = printer_config()
    payload, text = render(receipt_for(redemption, copy_no, reprinted_at=reprinted_at), config)
    job = PrintJob(
        supermarket_id=redemption.supermarket_id,
        kind="receipt",
        redemption_id=redemption.id,
        printer=printers.describe(config),
        copy_no=copy_no,
        payload=payload,
        text=text,
        requested_by_id=requested_by.id if requested_by is not None else None,
    )
    db.session.add(job)
    db.session.flush()
    return job


def send_job(job_id: int) -> PrintJob:
    """Send a saved job to the printer and record the outcome; never raises for a device fault.

    A job already printed, or being sent by another kiosk, is not sent again (a second copy
    is a reprint, 补打).
    """
    return _send(job_id, (PRINT_QUEUED, PRINT_FAILED))


def _claim(job_id: int, from_statuses: tuple[str, ...]) -> tuple[PrintJob, bool]:
    """Move the job to ``sending`` if it is in one of ``from_statuses``; True if we got it.

    A conditional UPDATE: under two kiosks at once exactly one sees its row change
    (SQLite serialises the writers; PostgreSQL re-checks the condition after the first commits).
    """
    with write_transaction():
        job = db.session.get(PrintJob, job_id)
        if job is None:
            raise NotFound("没有找到打印任务")
        result = db.session.execute(
            sa.update(PrintJob)
            .where(PrintJob.id == job_id, PrintJob.status.in_(from_statuses))
            .values(status=PRINT_SENDING)
            .execution_options(synchronize_session=False)
        )
        claimed = result.rowcount == 1
    db.session.expire_all()
    return db.session.get(PrintJob, job_id), claimed


def _send(job_id: int, from_statuses: tuple[str, ...]) -> PrintJob:
    job, claimed = _claim(job_id, from_statuses)
    return _deliver(job) if claimed else job


def _deliver(job: PrintJob) -> PrintJob:
    """Send a job this kiosk has claimed and record printed or failed."""
    job_id, payload = job.id, job.payload
    config = printer_config()
    error = None
    try:
        printers.send(config, payload)
    except Exception as exc:  # noqa: BLE001 - any failure to print is recorded, never raised
        error = (
            str(exc) if isinstance(exc, printers.DeviceNotFound) else f"{type(exc).__name__}: {exc}"
        )
        error = error[:500]
        logger.warning("print job %s failed: %s", job_id, error)
    with write_transaction():
        job = db.session.get(PrintJob, job_id)
        job.attempts += 1
        job.printer = printers.describe(config)
        if error is None:
            job.status = PRINT_PRINTED
            job.printed_at = utcnow()
            job.last_error = None
        else:
            job.status = PRINT_FAILED
            job.last_error = error
    if error is None:
        logger.info("printed job %s (copy %s)", job_id, job.copy_no)
    return job


def retry_failed(
    supermarket_id: int, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> list[PrintJob]:
    """Send the supermarket's failed jobs again, oldest first; return the jobs this call sent.

    Never a printed job, never one another kiosk is sending (each is claimed first), never
    one that has failed ``max_attempts`` times (the keeper reprints those by hand). Stops at
    the first failure: the printer is still down, and each try costs a network timeout.
    """
    ids = list(
        db.session.scalars(
            sa.select(PrintJob.id)
            .where(
                PrintJob.supermarket_id == supermarket_id,
                PrintJob.status == PRINT_FAILED,
                PrintJob.attempts < max_attempts,
            )
            .order_by(PrintJob.id)
        )
    )
    sent = []
    for job_id in ids:
        job, claimed = _claim(job_id, (PRINT_FAILED,))
        if not claimed:
            continue
        job = _deliver(job)
        sent.append(job)
        if job.status != PRINT_PRINTED:
            break
    return sent


def reprint(redemption_id: int, *, actor: User) -> PrintJob:
    """Queue and send a reprint (补打) of a redemption's receipt, logged with who and when."""
    with write_transaction():
        redemption = db.session.scalar(
            lock(sa.select(Redemption).where(Redemption.id == redemption_id))
        )
        if redemption is None:
            raise NotFound("没有找到该兑换单")
        last_copy = db.session.scalar(
            sa.select(sa.func.max(PrintJob.copy_no)).where(PrintJob.redemption_id == redemption_id)
        )
        job = queue_receipt(
            redemption,
            requested_by=actor,
            copy_no=(last_copy or 0) + 1,
            reprinted_at=local_time(utcnow(), TIME_FORMAT),
        )
        audit.record(
            "receipt.reprint",
            job,
            actor=actor,
            redemption_id=redemption_id,
            receipt_no=redemption.receipt_no,
            copy_no=job.copy_no,
        )
        job_id = job.id
    return send_job(job_id)


def latest_receipt(redemption_id: int) -> PrintJob | None:
    """The newest print job of a redemption's receipt (the original or the latest reprint)."""
    return db.session.scalar(
        sa.select(PrintJob)
        .where(PrintJob.redemption_id == redemption_id)
        .order_by(PrintJob.id.desc())
    )


def unprinted_jobs(supermarket_id: int) -> list[PrintJob]:
    """Jobs not yet printed (queued, sending or failed), oldest first: the keeper's list.

    Each has ``status``, ``attempts``, ``last_error`` and ``redemption_id``; the keeper
    resends one with :func:`send_job` (a failed or queued job), or all with
    :func:`retry_failed`, or prints a fresh copy of a receipt with :func:`reprint` (补打).
    """
    return list(
        db.session.scalars(
            sa.select(PrintJob)
            .where(PrintJob.supermarket_id == supermarket_id, PrintJob.status != PRINT_PRINTED)
            .order_by(PrintJob.id)
        )
    )


def printer_status(timeout: float = 1.0) -> str:
    """The configured printer's state: online / offline / paper_out / unknown."""
    return printers.status(printer_config(), timeout=timeout)


def _queue_slip(
    supermarket_id: int, kind: str, make_slip: Callable[[int], Slip], actor: User | None
) -> PrintJob:
    """Save a slip's job in the caller's transaction."""
    config = printer_config()
    payload, text = render_slip(make_slip, config)
    job = PrintJob(
        supermarket_id=supermarket_id,
        kind=kind,
        printer=printers.describe(config),
        payload=payload,
        text=text,
        requested_by_id=actor.id if actor is not None else None,
    )
    db.session.add(job)
    db.session.flush()
    return job


def print_test_page(supermarket_id: int, *, actor: User | None) -> PrintJob:
    """Queue and send a test page (printer, paper width, a Chinese line, a QR code)."""
    config = printer_config()
    with write_transaction():
        job = _queue_slip(
            supermarket_id,
            "test_page",
            lambda columns: slips.test_page(
                printers.describe(config),
                int(config.get("paper_mm", 80)),
                columns,
                config.get("mode") or "text",
            ),
            actor,
        )
        job_id = job.id
    return send_job(job_id)


def print_household_card(household_id: int, *, actor: User | None) -> PrintJob:
    """Queue and send a household's active card on thermal paper, audited (a card is a key)."""
    from kiosk.cards import active_card, payload_for

    with write_transaction():
        household = db.session.get(Household, household_id)
        if household is None:
            raise NotFound("没有找到该户")
        card = active_card(household)
        if card is None:
            raise ValidationFailed("该户没有有效的积分卡，请先发卡")
        face = CardFace(
            supermarket_name=household.supermarket.name,
            village=household.village,
            household_no=household.number,
            masked_name=mask_name(household.head_name),
            payload=payload_for(card),
        )
        job = _queue_slip(
            household.supermarket_id,
            "card",
            lambda columns: slips.household_card(face, columns),
            actor,
        )
        audit.record("card.print_thermal", job, actor=actor, household_id=household_id)
        job_id = job.id
    return send_job(job_id)


def print_stock_in_slip(movement_ids: list[int], *, actor: User | None) -> PrintJob:
    """Queue and send the stock-in slip (物品入库单) of one stock-in's movements.

    Called after the stock-in has committed: a failed print is a failed job, never an undone
    stock-in.
    """
    from inventory.models import MOVE_STOCK_IN, StockMovement

    if not movement_ids:
        raise ValidationFailed("入库单没有商品")
    with write_transaction():
        movements = list(
            db.session.scalars(
                sa.select(StockMovement)
                .where(StockMovement.id.in_(movement_ids))
                .order_by(StockMovement.id)
            )
        )
        if len(movements) != len(set(movement_ids)):
            raise NotFound("没有找到该入库记录")
        if any(m.kind != MOVE_STOCK_IN for m in movements):
            raise ValidationFailed("只能打印入库记录的入库单")
        supermarket_ids = {m.product.supermarket_id for m in movements}
        if len(supermarket_ids) != 1:
            raise ValidationFailed("一张入库单只能有一个超市的商品")
        supermarket = db.session.get(Supermarket, supermarket_ids.pop())
        first = movements[0]
        creator = db.session.get(User, first.created_by_id) if first.created_by_id else None
        keeper = creator or actor
        data = slips.StockInSlipData(
            supermarket_name=supermarket.name,
            when=local_time(first.created_at, TIME_FORMAT),
            supplier=first.supplier,
            invoice_no=first.invoice_no,
            lines=[
                slips.StockInItem(
                    name=m.product.name,
                    quantity=m.quantity,
                    unit=m.product.unit,
                    unit_cost=yuan(m.unit_cost_fen),
                    line_cost=yuan(m.quantity * m.unit_cost_fen),
                )
                for m in movements
            ],
            total=yuan(sum(m.quantity * m.unit_cost_fen for m in movements)),
            keeper=keeper.display_name if keeper is not None else "",
        )
        job = _queue_slip(
            supermarket.id,
            "stock_in",
            lambda columns: slips.stock_in_slip(data, columns),
            actor,
        )
        job_id = job.id
    return send_job(job_id)
