"""Delivery: one queued message becomes at most one sent mail (per recipient), however often SQS delivers it.

Every kind of mail goes out through `send_once`: a claim in the ledger keyed by the message's `mail_id`
(and the recipient, for upload notices) makes every mail go out once; a failed send gives the claim back
so the queue's redrive can try again. The mail is composed from the invitation, upload or workspace as it
is when the message arrives, and one that is no longer wanted (a resend replaced it, the workspace moved
on) is not sent. Pure: no boto3 and no Chalice; repositories and the mailer come in as parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.models import keys
from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.common.model import PageRequest
from chalicelib.services.dropoff.model import UploadStatus
from chalicelib.services.mail.ports import OutgoingMail
from chalicelib.services.mail.render import (
    render_answer,
    render_invitation,
    render_upload_received,
    render_workspace_mail,
)
from chalicelib.services.messages import AnswerMessage, InvitationMessage, UploadReceivedMessage, WorkspaceMessage
from chalicelib.services.studies.model import InvitationStatus, MailStatus, Role
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.services.accounts.ports import ResearcherRepository
    from chalicelib.services.common.ports import Ledger
    from chalicelib.services.dropoff.ports import UploadRepository
    from chalicelib.services.mail.ports import Mailer
    from chalicelib.services.studies.ports import InvitationRepository, StudyRepository
    from chalicelib.services.workspaces.ports import WorkspaceRepository

log = logging.getLogger(__name__)

# SQS keeps a message for at most 14 days, so a claim this long outlives every redelivery of it.
CLAIM_LIFETIME = timedelta(days=14)


class MailDeliveryError(RuntimeError):
    """The mail service refused a mail or could not be reached; the queue tries again."""


# The invitation mails, composed from the invitation as it is now; upload notices go their own way.
InvitationMailMessage = InvitationMessage | AnswerMessage


def send_once(
    mail: OutgoingMail,
    *,
    claim: str,
    ledger: Ledger,
    mailer: Mailer,
    now: datetime,
    on_failure: Callable[[], None] | None = None,
) -> bool:
    """Claim → send → release on failure: True if `mail` went out now, False if its claim was taken before.

    A failed send runs `on_failure`, gives the claim back (whatever `on_failure` did) and re-raises,
    for the queue to deliver the message again.
    """
    if not ledger.claim(claim, until=now + CLAIM_LIFETIME):
        return False
    try:
        mailer.send(mail)
    except Exception:  # whatever failed, the claim must not outlive a mail that was not sent; re-raised
        try:
            if on_failure is not None:
                on_failure()
        finally:
            ledger.release(claim)
        raise
    return True


def deliver(
    message: InvitationMessage | AnswerMessage | UploadReceivedMessage,
    *,
    receive_count: int,
    invitations: InvitationRepository,
    studies: StudyRepository,
    researchers: ResearcherRepository,
    uploads: UploadRepository,
    ledger: Ledger,
    mailer: Mailer,
    settings: Settings,
    now: datetime,
) -> None:
    """Send the mail one queued message asks for, once, however often the message arrives.

    Returns when the message is done with: sent, sent before or no longer wanted.
    Raises when the send failed, for the queue to deliver the message again; on the last
    receive before the dead-letter queue it first marks the invitation's mail failed.
    """
    if isinstance(message, UploadReceivedMessage):
        _deliver_upload_notice(
            message,
            uploads=uploads,
            studies=studies,
            researchers=researchers,
            ledger=ledger,
            mailer=mailer,
            settings=settings,
            now=now,
        )
        return
    mail = _compose(
        message, invitations=invitations, studies=studies, researchers=researchers, settings=settings, now=now
    )
    if mail is None:
        return

    def mark_failed_on_the_last_try() -> None:
        if receive_count >= settings.mail_max_receive_count:
            log.error("mail %s failed on its last try; it goes to the dead-letter queue", message.mail_id)
            invitations.set_mail_status(message.invitation_id, message.mail_id, MailStatus.FAILED)

    sent = send_once(
        mail,
        claim=keys.mail_claim(message.mail_id),
        ledger=ledger,
        mailer=mailer,
        now=now,
        on_failure=mark_failed_on_the_last_try,
    )
    if not sent:
        log.info("mail %s was sent already: not again", message.mail_id)
        return
    invitations.set_mail_status(message.invitation_id, message.mail_id, MailStatus.SENT)
    log.info("mail %s sent (%s)", message.mail_id, type(message).__name__)


def _deliver_upload_notice(
    message: UploadReceivedMessage,
    *,
    uploads: UploadRepository,
    studies: StudyRepository,
    researchers: ResearcherRepository,
    ledger: Ledger,
    mailer: Mailer,
    settings: Settings,
    now: datetime,
) -> None:
    """Tell each admin and the owner of the study, once each; only the sends that failed are tried again."""
    upload = uploads.get(message.tusd_id)
    if upload is None or upload.status is not UploadStatus.RECEIVED:
        log.info("mail %s: upload %s is not (or no longer) received; not sent", message.mail_id, message.tusd_id)
        return
    study = studies.get(upload.study_id)
    if study is None:
        log.warning("mail %s: the study of upload %s is gone; not sent", message.mail_id, upload.id)
        return
    failed: list[str] = []
    for admin in study_admins(studies, researchers, study.id):
        try:
            mail = render_upload_received(upload, study, admin, frontend_url=settings.frontend_url)
            claim = keys.mail_claim(message.mail_id, admin.id)
            sent = send_once(mail, claim=claim, ledger=ledger, mailer=mailer, now=now)
        except Exception:  # one admin's failure must not hold up the others; the message is retried below
            log.exception("mail %s to admin %s failed", message.mail_id, admin.id)
            failed.append(admin.id)
            continue
        if sent:
            log.info("mail %s sent to admin %s", message.mail_id, admin.id)
    if failed:
        raise MailDeliveryError(f"mail {message.mail_id} failed for {len(failed)} admin(s); it is tried again")


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
    mail = render_workspace_mail(workspace, study.name, owner, parsed.event, frontend_url)
    send_once(mail, claim=keys.mail_claim(parsed.mail_id), ledger=ledger, mailer=mailer, now=now)


def study_admins(studies: StudyRepository, researchers: ResearcherRepository, study_id: str) -> list[Researcher]:
    """The study's admins and owner whose accounts are enabled (a worker reads every page of members)."""
    admin_ids: list[str] = []
    page = PageRequest(limit=100)
    while True:
        members = studies.members(study_id, page)
        admin_ids += [m.researcher_id for m in members.items if m.role.at_least(Role.ADMIN)]
        if members.next_start is None:
            break
        page = PageRequest(limit=100, start=members.next_start)
    found = researchers.get_many(admin_ids)
    return [found[i] for i in admin_ids if i in found and not found[i].disabled]


