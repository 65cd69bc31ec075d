"""Who may do what (角色与权限): every role × named action, and which supermarket's rows a user sees.

This is the one place that says it. Pages and API routes name their action
(``@require("stock.receive")``), templates ask ``may("household.manage")``, services refuse
through :func:`allows`, the office's tabs and the OpenAPI document read :func:`roles_for`.
Nothing else defines a group of roles (``tests/rules/test_permissions.py`` checks).

The people (see the domain notes): keepers (超市管理员) work the counter, the stock, the
stocktake count and record donations; admins (村委管理员) run households, points, rules, the
fund and users, and decide what keepers request; supervisors (监督小组) read everything and
write nothing but their sign-off on a stocktake; recorders (评议员, the assessment group's
phones) propose points and read their visits, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.models import ROLE_ADMIN, ROLE_KEEPER, ROLE_RECORDER, ROLE_SUPERVISOR, User

K, A, S, R = ROLE_KEEPER, ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_RECORDER


@dataclass(frozen=True)
class Action:
    """A named thing a user may do, the roles allowed to, and why in one line."""

    name: str
    roles: tuple[str, ...]
    about: str


_ACTIONS = (
    # The counter (柜台)
    Action("counter.serve", (K, A), "open the counter, its camera scanner and device warnings"),
    Action("card.scan", (K, A), "scan a card and hear what it may redeem"),
    Action("redemption.create", (K, A), "redeem a cart"),
    Action("redemption.void", (K, A), "void a redemption (see redemption.void_any)"),
    Action(
        "redemption.void_any",
        (A,),
        "void any redemption of any day (a keeper voids today's, of their own supermarket)",
    ),
    Action("redemption.reprint", (K, A), "print a receipt again"),
    Action("redemption.read", (K, A, S), "read a redemption and its receipt"),
    Action("product.read", (K, A, S), "read products and find one by barcode"),
    # Households and cards (户与积分卡)
    Action(
        "household.lookup",
        (K, A, S),
        "find a household and read its points over the API (names masked without household.read)",
    ),
    Action("household.read", (A, S), "open the office's household file with full names"),
    Action("household.manage", (A,), "add and correct households and members, issue cards"),
    # Points (积分录入): two signatures for every award
    Action("proposal.read", (A, S), "read proposals, their photos, imports and standards"),
    Action("proposal.create", (A, R), "propose points (the phone, the API) and withdraw one's own"),
    Action("proposal.decide", (A,), "approve or reject proposals and batches"),
    Action("points.enter", (A,), "the office's points entry: its form, imports and standards"),
    Action("visit.read", (A, S, R), "read the recorders' visits"),
    Action("place.read", (A, S), "read the village's places for the phone"),
    Action("place.manage", (A,), "add and retire places"),
    # The rule sets (兑换规则)
    Action("policy.read", (K, A, S), "read the policy and every household's standing"),
    Action("rules.read", (A, S), "open the office's rule pages, assessments and vetoes"),
    Action("policy.write", (A,), "change the policy"),
    Action("assessment.record", (A,), "record inspection scores"),
    Action("veto.record", (A,), "record a veto (一票否决)"),
    Action("cycle.close", (A,), "close the year's cycle"),
    # Public notice (公示)
    Action("notice.read", (K, A, S), "read published notices and the ranking"),
    Action("notice.review", (A, S), "open the office's notices, drafts and objections"),
    Action("notice.publish", (A,), "draft, publish and discard notices"),
    Action("objection.handle", (A,), "record and resolve objections"),
    # Goods (物品)
    Action("product.settings.read", (A, S), "open the products' rule-linked settings"),
    Action("product.manage", (A,), "create products and change their settings"),
    Action("stock.read", (K, A, S), "read stock-in documents, write-offs and the ledgers"),
    Action("stock.receive", (K, A), "receive stock (入库), add a product there, print the slip"),
    Action("writeoff.request", (K, A), "request a write-off (报损)"),
    Action("writeoff.decide", (A,), "approve or reject a write-off"),
    # Donations and the fund pool (捐赠与基金池)
    Action("fund.read", (K, A, S), "read donations, donors and the fund pool"),
    Action("donation.record", (K, A), "record donors and donations, print their receipts"),
    Action("fund.manage", (A,), "reverse a donation, correct a donor, set the advance limit"),
    # Stocktake (盘点)
    Action("stocktake.read", (K, A, S), "read stocktakes and their reports"),
    Action("stocktake.count", (K, A), "start, count and submit a stocktake"),
    Action(
        "stocktake.see_book",
        (A, S),
        "see book quantities while a count is open (keepers count blind)",
    ),
    Action("stocktake.decide", (A,), "approve, send back or cancel a stocktake"),
    Action("stocktake.sign_off", (S,), "sign a stocktake off as the supervision group"),
    # Month-end (月结)
    Action("monthend.read", (K, A, S), "read month-end reports and closing slips"),
    Action("monthend.close", (A,), "close a month"),
    Action("slip.print", (K, A), "print a month-end or closing slip"),
    # Supervision (监督)
    Action("audit.read", (A, S), "read the audit log"),
    Action("user.read", (A, S), "read users and their API tokens"),
    Action("user.manage", (A,), "add users, reset passwords and PINs, issue and revoke tokens"),
    # Devices (设备)
    Action("printer.read", (K, A, S), "read the printer's and devices' state and unprinted jobs"),
    Action("printer.operate", (K, A), "print a test page and resend failed jobs"),
    Action("printer.configure", (A,), "change the printer's settings"),
)

ACTIONS: dict[str, Action] = {action.name: action for action in _ACTIONS}


def roles_for(action: str) -> tuple[str, ...]:
    """The roles that may do ``action`` (a KeyError for an action the map does not know)."""
    return ACTIONS[action].roles


def allows(user: User | None, action: str) -> bool:
    """Whether ``user`` may do ``action`` (nobody, ``None``, may do nothing)."""
    roles = roles_for(action)  # an unknown action fails loudly, even for nobody
    return user is not None and user.role in roles


def serving_supermarket_id(user: User | None, kiosk_supermarket_id: int) -> int:
    """The supermarket a user works for: their own if they belong to one, else this kiosk's."""
    if user is not None and user.supermarket_id is not None:
        return user.supermarket_id
    return kiosk_supermarket_id


def works_for(user: User, supermarket_id: int) -> bool:
    """Whether ``user`` may act on ``supermarket_id``'s books (for services, which have no
    kiosk): the same rule as :func:`sees`, the user being the row: one bound to no supermarket
    works for the one the kiosk serves, which the caller passes."""
    return sees(user.supermarket_id, supermarket_id)


def sees(row_supermarket_id: int | None, serving_id: int) -> bool:
    """Whether a row may be seen by someone working for ``serving_id``.

    One rule for pages, API and CLI: the rows of the supermarket one works for, and rows of no
    supermarket (users not bound to one work wherever the kiosk serves). Any other row is
    answered as if it did not exist (404), so ids of other villages reveal nothing.
    """
    return row_supermarket_id is None or row_supermarket_id == serving_id
