"""The mail family: what an invitation, its answer and an upload notice say, and delivering one queued message once.

The invitations service queues a small message (ids and the raw token, never the mail itself);
the mail worker hands each message to `deliver`, which reads the invitation as it is now,
renders the mail in the reader's language and sends it. SQS delivers at least once, so a claim
in the ledger keyed by the message's `mail_id` makes every mail go out once; a failed send gives
the claim back so the queue's redrive can try again, and the last try marks the mail failed.
An upload notice goes to every admin and the owner of the study, with a claim per recipient, so a
retry sends only what did not go out.

Pure: no boto3 and no Chalice. Every mail is rendered from one list of blocks into both plain text
and HTML, and the HTML renderer escapes all text, so a study called `<script>` stays text.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from chalicelib.services.domain import (
    Invitation,
    InvitationStatus,
    Locale,
    MailStatus,
    OutgoingMail,
    PageRequest,
    Researcher,
    Role,
    Study,
    Upload,
    UploadStatus,
)
from chalicelib.services.emails import plain_address
from chalicelib.services.messages import AnswerMessage, InvitationMessage, UploadReceivedMessage
from chalicelib.services.uploads import human_size

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.services.ports import (
        InvitationRepository,
        Ledger,
        Mailer,
        ResearcherRepository,
        StudyRepository,
        UploadRepository,
    )

log = logging.getLogger(__name__)

# SQS keeps a message for at most 14 days, so a claim this long outlives every redelivery of it.
CLAIM_LIFETIME = timedelta(days=14)
ACCEPT_PATH = "/invitations/accept"


class MailDeliveryError(RuntimeError):
    """The mail service refused a mail or could not be reached; the queue tries again."""


# The invitation mails, composed from the invitation as it is now; upload notices go their own way.
InvitationMailMessage = InvitationMessage | AnswerMessage


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
    claim = f"mail#{message.mail_id}"
    if not ledger.claim(claim, until=now + CLAIM_LIFETIME):
        log.info("mail %s was sent already: not again", message.mail_id)
        return
    try:
        mailer.send(mail)
    except Exception:  # whatever failed, the claim must not outlive a mail that was not sent; re-raised
        try:
            if receive_count >= settings.mail_max_receive_count:
                log.error("mail %s failed on its last try; it goes to the dead-letter queue", message.mail_id)
                invitations.set_mail_status(message.invitation_id, message.mail_id, MailStatus.FAILED)
        finally:
            ledger.release(claim)
        raise
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
        claim = f"mail#{message.mail_id}#{admin.id}"
        if not ledger.claim(claim, until=now + CLAIM_LIFETIME):
            continue
        try:
            mailer.send(render_upload_received(upload, study, admin, frontend_url=settings.frontend_url))
        except Exception:  # one admin's failure must not hold up the others; the message is retried below
            log.exception("mail %s to admin %s failed", message.mail_id, admin.id)
            ledger.release(claim)
            failed.append(admin.id)
            continue
        log.info("mail %s sent to admin %s", message.mail_id, admin.id)
    if failed:
        raise MailDeliveryError(f"mail {message.mail_id} failed for {len(failed)} admin(s); it is tried again")


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


def accept_link(frontend_url: str, token: str) -> str:
    """Where the invitee accepts: the configured frontend, never a host taken from a request."""
    return f"{frontend_url.rstrip('/')}{ACCEPT_PATH}?{urlencode({'token': token})}"


# Rendering ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Quote:
    """Someone's own words, kept line for line."""

    text: str


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


Block = Paragraph | Quote | Link


@dataclass(frozen=True, slots=True)
class Phrases:
    """Everything a mail says in one language; `{name}` fields are filled in per mail."""

    hello: str
    hello_name: str
    invitation_subject: str
    invitation_intro: str
    wrote: str
    accept: str
    expiry: str
    reply: str
    accepted_subject: str
    accepted_body: str
    declined_subject: str
    declined_body: str
    signature: str
    expires_at: str
    roles: Mapping[Role, str]
    months: tuple[str, ...]
    upload_subject: str
    upload_body: str
    upload_sender: str
    upload_no_sender: str
    upload_link: str
    upload_why: str
    decimal_mark: str


