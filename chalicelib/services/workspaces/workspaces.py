"""Workspaces as researchers ask for them: request, list, read, act on, rename, extend, and usage.

The API side only writes the new state (with its event and audit entry) and queues a message;
the provisioning family (`services.provisioning`) does the cloud work. Contributors operate
their own workspaces, admins and owners every workspace of the study.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from chalicelib.errors import ConflictError, FieldError, ValidationError
from chalicelib.services.common.model import AuditEntry, AuditOutcome, Page, PageRequest, new_id, utcnow
from chalicelib.services.messages import ConvergeMessage
from chalicelib.services.studies.access import Granted, Permission, require
from chalicelib.services.studies.model import Study, StudyAccess
from chalicelib.services.studies.ports import StudyRepository
from chalicelib.services.workspaces.catalog import CostEstimate, estimate, read, resolve
from chalicelib.services.workspaces.lifecycle import (
    Action,
    CloudStep,
    IdempotencyReplay,
    Quota,
    Workspace,
    WorkspaceEvent,
    WorkspaceSettings,
    WorkspaceStatus,
    action_target,
)
from chalicelib.services.workspaces.ports import (
    CatalogRepository,
    IdempotencyClaim,
    ProvisioningQueue,
    WorkspaceRepository,
)
from chalicelib.services.workspaces.transitions import event_of, transition

Clock = Callable[[], datetime]
USAGE_PAGE = 1000
_SSH_KEY = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( [^\n\r]*)?$"
)


@dataclass(frozen=True, slots=True)
class WorkspaceRequest:
    name: str
    profile: str
    operating_system: str
    storage_gb: int | None = None
    network: str | None = None
    expires_at: datetime | None = None
    ssh_public_key: str | None = None

    def fingerprint(self) -> str:
        """Tells a retried request from a different one under the same `Idempotency-Key`."""
        fields = {name: _plain(value) for name, value in asdict(self).items()}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True, slots=True)
class Usage:
    """What `/studies/{id}/usage` shows."""

    study_id: str
    workspaces: int
    vcpus: int
    quota: Quota
    cost_this_month: Decimal
    currency: str
    month_start: datetime


def quota_of(study: Study, settings: WorkspaceSettings) -> Quota:
    """The study's quota: a platform admin's override, else the stage's default."""
    return Quota(
        study.max_workspaces if study.max_workspaces is not None else settings.quota.max_workspaces,
        study.max_vcpus if study.max_vcpus is not None else settings.quota.max_vcpus,
    )


def converge_message(workspace: Workspace) -> ConvergeMessage:
    """The message that asks the provisioning family to bring a workspace where its state says."""
    return ConvergeMessage(workspace_id=workspace.id)


def _audit(granted: Granted, action: str, workspace: Workspace, moment: datetime, detail: str = "") -> AuditEntry:
    return AuditEntry(
        granted.study.id, granted.caller.id, action, f"workspace:{workspace.id}", AuditOutcome.SUCCESS, moment, detail
    )


def _expiry(requested: datetime | None, settings: WorkspaceSettings, moment: datetime) -> datetime:
    if requested is None:
        return moment + settings.lifetime
    if requested.tzinfo is None:
        raise ValidationError(
            detail="Give expires_at with a time zone.", errors=[FieldError("expires_at", "needs a UTC offset")]
        )
    if requested <= moment + timedelta(hours=1):
        raise ValidationError(
            detail="A workspace must live at least an hour.",
            errors=[FieldError("expires_at", "at least an hour from now")],
        )
    if requested > moment + settings.max_lifetime:
        raise ValidationError(
            detail=f"A workspace may live at most {settings.max_lifetime.days} days.",
            errors=[FieldError("expires_at", f"at most {settings.max_lifetime.days} days from now")],
        )
    return requested


