"""The provisioning family's rules: bring a workspace to where its state says, one step per message.

SQS delivers at least once, so every step is safe to repeat: state changes are conditional
on the version read (a stale writer stops, the winner carries on), only the holder of a
short lease creates a server, a retry looks for the server tagged with the workspace before
creating one, and status checks come from delayed messages carrying a token so a duplicated
check cannot start a second chain. Cloud failures are retried with backoff through the queue
and end in FAILED with a reason a researcher can read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib import metrics
from chalicelib.errors import ConflictError
from chalicelib.services.common.model import BROKER, new_id, utcnow
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.messages import CheckMessage, ConvergeMessage, ProvisioningMessage
from chalicelib.services.workspaces.cloud import Cloud, CloudError, CloudServer, ServerSpec, ServerStatus
from chalicelib.services.workspaces.lifecycle import (
    STEP_OF,
    CloudStep,
    OwedMail,
    Workspace,
    WorkspaceSettings,
    WorkspaceStatus,
)
from chalicelib.services.workspaces.notices import send_owed
from chalicelib.services.workspaces.ports import ProvisioningQueue, WorkspaceRepository
from chalicelib.services.workspaces.transitions import Transition, transition

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
S = WorkspaceStatus
CLEANUP = CloudStep.CLEANUP  # a FAILED workspace's server still to be deleted

# The cloud call each action state makes once (its `lifecycle.STEP_OF`), and the server status that ends it.
_ACTION_CALLS: dict[CloudStep, tuple[Callable[[Cloud, str], None], ServerStatus]] = {
    CloudStep.START: (lambda cloud, server_id: cloud.start_server(server_id), ServerStatus.ACTIVE),
    CloudStep.STOP: (lambda cloud, server_id: cloud.stop_server(server_id), ServerStatus.SHUTOFF),
    CloudStep.REBOOT: (lambda cloud, server_id: cloud.reboot_server(server_id), ServerStatus.ACTIVE),
}
_ACTION_STATES = frozenset(status for status, step in STEP_OF.items() if step in _ACTION_CALLS)


@dataclass(frozen=True, slots=True)
class Family:
    """What the provisioning family works with."""

    workspaces: WorkspaceRepository
    cloud: Cloud
    queue: ProvisioningQueue
    mail: MailQueue
    settings: WorkspaceSettings


def handle_message(family: Family, message: ProvisioningMessage, *, now: Clock = utcnow) -> None:
    """One provisioning message: `converge` (from the API or the reconciler) or a token-bound `check`."""
    workspace = family.workspaces.get(message.workspace_id)
    if workspace is None:
        log.info("no workspace for message %s; dropped", message)
        return
    match message:
        case CheckMessage(token=token) if token != workspace.check_token:
            return  # a duplicated or superseded check; the live chain carries on without it
        case ConvergeMessage() | CheckMessage():
            pass
    try:
        converge(family, workspace, now=now)
    except ConflictError:
        # Someone moved it meanwhile (another copy of this message, the API, VRW); they carry on.
        log.info("workspace %s changed under this step; leaving it to the newer writer", workspace.id)


def converge(family: Family, workspace: Workspace, *, now: Clock = utcnow) -> None:
    """Take the next step the workspace's state asks for."""
    status = workspace.status
    if status is S.REQUESTED or (status is S.PROVISIONING and workspace.server_id is None):
        _create(family, workspace, now)
    elif status is S.PROVISIONING:
        _poll_provisioning(family, workspace, now)
    elif status in _ACTION_STATES:
        _act(family, workspace, now)
    elif status is S.DELETING:
        _delete(family, workspace, now)
    # CONFIGURING waits for VRW; RUNNING, STOPPED, FAILED and DELETED are at rest.


def _schedule(family: Family, workspace: Workspace, delay_seconds: int) -> Workspace:
    """Store `workspace` (the caller's changes made) with a fresh check token and queue the check that carries it."""
    stored = family.workspaces.save(replace(workspace, check_token=new_id()))
    family.queue.send(CheckMessage(workspace_id=stored.id, token=stored.check_token), delay_seconds=delay_seconds)
    return stored


