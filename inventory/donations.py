"""Donors and donations (捐赠): cash into the fund pool, goods into stock at assessed value.

Every donation takes the next receipt number of its supermarket ("JZ000001", gap-free) under
the fund pool row's lock, so two counters recording at once cannot take the same number or
skip one. Locks are taken in a fixed order: the products (id order), then the fund pool row.

A donation recorded in error is reversed, never deleted: cash by a ``FUND_REVERSAL`` entry
(refused when the pool would fall below its allowed advance), goods by negative movements
(refused when the goods have already left the shelf). The receipt number stays used.

A client may record with an idempotency key (the API's, namespaced by its user): a retry of
the same donation returns the one the first copy recorded (no second pool entry or stock line,
no second receipt number), and the same key for a different donation is refused
(``idempotency_conflict``). Two copies racing make one donation: the second waits on the write
lock (SQLite) or meets the unique key (PostgreSQL) and then finds the first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from inventory import fund, periods
from inventory.models import (
    DONATION_CASH,
    DONATION_GOODS,
    DONATION_RECORDED,
    DONATION_REVERSED,
    DONOR_KINDS,
    DONOR_PERSON_KINDS,
    FUND_DONATION,
    FUND_REVERSAL,
    KIND_GOODS,
    MOVE_DONATION_IN,
    Donation,
    Donor,
    FundEntry,
    Product,
    StockMovement,
)
from inventory.products import policy_for
from inventory.stock import MAX_QUANTITY, apply_movement, locked_products, receive_line
from kiosk import audit, permissions
from kiosk.database import lock, write_transaction
from kiosk.errors import (
    DonationAlreadyReversed,
    DuplicateValue,
    IdempotencyConflict,
    NotFound,
    OutOfStock,
    PermissionDenied,
    ValidationFailed,
)
from kiosk.extensions import db
from kiosk.formatting import mask_name
from kiosk.messages import Message, _
from kiosk.models import Supermarket, User
from kiosk.problems import Problem
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

RECEIPT_PREFIX = "JZ"  # 捐赠
MAX_AMOUNT_FEN = 1_000_000_000  # 10,000,000 yuan: anything larger is a typo
EARLIEST_DATE = date(2000, 1, 1)
MAX_KEY = 100  # donations.idempotency_key, as stored (namespace included)

# Chinese labels of donor kinds and donation forms (receipts, the public list, XLSX).
DONOR_KIND_LABELS = {
    "xiangxian": "乡贤",
    "enterprise": "企业",
    "partner_unit": "帮扶单位",
    "village_collective": "村集体",
    "town_reward": "镇奖励",
    "individual": "个人",
}
FORM_LABELS: dict[str, str] = {DONATION_CASH: "现金", DONATION_GOODS: "物品"}
STATUS_LABELS = {DONATION_RECORDED: "有效", DONATION_REVERSED: "已撤销"}

_YUAN_RE = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,2})?$")


@dataclass(frozen=True)
class GoodsLine:
    """One kind of goods donated: how many, at what assessed value per unit (fen)."""

    product_id: int
    quantity: int
    unit_value_fen: int


_AMOUNT = _("金额")


def fen_from_yuan(text: str, what: str | Message = _AMOUNT) -> int:
    """ "12.5" → 1250. Refuses anything that is not a plain non-negative yuan amount."""
    raw = (text or "").strip().replace("，", "").replace(",", "").replace("元", "")
    raw = raw.replace("．", ".").translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not raw:
        raise ValidationFailed(_("请填写%(what)s", what=what))
    if not _YUAN_RE.match(raw):
        raise ValidationFailed(_("%(what)s应为数字，最多两位小数，例如 500 或 12.50", what=what))
    try:
        return int((Decimal(raw) * 100).to_integral_value())
    except InvalidOperation as exc:  # pragma: no cover - the pattern already refused it
        raise ValidationFailed(_("%(what)s不正确", what=what)) from exc


def public_name(donor: Donor) -> str:
    """The name on paper and on the public list: organisations in full; people (个人, 乡贤)
    masked unless they agreed to have their full name published."""
    if donor.kind in DONOR_PERSON_KINDS and not donor.publish_full_name:
        return mask_name(donor.name)
    return donor.name


def _require(actor: User | None, action: str, message: Message) -> None:
    """``actor=None`` is the system itself (CLI, seeding); people need the map\'s ``action``."""
    if actor is not None and not permissions.allows(actor, action):
        raise PermissionDenied(message)


