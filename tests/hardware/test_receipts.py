"""Receipts: layout at 58 and 80 mm, ESC/POS bytes decoded back to Chinese text, QR codes."""

from __future__ import annotations

import re
import warnings

import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import ImageChops
from pyzbar.pyzbar import decode as zbar_decode

from hardware.printers import DOTS, printer_columns, printer_profile
from hardware.raster import line_image
from hardware.receipt import (
    Receipt,
    ReceiptItem,
    build,
    layout,
    pad,
    render_escpos,
    text_width,
    wrap,
)
from kiosk.formatting import mask_name
from tests.escpos_decode import DecodeError, QRCode, Raster, TextLine, decode

RICE = ReceiptItem("金龙鱼大米5kg", 2, "袋", 26, 52)
OIL = ReceiptItem("鲁花花生油", 1, "瓶", 45, 45)
RECEIPT = Receipt(
    supermarket_name="大同镇积分超市",
    receipt_no="DT01-00000001",
    when="2024-05-01 10:00:00",
    household_no="H0001",
    masked_name=mask_name("张三丰"),
    items=[RICE, OIL],
    total_points=97,
    balance_before=120,
    balance_after=23,
    keeper="王店长",
)
LONG_NAME = "海天金标生抽酱油1.9L特级酿造零添加古法晒制 Premium Soy Sauce"
LONG_RECEIPT = Receipt(
    supermarket_name="大同镇东村新时代文明实践站积分超市",
    receipt_no="DT01-00000123",
    when="2024-05-01 10:00:00",
    household_no="DC-0001-东村三组",
    masked_name="欧**娜",
    items=[
        ReceiptItem(LONG_NAME, 1, "瓶", 15, 15),
        ReceiptItem("洗衣粉", 12, "袋", 8, 96),
        ReceiptItem("散装大米", 999, "公斤", 3, 2997),
        ReceiptItem("理发", 1, "次", 10, 10),
    ],
    total_points=3118,
    balance_before=5000,
    balance_after=1882,
    keeper="王店长",
    copy_label="补打（第2份）",
    notes=["此单已作废：顾客退回全部物品，库存已恢复，积分已退回原账户"],
)
PAPERS = [58, 80]

EXPECTED_58 = [
    "大同镇积分超市",
    "积分兑换单",
    "-" * 32,
    "单号：DT01-00000001",
    "时间：2024-05-01 10:00:00",
    "户号：H0001",
    "户主：张*丰",
    "-" * 32,
    "物品                  数量  积分",
    "金龙鱼大米5kg          2袋    52",
    "  单价：26积分/袋",
    "鲁花花生油             1瓶    45",
    "-" * 32,
    "合计积分                      97",
    "兑换前积分                   120",
    "兑换后积分                    23",
    "经办人：王店长",
    "-" * 32,
    "",  # quiet zone above the QR code
    "",  # below it
    "",
    "",
    "领取人签字：" + "_" * 20,
    *[""] * 6,  # fed out before the cut
]
EXPECTED_80 = [
    "大同镇积分超市",
    "积分兑换单",
    "-" * 48,
    "单号：DT01-00000001",
    "时间：2024-05-01 10:00:00",
    "户号：H0001",
    "户主：张*丰",
    "-" * 48,
    "物品                                  数量  积分",
    "金龙鱼大米5kg                          2袋    52",
    "  单价：26积分/袋",
    "鲁花花生油                             1瓶    45",
    "-" * 48,
    "合计积分                                      97",
    "兑换前积分                                   120",
    "兑换后积分                                    23",
    "经办人：王店长",
    "-" * 48,
    "",
    "",
    "",
    "",
    "领取人签字：" + "_" * 36,
    *[""] * 6,
]


@pytest.mark.parametrize("paper,expected", [(58, EXPECTED_58), (80, EXPECTED_80)])
def test_receipt_bytes_decode_to_the_expected_chinese_text(paper, expected):
    printout = decode(render_escpos(RECEIPT, paper, native_qr=True))
    assert printout.lines == expected
    heading, title = printout.text_lines[:2]
    assert (heading.width, heading.height, heading.bold, heading.align) == (2, 2, True, "center")
    assert (title.width, title.bold, title.align) == (1, True, "center")
    assert all(line.width == 1 and line.align == "left" for line in printout.text_lines[2:18])
    assert not printout.chinese_mode_at_end
    assert len(printout.cuts) == 1 and not printout.cuts[0].partial


