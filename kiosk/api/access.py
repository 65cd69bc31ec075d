"""The API's side of the permission map: the caller, and the rows the caller may see.

Who may call which route is :mod:`kiosk.permissions` (each route names its action); which
supermarket's rows a caller sees is its one rule, applied here through
:func:`kiosk.authn.visible`: rows of another supermarket answer 404, as if they did not exist.
"""

from __future__ import annotations

from kiosk.auth import find_user
from kiosk.authn import signed_in_user, visible
from kiosk.cards import find_card
from kiosk.errors import NotFound
from kiosk.households import find_household, find_member
from kiosk.messages import _
from kiosk.models import Card, Household, Member, Redemption, User
from kiosk.redemption import find_redemption


def me() -> User:
    """The authenticated caller (the view is already behind ``require``)."""
    return signed_in_user()


def household(household_id: int) -> Household:
    """A household the caller may see, or 404."""
    row = find_household(household_id)
    if row is None or not visible(row.supermarket_id):
        raise NotFound(_("没有找到该户"))
    return row


def member(member_id: int) -> Member:
    """A household member the caller may see, or 404."""
    row = find_member(member_id)
    if row is None or not visible(row.household.supermarket_id):
        raise NotFound(_("没有找到该家庭成员"))
    return row


def card(card_id: int) -> Card:
    """A card the caller may see, or 404."""
    row = find_card(card_id)
    if row is None or not visible(row.household.supermarket_id):
        raise NotFound(_("没有找到该卡"))
    return row


def redemption(redemption_id: int) -> Redemption:
    """A redemption the caller may see, or 404."""
    row = find_redemption(redemption_id)
    if row is None or not visible(row.supermarket_id):
        raise NotFound(_("没有找到该兑换单"))
    return row


def user(user_id: int) -> User:
    """A user account the caller may manage, or 404."""
    row = find_user(user_id)
    if row is None or not visible(row.supermarket_id):
        raise NotFound(_("没有找到该用户"))
    return row
