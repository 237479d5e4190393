"""What VRW reports about the workspaces it configures, taken through the state machine.

VRW (the Virtual Research Workspace service) installs and configures a workspace once OpenStack
has booted it, and reports through a signed webhook: `configuring`, `ready` (with the access
details), `failed` (with a reason) and `deleted`. Each report moves the workspace (through
`transitions.transition`) along an edge VRW may take (`EDGES`); any other is refused (409) and
changes nothing. Researchers get the ready mail when VRW says ready, and a failed mail with its reason.
Only OpenStack can say a server is gone: `deleted` about a workspace whose server the broker is still
deleting is recorded in its history and changes nothing else; the broker's delete carries on until
OpenStack confirms, and then finishes it. An event of a type the broker does not know is ignored.

Deliveries come at least once and in any order:
- the delivery's id is claimed in the ledger in the same transaction as the move it makes, so a
  redelivered event is acknowledged without a second effect, and one whose move failed can be
  delivered again;
- every event carries its own time, and one older than the workspace's last VRW report is
  acknowledged and ignored, so a late `configuring` cannot undo a `ready`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from chalicelib import metrics
from chalicelib.errors import ConflictError, FieldError, NotFoundError, ValidationError
from chalicelib.models import keys
from chalicelib.services.common.model import utcnow
from chalicelib.services.common.ports import Ledger
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.workspaces.lifecycle import OwedMail, Workspace, WorkspaceSettings, WorkspaceStatus
from chalicelib.services.workspaces.notices import send_owed
from chalicelib.services.workspaces.ports import DeliveryClaim, WorkspaceRepository
from chalicelib.services.workspaces.transitions import note, transition

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
S = WorkspaceStatus
VRW = "vrw"  # the actor of the steps VRW reports
# VRW's sender retries for days; a redelivery within this window is recognised by its id.
DEDUPE_WINDOW = timedelta(days=7)
# How far ahead of the broker's clock an event's own time may be (as for the signature's timestamp).
CLOCK_SKEW = timedelta(minutes=5)
# Tries when the workspace changes between reading and moving it (the broker or the API moved it).
_ATTEMPTS = 3


class EventType(StrEnum):
    CONFIGURING = "workspace.configuring"
    READY = "workspace.ready"
    FAILED = "workspace.failed"
    DELETED = "workspace.deleted"


# Where each event takes a workspace, and from which states VRW may take it there: VRW configures
# what has booted (or reconfigures what runs), and reports a teardown only of what is being deleted.
# A late `ready` also rescues a workspace that failed (its configuration deadline passed, say).
EDGES: dict[EventType, tuple[WorkspaceStatus, frozenset[WorkspaceStatus]]] = {
    EventType.CONFIGURING: (S.CONFIGURING, frozenset({S.PROVISIONING, S.RUNNING})),
    EventType.READY: (S.RUNNING, frozenset({S.CONFIGURING, S.FAILED})),
    EventType.FAILED: (S.FAILED, frozenset({S.PROVISIONING, S.CONFIGURING, S.RUNNING})),
    EventType.DELETED: (S.DELETED, frozenset({S.DELETING})),
}
_KNOWN = frozenset(t.value for t in EventType)
_MAILS = {EventType.READY: OwedMail.READY, EventType.FAILED: OwedMail.FAILED}
# What a `deleted` about a workspace that still has its server says in the workspace's history.
_EARLY_DELETED = "VRW reported the workspace deleted; the broker deletes its virtual machine until OpenStack confirms."


@dataclass(frozen=True, slots=True)
class Access:
    """How a researcher reaches a ready workspace."""

    url: str
    ip: str
    username: str


@dataclass(frozen=True, slots=True)
class VrwEvent:
    type: EventType
    at: datetime
    workspace_id: str
    access: Access | None = None
    reason: str | None = None

    def fingerprint(self) -> str:
        """Tells a redelivery of this event from another event sent under the same webhook-id."""
        fields = {**asdict(self), "at": self.at.isoformat()}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class VrwOutcome(StrEnum):
    """What the broker did with one VRW event (the hook answers it as `outcome`)."""

    APPLIED = "applied"  # the workspace moved
    UNCHANGED = "unchanged"  # it already was where the event says
    STALE = "stale"  # older than the workspace's last VRW report: ignored
    DUPLICATE = "duplicate"  # this delivery was handled before
    RECORDED = "recorded"  # noted in the history; the broker finishes the move once OpenStack confirms
    IGNORED = "ignored"  # an event type the broker does not know


@dataclass(frozen=True, slots=True)
class Receipt:
    outcome: VrwOutcome
    workspace_id: str
    # None for an ignored event: the workspace was not read.
    status: WorkspaceStatus | None


@dataclass(frozen=True, slots=True)
class Inbox:
    """What VRW's reports work with."""

    workspaces: WorkspaceRepository
    ledger: Ledger
    mail: MailQueue
    settings: WorkspaceSettings


