"""Owed workspace mails: the `notice` a change writes into a workspace, and queueing the mail it owes.

Owed by the provisioning family, the reconciler and VRW's webhook: the change that owes a mail writes it into
the workspace (`notice`), then the mail is queued as a `WorkspaceMessage` (event, workspace_id, mail_id)
and struck off. The mail worker renders it from the workspace as it is when the message arrives
and sends each once (a ledger claim on `mail_id`, as for invitations), so queuing it again is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from chalicelib.errors import ConflictError
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.messages import WorkspaceMailEvent, WorkspaceMessage
from chalicelib.services.workspaces.lifecycle import Notice, OwedMail, Workspace
from chalicelib.services.workspaces.ports import WorkspaceRepository

log = logging.getLogger(__name__)

# The queue message's name of each owed mail (the same strings).
_EVENT_OF: Mapping[OwedMail, WorkspaceMailEvent] = {
    OwedMail.READY: "ready",
    OwedMail.FAILED: "failed",
    OwedMail.EXPIRING: "expiring",
    OwedMail.EXPIRED: "expired",
}


def workspace_message(workspace_id: str, notice: Notice) -> WorkspaceMessage:
    """The mail queue's message asking for the mail `notice` owes about a workspace."""
    return WorkspaceMessage(mail_id=notice.mail_id, workspace_id=workspace_id, event=_EVENT_OF[notice.mail])


def send_owed(mail: MailQueue, workspaces: WorkspaceRepository, workspace: Workspace) -> Workspace:
    """Queue the mail the workspace owes, then strike it off; returns the workspace as stored.

    If the strike-off loses a race, the notice stays and the reconciler queues it again: the mail id
    is the same, so the mail worker sends it once.
    """
    notice = workspace.notice
    if notice is None:
        return workspace
    mail.send(workspace_message(workspace.id, notice))
    try:
        return workspaces.save(replace(workspace, notice=None))
    except ConflictError:
        log.info("workspace %s changed before its %s mail was struck off", workspace.id, notice.mail.value)
        return workspace
