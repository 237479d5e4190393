"""Members of a study: list them, change their roles, remove them, or leave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from chalicelib.errors import ConflictError, FieldError, NotFoundError, PermissionDeniedError, ValidationError
from chalicelib.services.access import Permission, active_caller, require
from chalicelib.services.domain import (
    AuditEntry,
    Member,
    Outcome,
    Page,
    PageRequest,
    Role,
    StudyAccess,
    utcnow,
)
from chalicelib.services.ports import ResearcherRepository, StudyRepository

Clock = Callable[[], datetime]


def list_members(
    access: StudyAccess, studies: StudyRepository, researchers: ResearcherRepository, page: PageRequest
) -> Page[Member]:
    """One page of members with their names: one query, one batch read."""
    granted = require(access, Permission.READ)
    memberships = studies.members(granted.study.id, page)
    people = researchers.get_many([m.researcher_id for m in memberships.items])
    return Page([Member(m, people.get(m.researcher_id)) for m in memberships.items], memberships.next_start)


def change_role(
    access: StudyAccess,
    studies: StudyRepository,
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
            Outcome.SUCCESS,
            moment,
            detail=f"{member.role.value} -> {role.value}",
        ),
    )
    return Member(saved, found.researcher)


def remove_member(access: StudyAccess, studies: StudyRepository, *, researcher_id: str, now: Clock = utcnow) -> None:
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
        AuditEntry(granted.study.id, caller.id, action, target_name, Outcome.SUCCESS, now()),
    )
