"""Mails about a workspace to its owner: ready, failed, expiring soon, expired. English and Dutch.

Owed by the provisioning family, the reconciler and VRW's webhook: the change that owes a mail writes it into
the workspace (`notice`), then the mail is queued as a `WorkspaceMessage` (event, workspace_id, mail_id)
and struck off. The mail worker renders it from the workspace as it is when the message arrives
and sends each once (a ledger claim on `mail_id`, as for invitations), so queuing it again is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.errors import ConflictError
from chalicelib.services.domain import Locale, OutgoingMail, Researcher
from chalicelib.services.lifecycle import Notice, OwedMail, Workspace, WorkspaceStatus
from chalicelib.services.mail import (
    CLAIM_LIFETIME,
    Block,
    Link,
    Paragraph,
    render_html,
    render_text,
)
from chalicelib.services.messages import WorkspaceMailEvent, WorkspaceMessage
from chalicelib.services.ports import (
    Ledger,
    Mailer,
    MailQueue,
    ResearcherRepository,
    StudyRepository,
    WorkspaceRepository,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkspaceWords:
    subjects: Mapping[str, str]
    bodies: Mapping[str, str]
    hello: str
    reason: str
    access: str
    open_link: str
    signature: str


WORDS: Mapping[Locale, WorkspaceWords] = {
    Locale.EN: WorkspaceWords(
        subjects={
            "ready": 'Your workspace "{name}" is ready',
            "failed": 'Your workspace "{name}" could not be set up',
            "expiring": 'Your workspace "{name}" expires on {expires}',
            "expired": 'Your workspace "{name}" has expired',
        },
        bodies={
            "ready": 'Your workspace "{name}" in the study "{study}" is ready to use.',
            "failed": 'Something went wrong with your workspace "{name}" in the study "{study}".',
            "expiring": (
                'Your workspace "{name}" in the study "{study}" expires on {expires}. '
                "Extend it in the research environment if you still need it."
            ),
            "expired": (
                'Your workspace "{name}" in the study "{study}" expired on {expires} and was stopped. '
                "It will be deleted after the grace period unless you extend it."
            ),
        },
        hello="Hello {name},",
        reason="Reason: {reason}",
        access="Connect to {ip} as {username}.",
        open_link="Open the workspace",
        signature="The Virtual Research Environment",
    ),
    Locale.NL: WorkspaceWords(
        subjects={
            "ready": 'Je werkomgeving "{name}" staat klaar',
            "failed": 'Je werkomgeving "{name}" kon niet worden ingericht',
            "expiring": 'Je werkomgeving "{name}" verloopt op {expires}',
            "expired": 'Je werkomgeving "{name}" is verlopen',
        },
        bodies={
            "ready": 'Je werkomgeving "{name}" in de studie "{study}" staat klaar.',
            "failed": 'Er ging iets mis met je werkomgeving "{name}" in de studie "{study}".',
            "expiring": (
                'Je werkomgeving "{name}" in de studie "{study}" verloopt op {expires}. '
                "Verleng hem in de onderzoeksomgeving als je hem nog nodig hebt."
            ),
            "expired": (
                'Je werkomgeving "{name}" in de studie "{study}" is op {expires} verlopen en gestopt. '
                "Na de respijtperiode wordt hij verwijderd, tenzij je hem verlengt."
            ),
        },
        hello="Hallo {name},",
        reason="Reden: {reason}",
        access="Maak verbinding met {ip} als {username}.",
        open_link="Open de werkomgeving",
        signature="De Virtual Research Environment",
    ),
}


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


def render_workspace_mail(
    workspace: Workspace, study_name: str, owner: Researcher, event: str, frontend_url: str
) -> OutgoingMail:
    words = WORDS.get(owner.locale, WORDS[Locale.EN])
    names = {"name": workspace.name, "study": study_name, "expires": f"{workspace.expires_at:%Y-%m-%d %H:%M} UTC"}
    subject = words.subjects[event].format(**names)
    blocks: list[Block] = [
        Paragraph(words.hello.format(name=owner.name)),
        Paragraph(words.bodies[event].format(**names)),
    ]
    if event == "failed" and workspace.status_reason:
        blocks.append(Paragraph(words.reason.format(reason=workspace.status_reason)))
    if event == "ready":
        if workspace.ip:
            username = workspace.access_username or workspace.machine.username or "-"
            blocks.append(Paragraph(words.access.format(ip=workspace.ip, username=username)))
        if workspace.access_url:
            blocks.append(Link(words.open_link, workspace.access_url))
    blocks.append(Link(words.open_link, f"{frontend_url.rstrip('/')}/workspaces/{workspace.id}"))
    blocks.append(Paragraph(words.signature))
    return OutgoingMail(
        to=owner.email,
        subject=subject,
        text=render_text(blocks),
        html=render_html(blocks, title=subject, locale=owner.locale),
    )


def deliver_workspace_mail(
    parsed: WorkspaceMessage,
    *,
    workspaces: WorkspaceRepository,
    studies: StudyRepository,
    researchers: ResearcherRepository,
    ledger: Ledger,
    mailer: Mailer,
    frontend_url: str,
    now: datetime,
) -> None:
    """Send one workspace mail, once; a mail about a workspace that moved on is not sent."""
    workspace = workspaces.get(parsed.workspace_id)
    if workspace is None or workspace.status is WorkspaceStatus.DELETED:
        log.info("mail %s: workspace %s is gone; not sent", parsed.mail_id, parsed.workspace_id)
        return
    if parsed.event == "ready" and workspace.status is not WorkspaceStatus.RUNNING:
        return
    owner = researchers.get(workspace.owner_id)
    study = studies.get(workspace.study_id)
    if owner is None or study is None:
        log.info("mail %s: the owner or study of workspace %s is gone; not sent", parsed.mail_id, workspace.id)
        return
    claim = f"mail#{parsed.mail_id}"
    if not ledger.claim(claim, until=now + CLAIM_LIFETIME):
        return
    try:
        mailer.send(render_workspace_mail(workspace, study.name, owner, parsed.event, frontend_url))
    except Exception:  # the claim must not outlive a mail that was not sent; re-raised for the queue
        ledger.release(claim)
        raise
