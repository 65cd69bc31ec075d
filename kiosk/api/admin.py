"""Administration endpoints: households and members, cards, point entries, products, stock-in,
and API tokens."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any

from flask_babel import gettext
from pydantic import Field, field_validator

from inventory import printouts, stock
from inventory.models import KIND_GOODS, KIND_SERVICE
from inventory.products import (
    MAX_SERVICE_COST_FEN,
    create_product,
    policy_for,
    products_by_id,
    update_product,
)
from kiosk import auth, cards, households, intake, points
from kiosk.api import access, answers, contract, outputs, proposals
from kiosk.authn import current_supermarket
from kiosk.errors import NotFound

logger = logging.getLogger(__name__)

MAX_PER_PAGE = 100
MAX_HISTORY = 200
MAX_MEMBERS = 30
MAX_STOCK_IN_LINES = 200
MAX_UNIT_COST_FEN = 10_000_000
RESTRICTION_KEY = {
    "pattern": "^([a-z][a-z0-9_]{0,31})?$",
    "description": "受限物品的规则键（如 elder_canteen），见规则的 restrictions",
}


class HouseholdQuery(contract.Query):
    q: Annotated[str, contract.Search(50)] = Field(
        "", description="户号、成员姓名、拼音或首字母、卡号（只看前50个字）"
    )
    page: Annotated[int, contract.QueryWhole(1, 100_000)] = Field(1, description="页码")
    per_page: Annotated[int, contract.QueryWhole(1, MAX_PER_PAGE)] = Field(
        20, description="每页条数"
    )


class MemberInput(contract.Body):
    name: Annotated[str, contract.Text(50)]
    relation: Annotated[
        str, contract.Text(20, required=False, examples=["户主", "配偶", "子女"])
    ] = ""
    birth_date: Annotated[
        date | None,
        contract.Day(
            earliest=1880,
            required=False,
            description="1880年以后，不能晚于今天（超市所在地的日期）",
        ),
    ] = None

    def to_service(self) -> households.MemberInput:
        return households.MemberInput(
            name=self.name, relation=self.relation, birth_date=self.birth_date
        )


class HouseholdInput(contract.Body):
    number: Annotated[str, contract.Text(32, description="户号")]
    head_name: Annotated[str, contract.Text(50)]
    village: Annotated[str, contract.Text(50, required=False)] = ""
    group_name: Annotated[str, contract.Text(50, required=False)] = ""
    members: Annotated[list[MemberInput], Field(max_length=MAX_MEMBERS)] | None = Field(
        None, description="省略时以户主为唯一成员"
    )


class StatusInput(contract.Body):
    active: contract.Flag


class CardIssueInput(contract.Body):
    reason: Annotated[str, contract.Text(200, required=False, multiline=True)] = ""


class RevokeInput(contract.Body):
    reason: Annotated[str, contract.Text(200, multiline=True)]


class PointsProposalInput(contract.Body):
    """加分（award）或扣分（deduct）的分值写正数；提交为待确认的申请"""

    kind: Annotated[str, contract.Choice("award", "deduct")]
    amount: Annotated[int, contract.Whole(1, points.MAX_ADJUSTMENT)]
    reason: Annotated[str, contract.Text(intake.MAX_REASON, multiline=True)]
    idempotency_key: contract.IdempotencyKey | None = None


class PointsQuery(contract.Query):
    limit: Annotated[int, contract.QueryWhole(1, MAX_HISTORY)] = Field(50, description="条数")


class ProductInput(contract.Body):
    sku: Annotated[str, contract.Text(32)]
    name: Annotated[str, contract.Text(100)]
    unit: Annotated[str, contract.Text(16, required=False, blank="件")] = "件"
    category: Annotated[str | None, contract.Text(50, required=False, blank=None)] = None
    barcode: Annotated[
        str | None, contract.Text(32, required=False, blank=None, pattern="^[0-9]*$")
    ] = None
    kind: Annotated[str, contract.Choice(KIND_GOODS, KIND_SERVICE, default=KIND_GOODS)] = KIND_GOODS
    unit_cost_fen: Annotated[int, contract.Whole(0, MAX_UNIT_COST_FEN)] = Field(
        0, description="服务项目的成本价（分）；实物的成本由入库决定"
    )
    restriction_key: Annotated[
        str | None, contract.Text(32, required=False, blank=None, **RESTRICTION_KEY)
    ] = None

    @field_validator("barcode")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        if value is not None and not (value.isascii() and value.isdigit()):
            raise contract.refusal(gettext("只能由数字组成"))
        return value


class ProductChange(contract.Body):
    """只修改给出的字段"""

    name: Annotated[str | None, contract.Text(100)] = None
    unit: Annotated[str | None, contract.Text(16)] = None
    kind: Annotated[str | None, contract.Choice(KIND_GOODS, KIND_SERVICE)] = None
    # (None when left out; a null sent is refused, so neither the type nor the document says
    # null: the two defaults below are the only None these fields hold)
    unit_cost_fen: Annotated[int, contract.Whole(0, MAX_SERVICE_COST_FEN)] = Field(
        None,  # type: ignore[assignment]
        description="服务项目的价格（分）；实物的成本由入库决定，不能在此修改",
    )
    restriction_key: Annotated[
        str | None,
        contract.Text(
            32,
            required=False,
            blank=None,
            pattern=RESTRICTION_KEY["pattern"],
            description="现行规则 restrictions 里的键（如 elder_canteen）；null 或空为普通物品",
        ),
    ] = None
    active: contract.Flag = Field(None, description="是否上架")  # type: ignore[assignment]


class StockInLine(contract.Body):
    product_id: contract.ID
    quantity: contract.Count
    unit_cost_fen: Annotated[int, contract.Whole(0, MAX_UNIT_COST_FEN)]


class StockInInput(contract.Body):
    supplier: Annotated[str, contract.Text(100, required=False)] = ""
    invoice_no: Annotated[str, contract.Text(50, required=False)] = ""
    note: Annotated[str, contract.Text(200, required=False, multiline=True)] = ""
    print_slip: contract.Flag = Field(
        False, description="入库后打印物品入库单（打印失败不影响入库）"
    )
    lines: Annotated[list[StockInLine], Field(max_length=MAX_STOCK_IN_LINES)]


class TokenInput(contract.Body):
    label: Annotated[str, contract.Text(100, required=False)] = ""


# Households and members ---------------------------------------------------------------------


@contract.route(
    "GET",
    "/households",
    summary="户列表（按户号、成员姓名、拼音或卡号搜索，分页）",
    tag="households",
    action="household.lookup",
    query=HouseholdQuery,
    ok=(200, answers.HouseholdPage, "一页户"),
)
def list_households(query: HouseholdQuery):
    """This supermarket's households, paginated; ``q`` finds them as the office's search does
    (number, any member's name, pinyin, initials, or a card code)."""
    supermarket = current_supermarket()
    page, per_page = query.page, query.per_page
    rows, total = households.find_households(supermarket.id, query.q, page=page, per_page=per_page)
    viewer = access.me()
    return {
        "households": [outputs.household_summary(h, viewer) for h in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


@contract.route(
    "POST",
    "/households",
    summary="登记新户（含成员，积分账户余额为0）",
    tag="households",
    action="household.manage",
    body=HouseholdInput,
    ok=(201, answers.HouseholdResult, "已登记"),
    errors=("duplicate",),
)
def create_household(body: HouseholdInput):
    """Register a household with its members and an empty points account."""
    members = [m.to_service() for m in body.members or ()]
    household = households.create_household(
        current_supermarket().id,
        number=body.number,
        head_name=body.head_name,
        village=body.village,
        group_name=body.group_name,
        members=members or None,
        actor=access.me(),
    )
    return {"household": outputs.household_detail(household, access.me())}


@contract.route(
    "GET",
    "/households/<int:household_id>",
    summary="户详情：成员、积分账户、当前有效卡",
    tag="households",
    action="household.lookup",
    ok=(200, answers.HouseholdResult, "户详情"),
    errors=("not_found",),
)
def get_household(household_id: int):
    """A household with its members, account balance and active card."""
    household = access.household(household_id)
    return {"household": outputs.household_detail(household, access.me())}


@contract.route(
    "POST",
    "/households/<int:household_id>/members",
    summary="添加家庭成员",
    tag="households",
    action="household.manage",
    body=MemberInput,
    parse_body=False,  # its fields are named member.name, member.relation, ...
    ok=(201, answers.MemberResult, "已添加"),
    errors=("not_found",),
)
def add_member(household_id: int):
    """Add a resident to a household."""
    member = contract.parse(MemberInput, contract.json_object(), prefix="member")
    access.household(household_id)
    row = households.add_member(household_id, member.to_service(), actor=access.me())
    return {"member": outputs.member(row, access.me())}


@contract.route(
    "POST",
    "/households/<int:household_id>/status",
    summary="启用或停用一户",
    tag="households",
    action="household.manage",
    body=StatusInput,
    ok=(200, answers.HouseholdResult, "新状态"),
    errors=("not_found",),
)
def set_status(household_id: int, body: StatusInput):
    """Activate or deactivate a household (a deactivated one cannot redeem)."""
    access.household(household_id)
    household = households.set_household_status(household_id, body.active, actor=access.me())
    return {"household": outputs.household_detail(household, access.me())}


# Cards --------------------------------------------------------------------------------------


@contract.route(
    "POST",
    "/households/<int:household_id>/cards",
    summary="发卡或补卡（补卡时旧卡作废）",
    tag="cards",
    action="household.manage",
    body=CardIssueInput,
    body_required=False,
    ok=(201, answers.CardResult, "新卡"),
    errors=("not_found",),
)
def issue_card(household_id: int, body: CardIssueInput):
    """Issue the household's card; a reissue revokes the card it replaces."""
    access.household(household_id)
    card = cards.issue_card(household_id, actor=access.me(), reason=body.reason)
    return {"card": outputs.card(card)}


@contract.route(
    "POST",
    "/cards/<int:card_id>/revoke",
    summary="作废卡片",
    tag="cards",
    action="household.manage",
    body=RevokeInput,
    ok=(200, answers.CardResult, "已作废的卡"),
    errors=("not_found", "card_revoked"),
)
def revoke_card(card_id: int, body: RevokeInput):
    """Revoke a card (lost, damaged, household left); it is refused everywhere after."""
    access.card(card_id)
    card = cards.revoke_card(card_id, actor=access.me(), reason=body.reason)
    return {"card": outputs.card(card)}


# Point entries ------------------------------------------------------------------------------


@contract.route(
    "POST",
    "/households/<int:household_id>/points",
    summary="加分或扣分：提交加减分申请（须另一位管理员确认）",
    tag="points",
    action="points.enter",
    body=PointsProposalInput,
    ok=(
        202,
        answers.ProposalResult,
        "新的待确认申请；积分账户不变，message 提示须另一位管理员确认",
    ),
    also_ok=((200, answers.ProposalResult, "重试：原来的申请（状态可能已变）"),),
    errors=("not_found", "idempotency_conflict"),
    params=(proposals.KEY_HEADER_PARAM,),
    description="不再直接记入积分：与 POST /api/v1/proposals 相同，提交一笔发生日期为今天的申请，"
    "确认前积分不变。\n\n" + proposals.TWO_SIGNATURES + "\n\n" + proposals.RETRY,
)
def post_points(household_id: int, body: PointsProposalInput):
    """Propose an award or deduction (202): it counts only when another admin approves it.

    Kept for the clients written against the one-signature version of this route: the same body
    now makes a pending proposal, exactly as POST /proposals does (the same key namespace, so a
    retry returns the same proposal, 200); the ledger is not touched until a second admin
    approves it at /proposals/<id>/approve or at the office's /intake."""
    key = proposals.stored_key(proposals.request_key(body.idempotency_key))
    access.household(household_id)
    data = intake.ProposalInput(
        household_id=household_id,
        occurred_on=proposals.default_day(key),
        amount=body.amount if body.kind == "award" else -body.amount,
        reason=body.reason,
    )
    row, created = intake.submit_proposal(
        current_supermarket().id, data, actor=access.me(), idempotency_key=key
    )
    answer = proposals.result(row, message=str(proposals.PENDING_MESSAGE))
    return answer, (202 if created else 200)


@contract.route(
    "GET",
    "/households/<int:household_id>/points",
    summary="积分明细（最新在前）",
    tag="points",
    action="household.lookup",
    query=PointsQuery,
    ok=(200, answers.PointHistory, "账户和明细"),
    errors=("not_found",),
)
def points_history(household_id: int, query: PointsQuery):
    """A household's point entries, newest first (``limit``, default 50)."""
    household = access.household(household_id)
    entries = points.history(household.id, query.limit)
    return {
        "account": outputs.account(household.account),
        "entries": [outputs.point_entry(e) for e in entries],
    }


# Products and stock-in ----------------------------------------------------------------------


@contract.route(
    "POST",
    "/products",
    summary="新增商品或服务项目",
    tag="catalogue",
    action="product.manage",
    body=ProductInput,
    ok=(201, answers.ProductResult, "已新增"),
    errors=("duplicate",),
)
def new_product(body: ProductInput):
    """Add goods or a service to the catalogue (goods get stock by stock-in)."""
    supermarket = current_supermarket()
    product = create_product(supermarket.id, **body.model_dump(), actor=access.me())
    return {"product": outputs.product(product, policy_for(supermarket))}


@contract.route(
    "PATCH",
    "/products/<int:product_id>",
    summary="修改商品的规则相关设置（类型、限定物品、服务价格、上架）",
    tag="catalogue",
    action="product.manage",
    body=ProductChange,
    ok=(200, answers.ProductResult, "修改后的商品"),
    errors=("not_found",),
)
def edit_product(product_id: int, body: ProductChange):
    """Change a product's rule-linked fields (kind, restriction, service price, on sale)."""
    changes = body.model_dump(include=body.model_fields_set)
    supermarket = current_supermarket()
    product = update_product(supermarket.id, product_id, actor=access.me(), **changes)
    return {"product": outputs.product(product, policy_for(supermarket))}


@contract.route(
    "POST",
    "/stock-ins",
    summary="入库（按进价，更新移动平均成本和积分价）",
    tag="catalogue",
    action="stock.receive",
    body=StockInInput,
    ok=(201, answers.StockInResult, "入库记录和入库后的商品"),
    errors=("not_found", "month_closed"),
)
def stock_in(body: StockInInput):
    """Receive goods (入库) at unit cost; costs and points prices move to the new average."""
    lines = [stock.StockInLine(**line.model_dump()) for line in body.lines]
    supermarket = current_supermarket()
    movements = stock.receive_stock(
        supermarket.id,
        lines,
        actor=access.me(),
        supplier=body.supplier,
        invoice_no=body.invoice_no,
        note=body.note,
    )
    movement_ids = [m.id for m in movements]
    policy = policy_for(supermarket)
    product_ids = sorted({m.product_id for m in movements})
    products = products_by_id(product_ids)
    result: dict[str, Any] = {
        "movements": [outputs.movement(m) for m in movements],
        "products": [outputs.product(p, policy) for p in products],
    }
    if body.print_slip:
        result["slip"] = _print_stock_in_slip(movement_ids)
    return result


def _print_stock_in_slip(movement_ids: list[int]) -> dict[str, Any] | None:
    """Print the committed stock-in's slip (物品入库单); a failure is logged, never raised:
    the stock-in stands whatever the printer does."""
    try:
        job = printouts.print_stock_in_slip(movement_ids, actor=access.me())
    except Exception:  # noqa: BLE001 - the stock-in has committed; the slip is extra
        logger.exception("stock-in slip for movements %s not printed", movement_ids)
        return None
    return outputs.print_job(job, None)


# API tokens ---------------------------------------------------------------------------------


@contract.route(
    "GET",
    "/users/<int:user_id>/tokens",
    summary="用户的 API 令牌记录",
    tag="tokens",
    action="user.read",
    ok=(200, answers.TokenList, "令牌记录（不含令牌本身）"),
    errors=("not_found",),
)
def list_tokens(user_id: int):
    """A user's API tokens (their records, never the tokens themselves)."""
    user = access.user(user_id)
    rows = sorted(auth.list_tokens([user.id]), key=lambda t: t.id)
    return {"tokens": [outputs.token(t) for t in rows]}


@contract.route(
    "POST",
    "/users/<int:user_id>/tokens",
    summary="为用户签发 API 令牌",
    tag="tokens",
    action="user.manage",
    body=TokenInput,
    body_required=False,
    ok=(201, answers.TokenIssued, "新令牌（只显示这一次）"),
    errors=("not_found",),
)
def new_token(user_id: int, body: TokenInput):
    """Issue an API token for a user; the token is in this answer only."""
    access.user(user_id)
    secret = auth.issue_token(user_id, label=body.label, actor=access.me())
    row = auth.token_record(secret)
    assert row is not None  # stored by issue_token just now
    return {"token": secret, "record": outputs.token(row)}


@contract.route(
    "POST",
    "/tokens/<int:token_id>/revoke",
    summary="撤销 API 令牌",
    tag="tokens",
    action="user.manage",
    ok=(200, answers.TokenRevoked, "已撤销"),
    errors=("not_found",),
)
def revoke_token(token_id: int):
    """Revoke an API token: every request with it is refused from now on."""
    row = auth.find_token(token_id)
    if row is None:
        raise NotFound(gettext("没有找到该令牌"))
    access.user(row.user_id)
    auth.revoke_token(token_id, actor=access.me())
    return {"record": outputs.token(row)}  # (the same record, read again after the commit)
