"""Invitations: `/studies/{study_id}/invitations`, `/invitations/accept|decline`, `/me/invitations`."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import InvitationAnswer, InvitationCreate, InvitationView, MembershipView
from chalicelib.services.common.model import Page, utcnow
from chalicelib.services.studies.model import Invitation, Role

resource = Resource(__name__, tag="invitations")
JOIN_SUMMARY = "Join a study by invitation (403: unverified email, or the inviter can no longer give the role)"


def render_invitation(invitation: Invitation) -> InvitationView:
    return InvitationView(
        id=invitation.id,
        study_id=invitation.study_id,
        email=invitation.email,
        name=invitation.name,
        role=invitation.role.value,
        status=invitation.status_at(utcnow()).value,
        mail_status=invitation.mail_status.value,
        inviter_id=invitation.inviter_id,
        message=invitation.message,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


@resource.route(
    "/studies/{study_id}/invitations",
    "POST",
    loads=Loads.STUDY,
    summary="Invite someone by email (a pending invitation to the same email is resent: 200)",
    body=InvitationCreate,
    response=InvitationView,
    status=201,
    other_statuses=(200,),
)
def invite(call: Call[InvitationCreate], study_id: str) -> Reply:
    body = call.body
    invitation, created = call.services.studies.invite(
        call.study_access,
        email=body.email,
        role=Role(body.role),
        name=body.name,
        message=body.message,
    )
    location = {"Location": f"/studies/{study_id}/invitations/{invitation.id}"}
    return Reply(render_invitation(invitation), 201 if created else 200, location)


@resource.route(
    "/studies/{study_id}/invitations",
    "GET",
    loads=Loads.STUDY,
    summary="The study's invitations",
    response=InvitationView,
    paged=True,
)
def list_invitations(call: Call[Any], study_id: str) -> Page[InvitationView]:
    page = call.services.studies.list_invitations(call.study_access, call.page)
    return Page([render_invitation(i) for i in page.items], page.next_start)


@resource.route(
    "/studies/{study_id}/invitations/{invitation_id}/resend",
    "POST",
    loads=Loads.STUDY,
    summary="A new link for an invitation; the old link stops working",
    response=InvitationView,
)
def resend(call: Call[Any], study_id: str, invitation_id: str) -> InvitationView:
    invitation = call.services.studies.resend(call.study_access, invitation_id=invitation_id)
    return render_invitation(invitation)


@resource.route(
    "/studies/{study_id}/invitations/{invitation_id}",
    "DELETE",
    loads=Loads.STUDY,
    summary="Revoke an invitation",
    status=204,
)
def revoke(call: Call[Any], study_id: str, invitation_id: str) -> Reply:
    call.services.studies.revoke(call.study_access, invitation_id=invitation_id)
    return Reply(status=204)


@resource.route(
    "/invitations/accept",
    "POST",
    loads=Loads.CALLER,
    summary=JOIN_SUMMARY,
    body=InvitationAnswer,
    response=MembershipView,
)
def accept(call: Call[InvitationAnswer]) -> MembershipView:
    membership = call.services.studies.accept(call.caller, token=call.body.token)
    return MembershipView(
        study_id=membership.study_id,
        researcher_id=membership.researcher_id,
        role=membership.role.value,
        joined_at=membership.joined_at,
    )


@resource.route(
    "/invitations/decline",
    "POST",
    loads=Loads.CALLER,
    summary="Turn an invitation down (403: unverified email)",
    body=InvitationAnswer,
    status=204,
)
def decline(call: Call[InvitationAnswer]) -> Reply:
    call.services.studies.decline(call.caller, token=call.body.token)
    return Reply(status=204)


@resource.route(
    "/me/invitations",
    "GET",
    loads=Loads.CALLER,
    summary="Invitations waiting for the caller (403: unverified email)",
    response=InvitationView,
    paged=True,
)
def my_invitations(call: Call[Any]) -> Page[InvitationView]:
    page = call.services.studies.invitations_for(call.caller, call.page)
    return Page([render_invitation(i) for i in page.items], page.next_start)
