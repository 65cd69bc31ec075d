"""Audit events: every service write records who did what to which row."""

from __future__ import annotations

from typing import Any

from kiosk.extensions import db
from kiosk.models import AuditEvent, User


def record(
    action: str,
    subject: Any,
    *,
    actor: User | None,
    supermarket_id: int | None = None,
    **data: Any,
) -> AuditEvent:
    """Add an audit row to the current transaction (the caller commits)."""
    event = AuditEvent(
        action=action,
        subject_type=type(subject).__name__,
        subject_id=getattr(subject, "id", None),
        actor_id=actor.id if actor is not None else None,
        supermarket_id=supermarket_id
        if supermarket_id is not None
        else getattr(subject, "supermarket_id", None),
        data=data,
    )
    db.session.add(event)
    return event
