"""The scheduled repair round: what is stuck, lost, orphaned or expiring gets dealt with.

- a transitional workspace past its deadline is FAILED with a reason; one that has not moved
  for a while gets a fresh message (the one that should have moved it may be lost);
- a RUNNING or STOPPED workspace whose server OpenStack no longer has is FAILED; a FAILED one whose
  half-made server could not be deleted then gets it deleted now;
- servers tagged by the broker with no live workspace are reported (and deleted, if the stage says so);
- expiry: reminder mails before `expires_at`, stop at expiry, delete after the grace period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chalicelib.errors import ConflictError
from chalicelib.services.common.model import PageRequest, utcnow
from chalicelib.services.workspaces.cloud import CloudError, CloudServer
from chalicelib.services.workspaces.lifecycle import CloudStep, Notice, OwedMail, Workspace, WorkspaceStatus
from chalicelib.services.workspaces.provisioning import CLEANUP, Family, clean_up, fail, move, moved, notify, store
from chalicelib.services.workspaces.workspaces import converge_message

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
S = WorkspaceStatus
EXPIRED_MARK = "expired"


@dataclass(slots=True)
class Report:
    """What one round found and did, by workspace or server id."""

    failed: list[str] = field(default_factory=list)
    nudged: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    owed_mails: list[str] = field(default_factory=list)


def reconcile(family: Family, *, now: Clock = utcnow) -> Report:
    """One round over every workspace and every server the broker tagged."""
    report = Report()
    moment = now()
    try:
        servers: list[CloudServer] | None = family.cloud.broker_servers()
    except CloudError as error:
        log.warning("reconciler: cannot list servers (%s); skipping lost and orphan checks", error.reason)
        servers = None
    live: set[str] = set()
    page = PageRequest(limit=100)
    while True:
        batch = family.workspaces.every(page)
        for workspace in batch.items:
            if workspace.status is S.DELETED:
                continue
            live.add(workspace.id)
            try:
                _round(family, workspace, servers, moment, report)
            except ConflictError:
                log.info("reconciler: workspace %s moved meanwhile; next round", workspace.id)
        if batch.next_start is None:
            break
        page = PageRequest(limit=100, start=batch.next_start)
    if servers is not None:
        _orphans(family, servers, live, report)
    return report


def _round(
    family: Family, workspace: Workspace, servers: list[CloudServer] | None, moment: datetime, report: Report
) -> None:
    if workspace.notice and moment - workspace.updated_at >= family.settings.nudge_after:
        # A mail the workspace owes was never queued (a crash between the change and the queue); the rest
        # of its round waits for the next, so this write does not race the others.
        notify(family, workspace)
        report.owed_mails.append(workspace.id)
        return
    status = workspace.status
    if status.transitional:
        if workspace.deadline_at is not None and moment >= workspace.deadline_at:
            fail(family, workspace, _stuck_reason(workspace), moment)
            report.failed.append(workspace.id)
        elif _quiet(family, workspace, moment):
            family.queue.send(converge_message(workspace))
            report.nudged.append(workspace.id)
        return
    if status is S.FAILED and workspace.cloud_step == CLEANUP and workspace.server_id is not None:
        if clean_up(family, workspace.server_id, workspace.id):
            family.workspaces.save(replace(workspace, server_id=None, cloud_step=CloudStep.NONE))
            report.cleaned.append(workspace.id)
        return
    if _lost(workspace, servers):
        reason = "The virtual machine disappeared from OpenStack."
        failed = moved(family, replace(workspace, server_id=None), S.FAILED, moment, reason=reason, owe=OwedMail.FAILED)
        notify(family, store(family, failed))
        report.lost.append(workspace.id)
        return
    _expiry(family, workspace, moment, report)


def _quiet(family: Family, workspace: Workspace, moment: datetime) -> bool:
    """Transitional, not moved for a while, nobody holding the lease: its message may be lost."""
    if workspace.status is S.CONFIGURING or moment - workspace.updated_at < family.settings.nudge_after:
        return False
    return workspace.lease_until is None or workspace.lease_until <= moment


def _lost(workspace: Workspace, servers: list[CloudServer] | None) -> bool:
    """At rest with a server that OpenStack no longer lists."""
    if servers is None or workspace.status not in (S.RUNNING, S.STOPPED) or workspace.server_id is None:
        return False
    return workspace.server_id not in {s.id for s in servers}


def _stuck_reason(workspace: Workspace) -> str:
    if workspace.status is S.CONFIGURING:
        return "The research workspace service did not finish configuring the workspace in time."
    return f"The workspace was stuck in {workspace.status.value} past its deadline."


def _expiry(family: Family, workspace: Workspace, moment: datetime, report: Report) -> None:
    settings = family.settings
    if moment >= workspace.expires_at + settings.delete_grace:
        deleting = move(family, workspace, S.DELETING, moment, reason="The workspace expired.")
        family.queue.send(converge_message(deleting))
        report.deleted.append(workspace.id)
        return
    if moment >= workspace.expires_at:
        if workspace.status is S.RUNNING:
            stopping = move(family, workspace, S.STOPPING, moment, reason="The workspace expired.")
            family.queue.send(converge_message(stopping))
            report.stopped.append(workspace.id)
        if EXPIRED_MARK not in workspace.reminders:
            current = workspace_now(family, workspace)
            owing = family.workspaces.save(
                replace(current, reminders=workspace.reminders | {EXPIRED_MARK}, notice=Notice(OwedMail.EXPIRED))
            )
            notify(family, owing)
        return
    due = {str(days) for days in settings.reminder_days if moment >= workspace.expires_at - timedelta(days=days)}
    if due - workspace.reminders:
        owing = family.workspaces.save(
            replace(workspace, reminders=workspace.reminders | due, notice=Notice(OwedMail.EXPIRING))
        )
        notify(family, owing)
        report.reminded.append(workspace.id)


def workspace_now(family: Family, workspace: Workspace) -> Workspace:
    """The stored workspace (after a move in this round), so the next write is not stale."""
    return family.workspaces.get(workspace.id) or workspace


def _orphans(family: Family, servers: list[CloudServer], live: set[str], report: Report) -> None:
    for server in servers:
        if server.workspace_id in live:
            continue
        report.orphans.append(server.id)
        log.warning("orphan server %s (workspace %s) has no live workspace", server.id, server.workspace_id)
        if family.settings.delete_orphans:
            try:
                family.cloud.delete_server(server.id)
                report.orphans_deleted.append(server.id)
            except CloudError as error:
                log.warning("could not delete orphan server %s: %s", server.id, error.reason)
