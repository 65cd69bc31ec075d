"""The API's answers as pydantic response models (:class:`kiosk.api.contract.Answer`).

The builders in :mod:`kiosk.api.outputs` render rows as dicts of these shapes; a route names
its answer's model in ``contract.route(ok=...)``, the dict is serialised through it (a key it
does not name is an error, not a leak), and the OpenAPI document's schema is generated from it:
the class name is the schema's name. A field that is sometimes left out altogether (not null)
is named in :attr:`Sometimes.omissible`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    Field,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from kiosk.api import contract
from kiosk.models import (
    ENTRY_KINDS,
    PROPOSAL_APPROVED,
    PROPOSAL_PENDING,
    PROPOSAL_REJECTED,
    PROPOSAL_WITHDRAWN,
)


def _one_of(values: tuple[str, ...]) -> AfterValidator:
    """An answer's word from a fixed list (a new status the document lacks fails loudly)."""

    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"{value!r} is not one of {values}")
        return value

    return AfterValidator(check)


def _enum(values: tuple[str, ...]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(values)})


HOUSEHOLD_STATUSES = ("active", "inactive")
PRINT_STATUSES = ("queued", "sending", "printed", "failed")
PROPOSAL_STATUSES = (PROPOSAL_PENDING, PROPOSAL_APPROVED, PROPOSAL_REJECTED, PROPOSAL_WITHDRAWN)
PRINTER_TYPES = ("preview", "usb", "serial", "network", "file", "cups")
PRINT_KINDS = ("receipt", "test_page", "card", "stock_in")
PRINTER_STATES = ("online", "offline", "paper_out", "unknown")

Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
OptionalDay = Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "format": "date"})]
HouseholdStatus = Annotated[str, _one_of(HOUSEHOLD_STATUSES), _enum(HOUSEHOLD_STATUSES)]
ProductKind = Annotated[str, _one_of(("goods", "service")), _enum(("goods", "service"))]
RedemptionStatus = Annotated[str, _one_of(("completed", "voided")), _enum(("completed", "voided"))]
CardStatus = Annotated[str, _one_of(("active", "revoked")), _enum(("active", "revoked"))]
# Every kind the ledger holds, the rules' own entries included (conversion, veto_clear, expiry,
# base_grant): one list, the models'.
EntryKind = Annotated[str, _one_of(ENTRY_KINDS), _enum(ENTRY_KINDS)]
PrintStatus = Annotated[str, _one_of(PRINT_STATUSES), _enum(PRINT_STATUSES)]
PrintKind = Annotated[str, _one_of(PRINT_KINDS), _enum(PRINT_KINDS)]
PrinterType = Annotated[str, _one_of(PRINTER_TYPES), _enum(PRINTER_TYPES)]
PrintMode = Annotated[str, _one_of(("text", "raster")), _enum(("text", "raster"))]
PrinterStatus = Annotated[str, _one_of(PRINTER_STATES), _enum(PRINTER_STATES)]
ProposalStatus = Annotated[str, _one_of(PROPOSAL_STATUSES), _enum(PROPOSAL_STATUSES)]


class Sometimes(contract.Answer):
    """An answer with fields that are left out (absent, not null) when the builder does not
    give them, named in ``omissible``; the document leaves them out of ``required``."""

    omissible: ClassVar[tuple[str, ...]] = ()

    # (No return type: the document describes the fields, not "an object".)
    @model_serializer(mode="wrap")
    def _leave_out(self, handler: SerializerFunctionWrapHandler):
        data = handler(self)
        for name in self.omissible:
            if name not in self.model_fields_set:
                data.pop(name, None)
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        if "required" in target:
            target["required"] = [n for n in target["required"] if n not in cls.omissible]
        return schema


class HouseholdBrief(contract.Answer):
    id: int
    number: str
    masked_name: str = Field(description="户主姓名（脱敏，如 张*丰）")
    village: str
    status: HouseholdStatus


class Account(contract.Answer):
    balance: int
    earned_total: int
    redeemed_total: int


class Reason(contract.Answer):
    code: str = Field(description="稳定的英文代码")
    message: str = Field(description="说明（按请求的语言）")
    blocking: bool
    params: dict[str, Any] = Field(description="说明里的数值（如 balance），供客户端自己组句")


class Decision(contract.Answer):
    may_redeem: bool
    spendable: int
    quota_left: int | None
    tier: str | None = Field(description="等级，规则里写的原样（如 三星级）")
    tier_label: str | None = Field(
        description="等级按请求的语言显示：jifen 自带规则的等级译出，村里自己起的名字照写"
    )
    next_open: OptionalDay = Field(description="兑换窗口关闭时，下一个可兑换日")
    reasons: list[Reason]


class Offer(contract.Answer):
    product_id: int
    points_price: int = Field(description="标价积分（按成本价折算）")
    points: int = Field(
        description="本户兑换一件实际扣的积分，与兑换时一致（符合条件的长者食堂等免费物品为0）"
    )
    allowed: bool = Field(
        description="按规则本户现在能否兑换一件（不看库存；如受限物品本期份数已用完则为 false）"
    )
    reason: Reason | None = Field(description="不能兑换时规则给出的第一条原因，能兑换时为 null")


