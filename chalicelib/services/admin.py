"""Platform administration: list researchers, grant or revoke `is_admin`, disable accounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from chalicelib.errors import ConflictError, NotFoundError, PermissionDeniedError
from chalicelib.services.domain import (
    UNSET,
    AuditEntry,
    Outcome,
    Page,
    PageRequest,
    Researcher,
    Study,
    StudyAccess,
    Unset,
    utcnow,
)
from chalicelib.services.lifecycle import Workspace, WorkspaceStatus
from chalicelib.services.ports import ResearcherRepository, StudyRepository, WorkspaceRepository
from chalicelib.services.researchers import normalise_email

Clock = Callable[[], datetime]


def require_platform_admin(caller: Researcher) -> None:
    if not caller.is_admin:
        raise PermissionDeniedError(detail="This needs a platform admin.")


def list_researchers(caller: Researcher, researchers: ResearcherRepository, page: PageRequest) -> Page[Researcher]:
    """Every account, a page at a time."""
    require_platform_admin(caller)
    return researchers.every(page)


def list_workspaces(
    caller: Researcher, workspaces: WorkspaceRepository, page: PageRequest, status: WorkspaceStatus | None
) -> Page[Workspace]:
    """Every workspace, or those in `status`, newest first."""
    require_platform_admin(caller)
    return workspaces.listed(page, status)


def update_researcher(
    caller: Researcher,
    researchers: ResearcherRepository,
    *,
    researcher_id: str,
    is_admin: bool | Unset = UNSET,
    disabled: bool | Unset = UNSET,
    now: Clock = utcnow,
) -> Researcher:
    """Grant or revoke platform admin, disable or enable an account; never your own (no lock-outs)."""
    require_platform_admin(caller)
    target = researchers.get(researcher_id)
    if target is None:
        raise NotFoundError(detail="No such researcher.")
    if target.id == caller.id:
        raise ConflictError(detail="Ask another platform admin to change your own account.")
    changed = target
    if not isinstance(is_admin, Unset):
        changed = replace(changed, is_admin=is_admin)
    if not isinstance(disabled, Unset):
        changed = replace(changed, disabled=disabled)
    if changed == target:
        return target
    return researchers.save(replace(changed, updated_at=now()))


def set_platform_admin(
    researchers: ResearcherRepository, *, email: str, is_admin: bool, now: Clock = utcnow
) -> Researcher:
    """The ops CLI's grant-admin and revoke-admin, by email, on any stage."""
    matches = researchers.all_by_email(normalise_email(email))
    if not matches:
        raise NotFoundError(detail=f"No researcher with email {normalise_email(email)}; they must log in once first.")
    if len(matches) > 1:
        ids = ", ".join(sorted(r.id for r in matches))
        raise ConflictError(
            detail=f"Several researchers share {normalise_email(email)} ({ids}); use /admin/researchers."
        )
    found = matches[0]
    if found.is_admin == is_admin:
        return found
    return researchers.save(replace(found, is_admin=is_admin, updated_at=now()))


def set_quota(
    caller: Researcher,
    access: StudyAccess,
    studies: StudyRepository,
    *,
    max_workspaces: int | Unset | None = UNSET,
    max_vcpus: int | Unset | None = UNSET,
    now: Clock = utcnow,
) -> Study:
    """Override a study's workspace quota (None: back to the stage's default); audited in the study."""
    require_platform_admin(caller)
    study = access.study
    if study is None:
        raise NotFoundError(detail="No such study.")
    changed = replace(study, updated_at=now())
    if not isinstance(max_workspaces, Unset):
        changed.max_workspaces = max_workspaces
    if not isinstance(max_vcpus, Unset):
        changed.max_vcpus = max_vcpus
    detail = f"max_workspaces={changed.max_workspaces}, max_vcpus={changed.max_vcpus}"
    audit = AuditEntry(study.id, caller.id, "study.quota_changed", f"study:{study.id}", Outcome.SUCCESS, now(), detail)
    return studies.update(changed, audit)