def delivery_key(delivery_id: str) -> str:
    return keys.vrw_delivery(delivery_id)


def receive(inbox: Inbox, delivery_id: str, event: VrwEvent, *, now: Clock = utcnow) -> Receipt:
    """Apply one delivered event, once; 404 for an unknown workspace, 409 for an edge VRW may not take."""
    moment = now()
    check_event(event, moment)
    claim = DeliveryClaim(delivery_key(delivery_id), moment + DEDUPE_WINDOW, event.fingerprint())
    for _ in range(_ATTEMPTS):
        workspace = inbox.workspaces.get(event.workspace_id)
        if workspace is None:
            raise NotFoundError(detail="No such workspace.")
        duplicate = Receipt(VrwOutcome.DUPLICATE, workspace.id, workspace.status)
        try:
            outcome = judge(workspace, event)
        except ConflictError:
            if _delivered_before(inbox.ledger, claim):
                return duplicate
            raise
        if outcome not in (VrwOutcome.APPLIED, VrwOutcome.RECORDED):
            if inbox.ledger.claim(claim.key, until=claim.until, fingerprint=claim.fingerprint):
                return Receipt(outcome, workspace.id, workspace.status)
            _delivered_before(inbox.ledger, claim)
            return duplicate
        try:
            if outcome is VrwOutcome.RECORDED:
                return _record(inbox, workspace, event, claim, now())
            moved = _move(inbox, workspace, event, claim, now())
        except ConflictError:
            if _delivered_before(inbox.ledger, claim):
                return duplicate
            log.info("workspace %s changed while VRW's %s was applied; judging it again", workspace.id, event.type)
            continue
        send_owed(inbox.mail, inbox.workspaces, moved)
        return Receipt(VrwOutcome.APPLIED, moved.id, moved.status)
    raise ConflictError(detail="The workspace kept changing while the event was applied; deliver it again.")


def known(event_type: str) -> bool:
    """Whether the broker acts on events of this type (the others are `ignore`d)."""
    return event_type in _KNOWN


def ignore(delivery_id: str, event_type: str, workspace_id: str) -> Receipt:
    """Acknowledge an event type the broker does not know (VRW added one): logged, counted, nothing changed."""
    log.warning("VRW event %s of unknown type %r about workspace %s ignored", delivery_id, event_type, workspace_id)
    metrics.hook_ignored(VRW, "unknown-type")
    return Receipt(VrwOutcome.IGNORED, workspace_id, None)


def _delivered_before(ledger: Ledger, claim: DeliveryClaim) -> bool:
    """Whether this delivery was handled before; 409 when its id came before with another event."""
    earlier = ledger.claimed(claim.key)
    if earlier and earlier != claim.fingerprint:
        raise ConflictError(detail="This webhook-id came before with another event; give each event an id of its own.")
    return earlier is not None


