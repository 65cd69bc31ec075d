"""Households and their members: the holders of points accounts.

Every write keeps ``Household.search_key`` (see :mod:`kiosk.search_keys`) in step with the
household's number, head and active members, in the same transaction, so a household is
searchable by name, pinyin, initials or number the moment it exists — whether it was typed in
the office (:func:`create_household`) or imported in bulk (:func:`add_household`).
No ID numbers and no phone numbers are stored, ever.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from kiosk import audit
from kiosk.cards import issue_card, parse_payload
from kiosk.database import write_transaction
from kiosk.errors import DomainError, DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import Message, _
from kiosk.models import (
    ACTIVE,
    INACTIVE,
    Card,
    Household,
    Member,
    PointAccount,
    Supermarket,
    User,
)
from kiosk.problems import Problem
from kiosk.search_keys import build_search_key, normalize_query

NUMBER_MAX = 32
NAME_MAX = 50
PLACE_MAX = 50
RELATION_MAX = 20
REASON_MAX = 200
EARLIEST_BIRTH = date(1900, 1, 1)
SEARCH_LIMIT = 30


@dataclass(frozen=True)
class MemberInput:
    name: str
    relation: str = ""
    birth_date: date | None = None


_DATE_PARTS = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?$")


def parse_birth_date(text: str | None, *, today: date | None = None) -> date | None:
    """A birth date as an elderly admin types it: 1950-03-07, 1950/3/7, 1950年3月7日 or 19500307.

    Full-width digits are accepted; empty means unknown (None). Refuses impossible dates,
    dates in the future and dates before 1900 with a Chinese message.
    """
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw:
        return None
    compact = re.sub(r"\s", "", raw)
    if compact.isascii() and compact.isdigit() and len(compact) == 8:
        parts: tuple[str, ...] = (compact[:4], compact[4:6], compact[6:])
    else:
        match = _DATE_PARTS.match(compact)
        if not match:
            raise ValidationFailed(
                _("出生日期“%(raw)s”看不懂，请写成 1950-03-07 或 8 位数字 19500307", raw=raw)
            )
        parts = match.groups()
    try:
        born = date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise ValidationFailed(_("出生日期“%(raw)s”不存在，请检查年、月、日", raw=raw)) from None
    if born < EARLIEST_BIRTH:
        raise ValidationFailed(_("出生日期“%(raw)s”太早了，请检查年份", raw=raw))
    if today is not None and born > today:
        raise ValidationFailed(_("出生日期“%(raw)s”还没到，请检查年份", raw=raw))
    return born


def age_on(born: date | None, day: date) -> int | None:
    """Whole years of age on ``day`` (None when the birth date is unknown)."""
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _text(value: str | None, label: Message, max_len: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_("%(label)s不能为空", label=label))
    if len(value) > max_len:
        raise ValidationFailed(_("%(label)s太长了，最多%(n)s个字", label=label, n=max_len))
    return value


def _member_values(member: MemberInput) -> tuple[str, str, date | None]:
    name = _text(member.name, _("成员姓名"), NAME_MAX, required=True)
    relation = _text(member.relation, _("与户主关系"), RELATION_MAX)
    if member.birth_date is not None and member.birth_date < EARLIEST_BIRTH:
        raise ValidationFailed(_("出生日期太早了，请检查年份"))
    return name, relation, member.birth_date


def refresh_search_key(household: Household) -> str:
    """Recompute the household's search key inside the caller's transaction."""
    db.session.flush()
    names = [household.head_name] + list(
        db.session.scalars(
            sa.select(Member.name)
            .where(Member.household_id == household.id, Member.active.is_(True))
            .order_by(Member.id)
        )
    )
    household.search_key = build_search_key(household.number, names)
    return household.search_key


def create_household(
    supermarket_id: int,
    *,
    number: str,
    head_name: str,
    village: str = "",
    group_name: str = "",
    members: list[MemberInput] | None = None,
    actor: User | None,
) -> Household:
    """Register a household with its points account (balance 0) and members."""
    number = _text(number, _("户号"), NUMBER_MAX, required=True)
    head_name = _text(head_name, _("户主姓名"), NAME_MAX, required=True)
    village = _text(village, _("村"), PLACE_MAX)
    group_name = _text(group_name, _("组"), PLACE_MAX)
    with write_transaction():
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound(_("没有找到该超市"))
        exists = db.session.scalar(
            sa.select(Household.id).where(
                Household.supermarket_id == supermarket_id, Household.number == number
            )
        )
        if exists is not None:
            raise DuplicateValue(_("户号 %(number)s 已存在", number=number))
        household = add_household(
            supermarket_id,
            number=number,
            head_name=head_name,
            village=village,
            group_name=group_name,
            members=members or [MemberInput(head_name, "户主")],
        )
        audit.record("household.create", household, actor=actor, number=number)
        # 高阳: a household joining during the year gets the year's base now.
        grant_joining_base([household], actor=actor)
    return household


def grant_joining_base(households: list[Household], *, actor: User | None) -> int:
    """The year's base points for newly registered households, where the policy grants one."""
    from kiosk.cycle import grant_joining_base as grant

    return grant(households, actor=actor)


