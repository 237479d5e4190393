"""Studies: create, list, read, edit, delete, transfer ownership, rotate the upload code.

Every change writes its audit entry in the same transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.errors import ConflictError, FieldError, ValidationError
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import UNSET, AuditEntry, AuditOutcome, Page, PageRequest, Unset, new_id, utcnow
from chalicelib.services.studies.access import Granted, Permission, require
from chalicelib.services.studies.model import Membership, Role, Study, StudyAccess, new_upload_code
from chalicelib.services.studies.ports import ReferenceRepository, StudyRepository
from chalicelib.services.studies.reference import RESEARCH_FIELDS

Clock = Callable[[], datetime]
# How the audit log names a changed field: as the API does.
_FIELD_LABELS = {"name": "name", "description": "description", "research_field_id": "research_field"}


@dataclass(frozen=True, slots=True)
class MemberStudy:
    """A study as one of its members sees it."""

    study: Study
    role: Role | None
    member_count: int | None = None


def _audit(granted: Granted, action: str, moment: datetime, target: str = "", detail: str = "") -> AuditEntry:
    return AuditEntry(
        study_id=granted.study.id,
        actor_id=granted.caller.id,
        action=action,
        target=target or f"study:{granted.study.id}",
        outcome=AuditOutcome.SUCCESS,
        at=moment,
        detail=detail,
    )


def _check_research_field(references: ReferenceRepository, research_field: str | None) -> None:
    if research_field is not None and references.get(RESEARCH_FIELDS, research_field) is None:
        raise ValidationError(
            detail="Unknown research field.",
            errors=[FieldError("research_field", "not a known research field")],
        )


def list_studies(caller: Researcher, studies: StudyRepository, page: PageRequest) -> Page[MemberStudy]:
    """The caller's studies with their role: one query for memberships, one batch read for studies."""
    memberships = studies.memberships_of(caller.id, page)
    found = studies.get_many([m.study_id for m in memberships.items])
    # A membership whose study is gone (deleted mid-cleanup) is skipped, not shown.
    items = [MemberStudy(found[m.study_id], m.role) for m in memberships.items if m.study_id in found]
    return Page(items, memberships.next_start)


def create_study(
    caller: Researcher,
    studies: StudyRepository,
    references: ReferenceRepository,
    *,
    name: str,
    description: str = "",
    research_field: str | None = None,
    now: Clock = utcnow,
) -> MemberStudy:
    """A new study with the caller as its owner."""
    _check_research_field(references, research_field)
    moment = now()
    study = Study(
        id=new_id(),
        name=name.strip(),
        description=description,
        research_field_id=research_field,
        owner_id=caller.id,
        upload_code=new_upload_code(),
        created_at=moment,
        updated_at=moment,
    )
    owner = Membership(study.id, caller.id, Role.OWNER, moment)
    audit = AuditEntry(study.id, caller.id, "study.created", f"study:{study.id}", AuditOutcome.SUCCESS, moment)
    studies.create(study, owner, audit)
    return MemberStudy(study, Role.OWNER, member_count=1)


def get_study(access: StudyAccess, studies: StudyRepository) -> MemberStudy:
    """The study with its member count, if the caller may read it."""
    granted = require(access, Permission.READ)
    return MemberStudy(granted.study, granted.role, studies.member_count(granted.study.id))


def update_study(
    access: StudyAccess,
    studies: StudyRepository,
    references: ReferenceRepository,
    *,
    name: str | Unset = UNSET,
    description: str | Unset = UNSET,
    research_field: str | Unset | None = UNSET,
    expected_version: int | None = None,
    now: Clock = utcnow,
) -> MemberStudy:
    """Edit the study (admin+); `expected_version`, when given, must match the stored one."""
    granted = require(access, Permission.MANAGE, studies=studies, action="study.updated", now=now)
    study = granted.study
    if expected_version is not None and expected_version != study.version:
        raise ConflictError(detail="The study changed since you read it; reload and try again.")
    changed = study
    if not isinstance(name, Unset):
        changed = replace(changed, name=name.strip())
    if not isinstance(description, Unset):
        changed = replace(changed, description=description)
    if not isinstance(research_field, Unset):
        _check_research_field(references, research_field)
        changed = replace(changed, research_field_id=research_field)
    if changed == study:
        return MemberStudy(study, granted.role)
    moment = now()
    fields = sorted(label for attr, label in _FIELD_LABELS.items() if getattr(changed, attr) != getattr(study, attr))
    saved = studies.update(
        replace(changed, updated_at=moment),
        _audit(granted, "study.updated", moment, detail="changed " + ", ".join(fields)),
    )
    return MemberStudy(saved, granted.role)


def delete_study(access: StudyAccess, studies: StudyRepository, *, now: Clock = utcnow) -> None:
    """Delete the study (owner only); 409 while any of its workspaces is not DELETED."""
    granted = require(access, Permission.OWN, studies=studies, action="study.deleted", now=now)
    studies.delete(granted.study, _audit(granted, "study.deleted", now()))


def transfer_study(
    access: StudyAccess, studies: StudyRepository, *, new_owner_id: str, now: Clock = utcnow
) -> MemberStudy:
    """Hand ownership to another member; the old owner stays on as admin."""
    granted = require(access, Permission.OWN, studies=studies, action="study.transferred", now=now)
    assert granted.membership is not None  # only a member can hold OWN
    if new_owner_id == granted.caller.id:
        raise ValidationError(
            detail="You already own this study.",
            errors=[FieldError("researcher_id", "is the current owner")],
        )
    target = studies.membership(granted.study.id, new_owner_id)
    if target is None:
        raise ValidationError(
            detail="The new owner must already be a member of the study.",
            errors=[FieldError("researcher_id", "not a member of this study")],
        )
    moment = now()
    saved = studies.transfer(
        replace(granted.study, owner_id=new_owner_id, updated_at=moment),
        replace(granted.membership, role=Role.ADMIN),
        replace(target, role=Role.OWNER),
        _audit(granted, "study.transferred", moment, target=f"researcher:{new_owner_id}"),
    )
    return MemberStudy(saved, Role.ADMIN)


def rotate_upload_code(access: StudyAccess, studies: StudyRepository, *, now: Clock = utcnow) -> Study:
    """A fresh upload code (admin+); the old one stops working at once."""
    granted = require(access, Permission.MANAGE, studies=studies, action="study.upload_code_rotated", now=now)
    moment = now()
    return studies.update(
        replace(granted.study, upload_code=new_upload_code(), updated_at=moment),
        _audit(granted, "study.upload_code_rotated", moment),
    )


def audit_log(access: StudyAccess, studies: StudyRepository, page: PageRequest) -> Page[AuditEntry]:
    """The study's audit log, newest first (admin+, or a platform admin)."""
    granted = require(access, Permission.AUDIT)
    return studies.audit_log(granted.study.id, page)


def may_see_upload_code(role: Role | None) -> bool:
    """Only contributors and up see where data can be dropped off for the study."""
    return role is not None and role.at_least(Role.CONTRIBUTOR)


__all__ = [
    "MemberStudy",
    "audit_log",
    "create_study",
    "delete_study",
    "get_study",
    "list_studies",
    "may_see_upload_code",
    "rotate_upload_code",
    "transfer_study",
    "update_study",
]
