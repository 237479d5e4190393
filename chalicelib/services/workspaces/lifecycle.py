"""A workspace and its state machine, as API.md draws it.

`REQUESTED → PROVISIONING → CONFIGURING → RUNNING`, `RUNNING ⇄ STOPPING → STOPPED → STARTING`,
`REBOOTING`, `DELETING → DELETED`, and `FAILED` (left by `retry` or `DELETE`). The API refuses
an action the current state does not allow (409); the workers move only along these edges,
with conditional writes, so a late or repeated message cannot move a workspace backwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from chalicelib.errors import ConflictError
from chalicelib.services.common.model import new_id

if TYPE_CHECKING:
    from chalicelib.config import Settings


class WorkspaceStatus(StrEnum):
    REQUESTED = "REQUESTED"
    PROVISIONING = "PROVISIONING"
    CONFIGURING = "CONFIGURING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    REBOOTING = "REBOOTING"
    DELETING = "DELETING"
    DELETED = "DELETED"
    FAILED = "FAILED"

    @property
    def transitional(self) -> bool:
        """A state the broker is working on; it has a deadline."""
        return self in _TRANSITIONAL

    @property
    def live(self) -> bool:
        """Not deleted: it counts against the study's quota."""
        return self is not WorkspaceStatus.DELETED


S = WorkspaceStatus
_TRANSITIONAL = frozenset({S.REQUESTED, S.PROVISIONING, S.CONFIGURING, S.STOPPING, S.STARTING, S.REBOOTING, S.DELETING})

# Every edge the broker may take; anything else is refused.
TRANSITIONS: dict[WorkspaceStatus, frozenset[WorkspaceStatus]] = {
    S.REQUESTED: frozenset({S.PROVISIONING, S.FAILED, S.DELETING}),
    S.PROVISIONING: frozenset({S.CONFIGURING, S.RUNNING, S.FAILED, S.DELETING}),
    S.CONFIGURING: frozenset({S.RUNNING, S.FAILED, S.DELETING}),
    S.RUNNING: frozenset({S.STOPPING, S.REBOOTING, S.CONFIGURING, S.FAILED, S.DELETING}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED, S.DELETING}),
    # FAILED: the reconciler finds its server gone from OpenStack.
    S.STOPPED: frozenset({S.STARTING, S.FAILED, S.DELETING}),
    S.STARTING: frozenset({S.RUNNING, S.FAILED, S.DELETING}),
    S.REBOOTING: frozenset({S.RUNNING, S.FAILED, S.DELETING}),
    S.DELETING: frozenset({S.DELETED, S.FAILED}),
    S.DELETED: frozenset(),
    S.FAILED: frozenset({S.REQUESTED, S.DELETING, S.RUNNING}),
}


class Action(StrEnum):
    """What a researcher asks of a workspace."""

    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    RETRY = "retry"
    DELETE = "delete"


# The state each action needs, and the state it leads to.
ACTIONS: dict[Action, tuple[frozenset[WorkspaceStatus], WorkspaceStatus]] = {
    Action.START: (frozenset({S.STOPPED}), S.STARTING),
    Action.STOP: (frozenset({S.RUNNING}), S.STOPPING),
    Action.REBOOT: (frozenset({S.RUNNING}), S.REBOOTING),
    Action.RETRY: (frozenset({S.FAILED}), S.REQUESTED),
    Action.DELETE: (frozenset(S) - {S.DELETING, S.DELETED}, S.DELETING),
}


def action_target(action: Action, status: WorkspaceStatus) -> WorkspaceStatus:
    """The state `action` moves a workspace in `status` to, or 409 when the state does not allow it."""
    allowed, target = ACTIONS[action]
    if status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise ConflictError(detail=f"A workspace that is {status.value} cannot {action.value}; it must be {names}.")
    return target


class CloudStep(StrEnum):
    """What the broker already asked the cloud in the current state (stored as these strings)."""

    NONE = ""
    CREATE = "create"
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    DELETE = "delete"
    # A retry: look for the server an earlier try may have left before making a new one.
    ADOPT = "adopt"
    # A FAILED workspace's half-made server, still to be deleted (the reconciler tries again).
    CLEANUP = "cleanup"


# The cloud call a transitional state is waiting on (the WorkspaceStep* metrics name it so).
STEP_OF: dict[WorkspaceStatus, CloudStep] = {
    S.REQUESTED: CloudStep.CREATE,
    S.PROVISIONING: CloudStep.CREATE,
    S.STARTING: CloudStep.START,
    S.STOPPING: CloudStep.STOP,
    S.REBOOTING: CloudStep.REBOOT,
    S.DELETING: CloudStep.DELETE,
}


class OwedMail(StrEnum):
    """The mails a workspace's owner can be owed."""

    READY = "ready"
    FAILED = "failed"
    EXPIRING = "expiring"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Notice:
    """A mail owed to the owner, with the id that makes queuing it twice harmless; stored as `<mail>#<id>`."""

    mail: OwedMail
    mail_id: str = field(default_factory=new_id)

    def __str__(self) -> str:
        return f"{self.mail.value}#{self.mail_id}"

    @classmethod
    def parse(cls, stored: str) -> Notice | None:
        """The notice `str(notice)` stored, or None for the empty string (nothing owed)."""
        if not stored:
            return None
        mail, _, mail_id = stored.partition("#")
        return cls(OwedMail(mail), mail_id)