def judge(workspace: Workspace, event: VrwEvent) -> VrwOutcome:
    """What `event` does to `workspace` (APPLIED: it moves; RECORDED: only its history); 409 for an edge VRW
    may not take."""
    if workspace.vrw_updated_at is not None and event.at < workspace.vrw_updated_at:
        return VrwOutcome.STALE
    target, sources = EDGES[event.type]
    if workspace.status is target:
        return VrwOutcome.UNCHANGED
    if workspace.status not in sources:
        raise ConflictError(detail=f"VRW cannot report {event.type.value} for a workspace that is {workspace.status}.")
    if workspace.server_id is None and workspace.status in (S.PROVISIONING, S.FAILED):
        # Nothing booted (yet, or any more) that VRW could have configured.
        raise ConflictError(detail=f"The workspace has no virtual machine for VRW to report {event.type.value} on.")
    if event.type is EventType.DELETED and workspace.server_id is not None:
        # Only OpenStack can say the server is gone; the broker's delete carries on until it does.
        return VrwOutcome.RECORDED
    return VrwOutcome.APPLIED


def _move(inbox: Inbox, workspace: Workspace, event: VrwEvent, claim: DeliveryClaim, moment: datetime) -> Workspace:
    target, _ = EDGES[event.type]
    if event.type is EventType.READY:
        assert event.access is not None
        access = event.access
        workspace = replace(workspace, ip=access.ip, access_url=access.url, access_username=access.username)
    # FAILED carries VRW's reason; every other move clears the reason (DELETED keeps why it was deleted).
    reason = (event.reason or "") if event.type is EventType.FAILED else None
    change = transition(
        replace(workspace, vrw_updated_at=event.at),
        target,
        actor=VRW,
        moment=moment,
        settings=inbox.settings,
        reason=reason,
        owe=_MAILS.get(event.type),
    )
    return inbox.workspaces.move(change.workspace, change.event, claim=claim)


def _record(inbox: Inbox, workspace: Workspace, event: VrwEvent, claim: DeliveryClaim, moment: datetime) -> Receipt:
    """Note VRW's report in the history without touching the broker's own work on the workspace."""
    noted = replace(workspace, vrw_updated_at=event.at)
    stored = inbox.workspaces.move(noted, note(noted, actor=VRW, moment=moment, reason=_EARLY_DELETED), claim=claim)
    log.info("workspace %s: VRW reported it deleted while its server %s is still there", stored.id, stored.server_id)
    return Receipt(VrwOutcome.RECORDED, stored.id, stored.status)


def check_event(event: VrwEvent, moment: datetime) -> None:
    """422 for an event that is well-formed but says something impossible."""
    errors = []
    if event.at.tzinfo is None:
        errors.append(FieldError("timestamp", "needs a UTC offset"))
    elif event.at > moment + CLOCK_SKEW:
        errors.append(FieldError("timestamp", "is in the future"))
    if event.type is EventType.READY:
        if event.access is None:
            errors.append(FieldError("data.access", "workspace.ready carries the access details"))
        else:
            errors += _access_errors(event.access)
    elif event.access is not None:
        errors.append(FieldError("data.access", "only workspace.ready carries access details"))
    if event.type is EventType.FAILED:
        if not (event.reason or "").strip():
            errors.append(FieldError("data.reason", "workspace.failed carries a reason"))
    elif event.reason is not None:
        errors.append(FieldError("data.reason", "only workspace.failed carries a reason"))
    if errors:
        raise ValidationError(detail=f"The {event.type.value} event is not valid.", errors=errors)


def _access_errors(access: Access) -> list[FieldError]:
    errors = []
    try:
        url = urlsplit(access.url)
        reachable = url.scheme in ("https", "http") and bool(url.hostname)
    except ValueError:
        reachable = False
    if not reachable:
        errors.append(FieldError("data.access.url", "an http(s) URL"))
    try:
        ipaddress.ip_address(access.ip)
    except ValueError:
        errors.append(FieldError("data.access.ip", "an IPv4 or IPv6 address"))
    return errors
