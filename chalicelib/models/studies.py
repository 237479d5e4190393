"""Studies, their memberships and their audit log in DynamoDB.

A change and its audit entry are written in one transaction; reads a request needs
together (a membership and the member's profile) are one TransactGetItems; the caller's own
access is read in `chalicelib.models.access`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactGet

from chalicelib.errors import ConflictError
from chalicelib.models import keys
from chalicelib.models.audit import AuditRecord, audit_record, to_audit
from chalicelib.models.ledger import LedgerRecord
from chalicelib.models.paging import page_of, resolved, versioned
from chalicelib.models.researchers import ResearcherRecord, to_researcher
from chalicelib.models.transactions import failed, named_writes, transaction
from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.studies.model import Member, Membership, Role, Study

M = TypeVar("M", bound=Model)
T = TypeVar("T")

_STALE = "The study changed in the meantime; reload and try again."
WORKSPACES_LEFT = "The study still has workspaces; delete them first."


class StudyByUploadCode(GlobalSecondaryIndex["StudyRecord"]):
    class Meta:
        index_name = "by_upload_code"
        projection = KeysOnlyProjection()

    upload_code = UnicodeAttribute(hash_key=True)


class StudyInPlatform(GlobalSecondaryIndex["StudyRecord"]):
    """Every study, newest first, in one partition: the platform admins' list."""

    class Meta:
        index_name = "in_platform"
        projection = AllProjection()

    platform = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class StudyRecord(Model):
    class Meta:
        table_name = "studies"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    research_field_id = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute()
    upload_code = UnicodeAttribute()
    # A platform admin's quota overrides (unset: the stage's defaults).
    max_workspaces = NumberAttribute(null=True)
    max_vcpus = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    platform = UnicodeAttribute(default=keys.EVERYONE)

    by_upload_code = StudyByUploadCode()
    in_platform = StudyInPlatform()


class MembershipByResearcher(GlobalSecondaryIndex["MembershipRecord"]):
    class Meta:
        index_name = "by_researcher"
        projection = AllProjection()

    researcher_id = UnicodeAttribute(hash_key=True)
    study_id = UnicodeAttribute(range_key=True)


class MembershipRecord(Model):
    class Meta:
        table_name = "memberships"

    study_id = UnicodeAttribute(hash_key=True)
    researcher_id = UnicodeAttribute(range_key=True)
    role = UnicodeAttribute()
    joined_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_researcher = MembershipByResearcher()


def to_study(record: StudyRecord) -> Study:
    return Study(
        id=record.id,
        name=record.name,
        description=record.description,
        research_field_id=record.research_field_id,
        owner_id=record.owner_id,
        upload_code=record.upload_code,
        created_at=record.created_at,
        updated_at=record.updated_at,
        max_workspaces=int(record.max_workspaces) if record.max_workspaces is not None else None,
        max_vcpus=int(record.max_vcpus) if record.max_vcpus is not None else None,
        version=record.version,
    )


def study_record(study: Study) -> StudyRecord:
    return StudyRecord(
        id=study.id,
        name=study.name,
        description=study.description,
        research_field_id=study.research_field_id,
        owner_id=study.owner_id,
        upload_code=study.upload_code,
        max_workspaces=study.max_workspaces,
        max_vcpus=study.max_vcpus,
        created_at=study.created_at,
        updated_at=study.updated_at,
        **versioned(study.version),
    )


def to_membership(record: MembershipRecord) -> Membership:
    return Membership(
        study_id=record.study_id,
        researcher_id=record.researcher_id,
        role=Role(record.role),
        joined_at=record.joined_at,
        version=record.version,
    )


def membership_record(membership: Membership) -> MembershipRecord:
    return MembershipRecord(
        study_id=membership.study_id,
        researcher_id=membership.researcher_id,
        role=membership.role.value,
        joined_at=membership.joined_at,
        **versioned(membership.version),
    )


