"""The demo village (``jifen demo``): a made-up 东村 with households, cards, goods and history.

Everything is written through the real services (households, cards, points, stock,
redemption), so the demo obeys the same rules as live data and ``jifen check`` is clean after
it. The content is deterministic (a seeded random generator); only the dates follow today.

The history is spread over the past six months so that the counter and self-service screens
show realistic dates: events are applied in date order and their ledger rows get the date the
event happened, so ids and dates agree.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from inventory import products as product_service
from inventory import stock as stock_service
from inventory.donations import seed_demo_fund
from inventory.models import KIND_GOODS, KIND_SERVICE, Product, StockIn, StockMovement
from inventory.monthend import seed_demo_monthend
from inventory.stock import seed_demo_stock
from inventory.stocktake import seed_demo_stocktake
from kiosk import auth, cards, households, points
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.formatting import mask_name
from kiosk.households import seed_demo_households
from kiosk.intake import seed_demo_intake
from kiosk.models import (
    CARD_ACTIVE,
    ROLE_ADMIN,
    ROLE_KEEPER,
    ROLE_SUPERVISOR,
    Card,
    Household,
    PointAccount,
    PointEntry,
    PrintJob,
    Redemption,
    Supermarket,
    User,
)
from kiosk.notice import seed_demo_notice
from kiosk.redemption import CartLine, redeem, void_redemption
from kiosk.supermarkets import create_supermarket, find_supermarket
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20240601
HISTORY_DAYS = 180

# (username, password, PIN, display name, role)
DEMO_USERS = (
    ("keeper", "keeper123", "1234", "王秀兰", ROLE_KEEPER),
    ("admin", "admin123", None, "李建国", ROLE_ADMIN),
    ("supervisor", "super123", None, "赵德明", ROLE_SUPERVISOR),
)

SURNAMES = "王王王李李李张张张刘刘陈陈杨杨赵黄周吴徐孙马朱胡郭何高林罗郑梁宋谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
MALE_CHARS = "建国志明伟强军平东海波华庆林勇成刚福贵德胜文斌永春山峰宝金宏"
FEMALE_CHARS = "秀兰英芳玉珍桂凤霞丽娟敏静红梅燕萍琴云华翠香淑美娥花莲"
CHILD_MALE = "子浩宇轩博然杰俊鹏涛磊鑫晨阳一泽睿"
CHILD_FEMALE = "欣怡婷雪琪佳悦梦瑶雨涵思诗露可萱"
GROUPS = ("第一村民小组", "第二村民小组", "第三村民小组", "第四村民小组")

# Points items (加分/减分事项) as an assessment group records them.
AWARDS = (
    ("志愿服务：村庄环境清扫", 5, 30),
    ("志愿服务：防汛值守", 10, 8),
    ("志愿服务：敬老院送温暖", 8, 10),
    ("参加村民代表会议", 2, 12),
    ("参加农技培训夜校", 3, 10),
    ("垃圾分类示范户", 5, 12),
    ("孝老爱亲", 10, 6),
    ("移风易俗：红白事简办", 20, 3),
    ("义务献血", 15, 3),
    ("好婆婆好媳妇评选", 20, 2),
    ("见义勇为", 50, 1),
)
DEDUCTIONS = (
    ("乱堆乱放，经提醒未整改", 5),
    ("焚烧秸秆", 10),
    ("门前三包未落实", 3),
    ("家禽散养影响村容", 3),
)
INSPECTION_REASON = "季度入户检查：{q}评分{score}分"

# (category, name, unit, cost in fen, kind)
GOODS = (
    ("粮油", "东北大米 5kg", "袋", 3250, KIND_GOODS),
    ("粮油", "富强粉 5kg", "袋", 2480, KIND_GOODS),
    ("粮油", "花生油 1.8L", "桶", 3590, KIND_GOODS),
    ("粮油", "大豆油 5L", "桶", 5450, KIND_GOODS),
    ("粮油", "鸡蛋挂面 1kg", "包", 890, KIND_GOODS),
    ("粮油", "小米 1kg", "袋", 1200, KIND_GOODS),
    ("粮油", "绿豆 500g", "袋", 780, KIND_GOODS),
    ("调味", "生抽酱油 500ml", "瓶", 650, KIND_GOODS),
    ("调味", "陈醋 500ml", "瓶", 580, KIND_GOODS),
    ("调味", "食用盐 400g", "袋", 250, KIND_GOODS),
    ("调味", "鸡精 200g", "袋", 890, KIND_GOODS),
    ("调味", "白糖 500g", "袋", 680, KIND_GOODS),
    ("调味", "料酒 500ml", "瓶", 450, KIND_GOODS),
    ("调味", "蚝油 260g", "瓶", 760, KIND_GOODS),
    ("日用品", "卷纸 10卷", "提", 1990, KIND_GOODS),
    ("日用品", "抽纸 3包", "提", 1050, KIND_GOODS),
    ("日用品", "纯棉毛巾", "条", 890, KIND_GOODS),
    ("日用品", "洗洁精 1.5kg", "瓶", 1090, KIND_GOODS),
    ("日用品", "垃圾袋 5卷", "包", 850, KIND_GOODS),
    ("日用品", "5号电池 4节", "板", 990, KIND_GOODS),
    ("日用品", "不锈钢保温杯", "个", 2590, KIND_GOODS),
    ("日用品", "塑料脸盆", "个", 690, KIND_GOODS),
    ("洗护", "洗衣粉 1.5kg", "袋", 1690, KIND_GOODS),
    ("洗护", "洗衣液 2kg", "瓶", 2390, KIND_GOODS),
    ("洗护", "肥皂 2块", "组", 590, KIND_GOODS),
    ("洗护", "香皂 125g", "块", 450, KIND_GOODS),
    ("洗护", "洗发水 400ml", "瓶", 2290, KIND_GOODS),
    ("洗护", "沐浴露 400ml", "瓶", 1990, KIND_GOODS),
    ("洗护", "牙膏 120g", "支", 890, KIND_GOODS),
    ("洗护", "牙刷 2支", "组", 590, KIND_GOODS),
    ("文具", "作业本 10本", "包", 500, KIND_GOODS),
    ("文具", "中性笔 10支", "盒", 990, KIND_GOODS),
    ("文具", "铅笔 10支", "盒", 390, KIND_GOODS),
    ("文具", "文具盒", "个", 1290, KIND_GOODS),
    ("文具", "双肩书包", "个", 4590, KIND_GOODS),
    ("文具", "橡皮 3块", "组", 250, KIND_GOODS),
    ("文具", "学生字典", "本", 1980, KIND_GOODS),
    ("服务", "理疗卡（单次）", "次", 3000, KIND_SERVICE),
    ("服务", "长者食堂午餐", "份", 800, KIND_SERVICE),
    ("服务", "理发（老人）", "次", 1000, KIND_SERVICE),
)

SUPPLIERS = ("镇供销社", "县城百货批发市场", "爱心企业捐赠采购")


class DemoExists(Exception):
    """The demo village has been loaded into this database already."""


class DatabaseNotEmpty(Exception):
    """The database holds households that are not the demo's: the demo will not mix in."""


