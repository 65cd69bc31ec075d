"""Points cards: signed QR payloads, issue, reissue, revoke, and verification at the counter.

A payload is ``JF`` + 8-digit serial + 2-digit issue number + 10-digit truncated HMAC-SHA256
under the installation's secret: 22 characters, upper-case letters and digits only, so a USB
scanner types it faithfully under any keyboard layout or IME, and a keeper can type the digits
on a keypad. It carries no name and no ID number.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from kiosk import audit
from kiosk.database import write_transaction
from kiosk.errors import CardInvalid, CardRevoked, CardUnknown, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import _
from kiosk.models import CARD_ACTIVE, CARD_REVOKED, Card, Household, User
from kiosk.timeutil import utcnow

PREFIX = "JF"
SERIAL_DIGITS = 8
ISSUE_DIGITS = 2
MAC_DIGITS = 10
PAYLOAD_LENGTH = len(PREFIX) + SERIAL_DIGITS + ISSUE_DIGITS + MAC_DIGITS
NO_REPLACEMENT = _("卡片已作废，请到村委补办")
_PAYLOAD_RE = re.compile(
    rf"^{PREFIX}(\d{{{SERIAL_DIGITS}}})(\d{{{ISSUE_DIGITS}}})(\d{{{MAC_DIGITS}}})$"
)


def _secret() -> bytes:
    secret = current_app.config.get("JIFEN_CARD_SECRET")
    if not secret:
        raise RuntimeError("JIFEN_CARD_SECRET is not configured")
    return secret.encode() if isinstance(secret, str) else secret


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**MAC_DIGITS:0{MAC_DIGITS}d}"


def make_payload(serial: int, issue_no: int, secret: bytes | None = None) -> str:
    """The QR payload for a card serial and issue number."""
    if not (0 < serial < 10**SERIAL_DIGITS and 0 < issue_no < 10**ISSUE_DIGITS):
        raise ValueError("card serial or issue number out of range")
    body = f"{PREFIX}{serial:0{SERIAL_DIGITS}d}{issue_no:0{ISSUE_DIGITS}d}"
    return body + _mac(secret or _secret(), body)


def payload_for(card: Card) -> str:
    return make_payload(card.serial, card.issue_no)


def normalize_payload(text: str) -> str:
    """Undo what scanners, IMEs and people do to a payload: full-width, spaces, dashes, case."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\s\-_.·]", "", text).upper()
    if text.isdigit() and len(text) == PAYLOAD_LENGTH - len(PREFIX):
        text = PREFIX + text  # typed on the keypad without the letters
    return text


def is_card_shaped(text: str) -> bool:
    """Whether text has a card payload's form (its signature right or not): a guess at a card.

    A product barcode or a payment QR is not: it can never pass, so it tells nothing."""
    return _PAYLOAD_RE.match(normalize_payload(text)) is not None


def parse_payload(text: str, secret: bytes | None = None) -> tuple[int, int]:
    """Verify a payload's form and signature; return (serial, issue_no) or raise CardInvalid."""
    payload = normalize_payload(text)
    match = _PAYLOAD_RE.match(payload)
    if not match:
        raise CardInvalid(_("卡片无效：不是本系统的积分卡"))
    body = payload[:-MAC_DIGITS]
    if not hmac.compare_digest(_mac(secret or _secret(), body), match.group(3)):
        raise CardInvalid(_("卡片无效：校验码不符，卡片可能被伪造或篡改"))
    return int(match.group(1)), int(match.group(2))


def resolve_card(text: str, *, with_account: bool = False) -> Card:
    """The active card a payload belongs to; CardInvalid, CardUnknown or CardRevoked otherwise.

    The card comes with its household loaded in the same statement (and the household's
    points account too with ``with_account``): the counter reads all three on every scan."""
    serial, issue_no = parse_payload(text)
    card = db.session.scalar(_card_sql(with_account), {"serial": serial, "issue_no": issue_no})
    if card is None:
        raise CardUnknown()
    if card.status != CARD_ACTIVE:
        # Only a card replaced by a newer one sends the resident to that card; a card revoked
        # on its own (lost, household left) needs a new one from the village committee.
        replaced = db.session.scalar(
            sa.select(Card.id).where(
                Card.household_id == card.household_id,
                Card.status == CARD_ACTIVE,
                Card.issue_no > card.issue_no,
            )
        )
        raise CardRevoked() if replaced is not None else CardRevoked(NO_REPLACEMENT)
    return card


@functools.cache
def _card_sql(with_account: bool) -> sa.Select[Card]:
    """The card by serial and issue with its household (and account): built once."""
    stmt = (
        sa.select(Card)
        .join(Card.household)
        .where(Card.serial == sa.bindparam("serial"), Card.issue_no == sa.bindparam("issue_no"))
    )
    if with_account:
        return stmt.outerjoin(Household.account).options(
            contains_eager(Card.household).contains_eager(Household.account)
        )
    return stmt.options(contains_eager(Card.household))


def active_card(household: Household) -> Card | None:
    return db.session.scalar(
        sa.select(Card).where(Card.household_id == household.id, Card.status == CARD_ACTIVE)
    )


def issue_card(household_id: int, *, actor: User | None, reason: str = "") -> Card:
    """Issue a household's card; if one is active it is revoked and the issue number bumped."""
    with write_transaction():
        household = db.session.get(Household, household_id)
        if household is None:
            raise NotFound(_("没有找到该户"))
        card = _issue(household, actor=actor, reason=reason)
    return card


def _issue(household: Household, *, actor: User | None, reason: str = "") -> Card:
    """Issue inside the caller's transaction (used by issue_card and by bulk loaders)."""
    last = db.session.scalar(
        sa.select(Card).where(Card.household_id == household.id).order_by(Card.issue_no.desc())
    )
    if last is not None and last.status == CARD_ACTIVE:
        _revoke(last, actor=actor, reason=reason or "补办新卡")
    issue_no = (last.issue_no + 1) if last is not None else 1
    if issue_no >= 10**ISSUE_DIGITS:
        raise ValidationFailed(_("该户补卡次数已达上限"))
    card = Card(household_id=household.id, serial=household.id, issue_no=issue_no)
    db.session.add(card)
    db.session.flush()
    audit.record(
        "card.issue",
        card,
        actor=actor,
        supermarket_id=household.supermarket_id,
        household_id=household.id,
        issue_no=issue_no,
    )
    return card


def revoke_card(card_id: int, *, actor: User | None, reason: str) -> Card:
    """Revoke a card (lost, damaged, household left). It is refused at every counter after."""
    if not reason.strip():
        raise ValidationFailed(_("作废卡片需要填写原因"))
    with write_transaction():
        card = db.session.get(Card, card_id)
        if card is None:
            raise NotFound(_("没有找到该卡"))
        if card.status == CARD_REVOKED:
            raise CardRevoked(_("该卡已经作废"))
        _revoke(card, actor=actor, reason=reason)
    return card


def _revoke(card: Card, *, actor: User | None, reason: str) -> None:
    card.status = CARD_REVOKED
    card.revoked_at = utcnow()
    card.revoke_reason = reason
    audit.record(
        "card.revoke",
        card,
        actor=actor,
        supermarket_id=card.household.supermarket_id,
        household_id=card.household_id,
        reason=reason,
    )


def find_card(card_id: int) -> Card | None:
    """The card with this id (any status), or None."""
    return db.session.get(Card, card_id)
