"""Rendering: one list of blocks per mail, made into plain text and HTML in the phrases of the reader's language.

Pure: no I/O. The HTML renderer escapes all text and every URL, so a study called `<script>` stays text;
names are folded onto one line so a line break in a name cannot break a subject.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from chalicelib.services.accounts.emails import plain_address
from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.dropoff.model import Upload
from chalicelib.services.dropoff.upload_rules import human_size
from chalicelib.services.mail.phrases import PHRASES, Phrases
from chalicelib.services.mail.ports import OutgoingMail
from chalicelib.services.studies.model import Invitation, InvitationStatus, Study
from chalicelib.services.workspaces.lifecycle import Workspace

ACCEPT_PATH = "/invitations/accept"


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


def accept_link(frontend_url: str, token: str) -> str:
    """Where the invitee accepts: the configured frontend, never a host taken from a request."""
    return f"{frontend_url.rstrip('/')}{ACCEPT_PATH}?{urlencode({'token': token})}"


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


def render_workspace_mail(
    workspace: Workspace, study_name: str, owner: Researcher, event: str, frontend_url: str
) -> OutgoingMail:
    """The `event` mail (`ready`, `failed`, `expiring`, `expired`) to the workspace's owner, in their language."""
    words = PHRASES.get(owner.locale, PHRASES[Locale.EN]).workspace
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
