"""Cards: signed payloads, forgery and alteration refused, reissue revokes the previous card."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kiosk import cards
from kiosk.errors import CardInvalid, CardRevoked, CardUnknown, ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent
from tests import factories


def test_payload_shape_is_scanner_safe(app):
    payload = cards.make_payload(123, 1)
    assert len(payload) == cards.PAYLOAD_LENGTH == 22
    assert payload.startswith("JF")
    assert payload.isalnum() and payload.upper() == payload and payload.isascii()


def test_payload_round_trip(app):
    assert cards.parse_payload(cards.make_payload(4567, 3)) == (4567, 3)


def test_payload_depends_on_the_installation_secret(app):
    mine = cards.make_payload(1, 1)
    theirs = cards.make_payload(1, 1, secret=b"another village")
    assert mine != theirs
    with pytest.raises(CardInvalid):
        cards.parse_payload(theirs)


@pytest.mark.parametrize("position", range(2, 22))
def test_every_altered_digit_is_refused(app, position):
    payload = cards.make_payload(1234, 2)
    digit = payload[position]
    altered = payload[:position] + str((int(digit) + 1) % 10) + payload[position + 1 :]
    with pytest.raises(CardInvalid):
        cards.parse_payload(altered)


@pytest.mark.parametrize(
    "text", ["", "hello", "JF123", "JF" + "0" * 20 + "1", "XX" + "0" * 20, "JF00000001０1"]
)
def test_garbage_is_invalid(app, text):
    with pytest.raises(CardInvalid):
        cards.parse_payload(text)


def test_scanner_and_ime_noise_is_normalised(app):
    payload = cards.make_payload(77, 1)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in payload)
    assert cards.parse_payload(fullwidth) == (77, 1)
    assert cards.parse_payload(" " + payload.lower() + "\n") == (77, 1)
    grouped = f"{payload[:2]} {payload[2:6]}-{payload[6:10]} {payload[10:12]} {payload[12:]}"
    assert cards.parse_payload(grouped) == (77, 1)
    assert cards.parse_payload(payload[2:]) == (77, 1)  # typed digits only


def test_payload_carries_no_personal_data(app, supermarket):
    hh = factories.household(supermarket, head_name="欧阳娜娜")
    _, payload = factories.card(hh)
    assert "欧阳" not in payload and hh.number not in payload.replace(f"{hh.id:08d}", "")


def test_unknown_card(app, supermarket):
    with pytest.raises(CardUnknown):
        cards.resolve_card(cards.make_payload(999, 1))


def test_reissue_revokes_previous_card(app, supermarket):
    hh = factories.household(supermarket)
    first, old_payload = factories.card(hh)
    second, new_payload = factories.card(hh)
    assert (second.serial, second.issue_no) == (first.serial, 2)
    assert cards.resolve_card(new_payload).id == second.id
    with pytest.raises(CardRevoked, match="^卡片已作废，请使用补办后的新卡$"):
        cards.resolve_card(old_payload)
    actions = list(db.session.scalars(sa.select(AuditEvent.action)))
    assert actions.count("card.issue") == 2 and actions.count("card.revoke") == 1


def test_revoke_needs_reason_and_refuses_twice(app, supermarket):
    hh = factories.household(supermarket)
    card, payload = factories.card(hh)
    with pytest.raises(ValidationFailed):
        cards.revoke_card(card.id, actor=None, reason="  ")
    cards.revoke_card(card.id, actor=None, reason="卡片遗失")
    # No replacement: the resident is sent to the village committee, not to a card they lack.
    with pytest.raises(CardRevoked, match="^卡片已作废，请到村委补办$"):
        cards.resolve_card(payload)
    with pytest.raises(CardRevoked):
        cards.revoke_card(card.id, actor=None, reason="再次作废")


def test_revoked_after_replacement_was_revoked_too(app, supermarket):
    """Old card, new card, then the new one lost too: neither points to a card that works."""
    hh = factories.household(supermarket)
    first, old_payload = factories.card(hh)
    second, new_payload = factories.card(hh)
    cards.revoke_card(second.id, actor=None, reason="卡片遗失")
    for payload in (old_payload, new_payload):
        with pytest.raises(CardRevoked, match="请到村委补办"):
            cards.resolve_card(payload)
