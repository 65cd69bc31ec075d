"""Print jobs: a receipt is saved with its redemption, then sent after the commit.

A failed send leaves the job queued with its error; the redemption is never undone or
repeated by a print failure. Reprints are new jobs marked 补打 with a copy number.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from hardware import printers
from hardware.receipt import Receipt, ReceiptItem, layout, render_escpos
from kiosk import audit
from kiosk.database import write_transaction
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


def printer_config() -> dict:
    return dict(current_app.config["JIFEN_PRINTER"])


def receipt_for(redemption: Redemption, copy_no: int = 1) -> Receipt:
    """The plain receipt for a redemption, as printed and as shown on screen."""
    notes = []
    if redemption.status == REDEMPTION_VOIDED:
        notes.append(f"此单已作废：{redemption.void_reason or ''}")
    return Receipt(
        supermarket_name=redemption.supermarket.name,
        receipt_no=redemption.receipt_no,
        when=local_time(redemption.created_at, "%Y-%m-%d %H:%M:%S"),
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
        copy_label=f"补打 第{copy_no}联" if copy_no > 1 else "",
        notes=notes,
    )


def queue_receipt(
    redemption: Redemption, *, requested_by: User | None, copy_no: int = 1
) -> PrintJob:
    """Save the receipt's print job in the caller's transaction."""
    config = printer_config()
    paper = int(config.get("paper_mm", 80))
    receipt = receipt_for(redemption, copy_no)
    job = PrintJob(
        supermarket_id=redemption.supermarket_id,
        kind="receipt",
        redemption_id=redemption.id,
        printer=config.get("type", "preview"),
        copy_no=copy_no,
        payload=render_escpos(receipt, paper, native_qr=config.get("native_qr", True)),
        text="\n".join(line.rstrip() for line in layout(receipt, paper)),
        requested_by_id=requested_by.id if requested_by is not None else None,
    )
    db.session.add(job)
    db.session.flush()
    return job


def send_job(job_id: int) -> PrintJob:
    """Send a saved job to the printer and record the outcome; never raises for a device fault."""
    with write_transaction():
        job = db.session.get(PrintJob, job_id)
        if job is None:
            raise NotFound("没有找到打印任务")
        payload = job.payload
    config = printer_config()
    error = None
    try:
        printers.send(config, payload)
    except printers.DeviceNotFound as exc:
        error = str(exc)[:500]
        logger.warning("print job %s failed: %s", job_id, error)
    with write_transaction():
        job = db.session.get(PrintJob, job_id)
        job.attempts += 1
        if error is None:
            job.status = PRINT_PRINTED
            job.printed_at = utcnow()
            job.last_error = None
        else:
            job.status = PRINT_FAILED
            job.last_error = error
    return job


def reprint(redemption_id: int, *, actor: User) -> PrintJob:
    """Queue and send a reprint (补打) of a redemption's receipt, logged with who and when."""
    with write_transaction():
        redemption = db.session.get(Redemption, redemption_id)
        if redemption is None:
            raise NotFound("没有找到该兑换单")
        copies = db.session.scalar(
            sa.select(sa.func.count(PrintJob.id)).where(PrintJob.redemption_id == redemption_id)
        )
        job = queue_receipt(redemption, requested_by=actor, copy_no=(copies or 0) + 1)
        audit.record(
            "receipt.reprint",
            job,
            actor=actor,
            redemption_id=redemption_id,
            copy_no=job.copy_no,
        )
        job_id = job.id
    return send_job(job_id)


def latest_receipt(redemption_id: int) -> PrintJob | None:
    return db.session.scalar(
        sa.select(PrintJob)
        .where(PrintJob.redemption_id == redemption_id)
        .order_by(PrintJob.id.desc())
    )
