"""Test data built through the real services, so test data obeys the same rules as live data."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from inventory import products, stock
from kiosk import auth, cards, households, points
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import Card, Household, Supermarket, User

_seq = itertools.count(1)


def supermarket(
    code: str = "DT01", name: str = "大同镇积分超市", points_per_yuan: int = 1
) -> Supermarket:
    with write_transaction():
        sm = Supermarket(
            code=code, name=name, town="大同镇", village="东村", points_per_yuan=points_per_yuan
        )
        db.session.add(sm)
    return sm


def user(
    username: str,
    role: str,
    sm: Supermarket | None,
    *,
    password: str = "secret123",
    pin: str | None = None,
    display_name: str = "",
) -> User:
    return auth.create_user(
        username,
        display_name=display_name or username,
        role=role,
        password=password,
        pin=pin,
        supermarket_id=sm.id if sm else None,
    )


def household(
    sm: Supermarket,
    *,
    points: int = 0,
    head_name: str = "张三丰",
    number: str | None = None,
    members: list[str] | None = None,
) -> Household:
    n = next(_seq)
    hh = households.create_household(
        sm.id,
        number=number or f"H{n:04d}",
        head_name=head_name,
        village="东村",
        members=[households.MemberInput(m) for m in (members or [head_name])],
        actor=None,
    )
    if points:
        points_award(hh, points)
    return hh


def points_award(hh: Household, amount: int, reason: str = "志愿服务") -> None:
    points.award_points(hh.id, amount, reason=reason, actor=None)


def card(hh: Household) -> tuple[Card, str]:
    """Issue a card for the household and return it with its QR payload."""
    c = cards.issue_card(hh.id, actor=None)
    return c, cards.payload_for(c)


def product(
    sm: Supermarket,
    *,
    name: str = "金龙鱼大米5kg",
    cost_fen: int = 2500,
    stock_qty: int = 10,
    category: str = "粮油",
    barcode: str | None = None,
    kind: str = "goods",
    unit: str = "袋",
    restriction_key: str | None = None,
):
    n = next(_seq)
    p = products.create_product(
        sm.id,
        sku=f"SKU{n:05d}",
        name=name,
        unit=unit,
        category=category,
        barcode=barcode or f"69{n:011d}",
        kind=kind,
        unit_cost_fen=cost_fen if kind != "goods" else 0,
        restriction_key=restriction_key,
        actor=None,
    )
    if kind == "goods" and stock_qty:
        stock.receive_stock(
            sm.id, [stock.StockInLine(p.id, stock_qty, cost_fen)], actor=None, supplier="镇供销社"
        )
    return db.session.get(type(p), p.id)


def canteen_meal(sm: Supermarket, *, cost_fen: int = 1500):
    """寨里's elders' canteen lunch (长者食堂午餐): a service the rules keep for eligible elders."""
    return product(
        sm,
        name="长者食堂午餐",
        cost_fen=cost_fen,
        kind="service",
        unit="餐",
        category="长者食堂",
        restriction_key="elder_canteen",
    )


def policy(sm: Supermarket, key_or_policy):
    """Make the supermarket run a preset (by key) or a given Policy; returns the Policy."""
    from kiosk.rules import policies, presets

    chosen = presets.preset(key_or_policy) if isinstance(key_or_policy, str) else key_or_policy
    return policies.set_policy(sm.id, chosen, actor=None)


def family(sm: Supermarket, people: list[tuple[str, date | None]], *, points: int = 0) -> Household:
    """A household whose members (name, birth date) are given; the first is the head."""
    n = next(_seq)
    hh = households.create_household(
        sm.id,
        number=f"H{n:04d}",
        head_name=people[0][0],
        village="东村",
        members=[households.MemberInput(name, "", born) for name, born in people],
        actor=None,
    )
    if points:
        points_award(hh, points)
    return hh


def scored_elder(
    sm: Supermarket, born: date, score: int = 85, period: str = "2024Q1"
) -> tuple[Household, str]:
    """A household of one member (赵大爷, born ``born``) scored ``score`` in ``period`` (85 is
    寨里's 四星级, a 100-yuan quota); the household and its card's payload."""
    from kiosk.assessments import record_assessment

    hh = family(sm, [("赵大爷", born)])
    record_assessment(hh.id, period, score, member_id=hh.members[0].id, actor=None)
    return hh, card(hh)[1]


def utc(local: datetime) -> datetime:
    """Naive UTC for a naive local wall-clock time (what redeem(moment=) and scan take)."""
    from kiosk.clock import local_to_utc

    return local_to_utc(local)


def pin_clock(monkeypatch, local: datetime) -> None:
    """Make kiosk.clock.local_now() return ``local`` (the services' "now")."""
    from kiosk import clock

    monkeypatch.setattr(clock, "local_now", lambda: local)
