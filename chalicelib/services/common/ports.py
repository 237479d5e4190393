"""The ledger every capability uses to do things once, as a Protocol.

Its DynamoDB implementation is in `chalicelib.models`, its in-memory fake in `tests/support/fakes_workspaces.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Ledger(Protocol):
    """Small records that make things happen once, or a bounded number of times."""

    def claim(self, key: str, *, until: datetime, fingerprint: str = "") -> bool:
        """True for the first claim of `key` (kept until `until`, with what it was for), False for every later one."""
        ...

    def release(self, key: str) -> None:
        """Forget a claim, so the work it guarded may be tried again."""
        ...

    def count(self, key: str, *, limit: int, until: datetime) -> bool:
        """Add one to the counter `key` unless it reached `limit`; True if it was added."""
        ...

    def claimed(self, key: str) -> str | None:
        """The fingerprint `key` was claimed with ("" for none), or None while nobody holds it."""
        ...
