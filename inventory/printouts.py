"""Print jobs of the goods and money side: stock-in slips (物品入库单), donation receipts
(捐赠收据) and the month-end summary slip (月结汇总).

Each builds its slip's data from the books, lays it out with :mod:`hardware.slips`, and hands
it to the print pipeline of :mod:`kiosk.printing` (queue in the caller's transaction, send after
the commit). They run after the stock-in, donation or month close has committed: a failed print
is a failed job, never an undone posting.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from hardware import slips as layouts
from inventory import donations, monthend, stock
from inventory.models import (
    DONATION_GOODS,
    DONATION_REVERSED,
    MOVE_STOCK_IN,
    Donation,
    StockIn,
    StockMovement,
)
from kiosk import audit, permissions, printing
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.formatting import local_time, yuan
from kiosk.messages import _
from kiosk.models import PrintJob, Supermarket, User
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)


def _stock_in_lines(movements: list[StockMovement]) -> dict[str, Any]:
    """The goods lines and total of a stock-in slip (物品入库单), from its movements."""
    return {
        "lines": [
            layouts.StockInItem(
                name=m.product.name,
                quantity=m.quantity,
                unit=m.product.unit,
                unit_cost=yuan(m.unit_cost_fen),
                line_cost=yuan(m.quantity * m.unit_cost_fen),
            )
            for m in movements
        ],
        "total": yuan(sum(m.quantity * m.unit_cost_fen for m in movements)),
    }


def print_stock_in_slip(movement_ids: list[int], *, actor: User | None) -> PrintJob:
    """Queue and send the stock-in slip (物品入库单) of one stock-in's movements.

    Called after the stock-in has committed: a failed print is a failed job, never an undone
    stock-in.
    """
    if not movement_ids:
        raise ValidationFailed(_("入库单没有商品"))
    with write_transaction():
        movements = list(
            db.session.scalars(
                sa.select(StockMovement)
                .where(StockMovement.id.in_(movement_ids))
                .order_by(StockMovement.id)
            )
        )
        if len(movements) != len(set(movement_ids)):
            raise NotFound(_("没有找到该入库记录"))
        if any(m.kind != MOVE_STOCK_IN for m in movements):
            raise ValidationFailed(_("只能打印入库记录的入库单"))
        supermarket_ids = {m.product.supermarket_id for m in movements}
        if len(supermarket_ids) != 1:
            raise ValidationFailed(_("一张入库单只能有一个超市的商品"))
        supermarket = db.session.get_one(Supermarket, supermarket_ids.pop())
        first = movements[0]
        creator = db.session.get(User, first.created_by_id) if first.created_by_id else None
        keeper = creator or actor
        data = layouts.StockInSlipData(
            supermarket_name=supermarket.name,
            when=local_time(first.created_at, printing.TIME_FORMAT),
            supplier=first.supplier,
            invoice_no=first.invoice_no,
            **_stock_in_lines(movements),
            keeper=keeper.display_name if keeper is not None else "",
        )
        job = printing.queue_slip(
            supermarket.id,
            "stock_in",
            lambda columns: layouts.stock_in_slip(data, columns),
            actor,
        )
        job_id = job.id
    return printing.send_job(job_id)


def print_donation_receipt(
    donation_id: int, *, actor: User | None, reprint: bool = False
) -> PrintJob:
    """Queue and send the thank-you receipt (捐赠收据) of a donation, after it has committed.

    The first print is copy 1; ``reprint`` makes the next copy, marked 补打 with its number and
    audited with who asked. The donor's name is printed as on the public list (people masked
    unless they agreed); contact details never.
    """
    with write_transaction():
        donation = db.session.scalar(lock(sa.select(Donation).where(Donation.id == donation_id)))
        if donation is None:
            raise NotFound(_("没有找到该捐赠"))
        if actor is not None and not permissions.works_for(actor, donation.supermarket_id):
            raise NotFound(_("没有找到该捐赠"))
        if not reprint and donation.copies_printed > 0:
            raise ValidationFailed(_("收据已经打印过，如需再打一份请点“补打”"))
        copy_no = donation.copies_printed + 1
        donation.copies_printed = copy_no
        supermarket = db.session.get_one(Supermarket, donation.supermarket_id)
        creator = db.session.get(User, donation.created_by_id) if donation.created_by_id else None
        lines = []
        if donation.form == DONATION_GOODS:
            lines = [
                layouts.DonationItem(
                    name=m.product.name,
                    quantity=m.quantity,
                    unit=m.product.unit,
                    unit_value=yuan(m.unit_cost_fen),
                    line_value=yuan(m.quantity * m.unit_cost_fen),
                )
                for m in donations.donation_movements(donation.id, originals_only=True)
            ]
        now = local_time(utcnow(), printing.TIME_FORMAT)
        data = layouts.DonationReceiptData(
            supermarket_name=supermarket.name,
            receipt_no=donation.receipt_no,
            donated_on=donation.donated_on.isoformat(),
            donor_name=donations.public_name(donation.donor),
            donor_kind=donations.DONOR_KIND_LABELS.get(donation.donor.kind, ""),
            form=donation.form,
            amount=yuan(donation.amount_fen),
            amount_fen=donation.amount_fen,
            lines=lines,
            note=donation.note,
            keeper=creator.display_name if creator is not None else "",
            printed_at=now if copy_no > 1 else "",
            copy_label=f"补打（第{copy_no}份）" if copy_no > 1 else "",
            reversed_note=f"此捐赠已撤销：{donation.reverse_reason}"
            if donation.status == DONATION_REVERSED
            else "",
        )
        job = printing.queue_slip(
            supermarket.id,
            "donation",
            lambda columns: layouts.donation_receipt(data, columns),
            actor,
        )
        job.copy_no = copy_no
        donation.last_print_job_id = job.id
        audit.record(
            "donation.receipt_reprint" if copy_no > 1 else "donation.receipt_print",
            job,
            actor=actor,
            supermarket_id=supermarket.id,
            donation_id=donation.id,
            receipt_no=donation.receipt_no,
            copy_no=copy_no,
        )
        job_id = job.id
    return printing.send_job(job_id)


def print_stock_in_document(stock_in_id: int, *, actor: User | None) -> PrintJob:
    """Queue and send the slip (物品入库单) of a stock-in document, numbered; every print after
    the first is a reprint (补打) marked with its copy number. Audited with who asked.

    Called after the stock-in has committed: a failed print is a failed job, never an undone
    stock-in.
    """
    with write_transaction():
        document = db.session.scalar(lock(sa.select(StockIn).where(StockIn.id == stock_in_id)))
        if document is None:
            raise NotFound(_("没有找到该入库单"))
        movements = list(
            db.session.scalars(
                sa.select(StockMovement)
                .where(
                    StockMovement.ref_type == stock.REF_STOCK_IN,
                    StockMovement.ref_id == document.id,
                )
                .order_by(StockMovement.id)
            )
        )
        copy_no = stock.print_count(document.id) + 1
        supermarket = db.session.get_one(Supermarket, document.supermarket_id)
        creator = db.session.get(User, document.created_by_id) if document.created_by_id else None
        keeper = creator or actor
        data = layouts.StockInSlipData(
            supermarket_name=supermarket.name,
            when=local_time(document.created_at, printing.TIME_FORMAT),
            supplier=document.supplier,
            invoice_no=document.invoice_no,
            **_stock_in_lines(movements),
            keeper=keeper.display_name if keeper is not None else "",
        )
        printed_at = local_time(utcnow(), printing.TIME_FORMAT)
        job = printing.queue_slip(
            supermarket.id,
            "stock_in",
            lambda columns: layouts.stock_in_document_slip(
                data, columns, document.display_no, copy_no, printed_at
            ),
            actor,
        )
        job.copy_no = copy_no
        audit.record(
            "stock_in.print",
            document,
            actor=actor,
            number=document.number,
            copy_no=copy_no,
            print_job_id=job.id,
        )
        job_id = job.id
    return printing.send_job(job_id)


def print_month_slip(supermarket_id: int, month: str, *, actor: User | None) -> PrintJob:
    """Queue and send the month-end summary slip (月结汇总) of one month: the stored report
    once closed, the live one (marked as a preview) while open."""
    with write_transaction():
        supermarket = db.session.get(Supermarket, supermarket_id)
        if supermarket is None:
            raise NotFound(_("没有找到该超市"))
        report, close = monthend.report_for(supermarket_id, month)
        if close is not None:
            closer = db.session.get(User, close.closed_by_id) if close.closed_by_id else None
            state = f"已结账 {local_time(close.closed_at)}" + (
                f" {closer.display_name}" if closer is not None else ""
            )
        else:
            state = "未结账（预览，数字可能还会变化）"
        s, f, t = report["stock_totals"], report["fund"], report["tieout"]
        unit = "额度" if t.get("spend") == "quota" else "积分"
        data = layouts.MonthSlipData(
            supermarket_name=supermarket.name,
            month=month,
            state=state,
            stock=[
                ("期初", yuan(s["opening_value"])),
                ("采购入库", yuan(s["purchase_value"])),
                ("捐赠入库", yuan(s["donation_value"])),
                ("兑换出库", yuan(-s["redeemed_value"])),
                ("作废退回", yuan(s["void_value"])),
                ("报损", yuan(s["adjustment_value"])),
                ("盘点差异", yuan(s["count_value"])),
                ("期末", yuan(s["closing_value"])),
            ],
            fund=[
                ("期初", yuan(f["opening"])),
                ("现金捐赠", yuan(f["donations"])),
                ("采购支出", yuan(-f["purchases"])),
                ("撤销冲回", yuan(f["reversals"])),
                ("期末", yuan(f["closing"])),
            ],
            tieout=[
                (f"兑换{unit}（净）", f"{t['points_net']}分"),
                ("折合金额", f"{yuan(t['value_at_rate'])}元"),
                ("发出成本", f"{yuan(t['cost_issued'])}元"),
                ("差额", f"{yuan(t['difference'])}元"),
                (" 进位差", f"{yuan(t['rounding'])}元"),
                (" 免费项目", f"{yuan(t['free_items'])}元"),
                (" 比例或价格变动", f"{yuan(t['price_changes'])}元"),
                (" 跨月及尾差", f"{yuan(t['timing'] + t['remainder'])}元"),
            ],
            printed_at=local_time(utcnow(), printing.TIME_FORMAT),
        )
        job = printing.queue_slip(
            supermarket_id,
            "month_end",
            lambda columns: layouts.month_end_slip(data, columns),
            actor,
        )
        audit.record("month.print_slip", job, actor=actor, month=month)
        job_id = job.id
    return printing.send_job(job_id)


def print_stock_in(supermarket_id: int, stock_in_id: int, *, actor: User | None) -> PrintJob:
    """Print (or reprint, 补打) a stock-in document's slip (物品入库单), numbered and audited.

    Runs after the stock-in committed: a failed print is a failed job, never an undone stock-in.
    """
    document = stock.get_stock_in(supermarket_id, stock_in_id)
    job = print_stock_in_document(document.id, actor=actor)
    logger.info("stock-in %s slip copy %s: %s", document.display_no, job.copy_no, job.status)
    return job
