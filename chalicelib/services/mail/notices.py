"""Owed workspace mails: the `notice` a change writes into a workspace, and queueing the mail it owes.

Owed by the provisioning family, the reconciler and VRW's webhook: the change that owes a mail writes it into
the workspace (`notice`), then the mail is queued as a `WorkspaceMessage` (event, workspace_id, mail_id)
and struck off. The mail worker renders it from the workspace as it is when the message arrives
and sends each once (a ledger claim on `mail_id`, as for invitations), so queuing it again is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import cast, get_args

from chalicelib.errors import ConflictError
from chalicelib.services.domain import new_id
from chalicelib.services.lifecycle import Workspace
from chalicelib.services.messages import WorkspaceMailEvent, WorkspaceMessage
from chalicelib.services.ports import MailQueue, WorkspaceRepository

log = logging.getLogger(__name__)

EVENTS: tuple[str, ...] = get_args(WorkspaceMailEvent)


def workspace_message(workspace_id: str, event: str, mail_id: str) -> WorkspaceMessage:
    """The mail queue's message asking for the `event` mail about a workspace (one of `EVENTS`)."""
    if event not in EVENTS:
        raise ValueError(f"unknown workspace mail {event!r}")
    return WorkspaceMessage(mail_id=mail_id, workspace_id=workspace_id, event=cast("WorkspaceMailEvent", event))


def owe(event: str) -> str:
    """The `notice` a change writes into the workspace when it owes the owner the `event` mail."""
    if event not in EVENTS:
        raise ValueError(f"unknown workspace mail {event!r}")
    return f"{event}#{new_id()}"


def send_owed(mail: MailQueue, workspaces: WorkspaceRepository, workspace: Workspace) -> Workspace:
    """Queue the mail the workspace owes, then strike it off; returns the workspace as stored.

    If the strike-off loses a race, the notice stays and the reconciler queues it again: the mail id
    is the same, so the mail worker sends it once.
    """
    if not workspace.notice:
        return workspace
    event, mail_id = workspace.notice.split("#", 1)
    mail.send(workspace_message(workspace.id, event, mail_id))
    try:
        return workspaces.save(replace(workspace, notice=""))
    except ConflictError:
        log.info("workspace %s changed before its %s mail was struck off", workspace.id, event)
        return workspace
