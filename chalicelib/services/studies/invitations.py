"""Invitations: invite by email (admin+), resend, revoke, list; accept or decline by token.

The token is 256 random bits, stored only as a hash, works once, and is bound to the invited
email: only a researcher whose identity provider verified that email may accept, decline or list it.
Invalid, used, revoked and expired tokens all get the same answer. Every change is in
the study's audit log; mail goes out through the mail queue after the invitation is written.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.auth.principal import hash_secret
from chalicelib.errors import (
    AlreadyMemberError,
    ConflictError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationError,
)
from chalicelib.models import keys
from chalicelib.services.accounts.emails import normalise_email, require_verified_email, same_email
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.accounts.ports import ResearcherRepository
from chalicelib.services.common.model import BROKER, AuditEntry, AuditOutcome, Page, PageRequest, new_id, utcnow
from chalicelib.services.common.ports import Ledger
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.messages import AnswerMessage, InvitationMessage, InviterStoodDownMessage, answer_of
from chalicelib.services.studies.access import Granted, Permission, require
from chalicelib.services.studies.model import Invitation, InvitationStatus, MailStatus, Membership, Role, StudyAccess
from chalicelib.services.studies.ports import InvitationRepository, StudyRepository

if TYPE_CHECKING:
    from chalicelib.config import Settings

Clock = Callable[[], datetime]
_INVALID = "This invitation link is not valid: it was used, revoked, replaced by a newer one, or it expired."


@dataclass(frozen=True, slots=True)
class InvitationSettings:
    """How long a link lasts, how many may be sent, how long a message may be (defaults in `Settings`)."""

    ttl: timedelta
    per_study_per_hour: int
    per_inviter_per_day: int
    message_max: int

    @classmethod
    def from_settings(cls, s: Settings) -> InvitationSettings:
        ttl = timedelta(days=s.invitation_ttl_days)
        return cls(ttl, s.invitations_per_study_per_hour, s.invitations_per_inviter_per_day, s.invitation_message_max)


@dataclass(frozen=True, slots=True)
class Outbox:
    """Where invitation changes go: storage, the rate-limit ledger and the mail queue."""

    invitations: InvitationRepository
    ledger: Ledger
    mail: MailQueue


def _audit(granted: Granted, action: str, invitation: Invitation, moment: datetime, detail: str = "") -> AuditEntry:
    return AuditEntry(
        granted.study.id, granted.caller.id, action, f"invitation:{invitation.id}", AuditOutcome.SUCCESS, moment, detail
    )


def _check_rate(outbox: Outbox, settings: InvitationSettings, study_id: str, inviter_id: str, moment: datetime) -> None:
    hour = moment.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    limits = (
        (keys.invitations_of_study(study_id, hour), settings.per_study_per_hour, hour, timedelta(hours=1)),
        (keys.invitations_of_inviter(inviter_id, day), settings.per_inviter_per_day, day, timedelta(days=1)),
    )
    for key, limit, window, length in limits:
        # Each counter is kept one window longer than the window it counts; past its limit, retry next window.
        if not outbox.ledger.count(key, limit=limit, until=window + 2 * length):
            retry = window + length
            raise RateLimitedError(
                detail="Too many invitations; try again later.",
                headers={"Retry-After": str(max(1, int((retry - moment).total_seconds())))},
            )


def _send_link(outbox: Outbox, invitation: Invitation, token: str) -> None:
    outbox.mail.send(InvitationMessage(mail_id=invitation.mail_id, invitation_id=invitation.id, token=token))


def _fresh_link(invitation: Invitation, settings: InvitationSettings, moment: datetime) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(32)
    renewed = replace(
        invitation,
        token_hash=hash_secret(token),
        mail_id=new_id(),
        mail_status=MailStatus.QUEUED,
        expires_at=moment + settings.ttl,
        updated_at=moment,
    )
    return renewed, token


def invite(
    access: StudyAccess,
    studies: StudyRepository,
    researchers: ResearcherRepository,
    outbox: Outbox,
    settings: InvitationSettings,
    *,
    email: str,
    role: Role,
    name: str = "",
    message: str = "",
    now: Clock = utcnow,
) -> tuple[Invitation, bool]:
    """Invite an email to the study (admin+); returns the invitation and whether it is new.

    A pending invitation to the same email is resent rather than duplicated.
    """
    granted = require(access, Permission.MANAGE, studies=studies, action="invitation.created", now=now)
    email = normalise_email(email)
    if role is Role.OWNER:
        raise ValidationError(detail="Nobody is invited as owner.", errors=[FieldError("role", "owner is not offered")])
    if len(message) > settings.message_max:
        raise ValidationError(
            detail="The message is too long.",
            errors=[FieldError("message", f"at most {settings.message_max} characters")],
        )
    for researcher in researchers.all_by_email(email):
        if studies.membership(granted.study.id, researcher.id) is not None:
            raise ConflictError(detail="This researcher is already a member of the study.")
    moment = now()
    pending = [
        i
        for i in outbox.invitations.for_email(email, PageRequest(limit=100)).items
        if i.study_id == granted.study.id and i.status is InvitationStatus.PENDING
    ]
    if pending:
        return _resend(granted, outbox, settings, pending[0], moment), False
    _check_rate(outbox, settings, granted.study.id, granted.caller.id, moment)
    invitation, token = _fresh_link(
        Invitation(
            id=new_id(),
            study_id=granted.study.id,
            email=email,
            role=role,
            inviter_id=granted.caller.id,
            token_hash="",
            expires_at=moment,
            created_at=moment,
            updated_at=moment,
            name=name.strip(),
            message=message,
        ),
        settings,
        moment,
    )
    saved = outbox.invitations.create(invitation, _audit(granted, "invitation.created", invitation, moment, email))
    _send_link(outbox, saved, token)
    return saved, True


def _resend(
    granted: Granted, outbox: Outbox, settings: InvitationSettings, invitation: Invitation, moment: datetime
) -> Invitation:
    if invitation.status is not InvitationStatus.PENDING:
        raise ConflictError(detail=f"This invitation is {invitation.status_at(moment).value}; invite again instead.")
    _check_rate(outbox, settings, granted.study.id, granted.caller.id, moment)
    renewed, token = _fresh_link(invitation, settings, moment)
    saved = outbox.invitations.update(renewed, _audit(granted, "invitation.resent", renewed, moment, renewed.email))
    _send_link(outbox, saved, token)
    return saved


def _of_study(outbox: Outbox, study_id: str, invitation_id: str) -> Invitation:
    invitation = outbox.invitations.get(invitation_id)
    if invitation is None or invitation.study_id != study_id:
        raise NotFoundError(detail="No such invitation in this study.")
    return invitation


def resend(
    access: StudyAccess,
    studies: StudyRepository,
    outbox: Outbox,
    settings: InvitationSettings,
    *,
    invitation_id: str,
    now: Clock = utcnow,
) -> Invitation:
    """A new link (and a new expiry) for a pending or expired invitation; the old link stops working."""
    target = f"invitation:{invitation_id}"
    granted = require(access, Permission.MANAGE, studies=studies, action="invitation.resent", target=target, now=now)
    return _resend(granted, outbox, settings, _of_study(outbox, granted.study.id, invitation_id), now())


def revoke(
    access: StudyAccess, studies: StudyRepository, outbox: Outbox, *, invitation_id: str, now: Clock = utcnow
) -> None:
    """Revoke a pending invitation; its link stops working."""
    target = f"invitation:{invitation_id}"
    granted = require(access, Permission.MANAGE, studies=studies, action="invitation.revoked", target=target, now=now)
    invitation = _of_study(outbox, granted.study.id, invitation_id)
    moment = now()
    if invitation.status is not InvitationStatus.PENDING:
        raise ConflictError(detail=f"This invitation is {invitation.status.value} already.")
    revoked = replace(invitation, status=InvitationStatus.REVOKED, updated_at=moment)
    outbox.invitations.update(revoked, _audit(granted, "invitation.revoked", revoked, moment, revoked.email))


_STOOD_DOWN = {
    "removed": "its inviter was removed from the study",
    "left": "its inviter left the study",
    "demoted": "its inviter is no longer an admin of the study",
}


def revoke_sent_by(
    invitations: InvitationRepository, stood_down: InviterStoodDownMessage, *, now: Clock = utcnow
) -> list[str]:
    """Revoke every pending invitation the inviter sent in the study, each audited with why; no mail goes out.

    Returns the invitations it revoked. One that changed meanwhile is read again: if it is still pending
    it is revoked then, so a repeated message revokes nothing twice and misses nothing.
    """
    revoked: list[str] = []
    page = PageRequest(limit=100)
    while True:
        batch = invitations.pending_from(stood_down.study_id, stood_down.inviter_id, page)
        for invitation in batch.items:
            if _revoke_one(invitations, invitation, stood_down, now()):
                revoked.append(invitation.id)
        if batch.next_start is None:
            return revoked
        page = PageRequest(limit=100, start=batch.next_start)


def _revoke_one(
    invitations: InvitationRepository, found: Invitation, stood_down: InviterStoodDownMessage, moment: datetime
) -> bool:
    invitation: Invitation | None = found
    for _ in range(3):
        if invitation is None or invitation.status is not InvitationStatus.PENDING:
            return False
        audit = AuditEntry(
            invitation.study_id,
            stood_down.actor_id,
            "invitation.revoked",
            f"invitation:{invitation.id}",
            AuditOutcome.SUCCESS,
            moment,
            _STOOD_DOWN[stood_down.reason],
        )
        try:
            invitations.update(replace(invitation, status=InvitationStatus.REVOKED, updated_at=moment), audit)
        except ConflictError:
            invitation = invitations.get(invitation.id)  # resent or answered meanwhile: look again
            continue
        return True
    raise ConflictError(detail=f"invitation {found.id} kept changing; the queue will try again")


def list_for_study(access: StudyAccess, outbox: Outbox, page: PageRequest) -> Page[Invitation]:
    """The study's invitations, newest first (admin+, and platform admins, who read everything)."""
    granted = require(access, Permission.AUDIT)
    return outbox.invitations.of_study(granted.study.id, page)