# The 58 mm receipt above as the bytes a printer receives, written out command by command.
GB = "gb18030"
INIT, CHINESE_ON, CHINESE_OFF = b"\x1b\x40", b"\x1c\x26", b"\x1c\x2e"
DOUBLE, NORMAL = b"\x1d\x21\x11", b"\x1d\x21\x00"
BOLD_ON, BOLD_OFF = b"\x1b\x45\x01", b"\x1b\x45\x00"
LEFT, CENTER = b"\x1b\x61\x00", b"\x1b\x61\x01"
QR_NATIVE_58 = (
    b"\x1d(k\x04\x00"
    + b"1A2\x00"  # model 2
    + b"\x1d(k\x03\x00"
    + b"1C\x05"  # 5-dot modules
    + b"\x1d(k\x03\x00"
    + b"1E1"  # error correction M
    + b"\x1d(k\x10\x00"
    + b"1P0DT01-00000001"  # store the receipt number
    + b"\x1d(k\x03\x00"
    + b"1Q0"  # print it
)
EXPECTED_BYTES_58 = b"".join(
    [
        INIT,
        CHINESE_ON,
        DOUBLE + BOLD_ON + CENTER,
        # 大同镇积分超市 in GB18030, spelled out so that a change of encoding fails here.
        b"\xb4\xf3\xcd\xac\xd5\xf2\xbb\xfd\xb7\xd6\xb3\xac\xca\xd0\n",
        NORMAL,
        b"\xbb\xfd\xb7\xd6\xb6\xd2\xbb\xbb\xb5\xa5\n",  # 积分兑换单
        BOLD_OFF + LEFT,
        *[(line + "\n").encode(GB) for line in EXPECTED_58[2:18]],
        CENTER,
        b"\n" + QR_NATIVE_58 + b"\n",
        LEFT,
        b"\n\n",
        b"\xc1\xec\xc8\xa1\xc8\xcb\xc7\xa9\xd7\xd6\xa3\xba" + b"_" * 20 + b"\n",  # 领取人签字：
        CHINESE_OFF,
        b"\x1b\x64\x06",  # feed 6 lines
        b"\x1d\x56\x00",  # full cut
    ]
)


def test_dummy_output_is_byte_exact():
    assert render_escpos(RECEIPT, 58, native_qr=True) == EXPECTED_BYTES_58


VOIDED_REPRINT = Receipt(
    **{
        **RECEIPT.__dict__,
        "copy_label": "补打（第2份）",
        "notes": ["此单已作废：拿错物品", "补打时间：2024-05-01 10:05:00"],
        "voided": True,
    }
)
# A voided redemption's reprint: 【作废】 double size under the name, the note in the body.
EXPECTED_VOIDED_BYTES_58 = b"".join(
    [
        INIT,
        CHINESE_ON,
        DOUBLE + BOLD_ON + CENTER,
        b"\xb4\xf3\xcd\xac\xd5\xf2\xbb\xfd\xb7\xd6\xb3\xac\xca\xd0\n",
        b"\xa1\xbe\xd7\xf7\xb7\xcf\xa1\xbf\n",  # 【作废】
        NORMAL,
        b"\xbb\xfd\xb7\xd6\xb6\xd2\xbb\xbb\xb5\xa5\n",  # 积分兑换单
        "补打（第2份）\n".encode(GB),
        BOLD_OFF + LEFT,
        *[(line + "\n").encode(GB) for line in EXPECTED_58[2:17]],
        "此单已作废：拿错物品\n".encode(GB),
        "补打时间：2024-05-01 10:05:00\n".encode(GB),
        ("-" * 32 + "\n").encode(GB),
        CENTER,
        b"\n" + QR_NATIVE_58 + b"\n",
        LEFT,
        b"\n\n",
        b"\xc1\xec\xc8\xa1\xc8\xcb\xc7\xa9\xd7\xd6\xa3\xba" + b"_" * 20 + b"\n",
        CHINESE_OFF,
        b"\x1b\x64\x06",
        b"\x1d\x56\x00",
    ]
)


def test_voided_reprint_is_byte_exact():
    assert render_escpos(VOIDED_REPRINT, 58, native_qr=True) == EXPECTED_VOIDED_BYTES_58
    assert layout(VOIDED_REPRINT, 58)[1].strip() == "【作废】"
    assert "【作废】" not in "".join(layout(RECEIPT, 58))


