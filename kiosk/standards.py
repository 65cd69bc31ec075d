"""Scoring standards (积分标准): the items an award or deduction cites, per supermarket.

Every supermarket starts from 寨里's 25 standards (seed 000, 附件《寨里镇美德信用积分标准（村居）》),
quoted word for word below with their points ("4分", item 22 "5分"), and edits its own copy:
retitle, re-score, add deductions (negative points), deactivate. Items are never deleted,
because proposals cite them.

The same list serves 寨里's quarterly personal score ("美德信用积分每季度评分一次"): a member's
quarter score is the sum of the standards they met, at most 100 (the 25 items add up to 101).
:func:`score_from_codes` computes it for the scores import, which then notes the cited items.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from kiosk import audit
from kiosk.database import lock, write_transaction
from kiosk.errors import DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import StandardItem, Supermarket, User

# 寨里镇美德信用积分标准（村居）·一、标准 — (code, text, points), exactly as the seed has them.
ZHAILI_STANDARDS: tuple[tuple[str, str, int], ...] = (
    (
        "1",
        "听党话，感党恩，跟党走，践行社会主义核心价值观，学习宣传党的理论政策，参加“明理胡同”宣讲活动。",
        4,
    ),
    ("2", "坚决支持村居集体决策，支持“四议两公开”定下的事，时刻维护村居集体利益。", 4),
    ("3", "义务参加村庄文明创建、植树绿化、扫雪清雪、环境卫生清理、公共设施维护等活动。", 4),
    ("4", "遵守村居“一约四会”章程，移风易俗，喜事新办，丧事简办，文明祭祀。", 4),
    (
        "5",
        "注重家风家教，有良好家风家训，家庭、邻里关系和谐不吵架，大人做好榜样，孩子受好教育。",
        4,
    ),
    (
        "6",
        "积极参加新时代文明实践活动，凡事讲文明讲礼仪讲美德讲信用，参与美德村庄、信用村庄建设。",
        4,
    ),
    (
        "7",
        "参与新时代文明实践站建设，自觉清扫实践站环境卫生，维护设施设备完好，建设新时代文明实践站。",
        4,
    ),
    (
        "8",
        "参加村居志愿服务队伍，积极参与为老、为小、为困难群体、为需要心理疏导和精神慰藉、为社会公共需要等“五为”志愿服务活动。",
        4,
    ),
    ("9", "爱心奉献，热心助人，尊老爱幼，常做好人好事，在邻里间有好口碑。", 4),
    (
        "10",
        "注重文明生活小细节，养成勤俭节约、光盘行动，节俭绿色、低碳生活，遛狗牵绳、文明养犬等好习惯。",
        4,
    ),
    (
        "11",
        "弘扬正能量，不造谣，不信谣，不传谣，不参加邪教组织，不搞迷信活动，远离黄赌毒，时时处处维护村庄的好名声、好形象。",
        4,
    ),
    (
        "12",
        "积极参加书香村居建设，从自己做起，多读书，好读书，读好书，让自己、家庭、村庄充满书香气。",
        4,
    ),
    ("13", "积极参加村居组织的各类文体活动。", 4),
    ("14", "代表村居参加各级文体活动，并获得奖项的。", 4),
    (
        "15",
        "保持自己家庭、庭院、门前干净整洁有序，自觉维护好村居环境，不乱扔乱放，不乱搭乱建，不乱贴乱画，不噪音扰民。",
        4,
    ),
    ("16", "遵守社会公德和公共秩序，商户依法经营，诚信经营，规范经营，安全经营，卫生经营。", 4),
    ("17", "遵守信访条例，自觉维护村居的和谐稳定，不越级上访、不非法上访、不无理取闹。", 4),
    ("18", "带头参加村居义务调解员队伍，主动参与制止和化解各类矛盾纠纷。", 4),
    ("19", "讲正道讲正气讲正义，见义勇为，敢于同不良风气作斗争。", 4),
    ("20", "爱管“闲”事，举报或劝阻违章建设、制售假冒伪劣产品、邪教活动等行为。", 4),
    ("21", "自觉维护村庄生活生产安全，保持消防通道畅通、消防设施齐备。", 4),
    (
        "22",
        "关心关注村居平安建设，主动参与村居安全宣传、安全排查等工作，关键时候能积极参与抢险救灾应急行动。",
        5,
    ),
    ("23", "捐款捐物用于长者食堂建设、道路修建、公园广场建设、公共设施维修等村级公益事业。", 4),
    ("24", "帮助村集体增加收入，帮助村民脱贫致富。", 4),
    ("25", "以镇级为基本分，获得区、市、省、国家级荣誉表彰。", 4),
)
ZHAILI_CATEGORY = "寨里标准"
MAX_ITEM_POINTS = 1000
MAX_SCORE = 100
_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,15}$")


def normalize_code(code: object) -> str:
    """An item code as typed or read from a sheet: full-width folded, spaces gone, upper case,
    "3.0" → "3"."""
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    text = unicodedata.normalize("NFKC", str(code if code is not None else "")).strip()
    return re.sub(r"\s+", "", text).upper()


def seed_standard_items(supermarket_id: int, *, actor: User | None) -> int:
    """Give a supermarket 寨里's 25 standards if it has no items yet; returns how many were
    added (0 when the list already exists, so running it twice is safe)."""
    with write_transaction():
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound(_("没有找到该超市"))
        added = add_zhaili_items(supermarket_id)
        if added:
            audit.record(
                "standards.seed",
                db.session.get(Supermarket, supermarket_id),
                actor=actor,
                supermarket_id=supermarket_id,
                items=added,
            )
    return added


def add_zhaili_items(supermarket_id: int) -> int:
    """Add the 25 standards inside the caller's transaction when the list is empty."""
    exists = db.session.scalar(
        sa.select(sa.func.count(StandardItem.id)).where(
            StandardItem.supermarket_id == supermarket_id
        )
    )
    if exists:
        return 0
    for order, (code, title, points) in enumerate(ZHAILI_STANDARDS, start=1):
        db.session.add(
            StandardItem(
                supermarket_id=supermarket_id,
                code=code,
                title=title,
                points=points,
                category=ZHAILI_CATEGORY,
                sort_order=order,
            )
        )
    db.session.flush()
    return len(ZHAILI_STANDARDS)


