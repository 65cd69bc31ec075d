"""Who may call what, and which supermarket's rows a caller may see.

Keepers and admins work the counter (scan, redeem, void, reprint, stock-in); admins manage
households, members, cards, points, products and tokens; supervisors read everything and write
nothing. The rule sets (issue 3): admins write the policy, assessments, vetoes and the cycle
close; supervisors read them; keepers read the policy and the preview of every household's
standing (what the counter will say). The printer: everyone reads its state and the unprinted
jobs; keepers and admins print a test page and resend failed jobs; admins change its settings. A user bound to a supermarket
sees only that supermarket's rows; rows of another supermarket answer 404, as if they did not
exist.
"""

from __future__ import annotations

from kiosk.errors import NotFound
from kiosk.extensions import db
from kiosk.models import (
    ROLE_ADMIN,
    ROLE_KEEPER,
    ROLE_RECORDER,
    ROLE_SUPERVISOR,
    Card,
    Household,
    Member,
    Redemption,
    User,
)
from kiosk.web.session import current_user

READERS = (ROLE_KEEPER, ROLE_ADMIN, ROLE_SUPERVISOR)
COUNTER = (ROLE_KEEPER, ROLE_ADMIN)
ADMINS = (ROLE_ADMIN,)
ADMIN_READERS = (ROLE_ADMIN, ROLE_SUPERVISOR)
# Rule sets: who may read the policy and the preview, and who may read assessments and vetoes.
POLICY_READERS = READERS
RULES_READERS = ADMIN_READERS
# The printer (issue 4): everyone reads its state and the unprinted jobs; the counter's roles
# print the test page and resend failed jobs; admins change its settings (kept per kiosk).
PRINTER_READERS = READERS
PRINTER_WRITERS = COUNTER
PRINTER_ADMINS = ADMINS
# Proposals (two signatures for every award): admins propose, approve, reject and withdraw;
# supervisors read them; keepers neither.
PROPOSAL_WRITERS = ADMINS
PROPOSAL_READERS = ADMIN_READERS
# The assessment group's recorders (评议员, the phone page) propose and withdraw their own;
# they read nothing and sign off nothing. Photos are shown to admins and supervisors only.
PROPOSAL_CREATORS = (ROLE_ADMIN, ROLE_RECORDER)
PHOTO_READERS = ADMIN_READERS


def me() -> User:
    """The authenticated caller (the view is already behind ``require_roles``)."""
    user = current_user()
    assert user is not None
    return user


def _in_scope(supermarket_id: int | None) -> bool:
    user = me()
    return user.supermarket_id is None or user.supermarket_id == supermarket_id


def household(household_id: int) -> Household:
    """A household the caller may see, or 404."""
    row = db.session.get(Household, household_id)
    if row is None or not _in_scope(row.supermarket_id):
        raise NotFound("没有找到该户")
    return row


def member(member_id: int) -> Member:
    """A household member the caller may see, or 404."""
    row = db.session.get(Member, member_id)
    if row is None or not _in_scope(row.household.supermarket_id):
        raise NotFound("没有找到该家庭成员")
    return row


def card(card_id: int) -> Card:
    """A card the caller may see, or 404."""
    row = db.session.get(Card, card_id)
    if row is None or not _in_scope(row.household.supermarket_id):
        raise NotFound("没有找到该卡")
    return row


def redemption(redemption_id: int) -> Redemption:
    """A redemption the caller may see, or 404."""
    row = db.session.get(Redemption, redemption_id)
    if row is None or not _in_scope(row.supermarket_id):
        raise NotFound("没有找到该兑换单")
    return row


def user(user_id: int) -> User:
    """A user account the caller may manage, or 404."""
    row = db.session.get(User, user_id)
    if row is None or not _in_scope(row.supermarket_id):
        raise NotFound("没有找到该用户")
    return row
