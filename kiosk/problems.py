"""What ``jifen check`` reports: one breach of the books, found by one check.

A leaf module (it imports nothing of jifen) so that every area's check — points, stock, fund,
donations, month-end, audit chain — can build its problems without importing the check runner,
which imports all of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One breach: which check found it, in what, and what is wrong."""

    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"
