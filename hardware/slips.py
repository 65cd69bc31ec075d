"""Slips beyond the redemption receipt, laid out like it and printed through the same
pipeline (text mode or raster mode): a printer test page and a household card on thermal
paper. Plain data in, :class:`hardware.receipt.Slip` out; no Flask and no database here.
"""

from __future__ import annotations

from hardware.cards import CardFace, group_digits
from hardware.receipt import ReceiptLayout, Slip, pad, two_ends, wrap, wrapped

CJK_SAMPLE = "中文测试：积分超市欢迎您"
TEST_QR = "JIFEN-TEST-PAGE"


def test_page(printer_name: str, paper_mm: int, columns: int, mode: str = "text") -> Slip:
    """A test page: which printer, the paper and mode, a CJK line, a ruler and a QR code."""
    rule = "-" * columns
    ruler = "".join(str(i % 10) for i in range(1, columns + 1))
    body = [
        rule,
        *wrapped(f"打印机：{printer_name}", columns),
        *wrapped(f"纸宽：{paper_mm}毫米，每行{columns}字符", columns),
        *wrapped(f"模式：{'图像' if mode == 'raster' else '文字'}", columns),
        rule,
        *wrapped(CJK_SAMPLE, columns),
        pad(ruler, columns),
        *two_ends("左", "右", columns),
        rule,
    ]
    footer = [*wrapped("二维码应能扫出 " + TEST_QR, columns)]
    return Slip(
        ReceiptLayout(
            columns=columns,
            heading=wrap("打印测试", columns // 2),
            titles=[],
            body=body,
            footer=footer,
        ),
        TEST_QR,
    )


def household_card(face: CardFace, columns: int) -> Slip:
    """A household's points card on thermal paper: village, number, masked name, the QR code
    and the payload's digits grouped for the keypad. ``face.masked_name`` must be masked."""
    rule = "-" * columns
    title = f"{face.village} 积分信息卡" if face.village else "积分信息卡"
    body = [
        rule,
        *wrapped(f"户号：{face.household_no}", columns),
        *wrapped(f"户主：{face.masked_name}", columns),
        rule,
    ]
    footer = [
        *wrapped(f"卡号 {group_digits(face.payload)}", columns, "center"),
        *wrapped("凭卡兑换，遗失请到村委补办", columns, "center"),
    ]
    return Slip(
        ReceiptLayout(
            columns=columns,
            heading=wrap(face.supermarket_name, columns // 2),
            titles=wrap(title, columns),
            body=body,
            footer=footer,
        ),
        face.payload,
    )