PHRASES: Mapping[Locale, Phrases] = {
    Locale.EN: Phrases(
        hello="Hello,",
        hello_name="Hello {name},",
        invitation_subject='{inviter} invites you to the study "{study}"',
        invitation_intro=(
            '{inviter} invites you to join the study "{study}" as {role} in the Virtual Research Environment.'
        ),
        wrote="{inviter} wrote:",
        accept="Accept the invitation",
        expiry="The link works once and expires on {expires}.",
        reply="Did you not expect this invitation? Then you can ignore this mail. A reply to it reaches {inviter}.",
        accepted_subject='{invitee} accepted your invitation to "{study}"',
        accepted_body='{invitee} accepted your invitation to join the study "{study}" and is now a member as {role}.',
        declined_subject='{invitee} declined your invitation to "{study}"',
        declined_body='{invitee} declined your invitation to join the study "{study}".',
        signature="Virtual Research Environment",
        expires_at="{day} {month} {year} at {time} UTC",
        roles={Role.VIEWER: "a viewer", Role.CONTRIBUTOR: "a contributor", Role.ADMIN: "an admin", Role.OWNER: "owner"},
        months=(
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        upload_subject='New data for "{study}": {file}',
        upload_body='"{file}" ({size}) arrived for the study "{study}" on {when}.',
        upload_sender="It was sent by {sender}.",
        upload_no_sender="The sender left no name or email address.",
        upload_link="See the study's uploads",
        upload_why="You get this mail as an admin of the study.",
        decimal_mark=".",
    ),
    Locale.NL: Phrases(
        hello="Hallo,",
        hello_name="Beste {name},",
        invitation_subject='{inviter} nodigt je uit voor de studie "{study}"',
        invitation_intro=(
            '{inviter} nodigt je uit om als {role} mee te doen aan de studie "{study}" '
            "in de Virtual Research Environment."
        ),
        wrote="{inviter} schreef:",
        accept="Accepteer de uitnodiging",
        expiry="De link werkt één keer en verloopt op {expires}.",
        reply=(
            "Verwachtte je deze uitnodiging niet? Dan kun je deze mail negeren. "
            "Een antwoord op deze mail komt bij {inviter} terecht."
        ),
        accepted_subject='{invitee} heeft je uitnodiging voor "{study}" geaccepteerd',
        accepted_body=(
            '{invitee} heeft je uitnodiging om mee te doen aan de studie "{study}" geaccepteerd '
            "en is nu lid als {role}."
        ),
        declined_subject='{invitee} heeft je uitnodiging voor "{study}" afgewezen',
        declined_body='{invitee} heeft je uitnodiging om mee te doen aan de studie "{study}" afgewezen.',
        signature="Virtual Research Environment",
        expires_at="{day} {month} {year} om {time} UTC",
        roles={Role.VIEWER: "kijker", Role.CONTRIBUTOR: "bijdrager", Role.ADMIN: "beheerder", Role.OWNER: "eigenaar"},
        months=(
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ),
        upload_subject='Nieuwe data voor "{study}": {file}',
        upload_body='"{file}" ({size}) is op {when} binnengekomen voor de studie "{study}".',
        upload_sender="Verstuurd door {sender}.",
        upload_no_sender="De afzender heeft geen naam of e-mailadres achtergelaten.",
        upload_link="Bekijk de uploads van de studie",
        upload_why="Je krijgt deze mail als beheerder van de studie.",
        decimal_mark=",",
    ),
}


def render_invitation(
    invitation: Invitation,
    study: Study,
    inviter: Researcher,
    *,
    token: str,
    locale: Locale,
    frontend_url: str,
) -> OutgoingMail:
    """The mail that invites `invitation.email`, in `locale`; replies go to the inviter."""
    words = PHRASES[locale]
    names = {"inviter": _one_line(inviter.name) or inviter.email, "study": _one_line(study.name)}
    greeting = words.hello_name.format(name=_one_line(invitation.name)) if invitation.name.strip() else words.hello
    blocks: list[Block] = [
        Paragraph(greeting),
        Paragraph(words.invitation_intro.format(role=words.roles[invitation.role], **names)),
    ]
    if invitation.message.strip():
        blocks += [Paragraph(words.wrote.format(**names)), Quote(invitation.message.strip())]
    blocks += [
        Link(words.accept, accept_link(frontend_url, token)),
        Paragraph(words.expiry.format(expires=_when(invitation.expires_at, words))),
        Paragraph(words.reply.format(**names)),
        Paragraph(words.signature),
    ]
    subject = words.invitation_subject.format(**names)
    return OutgoingMail(
        to=invitation.email,
        subject=subject,
        text=render_text(blocks),
        html=render_html(blocks, title=subject, locale=locale),
        reply_to=inviter.email,
    )


def render_answer(
    invitation: Invitation,
    study: Study,
    inviter: Researcher,
    *,
    answer: InvitationStatus,
    invitee_name: str = "",
) -> OutgoingMail:
    """The mail that tells the inviter, in their own language, how the invitee answered; replies go to the invitee."""
    words = PHRASES[inviter.locale]
    invitee = _one_line(invitee_name or invitation.name)
    names = {
        "invitee": f"{invitee} ({invitation.email})" if invitee else invitation.email,
        "study": _one_line(study.name),
        "role": words.roles[invitation.role],
    }
    subject_template, body = (
        (words.accepted_subject, words.accepted_body)
        if answer is InvitationStatus.ACCEPTED
        else (words.declined_subject, words.declined_body)
    )
    greeting = words.hello_name.format(name=_one_line(inviter.name)) if inviter.name.strip() else words.hello
    blocks: list[Block] = [Paragraph(greeting), Paragraph(body.format(**names)), Paragraph(words.signature)]
    subject = subject_template.format(**names)
    return OutgoingMail(
        to=inviter.email,
        subject=subject,
        text=render_text(blocks),
        html=render_html(blocks, title=subject, locale=inviter.locale),
        reply_to=invitation.email,
    )


def uploads_link(frontend_url: str, study_id: str) -> str:
    """Where the study's uploads are listed in the frontend."""
    return f"{frontend_url.rstrip('/')}/studies/{study_id}/uploads"


def render_upload_received(upload: Upload, study: Study, admin: Researcher, *, frontend_url: str) -> OutgoingMail:
    """The notice to one admin, in their language, that `upload` arrived; replies go to the sender, if known."""
    words = PHRASES[admin.locale]
    names = {
        "study": _one_line(study.name),
        "file": _one_line(upload.file_name),
        "size": human_size(upload.size, decimal_mark=words.decimal_mark),
        "when": _when(upload.created_at, words),
    }
    # Checked again here: a record written before the check was strict may hold more than one plain address.
    reply_to = upload.sender_email if upload.sender_email and plain_address(upload.sender_email) else None
    email = f"<{reply_to}>" if reply_to else ""
    sender = " ".join(part for part in (_one_line(upload.sender_name or ""), email) if part)
    greeting = words.hello_name.format(name=_one_line(admin.name)) if admin.name.strip() else words.hello
    blocks: list[Block] = [
        Paragraph(greeting),
        Paragraph(words.upload_body.format(**names)),
        Paragraph(words.upload_sender.format(sender=sender) if sender else words.upload_no_sender),
        Link(words.upload_link, uploads_link(frontend_url, study.id)),
        Paragraph(words.upload_why),
        Paragraph(words.signature),
    ]
    subject = words.upload_subject.format(**names)
    return OutgoingMail(
        to=admin.email,
        subject=subject,
        text=render_text(blocks),
        html=render_html(blocks, title=subject, locale=admin.locale),
        reply_to=reply_to,
    )


def render_text(blocks: Sequence[Block]) -> str:
    """The plain-text body: paragraphs apart, quotes as `> ` lines, links on a line of their own."""
    parts = []
    for block in blocks:
        if isinstance(block, Quote):
            parts.append("\n".join(f"> {line}".rstrip() for line in block.text.splitlines()))
        elif isinstance(block, Link):
            parts.append(f"{block.label}:\n{block.url}")
        else:
            parts.append(block.text)
    return "\n\n".join(parts) + "\n"


_QUOTE_STYLE = ' style="border-left:3px solid #ccc;margin:0;padding-left:1em"'


def render_html(blocks: Sequence[Block], *, title: str, locale: Locale) -> str:
    """The HTML body; every piece of text and every URL is escaped."""
    body = []
    for block in blocks:
        if isinstance(block, Quote):
            lines = "<br>\n".join(html.escape(line) for line in block.text.splitlines())
            body.append(f"<blockquote{_QUOTE_STYLE}>{lines}</blockquote>")
        elif isinstance(block, Link):
            url = html.escape(block.url)
            body.append(f'<p><a href="{url}">{html.escape(block.label)}</a><br>\n<small>{url}</small></p>')
        else:
            body.append(f"<p>{html.escape(block.text)}</p>")
    head = f'<head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
    return f'<!DOCTYPE html>\n<html lang="{locale.value}">\n{head}\n<body>\n' + "\n".join(body) + "\n</body>\n</html>\n"


def _one_line(value: str) -> str:
    """A name as one line: a line break in a study or person name would break a subject."""
    return " ".join(value.split())


def _when(moment: datetime, words: Phrases) -> str:
    at = moment.astimezone(UTC)
    return words.expires_at.format(day=at.day, month=words.months[at.month - 1], year=at.year, time=f"{at:%H:%M}")
