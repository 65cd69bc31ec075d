"""A row is hashed only once it has its place in a chain: without a ``seq`` there is nothing
the chain could check, so row_hash refuses it instead of hashing a null."""

from datetime import datetime

import pytest

from kiosk import audit
from kiosk.models import AuditEvent


def _event(seq: int | None) -> AuditEvent:
    return AuditEvent(
        seq=seq,
        supermarket_id=1,
        actor_id=None,
        action="probe",
        subject_type="Probe",
        subject_id=None,
        data={},
        created_at=datetime(2026, 1, 1, 8, 0, 0),
    )


def test_row_hash_refuses_a_row_without_its_seq():
    with pytest.raises(ValueError, match="seq"):
        audit.row_hash(_event(None), audit.GENESIS)


def test_row_hash_of_a_placed_row_is_a_sha256_hex():
    digest = audit.row_hash(_event(1), audit.GENESIS)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != audit.row_hash(_event(2), audit.GENESIS)
