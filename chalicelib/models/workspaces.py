"""Workspaces, their history and their study's usage counter in DynamoDB (records in `workspace_records`).

A new workspace, its first event, its audit entry, the study's usage counter (conditional on
the quota) and the caller's idempotency key are one transaction; so is every state change
with its event. DynamoDB conditions cannot add, so the quota condition compares the stored
count with the limit minus what the new workspace takes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from pynamodb.connection import Connection

from chalicelib.errors import ConflictError, QuotaExceededError
from chalicelib.models import keys
from chalicelib.models.audit import audit_record
from chalicelib.models.ledger import LedgerRecord
from chalicelib.models.paging import page_of
from chalicelib.models.transactions import conflicts_as, failed, transaction
from chalicelib.models.workspace_records import (
    WorkspaceEventRecord,
    WorkspaceRecord,
    event_record,
    to_event,
    to_workspace,
    workspace_record,
)
from chalicelib.services.common.model import AuditEntry, Page, PageRequest, utcnow
from chalicelib.services.workspaces.lifecycle import (
    IdempotencyReplay,
    Quota,
    StudyUsage,
    Workspace,
    WorkspaceEvent,
    WorkspaceStatus,
)
from chalicelib.services.workspaces.ports import DeliveryClaim, IdempotencyClaim

IDEMPOTENCY_WINDOW = timedelta(hours=24)
_STALE = "The workspace changed in the meantime; reload and try again."


class DynamoWorkspaces:
    """`WorkspaceRepository` on the workspaces, workspace_events and ledger tables."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, workspace_id: str) -> Workspace | None:
        try:
            return to_workspace(WorkspaceRecord.get(workspace_id, consistent_read=True))
        except WorkspaceRecord.DoesNotExist:
            return None

    def for_study(self, study_id: str, page: PageRequest) -> Page[Workspace]:
        results = WorkspaceRecord.by_study.query(
            study_id, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_workspace)

    def every(self, page: PageRequest) -> Page[Workspace]:
        return page_of(WorkspaceRecord.scan(limit=page.limit, last_evaluated_key=page.start), to_workspace)

    def listed(self, page: PageRequest, status: WorkspaceStatus | None = None) -> Page[Workspace]:
        if status is None:
            results = WorkspaceRecord.in_fleet.query(
                keys.EVERYONE, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
            )
        else:
            results = WorkspaceRecord.by_status.query(
                status.value, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
            )
        return page_of(results, to_workspace)

    def create(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry,
        quota: Quota,
        idempotency: IdempotencyClaim | None = None,
    ) -> Workspace:
        vcpus = workspace.machine.vcpus
        counter = LedgerRecord(key=keys.usage(workspace.study_id))
        within = (LedgerRecord.hits.does_not_exist() | (LedgerRecord.hits <= quota.max_workspaces - 1)) & (
            LedgerRecord.amount.does_not_exist() | (LedgerRecord.amount <= quota.max_vcpus - vcpus)
        )
        if quota.max_workspaces < 1 or vcpus > quota.max_vcpus:
            raise QuotaExceededError(detail=_quota_detail(quota))
        try:
            with transaction(self._connection, _STALE) as writes:
                writes.update(
                    "usage",
                    counter,
                    actions=[LedgerRecord.hits.add(1), LedgerRecord.amount.add(vcpus)],
                    condition=within,
                )
                record = workspace_record(workspace)
                writes.save("workspace", record, condition=WorkspaceRecord.id.does_not_exist())
                writes.save("event", event_record(event))
                writes.save("audit", audit_record(audit))
                if idempotency is not None:
                    writes.save(
                        "idempotency",
                        LedgerRecord(
                            key=keys.idempotency(workspace.owner_id, idempotency.key),
                            ref=workspace.id,
                            fingerprint=idempotency.fingerprint,
                            ttl=workspace.created_at + IDEMPOTENCY_WINDOW,
                        ),
                        condition=LedgerRecord.key.does_not_exist(),
                    )
        except ConflictError as exc:
            if idempotency is not None and failed(exc, "idempotency"):
                earlier = self.replay(workspace.owner_id, idempotency.key)
                if earlier is not None:
                    raise IdempotencyReplay(*earlier) from exc
            if failed(exc, "usage"):
                raise QuotaExceededError(detail=_quota_detail(quota)) from exc
            raise
        return replace(workspace, version=record.version)

    def replay(self, caller_id: str, key: str) -> tuple[str, str] | None:
        try:
            record = LedgerRecord.get(keys.idempotency(caller_id, key), consistent_read=True)
        except LedgerRecord.DoesNotExist:
            return None
        if record.ref is None or (record.ttl is not None and record.ttl <= utcnow()):
            return None
        return record.ref, record.fingerprint or ""

    def move(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry | None = None,
        claim: DeliveryClaim | None = None,
    ) -> Workspace:
        record = workspace_record(workspace)
        with transaction(self._connection, _STALE) as writes:
            writes.save("workspace", record)
            writes.save("event", event_record(event))
            if audit is not None:
                writes.save("audit", audit_record(audit))
            if claim is not None:
                writes.save(
                    "claim",
                    LedgerRecord(key=claim.key, hits=1, ttl=claim.until, fingerprint=claim.fingerprint or None),
                    condition=LedgerRecord.key.does_not_exist(),
                )
            if workspace.status is WorkspaceStatus.DELETED:
                writes.update(
                    "usage",
                    LedgerRecord(key=keys.usage(workspace.study_id)),
                    actions=[LedgerRecord.hits.add(-1), LedgerRecord.amount.add(-workspace.machine.vcpus)],
                )
        return replace(workspace, version=record.version)

    def save(self, workspace: Workspace) -> Workspace:
        record = workspace_record(workspace)
        with conflicts_as(_STALE):
            record.save()
        return replace(workspace, version=record.version)

    def events(self, workspace_id: str, page: PageRequest) -> Page[WorkspaceEvent]:
        results = WorkspaceEventRecord.query(workspace_id, limit=page.limit, last_evaluated_key=page.start)
        return page_of(results, to_event)

    def usage(self, study_id: str) -> StudyUsage:
        try:
            record = LedgerRecord.get(keys.usage(study_id), consistent_read=True)
        except LedgerRecord.DoesNotExist:
            return StudyUsage(study_id)
        return StudyUsage(study_id, int(record.hits or 0), int(record.amount or 0))


def _quota_detail(quota: Quota) -> str:
    return (
        f"The study's quota allows {quota.max_workspaces} workspaces and {quota.max_vcpus} vCPUs at once; "
        "delete a workspace or ask a platform admin for more."
    )