def _check_later(family: Family, workspace: Workspace, moment: datetime) -> None:
    if workspace.deadline_at is not None and moment >= workspace.deadline_at:
        minutes = int(family.settings.deadlines.get(workspace.status, moment - moment).total_seconds() // 60)
        fail(family, workspace, f"The workspace was still {workspace.status.value} after {minutes} minutes.", moment)
        return
    _schedule(family, workspace, int(family.settings.check_interval.total_seconds()))


def moved(
    family: Family,
    workspace: Workspace,
    status: WorkspaceStatus,
    moment: datetime,
    *,
    reason: str | None = None,
    step: CloudStep = CloudStep.NONE,
    owe: OwedMail | None = None,
) -> Transition:
    """A state change by the broker itself (see `transitions.transition`), not stored yet."""
    return transition(
        workspace, status, actor=BROKER, moment=moment, settings=family.settings, reason=reason, step=step, owe=owe
    )


def store(family: Family, change: Transition) -> Workspace:
    """Store a broker's move with its event (conditional on the version read), and count the step it ends."""
    stored = family.workspaces.move(change.workspace, change.event)
    previous, status = change.previous, change.workspace.status
    if previous in STEP_OF and status is not S.PROVISIONING:
        metrics.workspace_step(STEP_OF[previous].value, "failed" if status is S.FAILED else "succeeded")
    return stored


def move(
    family: Family,
    workspace: Workspace,
    status: WorkspaceStatus,
    moment: datetime,
    *,
    reason: str | None = None,
    owe: OwedMail | None = None,
) -> Workspace:
    """A state change by the broker itself, stored with its event."""
    return store(family, moved(family, workspace, status, moment, reason=reason, owe=owe))


def notify(family: Family, workspace: Workspace) -> Workspace:
    """Queue the mail the workspace owes its owner (`notice`, written with the change that owes it)."""
    return send_owed(family.mail, family.workspaces, workspace)


def fail(family: Family, workspace: Workspace, reason: str, moment: datetime) -> None:
    """FAILED with a reason the researcher can read, a half-made server cleaned up, and a mail."""
    server_id, step = workspace.server_id, CloudStep.NONE
    if server_id is not None and workspace.status is S.PROVISIONING:
        # A server that never became a workspace is cleaned up; one that ran keeps its disk for a retry.
        if clean_up(family, server_id, workspace.id):
            server_id = None
        else:
            step = CLEANUP  # the reconciler tries again
    change = moved(
        family, replace(workspace, server_id=server_id), S.FAILED, moment, reason=reason, step=step, owe=OwedMail.FAILED
    )
    notify(family, store(family, change))


def clean_up(family: Family, server_id: str, workspace_id: str) -> bool:
    """Delete a failed workspace's half-made server; False (logged) if OpenStack would not."""
    try:
        family.cloud.delete_server(server_id)
    except CloudError as error:
        log.warning("could not clean up server %s of failed workspace %s: %s", server_id, workspace_id, error.reason)
        return False
    return True


def _cloud_failed(family: Family, workspace: Workspace, error: CloudError, moment: datetime) -> None:
    """Retry with backoff while it may help; then FAILED with the cloud's reason."""
    attempts = workspace.attempts + 1
    if not error.retryable or attempts >= family.settings.max_attempts:
        fail(family, workspace, error.reason, moment)
        return
    log.info("workspace %s: cloud call failed (%s), try %d", workspace.id, error.reason, attempts)
    step = STEP_OF.get(workspace.status)
    metrics.workspace_step(step.value if step is not None else workspace.status.value, "retried")
    retry = replace(workspace, attempts=attempts, lease_until=None, status_reason="")
    _schedule(family, retry, family.settings.backoff(attempts))


def _spec(workspace: Workspace) -> ServerSpec:
    machine = workspace.machine
    return ServerSpec(
        workspace_id=workspace.id,
        study_id=workspace.study_id,
        name=f"vre-{workspace.id[:12]}",
        image=machine.image,
        flavor=machine.flavor,
        network=machine.network,
        volume_gb=machine.storage_gb,
        user_data=cloud_init(workspace),
        metadata={"workspace_id": workspace.id, "study_id": workspace.study_id, "owner_id": workspace.owner_id},
    )


def cloud_init(workspace: Workspace) -> str | None:
    """cloud-init user data that installs the researcher's SSH key, if they gave one."""
    if not workspace.ssh_public_key:
        return None
    return "#cloud-config\nssh_authorized_keys:\n  - " + workspace.ssh_public_key.replace("\n", "") + "\n"


def _create(family: Family, workspace: Workspace, now: Clock) -> None:
    moment = now()
    if workspace.lease_until is not None and workspace.lease_until > moment:
        return  # another worker holds the lease and is creating the server right now
    lease_until = moment + family.settings.lease
    # Look before creating unless this is the very first try: a create whose answer was lost
    # (a timeout, a killed worker) may have made the server already.
    look_first = (
        workspace.status is S.PROVISIONING or workspace.cloud_step is CloudStep.ADOPT or workspace.server_id is not None
    )
    if workspace.status is S.REQUESTED:
        change = moved(family, workspace, S.PROVISIONING, moment)
        leased = store(
            family, replace(change, workspace=replace(change.workspace, lease_until=lease_until, check_token=new_id()))
        )
        leased = replace(leased, cloud_step=workspace.cloud_step)
    else:
        leased = family.workspaces.save(replace(workspace, lease_until=lease_until))
    try:
        server: CloudServer | None = None
        if workspace.server_id is not None:
            server = family.cloud.get_server(workspace.server_id)
        if server is None and look_first:
            server = family.cloud.find_server(workspace.id)
        if server is None:
            server = family.cloud.create_server(_spec(workspace))
    except CloudError as error:
        _cloud_failed(family, leased, error, now())
        return
    try:
        made = replace(
            leased,
            server_id=server.id,
            cloud_step=CloudStep.CREATE,
            lease_until=None,
            billing_started_at=leased.billing_started_at or moment,
        )
        _schedule(family, made, int(family.settings.first_check.total_seconds()))
    except ConflictError:
        _orphaned_by_race(family, workspace.id, server.id)


def _orphaned_by_race(family: Family, workspace_id: str, server_id: str) -> None:
    """The workspace moved while its server was being made (deleted, say): do not leave the server behind."""
    current = family.workspaces.get(workspace_id)
    if current is not None and current.status in (S.DELETING, S.DELETED) and current.server_id is None:
        try:
            family.cloud.delete_server(server_id)
        except CloudError as error:
            log.warning("server %s of deleted workspace %s left for the reconciler: %s", server_id, workspace_id, error)


def _poll_provisioning(family: Family, workspace: Workspace, now: Clock) -> None:
    assert workspace.server_id is not None
    try:
        server = family.cloud.get_server(workspace.server_id)
    except CloudError as error:
        _cloud_failed(family, workspace, error, now())
        return
    moment = now()
    if server is None:
        # Gone before it was ever ready: make a new one (counts as a failed try).
        lost = CloudError("The virtual machine disappeared while it was being created.", retryable=True)
        _cloud_failed(family, replace(workspace, server_id=None, cloud_step=CloudStep.ADOPT), lost, moment)
    elif server.status is ServerStatus.ACTIVE:
        target = S.CONFIGURING if family.settings.vrw_enabled else S.RUNNING
        # With VRW, the ready mail waits for VRW to say so.
        owed = OwedMail.READY if target is S.RUNNING else None
        ready = moved(family, replace(workspace, ip=server.ip), target, moment, owe=owed)
        notify(family, store(family, ready))
    elif server.status is ServerStatus.ERROR:
        fail(family, workspace, _fault(server), moment)
    else:
        _check_later(family, workspace, moment)


def _fault(server: CloudServer) -> str:
    if server.fault:
        return f"OpenStack could not create the virtual machine: {server.fault}"
    return "OpenStack could not create the virtual machine."


def _act(family: Family, workspace: Workspace, now: Clock) -> None:
    step = STEP_OF[workspace.status]
    call, done = _ACTION_CALLS[step]
    moment = now()
    if workspace.server_id is None:
        fail(family, workspace, "The workspace has no virtual machine; retry to make a new one.", moment)
        return
    try:
        if workspace.cloud_step != step:
            try:
                call(family.cloud, workspace.server_id)
            except CloudError:
                # Nova refuses an action the server has already done (a repeated message): look first.
                server = family.cloud.get_server(workspace.server_id)
                if server is None or server.status is not done:
                    raise
            _schedule(family, replace(workspace, cloud_step=step), int(family.settings.check_interval.total_seconds()))
            return
        server = family.cloud.get_server(workspace.server_id)
    except CloudError as error:
        _cloud_failed(family, workspace, error, now())
        return
    if server is None:
        fail(family, workspace, "The virtual machine disappeared from OpenStack.", moment)
    elif server.status is done:
        target = S.STOPPED if done is ServerStatus.SHUTOFF else S.RUNNING
        store(family, moved(family, replace(workspace, ip=server.ip or workspace.ip), target, moment))
    elif server.status is ServerStatus.ERROR:
        fail(family, workspace, _fault(server).replace("create", "run"), moment)
    else:
        _check_later(family, workspace, moment)


def _delete(family: Family, workspace: Workspace, now: Clock) -> None:
    moment = now()
    try:
        if workspace.cloud_step is not CloudStep.DELETE:
            server_id = workspace.server_id
            if server_id is None:
                found = family.cloud.find_server(workspace.id)
                server_id = found.id if found is not None else None
            if server_id is None:
                _deleted(family, workspace, moment)
                return
            family.cloud.delete_server(server_id)
            deleting = replace(workspace, server_id=server_id, cloud_step=CloudStep.DELETE)
            _schedule(family, deleting, int(family.settings.check_interval.total_seconds()))
            return
        server = family.cloud.get_server(workspace.server_id) if workspace.server_id else None
    except CloudError as error:
        _cloud_failed(family, workspace, error, now())
        return
    if server is None or server.status is ServerStatus.DELETED:
        _deleted(family, workspace, moment)
    else:
        _check_later(family, workspace, moment)


def _deleted(family: Family, workspace: Workspace, moment: datetime) -> None:
    move(family, workspace, S.DELETED, moment)