@dataclass(frozen=True, slots=True)
class Machine:
    """What was asked for, resolved from the catalog when requested; later catalog edits never change it."""

    profile_id: str
    operating_system_id: str
    network_id: str
    storage_gb: int
    image: str
    flavor: str
    network: str
    vcpus: int
    ram_gb: int
    gpu: bool
    price_per_day: Decimal
    # The operating system's login user, shown with the access details.
    username: str = ""


@dataclass(slots=True)
class Workspace:
    id: str
    study_id: str
    owner_id: str
    name: str
    machine: Machine
    status: WorkspaceStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    status_reason: str = ""
    # Until when the current transitional state may last before the reconciler calls it stuck.
    deadline_at: datetime | None = None
    server_id: str | None = None
    ip: str | None = None
    access_url: str | None = None
    access_username: str | None = None
    ssh_public_key: str | None = None
    # The provisioning family's bookkeeping: who may create the server until when, which check
    # message is the live one, and how often the current step failed.
    lease_until: datetime | None = None
    check_token: str = ""
    attempts: int = 0
    # What the broker already asked the cloud in the current state.
    cloud_step: CloudStep = CloudStep.NONE
    # Reminder mails sent before expiry (days before, e.g. "14", "3").
    reminders: frozenset[str] = frozenset()
    # A mail owed to the owner, written with the change that owes it and struck off once queued;
    # the reconciler queues what a crash left owed (the mail id makes a repeat harmless).
    notice: Notice | None = None
    # When VRW last reported on it (events older than this are ignored).
    vrw_updated_at: datetime | None = None
    billing_started_at: datetime | None = None
    billing_ended_at: datetime | None = None
    version: int | None = None


@dataclass(slots=True)
class WorkspaceEvent:
    """One step of a workspace's history."""

    workspace_id: str
    study_id: str
    status: WorkspaceStatus
    at: datetime
    actor_id: str
    reason: str = ""
    previous: WorkspaceStatus | None = None
    event_id: str = field(default_factory=new_id)


@dataclass(frozen=True, slots=True)
class Quota:
    """How much a study may hold at once: live workspaces and their vCPUs."""

    max_workspaces: int
    max_vcpus: int


@dataclass(frozen=True, slots=True)
class StudyUsage:
    """The study's live workspaces and vCPUs (counted at request, released at deletion) and its quota overrides."""

    study_id: str
    workspaces: int = 0
    vcpus: int = 0
    max_workspaces: int | None = None
    max_vcpus: int | None = None

    def quota(self, default: Quota) -> Quota:
        return Quota(
            self.max_workspaces if self.max_workspaces is not None else default.max_workspaces,
            self.max_vcpus if self.max_vcpus is not None else default.max_vcpus,
        )


class IdempotencyReplay(Exception):
    """The caller's `Idempotency-Key` was used before, for `workspace_id`."""

    def __init__(self, workspace_id: str, fingerprint: str) -> None:
        super().__init__(workspace_id)
        self.workspace_id = workspace_id
        self.fingerprint = fingerprint


# How long the transitional states no setting names may last before the workspace is FAILED.
DEADLINES: Mapping[WorkspaceStatus, timedelta] = {
    S.REQUESTED: timedelta(minutes=30),
    S.CONFIGURING: timedelta(minutes=60),
    S.STARTING: timedelta(minutes=10),
    S.STOPPING: timedelta(minutes=10),
    S.REBOOTING: timedelta(minutes=10),
    S.DELETING: timedelta(minutes=15),
}


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """The workspace rules a stage sets (see `chalicelib.config.Settings`)."""

    quota: Quota
    lifetime: timedelta
    max_lifetime: timedelta
    currency: str
    vrw_enabled: bool
    # How long each transitional state may last before the workspace is FAILED (`DEADLINES`, with PROVISIONING's
    # from `WORKSPACE_PROVISION_DEADLINE_MINUTES`).
    deadlines: Mapping[WorkspaceStatus, timedelta]
    first_check: timedelta
    check_interval: timedelta
    # A failing cloud call is retried this many times, with backoff, before the workspace FAILS.
    max_attempts: int
    delete_grace: timedelta
    delete_orphans: bool
    # Who may create the server while it holds the lease (shorter than the queue's visibility timeout).
    lease: timedelta = timedelta(minutes=2)
    # A transitional workspace that has not moved for this long gets a fresh message from the reconciler.
    nudge_after: timedelta = timedelta(minutes=10)
    reminder_days: tuple[int, ...] = (14, 3)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkspaceSettings:
        s = settings
        return cls(
            quota=Quota(s.workspace_quota_workspaces, s.workspace_quota_vcpus),
            lifetime=timedelta(days=s.workspace_lifetime_days),
            max_lifetime=timedelta(days=s.workspace_max_lifetime_days),
            currency=s.currency,
            vrw_enabled=s.vrw_enabled,
            deadlines={**DEADLINES, S.PROVISIONING: timedelta(minutes=s.workspace_provision_deadline_minutes)},
            first_check=timedelta(seconds=s.workspace_first_check_seconds),
            check_interval=timedelta(seconds=s.workspace_check_interval_seconds),
            max_attempts=s.workspace_max_attempts,
            delete_grace=timedelta(days=s.workspace_delete_grace_days),
            delete_orphans=s.reconcile_delete_orphans,
        )

    def deadline(self, status: WorkspaceStatus, moment: datetime) -> datetime | None:
        span = self.deadlines.get(status)
        return moment + span if span is not None else None

    def backoff(self, attempts: int) -> int:
        """Seconds before the next try after `attempts` failures: 10, 20, 40, ... at most 900 (SQS's limit)."""
        return int(min(900, 10 * 2 ** max(0, attempts - 1)))
