"""The demo village (``jifen demo``): a made-up 东村 with households, cards, goods and history.

Everything is written through the real services (households, cards, points, stock,
redemption), so the demo obeys the same rules as live data and ``jifen check`` is clean after
it. The content is deterministic (a seeded random generator); only the dates follow today.

The history is spread over the past six months so that the counter and self-service screens
show realistic dates: events are applied in date order and their ledger rows get the date the
event happened, so ids and dates agree.

The village then adopts a rule set (``preset``: 大同 by default, the demo village's own town,
or 高阳, 寨里, 羊亭) and gets what makes that rule set visible at the counter on the day it is
loaded (:func:`_apply_preset`): households that may redeem and households refused for each of
the rule set's reasons (大同: the score gate not met, 一票否决, no score yet; 高阳: only the base;
寨里: quota used up, 取消资格, no star; 羊亭: no points, the pyramid's levels). A rule set with a
window has it open on the day it is loaded: 大同's demo policy makes today the month's last
market day (its market days are the 逢三逢八 days before today's date, and today's), 高阳's
adds this month to the first months of the quarters. Both are plain fields of the demo's
stored policy, shown by ``jifen policy show`` and the policy page; ``jifen demo`` says so. The
cards it prints, with what each shows, are read from the counter's own scan (:func:`showcase`).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from inventory import products as product_service
from inventory import stock as stock_service
from inventory.donations import seed_demo_fund
from inventory.models import KIND_GOODS, KIND_SERVICE, Product, StockIn, StockMovement
from inventory.monthend import seed_demo_monthend
from inventory.stock import seed_demo_stock
from inventory.stocktake import seed_demo_stocktake
from kiosk import assessments, auth, cards, cycle, households, points, rules, vetoes
from kiosk.clock import utc_to_local
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.formatting import mask_name
from kiosk.households import seed_demo_households
from kiosk.intake import DEMO_SECOND_ADMIN, seed_demo_intake
from kiosk.models import (
    ACTIVE,
    CARD_ACTIVE,
    ROLE_ADMIN,
    ROLE_KEEPER,
    ROLE_SUPERVISOR,
    Card,
    Household,
    Member,
    PointAccount,
    PointEntry,
    PrintJob,
    Redemption,
    Supermarket,
    User,
)
from kiosk.notice import seed_demo_notice
from kiosk.redemption import CartLine, redeem, scan, void_redemption
from kiosk.rules import presets
from kiosk.rules.policies import policy_for, set_policy
from kiosk.rules.standing import period_usage
from kiosk.supermarkets import create_supermarket, find_supermarket
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20240601
HISTORY_DAYS = 180
# The rule set the demo village runs unless told otherwise: 大同, the town of 大同镇东村.
DEFAULT_PRESET = "datong"
PRESET_KEYS = ("datong", "gaoyang", "zhaili", "yangting")
# At most this many cards are printed, one per outcome the counter shows.
SHOWCASE_CARDS = 7

# (username, password, PIN, display name, role)
DEMO_USERS = (
    ("keeper", "keeper123", "1234", "王秀兰", ROLE_KEEPER),
    ("admin", "admin123", None, "李建国", ROLE_ADMIN),
    ("supervisor", "super123", None, "赵德明", ROLE_SUPERVISOR),
)
# Every demo login, with who signs second (the intake's second admin, seed_demo_intake).
ALL_DEMO_LOGINS = (
    *((u, pw, pin, name) for u, pw, pin, name, _ in DEMO_USERS),
    (DEMO_SECOND_ADMIN[0], DEMO_SECOND_ADMIN[1], None, DEMO_SECOND_ADMIN[2]),
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
    """A demo card a newcomer can type at the counter, and what the counter shows for it."""

    household_no: str
    masked_name: str
    balance: int
    payload: str
    shows: str = ""


@dataclass
class DemoSummary:
    """What ``jifen demo`` loaded."""

    supermarket: str
    policy: str = ""
    window_note: str = ""
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
    preset: str = DEFAULT_PRESET,
) -> DemoSummary:
    """Load the demo village into the database under a rule set (``preset``); DemoExists or
    DatabaseNotEmpty when it cannot."""
    presets.preset(preset)  # NotFound for a key that is not a preset, before anything is written
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
    summary.logins.append(ALL_DEMO_LOGINS[-1])  # made by seed_demo_intake, below
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
    for home_id in rng.sample(
        homes, min(2, len(homes))
    ):  # a lost card, reissued: the old one is refused
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
    # 大同 scores the quarterly inspections (评分) and converts them into points: the scores
    # are recorded once the village runs 大同's rules (_apply_preset), not awarded as points.
    inspection_scores: dict[int, list[int]] = {}
    for home_id in homes:
        for quarter_days, label in ((150, "上季度"), (60, "本季度")):
            score = rng.randint(78, 98)
            amount = max(1, round(score / 10))
            moment = at(quarter_days + rng.random() * 5, 10)
            inspection_scores.setdefault(home_id, []).append(score)
            if preset == "datong":
                continue
            events.append(
                _Event(
                    moment,
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
        for home_id in rng.sample(homes, min(6, len(homes))):
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
    payloads = {hid: _card_payload(hid) for hid in homes}
    for event in events:
        if event.kind == "stock_in":
            document = stock_service.create_stock_in(
                supermarket.id,
                event.data["lines"],
                actor=keeper,
                supplier=event.data["supplier"],
                invoice_no=f"RK{event.moment:%Y%m%d}",
            )
            moves = stock_service.stock_in_movements(document.id)
            movement_dates += [{"id": m.id, "created_at": event.moment} for m in moves]
            stock_in_dates[document.id] = event.moment
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
    # Close every month of the history that has ended (the current month stays open).
    seed_demo_monthend(supermarket, users, rng)
    # Last: the village runs its rule set, with what shows it at the counter today.
    _apply_preset(
        preset, supermarket, users, homes, inspection_scores, random.Random(seed + 1), now
    )

    summary.households = db.session.execute(
        sa.select(sa.func.count(Household.id)).where(Household.supermarket_id == supermarket.id)
    ).scalar_one()
    summary.cards = db.session.execute(
        sa.select(sa.func.count(Card.id))
        .join(Household, Household.id == Card.household_id)
        .where(Household.supermarket_id == supermarket.id, Card.status == CARD_ACTIVE)
    ).scalar_one()
    summary.products = len(goods)
    summary.redemptions = len(redemptions)
    summary.point_entries = db.session.scalar(sa.select(sa.func.count(PointEntry.id))) or 0
    shown = existing_summary()
    summary.sample_cards = shown.sample_cards
    summary.policy = shown.policy
    summary.window_note = shown.window_note
    logger.info("demo village loaded: %s households, %s redemptions", len(homes), len(redemptions))
    return summary


def _card_payload(household_id: int) -> str:
    """What a demo household's active card carries (the demo issues every household one)."""
    card = db.session.execute(
        sa.select(Card).where(Card.household_id == household_id, Card.status == CARD_ACTIVE)
    ).scalar_one()
    return cards.payload_for(card)


