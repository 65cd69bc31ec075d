"""Receipts for 58 mm and 80 mm thermal printers: a plain-data receipt, its text layout with
CJK characters counted double width, and its ESC/POS bytes through python-escpos.

Chinese text is sent as GB18030 inside the printer's Chinese mode (FS & on, FS . off), which
every common Chinese thermal printer (Xprinter, Gprinter, Rongta) understands.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from escpos.printer import Dummy

COLUMNS = {58: 32, 80: 48}
FS_CHINESE_ON = b"\x1c\x26"
FS_CHINESE_OFF = b"\x1c\x2e"
ESC_INIT = b"\x1b\x40"
ESC_ALIGN = {"left": b"\x1b\x61\x00", "center": b"\x1b\x61\x01", "right": b"\x1b\x61\x02"}
GS_SIZE_NORMAL = b"\x1d\x21\x00"
GS_SIZE_DOUBLE = b"\x1d\x21\x11"
ESC_BOLD_ON = b"\x1b\x45\x01"
ESC_BOLD_OFF = b"\x1b\x45\x00"


@dataclass(frozen=True)
class ReceiptItem:
    name: str
    quantity: int
    unit: str
    unit_points: int
    line_points: int


@dataclass(frozen=True)
class Receipt:
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


def char_width(ch: str) -> int:
    """Columns a character takes on a thermal printer: CJK and full-width count two."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def fit(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` columns."""
    out, used = [], 0
    for ch in text:
        w = char_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out)


def pad(text: str, width: int, align: str = "left") -> str:
    text = fit(text, width)
    gap = width - text_width(text)
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def two_ends(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line, the gap between them filled with spaces."""
    right_w = text_width(right)
    return pad(left, max(0, width - right_w - 1)) + " " + right if right else pad(left, width)


def layout(receipt: Receipt, paper_mm: int = 80) -> list[str]:
    """The receipt as lines of exactly the paper's column count (the readable rendering)."""
    width = COLUMNS[paper_mm]
    rule = "-" * width
    lines = [pad(receipt.supermarket_name, width, "center"), pad(receipt.title, width, "center")]
    if receipt.copy_label:
        lines.append(pad(receipt.copy_label, width, "center"))
    lines += [
        rule,
        pad(f"单号：{receipt.receipt_no}", width),
        pad(f"时间：{receipt.when}", width),
        pad(f"户号：{receipt.household_no}  户主：{receipt.masked_name}", width),
        rule,
    ]
    qty_w, pts_w = 6, 8
    name_w = width - qty_w - pts_w
    lines.append(pad("物品", name_w) + pad("数量", qty_w, "right") + pad("积分", pts_w, "right"))
    for item in receipt.items:
        qty = f"{item.quantity}{item.unit}"
        if text_width(item.name) > name_w:
            lines.append(pad(item.name, width))
            lines.append(pad("", name_w) + pad(qty, qty_w, "right") + pad(str(item.line_points), pts_w, "right"))
        else:
            lines.append(
                pad(item.name, name_w) + pad(qty, qty_w, "right") + pad(str(item.line_points), pts_w, "right")
            )
        if item.quantity > 1:
            lines.append(pad(f"  单价{item.unit_points}分", width))
    lines += [
        rule,
        two_ends("合计积分", str(receipt.total_points), width),
        two_ends("兑换前积分", str(receipt.balance_before), width),
        two_ends("兑换后积分", str(receipt.balance_after), width),
        pad(f"经办人：{receipt.keeper}", width),
    ]
    lines += [pad(note, width) for note in receipt.notes]
    lines += [rule, "", pad("领取人签字：", width), "", pad("_" * (width - 2), width), ""]
    return lines


def _gb(text: str) -> bytes:
    return text.encode("gb18030", errors="replace")


def render_escpos(receipt: Receipt, paper_mm: int = 80, *, native_qr: bool = True) -> bytes:
    """The receipt as ESC/POS bytes, built on python-escpos's Dummy printer."""
    width = COLUMNS[paper_mm]
    lines = layout(receipt, paper_mm)
    p = Dummy()
    p._raw(ESC_INIT + FS_CHINESE_ON)
    # Heading: enlarged with GS ! (the size command that also scales Chinese characters).
    p._raw(ESC_ALIGN["center"] + GS_SIZE_DOUBLE + ESC_BOLD_ON)
    p._raw(_gb(fit(receipt.supermarket_name, width // 2).strip()) + b"\n")
    p._raw(GS_SIZE_NORMAL + ESC_BOLD_OFF)
    p._raw(_gb(receipt.title) + b"\n")
    if receipt.copy_label:
        p._raw(ESC_BOLD_ON + _gb(receipt.copy_label) + ESC_BOLD_OFF + b"\n")
    p._raw(ESC_ALIGN["left"])
    body_start = 3 if receipt.copy_label else 2
    for line in lines[body_start:]:
        p._raw(_gb(line.rstrip()) + b"\n")
    p._raw(FS_CHINESE_OFF)
    p.set(align="center")
    p.qr(receipt.receipt_no, size=6 if paper_mm == 80 else 5, native=native_qr, center=not native_qr)
    p._raw(b"\n")
    p.set(align="left")
    p.cut()
    return p.output
