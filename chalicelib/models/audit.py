"""Audit entries in the audit table: a partition per study, one for the platform, all in the `in_platform` index."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.models import keys
from chalicelib.services.common.model import AuditEntry, AuditOutcome


class AuditInPlatform(GlobalSecondaryIndex["AuditRecord"]):
    """Every audit entry, of every study and of the platform, newest first: the platform admins' log."""

    class Meta:
        index_name = "in_platform"
        projection = AllProjection()

    platform = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)


class AuditRecord(Model):
    """One audit entry; `scope` is `study#<id>` (or `platform` for what platform admins do outside any study)
    and `entry_key` sorts by time."""

    class Meta:
        table_name = "audit"

    scope = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    study_id = UnicodeAttribute()
    entry_id = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    outcome = UnicodeAttribute()
    detail = UnicodeAttribute(default="")
    at = UTCDateTimeAttribute()
    platform = UnicodeAttribute(default=keys.EVERYONE)

    in_platform = AuditInPlatform()


def audit_record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        scope=keys.audit_scope(entry.study_id),
        entry_key=keys.newest_first(entry.at, entry.entry_id),
        study_id=entry.study_id,
        entry_id=entry.entry_id,
        actor_id=entry.actor_id,
        action=entry.action,
        target=entry.target,
        outcome=entry.outcome.value,
        detail=entry.detail,
        at=entry.at,
    )


def to_audit(record: AuditRecord) -> AuditEntry:
    return AuditEntry(
        study_id=record.study_id,
        actor_id=record.actor_id,
        action=record.action,
        target=record.target,
        outcome=AuditOutcome(record.outcome),
        at=record.at,
        detail=record.detail,
        entry_id=record.entry_id,
    )
