"""Stock counts (盘点): start, count by scanning, submit, approve (posts the variance), sign off.

A count fixes each product's book quantity when it starts and remembers the last stock
movement id then (``Stocktake.start_movement_id``). The shop keeps running during the count,
so every time a line is counted it also remembers the product's last movement id at that
moment (``StocktakeLine.count_movement_id``). The quantity the shelf should have held when it
was counted is therefore::

    expected = book_qty + the product's movements with start_movement_id < id <= count_movement_id

and the variance is ``counted_qty - expected``: a redemption, void or stock-in during the count
moves the expectation with the shelf and never shows up as a loss or a gain. Approval posts the
variance as a ``MOVE_COUNT`` movement at the product's current unit cost; the stock after it is
the counted quantity plus whatever moved after the count, which is what is on the shelf now.

States: counting → submitted → approved → posted (the supervisors' sign-off); a count still
counting may be cancelled, a submitted one sent back to counting. Locks are taken in one
order — the stocktake row, then products in id order (``stock.locked_products``), then
lines — so scans from several phones, redemptions at the counter and an approval never
deadlock and never lose a scan.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from inventory import periods
from inventory.models import (
    COUNT_APPROVED,
    COUNT_CANCELLED,
    COUNT_COUNTING,
    COUNT_EVENT_ADD,
    COUNT_EVENT_CLEAR,
    COUNT_EVENT_KINDS,
    COUNT_EVENT_SET,
    COUNT_POSTED,
    COUNT_SUBMITTED,
    KIND_GOODS,
    MOVE_COUNT,
    Category,
    Product,
    StockMovement,
    Stocktake,
    StocktakeCount,
    StocktakeLine,
)
from inventory.stock import MAX_QUANTITY, apply_movement, locked_products
from kiosk import audit, permissions
from kiosk.database import lock, write_transaction
from kiosk.errors import NotFound, PermissionDenied, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import Joined, Message, _, pgettext
from kiosk.models import Supermarket, User
from kiosk.problems import Problem
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

DEVICES = ("wedge", "camera", "typed", "button")
REASON_COUNT = "count"
REF_STOCKTAKE = "stocktake"
_KEY_RE = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")

STATE_LABELS: dict[str, Message] = {
    COUNT_COUNTING: _("清点中"),
    COUNT_SUBMITTED: _("已提交"),
    COUNT_APPROVED: _("已审批"),
    COUNT_POSTED: _("已签字入账"),
    COUNT_CANCELLED: _("已取消"),
}
# The same words inside a sentence ("这次盘点已取消": "This stocktake is cancelled"), apart from
# the labels above, which English capitalises where they stand alone.
_STATE_IN_SENTENCE: dict[str, Message] = {
    COUNT_COUNTING: pgettext("status, in a sentence", "清点中"),
    COUNT_SUBMITTED: pgettext("status, in a sentence", "已提交"),
    COUNT_APPROVED: pgettext("status, in a sentence", "已审批"),
    COUNT_POSTED: pgettext("status, in a sentence", "已签字入账"),
    COUNT_CANCELLED: pgettext("status, in a sentence", "已取消"),
}


class CountStateError(ValidationFailed):
    """The count is not in a state that allows this step."""


# ---------------------------------------------------------------- reading


def get_stocktake(stocktake_id: int, supermarket_id: int | None = None) -> Stocktake:
    """The count, or NotFound (also when it belongs to another supermarket)."""
    st = db.session.get(Stocktake, stocktake_id)
    if st is None or (supermarket_id is not None and st.supermarket_id != supermarket_id):
        raise NotFound(_("没有找到这次盘点"))
    return st


def list_stocktakes(supermarket_id: int, limit: int = 50) -> list[Stocktake]:
    """The supermarket's counts, newest first."""
    return list(
        db.session.scalars(
            sa.select(Stocktake)
            .where(Stocktake.supermarket_id == supermarket_id)
            .order_by(Stocktake.id.desc())
            .limit(limit)
        )
    )


