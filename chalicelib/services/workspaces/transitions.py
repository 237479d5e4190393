"""The one way a workspace changes state: checked against `lifecycle.TRANSITIONS`, bookkeeping reset, event built.

The API's actions, the provisioning family (and its reconciler) and VRW's reports all build their moves
here, so a state the table does not allow is refused the same way whoever asks, and a new state starts
with the same clean bookkeeping: its deadline, no lease, no attempts, no pending check, no cloud step.
Each caller stores the move with its own repository call (conditional on the version read).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.errors import ConflictError
from chalicelib.services.workspaces.lifecycle import (
    TRANSITIONS,
    CloudStep,
    Notice,
    OwedMail,
    Workspace,
    WorkspaceEvent,
    WorkspaceSettings,
    WorkspaceStatus,
)

S = WorkspaceStatus


class IllegalTransition(ConflictError):
    """A move the state machine has no edge for (409)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A workspace as it is after one move, and the event that records the move; stored together."""

    workspace: Workspace
    event: WorkspaceEvent

    @property
    def previous(self) -> WorkspaceStatus:
        assert self.event.previous is not None
        return self.event.previous


def allowed(source: WorkspaceStatus, target: WorkspaceStatus) -> bool:
    return target in TRANSITIONS[source]


def transition(
    workspace: Workspace,
    target: WorkspaceStatus,
    *,
    actor: str,
    moment: datetime,
    settings: WorkspaceSettings,
    reason: str | None = None,
    step: CloudStep = CloudStep.NONE,
    owe: OwedMail | None = None,
) -> Transition:
    """Move `workspace` to `target` (409 if the table has no such edge), with the event `actor` made.

    The reason is `reason`, or none: except that DELETED keeps the reason it was deleted for. `step` is what
    the broker has already asked the cloud in the new state (a retry's `adopt`, a failure's `cleanup`); `owe`
    writes the mail the move owes the owner, and a mail owed before stays owed until it is queued.
    """
    source = workspace.status
    if not allowed(source, target):
        raise IllegalTransition(detail=f"A workspace that is {source.value} cannot become {target.value}.")
    if reason is None:
        reason = workspace.status_reason if target is S.DELETED else ""
    moved = replace(
        workspace,
        status=target,
        status_reason=reason,
        updated_at=moment,
        deadline_at=settings.deadline(target, moment),
        # The chain of checks for the state it leaves stops here: a pending check no longer matches.
        check_token="",
        cloud_step=step,
        attempts=0,
        lease_until=None,
        notice=Notice(owe) if owe is not None else workspace.notice,
    )
    if target is S.DELETED:
        # The server is gone: nothing to reach, and billing stops.
        moved = replace(
            moved,
            server_id=None,
            ip=None,
            access_url=None,
            billing_ended_at=moment if workspace.billing_started_at else None,
        )
    return Transition(moved, event_of(moved, source, actor, moment))


def note(workspace: Workspace, *, actor: str, moment: datetime, reason: str) -> WorkspaceEvent:
    """An event in the workspace's history that records a report without moving it (VRW's early `deleted`)."""
    return WorkspaceEvent(
        workspace_id=workspace.id,
        study_id=workspace.study_id,
        status=workspace.status,
        at=moment,
        actor_id=actor,
        reason=reason,
        previous=workspace.status,
    )


def event_of(workspace: Workspace, previous: WorkspaceStatus | None, actor_id: str, moment: datetime) -> WorkspaceEvent:
    """The event recording that `workspace` reached its status from `previous` (None: it was just requested)."""
    return WorkspaceEvent(
        workspace_id=workspace.id,
        study_id=workspace.study_id,
        status=workspace.status,
        at=moment,
        actor_id=actor_id,
        reason=workspace.status_reason,
        previous=previous,
    )