def _check_request(request: WorkspaceRequest) -> None:
    errors = []
    if not request.name.strip():
        errors.append(FieldError("name", "must not be blank"))
    if request.ssh_public_key is not None and not _SSH_KEY.match(request.ssh_public_key.strip()):
        errors.append(FieldError("ssh_public_key", "one OpenSSH public key line (ssh-ed25519 AAAA... comment)"))
    if errors:
        raise ValidationError(detail="The workspace request is not valid.", errors=errors)


def request_workspace(
    access: StudyAccess,
    studies: StudyRepository,
    catalog: CatalogRepository,
    workspaces: WorkspaceRepository,
    queue: ProvisioningQueue,
    settings: WorkspaceSettings,
    request: WorkspaceRequest,
    *,
    idempotency_key: str | None = None,
    now: Clock = utcnow,
) -> Workspace:
    """Ask for a workspace (contributor+): checked against the catalog and the study's quota, then queued."""
    granted = require(access, Permission.OPERATE, studies=studies, action="workspace.requested", now=now)
    _check_request(request)
    claim = IdempotencyClaim(idempotency_key, request.fingerprint()) if idempotency_key else None
    if claim is not None:
        earlier = workspaces.replay(granted.caller.id, claim.key)
        if earlier is not None:
            return _replayed(workspaces, granted, claim, *earlier)
    machine = resolve(
        read(catalog),
        profile=request.profile,
        operating_system=request.operating_system,
        storage_gb=request.storage_gb,
        network=request.network,
    )
    moment = now()
    study = granted.study
    quota = quota_of(study, settings)
    workspace = Workspace(
        id=new_id(),
        study_id=study.id,
        owner_id=granted.caller.id,
        name=request.name.strip(),
        machine=machine,
        status=WorkspaceStatus.REQUESTED,
        created_at=moment,
        updated_at=moment,
        expires_at=_expiry(request.expires_at, settings, moment),
        deadline_at=settings.deadline(WorkspaceStatus.REQUESTED, moment),
        ssh_public_key=request.ssh_public_key.strip() if request.ssh_public_key else None,
    )
    try:
        workspace = workspaces.create(
            workspace,
            event_of(workspace, None, granted.caller.id, moment),
            _audit(granted, "workspace.requested", workspace, moment, f"{machine.profile_id}, {machine.vcpus} vCPUs"),
            quota,
            claim,
        )
    except IdempotencyReplay as replay:
        assert claim is not None
        return _replayed(workspaces, granted, claim, replay.workspace_id, replay.fingerprint)
    queue.send(converge_message(workspace))
    return workspace


def _replayed(
    workspaces: WorkspaceRepository, granted: Granted, claim: IdempotencyClaim, workspace_id: str, fingerprint: str
) -> Workspace:
    if fingerprint != claim.fingerprint:
        raise ConflictError(detail="This Idempotency-Key was used for a different request; use a new key.")
    workspace = workspaces.get(workspace_id)
    if workspace is None or workspace.study_id != granted.study.id:
        raise ConflictError(detail="This Idempotency-Key was used for a different request; use a new key.")
    return workspace


def list_for_study(access: StudyAccess, workspaces: WorkspaceRepository, page: PageRequest) -> Page[Workspace]:
    """The study's workspaces (viewer+), newest first."""
    granted = require(access, Permission.READ)
    return workspaces.for_study(granted.study.id, page)


def read_workspace(access: StudyAccess, workspace: Workspace) -> Workspace:
    """One workspace (viewer+ of its study)."""
    require(access, Permission.READ)
    return workspace


def _operate(access: StudyAccess, studies: StudyRepository, workspace: Workspace, action: str, now: Clock) -> Granted:
    """Contributors operate their own workspaces; admins and owners every workspace of the study."""
    caller = access.researcher
    own = caller is not None and caller.id == workspace.owner_id
    permission = Permission.OPERATE if own else Permission.MANAGE
    return require(
        access, permission, studies=studies, action=f"workspace.{action}", target=f"workspace:{workspace.id}", now=now
    )


