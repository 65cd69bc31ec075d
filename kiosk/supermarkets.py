"""Supermarkets (积分超市): registering one, and finding the one this installation serves."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import current_app

from kiosk import audit
from kiosk.database import write_transaction
from kiosk.errors import DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import Supermarket, User

_CODE_RE = re.compile(r"^[A-Z0-9]{2,16}$")


def create_supermarket(
    *,
    code: str,
    name: str,
    town: str = "",
    village: str = "",
    points_per_yuan: int = 1,
    actor: User | None = None,
) -> Supermarket:
    """Register a supermarket. ``code`` prefixes its receipt numbers (DT01-00000001)."""
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not _CODE_RE.match(code):
        raise ValidationFailed(_("超市编号应为2到16位大写字母或数字，例如 DT01"))
    if not name:
        raise ValidationFailed(_("超市名称不能为空"))
    if (
        isinstance(points_per_yuan, bool)
        or not isinstance(points_per_yuan, int)
        or not (0 < points_per_yuan <= 1000)
    ):
        raise ValidationFailed(_("每元积分数应为1到1000的整数"))
    with write_transaction():
        if db.session.scalar(sa.select(Supermarket.id).where(Supermarket.code == code)):
            raise DuplicateValue(_("超市编号 %(code)s 已存在", code=code))
        supermarket = Supermarket(
            code=code,
            name=name,
            town=(town or "").strip(),
            village=(village or "").strip(),
            points_per_yuan=points_per_yuan,
        )
        db.session.add(supermarket)
        db.session.flush()
        audit.record("supermarket.create", supermarket, actor=actor, code=code, name=name)
    return supermarket


def find_supermarket(code: str | None = None) -> Supermarket | None:
    """The supermarket with ``code``; without one, the configured one or else the first."""
    code = code or current_app.config.get("JIFEN_SUPERMARKET")
    stmt = sa.select(Supermarket).order_by(Supermarket.id)
    if code:
        stmt = stmt.where(Supermarket.code == code.strip().upper())
    return db.session.scalar(stmt)


def get_supermarket(code: str | None = None) -> Supermarket:
    """Like :func:`find_supermarket`, but NotFound when there is none."""
    supermarket = find_supermarket(code)
    if supermarket is None:
        if code:
            raise NotFound(_("没有找到编号为 %(code)s 的超市", code=code))
        raise NotFound(_("还没有超市：请先运行 jifen init"))
    return supermarket