def _demo_redemption(
    rng: random.Random,
    supermarket_id: int,
    event: _Event,
    goods_ids: list[int],
    payloads: dict[int, str],
    keeper: User,
) -> Redemption | None:
    """Redeem a cart the household can afford from what is on the shelf, or None."""
    budget = db.session.execute(
        sa.select(PointAccount.balance).where(PointAccount.household_id == event.data["home"])
    ).scalar_one()
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


# ---------------------------------------------------------------------------------------------
# The rule set, and what shows it at the counter on the day the demo is loaded
# ---------------------------------------------------------------------------------------------


def demo_policy(key: str, today: date) -> rules.Policy:
    """The preset ``key`` with its redemption window open on ``today`` (local date).

    大同: the month's last market day is today (the 逢三逢八 days before today's date, and
    today's, are the market days); 高阳: this month joins the first months of the quarters.
    """
    policy = presets.preset(key)
    window = policy.window
    if window.kind == rules.WINDOW_LAST_MARKET_DAY:
        days = tuple(d for d in presets.DATONG_MARKET_DAYS if d < today.day) + (today.day,)
        window = replace(window, market_days=days, every_months=1)
    elif window.kind == rules.WINDOW_MONTHS and today.month not in window.months:
        window = replace(window, months=tuple(sorted({*window.months, today.month})))
    if window == policy.window:
        return policy
    return replace(policy, name=f"{policy.name}（演示）", window=window)