def count_in_status(supermarket_id: int, status: str) -> int:
    """How many counts are in ``status``: submitted ones wait for an admin's approval,
    approved ones for a supervisor's signature (the office home's to-dos)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count(Stocktake.id)).where(
                Stocktake.supermarket_id == supermarket_id, Stocktake.status == status
            )
        )
        or 0
    )


def progress(stocktake_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per count: (lines counted, lines in all), in one query."""
    rows = db.session.execute(
        sa.select(
            StocktakeLine.stocktake_id,
            sa.func.count(StocktakeLine.counted_qty),
            sa.func.count(StocktakeLine.id),
        )
        .where(StocktakeLine.stocktake_id.in_(stocktake_ids))
        .group_by(StocktakeLine.stocktake_id)
    )
    found = {sid: (int(done), int(total)) for sid, done, total in rows}
    return {sid: found.get(sid, (0, 0)) for sid in stocktake_ids}


@dataclass(frozen=True)
class LineState:
    """What the count page shows of a line (no book quantity: counting is blind)."""

    line_id: int
    product_id: int
    name: str
    barcode: str
    sku: str
    unit: str
    category: str
    counted_qty: int | None
    last_by: str
    last_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "line_id": self.line_id,
            "product_id": self.product_id,
            "name": self.name,
            "barcode": self.barcode,
            "sku": self.sku,
            "unit": self.unit,
            "category": self.category,
            "counted_qty": self.counted_qty,
            "last_by": self.last_by,
            "last_at": self.last_at.isoformat() if self.last_at else None,
        }


