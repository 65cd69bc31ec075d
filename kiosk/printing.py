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
from datetime import timedelta
from typing import Any, cast

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
from kiosk.messages import _
from kiosk.models import (
    PRINT_FAILED,
    PRINT_PRINTED,
    PRINT_QUEUED,
    REDEMPTION_VOIDED,
    Household,
    PrintJob,
    PrintStatus,
    Redemption,
    Supermarket,
    User,
)
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PRINT_SENDING = PrintStatus.SENDING  # claimed by one kiosk, on its way to the printer
DEFAULT_MAX_ATTEMPTS = 5
# A send takes seconds at most (network timeouts are short); a job "sending" for longer was
# abandoned by a kiosk that stopped, and may be claimed again.
STALE_SENDING = timedelta(minutes=2)


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
        voided=redemption.status == REDEMPTION_VOIDED,
    )


def _period_word(redemption: Redemption) -> str:
    """ "本季度" or "本月": the quota period of the supermarket's policy."""
    from kiosk.rules import PERIOD_MONTH
    from kiosk.rules.policies import policy_for

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
    claim: bool = False,
) -> PrintJob:
    """Save the receipt's print job in the caller's transaction (``claim``: already claimed by
    this kiosk, to be sent with :func:`deliver_claimed` right after the commit)."""
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
    if claim:
        _claim_new(job, config)
    db.session.add(job)
    db.session.flush()
    return job


def mark_unprinted_voided(redemption: Redemption) -> None:
    """Lay out again, with the void mark, the receipt copies of a just-voided redemption that
    have not printed yet (queued or failed), in the caller's transaction: a retry on the
    printer page then prints 作废, never a clean receipt for goods given back."""
    jobs = db.session.scalars(
        sa.select(PrintJob).where(
            PrintJob.redemption_id == redemption.id,
            PrintJob.status.in_((PRINT_QUEUED, PRINT_FAILED)),
        )
    )
    config = printer_config()
    for job in jobs:
        reprinted_at = local_time(job.created_at, TIME_FORMAT) if job.copy_no > 1 else None
        job.payload, job.text = render(
            receipt_for(redemption, job.copy_no, reprinted_at=reprinted_at), config
        )


def _claim_new(job: PrintJob, config: dict[str, Any]) -> None:
    """Claim a job in the transaction that creates it: no other kiosk can see it before the
    commit, so the claim needs no transaction of its own. With the preview printer (no device)
    the job is printed already: there is nothing to send, and nothing is left to commit later.
    """
    now = utcnow()
    if config.get("type", "preview") == "preview":
        job.status = PRINT_PRINTED
        job.printed_at = now
        job.attempts = 1
    else:
        job.status = PRINT_SENDING
        job.claimed_at = now


