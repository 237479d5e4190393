"""Workspaces: `/studies/{study_id}/workspaces`, `/studies/{study_id}/usage`, `/workspaces/{workspace_id}...`."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.workspace_schemas import (
    AccessView,
    CostEstimateView,
    MachineView,
    QuotaView,
    UsageView,
    WorkspaceCreate,
    WorkspaceEventView,
    WorkspaceUpdate,
    WorkspaceView,
)
from chalicelib.errors import FieldError, ValidationError
from chalicelib.services.common.model import Page
from chalicelib.services.workspaces import workspaces as service
from chalicelib.services.workspaces.lifecycle import Action, Workspace, WorkspaceSettings

resource = Resource(__name__, tag="workspaces")
_IDEMPOTENCY_KEY = "idempotency-key"


def render_workspace(workspace: Workspace, settings: WorkspaceSettings) -> WorkspaceView:
    machine = workspace.machine
    cost = service.cost_estimate(workspace, settings)
    return WorkspaceView(
        id=workspace.id,
        study_id=workspace.study_id,
        owner_id=workspace.owner_id,
        name=workspace.name,
        status=workspace.status.value,
        status_reason=workspace.status_reason,
        machine=MachineView(
            profile=machine.profile_id,
            operating_system=machine.operating_system_id,
            storage_gb=machine.storage_gb,
            network=machine.network_id,
            vcpus=machine.vcpus,
            ram_gb=machine.ram_gb,
            gpu=machine.gpu,
        ),
        access=AccessView(
            ip=workspace.ip,
            url=workspace.access_url,
            username=workspace.access_username or (machine.username or None if workspace.ip else None),
        ),
        cost_estimate=CostEstimateView(float(cost.per_day), float(cost.per_month), cost.currency),
        expires_at=workspace.expires_at,
        created_at=workspace.created_at,
        updated_at=workspace.updated_at,
    )


def _idempotency_key(call: Call[Any]) -> str | None:
    key: str | None = call.request.headers.get(_IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationError(
            detail="The Idempotency-Key header is not valid.",
            errors=[FieldError("Idempotency-Key", "1-255 printable characters")],
        )
    return key


@resource.route(
    "/studies/{study_id}/workspaces",
    "POST",
    loads=Loads.STUDY,
    summary="Ask for a workspace (provisioned in the background; Idempotency-Key honoured)",
    body=WorkspaceCreate,
    response=WorkspaceView,
    status=202,
)
def request_workspace(call: Call[WorkspaceCreate], study_id: str) -> Reply:
    body, workspaces = call.body, call.services.workspaces
    workspace = workspaces.request(
        call.study_access,
        service.WorkspaceRequest(
            name=body.name,
            profile=body.profile,
            operating_system=body.operating_system,
            storage_gb=body.storage_gb,
            network=body.network,
            expires_at=body.expires_at,
            ssh_public_key=body.ssh_public_key,
        ),
        idempotency_key=_idempotency_key(call),
    )
    view = render_workspace(workspace, workspaces.settings)
    return Reply(view, 202, {"Location": f"/workspaces/{workspace.id}"})


@resource.route(
    "/studies/{study_id}/workspaces",
    "GET",
    loads=Loads.STUDY,
    summary="The study's workspaces",
    response=WorkspaceView,
    paged=True,
)
def list_workspaces(call: Call[Any], study_id: str) -> Page[WorkspaceView]:
    workspaces = call.services.workspaces
    page = workspaces.list_for_study(call.study_access, call.page)
    return Page([render_workspace(w, workspaces.settings) for w in page.items], page.next_start)


@resource.route(
    "/studies/{study_id}/usage",
    "GET",
    loads=Loads.STUDY,
    summary="Live workspaces and vCPUs against the quota, and the cost so far this month",
    response=UsageView,
)
def usage(call: Call[Any], study_id: str) -> UsageView:
    found = call.services.workspaces.usage(call.study_access)
    return UsageView(
        study_id=found.study_id,
        workspaces=found.workspaces,
        vcpus=found.vcpus,
        quota=QuotaView(found.quota.max_workspaces, found.quota.max_vcpus),
        cost_this_month=float(found.cost_this_month),
        currency=found.currency,
        month_start=found.month_start,
    )


@resource.route(
    "/workspaces/{workspace_id}", "GET", loads=Loads.WORKSPACE, summary="One workspace", response=WorkspaceView
)
def get_workspace(call: Call[Any], workspace_id: str) -> WorkspaceView:
    workspaces = call.services.workspaces
    workspace = workspaces.read(call.study_access, call.target_workspace)
    return render_workspace(workspace, workspaces.settings)


@resource.route(
    "/workspaces/{workspace_id}",
    "PATCH",
    loads=Loads.WORKSPACE,
    summary="Rename or extend a workspace",
    body=WorkspaceUpdate,
    response=WorkspaceView,
)
def update_workspace(call: Call[WorkspaceUpdate], workspace_id: str) -> WorkspaceView:
    body, workspaces = call.body, call.services.workspaces
    workspace = workspaces.update(
        call.study_access,
        call.target_workspace,
        name=None if body.name is UNSET else body.name,
        expires_at=None if body.expires_at is UNSET else body.expires_at,
    )
    return render_workspace(workspace, workspaces.settings)


def _act(call: Call[Any], action: Action) -> Reply:
    workspaces = call.services.workspaces
    workspace = workspaces.act(call.study_access, call.target_workspace, action)
    return Reply(render_workspace(workspace, workspaces.settings), 202)


@resource.route(
    "/workspaces/{workspace_id}",
    "DELETE",
    loads=Loads.WORKSPACE,
    summary="Delete a workspace (then DELETED)",
    response=WorkspaceView,
    status=202,
)
def delete_workspace(call: Call[Any], workspace_id: str) -> Reply:
    return _act(call, Action.DELETE)


@resource.route(
    "/workspaces/{workspace_id}/start",
    "POST",
    loads=Loads.WORKSPACE,
    summary="Start a stopped workspace",
    response=WorkspaceView,
    status=202,
)
def start_workspace(call: Call[Any], workspace_id: str) -> Reply:
    return _act(call, Action.START)


@resource.route(
    "/workspaces/{workspace_id}/stop",
    "POST",
    loads=Loads.WORKSPACE,
    summary="Stop a running workspace",
    response=WorkspaceView,
    status=202,
)
def stop_workspace(call: Call[Any], workspace_id: str) -> Reply:
    return _act(call, Action.STOP)


@resource.route(
    "/workspaces/{workspace_id}/reboot",
    "POST",
    loads=Loads.WORKSPACE,
    summary="Reboot a running workspace",
    response=WorkspaceView,
    status=202,
)
def reboot_workspace(call: Call[Any], workspace_id: str) -> Reply:
    return _act(call, Action.REBOOT)


@resource.route(
    "/workspaces/{workspace_id}/retry",
    "POST",
    loads=Loads.WORKSPACE,
    summary="Try a failed workspace again",
    response=WorkspaceView,
    status=202,
)
def retry_workspace(call: Call[Any], workspace_id: str) -> Reply:
    return _act(call, Action.RETRY)


@resource.route(
    "/workspaces/{workspace_id}/events",
    "GET",
    loads=Loads.WORKSPACE,
    summary="A workspace's status history",
    response=WorkspaceEventView,
    paged=True,
)
def workspace_events(call: Call[Any], workspace_id: str) -> Page[WorkspaceEventView]:
    page = call.services.workspaces.history(call.study_access, call.target_workspace, call.page)
    items = [
        WorkspaceEventView(
            status=e.status.value,
            previous=e.previous.value if e.previous else None,
            reason=e.reason,
            actor_id=e.actor_id,
            at=e.at,
        )
        for e in page.items
    ]
    return Page(items, page.next_start)