def _same_supermarket(actor: User | None, supermarket_id: int) -> None:
    if actor is not None and not permissions.works_for(actor, supermarket_id):
        raise PermissionDenied(_("不能操作其他超市的账目"))


# ---------------------------------------------------------------- donors


def _donor_fields(name: str, kind: str, contact: str) -> tuple[str, str, str]:
    name, contact = (name or "").strip(), (contact or "").strip()
    if not name:
        raise ValidationFailed(_("请填写捐赠方名称"))
    if len(name) > 100:
        raise ValidationFailed(_("捐赠方名称太长（最多100个字）"))
    if kind not in DONOR_KINDS:
        raise ValidationFailed(_("请选择捐赠方类别"))
    if len(contact) > 200:
        raise ValidationFailed(_("联系方式备注太长（最多200个字）"))
    return name, kind, contact


def _refuse_duplicate(supermarket_id: int, name: str, kind: str, exclude: int | None) -> None:
    # Two people may share a name (two 张伟 in one village); two organisations may not.
    if kind in DONOR_PERSON_KINDS:
        return
    stmt = sa.select(Donor.id).where(
        Donor.supermarket_id == supermarket_id, Donor.name == name, Donor.kind == kind
    )
    if exclude is not None:
        stmt = stmt.where(Donor.id != exclude)
    if db.session.scalar(stmt) is not None:
        raise DuplicateValue(
            _("已经有名为“%(name)s”的%(kind)s", name=name, kind=Message(DONOR_KIND_LABELS[kind]))
        )


def create_donor(
    supermarket_id: int,
    *,
    name: str,
    kind: str,
    contact: str = "",
    publish_full_name: bool = False,
    actor: User | None,
) -> Donor:
    """Add a donor (keepers at the counter and admins)."""
    _require(actor, "donation.record", _("只有超市管理员或村委管理员可以登记捐赠方"))
    _same_supermarket(actor, supermarket_id)
    name, kind, contact = _donor_fields(name, kind, contact)
    with write_transaction():
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound(_("没有找到该超市"))
        _refuse_duplicate(supermarket_id, name, kind, None)
        donor = Donor(
            supermarket_id=supermarket_id,
            name=name,
            kind=kind,
            contact=contact,
            publish_full_name=bool(publish_full_name),
        )
        db.session.add(donor)
        db.session.flush()
        audit.record(
            "donor.create",
            donor,
            actor=actor,
            name=name,
            kind=kind,
            publish=donor.publish_full_name,
        )
    return donor


def update_donor(
    donor_id: int,
    *,
    name: str,
    kind: str,
    contact: str,
    publish_full_name: bool,
    active: bool,
    actor: User | None,
) -> Donor:
    """Change a donor's details (admins), audited with what changed."""
    _require(actor, "fund.manage", _("只有村委管理员可以修改捐赠方"))
    name, kind, contact = _donor_fields(name, kind, contact)
    with write_transaction():
        donor = db.session.scalar(lock(sa.select(Donor).where(Donor.id == donor_id)))
        if donor is None:
            raise NotFound(_("没有找到该捐赠方"))
        _same_supermarket(actor, donor.supermarket_id)
        _refuse_duplicate(donor.supermarket_id, name, kind, donor.id)
        new = {
            "name": name,
            "kind": kind,
            "contact": contact,
            "publish_full_name": bool(publish_full_name),
            "active": bool(active),
        }
        changed = {k: [getattr(donor, k), v] for k, v in new.items() if getattr(donor, k) != v}
        if "contact" in changed:  # what it says stays out of the audit log; only that it changed
            changed["contact"] = ["…", "…"]
        for key, value in new.items():
            setattr(donor, key, value)
        if changed:
            audit.record("donor.update", donor, actor=actor, changed=changed)
    return donor