def add_household(
    supermarket_id: int,
    *,
    number: str,
    head_name: str,
    village: str,
    group_name: str,
    members: list[MemberInput],
    flush: bool = True,
) -> Household:
    """Add a household, its members and its empty account inside the caller's transaction.

    Bulk loaders (the Excel import) call this in their own transaction with ``flush=False``
    and flush many households at once (PostgreSQL inserts the lot with one statement a
    table), not three flushes a household; the search key is filled here, so an imported
    household is searchable at once.
    """
    people = [_member_values(m) for m in members]
    household = Household(
        supermarket_id=supermarket_id,
        number=number,
        head_name=head_name,
        village=village,
        group_name=group_name,
        # What refresh_search_key computes: the head, then the (all active) members in the
        # order they are inserted, which is the order of their ids.
        search_key=build_search_key(number, [head_name] + [name for name, _, _ in people]),
        members=[
            Member(name=name, relation=relation, birth_date=birth_date)
            for name, relation, birth_date in people
        ],
        account=PointAccount(),
    )
    db.session.add(household)
    if flush:
        db.session.flush()
    return household


def update_household(
    household_id: int,
    *,
    number: str,
    head_name: str,
    village: str = "",
    group_name: str = "",
    actor: User | None,
) -> Household:
    """Correct a household's number, head, village or group (audited with before and after)."""
    number = _text(number, _("户号"), NUMBER_MAX, required=True)
    head_name = _text(head_name, _("户主姓名"), NAME_MAX, required=True)
    village = _text(village, _("村"), PLACE_MAX)
    group_name = _text(group_name, _("组"), PLACE_MAX)
    with write_transaction():
        household = get_household(household_id)
        if number != household.number:
            taken = db.session.scalar(
                sa.select(Household.id).where(
                    Household.supermarket_id == household.supermarket_id,
                    Household.number == number,
                    Household.id != household.id,
                )
            )
            if taken is not None:
                raise DuplicateValue(_("户号 %(number)s 已存在", number=number))
        after = {
            "number": number,
            "head_name": head_name,
            "village": village,
            "group_name": group_name,
        }
        changes = _changes(household, after)
        if changes:
            for field, value in after.items():
                setattr(household, field, value)
            refresh_search_key(household)
            audit.record("household.update", household, actor=actor, changes=changes)
    return household


