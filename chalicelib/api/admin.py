"""`/admin/*`: platform administration (platform admins only)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Resource
from chalicelib.api.schemas import ResearcherAdminUpdate, ResearcherAdminView
from chalicelib.services import admin as service
from chalicelib.services.domain import Page, Researcher

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
    "/admin/researchers", "GET", summary="Every researcher account", response=ResearcherAdminView, paged=True
)
def list_researchers(call: Call[Any]) -> Page[ResearcherAdminView]:
    page = service.list_researchers(call.caller, call.deps.researchers, call.page)
    return Page([render_researcher(r) for r in page.items], page.next_start)


@resource.route(
    "/admin/researchers/{researcher_id}",
    "PATCH",
    summary="Grant or revoke platform admin; disable or enable an account",
    body=ResearcherAdminUpdate,
    response=ResearcherAdminView,
)
def update_researcher(call: Call[ResearcherAdminUpdate], researcher_id: str) -> ResearcherAdminView:
    body = call.body
    updated = service.update_researcher(
        call.caller, call.deps.researchers, researcher_id=researcher_id, is_admin=body.is_admin, disabled=body.disabled
    )
    return render_researcher(updated)
