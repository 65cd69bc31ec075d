"""The product catalogue: goods and services a supermarket redeems at cost price."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa

from inventory.models import KIND_GOODS, KIND_SERVICE, Category, Product
from kiosk import audit
from kiosk.database import write_transaction
from kiosk.errors import DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import Supermarket, User
from kiosk.rules import Policy

_RESTRICTION_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# A service's price (理疗卡 and the like): at most 100,000 yuan, as the API allows.
MAX_SERVICE_COST_FEN = 10_000_000


def policy_for(supermarket: Supermarket) -> Policy:
    """The supermarket's policy (see :func:`kiosk.rules.policies.policy_for`)."""
    from kiosk.rules.policies import policy_for as _policy_for

    return _policy_for(supermarket)


def get_or_create_category(supermarket_id: int, name: str) -> Category:
    """A category by name, created inside the caller's transaction when new."""
    category = db.session.scalar(
        sa.select(Category).where(Category.supermarket_id == supermarket_id, Category.name == name)
    )
    if category is None:
        count = db.session.scalar(
            sa.select(sa.func.count(Category.id)).where(Category.supermarket_id == supermarket_id)
        )
        category = Category(supermarket_id=supermarket_id, name=name, sort_order=count or 0)
        db.session.add(category)
        db.session.flush()
    return category


def create_product(
    supermarket_id: int,
    *,
    sku: str,
    name: str,
    unit: str = "件",
    category: str | None = None,
    barcode: str | None = None,
    kind: str = KIND_GOODS,
    unit_cost_fen: int = 0,
    restriction_key: str | None = None,
    actor: User | None,
) -> Product:
    """Add a product to the catalogue. Goods start with no stock: stock comes in by stock-in.

    ``restriction_key`` ties it to a policy restriction (寨里 "elder_canteen": 长者食堂).
    """
    sku, name = (sku or "").strip(), (name or "").strip()
    barcode = (barcode or "").strip() or None
    restriction_key = (restriction_key or "").strip() or None
    if restriction_key is not None and not _RESTRICTION_KEY_RE.match(restriction_key):
        raise ValidationFailed(_("限定标记只能用小写字母、数字和下划线，例如 elder_canteen"))
    if not sku or not name:
        raise ValidationFailed(_("商品编号和名称不能为空"))
    if kind not in (KIND_GOODS, KIND_SERVICE):
        raise ValidationFailed(_("商品类型只能是实物或服务"))
    if not isinstance(unit_cost_fen, int) or unit_cost_fen < 0:
        raise ValidationFailed(_("成本价必须是不小于0的整数（分）"))
    if barcode is not None and not (barcode.isascii() and barcode.isdigit()):
        raise ValidationFailed(_("条码只能由数字组成"))
    with write_transaction():
        supermarket = db.session.get(Supermarket, supermarket_id)
        if supermarket is None:
            raise NotFound(_("没有找到该超市"))
        clash = db.session.scalar(
            sa.select(Product.id).where(
                Product.supermarket_id == supermarket_id,
                sa.or_(Product.sku == sku, Product.barcode == barcode if barcode else sa.false()),
            )
        )
        if clash is not None:
            raise DuplicateValue(_("商品编号或条码已存在"))
        product = Product(
            supermarket_id=supermarket_id,
            sku=sku,
            name=name,
            unit=unit or "件",
            barcode=barcode,
            kind=kind,
            unit_cost_fen=unit_cost_fen,
            restriction_key=restriction_key,
            points_price=policy_for(supermarket).points_price(unit_cost_fen),
            category_id=get_or_create_category(supermarket_id, category).id if category else None,
        )
        db.session.add(product)
        db.session.flush()
        audit.record(
            "product.create",
            product,
            actor=actor,
            sku=sku,
            name=name,
            restriction_key=restriction_key,
        )
    return product


def find_by_barcode(supermarket_id: int, code: str) -> Product:
    """The active product with this barcode (or SKU) in this supermarket."""
    code = (code or "").strip()
    product = db.session.scalar(
        sa.select(Product).where(
            Product.supermarket_id == supermarket_id,
            Product.active.is_(True),
            sa.or_(Product.barcode == code, Product.sku == code),
        )
    )
    if product is None:
        raise NotFound(_("没有找到条码为 %(code)s 的商品", code=code))
    return product


def catalogue(supermarket_id: int) -> list[Product]:
    """Active products with their categories, in shelf order."""
    return list(
        db.session.scalars(
            sa.select(Product)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(Product.supermarket_id == supermarket_id, Product.active.is_(True))
            .order_by(Category.sort_order, Product.name)
        )
    )


def categories(supermarket_id: int) -> list[Category]:
    return list(
        db.session.scalars(
            sa.select(Category)
            .where(Category.supermarket_id == supermarket_id)
            .order_by(Category.sort_order, Category.id)
        )
    )


_UNSET: object = object()


def _restriction_key(value: str | None, policy: Policy) -> str | None:
    """A product's restriction key, checked against the rule set: a key the policy does not
    know would make an ordinary product that looks restricted."""
    key = (value or "").strip() or None
    if key is None:
        return None
    if not _RESTRICTION_KEY_RE.match(key):
        raise ValidationFailed(_("限定标记只能用小写字母、数字和下划线，例如 elder_canteen"))
    known = {r.key: r.label for r in policy.restrictions}
    if key not in known:
        # The keys and their labels are the rule set's own terms.
        listed = "、".join(f"{k}（{label}）" for k, label in known.items()) or _("无")
        raise ValidationFailed(
            _("现行规则里没有限定物品“%(key)s”，可选：%(listed)s", key=key, listed=listed)
        )
    return key