def get_donor(supermarket_id: int, donor_id: int) -> Donor:
    donor = db.session.get(Donor, donor_id)
    if donor is None or donor.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该捐赠方"))
    return donor


def list_donors(supermarket_id: int, *, active_only: bool = False) -> list[Donor]:
    """Donors by name (pinyin order is the page's job; this is the stored order)."""
    stmt = sa.select(Donor).where(Donor.supermarket_id == supermarket_id)
    if active_only:
        stmt = stmt.where(Donor.active.is_(True))
    return list(db.session.scalars(stmt.order_by(Donor.kind, Donor.name, Donor.id)))


def donor_totals(supermarket_id: int) -> dict[int, tuple[int, int, int]]:
    """donor id → (count, cash fen, goods value fen) of their donations still in force."""
    rows = db.session.execute(
        sa.select(
            Donation.donor_id, Donation.form, sa.func.count(), sa.func.sum(Donation.amount_fen)
        )
        .where(Donation.supermarket_id == supermarket_id, Donation.status == DONATION_RECORDED)
        .group_by(Donation.donor_id, Donation.form)
    )
    totals: dict[int, list[int]] = {}
    for donor_id, form, count, amount in rows:
        t = totals.setdefault(donor_id, [0, 0, 0])
        t[0] += count
        t[1 if form == DONATION_CASH else 2] += amount or 0
    return {k: (v[0], v[1], v[2]) for k, v in totals.items()}


# ---------------------------------------------------------------- donations


def _check_common(donated_on: date, note: str) -> str:
    from kiosk.clock import local_now

    if not isinstance(donated_on, date) or isinstance(donated_on, datetime):
        raise ValidationFailed(_("请填写捐赠日期"))
    if donated_on > local_now().date():
        raise ValidationFailed(_("捐赠日期不能晚于今天"))
    if donated_on < EARLIEST_DATE:
        raise ValidationFailed(_("捐赠日期不正确"))
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationFailed(_("备注太长（最多200个字）"))
    return note


def _donor_for(supermarket_id: int, donor_id: int | None) -> Donor:
    donor = db.session.get(Donor, donor_id) if donor_id else None
    if donor is None or donor.supermarket_id != supermarket_id:
        raise NotFound(_("请选择捐赠方"))
    if not donor.active:
        raise ValidationFailed(_("捐赠方“%(name)s”已停用，请先启用", name=donor.name))
    return donor


def _new_donation(
    supermarket_id: int,
    donor: Donor,
    form: str,
    amount_fen: int,
    donated_on: date,
    note: str,
    actor: User | None,
    key: str | None,
) -> Donation:
    """A recorded donation with the next receipt number (caller holds the number's lock)."""
    seq, receipt_no = _take_number(supermarket_id)
    donation = Donation(
        supermarket_id=supermarket_id,
        seq=seq,
        receipt_no=receipt_no,
        donor_id=donor.id,
        form=form,
        amount_fen=amount_fen,
        donated_on=donated_on,
        note=note,
        status=DONATION_RECORDED,
        created_by_id=actor.id if actor is not None else None,
        idempotency_key=key,
    )
    db.session.add(donation)
    db.session.flush()
    return donation


def _take_number(supermarket_id: int) -> tuple[int, str]:
    """The next receipt number; the caller holds the fund pool row's lock."""
    last = db.session.scalar(
        sa.select(sa.func.max(Donation.seq)).where(Donation.supermarket_id == supermarket_id)
    )
    seq = (last or 0) + 1
    return seq, receipt_label(seq)


def receipt_label(seq: int) -> str:
    """A donation receipt's number as printed: JZ000012."""
    return f"{RECEIPT_PREFIX}{seq:06d}"


def find_by_key(key: str) -> Donation | None:
    """The donation a client's stored idempotency key recorded, if any."""
    return db.session.scalar(sa.select(Donation).where(Donation.idempotency_key == key))