def _compose(
    message: InvitationMailMessage,
    *,
    invitations: InvitationRepository,
    studies: StudyRepository,
    researchers: ResearcherRepository,
    settings: Settings,
    now: datetime,
) -> OutgoingMail | None:
    """The mail for a message as things stand now, or None (logged) if it should no longer go out."""
    invitation = invitations.get(message.invitation_id)
    if invitation is None:
        log.warning("mail %s: invitation %s is gone; not sent", message.mail_id, message.invitation_id)
        return None
    if isinstance(message, InvitationMessage):
        if invitation.mail_id != message.mail_id:
            log.info("mail %s: a resend replaced it with mail %s; not sent", message.mail_id, invitation.mail_id)
            return None
        status = invitation.status_at(now)
        if status is not InvitationStatus.PENDING:
            log.info("mail %s: invitation %s is %s; not sent", message.mail_id, invitation.id, status.value)
            return None
    study = studies.get(invitation.study_id)
    inviter = researchers.get(invitation.inviter_id)
    if study is None or inviter is None:
        log.warning("mail %s: the study or the inviter of %s is gone; not sent", message.mail_id, invitation.id)
        return None
    invitees = researchers.all_by_email(invitation.email)
    if isinstance(message, InvitationMessage):
        return render_invitation(
            invitation,
            study,
            inviter,
            token=message.token,
            locale=invitee_locale(invitees, fallback=inviter.locale),
            frontend_url=settings.frontend_url,
        )
    return render_answer(invitation, study, inviter, answer=message.status, invitee_name=_latest_name(invitees))


def invitee_locale(invitees: Sequence[Researcher], *, fallback: Locale) -> Locale:
    """The language of the researcher with the invited email (the latest updated, if several), else `fallback`."""
    if not invitees:
        return fallback
    return max(invitees, key=lambda researcher: researcher.updated_at).locale


def _latest_name(invitees: Sequence[Researcher]) -> str:
    return max(invitees, key=lambda researcher: researcher.updated_at).name if invitees else ""