def window_note(policy: rules.Policy, today: date) -> str:
    """How the demo policy's window differs from the preset's, in a sentence (or "")."""
    original = presets.PRESETS.get(policy.preset or "")
    if original is None or policy.window == original.window:
        return ""
    window = policy.window
    if window.kind == rules.WINDOW_LAST_MARKET_DAY:
        days = "、".join(f"{d}日" for d in window.market_days)
        last = rules.last_market_day(window, today.year, today.month)
        when = "今天" if last == today else (f"{last.month}月{last.day}日" if last else "无")
        return (
            f"演示把赶场日设为每月{days}，本月最后一个赶场天是{when}，柜台只在这一天开放兑换"
            f"（本镇的赶场日为每月{'、'.join(str(d) for d in original.window.market_days)}日，"
            "在“规则管理”或 jifen policy 里改回）"
        )
    if window.kind == rules.WINDOW_MONTHS:
        extra = sorted(set(window.months) - set(original.window.months))
        months = "、".join(f"{m}月" for m in extra)
        return (
            f"演示在每季度第一个月之外加上了{months}，柜台这个月开放兑换"
            "（在“规则管理”或 jifen policy 里去掉）"
        )
    return ""


def _apply_preset(
    key: str,
    supermarket: Supermarket,
    users: dict[str, User],
    homes: list[int],
    inspection_scores: dict[int, list[int]],
    rng: random.Random,
    now: datetime,
) -> None:
    """Switch the demo village to the rule set ``key`` and write, through the services, the
    data each of its outcomes needs at the counter today (see the module docstring)."""
    admin = users["admin"]
    today = utc_to_local(now).date()
    first_day = utc_to_local(now - timedelta(days=HISTORY_DAYS)).date()
    policy = set_policy(supermarket.id, demo_policy(key, today), actor=admin)
    balances = dict(
        db.session.execute(
            sa.select(PointAccount.household_id, PointAccount.balance).where(
                PointAccount.household_id.in_(homes)
            )
        ).all()
    )
    # The richest households carry the showcase (ties by number, which is the id order).
    ranked = sorted(homes, key=lambda hid: (-balances[hid], hid))
    if key == "datong":
        _datong(supermarket, admin, ranked, inspection_scores, rng, today)
    elif key == "gaoyang":
        _gaoyang(supermarket, admin, homes, rng, today, first_day)
    elif key == "zhaili":
        _zhaili(supermarket, users, ranked, rng, today, now)
    elif key == "yangting":
        # The pyramid's top and middle (塔尖 from 300 points earned, 塔身 from 100).
        for hid, level, reason in (
            (ranked[0], 320, "年度信用示范户（信用健康1+1）"),
            (ranked[1] if len(ranked) > 1 else None, 150, "志愿服务：敬老院送温暖（全年）"),
        ):
            if hid is None:
                continue
            earned = db.session.execute(
                sa.select(PointAccount.earned_total).where(PointAccount.household_id == hid)
            ).scalar_one()
            points.award_points(hid, max(20, level - earned), reason=reason, actor=admin)
    logger.info("demo village runs %s", policy.name)


def _datong(
    supermarket: Supermarket,
    admin: User,
    ranked: list[int],
    inspection_scores: dict[int, list[int]],
    rng: random.Random,
    today: date,
) -> None:
    """大同: two quarters' scores per household (converted into points), one household that
    meets the gate, one that does not, one vetoed (一票否决) and one not yet scored."""
    eligible, gate_fail, vetoed, unscored = (ranked + [None] * 4)[:4]
    current = rules.period_key(today, rules.PERIOD_QUARTER)
    periods = [rules.previous_period(current), current]
    if current.endswith(("Q1", "Q3")):
        # Scores convert by half-year (Q1+Q2, Q3+Q4): one more quarter completes the last one.
        periods.insert(0, rules.previous_period(periods[0]))
    scores: dict[int, list[int]] = {}
    for hid, (last, this) in inspection_scores.items():
        if hid == unscored:
            continue
        scores[hid] = [rng.randint(80, 98), last, this][-len(periods) :]
    forced = {eligible: [88, 90, 93], gate_fail: [91, 90, 80], vetoed: [90, 87, 89]}
    for home, values in forced.items():
        if home is not None:
            scores[home] = values[-len(periods) :]
    for i, period in enumerate(periods):
        rows = [assessments.AssessmentInput(hid, s[i]) for hid, s in sorted(scores.items())]
        if rows:
            assessments.record_assessments(supermarket.id, period, rows, actor=admin)
    if vetoed is not None:
        vetoes.record_veto(
            vetoed,
            on=max(date(today.year, 1, 1), today - timedelta(days=12)),
            reason="焚烧秸秆被镇里通报（负面清单）",
            actor=admin,
        )


