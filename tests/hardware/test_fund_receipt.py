"""The thank-you receipt (捐赠收据): laid out from plain data and decoded back from the ESC/POS
bytes to the expected Chinese lines; printed by the service as a "donation" job, with reprints
numbered 补打 and audited; people's names masked unless they agreed, contacts never printed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hardware import slips
from hardware.receipt import render_slip_escpos, text_width
from inventory import donations, printouts
from inventory.donations import GoodsLine
from kiosk.clock import local_now
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent, PrintJob
from tests import factories
from tests.escpos_decode import decode

CASH = slips.DonationReceiptData(
    supermarket_name="大同镇积分超市",
    receipt_no="JZ000007",
    donated_on="2024-03-01",
    donor_name="王*福",
    donor_kind="乡贤",
    form="cash",
    amount="500.00",
    amount_fen=50000,
    note="春节慰问",
    keeper="王店长",
)


@pytest.mark.parametrize("paper,columns", [(58, 32), (80, 48)])
def test_cash_receipt_decodes_to_the_expected_chinese_lines(paper, columns):
    printout = decode(render_slip_escpos(slips.donation_receipt(CASH, columns), paper))
    rule = "-" * columns
    thanks = "衷心感谢您对积分超市的支持！"
    gap = columns - text_width(thanks)
    expected = [
        "大同镇积分超市",
        "捐赠收据",
        rule,
        "收据号" + " " * (columns - 14) + "JZ000007",
        "捐赠日期：2024-03-01",
        "捐赠方：王*福",
        "类别：乡贤",
        rule,
        "捐赠方式：现金",
        "金额(元)" + " " * (columns - 14) + "500.00",
        "大写：人民币伍佰元整",
        "备注：春节慰问",
        "经办人：王店长",
        rule,
        " " * (gap // 2) + thanks,
        "",
        "",
        "经办人签字：" + "_" * (columns - 12),
    ]
    assert printout.lines[: len(expected)] == expected
    assert all(line == "" for line in printout.lines[len(expected) :])
    assert max(line.columns for line in printout.text_lines) == columns
    assert printout.qr_codes == []
    assert len(printout.cuts) == 1


def test_rmb_upper():
    assert slips.rmb_upper(50000) == "伍佰元整"
    assert slips.rmb_upper(100500) == "壹仟零伍元整"
    assert slips.rmb_upper(1234567) == "壹万贰仟叁佰肆拾伍元陆角柒分"
    assert slips.rmb_upper(10050000) == "壹拾万零伍佰元整"
    assert slips.rmb_upper(105) == "壹元零伍分"
    assert slips.rmb_upper(1010100) == "壹万零壹佰零壹元整"
    assert slips.rmb_upper(10001000000) == "壹亿零壹万元整"


def test_printing_a_goods_donation_and_its_reprint(app, supermarket, keeper, admin):
    donor = donations.create_donor(
        supermarket.id, name="县农商银行", kind="enterprise", contact="0631-1234567", actor=keeper
    )
    rice = factories.product(supermarket, name="大米", cost_fen=0, stock_qty=0, unit="袋")
    d = donations.record_goods_donation(
        supermarket.id,
        donor_id=donor.id,
        lines=[GoodsLine(rice.id, 10, 3550)],
        donated_on=local_now().date(),
        actor=keeper,
    )
    job = printouts.print_donation_receipt(d.id, actor=keeper)
    assert (job.kind, job.status, job.copy_no) == ("donation", "printed", 1)
    lines = decode(job.payload).lines
    assert lines[:2] == [supermarket.name, "捐赠收据"]
    assert "捐赠方：县农商银行" in lines and "类别：企业" in lines
    assert "捐赠方式：物品" in lines
    assert any(line.startswith("大米") and line.endswith("355.00") for line in lines)
    assert "  评估单价：35.50元/袋" in lines
    assert any(line.startswith("合计价值(元)") and line.endswith("355.00") for line in lines)
    assert "大写：人民币叁佰伍拾伍元整" in lines
    assert "经办人：王店长" in lines
    assert not any("0631" in line for line in lines)
    assert not any("补打" in line for line in lines)
    # A second "first print" is refused: another copy is a reprint.
    with pytest.raises(ValidationFailed):
        printouts.print_donation_receipt(d.id, actor=keeper)
    again = printouts.print_donation_receipt(d.id, actor=admin, reprint=True)
    assert again.copy_no == 2
    lines = decode(again.payload).lines
    assert "补打（第2份）" in lines
    assert any(line.startswith("打印时间：") for line in lines)
    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("donation.receipt%"))
        )
    )
    assert actions == ["donation.receipt_print", "donation.receipt_reprint"]


def test_a_person_is_masked_unless_they_agreed_and_a_reversal_is_printed(
    app, supermarket, keeper, admin
):
    person = donations.create_donor(
        supermarket.id, name="刘秀英", kind="individual", contact="13912345678", actor=keeper
    )
    d = donations.record_cash_donation(
        supermarket.id,
        donor_id=person.id,
        amount_fen=12345,
        donated_on=local_now().date(),
        actor=keeper,
    )
    lines = decode(printouts.print_donation_receipt(d.id, actor=keeper).payload).lines
    assert "捐赠方：刘*英" in lines
    assert "大写：人民币壹佰贰拾叁元肆角伍分" in lines
    assert not any("139" in line for line in lines)
    donations.update_donor(
        person.id,
        name="刘秀英",
        kind="individual",
        contact="13912345678",
        publish_full_name=True,
        active=True,
        actor=admin,
    )
    donations.reverse_donation(d.id, actor=admin, reason="登记重复")
    lines = decode(printouts.print_donation_receipt(d.id, actor=admin, reprint=True).payload).lines
    assert "捐赠方：刘秀英" in lines
    assert "此捐赠已撤销：登记重复" in lines


def test_unknown_donation_is_refused(app, supermarket, keeper):
    with pytest.raises(NotFound):
        printouts.print_donation_receipt(12345, actor=keeper)
    assert db.session.scalar(sa.select(sa.func.count(PrintJob.id))) == 0