def test_dummy_keeps_our_gb18030_bytes_unchanged():
    payload = render_escpos(RECEIPT, 80)
    for text in ("金龙鱼大米5kg", "鲁花花生油", "张*丰", "王店长", "领取人签字："):
        assert text.encode("gb18030") in payload
        assert text.encode("utf-8") not in payload or text.isascii()
    # Every non-ASCII byte sits inside Chinese mode: FS & first, FS . after the last one.
    first_high = min(i for i, b in enumerate(payload) if b >= 0x80)
    last_high = max(i for i, b in enumerate(payload) if b >= 0x80)
    assert payload.index(CHINESE_ON) < first_high
    assert payload.rindex(CHINESE_OFF) > last_high


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("receipt", [RECEIPT, LONG_RECEIPT], ids=["short", "long"])
def test_every_line_is_exactly_the_paper_width(paper, receipt):
    columns = {58: 32, 80: 48}[paper]
    lines = layout(receipt, paper)
    assert all(text_width(line) == columns for line in lines), lines
    for native in (True, False):
        printout = decode(render_escpos(receipt, paper, native_qr=native))
        assert all(line.columns <= columns for line in printout.text_lines)
        assert any(line.columns == columns for line in printout.text_lines)


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("receipt", [RECEIPT, LONG_RECEIPT], ids=["short", "long"])
def test_the_readable_rendering_is_what_the_printer_prints(paper, receipt):
    text = [line.strip() for line in layout(receipt, paper) if line.strip()]
    printed = [line.strip() for line in decode(render_escpos(receipt, paper)).lines if line.strip()]
    assert printed == text


@pytest.mark.parametrize("paper", PAPERS)
def test_long_names_wrap_and_nothing_is_lost(paper):
    printout = decode(render_escpos(LONG_RECEIPT, paper))
    lines = printout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("物品")) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("洗衣粉"))
    assert len(lines[start:end]) >= 2  # the long name took more than one line
    name = re.sub(r" +1瓶 +15$", "", lines[start]) + "".join(lines[start + 1 : end])
    assert name.replace(" ", "") == LONG_NAME.replace(" ", "")
    joined = "".join(lines)
    heading = [line for line in printout.text_lines if line.width == 2]
    assert len(heading) >= 2  # the supermarket's name is too long for one enlarged line
    assert "".join(line.text for line in heading) == LONG_RECEIPT.supermarket_name
    assert "DC-0001-东村三组" in joined.replace(" ", "")
    assert LONG_RECEIPT.notes[0] in joined.replace(" ", "")
    for expected in ("补打（第2份）", "单价：8积分/袋", "999公斤", "2997", "3118", "5000", "1882"):
        assert expected in joined


@pytest.mark.parametrize("paper", PAPERS)
def test_quantities_and_points_align_right(paper):
    columns = {58: 32, 80: 48}[paper]
    lines = build(LONG_RECEIPT, columns).body
    header = next(i for i, line in enumerate(lines) if line.startswith("物品"))
    rows = {
        "数量": lines[header],
        "1瓶": lines[header + 1],
        "12袋": next(line for line in lines if line.startswith("洗衣粉")),
        "999公斤": next(line for line in lines if line.startswith("散装大米")),
        "1次": next(line for line in lines if line.startswith("理发")),
    }
    points = {"数量": "积分", "1瓶": "15", "12袋": "96", "999公斤": "2997", "1次": "10"}
    qty_ends = set()
    for qty, line in rows.items():
        assert line.endswith(" " + points[qty])  # points end at the paper's edge
        before_points = line[: -len(points[qty])].rstrip()
        assert before_points.endswith(qty)
        qty_ends.add(text_width(before_points))
    assert len(qty_ends) == 1  # every quantity ends in the same column
    for total in ("3118", "5000", "1882"):
        assert any(line.endswith(" " + total) and text_width(line) == columns for line in lines)


@pytest.mark.parametrize("paper", PAPERS)
def test_native_qr_holds_the_receipt_number(paper):
    printout = decode(render_escpos(RECEIPT, paper, native_qr=True))
    (qr,) = [b for b in printout.blocks if isinstance(b, QRCode)]
    assert qr.data == "DT01-00000001"
    assert (qr.model, qr.ec, qr.align) == (2, "M", "center")
    assert qr.module == {58: 5, 80: 6}[paper]
    assert printout.images == []
    # Between the totals and the signature line.
    order = [b.text if isinstance(b, TextLine) else "QR" for b in printout.blocks]
    signature = {58: EXPECTED_58, 80: EXPECTED_80}[paper][22]
    assert order.index("经办人：王店长") < order.index("QR") < order.index(signature)


