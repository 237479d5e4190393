"""Platform administration: list researchers, studies, workspaces and the platform's audit log; grant or revoke
`is_admin`, disable accounts. What an admin changes outside a study is audited on the platform (no study id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from chalicelib.errors import ConflictError, NotFoundError, PermissionDeniedError
from chalicelib.services.accounts.emails import normalise_email, require_verified_email
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.accounts.ports import PlatformRepository, ResearcherRepository
from chalicelib.services.common.model import UNSET, AuditEntry, AuditOutcome, Page, PageRequest, Unset, utcnow
from chalicelib.services.studies.model import Study, StudyAccess
from chalicelib.services.studies.ports import StudyRepository
from chalicelib.services.workspaces.lifecycle import Workspace, WorkspaceStatus
from chalicelib.services.workspaces.ports import WorkspaceRepository

Clock = Callable[[], datetime]
# The actor of what the ops command line does (it runs with AWS credentials, not as a researcher).
OPS_CLI = "ops-cli"


def platform_audit(actor_id: str, action: str, target: str, detail: str, at: datetime) -> AuditEntry:
    """An audit entry for the platform's own log (no study)."""
    return AuditEntry("", actor_id, action, target, AuditOutcome.SUCCESS, at, detail)


def require_platform_admin(caller: Researcher) -> None:
    if not caller.is_admin:
        raise PermissionDeniedError(detail="This needs a platform admin.")


def list_researchers(caller: Researcher, researchers: ResearcherRepository, page: PageRequest) -> Page[Researcher]:
    """Every account, a page at a time."""
    require_platform_admin(caller)
    return researchers.every(page)


def list_studies(caller: Researcher, platform: PlatformRepository, page: PageRequest) -> Page[Study]:
    """Every study, newest first."""
    require_platform_admin(caller)
    return platform.studies(page)


def read_audit(caller: Researcher, platform: PlatformRepository, page: PageRequest) -> Page[AuditEntry]:
    """The whole platform's audit log, newest first: every study's entries and the platform admins' own."""
    require_platform_admin(caller)
    return platform.audit(page)


def _changes(before: Researcher, after: Researcher) -> str:
    fields = ("is_admin", "disabled")
    return ", ".join(
        f"{name}: {str(getattr(before, name)).lower()} -> {str(getattr(after, name)).lower()}"
        for name in fields
        if getattr(before, name) != getattr(after, name)
    )


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
    at = now()
    audit = platform_audit(caller.id, "researcher.updated", f"researcher:{target.id}", _changes(target, changed), at)
    return researchers.save(replace(changed, updated_at=at), audit)


def set_platform_admin(
    researchers: ResearcherRepository,
    *,
    is_admin: bool,
    email: str | None = None,
    researcher_id: str | None = None,
    now: Clock = utcnow,
) -> Researcher:
    """The ops CLI's grant-admin and revoke-admin, by researcher id or by email, on any stage.

    By email only a researcher whose identity provider verified that email is granted: anyone can log in
    once with an address their provider never checked, and must not become admin by sharing it.
    """
    found = _by_id(researchers, researcher_id) if researcher_id is not None else _by_email(researchers, email or "")
    if found.is_admin == is_admin:
        return found
    if is_admin and researcher_id is None:
        require_verified_email(found)
    at, changed = now(), replace(found, is_admin=is_admin)
    audit = platform_audit(OPS_CLI, "researcher.updated", f"researcher:{found.id}", _changes(found, changed), at)
    return researchers.save(replace(changed, updated_at=at), audit)


def _by_id(researchers: ResearcherRepository, researcher_id: str) -> Researcher:
    found = researchers.get(researcher_id)
    if found is None:
        raise NotFoundError(detail=f"No researcher with id {researcher_id}.")
    return found


def _by_email(researchers: ResearcherRepository, email: str) -> Researcher:
    """The one researcher with this email, preferring those whose email is verified (an unverified account
    with someone else's address must not block, or take, a grant by email)."""
    normal = normalise_email(email)
    matches = researchers.all_by_email(normal)
    if not matches:
        raise NotFoundError(detail=f"No researcher with email {normal}; they must log in once first.")
    verified = [r for r in matches if r.email_verified] or matches
    if len(verified) > 1:
        ids = ", ".join(sorted(r.id for r in verified))
        raise ConflictError(detail=f"Several researchers share {normal} ({ids}); use --researcher-id.")
    return verified[0]


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
    audit = AuditEntry(
        study.id, caller.id, "study.quota_changed", f"study:{study.id}", AuditOutcome.SUCCESS, now(), detail
    )
    return studies.update(changed, audit)
