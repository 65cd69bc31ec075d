"""Slips beyond the receipt: a printer test page and a household card on thermal paper, in
text and raster mode, decoded back from the bytes (Chinese text and QR code)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import zxingcpp

from hardware import slips
from hardware.cards import CardFace, group_digits
from hardware.printers import DOTS
from hardware.raster import render_slip_raster
from hardware.receipt import render_slip_escpos, slip_text, text_width
from kiosk import printing
from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent
from tests import factories
from tests.escpos_decode import decode

PAYLOAD = "JF0000001201" + "1234567890"
FACE = CardFace("大同镇积分超市", "东村", "DC-0007", "张*丰", PAYLOAD)


@pytest.mark.parametrize("paper,columns", [(58, 32), (80, 48)])
def test_test_page_in_text_mode(paper, columns):
    slip = slips.test_page("network 10.0.0.9:9100", paper, columns)
    printout = decode(render_slip_escpos(slip, paper, native_qr=True))
    assert printout.lines[0] == "打印测试"
    assert "打印机：network 10.0.0.9:9100" in printout.lines
    assert f"纸宽：{paper}毫米，每行{columns}字符" in printout.lines
    assert slips.CJK_SAMPLE in printout.lines
    assert max(line.columns for line in printout.text_lines) == columns
    assert printout.qr_codes == [slips.TEST_QR]
    assert len(printout.cuts) == 1


@pytest.mark.parametrize("paper", [58, 80])
def test_test_page_in_raster_mode_reads_back(paper):
    slip = slips.test_page("preview", paper, {58: 32, 80: 48}[paper], "raster")
    page = decode(render_slip_raster(slip, paper)).page()
    assert page.width == DOTS[paper]
    assert [r.text for r in zxingcpp.read_barcodes(page)] == [slips.TEST_QR]
    assert "模式：图像" in slip_text(slip)


@pytest.mark.parametrize("native", [True, False])
def test_household_card_on_thermal_paper(native):
    slip = slips.household_card(FACE, 32)
    printout = decode(render_slip_escpos(slip, 58, native_qr=native))
    assert printout.lines[0] == "大同镇积分超市"
    assert "东村 积分信息卡" in printout.lines
    assert "户号：DC-0007" in printout.lines and "户主：张*丰" in printout.lines
    assert any(line.strip() == f"卡号 {group_digits(PAYLOAD)}" for line in printout.lines)
    if native:
        assert printout.qr_codes == [PAYLOAD]
    else:
        (image,) = printout.images
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [PAYLOAD]
    assert all(text_width(line) <= 32 for line in printout.lines)


def test_household_card_in_raster_mode_reads_back():
    page = decode(render_slip_raster(slips.household_card(FACE, 48), 80)).page()
    assert page.width == 576
    assert [r.text for r in zxingcpp.read_barcodes(page)] == [PAYLOAD]


def test_printing_a_test_page_through_the_configured_printer(app, supermarket, admin):
    app.config["JIFEN_PRINTER"] = {"type": "preview", "paper_mm": 58}
    job = printing.print_test_page(supermarket.id, actor=admin)
    assert (job.kind, job.status, job.redemption_id) == ("test_page", "printed", None)
    assert decode(job.payload).qr_codes == [slips.TEST_QR]
    assert "纸宽：58毫米，每行32字符" in job.text


@pytest.mark.parametrize("mode", ["text", "raster"])
def test_printing_a_household_card(app, supermarket, keeper, mode):
    app.config["JIFEN_PRINTER"] = {"type": "preview", "paper_mm": 80, "mode": mode}
    hh = factories.household(supermarket, head_name="张三丰")
    _, payload = factories.card(hh)
    job = printing.print_household_card(hh.id, actor=keeper)
    assert (job.kind, job.status) == ("card", "printed")
    assert "户主：张*丰" in job.text and "张三丰" not in job.text
    printout = decode(job.payload)
    if mode == "text":
        assert printout.qr_codes == [payload]
        assert "张三丰".encode("gb18030") not in job.payload
    else:
        assert [r.text for r in zxingcpp.read_barcodes(printout.page())] == [payload]
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "card.print_thermal" in actions


def test_household_without_a_card_is_refused(app, supermarket, keeper):
    hh = factories.household(supermarket, head_name="李四")
    with pytest.raises(ValidationFailed):
        printing.print_household_card(hh.id, actor=keeper)
