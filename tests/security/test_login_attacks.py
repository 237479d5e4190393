"""The login flow and the credentials it hands out, under attack: each refused, nothing written.

A refused callback sends the browser to the console's login page with the reason; a refused API
call is a 401 problem document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from chalice.test import Client

from chalicelib.auth.principal import hash_secret
from chalicelib.services.accounts.identity import Identity
from chalicelib.services.accounts.login import state_binding
from chalicelib.services.accounts.model import Credential, CredentialKind
from chalicelib.services.common.model import utcnow
from chalicelib.wiring import Dependencies
from tests.conftest import FakeIdentityProvider, Person
from tests.support.api import Browser, call, snapshot

LOGIN_PAGE = "http://127.0.0.1:3000/login"


def _start(browser: Browser, next_path: str = "/studies") -> dict[str, str]:
    status, _, headers = browser.get(f"/auth/login?next={next_path}")
    assert status == 302
    return {k: v[0] for k, v in parse_qs(urlparse(headers["Location"]).query).items()}


def _login_code(client: Client, provider: FakeIdentityProvider, subject: str = "alice") -> str:
    browser = Browser(client)
    params = _start(browser)
    provider.identities[f"code-{subject}"] = Identity("https://idp.test", subject, f"{subject}@rug.nl", True, "Alice")
    status, _, headers = browser.get(f"/auth/callback?code=code-{subject}&state={params['state']}")
    assert status == 302
    return parse_qs(urlparse(headers["Location"]).query)["login_code"][0]


def _assert_refused(status: int, payload: object, headers: dict[str, str]) -> None:
    assert status == 401, payload
    assert headers["Content-Type"] == "application/problem+json"


def _assert_sent_to_login_page(answer: tuple[int, object, dict[str, str]], reason: str) -> None:
    """A refused callback: a redirect to the console's login page with the reason, and the login cookie cleared."""
    status, payload, headers = answer
    assert status == 302, payload
    assert headers["Location"] == f"{LOGIN_PAGE}?error={reason}"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Set-Cookie"].startswith("vre_login_state=; Max-Age=0; Path=/auth;")


