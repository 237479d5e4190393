"""The broker's objects in the researchers' language, as plain data."""

from __future__ import annotations

import secrets
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


class Locale(StrEnum):
    EN = "en"
    NL = "nl"


@dataclass(slots=True)
class Researcher:
    id: str
    email: str
    name: str
    created_at: datetime
    updated_at: datetime
    identity: str | None = None
    university_id: str | None = None
    research_field_id: str | None = None
    phone: str | None = None
    locale: Locale = Locale.EN
    is_admin: bool = False
    disabled: bool = False
    # Whether the identity provider vouched for `email` at the last login (or the issuer is trusted for it).
    email_verified: bool = False
    version: int | None = None


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


@dataclass(slots=True)
class ReferenceItem:
    """An entry of seeded reference data (a university, a research field)."""

    id: str
    name: str
    attributes: dict[str, str] = field(default_factory=dict)


class CredentialKind(StrEnum):
    PENDING_LOGIN = "pending_login"  # state, nonce and PKCE verifier between /auth/login and the callback
    LOGIN_CODE = "login_code"  # the one-time code the frontend trades for a session token
    REVOKED_SESSION = "revoked_session"  # a logged-out session token's jti, until it would expire
    API_TOKEN = "api_token"  # a researcher's personal API token, stored hashed
    IDENTITY = "identity"  # claims an (issuer, subject) for one researcher, so two first logins make one


@dataclass(slots=True)
class Credential:
    """Something that lets someone in (or, revoked, keeps them out); kept hashed where it is a secret."""

    key: str
    kind: CredentialKind
    expires_at: datetime | None
    created_at: datetime
    owner_id: str | None = None
    name: str = ""
    # Kept out of repr: a pending login's data holds its PKCE verifier and nonce.
    secret_hash: str = field(default="", repr=False)
    data: dict[str, str] = field(default_factory=dict, repr=False)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


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


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One rendered mail: From is always the configured no-reply address; replies go to `reply_to`."""

    to: str
    subject: str
    # Out of repr: an invitation's body carries its accept link, token and all.
    text: str = field(repr=False)
    html: str = field(repr=False)
    reply_to: str | None = None


class UploadStatus(StrEnum):
    # Accepted at its start (tusd's pre-create, `POST /dropoff/uploads`), not yet complete; not listed.
    ADMITTED = "admitted"
    RECEIVED = "received"  # every byte arrived (tusd's post-finish, the drop-off's complete)
    ABORTED = "aborted"  # terminated before it finished
    DELETED = "deleted"  # terminated after it finished: the data is gone from storage


@dataclass(slots=True)
class Upload:
    """A file dropped off for a study, through tusd or straight to storage; `tusd_id` is `<study id>/<id>`
    (the id tusd stores it under, and the record's key either way)."""

    id: str
    tusd_id: str
    study_id: str
    file_name: str
    size: int
    received_bytes: int
    status: UploadStatus
    created_at: datetime
    updated_at: datetime
    sender_name: str | None = None
    sender_email: str | None = None
    # Where tusd put it, as tusd reports it (filestore: Path, InfoPath; s3store: Bucket, Key).
    storage: dict[str, str] = field(default_factory=dict)
    # Its object's key in the stage's uploads bucket; empty while none is known (tusd's filestore).
    object_key: str = ""
    file_type: str | None = None
    # The whole file's SHA-256 (hex) as the uploader computed it, and S3's checksum of the parts' checksums
    # (`<base64>-<part count>`), which S3 verified part by part.
    checksum_sha256: str = ""
    checksum_parts: str = ""
    # An admitted drop-off upload: its deadline, S3 multipart upload id, the hashes of its secret and of the
    # upload code it was started with, and the parts' size and SHA-256s (base64, by part number) as signed.
    expires_at: datetime | None = None
    multipart_id: str = ""
    secret_hash: str = ""
    code_hash: str = ""
    part_size: int = 0
    part_checksums: dict[str, str] = field(default_factory=dict)
    version: int | None = None


@dataclass(slots=True)
class StudyAccess:
    """What one request needs to decide: the caller, its credential, and for study routes the study and membership."""

    researcher: Researcher | None
    study: Study | None
    membership: Membership | None
    credential: Credential | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = 25
    start: dict[str, Any] | None = None


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next_start: dict[str, Any] | None = None
