"""A keeper's PIN is 4 to 8 ASCII digits, checked by the service (kiosk.auth) so that every
way of setting one refuses the rest: ``"١٢٣٤".isdigit()`` and ``"¹²³⁴".isdigit()`` are true,
yet no counter keypad can type such a PIN and its keeper could never log in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kiosk import auth
from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from kiosk.models import User

NOT_KEYPAD = [
    "١٢٣٤",
    "¹²³⁴",
    "１２３４",
    "𝟏𝟐𝟑𝟒",
    "12３4",
    "123",
    "123456789",
    "12 34",
    "-1234",
]


@pytest.mark.parametrize("pin", NOT_KEYPAD)
def test_a_new_keeper_needs_a_keypad_pin(app, supermarket, pin):
    with pytest.raises(ValidationFailed, match="PIN应为4到8位数字"):
        auth.create_user(
            "zhao", display_name="赵", role="keeper", pin=pin, supermarket_id=supermarket.id
        )
    assert db.session.scalar(sa.select(User).where(User.username == "zhao")) is None


@pytest.mark.parametrize("pin", NOT_KEYPAD)
def test_a_reset_pin_must_be_keypad_digits(app, keeper, admin, pin):
    with pytest.raises(ValidationFailed, match="PIN应为4到8位数字"):
        auth.reset_pin(keeper.id, pin, actor=admin)
    assert auth.login_pin(keeper.id, "1234").id == keeper.id  # the old PIN still works


@pytest.mark.parametrize("pin", ["1234", "00000000"])
def test_keypad_pins_are_taken(app, supermarket, keeper, admin, pin):
    user = auth.create_user(
        "zhao", display_name="赵", role="keeper", pin=pin, supermarket_id=supermarket.id
    )
    assert auth.login_pin(user.id, pin).id == user.id
    auth.reset_pin(keeper.id, pin, actor=admin)
    assert auth.login_pin(keeper.id, pin).id == keeper.id


@pytest.mark.parametrize("pin", ["١٢٣٤", "¹²³⁴"])
def test_the_cli_refuses_a_pin_no_keypad_types(runner, supermarket, pin):
    result = runner.invoke(args=["user", "add", "zhao", "--role", "keeper", "--pin", pin])
    assert result.exit_code != 0
    assert "PIN应为4到8位数字" in result.output
    assert auth.pin_keepers(None) == []
