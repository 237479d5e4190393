"""`/me`: the caller's own profile."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Resource
from chalicelib.api.schemas import MeUpdate, MeView
from chalicelib.services import researchers as service
from chalicelib.services.domain import Locale, Researcher, Unset

resource = Resource(__name__, tag="me")


def render_me(researcher: Researcher) -> MeView:
    return MeView(
        id=researcher.id,
        email=researcher.email,
        name=researcher.name,
        university=researcher.university_id,
        research_field=researcher.research_field_id,
        phone=researcher.phone,
        locale=researcher.locale.value,
        is_admin=researcher.is_admin,
        created_at=researcher.created_at,
    )


@resource.route("/me", "GET", summary="The caller's profile", response=MeView)
def get_me(call: Call[Any]) -> MeView:
    return render_me(call.caller)


@resource.route("/me", "PATCH", summary="Update the caller's profile", body=MeUpdate, response=MeView)
def update_me(call: Call[MeUpdate]) -> MeView:
    body = call.body
    updated = service.update_profile(
        call.caller,
        call.deps.researchers,
        call.deps.references,
        name=body.name,
        research_field=body.research_field,
        phone=body.phone,
        locale=body.locale if isinstance(body.locale, Unset) else Locale(body.locale),
    )
    return render_me(updated)
