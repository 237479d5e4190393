"""`/auth/*`: the SurfConext login flow, the login-code exchange, and logout."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.schemas import CallbackQuery, LoginCodeExchange, LoginQuery, SessionView
from chalicelib.auth.tokens import issue_session_token
from chalicelib.errors import BadRequestError, ConflictError
from chalicelib.services import login as service
from chalicelib.services.domain import CredentialKind
from chalicelib.services.identity import LoginError

resource = Resource(__name__, tag="auth")


@resource.route("/auth/login", "GET", summary="Start a SurfConext login", query=LoginQuery, status=302, public=True)
def login(call: Call[Any]) -> Reply:
    deps = call.deps
    url = service.begin_login(deps.identity_provider, deps.credentials, deps.login_settings, next_path=call.query.next)
    return Reply(status=302, headers={"Location": url, "Cache-Control": "no-store"})


@resource.route(
    "/auth/callback", "GET", summary="The provider's redirect back", query=CallbackQuery, status=302, public=True
)
def callback(call: Call[Any]) -> Reply:
    query: CallbackQuery = call.query
    if query.error:
        raise LoginError(detail=f"The identity provider refused the login ({query.error}).")
    if not query.code or not query.state:
        raise BadRequestError(detail="The callback needs `code` and `state`.")
    deps = call.deps
    url = service.complete_login(
        deps.identity_provider,
        deps.credentials,
        deps.researchers,
        deps.references,
        deps.login_settings,
        state=query.state,
        code=query.code,
    )
    return Reply(status=302, headers={"Location": url, "Cache-Control": "no-store"})


@resource.route(
    "/auth/token",
    "POST",
    summary="Trade a login code for a session token",
    body=LoginCodeExchange,
    response=SessionView,
    public=True,
)
def token(call: Call[LoginCodeExchange]) -> Reply:
    deps = call.deps
    researcher = service.redeem_login_code(deps.credentials, deps.researchers, login_code=call.body.login_code)
    policy = deps.token_policy
    session = SessionView(
        access_token=issue_session_token(policy, researcher.id),
        token_type="Bearer",
        expires_in=int(policy.ttl.total_seconds()),
    )
    return Reply(session, 200, {"Cache-Control": "no-store"})


@resource.route("/auth/logout", "POST", summary="End this session at once", status=204)
def logout(call: Call[Any]) -> Reply:
    principal = call.principal
    assert principal is not None
    if principal.kind is not CredentialKind.REVOKED_SESSION:
        raise ConflictError(detail="API tokens do not log out; revoke them at DELETE /me/tokens/{token_id}.")
    service.end_session(call.deps.credentials, token_id=principal.token_id, expires_at=principal.expires_at)
    return Reply(status=204)