class ScanResult(contract.Answer):
    card_id: int
    household: HouseholdBrief
    account: Account
    decision: Decision
    carried_points: str | None = Field(
        description="评分折算后结转的不足1分部分（如 0.55），没有时为 null"
    )
    offers: list[Offer] = Field(
        description="每件上架物品按规则对本户的判断（各按兑换一件算，与兑换时的判断相同）"
    )


class Category(contract.Answer):
    id: int
    name: str


class Product(contract.Answer):
    id: int
    sku: str
    barcode: str | None
    name: str
    unit: str
    category_id: int | None
    category: str | None
    kind: ProductKind
    restriction_key: str | None = Field(
        description="受限物品的规则键（如 elder_canteen），见规则的 restrictions"
    )
    points_price: int = Field(description="按成本价折算的积分（向上取整）")
    stock_qty: int
    unit_cost_fen: int = Field(description="移动平均成本（分）")
    active: bool


class Catalogue(contract.Answer):
    categories: list[Category]
    products: list[Product]


class ProductResult(contract.Answer):
    product: Product


class RedemptionLine(contract.Answer):
    product_id: int
    name: str
    unit: str
    quantity: int
    unit_points: int
    line_points: int


class Redemption(contract.Answer):
    id: int
    receipt_no: str = Field(examples=["DT01-00000001"])
    status: RedemptionStatus
    household: HouseholdBrief
    lines: list[RedemptionLine]
    total_points: int
    balance_before: int
    balance_after: int
    keeper: str = Field(description="经办人显示名")
    created_at: contract.LocalTime
    voided_at: contract.LocalTime
    void_reason: str | None


class Receipt(contract.Answer):
    job_id: int
    status: PrintStatus
    copy_no: int
    text: str = Field(description="小票的文字排版")
    last_error: str | None


class RedemptionResult(contract.Answer):
    redemption: Redemption
    receipt: Receipt | None


class ReceiptResult(contract.Answer):
    receipt: Receipt


class ReceiptBytes(contract.Answer):
    receipt: Receipt
    escpos_base64: str = Field(json_schema_extra={"contentEncoding": "base64"})


class HouseholdSummary(contract.Answer):
    id: int
    number: str
    head_name: str = Field(description="户主姓名：管理员和监督员看全名，超市管理员看脱敏名")
    masked_name: str
    village: str
    group_name: str
    status: HouseholdStatus
    balance: int


class HouseholdPage(contract.Answer):
    households: list[HouseholdSummary]
    page: int
    per_page: int
    total: int


class Member(Sometimes):
    omissible = ("birth_date",)

    id: int
    name: str = Field(description="管理员和监督员看全名，超市管理员看脱敏名")
    relation: str
    active: bool
    birth_date: OptionalDay = Field(None, description="只对管理员和监督员输出")


class MemberResult(contract.Answer):
    member: Member


class HouseholdDetail(contract.Answer):
    id: int
    number: str
    head_name: str
    masked_name: str
    village: str
    group_name: str
    status: HouseholdStatus
    members: list[Member]
    account: Account
    active_card_id: int | None
    created_at: contract.LocalTime


class HouseholdResult(contract.Answer):
    household: HouseholdDetail


class Card(contract.Answer):
    id: int
    household_id: int
    serial: int
    issue_no: int
    payload: str = Field(description="印在卡上的二维码内容")
    status: CardStatus
    issued_at: contract.LocalTime
    revoked_at: contract.LocalTime
    revoke_reason: str | None


class CardResult(contract.Answer):
    card: Card


class PointEntry(contract.Answer):
    id: int
    kind: EntryKind
    amount: int = Field(description="带符号")
    balance_after: int
    reason: str
    redemption_id: int | None
    reverses_id: int | None
    created_by: str | None
    created_at: contract.LocalTime


class PointHistory(contract.Answer):
    account: Account
    entries: list[PointEntry]


class StockMovement(contract.Answer):
    id: int
    product_id: int
    kind: str
    quantity: int
    unit_cost_fen: int
    quantity_after: int
    supplier: str
    invoice_no: str
    note: str
    created_at: contract.LocalTime


class TokenRecord(contract.Answer):
    id: int
    user_id: int
    label: str
    created_at: contract.LocalTime
    last_used_at: contract.LocalTime
    revoked_at: contract.LocalTime


class TokenIssued(contract.Answer):
    token: str = Field(description="令牌本身，只在此时显示一次")
    record: TokenRecord


class TokenList(contract.Answer):
    tokens: list[TokenRecord]


class TokenRevoked(contract.Answer):
    record: TokenRecord


# (The policy as data has its own hand-written schema, Policy: a request takes it too.)
PolicyData = Annotated[
    dict[str, Any], WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/Policy"}]})
]


class PresetRef(contract.Answer):
    key: str
    name: str


class PolicyInfo(contract.Answer):
    policy: PolicyData
    presets: list[PresetRef]


class PolicyResult(contract.Answer):
    policy: PolicyData