@pytest.mark.parametrize("paper", PAPERS)
def test_image_qr_reads_back_with_real_decoders(paper):
    printout = decode(render_escpos(RECEIPT, paper, native_qr=False))
    assert printout.qr_codes == []
    (raster,) = [b for b in printout.blocks if isinstance(b, Raster)]
    image = raster.image
    assert image.width <= DOTS[paper] and raster.scale == 1
    assert [r.data.decode() for r in zbar_decode(image)] == ["DT01-00000001"]
    assert [r.text for r in zxingcpp.read_barcodes(image)] == ["DT01-00000001"]
    expected = {58: EXPECTED_58, 80: EXPECTED_80}[paper]
    # The same text as with a native QR, without the blank line around the GS ( k symbol.
    assert printout.lines == expected[:18] + expected[20:]
    order = [b.text if isinstance(b, TextLine) else "QR" for b in printout.blocks]
    assert order.index("经办人：王店长") < order.index("QR") < order.index(expected[22])


def test_qr_mode_follows_the_profile_unless_configured():
    # POS-5890 (a common 58 mm printer) cannot print QR codes natively, nor cut.
    cheap = decode(render_escpos(RECEIPT, 58, profile="POS-5890"))
    assert cheap.qr_codes == [] and len(cheap.images) == 1 and cheap.cuts == []
    assert [r.data.decode() for r in zbar_decode(cheap.images[0])] == ["DT01-00000001"]
    generic = decode(render_escpos(RECEIPT, 80))
    assert generic.qr_codes == ["DT01-00000001"] and generic.images == []
    forced = decode(render_escpos(RECEIPT, 80, native_qr=False))
    assert forced.qr_codes == [] and len(forced.images) == 1


def test_default_profile_supports_native_qr_images_and_cut():
    for paper in PAPERS:
        profile = printer_profile(paper)
        assert profile.supports("qrCode") and profile.supports("bitImageRaster")
        assert profile.supports("paperFullCut")
        assert profile.profile_data["media"]["width"]["pixels"] == DOTS[paper]
        assert printer_columns(paper) == {58: 32, 80: 48}[paper]
        assert printer_columns(paper, "", "") == {58: 32, 80: 48}[paper]  # empty settings
    with pytest.raises(ValueError):
        printer_profile(80, "No-Such-Printer")
    with pytest.raises(ValueError):
        printer_profile(76)


