"""`/me`: the caller's own profile."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import ApiTokenCreate, ApiTokenView, MeUpdate, MeView, NewApiTokenView
from chalicelib.services.accounts import api_tokens
from chalicelib.services.accounts.model import Credential, Locale, Researcher
from chalicelib.services.common.model import Page, Unset

resource = Resource(__name__, tag="me")


def render_me(researcher: Researcher) -> MeView:
    return MeView(
        id=researcher.id,
        email=researcher.email,
        email_verified=researcher.email_verified,
        name=researcher.name,
        university=researcher.university_id,
        research_field=researcher.research_field_id,
        phone=researcher.phone,
        locale=researcher.locale.value,
        is_admin=researcher.is_admin,
        created_at=researcher.created_at,
    )


@resource.route("/me", "GET", loads=Loads.CALLER, summary="The caller's profile", response=MeView)
def get_me(call: Call[Any]) -> MeView:
    return render_me(call.caller)


@resource.route(
    "/me", "PATCH", loads=Loads.CALLER, summary="Update the caller's profile", body=MeUpdate, response=MeView
)
def update_me(call: Call[MeUpdate]) -> MeView:
    body = call.body
    updated = call.services.accounts.update_profile(
        call.caller,
        name=body.name,
        research_field=body.research_field,
        phone=body.phone,
        locale=body.locale if isinstance(body.locale, Unset) else Locale(body.locale),
    )
    return render_me(updated)


def render_token(credential: Credential) -> ApiTokenView:
    return ApiTokenView(
        id=api_tokens.token_id_of(credential),
        name=credential.name,
        created_at=credential.created_at,
        expires_at=credential.expires_at,
    )


@resource.route(
    "/me/tokens", "GET", loads=Loads.CALLER, summary="The caller's API tokens", response=ApiTokenView, paged=True
)
def list_tokens(call: Call[Any]) -> Page[ApiTokenView]:
    page = call.services.accounts.list_tokens(call.caller, call.page)
    return Page([render_token(c) for c in page.items], page.next_start)


@resource.route(
    "/me/tokens",
    "POST",
    loads=Loads.CALLER,
    summary="A new API token (shown once)",
    body=ApiTokenCreate,
    response=NewApiTokenView,
    status=201,
)
def create_token(call: Call[ApiTokenCreate]) -> Reply:
    made = call.services.accounts.create_token(
        call.caller,
        name=call.body.name,
        expires_at=call.body.expires_at,
        made_with=call.access.credential if call.access is not None else None,
    )
    view = NewApiTokenView(
        id=made.token_id,
        name=made.credential.name,
        created_at=made.credential.created_at,
        expires_at=made.credential.expires_at,
        token=made.secret,
    )
    return Reply(view, 201, {"Location": f"/me/tokens/{made.token_id}", "Cache-Control": "no-store"})


@resource.route("/me/tokens/{token_id}", "DELETE", loads=Loads.CALLER, summary="Revoke an API token", status=204)
def revoke_token(call: Call[Any], token_id: str) -> Reply:
    call.services.accounts.revoke_token(call.caller, token_id=token_id)
    return Reply(status=204)