def _gaoyang(
    supermarket: Supermarket,
    admin: User,
    homes: list[int],
    rng: random.Random,
    today: date,
    first_day: date,
) -> None:
    """高阳: every household holds this year's 100 base points (a history reaching into last
    year is closed first: its points lapse), and a household registered today holds only the
    base (the year's base on joining)."""
    if first_day.year < today.year:
        cycle.close_cycle(supermarket.id, today.year - 1, actor=admin)
    with write_transaction():
        everyone = list(
            db.session.scalars(
                sa.select(Household)
                .where(Household.supermarket_id == supermarket.id, Household.status == ACTIVE)
                .order_by(Household.id)
            )
        )
        cycle.grant_joining_base(everyone, actor=admin, today=today)
    number = _free_number(supermarket.id, homes)
    members = _family(rng, today)
    newcomer = households.create_household(
        supermarket.id,
        number=number,
        head_name=members[0].name,
        village=supermarket.village or "东村",
        group_name=GROUPS[-1],
        members=members,
        actor=admin,
    )  # 高阳: the year's base on joining
    cards.issue_card(newcomer.id, actor=admin)


def _free_number(supermarket_id: int, homes: list[int]) -> str:
    """The next household number after the demo's last one."""
    last = db.session.scalar(
        sa.select(sa.func.max(Household.number)).where(Household.id.in_(homes))
    )
    taken = set(
        db.session.scalars(
            sa.select(Household.number).where(Household.supermarket_id == supermarket_id)
        )
    )
    number = int(last or "0") + 1  # no demo household yet: the first number
    while f"{number:05d}" in taken:
        number += 1
    return f"{number:05d}"


def _zhaili(
    supermarket: Supermarket,
    users: dict[str, User],
    ranked: list[int],
    rng: random.Random,
    today: date,
    now: datetime,
) -> None:
    """寨里: this quarter's score for every member; a household with its quota left, one that
    used up its three-star quotas (today, or earlier this quarter), one disqualified (取消资格),
    one below three stars, one not yet scored."""
    admin, keeper = users["admin"], users["keeper"]
    policy = policy_for(supermarket)
    current = rules.period_key(today, policy.period)
    local_now = datetime.combine(today, utc_to_local(now).time())
    # The canteen's lunch becomes 寨里's free meal for elders (the restriction "elder_canteen").
    canteen = db.session.scalar(
        sa.select(Product.id).where(
            Product.supermarket_id == supermarket.id, Product.name.like("%长者食堂%")
        )
    )
    if canteen is not None:
        product_service.update_product(
            supermarket.id, canteen, restriction_key="elder_canteen", actor=admin
        )
    members: dict[int, list[int]] = {}
    for hid, mid in db.session.execute(
        sa.select(Member.household_id, Member.id)
        .where(Member.household_id.in_(ranked), Member.active.is_(True))
        .order_by(Member.id)
    ):
        members.setdefault(hid, []).append(mid)
    unused = [
        hid for hid in ranked if period_usage(hid, policy, local_now, restricted=False)[0] == 0
    ]
    eligible = unused[0] if unused else ranked[0]
    quota_used = next((h for h in ranked if h != eligible), None)
    rest = [h for h in ranked if h not in (eligible, quota_used)]
    disqualified, no_star, unscored = (rest + [None] * 3)[:3]
    forced = {eligible: 93, quota_used: 75, no_star: 62, disqualified: 88}
    rows = []
    for hid in sorted(members):
        if hid == unscored:
            continue
        for mid in members[hid]:
            score = forced.get(hid) or rng.randint(68, 98)
            rows.append(assessments.AssessmentInput(hid, score, member_id=mid))
    assessments.record_assessments(supermarket.id, current, rows, actor=admin)
    if disqualified is not None:
        start, _ = rules.period_bounds(current)
        vetoes.record_veto(
            disqualified,
            on=max(start, today - timedelta(days=10)),
            reason="酒后驾驶被查处（取消资格）",
            actor=admin,
        )
    if quota_used is not None:
        # The household's three-star quotas (50 yuan a member) taken at the counter today.
        payload = _card_payload(quota_used)
        left = scan(supermarket.id, payload).decision.quota_left or 0
        if left > 0:
            redeem(
                supermarket.id,
                card_payload=payload,
                lines=_exact_cart(supermarket.id, left),
                keeper=keeper,
                idempotency_key=f"demo-quota-{quota_used}",
            )


