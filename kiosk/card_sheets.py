"""Card sheets for the office: one household's card, or a whole village's, as an A4 PDF to cut.

The drawing is :mod:`hardware.cards` (CR80 cards, ten to a page); this module picks the
households, their active cards and the masked names, and records who printed which cards:
a card is a key to a points account, so every printed copy is audited.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from hardware.cards import CardFace, FontNotFound, find_cjk_font, render_pages
from kiosk import audit
from kiosk.cards import active_card, payload_for
from kiosk.database import write_transaction
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.formatting import mask_name
from kiosk.messages import _
from kiosk.models import ACTIVE, CARD_ACTIVE, Card, Household, Supermarket, User
from kiosk.timeutil import local_date, utcnow

MAX_CARDS = 2000  # 200 pages: a village, not a county, per download


@dataclass(frozen=True)
class CardSheet:
    pdf: bytes
    cards: int
    pages: int
    without_card: list[str]  # household numbers left out: no active card


def card_face(household: Household, card: Card) -> CardFace:
    """What one card shows: supermarket, village, household number, masked head, payload."""
    supermarket = household.supermarket
    return CardFace(
        supermarket_name=supermarket.name,
        village=household.village or supermarket.village,
        household_no=household.number,
        masked_name=mask_name(household.head_name),
        payload=payload_for(card),
    )


def villages(supermarket_id: int) -> list[str]:
    """The villages written on this supermarket's active households ("" for none), sorted."""
    return sorted(
        db.session.scalars(
            sa.select(Household.village)
            .where(Household.supermarket_id == supermarket_id, Household.status == ACTIVE)
            .distinct()
        )
    )


def household_sheet(household_id: int, *, actor: User | None) -> CardSheet:
    """One household's active card on an A4 sheet."""
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound(_("没有找到该户"))
    card = active_card(household)
    if card is None:
        raise ValidationFailed(_("该户没有有效的积分卡，请先发卡"))
    return _sheet(household.supermarket, [(household, card)], [], actor=actor, scope="household")


def village_sheet(supermarket_id: int, village: str, *, actor: User | None) -> CardSheet:
    """Every active household of a village that has an active card, by household number."""
    supermarket = db.session.get(Supermarket, supermarket_id)
    if supermarket is None:
        raise NotFound(_("没有找到该超市"))
    homes = list(
        db.session.scalars(
            sa.select(Household)
            .where(
                Household.supermarket_id == supermarket_id,
                Household.status == ACTIVE,
                Household.village == village,
            )
            .order_by(Household.number, Household.id)
        )
    )
    if not homes:
        raise ValidationFailed(_("“%(village)s”没有在册户", village=village or _("未填村名")))
    cards = {
        c.household_id: c
        for c in db.session.scalars(
            sa.select(Card).where(
                Card.household_id.in_([h.id for h in homes]), Card.status == CARD_ACTIVE
            )
        )
    }
    with_card = [(h, cards[h.id]) for h in homes if h.id in cards]
    without = [h.number for h in homes if h.id not in cards]
    if not with_card:
        raise ValidationFailed(
            _(
                "“%(village)s”的在册户都还没有有效的积分卡，请先发卡",
                village=village or _("未填村名"),
            )
        )
    if len(with_card) > MAX_CARDS:
        raise ValidationFailed(_("一次最多打印%(n)s张卡", n=MAX_CARDS))
    return _sheet(supermarket, with_card, without, actor=actor, scope="village", village=village)


def _sheet(
    supermarket: Supermarket,
    rows: list[tuple[Household, Card]],
    without: list[str],
    *,
    actor: User | None,
    scope: str,
    village: str = "",
) -> CardSheet:
    faces = [card_face(h, c) for h, c in rows]
    card_ids = [c.id for _, c in rows]
    try:
        font = find_cjk_font()
    except FontNotFound as exc:
        raise ValidationFailed(str(exc)) from None
    today = local_date(utcnow(), current_app.config["JIFEN_TIMEZONE"])
    pages = render_pages(faces, font, footer=f"{supermarket.name} · 打印于 {today}")
    buf = io.BytesIO()
    pages[0].save(
        buf, "PDF", resolution=300.0, save_all=True, append_images=pages[1:], title="积分信息卡"
    )
    # Drawn before the write lock is taken (a village sheet takes seconds), audited after.
    supermarket_id = supermarket.id
    with write_transaction():
        audit.record(
            "card.print_pdf",
            db.session.get(Supermarket, supermarket_id),
            actor=actor,
            supermarket_id=supermarket_id,
            scope=scope,
            village=village,
            card_ids=card_ids,
        )
    return CardSheet(buf.getvalue(), len(faces), len(pages), without)
