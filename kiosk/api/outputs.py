"""Rendering rows as the API's JSON objects: each the shape of a response model in
:mod:`kiosk.api.answers`, which the routes serialise them through and the document describes.

Names: admins and supervisors run the scheme and see full names; keepers see masked names
(张*丰). ID numbers and phone numbers are never stored, so never output.
"""

from __future__ import annotations

import base64
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from flask import current_app

from inventory.models import Category, Product, StockMovement
from kiosk import permissions
from kiosk.assessments import format_points
from kiosk.cards import active_card, payload_for
from kiosk.formatting import mask_name
from kiosk.models import (
    ApiToken,
    Card,
    Household,
    Member,
    PointAccount,
    PointEntry,
    PrintJob,
    Redemption,
    User,
)
from kiosk.rules import Policy
from kiosk.rules.policy_io import policy_to_dict
from kiosk.rules.presets import PRESETS
from kiosk.timeutil import to_local

if TYPE_CHECKING:
    from kiosk.redemption import Offer


def iso_local(moment: datetime | None) -> str | None:
    """A naive-UTC timestamp as ISO 8601 in the supermarket's local time, with its offset."""
    if moment is None:
        return None
    return to_local(moment, current_app.config["JIFEN_TIMEZONE"]).isoformat()


def sees_full_names(user: User) -> bool:
    """Whether this user may see residents' full names (who may read the household file)."""
    return permissions.allows(user, "household.read")


def person_name(name: str, viewer: User) -> str:
    """A resident's name as this viewer may see it (full or masked)."""
    return name if sees_full_names(viewer) else mask_name(name)


def household_brief(household: Household) -> dict[str, Any]:
    """The household as the counter shows it (masked name only)."""
    return {
        "id": household.id,
        "number": household.number,
        "masked_name": mask_name(household.head_name),
        "village": household.village,
        "status": household.status,
    }


def account(acc: PointAccount) -> dict[str, Any]:
    """A points account's balance and totals."""
    return {
        "balance": acc.balance,
        "earned_total": acc.earned_total,
        "redeemed_total": acc.redeemed_total,
    }


def offer(offer: Offer) -> dict[str, Any]:
    """One product as the rules would charge this household one unit of it now."""
    return {
        "product_id": offer.product.id,
        "points_price": offer.price,
        "points": offer.points,
        "allowed": offer.allowed,
        "reason": offer.refusal.to_dict() if offer.refusal is not None else None,
    }


def carried_points(carried: Fraction) -> str | None:
    """A converted score's carried fraction (结转) as "0.55", or None when there is none."""
    return format_points(carried) if carried > 0 else None


def household_summary(household: Household, viewer: User) -> dict[str, Any]:
    """One row of the household list."""
    return {
        "id": household.id,
        "number": household.number,
        "head_name": person_name(household.head_name, viewer),
        "masked_name": mask_name(household.head_name),
        "village": household.village,
        "group_name": household.group_name,
        "status": household.status,
        "balance": household.account.balance if household.account is not None else 0,
    }


def member(row: Member, viewer: User) -> dict[str, Any]:
    """A household member; birth dates only for admins and supervisors."""
    data: dict[str, Any] = {
        "id": row.id,
        "name": person_name(row.name, viewer),
        "relation": row.relation,
        "active": row.active,
    }
    if sees_full_names(viewer):
        data["birth_date"] = row.birth_date.isoformat() if row.birth_date else None
    return data


def household_detail(household: Household, viewer: User) -> dict[str, Any]:
    """A household with its members, account and active card."""
    card = active_card(household)
    data = household_summary(household, viewer)
    data.pop("balance")
    data["members"] = [member(m, viewer) for m in household.members]
    data["account"] = account(household.account)
    data["active_card_id"] = card.id if card is not None else None
    data["created_at"] = iso_local(household.created_at)
    return data


def card(row: Card) -> dict[str, Any]:
    """A card with the QR payload printed on it."""
    return {
        "id": row.id,
        "household_id": row.household_id,
        "serial": row.serial,
        "issue_no": row.issue_no,
        "payload": payload_for(row),
        "status": row.status,
        "issued_at": iso_local(row.issued_at),
        "revoked_at": iso_local(row.revoked_at),
        "revoke_reason": row.revoke_reason,
    }


def point_entry(row: PointEntry) -> dict[str, Any]:
    """One line of the points ledger."""
    return {
        "id": row.id,
        "kind": row.kind,
        "amount": row.amount,
        "balance_after": row.balance_after,
        "reason": row.reason,
        "redemption_id": row.redemption_id,
        "reverses_id": row.reverses_id,
        "created_by": row.created_by.display_name if row.created_by is not None else None,
        "created_at": iso_local(row.created_at),
    }


def category(row: Category) -> dict[str, Any]:
    """A shelf category."""
    return {"id": row.id, "name": row.name}


def product(row: Product, policy: Policy) -> dict[str, Any]:
    """A product, with the points price the counter charges now under ``policy``."""
    return {
        "id": row.id,
        "sku": row.sku,
        "barcode": row.barcode,
        "name": row.name,
        "unit": row.unit,
        "category_id": row.category_id,
        "category": row.category.name if row.category is not None else None,
        "kind": row.kind,
        "restriction_key": row.restriction_key,
        "points_price": policy.points_price(row.unit_cost_fen),
        "stock_qty": row.stock_qty,
        "unit_cost_fen": row.unit_cost_fen,
        "active": row.active,
    }