def _check_key(key: str | None) -> None:
    if key is not None and not 0 < len(key) <= MAX_KEY:
        raise ValidationFailed(_("请求编号太长"))


def _retry_of(key: str | None, same: Callable[[Donation], bool]) -> Donation | None:
    """The donation ``key`` already recorded (it must be this same donation), or None."""
    existing = find_by_key(key) if key is not None else None
    if existing is not None and not same(existing):
        raise IdempotencyConflict(
            _("同一个请求编号已用于另一笔不同的捐赠"), donation_id=existing.id
        )
    return existing


def _same_cash(
    donation: Donation, supermarket_id: int, donor_id: int, amount_fen: int, day: date, note: str
) -> bool:
    return (
        donation.supermarket_id == supermarket_id
        and donation.form == DONATION_CASH
        and donation.donor_id == donor_id
        and donation.amount_fen == amount_fen
        and donation.donated_on == day
        and donation.note == note
    )


def _same_goods(
    donation: Donation,
    supermarket_id: int,
    donor_id: int,
    lines: list[GoodsLine],
    day: date,
    note: str,
) -> bool:
    if not (
        donation.supermarket_id == supermarket_id
        and donation.form == DONATION_GOODS
        and donation.donor_id == donor_id
        and donation.donated_on == day
        and donation.note == note
    ):
        return False
    recorded = sorted(
        (m.product_id, m.quantity, m.unit_cost_fen)
        for m in donation_movements(donation.id, originals_only=True)
    )
    return recorded == sorted((ln.product_id, ln.quantity, ln.unit_value_fen) for ln in lines)


def record_cash_donation(
    supermarket_id: int,
    *,
    donor_id: int,
    amount_fen: int,
    donated_on: date,
    note: str = "",
    actor: User | None,
    idempotency_key: str | None = None,
) -> Donation:
    """Cash donated (现金捐赠): one ``FUND_DONATION`` entry into the pool and a receipt number.

    ``idempotency_key`` is the client's key as stored (namespaced by its user): a retry of the
    same donation returns the first copy's, whatever has happened to it since."""
    _require(actor, "donation.record", _("只有超市管理员或村委管理员可以登记捐赠"))
    _same_supermarket(actor, supermarket_id)
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise ValidationFailed(_("捐赠金额不正确"))
    if not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise ValidationFailed(_("捐赠金额必须大于0，且不超过一千万元"))
    note = _check_common(donated_on, note)
    _check_key(idempotency_key)

    def same(donation: Donation) -> bool:
        return _same_cash(donation, supermarket_id, donor_id, amount_fen, donated_on, note)

    try:
        with write_transaction():
            retry = _retry_of(idempotency_key, same)
            if retry is not None:
                return retry
            periods.ensure_open(supermarket_id)
            donor = _donor_for(supermarket_id, donor_id)
            fund.locked_account(supermarket_id)
            donation = _new_donation(
                supermarket_id,
                donor,
                DONATION_CASH,
                amount_fen,
                donated_on,
                note,
                actor,
                idempotency_key,
            )
            receipt_no = donation.receipt_no
            entry = fund.post_entry(
                supermarket_id,
                FUND_DONATION,
                amount_fen,
                actor=actor,
                ref_type="donation",
                ref_id=donation.id,
                note=f"{receipt_no} {donor.name}"[:200],
            )
            donation.fund_entry_id = entry.id
            audit.record(
                "donation.record",
                donation,
                actor=actor,
                receipt_no=receipt_no,
                donor_id=donor.id,
                form=DONATION_CASH,
                amount_fen=amount_fen,
            )
    except IntegrityError:
        # A twin with the same key committed between our look-up and our insert.
        twin = _retry_of(idempotency_key, same)
        if twin is None:
            raise
        return twin
    logger.info("donation %s recorded (cash)", receipt_no)
    return donation