class PolicyBrief(contract.Answer):
    name: str
    preset: str | None


class Standing(contract.Answer):
    id: int
    number: str
    name: str = Field(description="户主姓名（超市管理员看到脱敏名）")
    balance: int
    earned_total: int
    may_redeem: bool
    spendable: int
    tier: str | None
    quota_left: int | None
    next_open: OptionalDay
    reasons: list[Reason]


class Preview(contract.Answer):
    date: Day
    policy: PolicyBrief
    households: list[Standing]


Score = Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 100})]
PeriodText = Annotated[str, WithJsonSchema(contract.PERIOD_SCHEMA)]


class Assessment(contract.Answer):
    id: int
    household_id: int
    household_number: str
    member_id: int | None
    member_name: str | None
    period: PeriodText
    score: Score
    note: str
    created_by: str | None
    created_at: contract.LocalTime


class AssessmentResult(contract.Answer):
    assessment: Assessment


class AssessmentList(contract.Answer):
    period: PeriodText
    assessments: list[Assessment]


class Veto(contract.Answer):
    id: int
    household_id: int
    household_number: str
    head_name: str
    member_id: int | None
    member_name: str | None
    on: Day
    kind: str
    reason: str
    created_by: str | None
    created_at: contract.LocalTime


class VetoResult(contract.Answer):
    veto: Veto


class VetoList(contract.Answer):
    year: int | None
    vetoes: list[Veto]


class Cycle(contract.Answer):
    """年终结转的结果（再次结转同一年返回第一次的结果，不再记账）"""

    year: int
    households: int = Field(description="结转的户数")
    expired_points: int = Field(description="清零的积分合计")
    granted_points: int = Field(description="发放的基础分合计")
    closed_at: contract.LocalTime


class CycleResult(contract.Answer):
    cycle: Cycle


class Printer(contract.Answer):
    """本机的打印机（instance/printer.json，没有时用实例配置 JIFEN_PRINTER），不含连接细节"""

    type: PrinterType
    paper_mm: Annotated[int, WithJsonSchema({"type": "integer", "enum": [58, 80]})]
    mode: PrintMode = Field(description="文字或图像模式")
    profile: str | None = Field(description="python-escpos 打印机型号配置")
    described: str = Field(description="打印机的简短说明（类型和地址）")


class PrinterSettingsResult(contract.Answer):
    printer: Printer
    settings: Annotated[
        dict[str, Any],
        WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/PrinterSettings"}]}),
    ]


class PrinterState(contract.Answer):
    printer: Printer
    status: PrinterStatus = Field(description="在线、离线、缺纸、未知（打印机没有回答状态查询）")


class PrintJob(contract.Answer):
    id: int
    kind: PrintKind
    status: PrintStatus
    redemption_id: int | None
    receipt_no: str | None = Field(description="小票的兑换单号（其他打印任务为空）")
    copy_no: int
    attempts: int = Field(description="已发送的次数")
    last_error: str | None
    printer: str
    created_at: contract.LocalTime
    printed_at: contract.LocalTime
    text: str = Field(description="打印内容的文字排版")


class PrintJobResult(contract.Answer):
    job: PrintJob


class PrintJobList(contract.Answer):
    jobs: list[PrintJob]


class RetryResult(contract.Answer):
    sent: list[PrintJob] = Field(description="本次重新发送的任务（遇到第一次失败即停止）")
    remaining: int = Field(description="仍未打印的任务数")


class StockInResult(Sometimes):
    omissible = ("slip",)

    movements: list[StockMovement]
    products: list[Product] = Field(description="入库后的商品：新的移动平均成本和积分价")
    slip: PrintJob | None = Field(
        None, description="print_slip 时：入库单的打印任务（打印出错为 null，入库照样有效）"
    )


# Proposals (two signatures for every award) ---------------------------------------------------


class StandardItemBrief(contract.Answer):
    id: int
    code: str
    title: str
    points: int


class ProposalPhoto(contract.Answer):
    position: int
    sha256: str
    size: int
    width: int
    height: int
    content_type: str


class Proposal(contract.Answer):
    id: int
    household_id: int
    household_number: str
    head_name: str
    member_id: int | None
    member_name: str | None
    standard_item: StandardItemBrief | None
    amount: int = Field(description="带符号：加分为正，扣分为负")
    occurred_on: Day
    reason: str
    evidence: str
    status: ProposalStatus
    batch_id: int | None
    entered_by_id: int | None
    entered_by: str | None
    entered_at: contract.LocalTime
    decided_by_id: int | None
    decided_by: str | None
    decided_at: contract.LocalTime
    decision_note: str
    entry_id: int | None = Field(description="确认后记入的积分记录（只有一条）")
    occurred_at: contract.LocalTime
    place: str
    location: str
    self_reported: bool = Field(description="群众自主申报")
    photos: list[ProposalPhoto]


class ProposalResult(Sometimes):
    omissible = ("message",)

    proposal: Proposal
    account: Account
    message: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None, description="提示：须由另一位管理员确认"
    )


class ProposalPage(contract.Answer):
    proposals: list[Proposal]
    page: int
    per_page: int
    total: int
