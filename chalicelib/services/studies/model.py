"""A study, its members and their roles, its invitations and the reference data it names, as plain data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from chalicelib.services.accounts.model import Credential, Researcher


def new_upload_code() -> str:
    """A fresh study upload code: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


class Role(StrEnum):
    """A member's role in a study; each includes the rights of the ones before it."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.VIEWER: 0, Role.CONTRIBUTOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


@dataclass(slots=True)
class Study:
    id: str
    name: str
    owner_id: str
    upload_code: str = field(repr=False)
    created_at: datetime
    updated_at: datetime
    description: str = ""
    research_field_id: str | None = None
    # A platform admin's quota overrides for this study (None: the settings' defaults).
    max_workspaces: int | None = None
    max_vcpus: int | None = None
    version: int | None = None


@dataclass(slots=True)
class Membership:
    study_id: str
    researcher_id: str
    role: Role
    joined_at: datetime
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A membership with the member's profile (None if the account is gone)."""

    membership: Membership
    researcher: Researcher | None


@dataclass(slots=True)
class ReferenceItem:
    """An entry of seeded reference data (a university, a research field)."""

    id: str
    name: str
    attributes: dict[str, str] = field(default_factory=dict)


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"  # never stored: a pending invitation past `expires_at`


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


@dataclass(slots=True)
class Invitation:
    """An invitation to join a study, bound to one email address; its token is kept only as a hash."""

    id: str
    study_id: str
    email: str
    role: Role
    inviter_id: str
    token_hash: str = field(repr=False)
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    name: str = ""
    message: str = ""
    status: InvitationStatus = InvitationStatus.PENDING
    mail_id: str = ""  # the mail that carries the current link; a resend makes a new one
    mail_status: MailStatus = MailStatus.QUEUED
    version: int | None = None

    def status_at(self, now: datetime) -> InvitationStatus:
        """The status as the API shows it: a pending invitation past its time is expired."""
        if self.status is InvitationStatus.PENDING and self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return self.status


@dataclass(slots=True)
class StudyAccess:
    """What one request needs to decide: the caller, its credential, and for study routes the study and membership."""

    researcher: Researcher | None
    study: Study | None
    membership: Membership | None
    credential: Credential | None = None