def test_named_profile_sets_the_columns():
    # Epson TM-T88III prints 42 columns of font A on 80 mm paper.
    assert printer_columns(80, "TM-T88III") == 42
    printout = decode(render_escpos(RECEIPT, 80, profile="TM-T88III"))
    assert max(line.columns for line in printout.text_lines) == 42
    assert all(text_width(line) == 42 for line in layout(RECEIPT, 80, profile="TM-T88III"))
    assert all(text_width(line) == 40 for line in layout(RECEIPT, 80, columns=40))


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("profile", [None, "POS-5890", "TM-T88III", "RP326"])
def test_rendering_is_silent(native, profile, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode(
            render_escpos(
                RECEIPT, 58 if profile == "POS-5890" else 80, native_qr=native, profile=profile
            )
        )
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_control_characters_in_names_cannot_become_printer_commands():
    evil = Receipt(
        **{**RECEIPT.__dict__, "items": [ReceiptItem("坏\x1b@名\n字\x1dV\x00", 1, "袋", 5, 5)]}
    )
    payload = render_escpos(evil, 58)
    printout = decode(payload)  # a stray ESC @ mid-line or GS V would raise here
    assert len(printout.cuts) == 1
    assert any(line.startswith("坏 @名 字 V") for line in printout.lines)


def test_masked_name_and_no_full_name():
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("欧阳娜娜") == "欧**娜"
    payload = render_escpos(RECEIPT, 80)
    assert "张三丰".encode("gb18030") not in payload
    assert "三".encode("gb18030") not in payload
    assert "户主：张*丰" in decode(payload).lines


@pytest.mark.parametrize(
    "text,width",
    [
        ("abc", 3),
        ("积分", 4),
        ("金龙鱼5kg", 9),
        ("ＡＢ１", 6),  # full-width letters and digits
        ("，。：", 6),  # Chinese punctuation
        ("阿卜杜拉·艾力", 14),  # the middle dot is a Chinese-font character in GB18030
        ("", 0),
    ],
)
def test_cjk_counts_double_width(text, width):
    assert text_width(text) == width


def test_pad_refuses_to_cut():
    assert pad("积分", 6, "right") == "  积分"
    assert pad("积分", 5, "center") == "积分 "
    with pytest.raises(ValueError):
        pad("积分超市", 7)


def test_wrap_breaks_at_display_width():
    assert wrap("金龙鱼大米五常稻花香", 8) == ["金龙鱼大", "米五常稻", "花香"]
    assert wrap("大米abc", 5) == ["大米a", "bc"]
    assert wrap("Premium Soy Sauce", 12) == ["Premium Soy ", "Sauce"]
    assert wrap("大米 Soy", 4) == ["大米", "Soy"]  # the space on the break is dropped
    assert wrap("", 10) == [""]
    assert wrap("积", 2) == ["积"]


NAME_CHARS = st.sampled_from(
    list("abcXYZ019 -.") + list("大米油盐酱醋茶积分超市") + list("ＡＢ（）·，")
)


@given(text=st.text(NAME_CHARS, max_size=80), width=st.integers(2, 48))
def test_wrap_never_overflows_or_loses_a_character(text, width):
    lines = wrap(text, width)
    assert all(text_width(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    if " " not in text:
        assert "".join(lines) == text


def test_decoder_fails_loudly():
    with pytest.raises(DecodeError, match="unknown command"):
        decode(b"\x1b\x74\x00")  # ESC t: a code page we never send
    with pytest.raises(DecodeError, match="outside Chinese mode"):
        decode("积分\n".encode("gb18030"))
    with pytest.raises(DecodeError, match="never printed"):
        decode(b"\x1c&" + "积分".encode("gb18030"))
    with pytest.raises(DecodeError, match="truncated"):
        decode(b"\x1d(k\x10\x001P0DT")
    with pytest.raises(DecodeError, match="mid-line"):
        decode(b"abc\x1b\x61\x01def\n")
    with pytest.raises(DecodeError, match="headings must use GS !"):
        decode(b"\x1b!\x30")


# Characters outside the printer's font: 𠮷 (CJK Extension B), 䶮 (Extension A) and 堃 (GBK
# but not GB2312) are all valid GB18030, which a cheap printer's GB2312 font prints as "?".
RARE = Receipt(
    **{
        **RECEIPT.__dict__,
        "masked_name": mask_name("𠮷小䶮"),
        "items": [ReceiptItem("堃记手工挂面", 1, "袋", 6, 6), OIL],
    }
)


def test_rare_characters_are_found_by_the_printer_charset():
    from hardware.receipt import missing_glyphs

    assert missing_glyphs("户主：𠮷*䶮") == "𠮷䶮"
    assert missing_glyphs("堃记手工挂面") == "堃"
    assert missing_glyphs("堃记手工挂面", "gbk") == ""
    assert missing_glyphs("金龙鱼大米5kg　，：") == ""


@pytest.mark.parametrize("paper", PAPERS)
def test_rare_character_lines_print_as_images(paper):
    printout = decode(render_escpos(RARE, paper, native_qr=True))
    printed = "".join(printout.lines)
    assert "?" not in printed
    for ch in "𠮷䶮堃":
        assert ch not in printed
    # Everything the printer draws from its font is in GB2312.
    assert all(_gb2312(line) for line in printout.lines)
    images = printout.images
    assert len(images) == 2  # the name line and the noodles line; the QR is native
    assert all(image.width == DOTS[paper] for image in images)
    # Each image sits where its text line would be, and is that line drawn with the CJK font.
    order = [b.text if isinstance(b, TextLine) else "IMG" for b in printout.blocks]
    assert order[order.index("户号：H0001") + 1] == "IMG"
    assert order[order.index("户号：H0001") + 2] == "-" * {58: 32, 80: 48}[paper]
    columns = {58: 32, 80: 48}[paper]
    name_line = next(line for line in layout(RARE, paper) if line.startswith("户主："))
    expected = line_image(name_line, columns, DOTS[paper]).convert("L")
    assert ImageChops.difference(images[0], expected).getbbox() is None
    assert images[0].getextrema() == (0, 255)  # there is ink
    # The readable copy keeps the exact characters.
    text = "\n".join(layout(RARE, paper))
    assert "户主：𠮷*䶮" in text and "堃记手工挂面" in text


def _gb2312(line: str) -> bool:
    try:
        line.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def test_rare_characters_as_placeholders_when_configured():
    printout = decode(render_escpos(RARE, 58, native_qr=True, rare_chars="placeholder"))
    assert printout.images == []
    assert "户主：□*□" in printout.lines
    assert any(line.startswith("□记手工挂面") for line in printout.lines)
    assert all(_gb2312(line) for line in printout.lines)
    with pytest.raises(ValueError):
        render_escpos(RARE, 58, rare_chars="question-mark")


def test_a_gbk_printer_prints_gbk_characters_as_text():
    printout = decode(render_escpos(RARE, 80, native_qr=True, charset="gbk"))
    assert any(line.startswith("堃记手工挂面") for line in printout.lines)
    assert len(printout.images) == 1  # only the Extension A/B name line