def act(
    access: StudyAccess,
    studies: StudyRepository,
    workspaces: WorkspaceRepository,
    queue: ProvisioningQueue,
    settings: WorkspaceSettings,
    workspace: Workspace,
    action: Action,
    *,
    now: Clock = utcnow,
) -> Workspace:
    """Start, stop, reboot, retry or delete: the new state is stored and the work queued (409 if not allowed now)."""
    granted = _operate(access, studies, workspace, action.value, now)
    target = action_target(action, workspace.status)
    moment = now()
    # A retry looks for the server a failed try may have left before making a new one.
    step = CloudStep.ADOPT if action is Action.RETRY else CloudStep.NONE
    change = transition(
        workspace, target, actor=granted.caller.id, moment=moment, settings=settings, reason="", step=step
    )
    stored = workspaces.move(
        change.workspace, change.event, _audit(granted, f"workspace.{action.value}", change.workspace, moment)
    )
    queue.send(converge_message(stored))
    return stored


def update(
    access: StudyAccess,
    studies: StudyRepository,
    workspaces: WorkspaceRepository,
    settings: WorkspaceSettings,
    workspace: Workspace,
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
    now: Clock = utcnow,
) -> Workspace:
    """Rename or extend a workspace; a new expiry resets the reminders that no longer apply."""
    _operate(access, studies, workspace, "updated", now)
    if workspace.status in (WorkspaceStatus.DELETING, WorkspaceStatus.DELETED):
        raise ConflictError(detail=f"A workspace that is {workspace.status.value} cannot be changed.")
    moment = now()
    changed = replace(workspace, updated_at=moment)
    if name is not None:
        if not name.strip():
            raise ValidationError(
                detail="The name must not be blank.", errors=[FieldError("name", "must not be blank")]
            )
        changed.name = name.strip()
    if expires_at is not None:
        changed.expires_at = _expiry(expires_at, settings, moment)
        left = changed.expires_at - moment
        changed.reminders = frozenset(r for r in workspace.reminders if int(r) * 86400 >= left.total_seconds())
    return workspaces.save(changed)


def history(
    access: StudyAccess, workspaces: WorkspaceRepository, workspace: Workspace, page: PageRequest
) -> Page[WorkspaceEvent]:
    """A workspace's status history (viewer+)."""
    require(access, Permission.READ)
    return workspaces.events(workspace.id, page)


def cost_estimate(workspace: Workspace, settings: WorkspaceSettings) -> CostEstimate:
    return estimate(workspace.machine.price_per_day, settings.currency)


def cost_between(workspace: Workspace, start: datetime, end: datetime) -> Decimal:
    """What the workspace cost between `start` and `end`: its daily price for the time its server existed."""
    if workspace.billing_started_at is None:
        return Decimal(0)
    begin = max(start, workspace.billing_started_at)
    finish = min(end, workspace.billing_ended_at or end)
    if finish <= begin:
        return Decimal(0)
    days = Decimal((finish - begin).total_seconds()) / Decimal(86400)
    return workspace.machine.price_per_day * days


def usage(
    access: StudyAccess, workspaces: WorkspaceRepository, settings: WorkspaceSettings, *, now: Clock = utcnow
) -> Usage:
    """Live workspaces and vCPUs against the quota, and the cost so far this month (viewer+)."""
    granted = require(access, Permission.READ)
    study = granted.study
    moment = now()
    month_start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    counted = workspaces.usage(study.id)
    total = Decimal(0)
    # One Query covers a study of up to USAGE_PAGE workspaces (deleted ones included); more take more.
    page = PageRequest(limit=USAGE_PAGE)
    while True:
        batch = workspaces.for_study(study.id, page)
        total += sum((cost_between(w, month_start, moment) for w in batch.items), start=Decimal(0))
        if batch.next_start is None:
            break
        page = PageRequest(limit=USAGE_PAGE, start=batch.next_start)
    quota = quota_of(study, settings)
    return Usage(
        study.id,
        counted.workspaces,
        counted.vcpus,
        quota,
        total.quantize(Decimal("0.01")),
        settings.currency,
        month_start,
    )
