"""The repositories services depend on, as Protocols.

Each has a DynamoDB implementation in `chalicelib.models` and an in-memory fake in
`tests/fakes.py`; `tests/contract/test_repositories.py` runs the same checks on both.
Writes that two callers can race are optimistic: they raise `ConflictError` when the
stored version moved on since the object was read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib.services.domain import (
    AuditEntry,
    Credential,
    Invitation,
    MailStatus,
    Member,
    Membership,
    OutgoingMail,
    Page,
    PageRequest,
    ReferenceItem,
    Researcher,
    Study,
    StudyAccess,
    Upload,
)
from chalicelib.services.lifecycle import Quota, StudyUsage, Workspace, WorkspaceEvent, WorkspaceStatus

if TYPE_CHECKING:
    from chalicelib.services.catalog import CatalogItem
    from chalicelib.services.messages import MailMessage, ProvisioningMessage


class ResearcherRepository(Protocol):
    def get(self, researcher_id: str) -> Researcher | None: ...

    def get_many(self, researcher_ids: Sequence[str]) -> dict[str, Researcher]: ...

    def by_email(self, email: str) -> Researcher | None: ...

    def all_by_email(self, email: str) -> list[Researcher]:
        """Every researcher with this email (emails may repeat across identities)."""
        ...

    def by_identity(self, identity: str) -> Researcher | None: ...

    def every(self, page: PageRequest) -> Page[Researcher]:
        """All researchers by email, a page at a time (platform admins only)."""
        ...

    def add(self, researcher: Researcher) -> Researcher:
        """Store a new researcher; `ConflictError` if the id or the identity is taken (emails may repeat)."""
        ...

    def save(self, researcher: Researcher, audit: AuditEntry | None = None) -> Researcher:
        """Store changes to a researcher read earlier, with `audit` in the same write; returns the new version."""
        ...


class CredentialRepository(Protocol):
    def get(self, key: str) -> Credential | None: ...

    def add(self, credential: Credential) -> None:
        """Store a new credential; `ConflictError` if the key is taken."""
        ...

    def take(self, key: str) -> Credential | None:
        """Read and delete in one go; of two callers taking the same key, one gets None."""
        ...

    def owned_by(self, owner_id: str, page: PageRequest) -> Page[Credential]:
        """A researcher's API tokens, newest first."""
        ...

    def delete_owned(self, key: str, owner_id: str) -> bool:
        """Delete the owner's credential; False if there is none by that key for that owner."""
        ...


class InvitationRepository(Protocol):
    def get(self, invitation_id: str) -> Invitation | None: ...

    def by_token_hash(self, token_hash: str) -> Invitation | None: ...

    def of_study(self, study_id: str, page: PageRequest) -> Page[Invitation]:
        """The study's invitations, newest first."""
        ...

    def for_email(self, email: str, page: PageRequest) -> Page[Invitation]:
        """Invitations addressed to an email, newest first (every status; callers filter)."""
        ...

    def create(self, invitation: Invitation, audit: AuditEntry) -> Invitation: ...

    def update(self, invitation: Invitation, audit: AuditEntry) -> Invitation:
        """Store a change to an invitation read earlier (optimistic on its version)."""
        ...

    def accept(self, invitation: Invitation, membership: Membership | None, audit: AuditEntry) -> Invitation:
        """Mark accepted and add the membership (None: already a member) in one transaction;
        `ConflictError` if the invitation changed since it was read or the membership exists."""
        ...

    def set_mail_status(self, invitation_id: str, mail_id: str, status: MailStatus) -> bool:
        """Record how the mail `mail_id` went; False (and nothing written) if a newer mail replaced it."""
        ...

    def queued_between(self, since: datetime, until: datetime, page: PageRequest) -> Page[Invitation]:
        """Invitations whose current mail is still queued, last changed between `since` and `until`."""
        ...


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


class MailQueue(Protocol):
    def send(self, message: MailMessage) -> None:
        """Queue a message for the mail family (an SQS-triggered function)."""
        ...


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Hand one mail to the mail service (SES); raises when it is refused or unreachable."""
        ...


class AccessRepository(Protocol):
    def load(self, researcher_id: str, credential_key: str, study_id: str | None = None) -> StudyAccess:
        """The caller, the credential they present, and on study routes the study and membership: one read."""
        ...


class ReferenceRepository(Protocol):
    def list(self, kind: str, page: PageRequest) -> Page[ReferenceItem]: ...

    def get(self, kind: str, item_id: str) -> ReferenceItem | None: ...

    def put(self, kind: str, item: ReferenceItem) -> None: ...


class StudyRepository(Protocol):
    def get(self, study_id: str) -> Study | None: ...

    def get_many(self, study_ids: Sequence[str]) -> dict[str, Study]: ...

    def by_upload_code(self, upload_code: str) -> Study | None:
        """The study the upload-code index names for `upload_code`, read consistently; None if none.

        The index lags a fresh code by a moment, so the study returned may already carry a newer
        code: callers compare `study.upload_code` themselves.
        """
        ...

    def membership(self, study_id: str, researcher_id: str) -> Membership | None: ...

    def member(self, study_id: str, researcher_id: str) -> Member | None:
        """A membership and the member's profile, read together."""
        ...

    def member_count(self, study_id: str) -> int: ...

    def memberships_of(self, researcher_id: str, page: PageRequest) -> Page[Membership]: ...

    def members(self, study_id: str, page: PageRequest) -> Page[Membership]: ...

    def create(self, study: Study, owner: Membership, audit: AuditEntry) -> None: ...

    def add_member(self, membership: Membership, audit: AuditEntry) -> Membership:
        """A new membership; `ConflictError` if the researcher is already a member."""
        ...

    def update(self, study: Study, audit: AuditEntry) -> Study: ...

    def delete(self, study: Study, audit: AuditEntry) -> None:
        """Delete the study and then its memberships; the audit log stays."""
        ...

    def set_role(self, membership: Membership, audit: AuditEntry) -> Membership: ...

    def remove_member(self, membership: Membership, audit: AuditEntry) -> None: ...

    def transfer(self, study: Study, old_owner: Membership, new_owner: Membership, audit: AuditEntry) -> Study: ...

    def record(self, audit: AuditEntry) -> None:
        """Write an audit entry on its own (for refused attempts)."""
        ...

    def record_counted(self, audit: AuditEntry, counter: str, *, limit: int, until: datetime) -> bool:
        """Write `audit` and count it under `counter` (kept until `until`), in one write; False, and nothing
        written, once the counter has reached `limit`."""
        ...

    def audit_log(self, study_id: str, page: PageRequest) -> Page[AuditEntry]:
        """The study's audit entries, newest first."""
        ...


