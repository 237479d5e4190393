"""Logging in through the whole flow (with a fake provider), API tokens, and platform admin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from chalice.test import Client

from chalicelib.auth.principal import hash_secret
from chalicelib.services.accounts.identity import Identity
from chalicelib.services.common.model import utcnow
from chalicelib.wiring import Dependencies
from tests.conftest import FakeIdentityProvider, Person
from tests.support.api import Browser, call


def _log_in(client: Client, provider: FakeIdentityProvider, identity: Identity, next_path: str) -> tuple[str, str]:
    browser = Browser(client)
    status, _, headers = browser.get(f"/auth/login?next={next_path}")
    assert status == 302
    assert headers["Cache-Control"] == "no-store"
    state = parse_qs(urlparse(headers["Location"]).query)["state"][0]
    provider.identities["the-code"] = identity
    status, _, headers = browser.get(f"/auth/callback?code=the-code&state={state}")
    assert status == 302
    landing = urlparse(headers["Location"])
    code = parse_qs(landing.query)["login_code"][0]
    status, session, _ = call(client, "POST", "/auth/token", body={"login_code": code})
    assert status == 200
    assert session["token_type"] == "Bearer"
    assert session["expires_in"] == 3600
    return session["access_token"], f"{landing.scheme}://{landing.netloc}{landing.path}"


def test_first_login_creates_the_researcher_and_the_next_refreshes_them(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    first = Identity("https://idp.test", "subject-1", "Fien@RUG.nl", True, "Fien de Vries", "rug.nl")

    token, landing = _log_in(client, identity_provider, first, "/studies/abc")

    assert landing == "http://127.0.0.1:3000/studies/abc"
    _, me, _ = call(client, "GET", "/me", headers={"Authorization": f"Bearer {token}"})
    assert (me["email"], me["name"], me["university"]) == ("fien@rug.nl", "Fien de Vries", "rug")

    renamed = Identity("https://idp.test", "subject-1", "fien@uva.nl", True, "Fien Jansen", "uva.nl")
    token, _ = _log_in(client, identity_provider, renamed, "/")
    _, again, _ = call(client, "GET", "/me", headers={"Authorization": f"Bearer {token}"})
    assert again["id"] == me["id"]
    assert (again["email"], again["name"], again["university"]) == ("fien@uva.nl", "Fien Jansen", "uva")


def test_the_same_email_at_another_identity_is_another_researcher(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    one, _ = _log_in(client, identity_provider, Identity("https://idp.test", "s-1", "same@uu.nl"), "/")
    two, _ = _log_in(client, identity_provider, Identity("https://idp.test", "s-2", "same@uu.nl"), "/")

    ids = {call(client, "GET", "/me", headers={"Authorization": f"Bearer {t}"})[1]["id"] for t in (one, two)}

    assert len(ids) == 2


def test_api_tokens_are_shown_once_listed_without_secret_and_revocable(
    client: Client, person: Callable[..., Person]
) -> None:
    gert = person("gert")

    status, made, headers = call(
        client,
        "POST",
        "/me/tokens",
        headers=gert.headers,
        body={"name": "analysis", "expires_at": "2099-01-01T00:00:00Z"},
    )

    assert status == 201
    assert headers["Location"] == f"/me/tokens/{made['id']}"
    assert made["token"].startswith(f"vre_{gert.id}.")
    _, listing, _ = call(client, "GET", "/me/tokens", headers=gert.headers)
    assert listing["items"] == [
        {"id": made["id"], "name": "analysis", "created_at": made["created_at"], "expires_at": "2099-01-01T00:00:00Z"}
    ]
    api = {"Authorization": f"Bearer {made['token']}"}
    assert call(client, "GET", "/me", headers=api)[1]["id"] == gert.id
    assert call(client, "DELETE", f"/me/tokens/{made['id']}", headers=gert.headers)[0] == 204
    assert call(client, "GET", "/me", headers=api)[0] == 401
    assert call(client, "DELETE", f"/me/tokens/{made['id']}", headers=gert.headers)[0] == 404


def test_a_token_made_with_an_api_token_never_outlives_it(client: Client, person: Callable[..., Person]) -> None:
    # GIVEN an API token that expires in 2030
    gert = person("gert")
    first = call(
        client, "POST", "/me/tokens", headers=gert.headers, body={"name": "ci", "expires_at": "2030-01-01T00:00:00Z"}
    )[1]
    api = {"Authorization": f"Bearer {first['token']}"}

    # WHEN it makes tokens that would live later, or forever, and one that expires sooner
    later = call(client, "POST", "/me/tokens", headers=api, body={"name": "l", "expires_at": "2099-01-01T00:00:00Z"})
    forever = call(client, "POST", "/me/tokens", headers=api, body={"name": "f"})
    sooner = call(client, "POST", "/me/tokens", headers=api, body={"name": "s", "expires_at": "2029-06-01T00:00:00Z"})

    # THEN the first two expire with their creator and the third keeps its own expiry
    assert [r[0] for r in (later, forever, sooner)] == [201, 201, 201]
    assert [r[1]["expires_at"] for r in (later, forever, sooner)] == [
        "2030-01-01T00:00:00Z",
        "2030-01-01T00:00:00Z",
        "2029-06-01T00:00:00Z",
    ]
    _, listing, _ = call(client, "GET", "/me/tokens", headers=gert.headers)
    stored = {t["id"]: t["expires_at"] for t in listing["items"]}
    assert stored[later[1]["id"]] == stored[forever[1]["id"]] == "2030-01-01T00:00:00Z"
    # AND a session (not an API token) still makes a token that never expires
    assert call(client, "POST", "/me/tokens", headers=gert.headers, body={"name": "n"})[1]["expires_at"] is None


def test_bad_api_token_requests_are_422(client: Client, person: Callable[..., Person]) -> None:
    hans = person("hans")

    for body in (
        {"name": ""},
        {"name": "x", "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "expires_at": "soon"},
    ):
        status, payload, _ = call(client, "POST", "/me/tokens", headers=hans.headers, body=body)
        assert status == 422, payload
    # a time without a zone is ambiguous
    status, _, _ = call(
        client, "POST", "/me/tokens", headers=hans.headers, body={"name": "x", "expires_at": "2099-01-01T00:00:00"}
    )
    assert status == 422


def test_platform_admins_list_and_manage_accounts_but_not_their_own(
    client: Client, person: Callable[..., Person]
) -> None:
    admin, ivo = person("admin", is_admin=True), person("ivo")

    status, updated, _ = call(
        client, "PATCH", f"/admin/researchers/{ivo.id}", headers=admin.headers, body={"is_admin": True}
    )
    assert status == 200
    assert updated["is_admin"] is True
    assert call(client, "GET", "/admin/researchers", headers=ivo.headers)[0] == 200
    status, _, _ = call(
        client, "PATCH", f"/admin/researchers/{admin.id}", headers=admin.headers, body={"disabled": True}
    )
    assert status == 409
    status, _, _ = call(
        client, "PATCH", "/admin/researchers/0123456789abcdef0123456789abcdef", headers=admin.headers, body={}
    )
    assert status == 404

    seen: set[str] = set()
    url = "/admin/researchers?limit=50"
    while url:
        _, page, _ = call(client, "GET", url, headers=admin.headers)
        seen |= {r["id"] for r in page["items"]}
        url = f"/admin/researchers?limit=50&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert {admin.id, ivo.id} <= seen


def test_platform_admins_page_through_every_account_by_email(client: Client, person: Callable[..., Person]) -> None:
    # GIVEN a platform admin and four others (person() makes emails "<name>.<random>@uni.example")
    people = [person("admin", is_admin=True)] + [person(name) for name in ("zoe", "bram", "lotte", "anna")]
    expected = [p.id for p in sorted(people, key=lambda p: p.researcher.email)]

    pages: list[list[str]] = []
    url = "/admin/researchers?limit=2"
    while url:
        status, page, _ = call(client, "GET", url, headers=people[0].headers)
        assert status == 200, page
        pages.append([r["id"] for r in page["items"]])
        url = f"/admin/researchers?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""

    assert pages == [expected[0:2], expected[2:4], expected[4:]]


LOGIN_PAGE = "http://127.0.0.1:3000/login"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("error=access_denied&state={state}", "access_denied"),  # consent denied at the provider
        ("error=temporarily_unavailable&state={state}", "provider_unavailable"),
        ("error=invalid_scope&error_description=oops", "provider_error"),
        ("error=%3Cscript%3E", "provider_error"),
        ("", "request_invalid"),
        ("state={state}", "request_invalid"),  # no code
        ("code=c", "request_invalid"),  # no state
        ("code=c&state=" + "s" * 600, "request_invalid"),
        ("code=" + "c" * 3000 + "&state={state}", "request_invalid"),
        ("code=c&state={state}&iss=https%3A%2F%2Fother.example", "issuer_mismatch"),
        ("code=unknown-code&state={state}", "code_invalid"),
        ("code=c&state={state}&session_state=abc", None),  # what else a provider sends is ignored
    ],
)
def test_a_callback_always_answers_the_browser_with_a_redirect(
    client: Client, identity_provider: FakeIdentityProvider, query: str, reason: str | None
) -> None:
    browser = Browser(client)
    status, _, headers = browser.get("/auth/login?next=/studies")
    state = parse_qs(urlparse(headers["Location"]).query)["state"][0]
    identity_provider.identities["c"] = Identity("https://idp.test", "subject-redirect", "r@uu.nl")

    status, body, headers = browser.get(f"/auth/callback?{query.format(state=state)}")

    assert status == 302, body
    assert headers["Cache-Control"] == "no-store"
    assert "Content-Type" not in headers or "json" not in headers["Content-Type"]
    if reason is None:
        assert headers["Location"].startswith("http://127.0.0.1:3000/studies?login_code=")
    else:
        assert headers["Location"] == f"{LOGIN_PAGE}?error={reason}"
    assert headers["Set-Cookie"].startswith("vre_login_state=; Max-Age=0;")


def test_a_callback_without_an_email_sends_the_browser_to_the_login_page(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    browser = Browser(client)
    _, _, headers = browser.get("/auth/login?next=/")
    state = parse_qs(urlparse(headers["Location"]).query)["state"][0]
    identity_provider.identities["c"] = Identity("https://idp.test", "no-mail", None)

    _, _, headers = browser.get(f"/auth/callback?code=c&state={state}")

    assert headers["Location"] == f"{LOGIN_PAGE}?error=email_missing"


def test_a_callback_after_the_login_expired_sends_the_browser_to_the_login_page(
    client: Client, identity_provider: FakeIdentityProvider, deps: Dependencies
) -> None:
    browser = Browser(client)
    _, _, headers = browser.get("/auth/login?next=/")
    state = parse_qs(urlparse(headers["Location"]).query)["state"][0]
    key = f"pending_login#{hash_secret(state)}"
    pending = deps.credentials.take(key)
    assert pending is not None
    deps.credentials.add(replace(pending, expires_at=utcnow() - timedelta(seconds=1)))

    _, _, headers = browser.get(f"/auth/callback?code=c&state={state}")

    assert headers["Location"] == f"{LOGIN_PAGE}?error=state_expired"
