"""Values every capability uses: time and ids, the audit entry, pages of results, and `Unset`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from msgspec import UNSET, UnsetType

T = TypeVar("T")

# A field a partial update leaves alone (as opposed to None, which clears it).
Unset = UnsetType
__all__ = ["UNSET", "Unset"]


# The actor of what the broker does on its own (a workspace's steps, a link sent again), in events and audit.
BROKER = "broker"


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh opaque id."""
    return uuid.uuid4().hex


class AuditOutcome(StrEnum):
    """How an audited action went: done, or refused (the audit log's `outcome`)."""

    SUCCESS = "success"
    DENIED = "denied"


@dataclass(slots=True)
class AuditEntry:
    """Who did what to which target in a study (or, with no study id, on the platform), when, and how it went."""

    study_id: str
    actor_id: str
    action: str
    target: str
    outcome: AuditOutcome
    at: datetime
    detail: str = ""
    entry_id: str = field(default_factory=new_id)


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = 25
    start: dict[str, Any] | None = None


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next_start: dict[str, Any] | None = None