@dataclass
class DemoCard:
    """A demo card a newcomer can type at the counter."""

    household_no: str
    masked_name: str
    balance: int
    payload: str


@dataclass
class DemoSummary:
    """What ``jifen demo`` loaded."""

    supermarket: str
    households: int = 0
    members: int = 0
    cards: int = 0
    products: int = 0
    point_entries: int = 0
    redemptions: int = 0
    voided: int = 0
    logins: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    sample_cards: list[DemoCard] = field(default_factory=list)


def ean13(first12: str) -> str:
    """A 13-digit EAN code: the 12 given digits and their check digit."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("EAN-13 needs 12 digits before the check digit")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def demo_exists() -> bool:
    """Whether the demo village has been loaded (its keeper exists)."""
    return (
        db.session.scalar(sa.select(User.id).where(User.username == DEMO_USERS[0][0])) is not None
    )


def _random_date(rng: random.Random, first_year: int, last_year: int) -> date:
    start = date(first_year, 1, 1).toordinal()
    end = date(last_year, 12, 31).toordinal()
    return date.fromordinal(rng.randint(start, end))


def _given(rng: random.Random, chars: str, two: float = 0.8) -> str:
    if rng.random() < two:
        return "".join(rng.sample(chars, 2))
    return rng.choice(chars)


def _family(rng: random.Random, today: date) -> list[households.MemberInput]:
    """A household of 1–5 people with names, relations and birth dates that fit together."""
    surname = rng.choice(SURNAMES)
    size = rng.choices([1, 2, 3, 4, 5], weights=[10, 25, 25, 25, 15])[0]
    head_male = rng.random() < 0.8 or size == 1 and rng.random() < 0.5
    head_year = rng.randint(1942, 1988)
    head = households.MemberInput(
        surname + _given(rng, MALE_CHARS if head_male else FEMALE_CHARS),
        "户主",
        _random_date(rng, head_year, head_year),
    )
    members = [head]
    if size >= 2:
        spouse_year = min(head_year + rng.randint(-3, 4), today.year - 20)
        spouse_surname = rng.choice(SURNAMES)
        members.append(
            households.MemberInput(
                spouse_surname + _given(rng, FEMALE_CHARS if head_male else MALE_CHARS),
                "配偶",
                _random_date(rng, spouse_year, spouse_year),
            )
        )
    child_year = head_year + rng.randint(22, 32)
    for _ in range(size - len(members)):
        if (
            head_year < 1965
            and child_year < today.year - 30
            and len(members) >= 3
            and rng.random() < 0.6
        ):
            # An older head often lives with a grandchild.
            male = rng.random() < 0.5
            year = min(child_year + rng.randint(24, 30), today.year - 1)
            members.append(
                households.MemberInput(
                    surname + _given(rng, CHILD_MALE if male else CHILD_FEMALE, 0.7),
                    "孙子" if male else "孙女",
                    _random_date(rng, year, year),
                )
            )
            continue
        male = rng.random() < 0.5
        year = min(child_year, today.year - 1)
        chars = (
            (CHILD_MALE if male else CHILD_FEMALE)
            if year > 2000
            else (MALE_CHARS if male else FEMALE_CHARS)
        )
        members.append(
            households.MemberInput(
                surname + _given(rng, chars),
                "儿子" if male else "女儿",
                _random_date(rng, year, year),
            )
        )
        child_year += rng.randint(2, 5)
    return members


@dataclass(order=True)
class _Event:
    moment: datetime
    order: int
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


def load_demo(
    *,
    seed: int = DEFAULT_SEED,
    households_count: int = 60,
    supermarket_code: str | None = None,
    now: datetime | None = None,
) -> DemoSummary:
    """Load the demo village into the database; DemoExists or DatabaseNotEmpty when it cannot."""
    if demo_exists():
        raise DemoExists("演示数据已经加载过了")
    supermarket = find_supermarket(supermarket_code)
    if supermarket is None:
        supermarket = create_supermarket(
            code=supermarket_code or "DT01",
            name="大同镇东村积分超市",
            town="大同镇",
            village="东村",
        )
    existing = db.session.scalar(
        sa.select(sa.func.count(Household.id)).where(Household.supermarket_id == supermarket.id)
    )
    if existing:
        raise DatabaseNotEmpty(f"数据库里已有 {existing} 户真实数据，演示数据不会混进去")

    rng = random.Random(seed)
    now = now or utcnow()
    today = now.date()
    start = now - timedelta(days=HISTORY_DAYS)
    summary = DemoSummary(supermarket=supermarket.name)

    users: dict[str, User] = {}
    for username, password, pin, display, role in DEMO_USERS:
        users[username] = auth.create_user(
            username,
            display_name=display,
            role=role,
            password=password,
            pin=pin,
            supermarket_id=supermarket.id,
        )
        summary.logins.append((username, password, pin, display))
    keeper, admin = users["keeper"], users["admin"]

    # Households, members and cards.
    # Ids, not ORM objects: every commit would expire (and reload) objects kept alive here.
    homes: list[int] = []
    per_group = -(-households_count // len(GROUPS))
    village = supermarket.village or "东村"
    for i in range(households_count):
        group = i // per_group
        members = _family(rng, today)
        home = households.create_household(
            supermarket.id,
            number=f"{group + 1:02d}{i % per_group + 1:03d}",
            head_name=members[0].name,
            village=village,
            group_name=GROUPS[group],
            members=members,
            actor=admin,
        )
        cards.issue_card(home.id, actor=admin)
        homes.append(home.id)
        summary.members += len(members)
    for home_id in rng.sample(homes, 2):  # a lost card, reissued: the old one is refused
        cards.issue_card(home_id, actor=admin, reason="卡片遗失，补办新卡")

    # Catalogue.
    goods: list[tuple[int, str]] = []
    for n, (category, name, unit, cost, kind) in enumerate(GOODS, start=1):
        barcode = ean13(f"69{rng.randint(10**9, 10**10 - 1)}") if kind == KIND_GOODS else None
        product = product_service.create_product(
            supermarket.id,
            sku=f"DC{n:04d}",
            name=name,
            unit=unit,
            category=category,
            barcode=barcode,
            kind=kind,
            unit_cost_fen=cost if kind == KIND_SERVICE else 0,
            actor=admin,
        )
        goods.append((product.id, kind))
    costs = {pid: cost for (pid, _), (_, _, _, cost, _) in zip(goods, GOODS, strict=True)}
    goods_ids = list(costs)

    # The timeline: stock-ins, points items, quarterly inspections, redemptions.
    events: list[_Event] = []
    seq = iter(range(10**9))

    def at(days_ago: float, hour: int | None = None) -> datetime:
        moment = now - timedelta(days=days_ago)
        if hour is not None:  # local office hours (UTC+8)
            moment = moment.replace(hour=(hour - 8) % 24, minute=rng.randint(0, 59), second=0)
        return min(max(moment, start), now - timedelta(minutes=5))

    for days_ago, factor in ((HISTORY_DAYS - 2, 1.0), (75, 1.04)):
        lines = [
            stock_service.StockInLine(pid, rng.randint(12, 60), round(costs[pid] * factor))
            for pid, kind in goods
            if kind == KIND_GOODS
        ]
        events.append(
            _Event(
                at(days_ago, 9),
                next(seq),
                "stock_in",
                {"lines": lines, "supplier": SUPPLIERS[0 if factor == 1 else 1]},
            )
        )
    for home_id in homes:
        for quarter_days, label in ((150, "上季度"), (60, "本季度")):
            score = rng.randint(78, 98)
            amount = max(1, round(score / 10))
            events.append(
                _Event(
                    at(quarter_days + rng.random() * 5, 10),
                    next(seq),
                    "award",
                    {
                        "home": home_id,
                        "amount": amount,
                        "reason": INSPECTION_REASON.format(q=label, score=score),
                    },
                )
            )
        for _ in range(rng.randint(1, 6)):
            reason, amount, _ = rng.choices(AWARDS, weights=[w for *_, w in AWARDS])[0]
            events.append(
                _Event(
                    at(rng.uniform(5, HISTORY_DAYS - 5), rng.randint(8, 17)),
                    next(seq),
                    "award",
                    {"home": home_id, "amount": amount, "reason": reason},
                )
            )
        if rng.random() < 0.12:
            reason, amount = rng.choice(DEDUCTIONS)
            events.append(
                _Event(
                    at(rng.uniform(5, HISTORY_DAYS - 5), rng.randint(8, 17)),
                    next(seq),
                    "deduct",
                    {"home": home_id, "amount": amount, "reason": reason},
                )
            )
    # Redemption days: the last market day of each month, and a few walk-ins.
    for days_ago in (140, 110, 80, 50, 20, 3):
        for home_id in rng.sample(homes, 6):
            events.append(
                _Event(
                    at(days_ago + rng.random() * 0.2, rng.randint(8, 11)),
                    next(seq),
                    "redeem",
                    {"home": home_id},
                )
            )
    events.sort()

    entry_dates: list[dict] = []
    movement_dates: list[dict] = []
    stock_in_dates: dict[int, datetime] = {}
    redemptions: list[tuple[int, datetime]] = []
    payloads = {
        hid: cards.payload_for(cards.active_card(db.session.get(Household, hid))) for hid in homes
    }
    for event in events:
        if event.kind == "stock_in":
            moves = stock_service.receive_stock(
                supermarket.id,
                event.data["lines"],
                actor=keeper,
                supplier=event.data["supplier"],
                invoice_no=f"RK{event.moment:%Y%m%d}",
            )
            movement_dates += [{"id": m.id, "created_at": event.moment} for m in moves]
            stock_in_dates[moves[0].ref_id] = event.moment
        elif event.kind in ("award", "deduct"):
            service = points.award_points if event.kind == "award" else points.deduct_points
            entry = service(
                event.data["home"], event.data["amount"], reason=event.data["reason"], actor=admin
            )
            entry_dates.append({"id": entry.id, "created_at": event.moment})
        else:
            redemption = _demo_redemption(rng, supermarket.id, event, goods_ids, payloads, keeper)
            if redemption is not None:
                redemptions.append((redemption.id, redemption.created_at))

    _backdate(entry_dates, movement_dates, redemptions, homes, start)
    with write_transaction():  # the stock-in documents carry their movements' dates
        for stock_in_id, moment in stock_in_dates.items():
            db.session.execute(
                sa.update(StockIn)
                .where(StockIn.id == stock_in_id)
                .values(created_at=moment)
                .execution_options(synchronize_session=False)
            )

    # A keeper handed out the wrong size; the village admin voided that slip (today).
    if redemptions:
        target_id = redemptions[-4][0] if len(redemptions) >= 4 else redemptions[0][0]
        void_redemption(target_id, actor=admin, reason="规格拿错，村民退回后重新兑换")
        summary.voided = 1

    # The office's books around the counter, each area's own demo data (see each function).
    seed_demo_households(supermarket, users, rng)
    seed_demo_fund(supermarket, users, rng)
    seed_demo_stock(supermarket, users, rng)
    seed_demo_intake(supermarket, users, rng)
    seed_demo_stocktake(supermarket, users, rng)
    seed_demo_notice(supermarket, users, rng)
    # Last: close every month of the history that has ended (the current month stays open).
    seed_demo_monthend(supermarket, users, rng)

    summary.households = db.session.scalar(
        sa.select(sa.func.count(Household.id)).where(Household.supermarket_id == supermarket.id)
    )
    summary.cards = db.session.scalar(
        sa.select(sa.func.count(Card.id))
        .join(Household, Household.id == Card.household_id)
        .where(Household.supermarket_id == supermarket.id, Card.status == CARD_ACTIVE)
    )
    summary.products = len(goods)
    summary.redemptions = len(redemptions)
    summary.point_entries = db.session.scalar(sa.select(sa.func.count(PointEntry.id))) or 0
    summary.sample_cards = existing_summary().sample_cards
    logger.info("demo village loaded: %s households, %s redemptions", len(homes), len(redemptions))
    return summary


def _demo_redemption(
    rng: random.Random,
    supermarket_id: int,
    event: _Event,
    goods_ids: list[int],
    payloads: dict[int, str],
    keeper: User,
) -> Redemption | None:
    """Redeem a cart the household can afford from what is on the shelf, or None."""
    budget = db.session.scalar(
        sa.select(PointAccount.balance).where(PointAccount.household_id == event.data["home"])
    )
    shelf = db.session.execute(
        sa.select(Product.id, Product.kind, Product.points_price, Product.stock_qty)
        .where(Product.id.in_(goods_ids))
        .order_by(Product.id)
    ).all()
    on_offer = [
        (pid, price)
        for pid, kind, price, qty in shelf
        if price > 0 and (kind == KIND_SERVICE or qty > 2)
    ]
    rng.shuffle(on_offer)
    lines: list[CartLine] = []
    total = 0
    for product_id, price in on_offer[: rng.randint(1, 4)]:
        qty = rng.choice([1, 1, 1, 2])
        if total + qty * price <= budget:
            lines.append(CartLine(product_id, qty))
            total += qty * price
    if not lines:
        return None
    return redeem(
        supermarket_id,
        card_payload=payloads[event.data["home"]],
        lines=lines,
        keeper=keeper,
        idempotency_key=f"demo-{event.order:08d}",
        moment=event.moment,
    )


def _backdate(
    entry_dates: list[dict],
    movement_dates: list[dict],
    redemptions: list[tuple[int, datetime]],
    home_ids: list[int],
    start: datetime,
) -> None:
    """Give the demo's ledger rows the dates their events happened (ids already in date order)."""
    with write_transaction():
        if entry_dates:
            db.session.execute(sa.update(PointEntry), entry_dates)
        if movement_dates:
            db.session.execute(sa.update(StockMovement), movement_dates)
        for redemption_id, created_at in redemptions:
            for model in (PointEntry, StockMovement, PrintJob):
                db.session.execute(
                    sa.update(model)
                    .where(model.redemption_id == redemption_id, model.created_at > created_at)
                    .values(created_at=created_at)
                    .execution_options(synchronize_session=False)
                )
        registered = start - timedelta(days=10)
        db.session.execute(
            sa.update(Household)
            .where(Household.id.in_(home_ids))
            .values(created_at=registered)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.update(Card)
            .where(Card.household_id.in_(home_ids), Card.issue_no == 1)
            .values(issued_at=registered)
            .execution_options(synchronize_session=False)
        )


def existing_summary() -> DemoSummary:
    """The logins and a few typeable cards of a demo village loaded earlier."""
    keeper = db.session.scalar(sa.select(User).where(User.username == DEMO_USERS[0][0]))
    supermarket = db.session.get(Supermarket, keeper.supermarket_id) if keeper else None
    summary = DemoSummary(supermarket=supermarket.name if supermarket else "")
    summary.logins = [(u, pw, pin, name) for u, pw, pin, name, _ in DEMO_USERS]
    rows = db.session.execute(
        sa.select(Household, PointAccount.balance, Card)
        .join(PointAccount, PointAccount.household_id == Household.id)
        .join(Card, sa.and_(Card.household_id == Household.id, Card.status == CARD_ACTIVE))
        .where(Household.supermarket_id == (supermarket.id if supermarket else None))
        .order_by(PointAccount.balance.desc(), Household.number)
        .limit(3)
    ).all()
    for home, balance, card in rows:
        summary.sample_cards.append(
            DemoCard(home.number, mask_name(home.head_name), balance, cards.payload_for(card))
        )
    return summary