class DynamoStudies:
    """`StudyRepository` on the studies, memberships and audit tables."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, study_id: str) -> Study | None:
        try:
            return to_study(StudyRecord.get(study_id))
        except StudyRecord.DoesNotExist:
            return None

    def get_many(self, study_ids: Sequence[str]) -> dict[str, Study]:
        unique = list(dict.fromkeys(study_ids))
        if not unique:
            return {}
        return {s.id: to_study(s) for s in StudyRecord.batch_get(unique)}

    def by_upload_code(self, upload_code: str) -> Study | None:
        # The index is keys-only: it names the study, and the study is then read consistently.
        for hit in StudyRecord.by_upload_code.query(upload_code, limit=1):
            try:
                return to_study(StudyRecord.get(hit.id, consistent_read=True))
            except StudyRecord.DoesNotExist:
                return None
        return None

    def membership(self, study_id: str, researcher_id: str) -> Membership | None:
        try:
            return to_membership(MembershipRecord.get(study_id, researcher_id))
        except MembershipRecord.DoesNotExist:
            return None

    def member(self, study_id: str, researcher_id: str) -> Member | None:
        with TransactGet(connection=self._connection) as reads:
            membership = reads.get(MembershipRecord, study_id, researcher_id)
            researcher = reads.get(ResearcherRecord, researcher_id)
        found = resolved(membership, to_membership)
        return None if found is None else Member(found, resolved(researcher, to_researcher))

    def member_count(self, study_id: str) -> int:
        return MembershipRecord.count(study_id)

    def memberships_of(self, researcher_id: str, page: PageRequest) -> Page[Membership]:
        results = MembershipRecord.by_researcher.query(researcher_id, limit=page.limit, last_evaluated_key=page.start)
        return page_of(results, to_membership)

    def members(self, study_id: str, page: PageRequest) -> Page[Membership]:
        results = MembershipRecord.query(study_id, limit=page.limit, last_evaluated_key=page.start)
        return page_of(results, to_membership)

    def create(self, study: Study, owner: Membership, audit: AuditEntry) -> None:
        with transaction(self._connection, "A study with this id already exists.") as writes:
            writes.save("study", study_record(study))
            writes.save("owner", membership_record(owner))
            writes.save("audit", audit_record(audit))

    def add_member(self, membership: Membership, audit: AuditEntry) -> Membership:
        record = membership_record(replace(membership, version=None))
        with transaction(self._connection, "This researcher is already a member of the study.") as writes:
            writes.save("membership", record)
            writes.save("audit", audit_record(audit))
        return to_membership(record)

    def update(self, study: Study, audit: AuditEntry) -> Study:
        record = study_record(study)
        with transaction(self._connection, _STALE) as writes:
            writes.save("study", record)
            writes.save("audit", audit_record(audit))
        return to_study(record)

    def delete(self, study: Study, audit: AuditEntry) -> None:
        try:
            with transaction(self._connection, _STALE) as writes:
                # No live workspace may be left behind (their usage counter is kept with the ledger).
                writes.check(
                    "usage",
                    LedgerRecord,
                    keys.usage(study.id),
                    condition=LedgerRecord.hits.does_not_exist() | (LedgerRecord.hits <= 0),
                )
                writes.delete("study", study_record(study))
                writes.save("audit", audit_record(audit))
        except ConflictError as exc:
            if failed(exc, "usage"):
                raise ConflictError(detail=WORKSPACES_LEFT) from exc
            raise
        # The study is gone, so its memberships no longer grant anything; clear them out.
        with MembershipRecord.batch_write() as batch:
            for record in MembershipRecord.query(study.id):
                batch.delete(record)

    def set_role(self, membership: Membership, audit: AuditEntry) -> Membership:
        record = membership_record(membership)
        with transaction(self._connection, "The membership changed in the meantime; reload and try again.") as writes:
            writes.save("membership", record)
            writes.save("audit", audit_record(audit))
        return to_membership(record)

    def remove_member(self, membership: Membership, audit: AuditEntry) -> None:
        with transaction(self._connection, "The membership changed in the meantime; reload and try again.") as writes:
            writes.delete("membership", membership_record(membership))
            writes.save("audit", audit_record(audit))

    def transfer(self, study: Study, old_owner: Membership, new_owner: Membership, audit: AuditEntry) -> Study:
        record = study_record(study)
        with transaction(self._connection, _STALE) as writes:
            writes.save("study", record)
            writes.save("old owner", membership_record(old_owner))
            writes.save("new owner", membership_record(new_owner))
            writes.save("audit", audit_record(audit))
        return to_study(record)

    def record(self, audit: AuditEntry) -> None:
        audit_record(audit).save()

    def record_counted(self, audit: AuditEntry, counter: str, *, limit: int, until: datetime) -> bool:
        try:
            with named_writes(self._connection) as writes:
                writes.update(
                    "counter",
                    LedgerRecord(key=counter),
                    actions=[LedgerRecord.hits.add(1), LedgerRecord.ttl.set(until)],
                    condition=LedgerRecord.hits.does_not_exist() | (LedgerRecord.hits < limit),
                )
                writes.save("audit", audit_record(audit))
        except TransactWriteError as exc:
            if failed(exc, "counter"):
                return False
            raise
        return True

    def audit_log(self, study_id: str, page: PageRequest) -> Page[AuditEntry]:
        results = AuditRecord.query(
            keys.audit_scope(study_id), scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_audit)
