"""`/admin/*`: platform administration (platform admins only)."""

from __future__ import annotations

from typing import Any

import msgspec

from chalicelib.api.framework import Call, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import AdminStudyView, PlatformAuditView, ResearcherAdminUpdate, ResearcherAdminView
from chalicelib.api.studies import render_audit
from chalicelib.api.workspace_schemas import QuotaView, StudyQuotaUpdate, WorkspaceListQuery, WorkspaceView
from chalicelib.api.workspaces import render_workspace
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import AuditEntry, Page
from chalicelib.services.studies.model import Study
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus

resource = Resource(__name__, tag="admin")


def render_researcher(researcher: Researcher) -> ResearcherAdminView:
    return ResearcherAdminView(
        id=researcher.id,
        email=researcher.email,
        name=researcher.name,
        university=researcher.university_id,
        is_admin=researcher.is_admin,
        disabled=researcher.disabled,
        created_at=researcher.created_at,
    )


@resource.route(
    "/admin/researchers",
    "GET",
    loads=Loads.CALLER,
    summary="Every researcher account",
    response=ResearcherAdminView,
    paged=True,
)
def list_researchers(call: Call[Any]) -> Page[ResearcherAdminView]:
    page = call.services.admin.list_researchers(call.caller, call.page)
    return Page([render_researcher(r) for r in page.items], page.next_start)


@resource.route(
    "/admin/researchers/{researcher_id}",
    "PATCH",
    loads=Loads.CALLER,
    summary="Grant or revoke platform admin; disable or enable an account",
    body=ResearcherAdminUpdate,
    response=ResearcherAdminView,
)
def update_researcher(call: Call[ResearcherAdminUpdate], researcher_id: str) -> ResearcherAdminView:
    body = call.body
    updated = call.services.admin.update_researcher(
        call.caller, researcher_id=researcher_id, is_admin=body.is_admin, disabled=body.disabled
    )
    return render_researcher(updated)


def render_study(study: Study) -> AdminStudyView:
    return AdminStudyView(
        id=study.id,
        name=study.name,
        description=study.description,
        research_field=study.research_field_id,
        owner_id=study.owner_id,
        created_at=study.created_at,
        updated_at=study.updated_at,
        max_workspaces=study.max_workspaces,
        max_vcpus=study.max_vcpus,
    )


def render_platform_audit(entry: AuditEntry) -> PlatformAuditView:
    """A study's audit view of the entry, plus which study it belongs to (none for the platform's own)."""
    return PlatformAuditView(**msgspec.structs.asdict(render_audit(entry)), study_id=entry.study_id or None)


@resource.route(
    "/admin/studies",
    "GET",
    loads=Loads.CALLER,
    summary="Every study, newest first",
    response=AdminStudyView,
    paged=True,
)
def list_all_studies(call: Call[Any]) -> Page[AdminStudyView]:
    page = call.services.admin.list_studies(call.caller, call.page)
    return Page([render_study(s) for s in page.items], page.next_start)


@resource.route(
    "/admin/audit",
    "GET",
    loads=Loads.CALLER,
    summary="The platform's audit log, newest first: every study's entries and the platform admins' own",
    response=PlatformAuditView,
    paged=True,
)
def read_platform_audit(call: Call[Any]) -> Page[PlatformAuditView]:
    page = call.services.admin.read_audit(call.caller, call.page)
    return Page([render_platform_audit(e) for e in page.items], page.next_start)


@resource.route(
    "/admin/studies/{study_id}",
    "PATCH",
    loads=Loads.STUDY,
    summary="Override a study's workspace quota (null: the stage's default)",
    body=StudyQuotaUpdate,
    response=QuotaView,
)
def update_study_quota(call: Call[StudyQuotaUpdate], study_id: str) -> QuotaView:
    body = call.body
    quota = call.services.admin.set_quota(
        call.caller, call.study_access, max_workspaces=body.max_workspaces, max_vcpus=body.max_vcpus
    )
    return QuotaView(quota.max_workspaces, quota.max_vcpus)


@resource.route(
    "/admin/workspaces",
    "GET",
    loads=Loads.CALLER,
    summary="Every workspace, or those of one status, newest first",
    query=WorkspaceListQuery,
    response=WorkspaceView,
    paged=True,
)
def list_all_workspaces(call: Call[Any]) -> Page[WorkspaceView]:
    status = WorkspaceStatus(call.query.status) if call.query.status else None
    page = call.services.admin.list_workspaces(call.caller, call.page, status)
    settings = call.services.admin.workspace_settings
    return Page([render_workspace(w, settings) for w in page.items], page.next_start)
