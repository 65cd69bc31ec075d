"""Closed sets of stored strings: each kind or status column holds one ``StrEnum``'s values,
and the database holds it to them with a CHECK constraint (migration 0008).

A member equals its string (``EntryKind.AWARD == "award"``), so rows read back as plain
strings compare equal to the members, and the stored values stay as they always were.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


def one_of(table: str, column: str, values: type[StrEnum]) -> sa.CheckConstraint:
    """The CHECK constraint ``ck_<table>_<column>`` that refuses any value not in ``values``."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"ck_{table}_{column}")