def test_a_callback_with_a_state_nobody_started_is_refused(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    browser = Browser(client)
    _start(browser)
    identity_provider.identities["c"] = Identity("https://idp.test", "mallory", "m@evil.example")
    before = snapshot()

    # Its own cookie would not match a forged state; with the cookie of the forged state it is simply unknown.
    browser.cookies["vre_login_state"] = state_binding("forged-state")
    _assert_sent_to_login_page(browser.get("/auth/callback?code=c&state=forged-state"), "state_unknown")

    assert snapshot() == before
    assert identity_provider.exchanges == []


def test_a_state_works_once(client: Client, identity_provider: FakeIdentityProvider) -> None:
    browser = Browser(client)
    params = _start(browser)
    cookie = dict(browser.cookies)
    identity_provider.identities["c"] = Identity("https://idp.test", "alice", "alice@rug.nl")
    assert "login_code=" in browser.get(f"/auth/callback?code=c&state={params['state']}")[2]["Location"]
    assert browser.cookies == {}  # the callback cleared the cookie
    before = snapshot()

    browser.cookies = cookie  # even with the cookie kept back
    _assert_sent_to_login_page(browser.get(f"/auth/callback?code=c&state={params['state']}"), "state_unknown")

    assert snapshot() == before


def test_a_code_the_provider_refuses_is_refused(client: Client, identity_provider: FakeIdentityProvider) -> None:
    browser = Browser(client)
    params = _start(browser)

    _assert_sent_to_login_page(browser.get(f"/auth/callback?code=stolen&state={params['state']}"), "code_invalid")


def test_the_provider_gets_the_nonce_and_the_pkce_verifier_of_this_login(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    from chalicelib.services.accounts.login import pkce_challenge

    browser = Browser(client)
    params = _start(browser)
    identity_provider.identities["c"] = Identity("https://idp.test", "alice", "alice@rug.nl")

    browser.get(f"/auth/callback?code=c&state={params['state']}")

    exchange = identity_provider.exchanges[-1]
    assert exchange["nonce"] == params["nonce"]
    assert pkce_challenge(exchange["code_verifier"]) == params["code_challenge"]


def test_next_pointing_off_site_is_refused(client: Client, identity_provider: FakeIdentityProvider) -> None:
    before = snapshot()

    for next_path in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "studies"):
        _assert_refused(*call(client, "GET", f"/auth/login?next={next_path}"))

    assert snapshot() == before


def test_a_login_code_works_once(client: Client, identity_provider: FakeIdentityProvider) -> None:
    code = _login_code(client, identity_provider)
    assert call(client, "POST", "/auth/token", body={"login_code": code})[0] == 200
    before = snapshot()

    _assert_refused(*call(client, "POST", "/auth/token", body={"login_code": code}))

    assert snapshot() == before


def test_an_expired_login_code_is_refused(client: Client, deps: Dependencies, person: Callable[..., Person]) -> None:
    alice = person("alice")
    past = utcnow() - timedelta(seconds=61)
    deps.credentials.add(
        Credential(
            key=f"login_code#{hash_secret('old-code')}",
            kind=CredentialKind.LOGIN_CODE,
            created_at=past - timedelta(seconds=60),
            expires_at=past,
            data={"researcher_id": alice.id},
        )
    )

    _assert_refused(*call(client, "POST", "/auth/token", body={"login_code": "old-code"}))


def test_a_logged_out_session_is_refused_at_once(client: Client, person: Callable[..., Person]) -> None:
    alice = person("alice")
    assert call(client, "GET", "/me", headers=alice.headers)[0] == 200

    assert call(client, "POST", "/auth/logout", headers=alice.headers)[0] == 204

    _assert_refused(*call(client, "GET", "/me", headers=alice.headers))
    _assert_refused(*call(client, "POST", "/auth/logout", headers=alice.headers))


def test_a_disabled_researchers_session_and_api_token_are_refused(
    client: Client, person: Callable[..., Person]
) -> None:
    admin, bob = person("admin", is_admin=True), person("bob")
    status, token, _ = call(client, "POST", "/me/tokens", headers=bob.headers, body={"name": "laptop"})
    assert status == 201
    api_headers = {"Authorization": f"Bearer {token['token']}"}
    assert call(client, "GET", "/me", headers=api_headers)[0] == 200

    status, _, _ = call(client, "PATCH", f"/admin/researchers/{bob.id}", headers=admin.headers, body={"disabled": True})

    assert status == 200
    _assert_refused(*call(client, "GET", "/me", headers=bob.headers))
    _assert_refused(*call(client, "GET", "/me", headers=api_headers))


def test_a_disabled_researcher_cannot_log_in_again(
    client: Client, identity_provider: FakeIdentityProvider, person: Callable[..., Person]
) -> None:
    admin = person("admin", is_admin=True)
    code = _login_code(client, identity_provider, subject="carol")
    _, session, _ = call(client, "POST", "/auth/token", body={"login_code": code})
    _, me, _ = call(client, "GET", "/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    call(client, "PATCH", f"/admin/researchers/{me['id']}", headers=admin.headers, body={"disabled": True})
    browser = Browser(client)
    params = _start(browser)

    _assert_sent_to_login_page(
        browser.get(f"/auth/callback?code=code-carol&state={params['state']}"), "account_disabled"
    )


def test_forged_and_revoked_api_tokens_are_refused(client: Client, person: Callable[..., Person]) -> None:
    dana, eve = person("dana"), person("eve")
    _, made, _ = call(client, "POST", "/me/tokens", headers=dana.headers, body={"name": "script"})
    prefix, token_id, secret = made["token"].split(".")
    forgeries = [
        f"{prefix}.{token_id}.{secret[:-2]}xx",  # wrong secret
        f"vre_{eve.id}.{token_id}.{secret}",  # right secret, claimed by someone else
        f"{prefix}.ffffffffffffffff.{secret}",  # no such token
        "vre_",
        f"vre_{dana.id}..",
    ]
    for forged in forgeries:
        _assert_refused(*call(client, "GET", "/me", headers={"Authorization": f"Bearer {forged}"}))

    assert call(client, "DELETE", f"/me/tokens/{made['id']}", headers=dana.headers)[0] == 204
    _assert_refused(*call(client, "GET", "/me", headers={"Authorization": f"Bearer {made['token']}"}))


# Login CSRF: the login is bound to the browser that began it ----------------------------------


def test_the_login_sets_a_short_lived_http_only_same_site_cookie_holding_a_hash_of_the_state(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    browser = Browser(client)

    params = _start(browser)

    (set_cookie,) = browser.set_cookies
    assert set_cookie == (
        f"vre_login_state={state_binding(params['state'])}; Max-Age=600; Path=/auth; HttpOnly; SameSite=Lax"
    )  # no Secure on the local stage's plain HTTP; every other stage adds it (tests/unit/test_login_cookie.py)
    assert params["state"] not in set_cookie


def test_an_attackers_callback_opened_in_a_victims_browser_does_not_log_the_victim_in(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    # GIVEN an attacker who began a login in their own browser and stopped at the provider's redirect back
    attacker = Browser(client)
    params = _start(attacker)
    identity_provider.identities["attackers-code"] = Identity("https://idp.test", "mallory", "m@evil.example")
    before = snapshot()

    # WHEN the victim's browser, which began no login, opens that callback URL
    victim = Browser(client)
    answer = victim.get(f"/auth/callback?code=attackers-code&state={params['state']}")

    # THEN the victim lands on the login page, nobody is signed in and the code is not redeemed
    _assert_sent_to_login_page(answer, "state_cookie_missing")
    assert snapshot() == before
    assert identity_provider.exchanges == []

    # AND a victim in the middle of a login of their own is refused too
    _start(victim)
    during = snapshot()
    _assert_sent_to_login_page(
        victim.get(f"/auth/callback?code=attackers-code&state={params['state']}"), "state_cookie_mismatch"
    )
    assert snapshot() == during
    assert identity_provider.exchanges == []


def test_a_callback_from_another_issuer_is_refused_before_the_code_is_redeemed(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    browser = Browser(client)
    params = _start(browser)
    identity_provider.identities["c"] = Identity("https://idp.test", "alice", "alice@rug.nl")

    answer = browser.get(f"/auth/callback?code=c&state={params['state']}&iss=https%3A%2F%2Fevil.example")

    _assert_sent_to_login_page(answer, "issuer_mismatch")
    assert identity_provider.exchanges == []


def test_a_callback_naming_the_configured_issuer_logs_in(
    client: Client, identity_provider: FakeIdentityProvider
) -> None:
    browser = Browser(client)
    params = _start(browser)
    identity_provider.identities["c"] = Identity("https://idp.test", "alice", "alice@rug.nl")

    status, _, headers = browser.get(f"/auth/callback?code=c&state={params['state']}&iss=https%3A%2F%2Fidp.test")

    assert status == 302
    assert "login_code=" in headers["Location"]