def pending_for(caller: Researcher, outbox: Outbox, page: PageRequest, *, now: Clock = utcnow) -> Page[Invitation]:
    """Invitations waiting for the caller's email (a page may hold fewer than `limit`: others are filtered out).

    Only for a verified email: the list names studies and inviters, which the address's owner alone should see.
    """
    require_verified_email(caller)
    found = outbox.invitations.for_email(normalise_email(caller.email), page)
    moment = now()
    return Page([i for i in found.items if i.status_at(moment) is InvitationStatus.PENDING], found.next_start)


def _valid(outbox: Outbox, caller: Researcher, token: str, moment: datetime) -> Invitation:
    require_verified_email(caller)
    invitation = outbox.invitations.by_token_hash(hash_secret(token))
    if invitation is None or invitation.status_at(moment) is not InvitationStatus.PENDING:
        raise NotFoundError(detail=_INVALID)
    if not same_email(caller.email, invitation.email):
        raise PermissionDeniedError(
            detail="This invitation is for another email address than the one you logged in with."
        )
    return invitation


def _answered(outbox: Outbox, invitation: Invitation, answer: InvitationStatus) -> None:
    outbox.mail.send(AnswerMessage(mail_id=new_id(), invitation_id=invitation.id, answer=answer_of(answer)))


