"""Invitations in DynamoDB; accepting is one transaction that also adds the membership."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.errors import AlreadyMemberError, ConflictError, NotFoundError, PermissionDeniedError
from chalicelib.models import keys
from chalicelib.models.audit import audit_record
from chalicelib.models.paging import page_of, versioned
from chalicelib.models.studies import MembershipRecord, StudyRecord, membership_record
from chalicelib.models.transactions import failed, named_writes, transaction
from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.studies.access import INVITER_LOST_ROLE, granting_roles
from chalicelib.services.studies.model import Invitation, InvitationStatus, MailStatus, Membership, Role

# DynamoDB's TTL clears an invitation this long after it expired; until then it lists as expired.
KEEP_AFTER_EXPIRY = timedelta(days=30)
_STALE = "The invitation changed in the meantime; reload and try again."


class InvitationByStudy(GlobalSecondaryIndex["InvitationRecord"]):
    class Meta:
        index_name = "by_study"
        projection = AllProjection()

    study_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class InvitationByEmail(GlobalSecondaryIndex["InvitationRecord"]):
    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class InvitationByToken(GlobalSecondaryIndex["InvitationRecord"]):
    class Meta:
        index_name = "by_token"
        projection = AllProjection()

    token_hash = UnicodeAttribute(hash_key=True)


class InvitationByMailStatus(GlobalSecondaryIndex["InvitationRecord"]):
    """Invitations by how their mail went, oldest change first: finds links whose mail was never queued."""

    class Meta:
        index_name = "by_mail_status"
        projection = AllProjection()

    mail_status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class InvitationRecord(Model):
    """An invitation; `ttl` lets DynamoDB clear it out well after it expired (readers check `expires_at`)."""

    class Meta:
        table_name = "invitations"

    id = UnicodeAttribute(hash_key=True)
    study_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    role = UnicodeAttribute()
    message = UnicodeAttribute(default="")
    inviter_id = UnicodeAttribute()
    status = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    mail_id = UnicodeAttribute(default="")
    mail_status = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    created_key = UnicodeAttribute()
    ttl = TTLAttribute(null=True)
    version = VersionAttribute()

    by_study = InvitationByStudy()
    by_email = InvitationByEmail()
    by_token = InvitationByToken()
    by_mail_status = InvitationByMailStatus()


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
        created_key=keys.newest_first(invitation.created_at, invitation.id),
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
            writes.save("invitation", record)
            writes.save("audit", audit_record(audit))
        return to_invitation(record)

    def update(self, invitation: Invitation, audit: AuditEntry) -> Invitation:
        record = invitation_record(invitation)
        with transaction(self._connection, _STALE) as writes:
            writes.save("invitation", record)
            writes.save("audit", audit_record(audit))
        return to_invitation(record)

    def accept(self, invitation: Invitation, membership: Membership | None, audit: AuditEntry) -> Invitation:
        record = invitation_record(invitation)
        try:
            with named_writes(self._connection) as writes:
                pending = InvitationRecord.status == InvitationStatus.PENDING.value
                writes.save("invitation", record, condition=pending)
                writes.check("study", StudyRecord, invitation.study_id, condition=StudyRecord.id.exists())
                # The inviter's authority is checked now, in the same transaction: a removed or demoted admin's
                # invitation admits nobody, however the revocation of their invitations went.
                granting = [r.value for r in granting_roles(invitation.role)]
                writes.check(
                    "inviter",
                    MembershipRecord,
                    invitation.study_id,
                    invitation.inviter_id,
                    condition=MembershipRecord.role.is_in(*granting),
                )
                if membership is not None:
                    writes.save("membership", membership_record(replace(membership, version=None)))
                writes.save("audit", audit_record(audit))
        except TransactWriteError as exc:
            if failed(exc, "study"):
                raise NotFoundError(detail="The study of this invitation no longer exists.") from exc
            if failed(exc, "inviter"):
                raise PermissionDeniedError(detail=INVITER_LOST_ROLE.format(role=invitation.role.value)) from exc
            if failed(exc, "membership"):
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
