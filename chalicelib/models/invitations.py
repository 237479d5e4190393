"""Invitations in DynamoDB; accepting is one transaction that also adds the membership."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import AlreadyMemberError, ConflictError, NotFoundError, PermissionDeniedError
from chalicelib.models.audit import audit_record
from chalicelib.models.paging import page_of, transaction, versioned
from chalicelib.models.records import InvitationRecord, MembershipRecord, StudyRecord
from chalicelib.models.studies import membership_record
from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.studies.access import INVITER_LOST_ROLE, granting_roles
from chalicelib.services.studies.model import Invitation, InvitationStatus, MailStatus, Membership, Role

# DynamoDB's TTL clears an invitation this long after it expired; until then it lists as expired.
KEEP_AFTER_EXPIRY = timedelta(days=30)
_STALE = "The invitation changed in the meantime; reload and try again."


def to_invitation(record: InvitationRecord) -> Invitation:
    return Invitation(
        id=record.id,
        study_id=record.study_id,
        email=record.email,
        role=Role(record.role),
        inviter_id=record.inviter_id,
        token_hash=record.token_hash,
        expires_at=record.expires_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
        name=record.name,
        message=record.message,
        status=InvitationStatus(record.status),
        mail_id=record.mail_id,
        mail_status=MailStatus(record.mail_status),
        version=record.version,
    )


def invitation_record(invitation: Invitation) -> InvitationRecord:
    return InvitationRecord(
        id=invitation.id,
        study_id=invitation.study_id,
        email=invitation.email,
        name=invitation.name,
        role=invitation.role.value,
        message=invitation.message,
        inviter_id=invitation.inviter_id,
        status=invitation.status.value,
        token_hash=invitation.token_hash,
        mail_id=invitation.mail_id,
        mail_status=invitation.mail_status.value,
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
        updated_at=invitation.updated_at,
        created_key=f"{invitation.created_at.isoformat()}#{invitation.id}",
        ttl=invitation.expires_at + KEEP_AFTER_EXPIRY,
        **versioned(invitation.version),
    )


class DynamoInvitations:
    """`InvitationRepository` on the invitations table."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, invitation_id: str) -> Invitation | None:
        try:
            return to_invitation(InvitationRecord.get(invitation_id))
        except InvitationRecord.DoesNotExist:
            return None

    def by_token_hash(self, token_hash: str) -> Invitation | None:
        for record in InvitationRecord.by_token.query(token_hash, limit=1):
            return to_invitation(record)
        return None

    def of_study(self, study_id: str, page: PageRequest) -> Page[Invitation]:
        results = InvitationRecord.by_study.query(
            study_id, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_invitation)

    def for_email(self, email: str, page: PageRequest) -> Page[Invitation]:
        results = InvitationRecord.by_email.query(
            email, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_invitation)

    def pending_from(self, study_id: str, inviter_id: str, page: PageRequest) -> Page[Invitation]:
        results = InvitationRecord.by_study.query(
            study_id,
            scan_index_forward=False,
            filter_condition=(InvitationRecord.inviter_id == inviter_id)
            & (InvitationRecord.status == InvitationStatus.PENDING.value),
            limit=page.limit,
            last_evaluated_key=page.start,
        )
        return page_of(results, to_invitation)

    def queued_between(self, since: datetime, until: datetime, page: PageRequest) -> Page[Invitation]:
        results = InvitationRecord.by_mail_status.query(
            MailStatus.QUEUED.value,
            InvitationRecord.updated_at.between(since, until),
            limit=page.limit,
            last_evaluated_key=page.start,
        )
        return page_of(results, to_invitation)

    def create(self, invitation: Invitation, audit: AuditEntry) -> Invitation:
        record = invitation_record(replace(invitation, version=None))
        with transaction(self._connection, "An invitation with this id already exists.") as writes:
            writes.save(record)
            writes.save(audit_record(audit))
        return to_invitation(record)

    def update(self, invitation: Invitation, audit: AuditEntry) -> Invitation:
        record = invitation_record(invitation)
        with transaction(self._connection, _STALE) as writes:
            writes.save(record)
            writes.save(audit_record(audit))
        return to_invitation(record)

    def accept(self, invitation: Invitation, membership: Membership | None, audit: AuditEntry) -> Invitation:
        record = invitation_record(invitation)
        try:
            with TransactWrite(connection=self._connection) as writes:
                writes.save(record, condition=InvitationRecord.status == InvitationStatus.PENDING.value)
                writes.condition_check(StudyRecord, invitation.study_id, condition=StudyRecord.id.exists())
                # The inviter's authority is checked now, in the same transaction: a removed or demoted admin's
                # invitation admits nobody, however the revocation of their invitations went.
                granting = [r.value for r in granting_roles(invitation.role)]
                writes.condition_check(
                    MembershipRecord,
                    invitation.study_id,
                    invitation.inviter_id,
                    condition=MembershipRecord.role.is_in(*granting),
                )
                if membership is not None:
                    writes.save(membership_record(replace(membership, version=None)))
                writes.save(audit_record(audit))
        except TransactWriteError as exc:
            # pynamodb sends condition checks first, then puts in the order saved: study, inviter, invitation,
            # membership.
            reasons = [r.code if r else None for r in (exc.cancellation_reasons or [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise NotFoundError(detail="The study of this invitation no longer exists.") from exc
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise PermissionDeniedError(detail=INVITER_LOST_ROLE.format(role=invitation.role.value)) from exc
            if membership is not None and len(reasons) > 3 and reasons[3] == "ConditionalCheckFailed":
                raise AlreadyMemberError(detail="Already a member of this study.") from exc
            raise ConflictError(detail=_STALE) from exc
        return to_invitation(record)

    def set_mail_status(self, invitation_id: str, mail_id: str, status: MailStatus) -> bool:
        try:
            InvitationRecord(id=invitation_id).update(
                actions=[InvitationRecord.mail_status.set(status.value)],
                condition=InvitationRecord.mail_id == mail_id,
                add_version_condition=False,
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
