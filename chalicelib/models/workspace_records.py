"""The workspaces and workspace_events tables as pynamodb records, and their mapping to the domain's values.

`chalicelib.models.workspaces` is the repository over them.
"""

from __future__ import annotations

from decimal import Decimal

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.models import keys
from chalicelib.models.paging import versioned
from chalicelib.services.workspaces.lifecycle import (
    CloudStep,
    Machine,
    Notice,
    Workspace,
    WorkspaceEvent,
    WorkspaceStatus,
)


class WorkspaceByStudy(GlobalSecondaryIndex["WorkspaceRecord"]):
    class Meta:
        index_name = "by_study"
        projection = AllProjection()

    study_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class WorkspaceByStatus(GlobalSecondaryIndex["WorkspaceRecord"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class WorkspaceInFleet(GlobalSecondaryIndex["WorkspaceRecord"]):
    """Every workspace, newest first, in one partition: the platform admins' list is a Query, not a Scan."""

    class Meta:
        index_name = "in_fleet"
        projection = AllProjection()

    fleet = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class WorkspaceRecord(Model):
    """A workspace: what was asked for (`machine`, resolved from the catalog), its state and its server."""

    class Meta:
        table_name = "workspaces"

    id = UnicodeAttribute(hash_key=True)
    study_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    name = UnicodeAttribute()
    machine = MapAttribute[str, str](default=dict)
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    deadline_at = UTCDateTimeAttribute(null=True)
    server_id = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    access_url = UnicodeAttribute(null=True)
    access_username = UnicodeAttribute(null=True)
    ssh_public_key = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    check_token = UnicodeAttribute(default="")
    attempts = NumberAttribute(default=0)
    cloud_step = UnicodeAttribute(default="")
    reminders = UnicodeAttribute(default="")
    notice = UnicodeAttribute(default="")
    vrw_updated_at = UTCDateTimeAttribute(null=True)
    billing_started_at = UTCDateTimeAttribute(null=True)
    billing_ended_at = UTCDateTimeAttribute(null=True)
    created_key = UnicodeAttribute()
    version = VersionAttribute()
    fleet = UnicodeAttribute(default=keys.EVERYONE)

    by_study = WorkspaceByStudy()
    by_status = WorkspaceByStatus()
    in_fleet = WorkspaceInFleet()


class WorkspaceEventRecord(Model):
    """One step of a workspace's history; `event_key` sorts by time."""

    class Meta:
        table_name = "workspace_events"

    workspace_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    study_id = UnicodeAttribute()
    status = UnicodeAttribute()
    previous = UnicodeAttribute(null=True)
    actor_id = UnicodeAttribute()
    reason = UnicodeAttribute(default="")
    at = UTCDateTimeAttribute()


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
        created_key=keys.newest_first(workspace.created_at, workspace.id),
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
        event_key=keys.newest_first(event.at, event.event_id),
        study_id=event.study_id,
        status=event.status.value,
        previous=event.previous.value if event.previous else None,
        actor_id=event.actor_id,
        reason=event.reason,
        at=event.at,
    )
