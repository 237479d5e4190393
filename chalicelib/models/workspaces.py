"""Workspaces, their history and their study's usage counter in DynamoDB.

A new workspace, its first event, its audit entry, the study's usage counter (conditional on
the quota) and the caller's idempotency key are one transaction; so is every state change
with its event. DynamoDB conditions cannot add, so the quota condition compares the stored
count with the limit minus what the new workspace takes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.errors import ConflictError, QuotaExceededError
from chalicelib.models.audit import audit_record
from chalicelib.models.paging import conflicts_as, page_of, transaction, versioned
from chalicelib.models.records import EVERYONE, LedgerRecord, WorkspaceEventRecord, WorkspaceRecord
from chalicelib.services.common.model import AuditEntry, Page, PageRequest, utcnow
from chalicelib.services.workspaces.lifecycle import (
    CloudStep,
    IdempotencyReplay,
    Machine,
    Notice,
    Quota,
    StudyUsage,
    Workspace,
    WorkspaceEvent,
    WorkspaceStatus,
)
from chalicelib.services.workspaces.ports import DeliveryClaim, IdempotencyClaim

IDEMPOTENCY_WINDOW = timedelta(hours=24)
_STALE = "The workspace changed in the meantime; reload and try again."


def usage_key(study_id: str) -> str:
    return f"usage#{study_id}"


def idempotency_key(caller_id: str, key: str) -> str:
    return f"idempotency#{caller_id}#{key}"


def machine_map(machine: Machine) -> dict[str, str]:
    return {
        "profile_id": machine.profile_id,
        "operating_system_id": machine.operating_system_id,
        "network_id": machine.network_id,
        "storage_gb": str(machine.storage_gb),
        "image": machine.image,
        "flavor": machine.flavor,
        "network": machine.network,
        "vcpus": str(machine.vcpus),
        "ram_gb": str(machine.ram_gb),
        "gpu": "true" if machine.gpu else "false",
        "price_per_day": str(machine.price_per_day),
        "username": machine.username,
    }


def to_machine(values: dict[str, str]) -> Machine:
    return Machine(
        profile_id=values["profile_id"],
        operating_system_id=values["operating_system_id"],
        network_id=values["network_id"],
        storage_gb=int(values["storage_gb"]),
        image=values["image"],
        flavor=values["flavor"],
        network=values["network"],
        vcpus=int(values["vcpus"]),
        ram_gb=int(values["ram_gb"]),
        gpu=values.get("gpu") == "true",
        price_per_day=Decimal(values["price_per_day"]),
        username=values.get("username", ""),
    )


def to_workspace(record: WorkspaceRecord) -> Workspace:
    machine = record.machine.attribute_values if record.machine else {}
    return Workspace(
        id=record.id,
        study_id=record.study_id,
        owner_id=record.owner_id,
        name=record.name,
        machine=to_machine({str(k): str(v) for k, v in machine.items()}),
        status=WorkspaceStatus(record.status),
        created_at=record.created_at,
        updated_at=record.updated_at,
        expires_at=record.expires_at,
        status_reason=record.status_reason,
        deadline_at=record.deadline_at,
        server_id=record.server_id,
        ip=record.ip,
        access_url=record.access_url,
        access_username=record.access_username,
        ssh_public_key=record.ssh_public_key,
        lease_until=record.lease_until,
        check_token=record.check_token,
        attempts=int(record.attempts),
        cloud_step=CloudStep(record.cloud_step),
        reminders=frozenset(r for r in record.reminders.split(",") if r),
        notice=Notice.parse(record.notice),
        vrw_updated_at=record.vrw_updated_at,
        billing_started_at=record.billing_started_at,
        billing_ended_at=record.billing_ended_at,
        version=record.version,
    )


def workspace_record(workspace: Workspace) -> WorkspaceRecord:
    return WorkspaceRecord(
        id=workspace.id,
        study_id=workspace.study_id,
        owner_id=workspace.owner_id,
        name=workspace.name,
        machine=machine_map(workspace.machine),
        status=workspace.status.value,
        status_reason=workspace.status_reason,
        created_at=workspace.created_at,
        updated_at=workspace.updated_at,
        expires_at=workspace.expires_at,
        deadline_at=workspace.deadline_at,
        server_id=workspace.server_id,
        ip=workspace.ip,
        access_url=workspace.access_url,
        access_username=workspace.access_username,
        ssh_public_key=workspace.ssh_public_key,
        lease_until=workspace.lease_until,
        check_token=workspace.check_token,
        attempts=workspace.attempts,
        cloud_step=workspace.cloud_step.value,
        reminders=",".join(sorted(workspace.reminders)),
        notice=str(workspace.notice) if workspace.notice is not None else "",
        vrw_updated_at=workspace.vrw_updated_at,
        billing_started_at=workspace.billing_started_at,
        billing_ended_at=workspace.billing_ended_at,
        created_key=f"{workspace.created_at.isoformat()}#{workspace.id}",
        **versioned(workspace.version),
    )


def to_event(record: WorkspaceEventRecord) -> WorkspaceEvent:
    return WorkspaceEvent(
        workspace_id=record.workspace_id,
        study_id=record.study_id,
        status=WorkspaceStatus(record.status),
        at=record.at,
        actor_id=record.actor_id,
        reason=record.reason,
        previous=WorkspaceStatus(record.previous) if record.previous else None,
        event_id=record.event_key.rsplit("#", 1)[-1],
    )


def event_record(event: WorkspaceEvent) -> WorkspaceEventRecord:
    return WorkspaceEventRecord(
        workspace_id=event.workspace_id,
        event_key=f"{event.at.isoformat()}#{event.event_id}",
        study_id=event.study_id,
        status=event.status.value,
        previous=event.previous.value if event.previous else None,
        actor_id=event.actor_id,
        reason=event.reason,
        at=event.at,
    )


def _reasons(exc: PynamoDBException) -> list[str]:
    """The per-item cancellation codes of a failed transaction ('None' where an item was fine)."""
    if isinstance(exc, TransactWriteError) and exc.cancellation_reasons:
        return [reason.code if reason else "None" for reason in exc.cancellation_reasons]
    return []


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
                EVERYONE, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
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
        counter = LedgerRecord(key=usage_key(workspace.study_id))
        within = (LedgerRecord.hits.does_not_exist() | (LedgerRecord.hits <= quota.max_workspaces - 1)) & (
            LedgerRecord.amount.does_not_exist() | (LedgerRecord.amount <= quota.max_vcpus - vcpus)
        )
        if quota.max_workspaces < 1 or vcpus > quota.max_vcpus:
            raise QuotaExceededError(detail=_quota_detail(quota))
        try:
            with transaction(self._connection, _STALE) as writes:
                writes.update(
                    counter,
                    actions=[LedgerRecord.hits.add(1), LedgerRecord.amount.add(vcpus)],
                    condition=within,
                )
                record = workspace_record(workspace)
                writes.save(record, condition=WorkspaceRecord.id.does_not_exist())
                writes.save(event_record(event))
                writes.save(audit_record(audit))
                if idempotency is not None:
                    writes.save(
                        LedgerRecord(
                            key=idempotency_key(workspace.owner_id, idempotency.key),
                            ref=workspace.id,
                            fingerprint=idempotency.fingerprint,
                            ttl=workspace.created_at + IDEMPOTENCY_WINDOW,
                        ),
                        condition=LedgerRecord.key.does_not_exist(),
                    )
        except ConflictError as exc:
            # pynamodb sends puts before updates: workspace, event, audit, [idempotency key], counter.
            reasons = _reasons(exc.__cause__) if isinstance(exc.__cause__, PynamoDBException) else []
            if idempotency is not None and len(reasons) == 5 and reasons[3] == "ConditionalCheckFailed":
                earlier = self.replay(workspace.owner_id, idempotency.key)
                if earlier is not None:
                    raise IdempotencyReplay(*earlier) from exc
            if reasons and reasons[-1] == "ConditionalCheckFailed":
                raise QuotaExceededError(detail=_quota_detail(quota)) from exc
            raise
        return replace(workspace, version=record.version)

    def replay(self, caller_id: str, key: str) -> tuple[str, str] | None:
        try:
            record = LedgerRecord.get(idempotency_key(caller_id, key), consistent_read=True)
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
            writes.save(record)
            writes.save(event_record(event))
            if audit is not None:
                writes.save(audit_record(audit))
            if claim is not None:
                writes.save(
                    LedgerRecord(key=claim.key, hits=1, ttl=claim.until, fingerprint=claim.fingerprint or None),
                    condition=LedgerRecord.key.does_not_exist(),
                )
            if workspace.status is WorkspaceStatus.DELETED:
                writes.update(
                    LedgerRecord(key=usage_key(workspace.study_id)),
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
            record = LedgerRecord.get(usage_key(study_id), consistent_read=True)
        except LedgerRecord.DoesNotExist:
            return StudyUsage(study_id)
        return StudyUsage(study_id, int(record.hits or 0), int(record.amount or 0))


def _quota_detail(quota: Quota) -> str:
    return (
        f"The study's quota allows {quota.max_workspaces} workspaces and {quota.max_vcpus} vCPUs at once; "
        "delete a workspace or ask a platform admin for more."
    )
