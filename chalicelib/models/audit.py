"""Audit entries in the audit table: a partition per study, one for the platform, all in the `in_platform` index."""

from __future__ import annotations

from chalicelib.models.records import AuditRecord
from chalicelib.services.domain import AuditEntry, AuditOutcome

PLATFORM_SCOPE = "platform"


def audit_scope(study_id: str) -> str:
    """A study's audit partition; what platform admins do outside any study (no study id) has its own."""
    return f"study#{study_id}" if study_id else PLATFORM_SCOPE


def audit_record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        scope=audit_scope(entry.study_id),
        entry_key=f"{entry.at.isoformat()}#{entry.entry_id}",
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
