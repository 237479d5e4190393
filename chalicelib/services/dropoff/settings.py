"""The drop-off's settings: what it accepts and how parts are cut, each built from `Settings` (every default there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.config import Settings


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """What the drop-off accepts: settings `DISALLOWED_EXTENSIONS` and `UPLOAD_MAX_BYTES`; and how many refusals
    a study's audit log records per hour (`UPLOAD_REFUSALS_AUDITED_PER_HOUR`)."""

    denied_extensions: frozenset[str]
    max_bytes: int
    # When not empty, the only extensions accepted (`ALLOWED_EXTENSIONS`); it wins over the deny-list.
    allowed_extensions: frozenset[str]
    refusals_audited_per_hour: int

    @classmethod
    def from_settings(cls, s: Settings) -> UploadPolicy:
        return cls(
            s.denied_extensions, s.upload_max_bytes, s.allowed_extensions_set, s.upload_refusals_audited_per_hour
        )


@dataclass(frozen=True, slots=True)
class DropoffSettings:
    """How parts are cut and how long things last (settings `UPLOAD_PART_BYTES`, `UPLOAD_MAX_PARTS`,
    `UPLOAD_SESSION_HOURS`, `UPLOAD_PART_URL_SECONDS`)."""

    part_bytes: int
    max_parts: int
    session: timedelta
    part_url_seconds: int

    @classmethod
    def from_settings(cls, s: Settings) -> DropoffSettings:
        hours = timedelta(hours=s.upload_session_hours)
        return cls(s.upload_part_bytes, s.upload_max_parts, hours, s.upload_part_url_seconds)
