"""`/studies/{study_id}/members`: list, change role, remove, leave."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import MemberUpdate, MemberView
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import Page
from chalicelib.services.studies.model import Membership, Role

resource = Resource(__name__, tag="members")


def render_member(membership: Membership, researcher: Researcher | None) -> MemberView:
    return MemberView(
        researcher_id=membership.researcher_id,
        name=researcher.name if researcher else None,
        email=researcher.email if researcher else None,
        role=membership.role.value,
        joined_at=membership.joined_at,
    )


@resource.route(
    "/studies/{study_id}/members",
    "GET",
    loads=Loads.STUDY,
    summary="Members of a study",
    response=MemberView,
    paged=True,
)
def list_members(call: Call[Any], study_id: str) -> Page[MemberView]:
    page = call.services.studies.list_members(call.study_access, call.page)
    return Page([render_member(m.membership, m.researcher) for m in page.items], page.next_start)


@resource.route(
    "/studies/{study_id}/members/{researcher_id}",
    "PATCH",
    loads=Loads.STUDY,
    summary="Change a member's role",
    body=MemberUpdate,
    response=MemberView,
)
def change_role(call: Call[MemberUpdate], study_id: str, researcher_id: str) -> MemberView:
    member = call.services.studies.change_role(
        call.study_access, researcher_id=researcher_id, role=Role(call.body.role)
    )
    return render_member(member.membership, member.researcher)


@resource.route(
    "/studies/{study_id}/members/{researcher_id}",
    "DELETE",
    loads=Loads.STUDY,
    summary="Remove a member, or leave",
    status=204,
)
def remove_member(call: Call[Any], study_id: str, researcher_id: str) -> Reply:
    call.services.studies.remove_member(call.study_access, researcher_id=researcher_id)
    return Reply(status=204)
