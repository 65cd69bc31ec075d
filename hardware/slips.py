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


def signature_lines(labels: tuple[str, ...] | list[str], columns: int, gap: int = 2) -> list[str]:
    """A line to sign on for each label (经办人签字：____), with room above each to write."""
    lines: list[str] = []
    for label in labels:
        lines += [pad("", columns)] * gap
        lines.append(pad(label + "_" * (columns - text_width(label)), columns))
    return lines


def office_slip(
    supermarket_name: str, title: str, body: list[str], footer: list[str], columns: int
) -> Slip:
    """A slip of the office's (not a receipt): the supermarket's name enlarged, the title,
    the body and the footer, with no QR code."""
    return Slip(
        ReceiptLayout(
            columns=columns,
            heading=wrap(supermarket_name, columns // 2),
            titles=wrap(title, columns),
            body=body,
            footer=footer,
        ),
        None,
    )


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
    footer = signature_lines(STOCK_IN_SIGNATURES, columns)
    return office_slip(data.supermarket_name, STOCK_IN_TITLE, body, footer, columns)


# ---- the donation thank-you receipt (捐赠收据), appended by the donations work ----

_RMB_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_RMB_UNITS = ["", "拾", "佰", "仟"]
_RMB_SECTIONS = ["", "万", "亿"]


def rmb_upper(fen: int) -> str:
    """An amount in capital Chinese numerals as receipts write it: 50050 → 伍佰元伍角整."""
    if fen < 0:
        raise ValueError("amount must not be negative")
    whole, jiao, fen_ = fen // 100, fen // 10 % 10, fen % 10
    if whole == 0 and jiao == 0 and fen_ == 0:
        return "零元整"
    text = ""
    if whole:
        sections = []
        n = whole
        while n:
            sections.append(n % 10000)
            n //= 10000
        need_zero = False
        for index in range(len(sections) - 1, -1, -1):
            section = sections[index]
            if section == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or section < 1000):
                text += "零"
            need_zero = False
            part, zero = "", False
            for pos in range(3, -1, -1):
                digit = section // 10**pos % 10
                if digit == 0:
                    zero = bool(part)
                    continue
                if zero:
                    part += "零"
                    zero = False
                part += _RMB_DIGITS[digit] + _RMB_UNITS[pos]
            text += part + _RMB_SECTIONS[index]
        text += "元"
    if jiao == 0 and fen_ == 0:
        return text + "整"
    if jiao:
        text += _RMB_DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    if fen_:
        text += _RMB_DIGITS[fen_] + "分"
    else:
        text += "整"
    return text


@dataclass(frozen=True)
class DonationItem:
    """One kind of goods donated; money already formatted as yuan ("35.00")."""

    name: str
    quantity: int
    unit: str
    unit_value: str
    line_value: str


@dataclass(frozen=True)
class DonationReceiptData:
    """What the thank-you receipt shows. ``donor_name`` is already as it may be printed
    (people masked unless they agreed otherwise); contact details are never given to it."""

    supermarket_name: str
    receipt_no: str
    donated_on: str
    donor_name: str
    donor_kind: str
    form: str  # "cash" or "goods"
    amount: str  # yuan: the cash, or the goods' total assessed value
    amount_fen: int
    lines: list[DonationItem] = field(default_factory=list)
    note: str = ""
    keeper: str = ""
    printed_at: str = ""
    copy_label: str = ""
    reversed_note: str = ""


DONATION_TITLE = "捐赠收据"
DONATION_THANKS = "衷心感谢您对积分超市的支持！"