def movement(row: StockMovement) -> dict[str, Any]:
    """One line of the stock ledger."""
    return {
        "id": row.id,
        "product_id": row.product_id,
        "kind": row.kind,
        "quantity": row.quantity,
        "unit_cost_fen": row.unit_cost_fen,
        "quantity_after": row.quantity_after,
        "supplier": row.supplier,
        "invoice_no": row.invoice_no,
        "note": row.note,
        "created_at": iso_local(row.created_at),
    }


def redemption(row: Redemption) -> dict[str, Any]:
    """A redemption as the contract in notes/common.md describes it."""
    return {
        "id": row.id,
        "receipt_no": row.receipt_no,
        "status": row.status,
        "household": household_brief(row.household),
        "lines": [
            {
                "product_id": ln.product_id,
                "name": ln.product_name,
                "unit": ln.unit,
                "quantity": ln.quantity,
                "unit_points": ln.unit_points,
                "line_points": ln.line_points,
            }
            for ln in row.lines
        ],
        "total_points": row.total_points,
        "balance_before": row.balance_before,
        "balance_after": row.balance_after,
        "keeper": row.keeper.display_name,
        "created_at": iso_local(row.created_at),
        "voided_at": iso_local(row.voided_at),
        "void_reason": row.void_reason,
    }


def receipt(job: PrintJob | None) -> dict[str, Any] | None:
    """A receipt's print job: its status, copy number and text."""
    if job is None:
        return None
    return {
        "job_id": job.id,
        "status": job.status,
        "copy_no": job.copy_no,
        "text": job.text,
        "last_error": job.last_error,
    }


def escpos_base64(job: PrintJob) -> str:
    """The receipt's ESC/POS bytes, base64-encoded."""
    return base64.b64encode(job.payload).decode("ascii")


def token(row: ApiToken) -> dict[str, Any]:
    """A token's record (never the token itself, which is shown once when issued)."""
    return {
        "id": row.id,
        "user_id": row.user_id,
        "label": row.label,
        "created_at": iso_local(row.created_at),
        "last_used_at": iso_local(row.last_used_at),
        "revoked_at": iso_local(row.revoked_at),
    }


# Rule sets (issue 3) -----------------------------------------------------------------------


def policy(p: Policy) -> dict[str, Any]:
    """A policy as data (the same dictionary a TOML file or PUT /api/v1/policy carries)."""
    return policy_to_dict(p)


def policy_brief(p: Policy) -> dict[str, Any]:
    """A policy's name and preset key."""
    return {"name": p.name, "preset": p.preset}


def preset_list() -> list[dict[str, str]]:
    """The shipped presets (大同, 高阳, 寨里, 羊亭) by key and name."""
    return [{"key": key, "name": p.name} for key, p in PRESETS.items()]


def standing(row: Any, viewer: User) -> dict[str, Any]:
    """One household's standing in a policy preview."""
    decision = row.decision
    return {
        "id": row.household_id,
        "number": row.number,
        "name": person_name(row.head_name, viewer),
        "balance": row.balance,
        "earned_total": row.earned_total,
        "may_redeem": decision.may_redeem,
        "spendable": decision.spendable,
        "tier": decision.tier,
        "quota_left": decision.quota_left,
        "next_open": decision.next_open.isoformat() if decision.next_open else None,
        "reasons": [r.to_dict() for r in decision.reasons],
    }


def _member_name(row: Any, viewer: User) -> str | None:
    member_row = getattr(row, "member", None)
    return person_name(member_row.name, viewer) if member_row is not None else None


def assessment(row: Any, viewer: User) -> dict[str, Any]:
    """A recorded score of a household or member for a period."""
    created_by = getattr(row, "created_by", None)
    return {
        "id": row.id,
        "household_id": row.household_id,
        "household_number": row.household.number,
        "member_id": row.member_id,
        "member_name": _member_name(row, viewer),
        "period": row.period,
        "score": row.score,
        "note": row.note or "",
        "created_by": created_by.display_name if created_by is not None else None,
        "created_at": iso_local(row.created_at),
    }


def veto(row: Any, viewer: User) -> dict[str, Any]:
    """A veto (一票否决) or disqualification (取消资格) record."""
    created_by = getattr(row, "created_by", None)
    return {
        "id": row.id,
        "household_id": row.household_id,
        "household_number": row.household.number,
        "head_name": person_name(row.household.head_name, viewer),
        "member_id": row.member_id,
        "member_name": _member_name(row, viewer),
        "on": row.on.isoformat(),
        "kind": row.kind,
        "reason": row.reason,
        "created_by": created_by.display_name if created_by is not None else None,
        "created_at": iso_local(row.created_at),
    }


def cycle_result(result: Any) -> dict[str, Any]:
    """The outcome of a year-end cycle close (the same on every later call for that year)."""
    return {
        "year": result.year,
        "households": result.households,
        "expired_points": result.expired_points,
        "granted_points": result.granted_points,
        "closed_at": iso_local(result.closed_at),
    }


def printer(config: dict[str, Any], describe: str) -> dict[str, Any]:
    """The configured printer (``JIFEN_PRINTER``) without its connection details."""
    return {
        "type": config.get("type", "preview"),
        "paper_mm": int(config.get("paper_mm", 80)),
        "mode": config.get("mode") or "text",
        "profile": config.get("profile") or None,
        "described": describe,
    }


def print_job(job: PrintJob, receipt_no: str | None) -> dict[str, Any]:
    """A print job as the keeper's list shows it (the receipt number when it is a receipt)."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "redemption_id": job.redemption_id,
        "receipt_no": receipt_no,
        "copy_no": job.copy_no,
        "attempts": job.attempts,
        "last_error": job.last_error,
        "printer": job.printer,
        "created_at": iso_local(job.created_at),
        "printed_at": iso_local(job.printed_at),
        "text": job.text,
    }
