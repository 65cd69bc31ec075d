"""Receipts for 58 mm and 80 mm thermal printers: a plain-data receipt, its text layout with
Chinese characters counted double width, and its ESC/POS bytes through python-escpos.

Chinese text is sent as GB18030 inside the printer's Chinese mode (FS & on, FS . off), which
every common Chinese thermal printer (Xprinter, Gprinter, Rongta) understands. In that mode
every byte >= 0x80 starts a character printed from the 24×24 Chinese font, two columns of the
12×24 ASCII font: so a character takes one column if it is ASCII and two otherwise.

Nothing is ever cut to fit: a long name wraps at the paper's width onto further lines.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import qrcode
from PIL import Image

from hardware.printers import printer_columns, printer_profile

FS_CHINESE_ON = b"\x1c\x26"
FS_CHINESE_OFF = b"\x1c\x2e"
LF = b"\n"
QR_MODULE_DOTS = {58: 5, 80: 6}
SIGNATURE = "领取人签字："
# Printed double size under the supermarket's name on every copy of a voided redemption's
# receipt, so a reprint can never pass for goods still owed.
VOID_MARK = "【作废】"
# The printer's built-in Chinese font: cheap printers have GB2312 (and some of GBK) although
# they accept any GB18030 bytes; a character outside it prints as "?" or a blank.
FONT_CHARSET = "gb2312"
RARE_CHAR_MODES = ("image", "placeholder")
PLACEHOLDER = "□"
RASTER_FRAGMENT_ROWS = 240  # GS v 0 rows per command


@dataclass(frozen=True)
class ReceiptItem:
    """One line of the redemption as printed."""

    name: str
    quantity: int
    unit: str
    unit_points: int
    line_points: int


@dataclass(frozen=True)
class Receipt:
    """Everything a redemption receipt shows, already formatted (masked name, local time)."""

    supermarket_name: str
    receipt_no: str
    when: str
    household_no: str
    masked_name: str
    items: list[ReceiptItem]
    total_points: int
    balance_before: int
    balance_after: int
    keeper: str
    title: str = "积分兑换单"
    copy_label: str = ""
    notes: list[str] = field(default_factory=list)
    voided: bool = False


@dataclass(frozen=True)
class ReceiptLayout:
    """The receipt's lines by part; ``heading`` is printed double size, the rest normal."""

    columns: int
    heading: list[str]
    titles: list[str]
    body: list[str]
    footer: list[str]


def clean(text: str) -> str:
    """Text safe to send to a printer: control characters (which would be printer
    commands) and line breaks become spaces, invisible format characters are dropped."""
    out = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif category == "Cs":
            out.append("?")
        elif category != "Cf":
            out.append(ch)
    return "".join(out)


def char_width(ch: str) -> int:
    """Columns a character takes in the printer's Chinese mode: 1 for ASCII, else 2."""
    return 1 if ord(ch) < 0x80 else 2