class CatalogRepository(Protocol):
    """The workspace catalog: small, read whole."""

    def all(self) -> list[CatalogItem]: ...

    def put(self, item: CatalogItem, audit: AuditEntry | None = None) -> None:
        """Create or replace an entry, with `audit` in the same write."""
        ...

    def delete(self, kind: str, item_id: str, audit: AuditEntry | None = None) -> bool:
        """Remove an entry, with `audit` in the same write; False (and nothing written) if there was none."""
        ...


class PlatformRepository(Protocol):
    """What platform admins see across studies."""

    def studies(self, page: PageRequest) -> Page[Study]:
        """Every study, newest first."""
        ...

    def audit(self, page: PageRequest) -> Page[AuditEntry]:
        """Every audit entry, of every study and of the platform itself, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An `Idempotency-Key` of one caller, with a fingerprint of the request it came with."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class DeliveryClaim:
    """A delivery's ledger key, claimed with the change it made (so it is applied once), kept until `until`;
    the fingerprint tells a redelivery from another message under the same key."""

    key: str
    until: datetime
    fingerprint: str = ""


class WorkspaceRepository(Protocol):
    """Workspaces, their history and their study's usage counter.

    Every state change writes its event (and audit entry, if any) in the same transaction,
    conditional on the version read; a stale write raises `ConflictError`.
    """

    def get(self, workspace_id: str) -> Workspace | None: ...

    def for_study(self, study_id: str, page: PageRequest) -> Page[Workspace]:
        """The study's workspaces, newest first."""
        ...

    def every(self, page: PageRequest) -> Page[Workspace]:
        """Every workspace in no order (the reconciler): a Scan, never on a request's path."""
        ...

    def listed(self, page: PageRequest, status: WorkspaceStatus | None = None) -> Page[Workspace]:
        """Every workspace, or those in `status`, newest first (the platform admins' list)."""
        ...

    def create(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry,
        quota: Quota,
        idempotency: IdempotencyClaim | None = None,
    ) -> Workspace:
        """Store a new workspace if the study's usage stays within `quota`; returns it as stored.

        Raises `QuotaExceededError` when it would not, `IdempotencyReplay` when the key was used.
        """
        ...

    def replay(self, caller_id: str, key: str) -> tuple[str, str] | None:
        """The workspace id and request fingerprint an `Idempotency-Key` was first used for."""
        ...

    def move(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry | None = None,
        claim: DeliveryClaim | None = None,
    ) -> Workspace:
        """Store a state change (the workspace already carries its new state); DELETED frees its quota.

        With `claim`, the ledger key is claimed in the same transaction: a key claimed before is a
        `ConflictError` and nothing is written.
        """
        ...

    def save(self, workspace: Workspace) -> Workspace:
        """Store bookkeeping that is not a state change (server id, lease, check token, access)."""
        ...

    def events(self, workspace_id: str, page: PageRequest) -> Page[WorkspaceEvent]:
        """A workspace's history, oldest first."""
        ...

    def usage(self, study_id: str) -> StudyUsage: ...


class ProvisioningQueue(Protocol):
    def send(self, message: ProvisioningMessage, *, delay_seconds: int = 0) -> None:
        """Queue work for the provisioning family, visible after `delay_seconds` (at most 900)."""


class UploadRepository(Protocol):
    def get(self, tusd_id: str) -> Upload | None: ...

    def add(self, upload: Upload, audit: AuditEntry) -> Upload | None:
        """Store a new upload and its audit entry in one transaction and return it as stored; None
        (nothing written) if the tusd id is on record already, which makes a repeated hook harmless."""
        ...

    def update(self, upload: Upload, audit: AuditEntry) -> Upload:
        """Store a change to an upload read earlier (optimistic on its version), with its audit entry."""
        ...

    def save(self, upload: Upload) -> Upload:
        """Store a change that needs no audit entry (the part checksums signed), optimistic on its version."""
        ...

    def sign_parts(self, tusd_id: str, checksums: Mapping[int, str]) -> None:
        """Note the SHA-256 each part was signed with, while the upload is admitted (else a 409)."""
        ...

    def remove(self, upload: Upload, audit: AuditEntry) -> None:
        """Delete the record, with its audit entry, in one transaction."""
        ...

    def of_study(self, study_id: str, page: PageRequest) -> Page[Upload]:
        """The study's uploads, newest first (admitted ones are not listed)."""
        ...

    def admitted(self, page: PageRequest) -> Page[Upload]:
        """Every admitted upload not yet received, for the reconciler (never on a request path)."""
        ...