def update_product(
    supermarket_id: int,
    product_id: int,
    *,
    actor: User | None,
    name: str | object = _UNSET,
    unit: str | object = _UNSET,
    kind: str | object = _UNSET,
    unit_cost_fen: int | object = _UNSET,
    restriction_key: str | None | object = _UNSET,
    active: bool | object = _UNSET,
) -> Product:
    """Change a product's policy-linked fields: what it is (goods or a service), who may take
    it (``restriction_key``, a restriction of the rule set: 寨里's 长者食堂), its service price,
    its name and unit, whether it is offered. Only the fields given change.

    A goods' cost follows its stock-ins, so only a service's ``unit_cost_fen`` is set here;
    goods with stock on the shelf cannot become a service (the stock would be lost to the books).
    """
    with write_transaction():
        product = db.session.get(Product, product_id)
        if product is None or product.supermarket_id != supermarket_id:
            raise NotFound(_("没有找到该商品"))
        supermarket = db.session.get_one(Supermarket, supermarket_id)
        policy = policy_for(supermarket)
        changes: dict[str, object] = {}
        if name is not _UNSET:
            text = (name or "").strip() if isinstance(name, str) else ""
            if not text:
                raise ValidationFailed(_("商品名称不能为空"))
            if len(text) > 100:
                raise ValidationFailed(_("商品名称不能超过100个字"))
            changes["name"] = text
        if unit is not _UNSET:
            text = (unit or "").strip() if isinstance(unit, str) else ""
            if not text or len(text) > 16:
                raise ValidationFailed(_("单位应为1到16个字"))
            changes["unit"] = text
        new_kind = product.kind
        if kind is not _UNSET:
            if not isinstance(kind, str) or kind not in (KIND_GOODS, KIND_SERVICE):
                raise ValidationFailed(_("商品类型只能是实物或服务"))
            if kind == KIND_SERVICE and product.kind == KIND_GOODS and product.stock_qty:
                raise ValidationFailed(
                    _(
                        "货架上还有%(qty)s%(unit)s，先报损或盘点清零才能改为服务",
                        qty=product.stock_qty,
                        unit=product.unit,
                    )
                )
            new_kind = kind
            changes["kind"] = kind
        if unit_cost_fen is not _UNSET:
            if new_kind != KIND_SERVICE:
                raise ValidationFailed(_("实物的成本价随入库计算，不能直接修改；服务才能设定价格"))
            if (
                isinstance(unit_cost_fen, bool)
                or not isinstance(unit_cost_fen, int)
                or not 0 <= unit_cost_fen <= MAX_SERVICE_COST_FEN
            ):
                raise ValidationFailed(
                    _("服务价格应在0到%(n)s元之间", n=MAX_SERVICE_COST_FEN // 100)
                )
            changes["unit_cost_fen"] = unit_cost_fen
        if restriction_key is not _UNSET:
            changes["restriction_key"] = _restriction_key(restriction_key, policy)  # type: ignore[arg-type]
        if active is not _UNSET:
            if not isinstance(active, bool):
                raise ValidationFailed(_("是否上架应为是或否"))
            changes["active"] = active
        before = {key: getattr(product, key) for key in changes}
        for key, value in changes.items():
            setattr(product, key, value)
        if "unit_cost_fen" in changes:
            product.points_price = policy.points_price(product.unit_cost_fen)
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if changed:
            audit.record(
                "product.update",
                product,
                actor=actor,
                before={k: before[k] for k in changed},
                after=changed,
                sku=product.sku,
            )
    return product


def get_product(supermarket_id: int, product_id: int) -> Product:
    """A product of this supermarket (on sale or not), or NotFound."""
    product = db.session.get(Product, product_id)
    if product is None or product.supermarket_id != supermarket_id:
        raise NotFound(_("没有找到该商品"))
    return product


def all_products(supermarket_id: int) -> list[Product]:
    """Every product, on sale first, by name: the office's product list."""
    return list(
        db.session.scalars(
            sa.select(Product)
            .where(Product.supermarket_id == supermarket_id)
            .order_by(Product.active.desc(), Product.name, Product.id)
        )
    )


def products_by_id(product_ids: Iterable[int]) -> list[Product]:
    """The products with these ids, by id."""
    return list(
        db.session.scalars(
            sa.select(Product).where(Product.id.in_(set(product_ids))).order_by(Product.id)
        )
    )


def product_by_sku(supermarket_id: int, sku: str) -> Product | None:
    """The supermarket's product with this SKU (surrounding spaces ignored), or None."""
    return db.session.scalar(
        sa.select(Product).where(
            Product.supermarket_id == supermarket_id, Product.sku == sku.strip()
        )
    )


def donatable_goods(supermarket_id: int) -> list[Product]:
    """The active goods a donation in kind may bring, in pinyin order of their names."""
    from pypinyin import lazy_pinyin

    rows = db.session.scalars(
        sa.select(Product).where(
            Product.supermarket_id == supermarket_id,
            Product.kind == KIND_GOODS,
            Product.active.is_(True),
        )
    )
    return sorted(rows, key=lambda p: (lazy_pinyin(p.name), p.id))
