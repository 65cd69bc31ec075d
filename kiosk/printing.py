"""Print jobs: a receipt is saved with its redemption, then sent after the commit.

A failed send leaves the job saved as failed with its error, to be sent again or reprinted;
the redemption is never undone or repeated by a print failure. Reprints are new jobs marked
补打 with a copy number, audited with who asked for them.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import current_app

from hardware import printers
from hardware.receipt import Receipt, ReceiptItem, layout, render_escpos
from kiosk import audit
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound
from kiosk.extensions import db
from kiosk.formatting import local_time, mask_name
from kiosk.models import (
    PRINT_FAILED,
    PRINT_PRINTED,
    REDEMPTION_VOIDED,
    PrintJob,
    Redemption,
    User,
)
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def printer_config() -> dict[str, Any]:
    """The configured printer (``JIFEN_PRINTER``), a copy safe to change."""
    return dict(current_app.config["JIFEN_PRINTER"])


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
    """The receipt's ESC/POS bytes and readable text for the configured printer.

    A printer setting that cannot be used (unknown profile, paper width) must not stop a
    redemption: it is logged and the receipt is laid out for a generic 80 mm printer.
    """
    options = {
        "paper_mm": config.get("paper_mm", 80),
        "profile": config.get("profile"),
        "columns": config.get("columns"),
    }
    try:
        options["paper_mm"] = int(options["paper_mm"])
        text = layout(receipt, **options)
        payload = render_escpos(receipt, **options, native_qr=config.get("native_qr"))
    except (ValueError, TypeError, KeyError) as exc:
        logger.error("printer settings unusable (%s); using a generic 80 mm layout", exc)
        text = layout(receipt)
        payload = render_escpos(receipt, native_qr=config.get("native_qr"))
    return payload, "\n".join(line.rstrip() for line in text)


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

    A job already printed is not sent again (a second copy is a reprint, 补打).
    """
    with write_transaction():
        job = db.session.get(PrintJob, job_id)
        if job is None:
            raise NotFound("没有找到打印任务")
        if job.status == PRINT_PRINTED:
            return job
        payload = job.payload
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
    """Jobs not yet printed (queued or failed), oldest first: what the keeper may resend."""
    return list(
        db.session.scalars(
            sa.select(PrintJob)
            .where(PrintJob.supermarket_id == supermarket_id, PrintJob.status != PRINT_PRINTED)
            .order_by(PrintJob.id)
        )
    )