def record_goods_donation(
    supermarket_id: int,
    *,
    donor_id: int,
    lines: list[GoodsLine],
    donated_on: date,
    note: str = "",
    actor: User | None,
    idempotency_key: str | None = None,
) -> Donation:
    """Goods donated in kind (物品捐赠): into stock at the assessed unit value, which joins the
    moving-average cost; the donation's amount is the total assessed value. A key as for
    :func:`record_cash_donation`."""
    _require(actor, "donation.record", _("只有超市管理员或村委管理员可以登记捐赠"))
    _same_supermarket(actor, supermarket_id)
    if not lines:
        raise ValidationFailed(_("请至少填写一种捐赠物品"))
    for line in lines:
        if not isinstance(line.quantity, int) or not 0 < line.quantity <= MAX_QUANTITY:
            raise ValidationFailed(_("数量必须是1到%(n)s之间的整数", n=MAX_QUANTITY))
        if (
            not isinstance(line.unit_value_fen, int)
            or not 0 < line.unit_value_fen <= MAX_AMOUNT_FEN
        ):
            raise ValidationFailed(_("评估单价必须大于0"))
    total = sum(line.quantity * line.unit_value_fen for line in lines)
    if total > MAX_AMOUNT_FEN:
        raise ValidationFailed(_("捐赠物品总价值不能超过一千万元"))
    note = _check_common(donated_on, note)
    _check_key(idempotency_key)

    def same(donation: Donation) -> bool:
        return _same_goods(donation, supermarket_id, donor_id, lines, donated_on, note)

    try:
        with write_transaction():
            retry = _retry_of(idempotency_key, same)
            if retry is not None:
                return retry
            periods.ensure_open(supermarket_id)
            supermarket = db.session.get(Supermarket, supermarket_id)
            if supermarket is None:
                raise NotFound(_("没有找到该超市"))
            donor = _donor_for(supermarket_id, donor_id)
            policy = policy_for(supermarket)
            products = locked_products(supermarket_id, sorted({ln.product_id for ln in lines}))
            for line in lines:
                product = products.get(line.product_id)
                if product is None:
                    raise NotFound(_("没有找到该物品，请重新选择"))
                if product.kind != KIND_GOODS:
                    raise ValidationFailed(
                        _("%(name)s 是服务项目，不能作为物品捐赠入库", name=product.name)
                    )
                if not product.active:
                    raise ValidationFailed(_("%(name)s 已下架，请先上架再入库", name=product.name))
            fund.locked_account(supermarket_id)  # the receipt number's lock, after the products
            donation = _new_donation(
                supermarket_id,
                donor,
                DONATION_GOODS,
                total,
                donated_on,
                note,
                actor,
                idempotency_key,
            )
            receipt_no = donation.receipt_no
            for line in lines:
                receive_line(
                    products[line.product_id],
                    policy,
                    line.quantity,
                    line.unit_value_fen,
                    kind=MOVE_DONATION_IN,
                    actor=actor,
                    supplier=donor.name[:100],
                    invoice_no=receipt_no,
                    note=f"捐赠 {receipt_no}",
                    ref_type="donation",
                    ref_id=donation.id,
                )
            db.session.flush()
            audit.record(
                "donation.record",
                donation,
                actor=actor,
                receipt_no=receipt_no,
                donor_id=donor.id,
                form=DONATION_GOODS,
                amount_fen=total,
                lines=[[ln.product_id, ln.quantity, ln.unit_value_fen] for ln in lines],
            )
    except IntegrityError:
        # A twin with the same key committed between our look-up and our insert.
        twin = _retry_of(idempotency_key, same)
        if twin is None:
            raise
        return twin
    logger.info("donation %s recorded (goods)", receipt_no)
    return donation


def _cost_without(qty: int, cost: int, out_qty: int, out_cost: int) -> int:
    """The moving-average cost with ``out_qty`` at ``out_cost`` taken back out (rounded half
    up, never negative); unchanged when nothing is left to average."""
    left = qty - out_qty
    if left <= 0:
        return cost
    value = qty * cost - out_qty * out_cost
    if value <= 0:
        return 0
    return (2 * value + left) // (2 * left)


