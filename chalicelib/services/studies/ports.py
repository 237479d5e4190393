"""The repositories the studies services depend on, as Protocols.

Each has a DynamoDB implementation in `chalicelib.models` and an in-memory fake in
`tests/support/fakes.py`; `tests/contract/` runs the same checks on both. Writes that two callers can race are
optimistic: they raise `ConflictError` when the stored version moved on since the object was read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.studies.model import (
    Invitation,
    MailStatus,
    Member,
    Membership,
    ReferenceItem,
    Study,
    StudyAccess,
)


class InvitationRepository(Protocol):
    def get(self, invitation_id: str) -> Invitation | None: ...

    def by_token_hash(self, token_hash: str) -> Invitation | None: ...

    def of_study(self, study_id: str, page: PageRequest) -> Page[Invitation]:
        """The study's invitations, newest first."""
        ...

    def for_email(self, email: str, page: PageRequest) -> Page[Invitation]:
        """Invitations addressed to an email, newest first (every status; callers filter)."""
        ...

    def pending_from(self, study_id: str, inviter_id: str, page: PageRequest) -> Page[Invitation]:
        """The study's invitations `inviter_id` sent that are stored as pending (expired ones too), newest first.

        A page may hold fewer than `limit` (the others are filtered out); follow `next_start`.
        """
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