def deliver_claimed(job_id: int) -> PrintJob:
    """Send a job claimed by :func:`queue_receipt` (``claim=True``) after its transaction."""
    job = db.session.get(PrintJob, job_id)
    if job is None:
        raise NotFound(_("没有找到打印任务"))
    if job.status != PRINT_SENDING:
        return job  # printed in its own transaction (the preview printer)
    return _deliver(job)


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
            raise NotFound(_("没有找到打印任务"))
        now = utcnow()
        # A job left "sending" by a kiosk that stopped mid-print (power cut, crash) is claimable
        # again once it is older than STALE_SENDING: it never stays stuck.
        stale = sa.and_(
            PrintJob.status == PRINT_SENDING,
            sa.or_(PrintJob.claimed_at.is_(None), PrintJob.claimed_at < now - STALE_SENDING),
        )
        result = db.session.execute(
            sa.update(PrintJob)
            .where(PrintJob.id == job_id, sa.or_(PrintJob.status.in_(from_statuses), stale))
            .values(status=PRINT_SENDING, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        claimed = cast("sa.CursorResult[Any]", result).rowcount == 1  # an UPDATE's result
    db.session.expire_all()
    return db.session.get_one(PrintJob, job_id), claimed


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
        job = db.session.get_one(PrintJob, job_id)
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
                sa.or_(
                    PrintJob.status == PRINT_FAILED,
                    sa.and_(
                        PrintJob.status == PRINT_SENDING,
                        sa.or_(
                            PrintJob.claimed_at.is_(None),
                            PrintJob.claimed_at < utcnow() - STALE_SENDING,
                        ),
                    ),
                ),
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
            raise NotFound(_("没有找到该兑换单"))
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


def queue_slip(
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
        job = queue_slip(
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
            raise NotFound(_("没有找到该户"))
        card = active_card(household)
        if card is None:
            raise ValidationFailed(_("该户没有有效的积分卡，请先发卡"))
        face = CardFace(
            supermarket_name=household.supermarket.name,
            village=household.village,
            household_no=household.number,
            masked_name=mask_name(household.head_name),
            payload=payload_for(card),
        )
        job = queue_slip(
            household.supermarket_id,
            "card",
            lambda columns: slips.household_card(face, columns),
            actor,
        )
        audit.record("card.print_thermal", job, actor=actor, household_id=household_id)
        job_id = job.id
    return send_job(job_id)


def closing_summary(supermarket_id: int, day: Any = None) -> dict[str, int]:
    """The figures of a supermarket's closing slip (日结单) for one local day (default today):
    redemptions made, voids made, stock-ins received and print jobs still failed that day."""
    from datetime import timedelta

    from inventory.models import MOVE_STOCK_IN, Product, StockMovement
    from kiosk import clock

    day = day or clock.local_now().date()
    start = clock.day_start_utc(day)
    end = clock.day_start_utc(day + timedelta(days=1))
    made = db.session.execute(
        sa.select(
            sa.func.count(Redemption.id),
            sa.func.coalesce(sa.func.sum(Redemption.total_points), 0),
            sa.func.coalesce(sa.func.sum(Redemption.total_cost_fen), 0),
        ).where(
            Redemption.supermarket_id == supermarket_id,
            Redemption.created_at >= start,
            Redemption.created_at < end,
        )
    ).one()
    voided = db.session.execute(
        sa.select(
            sa.func.count(Redemption.id),
            sa.func.coalesce(sa.func.sum(Redemption.total_points), 0),
            sa.func.coalesce(sa.func.sum(Redemption.total_cost_fen), 0),
        ).where(
            Redemption.supermarket_id == supermarket_id,
            Redemption.status == REDEMPTION_VOIDED,
            Redemption.voided_at >= start,
            Redemption.voided_at < end,
        )
    ).one()
    stock_in = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(StockMovement.ref_id)),
            sa.func.count(StockMovement.id),
            sa.func.coalesce(sa.func.sum(StockMovement.quantity * StockMovement.unit_cost_fen), 0),
        )
        .join(Product, Product.id == StockMovement.product_id)
        .where(
            Product.supermarket_id == supermarket_id,
            StockMovement.kind == MOVE_STOCK_IN,
            StockMovement.created_at >= start,
            StockMovement.created_at < end,
        )
    ).one()
    failures = db.session.scalar(
        sa.select(sa.func.count(PrintJob.id)).where(
            PrintJob.supermarket_id == supermarket_id,
            PrintJob.status == PRINT_FAILED,
            PrintJob.created_at >= start,
            PrintJob.created_at < end,
        )
    )
    return {
        "redemptions": int(made[0]),
        "redemption_points": int(made[1]),
        "redemption_cost_fen": int(made[2]),
        "voids": int(voided[0]),
        "void_points": int(voided[1]),
        "void_cost_fen": int(voided[2]),
        # A stock-in without a document reference (older rows) counts as one document per line.
        "stock_ins": max(int(stock_in[0]), 1 if stock_in[1] else 0),
        "stock_in_lines": int(stock_in[1]),
        "stock_in_cost_fen": int(stock_in[2]),
        "print_failures": int(failures or 0),
    }


def print_closing_slip(supermarket_id: int, *, actor: User | None, day: Any = None) -> PrintJob:
    """Queue and send the keeper's closing slip (日结单) with the audit chain head as it
    stands at print time, so the paper can be checked against the chain later."""
    from kiosk import clock
    from kiosk.audit import chain_head

    with write_transaction():
        supermarket = db.session.get(Supermarket, supermarket_id)
        if supermarket is None:
            raise NotFound(_("没有找到该超市"))
        day = day or clock.local_now().date()
        figures = closing_summary(supermarket_id, day)
        seq, digest = chain_head(supermarket_id)
        data = slips.ClosingSlipData(
            supermarket_name=supermarket.name,
            day=day.isoformat(),
            printed_at=local_time(utcnow(), TIME_FORMAT),
            keeper=actor.display_name if actor is not None else "",
            redemptions=figures["redemptions"],
            redemption_points=figures["redemption_points"],
            redemption_cost=yuan(figures["redemption_cost_fen"]),
            voids=figures["voids"],
            void_points=figures["void_points"],
            void_cost=yuan(figures["void_cost_fen"]),
            net_points=figures["redemption_points"] - figures["void_points"],
            net_cost=yuan(figures["redemption_cost_fen"] - figures["void_cost_fen"]),
            stock_ins=figures["stock_ins"],
            stock_in_lines=figures["stock_in_lines"],
            stock_in_cost=yuan(figures["stock_in_cost_fen"]),
            print_failures=figures["print_failures"],
            chain_seq=seq,
            chain_hash=digest[:16],
        )
        job = queue_slip(
            supermarket_id, "closing", lambda columns: slips.closing_slip(data, columns), actor
        )
        job_id = job.id
    return send_job(job_id)


def closing_job(job_id: int, supermarket_id: int) -> PrintJob | None:
    """A closing slip's print job of this supermarket, or None."""
    job = db.session.get(PrintJob, job_id)
    if job is None or job.kind != "closing" or job.supermarket_id != supermarket_id:
        return None
    return job


def find_job(job_id: int) -> PrintJob | None:
    """The print job with this id, or None."""
    return db.session.get(PrintJob, job_id)