def reverse_donation(donation_id: int, *, actor: User | None, reason: str) -> Donation:
    """Reverse (撤销) a donation recorded in error (admins): the receipt number stays used."""
    _require(actor, "fund.manage", _("只有村委管理员可以撤销捐赠"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("撤销需要填写原因"))
    if len(reason) > 200:
        raise ValidationFailed(_("原因太长（最多200个字）"))
    with write_transaction():
        donation = db.session.get(Donation, donation_id)
        if donation is None:
            raise NotFound(_("没有找到该捐赠"))
        _same_supermarket(actor, donation.supermarket_id)
        periods.ensure_open(donation.supermarket_id)
        movements: list[StockMovement] = []
        products: dict[int, Product] = {}
        if donation.form == DONATION_GOODS:
            movements = donation_movements(donation.id, originals_only=True)
            products = locked_products(
                donation.supermarket_id, sorted({m.product_id for m in movements})
            )
        fund.locked_account(donation.supermarket_id)
        db.session.refresh(donation)
        if donation.status != DONATION_RECORDED:
            raise DonationAlreadyReversed()
        if donation.form == DONATION_CASH:
            fund.post_entry(
                donation.supermarket_id,
                FUND_REVERSAL,
                -donation.amount_fen,
                actor=actor,
                ref_type="donation",
                ref_id=donation.id,
                reverses_id=donation.fund_entry_id,
                note=f"撤销 {donation.receipt_no}：{reason}"[:200],
            )
        else:
            policy = policy_for(db.session.get_one(Supermarket, donation.supermarket_id))
            needed: dict[int, int] = {}
            for m in movements:
                needed[m.product_id] = needed.get(m.product_id, 0) + m.quantity
            for product_id, qty in needed.items():
                product = products[product_id]
                if product.stock_qty < qty:
                    raise OutOfStock(
                        _(
                            "%(name)s 现有库存%(stock_qty)s%(unit)s，少于捐赠的%(qty)s%(unit)s（已有部分兑换或报损），不能撤销",
                            name=product.name,
                            stock_qty=product.stock_qty,
                            unit=product.unit,
                            qty=qty,
                        )
                    )
            for m in movements:
                product = products[m.product_id]
                product.unit_cost_fen = _cost_without(
                    product.stock_qty, product.unit_cost_fen, m.quantity, m.unit_cost_fen
                )
                product.points_price = policy.points_price(product.unit_cost_fen)
                apply_movement(
                    product,
                    MOVE_DONATION_IN,
                    -m.quantity,
                    m.unit_cost_fen,
                    actor=actor,
                    reverses_id=m.id,
                    supplier=m.supplier,
                    invoice_no=m.invoice_no,
                    note=f"撤销 {donation.receipt_no}：{reason}"[:200],
                    ref_type="donation",
                    ref_id=donation.id,
                )
        donation.status = DONATION_REVERSED
        donation.reversed_at = utcnow()
        donation.reversed_by_id = actor.id if actor is not None else None
        donation.reverse_reason = reason
        audit.record(
            "donation.reverse",
            donation,
            actor=actor,
            receipt_no=donation.receipt_no,
            form=donation.form,
            amount_fen=donation.amount_fen,
            reason=reason,
        )
    logger.info("donation %s reversed", donation.receipt_no)
    return donation


# ---------------------------------------------------------------- reading


def get_donation(supermarket_id: int, donation_id: int) -> Donation:
    donation = db.session.get(Donation, donation_id)
    if donation is None or donation.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该捐赠"))
    return donation


def donation_movements(donation_id: int, *, originals_only: bool = False) -> list[StockMovement]:
    """A goods donation's stock lines (and their reversals unless ``originals_only``)."""
    stmt = sa.select(StockMovement).where(
        StockMovement.ref_type == "donation", StockMovement.ref_id == donation_id
    )
    if originals_only:
        stmt = stmt.where(StockMovement.reverses_id.is_(None))
    return list(db.session.scalars(stmt.order_by(StockMovement.id)))


def goods_summary(donation: Donation) -> str:
    """ "大米×10袋、花生油×2桶" for lists and the public notice."""
    parts = [
        f"{m.product.name}×{m.quantity}{m.product.unit}"
        for m in donation_movements(donation.id, originals_only=True)
    ]
    return "、".join(parts)


def _day_bounds(start: date, end: date) -> tuple[date, date]:
    if end < start:
        raise ValidationFailed(_("结束日期不能早于开始日期"))
    return start, end


def list_donations(
    supermarket_id: int,
    start: date | None = None,
    end: date | None = None,
    *,
    include_reversed: bool = True,
    limit: int | None = None,
    donor_id: int | None = None,
) -> list[Donation]:
    """Donations by their donation date (newest first), optionally within [start, end]."""
    stmt = sa.select(Donation).where(Donation.supermarket_id == supermarket_id)
    if donor_id is not None:
        stmt = stmt.where(Donation.donor_id == donor_id)
    if start is not None and end is not None:
        start, end = _day_bounds(start, end)
        stmt = stmt.where(Donation.donated_on >= start, Donation.donated_on <= end)
    if not include_reversed:
        stmt = stmt.where(Donation.status == DONATION_RECORDED)
    stmt = stmt.order_by(Donation.donated_on.desc(), Donation.seq.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class PublicRow:
    """One line of the public donor list (捐赠公示): nothing the notice does not need."""

    donated_on: date
    name: str
    kind: str
    form: str
    amount_fen: int
    goods: str
    cash: bool


def public_rows(supermarket_id: int, start: date, end: date) -> list[PublicRow]:
    """Donations in force between two days, oldest first, with names as the notice shows them
    (never contact details)."""
    donations = list_donations(supermarket_id, start, end, include_reversed=False)
    donations.sort(key=lambda d: (d.donated_on, d.seq))
    return [
        PublicRow(
            donated_on=d.donated_on,
            name=public_name(d.donor),
            kind=DONOR_KIND_LABELS.get(d.donor.kind, d.donor.kind),
            form=FORM_LABELS[d.form],
            amount_fen=d.amount_fen,
            goods=goods_summary(d) if d.form == DONATION_GOODS else "",
            cash=d.form == DONATION_CASH,
        )
        for d in donations
    ]


def references(entries: list[FundEntry]) -> dict[int, str]:
    """fund entry id → what it belongs to ("JZ000003", "入库单 12") for the ledger."""
    donation_ids = {e.ref_id for e in entries if e.ref_type == "donation" and e.ref_id}
    numbers: dict[int, str] = {}
    if donation_ids:
        numbers = dict(
            db.session.execute(
                sa.select(Donation.id, Donation.receipt_no).where(Donation.id.in_(donation_ids))
            ).all()
        )
    out = {}
    for e in entries:
        if e.ref_type == "donation" and e.ref_id in numbers:
            out[e.id] = numbers[e.ref_id]
        elif e.ref_type == "stock_in" and e.ref_id:
            out[e.id] = f"入库单 {e.ref_id}"
        elif e.ref_type:
            out[e.id] = f"{e.ref_type} {e.ref_id or ''}".strip()
        else:
            out[e.id] = ""
    return out


# ---------------------------------------------------------------- integrity


def check_donations() -> list[Any]:
    """``jifen check``: receipt numbers gap-free; cash donations equal their pool entries and
    goods donations their stock lines; reversed donations fully reversed."""

    problems: list[Problem] = []
    rows = db.session.execute(
        sa.select(
            Donation.supermarket_id,
            sa.func.count(Donation.id),
            sa.func.min(Donation.seq),
            sa.func.max(Donation.seq),
        ).group_by(Donation.supermarket_id)
    )
    for sid, count, lo, hi in rows:
        if lo != 1 or hi != count:
            problems.append(
                Problem(
                    "donations",
                    f"supermarket {sid}",
                    f"{count} donations numbered {lo}..{hi}: numbers have gaps",
                )
            )
    fund_sums = dict(
        db.session.execute(
            sa.select(FundEntry.ref_id, sa.func.sum(FundEntry.amount_fen))
            .where(FundEntry.ref_type == "donation")
            .group_by(FundEntry.ref_id)
        ).all()
    )
    stock_in = dict(
        db.session.execute(
            sa.select(
                StockMovement.ref_id,
                sa.func.sum(StockMovement.quantity * StockMovement.unit_cost_fen),
            )
            .where(
                StockMovement.ref_type == "donation",
                StockMovement.reverses_id.is_(None),
            )
            .group_by(StockMovement.ref_id)
        ).all()
    )
    stock_net = dict(
        db.session.execute(
            sa.select(StockMovement.ref_id, sa.func.sum(StockMovement.quantity))
            .where(StockMovement.ref_type == "donation")
            .group_by(StockMovement.ref_id)
        ).all()
    )
    for d in db.session.scalars(sa.select(Donation).order_by(Donation.id)):
        subject = f"donation {d.receipt_no} (supermarket {d.supermarket_id})"
        reversed_ = d.status == DONATION_REVERSED
        if d.form == DONATION_CASH:
            net = fund_sums.get(d.id, 0) or 0
            want = 0 if reversed_ else d.amount_fen
            if net != want:
                problems.append(Problem("donations", subject, f"pool entries {net}, want {want}"))
        else:
            value = stock_in.get(d.id, 0) or 0
            if value != d.amount_fen:
                problems.append(
                    Problem(
                        "donations", subject, f"goods worth {value} but donation {d.amount_fen}"
                    )
                )
            net_qty = stock_net.get(d.id, 0) or 0
            if reversed_ and net_qty != 0:
                problems.append(
                    Problem("donations", subject, f"reversed but {net_qty} units remain")
                )
    return problems


# ---------------------------------------------------------------- demo data


def _backdate_demo_donation(donation: Donation, donated_on: date) -> None:
    """Record a demo donation on the day it was received (as the demo backdates its ledger
    rows), so the month-end fund pool counts it in the month the donor list shows it."""
    from kiosk.clock import local_to_utc

    at = local_to_utc(datetime.combine(donated_on, time(10)))
    with write_transaction():
        db.session.execute(
            sa.update(FundEntry)
            .where(FundEntry.id == donation.fund_entry_id)
            .values(created_at=at)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.update(Donation)
            .where(Donation.id == donation.id)
            .values(created_at=at)
            .execution_options(synchronize_session=False)
        )


def seed_demo_fund(supermarket: Supermarket, users: dict[str, User], rng: Any) -> None:
    """Demo donors and donations for ``jifen demo``: cash from a 乡贤, an enterprise and the
    village collective, and rice and oil in kind when those products exist."""
    from kiosk.clock import local_now

    actor = users.get("keeper") or users.get("admin")
    today = local_now().date()
    donors = [
        ("王德福", "xiangxian", True),
        ("县农商银行", "enterprise", False),
        ("县供电公司", "partner_unit", False),
        (f"{supermarket.village or '本村'}村集体", "village_collective", False),
        ("刘秀英", "individual", False),
    ]
    made = [
        create_donor(supermarket.id, name=n, kind=k, publish_full_name=p, actor=None)
        for n, k, p in donors
    ]
    for i, donor in enumerate(made):
        amount = rng.choice([50000, 100000, 200000, 30000, 80000])
        donated_on = today - timedelta(days=30 - i * 5)
        donation = record_cash_donation(
            supermarket.id,
            donor_id=donor.id,
            amount_fen=amount,
            donated_on=donated_on,
            note="年度捐赠" if i == 0 else "",
            actor=actor,
        )
        _backdate_demo_donation(donation, donated_on)
    goods = list(
        db.session.scalars(
            sa.select(Product)
            .where(Product.supermarket_id == supermarket.id, Product.kind == KIND_GOODS)
            .order_by(Product.id)
            .limit(2)
        )
    )
    if goods:
        record_goods_donation(
            supermarket.id,
            donor_id=made[1].id,
            lines=[GoodsLine(p.id, 10, max(p.unit_cost_fen, 100)) for p in goods],
            donated_on=today - timedelta(days=3),
            note="爱心物资",
            actor=actor,
        )
