"""Raster mode: the receipt drawn with a CJK font at the printer's dot width, sent as 1-bit
GS v 0 fragments, decoded back into an image whose QR code reads with real decoders."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import ImageChops
from pyzbar.pyzbar import decode as zbar_decode

from hardware.printers import DOTS, printer_columns
from hardware.raster import line_image, render_slip_raster, slip_image
from hardware.receipt import (
    RASTER_FRAGMENT_ROWS,
    missing_glyphs,
    receipt_slip,
    render_escpos,
)
from kiosk import printing
from tests.escpos_decode import decode
from tests.hardware.test_receipts import LONG_RECEIPT, RECEIPT

PAPERS = [58, 80]


def _ink_rows(image) -> list[int]:
    """Rows of the (black on white, "L") image with at least one black dot."""
    grey = image.convert("L")
    return [
        y for y in range(grey.height) if grey.crop((0, y, grey.width, y + 1)).getextrema()[0] < 128
    ]


@pytest.mark.parametrize("paper", PAPERS)
def test_raster_receipt_is_the_paper_width_and_its_qr_reads_back(paper):
    slip = receipt_slip(RECEIPT, printer_columns(paper))
    printout = decode(render_slip_raster(slip, paper))
    assert printout.lines == [""] * 6  # only the feed before the cut is text
    assert printout.qr_codes == [] and len(printout.cuts) == 1
    assert all(r.width == DOTS[paper] for r in printout.images)
    assert all(r.height <= RASTER_FRAGMENT_ROWS for r in printout.images)
    assert len(printout.images) > 1, "a receipt is taller than one fragment"
    page = printout.page()
    assert page.width == DOTS[paper]
    assert [r.text for r in zxingcpp.read_barcodes(page)] == ["DT01-00000001"]
    assert [r.data.decode() for r in zbar_decode(page)] == ["DT01-00000001"]


@pytest.mark.parametrize("paper", PAPERS)
def test_decoded_raster_is_exactly_the_drawn_image(paper):
    slip = receipt_slip(LONG_RECEIPT, printer_columns(paper))
    drawn = slip_image(slip, paper).convert("L")
    page = decode(render_slip_raster(slip, paper)).page()
    assert page.size == drawn.size
    assert ImageChops.difference(page, drawn).getbbox() is None


def test_raster_image_is_pure_black_and_white_with_a_line_per_row_of_text():
    image = slip_image(receipt_slip(RECEIPT, 32), 58)
    assert image.mode == "1"
    histogram = image.convert("L").histogram()
    assert [level for level, count in enumerate(histogram) if count] == [0, 255]
    ink = _ink_rows(image)
    # Text lines are separated by white gaps: count the bands of ink above the QR code.
    bands = sum(1 for y in ink if y - 1 not in ink)
    assert bands >= 18  # heading, title, 16 body lines (+ the QR's rows and the signature)


def test_rare_characters_are_drawn_in_raster_mode():
    # 𠮷 (Extension B) is not in GB2312 or GBK but the CJK font draws it.
    assert missing_glyphs("𠮷野家") == "𠮷"
    with_rare = line_image("𠮷", 32, 384)
    plain = line_image("吉", 32, 384)
    assert _ink_rows(with_rare)
    assert ImageChops.difference(with_rare.convert("L"), plain.convert("L")).getbbox()


def test_text_mode_is_unchanged_by_the_raster_option(app):
    text_config = {"type": "preview", "paper_mm": 58}
    payload, text = printing.render(RECEIPT, text_config)
    assert payload == render_escpos(RECEIPT, 58)
    assert decode(payload).images == []
    raster_payload, raster_text = printing.render(RECEIPT, {**text_config, "mode": "raster"})
    assert raster_text == text  # the keeper's on-screen copy is the same in both modes
    printout = decode(raster_payload)
    assert printout.page().width == 384
    assert [r.text for r in zxingcpp.read_barcodes(printout.page())] == ["DT01-00000001"]


def test_unknown_mode_falls_back_to_text(app):
    payload, _ = printing.render(RECEIPT, {"type": "preview", "paper_mm": 58, "mode": "laser"})
    assert "户主：张*丰" in decode(payload).lines