def donation_receipt(data: DonationReceiptData, columns: int) -> Slip:
    """The thank-you receipt (捐赠收据): number, donor, the cash (with capital numerals) or the
    goods at assessed value, who took it, and the thanks."""
    rule = "-" * columns
    body = [
        rule,
        *two_ends("收据号", data.receipt_no, columns),
        *wrapped(f"捐赠日期：{data.donated_on}", columns),
        *wrapped(f"捐赠方：{data.donor_name}", columns),
        *wrapped(f"类别：{data.donor_kind}", columns),
        rule,
    ]
    if data.form == "cash":
        body += [
            *wrapped("捐赠方式：现金", columns),
            *two_ends("金额(元)", data.amount, columns),
            *wrapped(f"大写：人民币{rmb_upper(data.amount_fen)}", columns),
        ]
    else:
        rows = [
            (
                item.name,
                f"{item.quantity}{clean(item.unit)}",
                item.line_value,
                f"  评估单价：{item.unit_value}元/{clean(item.unit) or '件'}",
            )
            for item in data.lines
        ]
        body += [
            *wrapped("捐赠方式：物品", columns),
            *goods_table(rows, columns, "价值(元)", columns // 3),
            rule,
            *two_ends("合计价值(元)", data.amount, columns),
            *wrapped(f"大写：人民币{rmb_upper(data.amount_fen)}", columns),
        ]
    if data.note:
        body += wrapped(f"备注：{data.note}", columns)
    body += [*wrapped(f"经办人：{data.keeper}", columns)]
    if data.printed_at:
        body += wrapped(f"打印时间：{data.printed_at}", columns)
    if data.copy_label:
        body += wrapped(data.copy_label, columns)
    if data.reversed_note:
        body += wrapped(data.reversed_note, columns)
    body.append(rule)
    footer = [
        *wrapped(DONATION_THANKS, columns, "center"),
        *signature_lines(("经办人签字：",), columns),
    ]
    return office_slip(data.supermarket_name, DONATION_TITLE, body, footer, columns)


def stock_in_document_slip(
    data: StockInSlipData, columns: int, number: str, copy_no: int = 1, printed_at: str = ""
) -> Slip:
    """The stock-in slip of a numbered stock-in document: its number under the time, and on a
    reprint (补打) the copy number and when it was printed."""
    slip = stock_in_slip(data, columns)
    extra = [*wrapped(f"单号：{number}", columns)]
    if copy_no > 1:
        extra += wrapped(f"补打（第{copy_no}份）", columns)
        if printed_at:
            extra += wrapped(f"补打时间：{printed_at}", columns)
    parts = slip.parts
    body = [parts.body[0], *extra, *parts.body[1:]]
    return Slip(
        ReceiptLayout(
            columns=parts.columns,
            heading=parts.heading,
            titles=parts.titles,
            body=body,
            footer=parts.footer,
        ),
        slip.qr,
    )


# ---- month-end summary slip (月结汇总) --------------------------------------------------------


@dataclass(frozen=True)
class MonthSlipData:
    """What the month-end summary slip shows; money already formatted as yuan ("12.50")."""

    supermarket_name: str
    month: str
    state: str  # "已结账 2025-04-01 09:00 李主任" or "未结账（预览）"
    stock: list[tuple[str, str]] = field(default_factory=list)  # (label, yuan)
    fund: list[tuple[str, str]] = field(default_factory=list)
    tieout: list[tuple[str, str]] = field(default_factory=list)  # (label, value with unit)
    printed_at: str = ""


MONTH_SLIP_TITLE = "月结汇总"
MONTH_SLIP_SIGNATURES = ("超市管理员：", "村两委：", "监督小组：")


def month_end_slip(data: MonthSlipData, columns: int) -> Slip:
    """The month-end summary slip: stock, fund pool and tie-out totals, then sign-off lines."""
    rule = "-" * columns

    def section(title: str, rows: list[tuple[str, str]]) -> list[str]:
        out = [*wrapped(f"【{title}】", columns)]
        for label, value in rows:
            out += two_ends(label, value, columns)
        return out

    body = [
        rule,
        *wrapped(f"月份：{data.month}", columns),
        *wrapped(f"状态：{data.state}", columns),
        rule,
        *section("库存（元）", data.stock),
        rule,
        *section("基金池（元）", data.fund),
        rule,
        *section("积分与发出成本", data.tieout),
        rule,
    ]
    if data.printed_at:
        body += wrapped(f"打印时间：{data.printed_at}", columns)
    footer = signature_lines(MONTH_SLIP_SIGNATURES, columns, gap=1)
    return office_slip(
        data.supermarket_name, f"{MONTH_SLIP_TITLE} {data.month}", body, footer, columns
    )


@dataclass(frozen=True)
class ClosingSlipData:
    """What the keeper's closing slip (日结单) shows for one day; money as yuan strings.

    ``chain_seq`` / ``chain_hash`` are the supermarket's audit chain head when printed: the
    paper copy lets the supervisors check later that no logged row was changed since.
    """

    supermarket_name: str
    day: str
    printed_at: str
    keeper: str
    redemptions: int
    redemption_points: int
    redemption_cost: str
    voids: int
    void_points: int
    void_cost: str
    net_points: int
    net_cost: str
    stock_ins: int
    stock_in_lines: int
    stock_in_cost: str
    print_failures: int
    chain_seq: int
    chain_hash: str


CLOSING_TITLE = "日结单"
CLOSING_SIGNATURES = ("超市管理员签字：", "监督小组签字：")


def closing_slip(data: ClosingSlipData, columns: int) -> Slip:
    """The keeper's closing slip (日结单): the day's redemptions, voids, stock-ins, print
    failures and the audit chain head (seq and the first 16 hex digits of its hash)."""
    rule = "-" * columns
    body = [
        rule,
        *wrapped(f"日期：{data.day}", columns),
        *wrapped(f"打印时间：{data.printed_at}", columns),
        *wrapped(f"超市管理员：{data.keeper}", columns),
        rule,
        *two_ends("兑换笔数", str(data.redemptions), columns),
        *two_ends("兑换积分", str(data.redemption_points), columns),
        *two_ends("兑换成本(元)", data.redemption_cost, columns),
        *two_ends("作废笔数", str(data.voids), columns),
        *two_ends("作废积分", str(data.void_points), columns),
        *two_ends("作废成本(元)", data.void_cost, columns),
        *two_ends("净兑换积分", str(data.net_points), columns),
        *two_ends("净兑换成本(元)", data.net_cost, columns),
        rule,
        *two_ends("入库单数", str(data.stock_ins), columns),
        *two_ends("入库品种行数", str(data.stock_in_lines), columns),
        *two_ends("入库金额(元)", data.stock_in_cost, columns),
        *two_ends("打印失败(未补打)", str(data.print_failures), columns),
        rule,
        *wrapped("操作日志链头：", columns),
        *wrapped(f"第{data.chain_seq}号 {data.chain_hash[:16]}", columns),
        rule,
    ]
    footer = signature_lines(CLOSING_SIGNATURES, columns)
    return office_slip(data.supermarket_name, CLOSING_TITLE, body, footer, columns)