def accept(
    caller: Researcher, studies: StudyRepository, outbox: Outbox, *, token: str, now: Clock = utcnow
) -> Membership:
    """Join the study the invitation is for; returns the membership (an existing one if already a member).

    Of concurrent accepts of one invitation exactly one succeeds; an existing membership keeps its role.
    """
    moment = now()
    invitation = _valid(outbox, caller, token, moment)
    accepted = replace(invitation, status=InvitationStatus.ACCEPTED, updated_at=moment)
    audit = AuditEntry(
        invitation.study_id,
        caller.id,
        "invitation.accepted",
        f"invitation:{invitation.id}",
        AuditOutcome.SUCCESS,
        moment,
    )
    membership: Membership | None = Membership(invitation.study_id, caller.id, invitation.role, moment)
    try:
        try:
            outbox.invitations.accept(accepted, membership, audit)
        except AlreadyMemberError:
            membership = None
            outbox.invitations.accept(accepted, None, audit)
    except ConflictError as exc:
        raise NotFoundError(detail=_INVALID) from exc
    _answered(outbox, invitation, InvitationStatus.ACCEPTED)
    if membership is None:
        membership = studies.membership(invitation.study_id, caller.id)
        if membership is None:  # removed in the instant since; the invitation is spent all the same
            raise NotFoundError(detail=_INVALID)
    return membership


def decline(caller: Researcher, outbox: Outbox, *, token: str, now: Clock = utcnow) -> None:
    """Turn the invitation down; the inviter hears of it."""
    moment = now()
    invitation = _valid(outbox, caller, token, moment)
    declined = replace(invitation, status=InvitationStatus.DECLINED, updated_at=moment)
    audit = AuditEntry(
        invitation.study_id,
        caller.id,
        "invitation.declined",
        f"invitation:{invitation.id}",
        AuditOutcome.SUCCESS,
        moment,
    )
    try:
        outbox.invitations.update(declined, audit)
    except ConflictError as exc:
        raise NotFoundError(detail=_INVALID) from exc
    _answered(outbox, invitation, InvitationStatus.DECLINED)


# A queued mail normally leaves within seconds, and the queue's retries end within about 15 minutes
# (visibility 180 s x 5 receives); a link still queued after this was never queued at all.
UNQUEUED_AFTER = timedelta(minutes=30)


def requeue_lost_links(outbox: Outbox, settings: InvitationSettings, *, now: Clock = utcnow) -> list[str]:
    """Give a fresh link, and queue its mail, to every pending invitation whose mail a crash never queued.

    The raw token lived only in the lost message, so the invitation gets a new one (its expiry stays); a
    late original message no longer matches the invitation's mail id and is dropped by the mail function.
    Returns the invitations it sent again.
    """
    moment = now()
    requeued: list[str] = []
    page = PageRequest(limit=100)
    while True:
        batch = outbox.invitations.queued_between(moment - settings.ttl, moment - UNQUEUED_AFTER, page)
        for invitation in batch.items:
            if invitation.status_at(moment) is not InvitationStatus.PENDING:
                continue
            token = secrets.token_urlsafe(32)
            renewed = replace(invitation, token_hash=hash_secret(token), mail_id=new_id(), updated_at=moment)
            audit = AuditEntry(
                invitation.study_id,
                BROKER,
                "invitation.requeued",
                f"invitation:{invitation.id}",
                AuditOutcome.SUCCESS,
                moment,
                "its mail was never queued; a new link was sent",
            )
            try:
                saved = outbox.invitations.update(renewed, audit)
            except ConflictError:
                continue  # changed meanwhile (a resend, an answer): nothing is lost any more
            _send_link(outbox, saved, token)
            requeued.append(invitation.id)
        if batch.next_start is None:
            return requeued
        page = PageRequest(limit=100, start=batch.next_start)
