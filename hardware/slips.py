"""Slips beyond the redemption receipt, laid out like it and printed through the same
pipeline (text mode or raster mode): a printer test page, a household card on thermal
paper and the stock-in slip (物品入库单). Plain data in, :class:`hardware.receipt.Slip` out; no Flask and no database here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hardware.cards import CardFace, group_digits
from hardware.receipt import (
    ReceiptLayout,
    Slip,
    clean,
    goods_table,
    pad,
    text_width,
    two_ends,
    wrap,
    wrapped,
)

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


@dataclass(frozen=True)
class StockInItem:
    """One line of a stock-in slip; money already formatted as yuan ("12.50")."""

    name: str
    quantity: int
    unit: str
    unit_cost: str
    line_cost: str


@dataclass(frozen=True)
class StockInSlipData:
    """What a stock-in slip (物品入库单) shows: who delivered what, at what cost, and who took it."""

    supermarket_name: str
    when: str
    supplier: str
    invoice_no: str
    lines: list[StockInItem] = field(default_factory=list)
    total: str = "0.00"
    keeper: str = ""


STOCK_IN_TITLE = "物品入库单"
STOCK_IN_SIGNATURES = ("经办人签字：", "验收人签字：")


def _stock_in_lines(items: list[StockInItem], width: int) -> list[str]:
    """The goods table: name, quantity and amount (yuan); the unit cost on a line below."""
    rows = [
        (
            item.name,
            f"{item.quantity}{clean(item.unit)}",
            item.line_cost,
            f"  单价：{item.unit_cost}元/{clean(item.unit) or '件'}",
        )
        for item in items
    ]
    return goods_table(rows, width, "金额(元)", width // 3)


def stock_in_slip(data: StockInSlipData, columns: int) -> Slip:
    """The stock-in slip (物品入库单): supplier, invoice, goods at cost, total, signatures."""
    rule = "-" * columns
    body = [
        rule,
        *wrapped(f"时间：{data.when}", columns),
        *wrapped(f"供货方：{data.supplier or '（未填）'}", columns),
        *wrapped(f"发票号：{data.invoice_no or '（未填）'}", columns),
        rule,
        *_stock_in_lines(data.lines, columns),
        rule,
        *two_ends("品种数", str(len(data.lines)), columns),
        *two_ends("合计金额(元)", data.total, columns),
        *wrapped(f"经办人：{data.keeper}", columns),
        rule,
    ]
    footer = []
    for label in STOCK_IN_SIGNATURES:
        footer += [pad("", columns), pad("", columns)]
        footer.append(pad(label + "_" * (columns - text_width(label)), columns))
    return Slip(
        ReceiptLayout(
            columns=columns,
            heading=wrap(data.supermarket_name, columns // 2),
            titles=wrap(STOCK_IN_TITLE, columns),
            body=body,
            footer=footer,
        ),
        None,
    )