def _changes(row: Any, after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields that change (dates as ISO text)."""
    out = {}
    for field, value in after.items():
        before = getattr(row, field)
        if before != value:
            out[field] = [_plain(before), _plain(value)]
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def add_member(household_id: int, member: MemberInput, *, actor: User | None) -> Member:
    """Add a resident to a household."""
    name, relation, birth_date = _member_values(member)
    with write_transaction():
        household = get_household(household_id)
        row = Member(household_id=household.id, name=name, relation=relation, birth_date=birth_date)
        db.session.add(row)
        db.session.flush()
        refresh_search_key(household)
        audit.record(
            "member.add",
            row,
            actor=actor,
            supermarket_id=household.supermarket_id,
            household_id=household.id,
            name=row.name,
        )
    return row


def update_member(member_id: int, member: MemberInput, *, actor: User | None) -> Member:
    """Correct a member's name, relation or birth date (the age rules read the birth date)."""
    name, relation, birth_date = _member_values(member)
    with write_transaction():
        row = get_member(member_id)
        after = {"name": name, "relation": relation, "birth_date": birth_date}
        changes = _changes(row, after)
        if changes:
            for field, value in after.items():
                setattr(row, field, value)
            refresh_search_key(row.household)
            audit.record(
                "member.update",
                row,
                actor=actor,
                supermarket_id=row.household.supermarket_id,
                household_id=row.household_id,
                changes=changes,
            )
    return row


def set_member_status(
    member_id: int, active: bool, *, reason: str = "", actor: User | None
) -> Member:
    """Deactivate a member (moved away, died: a reason is required) or take them back."""
    reason = _text(reason, _("原因"), REASON_MAX, required=not active)
    with write_transaction():
        row = get_member(member_id)
        if row.active == active:
            raise ValidationFailed(
                _("%(name)s已经在册", name=row.name)
                if active
                else _("%(name)s已经停用", name=row.name)
            )
        row.active = active
        row.inactive_reason = None if active else reason
        refresh_search_key(row.household)
        audit.record(
            "member.status",
            row,
            actor=actor,
            supermarket_id=row.household.supermarket_id,
            household_id=row.household_id,
            active=active,
            reason=reason,
        )
    return row


def set_household_status(
    household_id: int, active: bool, *, actor: User | None, reason: str | None = None
) -> Household:
    """Activate or deactivate a household (a deactivated one cannot redeem).

    ``reason`` is what the office wrote (迁出, 合户); the pages require one to deactivate,
    the API may leave it out (None). Restoring a household that is active writes nothing (a
    retried request, a second tap); deactivating an inactive one again records its new reason.
    """
    if reason is not None:
        reason = _text(reason, _("原因"), REASON_MAX, required=not active)
    with write_transaction():
        household = get_household(household_id)
        before = household.status
        if active and before == ACTIVE:
            return household  # restoring one that is on the roll: nothing to write
        household.status = ACTIVE if active else INACTIVE
        household.inactive_reason = None if active else (reason or None)
        audit.record(
            "household.status",
            household,
            actor=actor,
            before=before,
            after=household.status,
            reason=reason or "",
        )
    return household


def search_households(
    supermarket_id: int,
    query: str,
    *,
    limit: int = SEARCH_LIMIT,
    active_only: bool = False,
) -> list[Household]:
    """Households whose number, names, pinyin or initials contain the query, best first.

    Best first: the exact household number, then active before inactive (flagged on the
    page), then a word that starts with the query (zs → 张三 before 李张胜), then by number.
    An empty query lists the households by number. Rows written before search keys existed
    still match on number and head name.
    """
    stmt = _search_statement(supermarket_id, query, active_only=active_only)
    stmt = stmt.options(selectinload(Household.account), selectinload(Household.members))
    return list(db.session.scalars(stmt.limit(limit)))


def find_households(
    supermarket_id: int, query: str, *, page: int = 1, per_page: int = SEARCH_LIMIT
) -> tuple[list[Household], int]:
    """One page of the households a query finds, and how many it finds in all.

    The office's search and ``GET /api/v1/households`` both ask here: a scanned or typed card
    code finds its household directly, anything else searches as :func:`search_households`.
    """
    by_card = household_for_card_text(supermarket_id, query)
    if by_card is not None:
        return ([by_card] if page == 1 else []), 1
    stmt = _search_statement(supermarket_id, query)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.options(selectinload(Household.account), selectinload(Household.members))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def _search_statement(
    supermarket_id: int, query: str, *, active_only: bool = False
) -> sa.Select[Household]:
    """The ordered select behind :func:`search_households` and :func:`find_households`."""
    q = normalize_query(query)
    raw = (query or "").strip()[:50]
    stmt = sa.select(Household).where(Household.supermarket_id == supermarket_id)
    if active_only:
        stmt = stmt.where(Household.status == ACTIVE)
    order: list[Any] = []
    if q:
        like = f"%{_escape(q)}%"
        stmt = stmt.where(
            sa.or_(
                Household.search_key.like(like, escape="\\"),
                # Only rows without a key (written before keys existed) pay for these.
                sa.and_(
                    Household.search_key.is_(None),
                    sa.or_(
                        Household.number.ilike(f"%{_escape(raw)}%", escape="\\"),
                        Household.head_name.like(f"%{_escape(raw)}%", escape="\\"),
                    ),
                ),
            )
        )
        word_start = (sa.literal(" ") + sa.func.coalesce(Household.search_key, "")).like(
            f"% {_escape(q)}%", escape="\\"
        )
        order += [
            sa.case((sa.func.lower(Household.number) == raw.lower(), 0), else_=1),
            sa.case((Household.status == ACTIVE, 0), else_=1),
            sa.case((word_start, 0), else_=1),
        ]
    else:
        order.append(sa.case((Household.status == ACTIVE, 0), else_=1))
    order += [Household.number, Household.id]
    return stmt.order_by(*order)


def household_for_card_text(supermarket_id: int, text: str) -> Household | None:
    """The household of a scanned or typed card code (any issue, revoked too), or None.

    Lets the office find a household by the card in a resident's hand, including an old card
    someone brings back. Text that is not a valid signed card code gives None.
    """
    try:
        serial, issue_no = parse_payload(text)
    except DomainError:
        return None
    card = db.session.scalar(
        sa.select(Card).where(Card.serial == serial, Card.issue_no == issue_no)
    )
    if card is None or card.household.supermarket_id != supermarket_id:
        return None
    return card.household


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def rebuild_search_keys(supermarket_id: int | None = None, *, batch: int = 500) -> int:
    """Recompute every household's search key (after an upgrade or a manual database edit).

    Returns how many keys changed. Works in batches, each its own transaction.
    """
    stmt = sa.select(Household.id).order_by(Household.id)
    if supermarket_id is not None:
        stmt = stmt.where(Household.supermarket_id == supermarket_id)
    ids = list(db.session.scalars(stmt))
    changed = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with write_transaction():
            names = _active_names(chunk)
            for household in db.session.scalars(
                sa.select(Household).where(Household.id.in_(chunk))
            ):
                key = build_search_key(
                    household.number, [household.head_name, *names.get(household.id, [])]
                )
                if household.search_key != key:
                    household.search_key = key
                    changed += 1
    return changed


def _active_names(household_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for household_id, name in db.session.execute(
        sa.select(Member.household_id, Member.name)
        .where(Member.household_id.in_(household_ids), Member.active.is_(True))
        .order_by(Member.id)
    ):
        names.setdefault(household_id, []).append(name)
    return names


def stale_search_keys(supermarket_id: int | None = None) -> list[Household]:
    """Households whose stored search key is not what their names give now."""
    # A thousand households at a time, as plain rows (a county has 200,000): only the stale
    # ones are loaded as objects.
    stmt = sa.select(
        Household.id, Household.number, Household.head_name, Household.search_key
    ).order_by(Household.id)
    if supermarket_id is not None:
        stmt = stmt.where(Household.supermarket_id == supermarket_id)
    stale_ids: list[int] = []
    for chunk in db.session.execute(stmt.execution_options(yield_per=1000)).partitions():
        names = _active_names([row.id for row in chunk])
        for hid, number, head, key in chunk:
            if key != build_search_key(number, [head, *names.get(hid, [])]):
                stale_ids.append(hid)
    if not stale_ids:
        return []
    stale: list[Household] = []
    for start in range(0, len(stale_ids), 1000):
        ids = stale_ids[start : start + 1000]
        stale += db.session.scalars(
            sa.select(Household).where(Household.id.in_(ids)).order_by(Household.id)
        )
    return stale


def get_household(household_id: int) -> Household:
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound(_("没有找到该户"))
    return household


def get_member(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound(_("没有找到该成员"))
    return member


def find_household(household_id: int) -> Household | None:
    """The household with this id, or None."""
    return db.session.get(Household, household_id)


def find_member(member_id: int) -> Member | None:
    """The household member with this id, or None."""
    return db.session.get(Member, member_id)


def list_households(supermarket_id: int, *, active_only: bool = False) -> list[Household]:
    """A supermarket's households (only the active ones if asked), by number."""
    stmt = sa.select(Household).where(Household.supermarket_id == supermarket_id)
    if active_only:
        stmt = stmt.where(Household.status == ACTIVE)
    return list(db.session.scalars(stmt.order_by(Household.number, Household.id)))


def households_by_number(supermarket_id: int, numbers: Sequence[str]) -> list[Household]:
    """The supermarket's households with these numbers, in the order asked (absent ones left
    out: the caller compares)."""
    rows = db.session.scalars(
        sa.select(Household).where(
            Household.supermarket_id == supermarket_id, Household.number.in_(numbers)
        )
    )
    order = {number: i for i, number in enumerate(numbers)}
    return sorted(rows, key=lambda h: order[h.number])


def household_by_number(supermarket_id: int, number: str) -> Household | None:
    """The supermarket's household with exactly this number, or None."""
    return db.session.scalar(
        sa.select(Household).where(
            Household.supermarket_id == supermarket_id, Household.number == number
        )
    )


def active_members(household_id: int) -> list[Member]:
    """A household's active members, in the order they were registered."""
    return list(
        db.session.scalars(
            sa.select(Member)
            .where(Member.household_id == household_id, Member.active.is_(True))
            .order_by(Member.id)
        )
    )


def active_member_named(household_id: int, name: str) -> Member | None:
    """The household's active member with exactly this name, or None."""
    return db.session.scalar(
        sa.select(Member).where(
            Member.household_id == household_id, Member.name == name, Member.active.is_(True)
        )
    )


def group_names(supermarket_id: int) -> list[str]:
    """The village groups (村民小组) the supermarket's households name, sorted."""
    return list(
        db.session.scalars(
            sa.select(Household.group_name)
            .where(Household.supermarket_id == supermarket_id, Household.group_name != "")
            .distinct()
            .order_by(Household.group_name)
        )
    )


def check_search_keys() -> list[Problem]:
    """``jifen check``: every household's search key matches its names (else run
    ``jifen households reindex``)."""

    return [
        Problem(
            "search_keys",
            f"household {h.number} (id {h.id})",
            "search key is stale or missing: run `jifen households reindex`",
        )
        for h in stale_search_keys()
    ]


DEMO_HOUSEHOLDS = (
    # number, head, [(name, relation, born)], status reason (None: active)
    ("90001", "曾德明", [("曾德明", "户主", "1948-05-02"), ("曾小红", "孙女", "2012-09-01")], None),
    ("90002", "单秀英", [("单秀英", "户主", "1952-11-20")], None),
    ("90003", "解国强", [("解国强", "户主", "1970-03-15"), ("解老汉", "父亲", "1938-01-08")], None),
    ("90004", "李建华", [("李建华", "户主", "1965-07-30")], "迁出"),
)


def seed_demo_households(supermarket: Supermarket, users: dict[str, User], rng: Any) -> int:
    """Demo data for the households pages: polyphonic surnames (曾 zeng, 单 shan, 解 xie, found
    by ZDM, SXY, XGQ), a member who died and a household that moved away. Returns how many
    households were added (numbers already taken are skipped). ``rng`` is unused: fixed data.
    """
    admin = users.get("admin")
    added = 0
    for number, head, people, reason in DEMO_HOUSEHOLDS:
        taken = db.session.scalar(
            sa.select(Household.id).where(
                Household.supermarket_id == supermarket.id, Household.number == number
            )
        )
        if taken is not None:
            continue
        home = create_household(
            supermarket.id,
            number=number,
            head_name=head,
            village=supermarket.village,
            group_name="",
            members=[MemberInput(n, r, date.fromisoformat(b)) for n, r, b in people],
            actor=admin,
        )
        if reason is None:
            issue_card(home.id, actor=admin)
        else:
            set_household_status(home.id, False, actor=admin, reason=reason)
        if number == "90003":
            father = db.session.scalars(
                sa.select(Member).where(Member.household_id == home.id, Member.name == "解老汉")
            ).one()
            set_member_status(father.id, False, reason="去世", actor=admin)
        added += 1
    return added
