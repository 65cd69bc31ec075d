"""The village's places (地点): village groups, lanes and squares the phone page (/m/) offers in
its 地点 list. Admins add them and retire the ones no longer used (a place is never deleted:
proposals keep its name as text)."""

from __future__ import annotations

import sqlalchemy as sa

from kiosk import audit
from kiosk.database import write_transaction
from kiosk.errors import DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.households import group_names
from kiosk.intake import MAX_PLACE
from kiosk.messages import _
from kiosk.models import User, VillagePlace


def list_places(supermarket_id: int, *, active_only: bool = False) -> list[VillagePlace]:
    """The village's places in their order."""
    stmt = sa.select(VillagePlace).where(VillagePlace.supermarket_id == supermarket_id)
    if active_only:
        stmt = stmt.where(VillagePlace.active.is_(True))
    return list(db.session.scalars(stmt.order_by(VillagePlace.sort_order, VillagePlace.name)))


def add_place(supermarket_id: int, name: str, *, actor: User | None) -> VillagePlace:
    """Add a place to the village's list (its name once)."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_("请填写地点名称"))
    if len(name) > MAX_PLACE:
        raise ValidationFailed(_("地点名称不能超过%(n)s个字", n=MAX_PLACE))
    with write_transaction():
        exists = db.session.scalar(
            sa.select(VillagePlace.id).where(
                VillagePlace.supermarket_id == supermarket_id, VillagePlace.name == name
            )
        )
        if exists is not None:
            raise DuplicateValue(_("地点“%(name)s”已经在列表里", name=name))
        last = db.session.scalar(
            sa.select(sa.func.max(VillagePlace.sort_order)).where(
                VillagePlace.supermarket_id == supermarket_id
            )
        )
        place = VillagePlace(supermarket_id=supermarket_id, name=name, sort_order=(last or 0) + 1)
        db.session.add(place)
        db.session.flush()
        audit.record("place.create", place, actor=actor, supermarket_id=supermarket_id, name=name)
    return place


def set_place_active(
    place_id: int, active: bool, *, actor: User | None, supermarket_id: int
) -> VillagePlace:
    """Retire a place from the phone's list, or bring it back."""
    with write_transaction():
        place = db.session.get(VillagePlace, place_id)
        if place is None or place.supermarket_id != supermarket_id:
            raise NotFound(_("没有找到该地点"))
        place.active = active
        audit.record(
            "place.set_active",
            place,
            actor=actor,
            supermarket_id=supermarket_id,
            name=place.name,
            active=active,
        )
    return place


def place_names(supermarket_id: int) -> list[str]:
    """The names for a 地点 list: the village's own active places, else its households' groups."""
    names = list(
        db.session.scalars(
            sa.select(VillagePlace.name)
            .where(VillagePlace.supermarket_id == supermarket_id, VillagePlace.active.is_(True))
            .order_by(VillagePlace.sort_order, VillagePlace.name)
        )
    )
    return names or group_names(supermarket_id)


__all__ = ["add_place", "list_places", "place_names", "set_place_active"]
