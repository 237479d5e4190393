"""`OidcProvider` against a real OpenID Connect provider: the local stack's `LocalIdentityProvider`.

The unit tests pin down what the client sends and refuses against a scripted fake; this checks
that a real provider (oidc-provider-mock, on a free port in this process) agrees: discovery,
the authorize redirect, Basic client authentication with the registered secret, the ID token
(signed without a `kid`) and userinfo. It also checks the stand-in itself: nonce required,
redirect URI and secret enforced, a busy port refused, the port freed on stop.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from chalicelib.providers.oidc import OidcConfig, OidcProvider
from chalicelib.services.identity import Identity, LoginError
from vre_app.local.identity_provider import PREDEFINED_USERS, LocalClient, LocalIdentityProvider

HOST = "127.0.0.1"
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"
TIMEOUT = 10.0


@dataclass(frozen=True)
class Login:
    """One login attempt as the broker starts it: state, nonce and PKCE verifier."""

    state: str
    nonce: str
    verifier: str

    @property
    def challenge(self) -> str:
        return urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()

    @classmethod
    def new(cls) -> Login:
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48))


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[LocalIdentityProvider]:
    provider = LocalIdentityProvider(HOST, free_port(), redirect_uri=REDIRECT_URI)
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def client(identity_provider: LocalIdentityProvider) -> LocalClient:
    assert identity_provider.client is not None
    return identity_provider.client


def broker(identity_provider: LocalIdentityProvider, client: LocalClient, **changes: str) -> OidcProvider:
    config = {
        "issuer": identity_provider.url,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": client.redirect_uri,
    } | changes
    return OidcProvider(OidcConfig(**config), session=requests.Session())


def sign_in(authorize_url: str, subject: str) -> dict[str, str]:
    """What the browser does: open the authorize page, submit a subject, follow nothing."""
    http = requests.Session()
    page = http.get(authorize_url, timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    answer = http.post(authorize_url, data={"sub": subject}, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def set_claims(identity_provider: LocalIdentityProvider, subject: str, claims: dict[str, object]) -> None:
    answer = requests.put(f"{identity_provider.url}/users/{quote(subject, safe='')}", json=claims, timeout=TIMEOUT)
    assert answer.status_code == 204, answer.text


def test_a_login_yields_the_identity_with_the_claims_set_at_the_provider(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    # GIVEN a subject with SurfConext's claims at the provider
    subject = f"urn:collab:person:eur.nl:{secrets.token_hex(4)}"
    set_claims(
        identity_provider,
        subject,
        {"email": "r@eur.nl", "email_verified": True, "name": "R. Esearcher", "schac_home_organization": "eur.nl"},
    )
    oidc, login = broker(identity_provider, client), Login.new()

    # WHEN the browser signs in and the broker redeems the code
    returned = sign_in(
        oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge), subject
    )
    identity = oidc.exchange(code=returned["code"], code_verifier=login.verifier, nonce=login.nonce)

    # THEN the state came back and the identity is the provider's
    assert returned["state"] == login.state
    assert identity == Identity(
        issuer=identity_provider.url,
        subject=subject,
        email="r@eur.nl",
        email_verified=True,
        name="R. Esearcher",
        schac_home_organization="eur.nl",
    )


def test_a_predefined_researcher_needs_no_claims_set(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    subject, claims = PREDEFINED_USERS[0]
    oidc, login = broker(identity_provider, client), Login.new()

    returned = sign_in(
        oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge), subject
    )
    identity = oidc.exchange(code=returned["code"], code_verifier=login.verifier, nonce=login.nonce)

    assert identity.subject == subject
    assert identity.email == claims["email"]
    assert identity.schac_home_organization == claims["schac_home_organization"]


def test_a_code_redeemed_twice_is_refused(identity_provider: LocalIdentityProvider, client: LocalClient) -> None:
    oidc, login = broker(identity_provider, client), Login.new()
    url = oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge)
    code = sign_in(url, "someone")["code"]
    oidc.exchange(code=code, code_verifier=login.verifier, nonce=login.nonce)

    with pytest.raises(LoginError):
        oidc.exchange(code=code, code_verifier=login.verifier, nonce=login.nonce)


def test_an_id_token_for_another_login_is_refused(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    oidc, login = broker(identity_provider, client), Login.new()
    code = sign_in(oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge), "x")

    with pytest.raises(LoginError):
        oidc.exchange(code=code["code"], code_verifier=login.verifier, nonce="the-nonce-of-another-login")


def test_the_provider_checks_the_client_secret(identity_provider: LocalIdentityProvider, client: LocalClient) -> None:
    login = Login.new()
    url = broker(identity_provider, client).authorization_url(
        state=login.state, nonce=login.nonce, code_challenge=login.challenge
    )
    code = sign_in(url, "someone")["code"]

    with pytest.raises(LoginError):
        broker(identity_provider, client, client_secret="not-the-secret").exchange(
            code=code, code_verifier=login.verifier, nonce=login.nonce
        )


def test_the_provider_refuses_an_unregistered_redirect_uri(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    oidc = broker(identity_provider, client, redirect_uri="http://127.0.0.1:8000/elsewhere")

    page = requests.get(oidc.authorization_url(state="s", nonce="n", code_challenge="c"), timeout=TIMEOUT)

    assert page.status_code == 400


def test_the_provider_requires_a_nonce(identity_provider: LocalIdentityProvider, client: LocalClient) -> None:
    url = broker(identity_provider, client).authorization_url(state="s", nonce="n", code_challenge="c")

    answer = requests.get(url.replace("&nonce=n", ""), allow_redirects=False, timeout=TIMEOUT)

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"{REDIRECT_URI}?error=invalid_request&")


def test_a_busy_port_fails_at_once_and_stop_frees_the_port() -> None:
    port = free_port()
    first = LocalIdentityProvider(HOST, port, redirect_uri=REDIRECT_URI)
    first.start()
    try:
        with pytest.raises(OSError, match="in use"):
            LocalIdentityProvider(HOST, port, redirect_uri=REDIRECT_URI).start()
    finally:
        first.stop()
        first.stop()

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((HOST, port))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
