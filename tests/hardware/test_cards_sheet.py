"""The printable card sheet: real decoders read the QR back, the masked name is drawn, the full
name is not, and the pages are A4 with ten CR80 cards each."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageDraw
from pyzbar import pyzbar

from hardware import cards as sheet
from kiosk.cards import make_payload, normalize_payload

SECRET = b"card-sheet-test-secret"


def face(serial: int = 1, masked: str = "张*丰", number: str = "01001") -> sheet.CardFace:
    return sheet.CardFace(
        supermarket_name="大同镇东村积分超市",
        village="东村",
        household_no=number,
        masked_name=masked,
        payload=make_payload(serial, 1, SECRET),
    )


@pytest.fixture(scope="module")
def font() -> sheet.CjkFont:
    return sheet.find_cjk_font()


def _contains_text(image: Image.Image, text: str, font: sheet.CjkFont, size: int = 52) -> float:
    """Best normalized correlation of ``text`` (drawn alone in the card's font) in ``image``."""
    glyphs = sheet._Fonts(font).get(size)
    canvas = Image.new("L", (1000, 150), 255)
    ImageDraw.Draw(canvas).text((10, 10), text, font=glyphs, fill=20)
    box = Image.eval(canvas, lambda v: 255 - v).getbbox()
    template = np.array(canvas.crop(box))
    haystack = np.array(image.convert("L"))
    return float(cv2.matchTemplate(haystack, template, cv2.TM_CCOEFF_NORMED).max())


def test_card_is_cr80_at_300_dpi(font):
    img = sheet.render_card(face(), font)
    assert img.size == (1011, 638)  # 85.6 × 54 mm


def test_qr_decodes_to_the_exact_payload_with_zxing_and_zbar(font):
    f = face(serial=4321)
    img = sheet.render_card(f, font)
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [f.payload]
    decoded = pyzbar.decode(img.convert("L"))
    assert [d.data.decode("ascii") for d in decoded] == [f.payload]


def test_masked_name_is_drawn_and_full_name_is_not(font):
    img = sheet.render_card(face(masked="张*丰"), font)
    assert _contains_text(img, "户主 张*丰", font) > 0.95
    assert _contains_text(img, "张三丰", font) < 0.8
    assert _contains_text(img, "王*明", font) < 0.8


def test_card_lines_carry_no_full_name():
    lines = sheet.card_lines(face(masked="欧**娜"))
    assert "户主 欧**娜" in lines
    assert not any("欧阳娜娜" in line for line in lines)


def test_grouped_digits_are_what_the_keypad_accepts():
    payload = make_payload(12, 3, SECRET)
    grouped = sheet.group_digits(payload)
    assert re.fullmatch(r"\d{4}( \d{4}){4}", grouped)
    assert normalize_payload(grouped) == payload


def test_pages_are_a4_with_ten_cards_and_every_qr_readable(font):
    faces = [face(serial=i, number=f"01{i:03d}") for i in range(1, 24)]
    pages = sheet.render_pages(faces, font, footer="测试")
    assert len(pages) == 3
    assert all(p.size == (2480, 3508) for p in pages)
    first = {r.text for r in zxingcpp.read_barcodes(pages[0])}
    assert first == {f.payload for f in faces[:10]}
    last = {r.text for r in zxingcpp.read_barcodes(pages[2])}
    assert last == {f.payload for f in faces[20:]}


def test_write_pdf(tmp_path, font):
    out = tmp_path / "cards.pdf"
    pages = sheet.write_pdf([face(serial=i) for i in range(1, 12)], out, font)
    data = out.read_bytes()
    assert pages == 2
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 2


def test_no_cards_is_refused(font):
    with pytest.raises(ValueError):
        sheet.render_pages([], font)


def test_missing_cjk_font_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(sheet, "FONT_CANDIDATES", (str(tmp_path / "none.ttc"),))
    monkeypatch.setattr(sheet, "_fontconfig_candidates", lambda: [])
    sheet.find_cjk_font.cache_clear()
    try:
        with pytest.raises(sheet.FontNotFound, match="fonts-noto-cjk"):
            sheet.find_cjk_font()
        with pytest.raises(sheet.FontNotFound, match="找不到"):
            sheet.find_cjk_font(str(tmp_path / "missing.ttf"))
    finally:
        sheet.find_cjk_font.cache_clear()