def text_width(text: str) -> int:
    """Columns ``text`` takes on the paper."""
    return sum(char_width(ch) for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` columns, losing no character.

    ASCII words are not split when a space before them allows a break (a space falling
    on the break is dropped); Chinese text breaks between any two characters. Always
    returns at least one line.
    """
    if width < 2:
        raise ValueError("width must hold a Chinese character")
    lines: list[str] = []
    line, used = "", 0
    for ch in clean(text):
        w = char_width(ch)
        if used + w > width and line:
            if ch == " ":  # a space at the break is the break itself
                lines.append(line)
                line, used = "", 0
                continue
            cut = len(line)
            if ch.isascii() and ch.isalnum() and line[-1].isascii() and line[-1].isalnum():
                space = line.rfind(" ")
                if space > 0:
                    cut = space + 1
            lines.append(line[:cut])
            line = line[cut:]
            used = text_width(line)
        line += ch
        used += w
    lines.append(line)
    return lines


def pad(text: str, width: int, align: str = "left") -> str:
    """``text`` filled with spaces to exactly ``width`` columns; too wide is an error."""
    gap = width - text_width(text)
    if gap < 0:
        raise ValueError(f"{text!r} is wider than {width} columns")
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def wrapped(text: str, width: int, align: str = "left") -> list[str]:
    """``text`` wrapped and each line padded to exactly ``width`` columns."""
    return [pad(part, width, align) for part in wrap(text, width)]


def two_ends(left: str, right: str, width: int) -> list[str]:
    """``left`` and ``right`` on one line with spaces between; wrapped when they do not fit."""
    left, right = clean(left), clean(right)
    if text_width(left) + 1 + text_width(right) <= width:
        return [left + " " * (width - text_width(left) - text_width(right)) + right]
    return wrapped(left, width) + wrapped(right, width, "right")


class _LineState(TypedDict):
    """The text mode's current size, alignment and weight, as the raster fallback takes them."""

    size: int
    align: str
    bold: bool


def goods_table(
    rows: Sequence[tuple[str, str, str, str | None]], width: int, amount_header: str, cap: int
) -> list[str]:
    """A goods table shared by receipts and slips: rows of (name, quantity text, amount text,
    an optional note line below), numbers right-aligned in columns at most ``cap`` wide."""
    qty_w = min(cap, max(text_width(t) for t in ["数量", *(r[1] for r in rows)]) + 2)
    amount_w = min(cap, max(text_width(t) for t in [amount_header, *(r[2] for r in rows)]) + 2)
    name_w = width - qty_w - amount_w
    lines = [
        pad("物品", name_w) + pad("数量", qty_w, "right") + pad(amount_header, amount_w, "right")
    ]
    for name, qty, amount, note in rows:
        if text_width(qty) < qty_w and text_width(amount) < amount_w:
            names = wrap(name, name_w)
            lines.append(
                pad(names[0], name_w) + pad(qty, qty_w, "right") + pad(amount, amount_w, "right")
            )
            lines += [pad(part, width) for part in names[1:]]
        else:  # numbers too wide for the table: name, then the numbers on lines of their own
            lines += wrapped(name, width)
            lines += wrapped(f"{qty} {amount}", width, "right")
        if note is not None:
            lines += wrapped(note, width)
    return lines


def _item_lines(items: list[ReceiptItem], width: int) -> list[str]:
    """The receipt's goods table: name, quantity and points; the unit price when more than one."""
    rows = [
        (
            item.name,
            f"{item.quantity}{clean(item.unit)}",
            str(item.line_points),
            f"  单价：{item.unit_points}积分/{clean(item.unit) or '件'}"
            if item.quantity > 1
            else None,
        )
        for item in items
    ]
    return goods_table(rows, width, "积分", width // 4)


def build(receipt: Receipt, columns: int) -> ReceiptLayout:
    """Lay the receipt out for ``columns`` characters per line."""
    width = columns
    rule = "-" * width
    titles = wrap(receipt.title, width)
    if receipt.copy_label:
        titles += wrap(receipt.copy_label, width)
    body = [
        rule,
        *wrapped(f"单号：{receipt.receipt_no}", width),
        *wrapped(f"时间：{receipt.when}", width),
        *wrapped(f"户号：{receipt.household_no}", width),
        *wrapped(f"户主：{receipt.masked_name}", width),
        rule,
        *_item_lines(receipt.items, width),
        rule,
        *two_ends("合计积分", str(receipt.total_points), width),
        *two_ends("兑换前积分", str(receipt.balance_before), width),
        *two_ends("兑换后积分", str(receipt.balance_after), width),
        *wrapped(f"经办人：{receipt.keeper}", width),
    ]
    for note in receipt.notes:
        body += wrapped(note, width)
    body.append(rule)
    footer = [
        pad("", width),
        pad("", width),
        pad(SIGNATURE + "_" * (width - text_width(SIGNATURE)), width),
    ]
    return ReceiptLayout(
        columns=width,
        heading=wrap(receipt.supermarket_name, width // 2)
        + ([VOID_MARK] if receipt.voided else []),
        titles=titles,
        body=body,
        footer=footer,
    )


def layout(
    receipt: Receipt,
    paper_mm: int = 80,
    *,
    profile: str | None = None,
    columns: int | None = None,
) -> list[str]:
    """The readable rendering: every line exactly the paper's columns wide, heading centred.

    The QR code is left out; the printed receipt has it between the body and the signature.
    """
    parts = build(receipt, printer_columns(paper_mm, profile, columns))
    width = parts.columns
    return (
        [pad(line, width, "center") for line in parts.heading + parts.titles]
        + parts.body
        + parts.footer
    )


def _gb(text: str) -> bytes:
    return text.encode("gb18030")


def qr_image(data: str, module_dots: int) -> Image.Image:
    """A QR code as a 1-bit image with the standard four-module quiet zone."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module_dots, border=4
    )
    code.add_data(data)
    code.make(fit=True)
    return code.make_image().get_image()


@dataclass(frozen=True)
class Slip:
    """Any printed slip: its laid-out lines and the QR code between the body and the footer."""

    parts: ReceiptLayout
    qr: str | None = None


def receipt_slip(receipt: Receipt, columns: int) -> Slip:
    """The redemption receipt as a slip: its layout and the receipt number's QR code."""
    return Slip(build(receipt, columns), receipt.receipt_no)


def slip_text(slip: Slip) -> str:
    """The slip's readable rendering (what the keeper sees on screen), heading centred."""
    parts = slip.parts
    width = parts.columns
    lines = (
        [pad(line, width, "center") for line in parts.heading + parts.titles]
        + parts.body
        + parts.footer
    )
    return "\n".join(line.rstrip() for line in lines)


def missing_glyphs(text: str, charset: str = FONT_CHARSET) -> str:
    """The characters of ``text`` the printer's built-in font (``charset``) cannot print."""
    missing = []
    for ch in text:
        if ord(ch) < 0x80:
            continue
        try:
            ch.encode(charset)
        except UnicodeEncodeError:
            missing.append(ch)
    return "".join(missing)


def render_escpos(
    receipt: Receipt,
    paper_mm: int = 80,
    *,
    native_qr: bool | None = None,
    profile: str | None = None,
    columns: int | None = None,
    charset: str = FONT_CHARSET,
    rare_chars: str = "image",
) -> bytes:
    """The receipt as ESC/POS bytes in Chinese text mode (see :func:`render_slip_escpos`)."""
    slip = receipt_slip(receipt, printer_columns(paper_mm, profile, columns))
    return render_slip_escpos(
        slip,
        paper_mm,
        native_qr=native_qr,
        profile=profile,
        charset=charset,
        rare_chars=rare_chars,
    )


def render_slip_escpos(
    slip: Slip,
    paper_mm: int = 80,
    *,
    native_qr: bool | None = None,
    profile: str | None = None,
    charset: str = FONT_CHARSET,
    rare_chars: str = "image",
) -> bytes:
    """A slip as ESC/POS bytes in Chinese text mode, built on python-escpos's Dummy printer.

    ``native_qr`` None follows the profile (GS ( k when it supports QR codes, else a
    raster image); ``profile`` is a python-escpos profile name (None: generic printer).
    A line with characters outside the printer's font (``charset``, GB2312 by default:
    rare name characters, CJK Extension B) is printed as a small raster image of that line
    (``rare_chars="image"``) or with each such character replaced by □
    (``rare_chars="placeholder"``); the job's readable text keeps the exact characters.
    """
    if rare_chars not in RARE_CHAR_MODES:
        raise ValueError(f"rare_chars 只能是 {' / '.join(RARE_CHAR_MODES)}，不是{rare_chars!r}")
    escpos_profile = printer_profile(paper_mm, profile)
    if native_qr is None:
        native_qr = bool(escpos_profile.supports("qrCode"))
    parts = slip.parts
    from escpos.constants import QR_ECLEVEL_M  # lazily, see printers.printer_profile
    from escpos.printer import Dummy

    p = Dummy(profile=escpos_profile)
    dots = int(escpos_profile.profile_data["media"]["width"]["pixels"])
    state: _LineState = {"size": 1, "align": "left", "bold": False}

    def line(text: str) -> None:
        missing = missing_glyphs(text, charset)
        if not missing:
            p._raw(_gb(text.rstrip()) + LF)
        elif rare_chars == "placeholder":
            p._raw(_gb("".join(PLACEHOLDER if ch in missing else ch for ch in text).rstrip()) + LF)
        else:
            from hardware.raster import line_image  # Pillow and a CJK font only when needed

            p.image(
                line_image(text, parts.columns, dots, **state),
                fragment_height=RASTER_FRAGMENT_ROWS,
            )

    p.hw("INIT")
    p._raw(FS_CHINESE_ON)
    # Heading: GS ! (python-escpos custom_size) is the size command that also scales Chinese.
    p.set(align="center", bold=True, custom_size=True, width=2, height=2)
    state.update({"size": 2, "align": "center", "bold": True})
    for text in parts.heading:
        line(text)
    p.set(custom_size=True, width=1, height=1)
    state.update({"size": 1})
    for text in parts.titles:
        line(text)
    p.set(align="left", bold=False)
    state.update({"align": "left", "bold": False})
    for text in parts.body:
        line(text)
    if slip.qr is not None:
        p.set(align="center")
        module = QR_MODULE_DOTS[paper_mm]
        if native_qr:
            p._raw(LF)
            p.qr(slip.qr, ec=QR_ECLEVEL_M, size=module, native=True)
            p._raw(LF)
        else:
            p.image(qr_image(slip.qr, module), center=True)
        p.set(align="left")
    for text in parts.footer:
        line(text)
    p._raw(FS_CHINESE_OFF)
    p.cut()
    return p.output
