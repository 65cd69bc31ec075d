"""Printer endpoints (issue 4): the configured printer and its state, a test page, and the
print jobs that have not printed (the keeper's "my receipts didn't print" list) with a resend.

The printer's settings belong to the kiosk (instance/printer.json, else ``JIFEN_PRINTER``), not
to the database; admins change them with ``PUT /printer``. Each handler parses its input, calls
one service and renders JSON.
"""

from __future__ import annotations

from flask import jsonify, request

from hardware import printers
from kiosk import printer_settings, printing
from kiosk.api import access, bp, inputs, outputs
from kiosk.authn import current_supermarket, require
from kiosk.models import PRINT_FAILED, PRINT_QUEUED, PrintJob
from kiosk.redemption import receipt_numbers as redemption_numbers

JOB_STATUSES = (PRINT_FAILED, PRINT_QUEUED, printing.PRINT_SENDING)
STATUS_TIMEOUT = 1.0  # seconds: the keeper is waiting at the counter


def receipt_numbers(jobs: list[PrintJob]) -> dict[int, str]:
    """Receipt number by redemption id, for the receipt jobs among ``jobs`` (one query)."""
    return redemption_numbers(job.redemption_id for job in jobs)


def render_jobs(jobs: list[PrintJob]) -> list[dict]:
    """The jobs as JSON, each with its receipt number when it is a receipt."""
    numbers = receipt_numbers(jobs)
    return [outputs.print_job(job, numbers.get(job.redemption_id)) for job in jobs]


@bp.get("/printer")
@require("printer.read")
def get_printer():
    """The configured printer and its state now: online, offline, paper_out or unknown."""
    config = printing.printer_config()
    return jsonify(
        {
            "printer": outputs.printer(config, printers.describe(config)),
            "status": printing.printer_status(timeout=STATUS_TIMEOUT),
        }
    )


@bp.put("/printer")
@require("printer.configure")
def put_printer():
    """Change this kiosk's printer settings (validated, audited); returns what was saved."""
    body = inputs.json_body()
    if not isinstance(body.get("settings"), dict):
        raise inputs.invalid("settings", "必须是JSON对象")
    saved = printer_settings.save(body["settings"], actor=access.me())
    return jsonify({"printer": outputs.printer(saved, printers.describe(saved)), "settings": saved})


@bp.post("/printer/test-page")
@require("printer.operate")
def print_test_page():
    """Print a test page: saved as a job, then sent; a failure is in the job, not an error."""
    job = printing.print_test_page(current_supermarket().id, actor=access.me())
    return jsonify({"job": render_jobs([job])[0]}), 201


@bp.get("/print-jobs")
@require("printer.read")
def list_print_jobs():
    """The supermarket's jobs not yet printed, oldest first; ``status`` narrows the list."""
    raw = (request.args.get("status") or "").strip()
    wanted = inputs.choice({"status": raw}, "status", JOB_STATUSES) if raw else None
    jobs = printing.unprinted_jobs(current_supermarket().id)
    if wanted is not None:
        jobs = [job for job in jobs if job.status == wanted]
    return jsonify({"jobs": render_jobs(jobs)})


@bp.post("/print-jobs/retry")
@require("printer.operate")
def retry_print_jobs():
    """Send the failed jobs again, oldest first (stops at the first failure); returns the jobs
    this call sent and how many are still unprinted."""
    supermarket_id = current_supermarket().id
    sent = printing.retry_failed(supermarket_id)
    remaining = len(printing.unprinted_jobs(supermarket_id))
    return jsonify({"sent": render_jobs(sent), "remaining": remaining})
