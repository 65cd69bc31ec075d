"""Printer endpoints (issue 4): the configured printer and its state, a test page, and the
print jobs that have not printed (the keeper's "my receipts didn't print" list) with a resend.

The printer's settings belong to the kiosk (instance/printer.json, else ``JIFEN_PRINTER``), not
to the database; admins change them with ``PUT /printer``. Each handler parses its input, calls
one service and renders JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from hardware import printers
from kiosk import printer_settings, printing
from kiosk.api import access, answers, contract, outputs
from kiosk.authn import current_supermarket
from kiosk.models import PRINT_FAILED, PRINT_QUEUED, PrintJob
from kiosk.redemption import receipt_numbers as redemption_numbers

JOB_STATUSES = (PRINT_FAILED, PRINT_QUEUED, printing.PRINT_SENDING)
STATUS_TIMEOUT = 1.0  # seconds: the keeper is waiting at the counter


class PrinterSettingsInput(contract.Body):
    # The settings' own fields are checked by kiosk.printer_settings (each type its own).
    settings: Annotated[
        dict[str, Any],
        WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/PrinterSettings"}]}),
    ]


class JobQuery(contract.Query):
    status: Annotated[str | None, contract.Choice(*JOB_STATUSES, blank=True)] = Field(
        None, description="只列出这一状态的任务，省略或为空时列出全部未打印的"
    )


def receipt_numbers(jobs: list[PrintJob]) -> dict[int, str]:
    """Receipt number by redemption id, for the receipt jobs among ``jobs`` (one query)."""
    return redemption_numbers(job.redemption_id for job in jobs)


def render_jobs(jobs: list[PrintJob]) -> list[dict]:
    """The jobs as JSON, each with its receipt number when it is a receipt."""
    numbers = receipt_numbers(jobs)
    return [
        outputs.print_job(
            job, None if job.redemption_id is None else numbers.get(job.redemption_id)
        )
        for job in jobs
    ]


@contract.route(
    "GET",
    "/printer",
    summary="打印机：配置和当前状态",
    tag="printer",
    action="printer.read",
    ok=(200, answers.PrinterState, "打印机和状态"),
    description="状态查询最多等1秒。网络打印机用 DLE EOT 询问；预览打印机总是在线。",
)
def get_printer():
    """The configured printer and its state now: online, offline, paper_out or unknown."""
    config = printing.printer_config()
    return {
        "printer": outputs.printer(config, printers.describe(config)),
        "status": printing.printer_status(timeout=STATUS_TIMEOUT),
    }


@contract.route(
    "PUT",
    "/printer",
    summary="修改本机打印机的设置",
    tag="printer",
    action="printer.configure",
    body=PrinterSettingsInput,
    ok=(200, answers.PrinterSettingsResult, "保存后的设置"),
    description="设置保存在本机的 instance/printer.json；字段不正确时返回中文说明，不保存任何内容。",
)
def put_printer(body: PrinterSettingsInput):
    """Change this kiosk's printer settings (validated, audited); returns what was saved."""
    saved = printer_settings.save(body.settings, actor=access.me())
    return {"printer": outputs.printer(saved, printers.describe(saved)), "settings": saved}


@contract.route(
    "POST",
    "/printer/test-page",
    summary="打印测试页",
    tag="printer",
    action="printer.operate",
    ok=(201, answers.PrintJobResult, "测试页的打印任务（失败时 status 为 failed，附原因）"),
)
def print_test_page():
    """Print a test page: saved as a job, then sent; a failure is in the job, not an error."""
    job = printing.print_test_page(current_supermarket().id, actor=access.me())
    return {"job": render_jobs([job])[0]}


@contract.route(
    "GET",
    "/print-jobs",
    summary="未打印的任务（排队、发送中、失败）",
    tag="printer",
    action="printer.read",
    query=JobQuery,
    ok=(200, answers.PrintJobList, "未打印的任务，最早的在前"),
)
def list_print_jobs(query: JobQuery):
    """The supermarket's jobs not yet printed, oldest first; ``status`` narrows the list."""
    jobs = printing.unprinted_jobs(current_supermarket().id)
    if query.status is not None:
        jobs = [job for job in jobs if job.status == query.status]
    return {"jobs": render_jobs(jobs)}


@contract.route(
    "POST",
    "/print-jobs/retry",
    summary="重新打印失败的任务",
    tag="printer",
    action="printer.operate",
    ok=(200, answers.RetryResult, "本次发送的任务和仍未打印的数量"),
    description="按时间顺序重发失败的任务，遇到第一次失败即停止；失败5次以上的请在兑换单上补打。",
)
def retry_print_jobs():
    """Send the failed jobs again, oldest first (stops at the first failure); returns the jobs
    this call sent and how many are still unprinted."""
    supermarket_id = current_supermarket().id
    sent = printing.retry_failed(supermarket_id)
    remaining = len(printing.unprinted_jobs(supermarket_id))
    return {"sent": render_jobs(sent), "remaining": remaining}