def list_items(supermarket_id: int, *, active_only: bool = False) -> list[StandardItem]:
    """The supermarket's items in their sort order."""
    stmt = sa.select(StandardItem).where(StandardItem.supermarket_id == supermarket_id)
    if active_only:
        stmt = stmt.where(StandardItem.active.is_(True))
    return list(db.session.scalars(stmt.order_by(StandardItem.sort_order, StandardItem.id)))


def items_by_code(supermarket_id: int) -> dict[str, StandardItem]:
    """Every item (active or not) by its normalized code."""
    return {normalize_code(i.code): i for i in list_items(supermarket_id)}


def _clean(code: str, title: str, points: object, category: str) -> tuple[str, str, int, str]:
    code = normalize_code(code)
    title = (title or "").strip()
    category = (category or "").strip()
    if not _CODE_RE.match(code):
        raise ValidationFailed(_("标准编号只能由字母、数字组成（最多16位），例如 26 或 K1"))
    if not title:
        raise ValidationFailed(_("请填写标准内容"))
    if len(title) > 300:
        raise ValidationFailed(_("标准内容不能超过300个字"))
    if len(category) > 50:
        raise ValidationFailed(_("类别不能超过50个字"))
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise ValidationFailed(_("分值必须是非零整数：加分写正数，扣分写负数"))
    if abs(points) > MAX_ITEM_POINTS:
        raise ValidationFailed(_("分值不能超过%(n)s分", n=MAX_ITEM_POINTS))
    return code, title, points, category


def create_item(
    supermarket_id: int,
    *,
    code: str,
    title: str,
    points: int,
    category: str = "",
    sort_order: int | None = None,
    actor: User | None,
) -> StandardItem:
    """Add a standard (an award with positive points, a deduction with negative)."""
    code, title, points, category = _clean(code, title, points, category)
    with write_transaction():
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound(_("没有找到该超市"))
        if normalize_code(code) in items_by_code(supermarket_id):
            raise DuplicateValue(_("标准编号 %(code)s 已存在", code=code))
        if sort_order is None:
            top = db.session.scalar(
                sa.select(sa.func.max(StandardItem.sort_order)).where(
                    StandardItem.supermarket_id == supermarket_id
                )
            )
            sort_order = int(top or 0) + 1
        item = StandardItem(
            supermarket_id=supermarket_id,
            code=code,
            title=title,
            points=points,
            category=category,
            sort_order=sort_order,
        )
        db.session.add(item)
        db.session.flush()
        audit.record("standards.create", item, actor=actor, code=code, points=points, title=title)
    return item


def update_item(
    item_id: int,
    *,
    title: str,
    points: int,
    category: str = "",
    active: bool = True,
    sort_order: int | None = None,
    actor: User | None,
    supermarket_id: int | None = None,
) -> StandardItem:
    """Change an item's text, points, category, order or whether it is in use. The code stays:
    proposals and score notes cite it."""
    with write_transaction():
        item = db.session.scalar(lock(sa.select(StandardItem).where(StandardItem.id == item_id)))
        if item is None or (supermarket_id is not None and item.supermarket_id != supermarket_id):
            raise NotFound(_("没有找到该标准"))
        _code, title, points, category = _clean(item.code, title, points, category)
        before = {
            "title": item.title,
            "points": item.points,
            "category": item.category,
            "active": item.active,
            "sort_order": item.sort_order,
        }
        item.title, item.points, item.category, item.active = title, points, category, active
        if sort_order is not None:
            item.sort_order = sort_order
        after = {
            "title": item.title,
            "points": item.points,
            "category": item.category,
            "active": item.active,
            "sort_order": item.sort_order,
        }
        changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changed:
            audit.record("standards.update", item, actor=actor, code=item.code, changed=changed)
    return item


def split_codes(text: object) -> list[str]:
    """ "1、3，22" / "1,3;22" / 3 → ["1", "3", "22"] (empty parts dropped)."""
    if text is None:
        return []
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    raw = unicodedata.normalize("NFKC", str(text))
    return [normalize_code(p) for p in re.split(r"[,;、/\s]+", raw) if normalize_code(p)]


def score_from_codes(items: list[StandardItem]) -> int:
    """寨里's quarter score from the standards a member met: their points summed, 0..100."""
    return max(0, min(MAX_SCORE, sum(i.points for i in items)))


__all__ = [
    "ZHAILI_STANDARDS",
    "add_zhaili_items",
    "create_item",
    "items_by_code",
    "list_items",
    "normalize_code",
    "score_from_codes",
    "seed_standard_items",
    "split_codes",
    "update_item",
]
