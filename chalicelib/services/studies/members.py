"""Members of a study: list them, change their roles, remove them, or leave.

A member who may no longer invite (removed, left, or no longer admin) has the pending invitations they
sent revoked by the mail worker, which gets a message once the change is written: the request stays
within its budget of reads and writes however many invitations there are. Until the worker is done,
accepting such an invitation is refused anyway (the inviter's role is checked in the accept itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from chalicelib.errors import ConflictError, FieldError, NotFoundError, PermissionDeniedError, ValidationError
from chalicelib.services.accounts.ports import ResearcherRepository
from chalicelib.services.common.model import AuditEntry, AuditOutcome, Page, PageRequest, utcnow
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.messages import InviterStoodDownMessage, StandDown
from chalicelib.services.studies.access import Permission, active_caller, require
from chalicelib.services.studies.model import Member, Role, StudyAccess
from chalicelib.services.studies.ports import StudyRepository

Clock = Callable[[], datetime]


def list_members(
    access: StudyAccess, studies: StudyRepository, researchers: ResearcherRepository, page: PageRequest
) -> Page[Member]:
    """One page of members with their names: one query, one batch read."""
    granted = require(access, Permission.READ)
    memberships = studies.members(granted.study.id, page)
    people = researchers.get_many([m.researcher_id for m in memberships.items])
    return Page([Member(m, people.get(m.researcher_id)) for m in memberships.items], memberships.next_start)


def _may_invite(role: Role) -> bool:
    return role.at_least(Permission.MANAGE.least_role)


def _stood_down(mail: MailQueue, study_id: str, inviter_id: str, actor_id: str, reason: StandDown) -> None:
    mail.send(InviterStoodDownMessage(study_id=study_id, inviter_id=inviter_id, actor_id=actor_id, reason=reason))


def change_role(
    access: StudyAccess,
    studies: StudyRepository,
    mail: MailQueue,
    *,
    researcher_id: str,
    role: Role,
    now: Clock = utcnow,
) -> Member:
    """Give a member another role (admin+); the owner's role changes only by transfer."""
    target_name = f"researcher:{researcher_id}"
    granted = require(
        access, Permission.MANAGE, studies=studies, action="member.role_changed", target=target_name, now=now
    )
    if role is Role.OWNER:
        raise ValidationError(
            detail="Ownership moves only by transfer.",
            errors=[FieldError("role", "use POST /studies/{study_id}/transfer to change the owner")],
        )
    found = studies.member(granted.study.id, researcher_id)
    if found is None:
        raise NotFoundError(detail="No such member in this study.")
    member = found.membership
    if member.role is Role.OWNER:
        raise PermissionDeniedError(detail="The owner's role changes only by transfer.")
    if member.role is role:
        return found
    moment = now()
    saved = studies.set_role(
        replace(member, role=role),
        AuditEntry(
            granted.study.id,
            granted.caller.id,
            "member.role_changed",
            target_name,
            AuditOutcome.SUCCESS,
            moment,
            detail=f"{member.role.value} -> {role.value}",
        ),
    )
    if _may_invite(member.role) and not _may_invite(role):
        _stood_down(mail, granted.study.id, researcher_id, granted.caller.id, "demoted")
    return Member(saved, found.researcher)


def remove_member(
    access: StudyAccess, studies: StudyRepository, mail: MailQueue, *, researcher_id: str, now: Clock = utcnow
) -> None:
    """Remove a member (admin+), or leave the study yourself; the owner cannot leave."""
    caller = active_caller(access.researcher)
    leaving = researcher_id == caller.id
    action = "member.left" if leaving else "member.removed"
    target_name = f"researcher:{researcher_id}"
    granted = require(
        access,
        Permission.READ if leaving else Permission.MANAGE,
        studies=studies,
        action=action,
        target=target_name,
        now=now,
    )
    if leaving:
        member = granted.membership
        if member is None:
            raise NotFoundError(detail="You are not a member of this study.")
        if member.role is Role.OWNER:
            raise ConflictError(detail="The owner cannot leave; transfer ownership first.")
    else:
        member = studies.membership(granted.study.id, researcher_id)
        if member is None:
            raise NotFoundError(detail="No such member in this study.")
        if member.role is Role.OWNER:
            raise PermissionDeniedError(detail="The owner cannot be removed; ownership moves only by transfer.")
    studies.remove_member(
        member,
        AuditEntry(granted.study.id, caller.id, action, target_name, AuditOutcome.SUCCESS, now()),
    )
    if _may_invite(member.role):
        _stood_down(mail, granted.study.id, researcher_id, caller.id, "left" if leaving else "removed")
