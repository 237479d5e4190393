"""`/auth/*`: the SurfConext login flow, the login-code exchange, and logout.

The login and the callback are browser pages, not API calls: the login sets the cookie that binds the
login to this browser (`LOGIN_COOKIE`), and the callback always answers with a redirect, to the
frontend with a login code or to the console's login page with `?error=<reason>`, never a problem
document a researcher would see as raw JSON.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any

from chalice.app import Request

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import CallbackQuery, LoginCodeExchange, LoginQuery, SessionView
from chalicelib.services.accounts.identity import LoginFailure
from chalicelib.services.accounts.login import LoginSettings

resource = Resource(__name__, tag="auth")

# HttpOnly, SameSite=Lax (sent on the provider's top-level redirect back, not on cross-site requests),
# scoped to the callback's folder, Secure but on the local stage; it lives as long as the pending login.
LOGIN_COOKIE = "vre_login_state"
LOGIN_DESCRIPTION = (
    f"Sets the `{LOGIN_COOKIE}` cookie (HttpOnly, SameSite=Lax, Path the callback's folder, Secure but on the "
    "local stage, Max-Age `PENDING_LOGIN_TTL_SECONDS`), which holds a hash of `state`: the callback is accepted "
    "only from the browser that began the login (no login CSRF)."
)
# The reasons a callback can fail with (the others are the login's and the token exchange's).
CALLBACK_FAILURES = [r for r in LoginFailure if r not in (LoginFailure.NEXT_INVALID, LoginFailure.LOGIN_CODE_INVALID)]
CALLBACK_DESCRIPTION = (
    "Always a redirect: to the frontend's `next` with a one-time `login_code`, or to the console's login page, "
    "`FRONTEND_URL/login?error=<reason>`, with one of "
    + ", ".join(f"`{reason.value}`" for reason in CALLBACK_FAILURES)
    + ". Either way it clears the login cookie."
)


def _cookie(settings: LoginSettings, value: str, max_age: int) -> str:
    secure = "; Secure" if settings.cookie_secure else ""
    return f"{LOGIN_COOKIE}={value}; Max-Age={max_age}; Path={settings.cookie_path}; HttpOnly; SameSite=Lax{secure}"


def _binding_of(request: Request) -> str | None:
    """The login cookie's value, if the browser sent one (a malformed Cookie header counts as none)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(LOGIN_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


@resource.route(
    "/auth/login",
    "GET",
    summary="Start a SurfConext login",
    description=LOGIN_DESCRIPTION,
    query=LoginQuery,
    status=302,
    response_headers=("Location", "Set-Cookie"),
    loads=Loads.NOTHING,
)
def login(call: Call[Any]) -> Reply:
    service = call.services.login
    start = service.begin(next_path=call.query.next)
    settings = service.settings
    cookie = _cookie(settings, start.binding, int(settings.pending_ttl.total_seconds()))
    return Reply(status=302, headers={"Location": start.url, "Cache-Control": "no-store", "Set-Cookie": cookie})


@resource.route(
    "/auth/callback",
    "GET",
    summary="The provider's redirect back",
    description=CALLBACK_DESCRIPTION,
    query=CallbackQuery,
    status=302,
    response_headers=("Location", "Set-Cookie"),
    loads=Loads.NOTHING,
)
def callback(call: Call[Any]) -> Reply:
    query: CallbackQuery = call.query
    service = call.services.login
    url = service.finish(
        state=query.state, code=query.code, binding=_binding_of(call.request), issuer=query.iss, error=query.error
    )
    headers = {"Location": url, "Cache-Control": "no-store", "Set-Cookie": _cookie(service.settings, "", 0)}
    return Reply(status=302, headers=headers)


@resource.route(
    "/auth/token",
    "POST",
    summary="Trade a login code for a session token",
    body=LoginCodeExchange,
    response=SessionView,
    loads=Loads.NOTHING,
)
def token(call: Call[LoginCodeExchange]) -> Reply:
    session = call.services.login.session(login_code=call.body.login_code)
    view = SessionView(access_token=session.token, token_type="Bearer", expires_in=session.expires_in)
    return Reply(view, 200, {"Cache-Control": "no-store"})


@resource.route("/auth/logout", "POST", loads=Loads.CALLER, summary="End this session at once", status=204)
def logout(call: Call[Any]) -> Reply:
    principal = call.principal
    assert principal is not None
    call.services.login.logout(principal)
    return Reply(status=204)