def _exact_cart(supermarket_id: int, target: int) -> list[CartLine]:
    """Goods on the shelf whose points add up to exactly ``target`` (a few of each at most)."""
    shelf = db.session.execute(
        sa.select(Product.id, Product.points_price, Product.stock_qty)
        .where(
            Product.supermarket_id == supermarket_id,
            Product.active.is_(True),
            Product.kind == KIND_GOODS,
            Product.points_price > 0,
        )
        .order_by(Product.points_price.desc(), Product.id)
    ).all()
    # reach[total] = the cart reaching it; each product used once, up to 3 units.
    reach: dict[int, tuple[tuple[int, int], ...]] = {0: ()}
    for pid, price, stock in shelf:
        for total, cart in list(reach.items()):
            for qty in range(1, min(3, stock - 2) + 1):
                new = total + qty * price
                if new <= target and new not in reach:
                    reach[new] = (*cart, (pid, qty))
        if target in reach:
            break
    if target not in reach:
        raise ValueError(f"no cart of exactly {target} points on the demo's shelf")
    return [CartLine(pid, qty) for pid, qty in reach[target]]


def _headline(result) -> str:
    """What the counter shows for a scanned card, in one line."""
    decision = result.decision
    if not decision.may_redeem:
        reason = decision.blocking_reason
        return f"不能兑换：{reason.message if reason else ''}"
    policy = policy_for(result.household.supermarket)
    parts = ["可兑换"]
    if policy.spend == rules.SPEND_QUOTA:
        left = (decision.quota_left or 0) // max(1, policy.points_per_yuan)
        parts.append(f"{rules.this_period_word(policy.period)}额度剩余 {left} 元")
    elif policy.reserved_base:
        parts.append(f"总积分 {result.account.balance} 分，可兑换 {decision.spendable} 分")
    else:
        parts.append(f"余额 {result.account.balance} 分")
    if decision.tier:
        parts.append(decision.tier)
    elders = [r.message for r in decision.reasons if r.code == "restricted_eligible"]
    parts += elders
    return " · ".join(parts)


def _outcome(result) -> tuple[str, str]:
    """The kind of outcome a scan shows: ("may_redeem", tier) or (blocking code, "")."""
    decision = result.decision
    if decision.may_redeem:
        return "may_redeem", decision.tier or ""
    reason = decision.blocking_reason
    code = reason.code if reason else "refused"
    # "No score yet" is an outcome of its own (大同's gate, 寨里's stars).
    return code, "unscored" if reason and "尚无评分" in reason.message else ""


def showcase(supermarket_id: int, limit: int = SHOWCASE_CARDS) -> list[DemoCard]:
    """One card for each outcome the counter shows today, read from the counter's own scan:
    households that may redeem first (the most to spend), then each refusal (by number)."""
    rows = db.session.execute(
        sa.select(Household.number, Household.head_name, Card)
        .join(Card, sa.and_(Card.household_id == Household.id, Card.status == CARD_ACTIVE))
        .where(Household.supermarket_id == supermarket_id)
        .order_by(Household.number)
    ).all()
    scanned = []
    for number, head, card in rows:
        payload = cards.payload_for(card)
        result = scan(supermarket_id, payload)
        scanned.append((number, head, payload, result))
    scanned.sort(key=lambda r: (not r[3].decision.may_redeem, -r[3].decision.spendable, r[0]))
    first: dict[tuple[str, str], DemoCard] = {}
    for number, head, payload, result in scanned:
        outcome = _outcome(result)
        if outcome not in first:
            first[outcome] = DemoCard(
                number, mask_name(head), result.account.balance, payload, _headline(result)
            )
    # The household with the most to spend, every refusal, then the other tiers that may redeem.
    kinds = list(first)
    may = [k for k in kinds if k[0] == "may_redeem"]
    chosen = set((may[:1] + [k for k in kinds if k[0] != "may_redeem"] + may[1:])[:limit])
    return [first[k] for k in kinds if k in chosen]


def existing_summary() -> DemoSummary:
    """The logins, the rule set and a few typeable cards (with what each shows today) of a
    demo village loaded earlier."""
    keeper = db.session.scalar(sa.select(User).where(User.username == DEMO_USERS[0][0]))
    supermarket = db.session.get(Supermarket, keeper.supermarket_id) if keeper else None
    summary = DemoSummary(supermarket=supermarket.name if supermarket else "")
    summary.logins = list(ALL_DEMO_LOGINS)
    if supermarket is None:
        return summary
    policy = policy_for(supermarket)
    summary.policy = policy.name + (f"，预设 {policy.preset}" if policy.preset else "")
    summary.window_note = window_note(policy, utc_to_local(utcnow()).date())
    summary.sample_cards = showcase(supermarket.id)
    return summary