def line_states(stocktake_id: int) -> list[LineState]:
    """Every line of a count with who counted it last, in category then name order."""
    last = (
        sa.select(StocktakeCount.line_id, sa.func.max(StocktakeCount.id).label("last_id"))
        .where(StocktakeCount.stocktake_id == stocktake_id)
        .group_by(StocktakeCount.line_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(StocktakeLine, Product, Category.name, User.display_name, StocktakeCount.at)
        .join(Product, Product.id == StocktakeLine.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .outerjoin(last, last.c.line_id == StocktakeLine.id)
        .outerjoin(StocktakeCount, StocktakeCount.id == last.c.last_id)
        .outerjoin(User, User.id == StocktakeCount.user_id)
        .where(StocktakeLine.stocktake_id == stocktake_id)
        .order_by(Category.sort_order, Category.name, Product.name, StocktakeLine.id)
    )
    return [
        LineState(
            line.id,
            product.id,
            product.name,
            product.barcode or "",
            product.sku,
            product.unit,
            category or "",
            line.counted_qty,
            by or "",
            at,
        )
        for line, product, category, by, at in rows
    ]


def _expected_deltas(stocktake: Stocktake) -> dict[int, int]:
    """Per line: net movements of its product after the start and up to when it was counted."""
    rows = db.session.execute(
        sa.select(StocktakeLine.id, sa.func.coalesce(sa.func.sum(StockMovement.quantity), 0))
        .join(
            StockMovement,
            sa.and_(
                StockMovement.product_id == StocktakeLine.product_id,
                StockMovement.id > stocktake.start_movement_id,
                StockMovement.id <= StocktakeLine.count_movement_id,
            ),
        )
        .where(StocktakeLine.stocktake_id == stocktake.id)
        .group_by(StocktakeLine.id)
    )
    return {line_id: int(total) for line_id, total in rows}


def _moved_since_start(stocktake: Stocktake) -> dict[int, int]:
    """Per product: net movements since the count started (all of them, to now)."""
    rows = db.session.execute(
        sa.select(StockMovement.product_id, sa.func.sum(StockMovement.quantity))
        .join(StocktakeLine, StocktakeLine.product_id == StockMovement.product_id)
        .where(
            StocktakeLine.stocktake_id == stocktake.id,
            StockMovement.id > stocktake.start_movement_id,
        )
        .group_by(StockMovement.product_id)
    )
    return {pid: int(total) for pid, total in rows}


@dataclass(frozen=True)
class ReportRow:
    """One line of the variance report (盘点差异表)."""

    line_id: int
    product_id: int
    name: str
    sku: str
    unit: str
    category: str
    book_qty: int
    moved_before_count: int  # redemptions, voids, stock-ins between the start and the count
    expected_qty: int | None
    counted_qty: int | None
    variance: int | None
    unit_cost_fen: int  # posted cost once approved, else the product's current cost
    value_fen: int | None

    @property
    def counted(self) -> bool:
        return self.counted_qty is not None


@dataclass(frozen=True)
class Report:
    stocktake: Stocktake
    rows: list[ReportRow]

    @property
    def counted_rows(self) -> list[ReportRow]:
        return [r for r in self.rows if r.counted]

    @property
    def uncounted_rows(self) -> list[ReportRow]:
        return [r for r in self.rows if not r.counted]

    @property
    def gain_qty(self) -> int:
        return sum(r.variance for r in self.counted_rows if r.variance and r.variance > 0)

    @property
    def loss_qty(self) -> int:
        return -sum(r.variance for r in self.counted_rows if r.variance and r.variance < 0)

    @property
    def gain_fen(self) -> int:
        return sum(r.value_fen for r in self.counted_rows if r.value_fen and r.value_fen > 0)

    @property
    def loss_fen(self) -> int:
        return -sum(r.value_fen for r in self.counted_rows if r.value_fen and r.value_fen < 0)

    @property
    def net_fen(self) -> int:
        return self.gain_fen - self.loss_fen

    @property
    def variance_rows(self) -> list[ReportRow]:
        return [r for r in self.counted_rows if r.variance]


def report(stocktake_id: int, supermarket_id: int | None = None) -> Report:
    """The variance report: book, moved during the count, expected, counted, variance, value."""
    st = get_stocktake(stocktake_id, supermarket_id)
    deltas = _expected_deltas(st)
    rows = []
    for line, product, category in db.session.execute(
        sa.select(StocktakeLine, Product, Category.name)
        .join(Product, Product.id == StocktakeLine.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(StocktakeLine.stocktake_id == st.id)
        .order_by(Category.sort_order, Category.name, Product.name, StocktakeLine.id)
    ):
        moved = deltas.get(line.id, 0)
        if line.counted_qty is None:
            expected = variance = value = None
        else:
            expected = line.book_qty + moved
            variance = (
                line.posted_variance
                if line.posted_variance is not None
                else line.counted_qty - expected
            )
        cost = (
            line.posted_unit_cost_fen
            if line.posted_unit_cost_fen is not None
            else product.unit_cost_fen
        )
        if variance is not None:
            value = variance * cost
        rows.append(
            ReportRow(
                line.id,
                product.id,
                product.name,
                product.sku,
                product.unit,
                category or "",
                line.book_qty,
                moved if line.counted_qty is not None else 0,
                expected,
                line.counted_qty,
                variance,
                cost,
                value,
            )
        )
    return Report(st, rows)


def count_events(stocktake_id: int, limit: int = 200) -> list[tuple[StocktakeCount, str, str]]:
    """The latest counting actions of a count: (event, product name, who), newest first."""
    return [
        (event, name, by or "")
        for event, name, by in db.session.execute(
            sa.select(StocktakeCount, Product.name, User.display_name)
            .join(StocktakeLine, StocktakeLine.id == StocktakeCount.line_id)
            .join(Product, Product.id == StocktakeLine.product_id)
            .outerjoin(User, User.id == StocktakeCount.user_id)
            .where(StocktakeCount.stocktake_id == stocktake_id)
            .order_by(StocktakeCount.id.desc())
            .limit(limit)
        )
    ]


# ---------------------------------------------------------------- writing


def _require(actor: User | None, action: str, message: Message) -> None:
    if not permissions.allows(actor, action):
        raise PermissionDenied(message)


def _locked_stocktake(stocktake_id: int, supermarket_id: int | None) -> Stocktake:
    st = db.session.scalar(lock(sa.select(Stocktake).where(Stocktake.id == stocktake_id)))
    if st is None or (supermarket_id is not None and st.supermarket_id != supermarket_id):
        raise NotFound(_("没有找到这次盘点"))
    return st


def _require_state(st: Stocktake, *states: str, action: Message) -> None:
    """``action`` is said as in "cannot be …" (``pgettext("cannot be …", "提交")``)."""
    if st.status not in states:
        raise CountStateError(
            _(
                "这次盘点%(status)s，不能%(action)s",
                status=_STATE_IN_SENTENCE.get(st.status, st.status),
                action=action,
            ),
            status=st.status,
        )


def start_count(
    supermarket_id: int,
    *,
    actor: User,
    category_ids: list[int] | None = None,
    product_ids: list[int] | None = None,
    note: str = "",
) -> Stocktake:
    """Start a count of all goods, or of some categories or products; fix the book quantities.

    Services are not counted. A product already in a count that is still counting or waiting
    for approval cannot be in a second one.
    """
    _require(actor, "stocktake.count", _("只有超市管理员或村管理员可以开始盘点"))
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationFailed(_("备注不能超过200个字"))
    with write_transaction():
        supermarket = db.session.get(Supermarket, supermarket_id)
        if supermarket is None:
            raise NotFound(_("没有找到该超市"))
        stmt = sa.select(Product.id).where(
            Product.supermarket_id == supermarket_id,
            Product.kind == KIND_GOODS,
            sa.or_(Product.active.is_(True), Product.stock_qty != 0),
        )
        scope = "全部商品"
        if category_ids:
            names = list(
                db.session.scalars(
                    sa.select(Category.name)
                    .where(
                        Category.supermarket_id == supermarket_id,
                        Category.id.in_(category_ids),
                    )
                    .order_by(Category.sort_order, Category.name)
                )
            )
            if len(names) != len(set(category_ids)):
                raise NotFound(_("没有找到所选的分类"))
            stmt = stmt.where(Product.category_id.in_(category_ids))
            scope = "、".join(names)
        if product_ids:
            stmt = stmt.where(Product.id.in_(product_ids))
            scope = "部分商品"
        ids = sorted(db.session.scalars(stmt))
        if product_ids and len(ids) != len(set(product_ids)):
            raise NotFound(_("所选商品中有不存在或不需要盘点的（服务项目不盘点）"))
        if not ids:
            raise ValidationFailed(_("所选范围内没有需要盘点的商品"))
        products = locked_products(supermarket_id, ids)
        busy = list(
            db.session.execute(
                sa.select(Product.name, Stocktake.id)
                .join(StocktakeLine, StocktakeLine.product_id == Product.id)
                .join(Stocktake, Stocktake.id == StocktakeLine.stocktake_id)
                .where(
                    Product.id.in_(ids),
                    Stocktake.status.in_((COUNT_COUNTING, COUNT_SUBMITTED)),
                )
                .order_by(Product.name)
            )
        )
        if busy:
            busy_names = "、".join(name for name, _ in busy[:5])
            more = f"等{len(busy)}种" if len(busy) > 5 else ""
            raise ValidationFailed(
                _(
                    "%(names)s%(more)s商品正在第%(number)s号盘点中，请先完成或取消那次盘点",
                    names=busy_names,
                    more=more,
                    number=busy[0][1],
                )
            )
        # Read under the product locks: every later movement of these products gets a larger id.
        high_water = db.session.scalar(sa.select(sa.func.max(StockMovement.id))) or 0
        st = Stocktake(
            supermarket_id=supermarket_id,
            status=COUNT_COUNTING,
            note=note,
            scope=scope[:200],
            started_by_id=actor.id,
            started_at=utcnow(),
            start_movement_id=high_water,
        )
        db.session.add(st)
        db.session.flush()
        for pid in ids:
            product = products[pid]
            db.session.add(
                StocktakeLine(
                    stocktake_id=st.id,
                    product_id=pid,
                    book_qty=product.stock_qty,
                    unit_cost_fen=product.unit_cost_fen,
                )
            )
        audit.record(
            "stocktake.start",
            st,
            actor=actor,
            scope=st.scope,
            lines=len(ids),
            start_movement_id=high_water,
        )
    logger.info("stocktake %s started with %s lines", st.id, len(ids))
    return st


@dataclass(frozen=True)
class CountResult:
    line_id: int
    product_id: int
    name: str
    counted_qty: int | None
    duplicate: bool  # a retried request: nothing was added this time


def _line_for(st: Stocktake, line_id: int | None, barcode: str | None) -> StocktakeLine:
    if line_id is not None:
        line = db.session.scalar(
            sa.select(StocktakeLine).where(
                StocktakeLine.id == line_id, StocktakeLine.stocktake_id == st.id
            )
        )
        if line is None:
            raise NotFound(_("这次盘点中没有这一行"))
        return line
    code = (barcode or "").strip().upper()
    if not code:
        raise ValidationFailed(_("请扫描或输入商品条码"))
    product = db.session.scalar(
        sa.select(Product).where(
            Product.supermarket_id == st.supermarket_id,
            sa.or_(Product.barcode == code, Product.sku == code),
        )
    )
    if product is None:
        raise NotFound(_("没有找到条码为 %(code)s 的商品", code=code))
    line = db.session.scalar(
        sa.select(StocktakeLine).where(
            StocktakeLine.stocktake_id == st.id, StocktakeLine.product_id == product.id
        )
    )
    if line is None:
        raise NotFound(_("%(name)s 不在这次盘点的范围内", name=product.name))
    return line


def record_count(
    stocktake_id: int,
    *,
    actor: User,
    kind: str = COUNT_EVENT_ADD,
    quantity: int = 1,
    line_id: int | None = None,
    barcode: str | None = None,
    device: str = "button",
    client_key: str | None = None,
    supermarket_id: int | None = None,
) -> CountResult:
    """Count a line: add a (signed) quantity — a scan is +1 — set a total, or clear it.

    The line is found by id or by barcode/SKU. The addition happens under the count's row
    lock, so scans from several phones at once all add up. A ``client_key`` already used in
    this count is a retry: nothing is added and the line's current count is returned.
    """
    _require(actor, "stocktake.count", _("只有超市管理员或村管理员可以清点"))
    if kind not in COUNT_EVENT_KINDS:
        raise ValidationFailed(_("清点方式不正确"))
    if device not in DEVICES:
        raise ValidationFailed(_("设备类型不正确"))
    if kind != COUNT_EVENT_CLEAR:
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise ValidationFailed(_("数量必须是整数"))
        if kind == COUNT_EVENT_SET and not 0 <= quantity <= MAX_QUANTITY:
            raise ValidationFailed(_("数量应为0到%(n)s之间的整数", n=MAX_QUANTITY))
        if kind == COUNT_EVENT_ADD and (quantity == 0 or abs(quantity) > MAX_QUANTITY):
            raise ValidationFailed(_("每次增减的数量应为1到%(n)s", n=MAX_QUANTITY))
    if client_key is not None and not _KEY_RE.match(client_key):
        raise ValidationFailed(_("请求编号应为8到64位字母、数字或 - _ : ."))
    with write_transaction():
        st = _locked_stocktake(stocktake_id, supermarket_id)
        if client_key is not None:
            done = db.session.scalar(
                sa.select(StocktakeCount).where(
                    StocktakeCount.stocktake_id == st.id, StocktakeCount.client_key == client_key
                )
            )
            if done is not None:
                line = db.session.get_one(StocktakeLine, done.line_id)
                return CountResult(
                    line.id, line.product_id, line.product.name, line.counted_qty, True
                )
        _require_state(st, COUNT_COUNTING, action=pgettext("cannot be …", "再清点"))
        line = _line_for(st, line_id, barcode)
        product = locked_products(st.supermarket_id, [line.product_id])[line.product_id]
        db.session.refresh(line, with_for_update=True)
        if kind == COUNT_EVENT_ADD:
            new_qty = (line.counted_qty or 0) + quantity
            if line.counted_qty is None and quantity < 0:
                raise ValidationFailed(_("%(name)s 还没有清点，不能减少", name=product.name))
            if new_qty < 0:
                raise ValidationFailed(_("%(name)s 的数量不能小于0", name=product.name))
            if new_qty > MAX_QUANTITY:
                raise ValidationFailed(_("数量不能超过%(n)s", n=MAX_QUANTITY))
        elif kind == COUNT_EVENT_SET:
            new_qty = quantity
        else:
            new_qty = None
        now = utcnow()
        line.counted_qty = new_qty
        if new_qty is None:
            line.counted_at = None
            line.count_movement_id = None
        else:
            line.counted_at = now
            # Under the product lock: no movement of it is in flight, so the expected quantity
            # includes exactly the movements the shelf had seen when it was counted.
            line.count_movement_id = (
                db.session.scalar(
                    sa.select(sa.func.max(StockMovement.id)).where(
                        StockMovement.product_id == product.id
                    )
                )
                or 0
            )
        db.session.add(
            StocktakeCount(
                stocktake_id=st.id,
                line_id=line.id,
                kind=kind,
                quantity=quantity if kind != COUNT_EVENT_CLEAR else 0,
                result_qty=new_qty,
                device=device,
                client_key=client_key,
                user_id=actor.id,
                at=now,
            )
        )
        result = CountResult(line.id, product.id, product.name, new_qty, False)
    return result


def submit(stocktake_id: int, *, actor: User, supermarket_id: int | None = None) -> Stocktake:
    """Counting → submitted. Lines nobody counted stay "not counted" and have no variance."""
    _require(actor, "stocktake.count", _("只有超市管理员或村管理员可以提交盘点"))
    with write_transaction():
        st = _locked_stocktake(stocktake_id, supermarket_id)
        _require_state(st, COUNT_COUNTING, action=pgettext("cannot be …", "提交"))
        counted = db.session.scalar(
            sa.select(sa.func.count(StocktakeLine.id)).where(
                StocktakeLine.stocktake_id == st.id, StocktakeLine.counted_qty.is_not(None)
            )
        )
        if not counted:
            raise ValidationFailed(_("还没有清点任何商品，不能提交"))
        st.status = COUNT_SUBMITTED
        st.submitted_by_id = actor.id
        st.submitted_at = utcnow()
        audit.record("stocktake.submit", st, actor=actor, counted_lines=counted)
    return st


def send_back(
    stocktake_id: int, *, actor: User, reason: str = "", supermarket_id: int | None = None
) -> Stocktake:
    """Submitted → counting again (the admin wants a recount)."""
    _require(actor, "stocktake.decide", _("只有村管理员可以退回盘点"))
    with write_transaction():
        st = _locked_stocktake(stocktake_id, supermarket_id)
        _require_state(st, COUNT_SUBMITTED, action=pgettext("cannot be …", "退回"))
        st.status = COUNT_COUNTING
        st.submitted_by_id = None
        st.submitted_at = None
        audit.record("stocktake.send_back", st, actor=actor, reason=(reason or "")[:200])
    return st


def cancel(
    stocktake_id: int, *, actor: User, reason: str = "", supermarket_id: int | None = None
) -> Stocktake:
    """Counting → cancelled; nothing is posted. The count's records stay for the audit."""
    _require(actor, "stocktake.decide", _("只有村管理员可以取消盘点"))
    with write_transaction():
        st = _locked_stocktake(stocktake_id, supermarket_id)
        _require_state(st, COUNT_COUNTING, action=pgettext("cannot be …", "取消"))
        st.status = COUNT_CANCELLED
        st.cancelled_by_id = actor.id
        st.cancelled_at = utcnow()
        audit.record("stocktake.cancel", st, actor=actor, reason=(reason or "")[:200])
    return st


def approve(stocktake_id: int, *, actor: User, supermarket_id: int | None = None) -> Stocktake:
    """Submitted → approved: post each counted line's variance as a count movement (盘盈/盘亏)
    at the product's current unit cost. Refused whole if any product would go below zero."""
    _require(actor, "stocktake.decide", _("只有村管理员可以审批盘点"))
    with write_transaction():
        st = _locked_stocktake(stocktake_id, supermarket_id)
        _require_state(st, COUNT_SUBMITTED, action=pgettext("cannot be …", "审批"))
        periods.ensure_open(st.supermarket_id)
        lines = [(ln, ln.counted_qty) for ln in st.lines if ln.counted_qty is not None]
        products = locked_products(st.supermarket_id, sorted({ln.product_id for ln, _n in lines}))
        deltas = _expected_deltas(st)
        plan = []
        short = []
        for line, counted_qty in lines:
            product = products[line.product_id]
            variance = counted_qty - (line.book_qty + deltas.get(line.id, 0))
            if product.stock_qty + variance < 0:
                short.append(
                    _(
                        "%(name)s（现库存%(stock)s，盘点差异%(variance)s）",
                        name=product.name,
                        stock=product.stock_qty,
                        variance=variance,
                    )
                )
            plan.append((line, product, variance))
        if short:
            raise ValidationFailed(
                _(
                    "以下商品按盘点结果入账后库存会小于0，说明清点之后又发出了这些商品，"
                    "请退回重新清点：%(lines)s",
                    lines=Joined(short),
                )
            )
        gain_fen = loss_fen = 0
        for line, product, variance in plan:
            line.posted_variance = variance
            line.posted_unit_cost_fen = product.unit_cost_fen
            if variance == 0:
                continue
            apply_movement(
                product,
                MOVE_COUNT,
                variance,
                product.unit_cost_fen,
                actor=actor,
                reason=REASON_COUNT,
                ref_type=REF_STOCKTAKE,
                ref_id=st.id,
                note=f"盘点 #{st.id}",
            )
            value = variance * product.unit_cost_fen
            if value > 0:
                gain_fen += value
            else:
                loss_fen -= value
        st.status = COUNT_APPROVED
        st.approved_by_id = actor.id
        st.approved_at = utcnow()
        audit.record(
            "stocktake.approve",
            st,
            actor=actor,
            counted_lines=len(lines),
            variance_lines=sum(1 for _, _, v in plan if v),
            gain_fen=gain_fen,
            loss_fen=loss_fen,
        )
    logger.info("stocktake %s approved", st.id)
    return st


def sign_off(stocktake_id: int, *, actor: User, supermarket_id: int | None = None) -> Stocktake:
    """Approved → posted: the supervision group signs the count off (监督小组签字)."""
    _require(actor, "stocktake.sign_off", _("只有监督小组成员可以签字确认"))
    with write_transaction():
        st = _locked_stocktake(stocktake_id, supermarket_id)
        _require_state(st, COUNT_APPROVED, action=pgettext("cannot be …", "签字确认"))
        st.status = COUNT_POSTED
        st.posted_by_id = actor.id
        st.posted_at = utcnow()
        audit.record("stocktake.sign_off", st, actor=actor)
    return st


# ---------------------------------------------------------------- jifen check


def check_problems() -> list[Problem]:
    """Integrity of the counts for ``jifen check``: states, postings and count events agree."""

    problems: list[Problem] = []
    states = (COUNT_COUNTING, COUNT_SUBMITTED, COUNT_APPROVED, COUNT_POSTED, COUNT_CANCELLED)
    for sid, status in db.session.execute(
        sa.select(Stocktake.id, Stocktake.status).where(Stocktake.status.not_in(states))
    ):
        problems.append(Problem("stocktake", f"stocktake {sid}", f"unknown state {status!r}"))
    for sid, status in db.session.execute(
        sa.select(Stocktake.id, Stocktake.status).where(
            Stocktake.status.in_((COUNT_APPROVED, COUNT_POSTED)),
            sa.or_(Stocktake.approved_at.is_(None), Stocktake.approved_by_id.is_(None)),
        )
    ):
        problems.append(Problem("stocktake", f"stocktake {sid}", f"{status} without approval"))
    for (sid,) in db.session.execute(
        sa.select(Stocktake.id).where(
            Stocktake.status == COUNT_POSTED,
            sa.or_(Stocktake.posted_at.is_(None), Stocktake.posted_by_id.is_(None)),
        )
    ):
        problems.append(Problem("stocktake", f"stocktake {sid}", "posted without sign-off"))

    # Each approved/posted count's movements equal its lines' posted variances, product by
    # product; no other count has movements.
    moved = (
        sa.select(
            StockMovement.ref_id.label("sid"),
            StockMovement.product_id.label("pid"),
            sa.func.sum(StockMovement.quantity).label("qty"),
            sa.func.count(StockMovement.id).label("n"),
        )
        .where(StockMovement.ref_type == REF_STOCKTAKE)
        .group_by(StockMovement.ref_id, StockMovement.product_id)
        .subquery()
    )
    qty, n = sa.func.coalesce(moved.c.qty, 0), sa.func.coalesce(moved.c.n, 0)
    counted, variance = StocktakeLine.counted_qty, StocktakeLine.posted_variance
    # Only the lines with something wrong come back (the loop below says what): a county's
    # counts are millions of lines, which the database filters without shipping them here.
    wrong = sa.or_(
        sa.and_(
            Stocktake.status.in_((COUNT_APPROVED, COUNT_POSTED)),
            sa.or_(
                sa.and_(counted.is_not(None), variance.is_(None)),
                sa.and_(counted.is_(None), variance.is_not(None)),
                sa.func.coalesce(variance, 0) != qty,
                n > 1,
                sa.and_(variance == 0, n > 0),
            ),
        ),
        sa.and_(
            Stocktake.status.not_in((COUNT_APPROVED, COUNT_POSTED)),
            sa.or_(variance.is_not(None), n > 0),
        ),
    )
    rows = db.session.execute(
        sa.select(
            Stocktake.id, Stocktake.status, StocktakeLine.product_id, counted, variance, qty, n
        )
        .join(StocktakeLine, StocktakeLine.stocktake_id == Stocktake.id)
        .outerjoin(
            moved,
            sa.and_(moved.c.sid == Stocktake.id, moved.c.pid == StocktakeLine.product_id),
        )
        .where(wrong)
    )
    for sid, status, pid, counted, variance, qty, n in rows:
        subject = f"stocktake {sid} product {pid}"
        if status in (COUNT_APPROVED, COUNT_POSTED):
            if counted is not None and variance is None:
                problems.append(Problem("stocktake", subject, "counted but no variance posted"))
            if counted is None and variance is not None:
                problems.append(Problem("stocktake", subject, "variance posted but not counted"))
            if (variance or 0) != qty or n > 1 or (variance == 0 and n):
                problems.append(
                    Problem("stocktake", subject, f"posted variance {variance} but movements {qty}")
                )
        elif variance is not None or n:
            problems.append(Problem("stocktake", subject, f"{status} count has postings"))
    for sid, pid in db.session.execute(
        sa.select(moved.c.sid, moved.c.pid)
        .outerjoin(
            StocktakeLine,
            sa.and_(
                StocktakeLine.stocktake_id == moved.c.sid,
                StocktakeLine.product_id == moved.c.pid,
            ),
        )
        .where(StocktakeLine.id.is_(None))
    ):
        problems.append(
            Problem("stocktake", f"stocktake {sid} product {pid}", "movement without a line")
        )
    for (mid,) in db.session.execute(
        sa.select(StockMovement.id).where(
            sa.or_(
                sa.and_(StockMovement.kind == MOVE_COUNT, StockMovement.ref_type != REF_STOCKTAKE),
                sa.and_(StockMovement.ref_type == REF_STOCKTAKE, StockMovement.kind != MOVE_COUNT),
            )
        )
    ):
        problems.append(
            Problem("stocktake", f"movement {mid}", "count movement without its stocktake")
        )

    # A line's counted quantity is the result of its last count event.
    last = (
        sa.select(StocktakeCount.line_id, sa.func.max(StocktakeCount.id).label("last_id"))
        .group_by(StocktakeCount.line_id)
        .subquery()
    )
    for lid, counted_qty, result in db.session.execute(
        sa.select(StocktakeLine.id, StocktakeLine.counted_qty, StocktakeCount.result_qty)
        .outerjoin(last, last.c.line_id == StocktakeLine.id)
        .outerjoin(StocktakeCount, StocktakeCount.id == last.c.last_id)
        .where(
            sa.or_(
                sa.and_(StocktakeCount.id.is_(None), StocktakeLine.counted_qty.is_not(None)),
                StocktakeLine.counted_qty != StocktakeCount.result_qty,
                sa.and_(
                    StocktakeLine.counted_qty.is_(None), StocktakeCount.result_qty.is_not(None)
                ),
                sa.and_(
                    StocktakeLine.counted_qty.is_not(None), StocktakeCount.result_qty.is_(None)
                ),
            )
        )
    ):
        problems.append(
            Problem(
                "stocktake",
                f"stocktake line {lid}",
                f"counted {counted_qty} but the last count event says {result}",
            )
        )
    return problems


# ---------------------------------------------------------------- demo data


def seed_demo_stocktake(supermarket: Supermarket, users: dict[str, User], rng: object) -> None:
    """A finished demo count for ``jifen demo``: every shelf counted by the keeper, two small
    losses and a gain, one product left uncounted, approved and signed off. (No open count is
    left behind: it would hold up the month-end close.)"""
    keeper = users.get("keeper") or users["admin"]
    st = start_count(supermarket.id, actor=keeper, note="演示：月底盘点")
    lines = [(ln.id, ln.book_qty) for ln in st.lines]
    if not lines:
        return
    order = list(range(len(lines)))
    rng.shuffle(order)  # type: ignore[attr-defined]
    losses = {i for i in order[:2] if lines[i][1] > 0}
    gain = order[2] if len(order) > 2 else None
    skip = order[3] if len(order) > 3 else None
    for i, (line_id, book) in enumerate(lines):
        if i == skip:
            continue
        qty = book - 1 if i in losses else book + 1 if i == gain else book
        record_count(
            st.id, actor=keeper, line_id=line_id, kind=COUNT_EVENT_SET, quantity=qty, device="wedge"
        )
    submit(st.id, actor=keeper)
    approve(st.id, actor=users["admin"])
    if "supervisor" in users:
        sign_off(st.id, actor=users["supervisor"])
