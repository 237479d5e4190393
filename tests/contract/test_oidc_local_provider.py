"""`OidcProvider` against a real OpenID Connect provider: the local stack's `LocalIdentityProvider`
(panva's oidc-provider on Node, on a free port).

The unit tests pin down what the client sends and refuses against a scripted fake; this checks that a
strict provider agrees: discovery, the authorize redirect, Basic client authentication with the registered
secret, PKCE S256, ID tokens with a `kid` across a key rotation, claims given at userinfo only, and a
denied consent. It also checks the stand-in itself: a busy port refused, the port freed on stop.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from jose import jwt

from chalicelib.providers.oidc import OidcConfig, OidcProvider
from chalicelib.services.accounts.identity import Identity, LoginError
from vre_app.local.identity_provider import LocalClient, LocalIdentityProvider, users_from_file

HOST = "127.0.0.1"
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"
CLIENT = LocalClient("vre-broker-test", "test-secret-" + secrets.token_hex(8), REDIRECT_URI)
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
    provider = LocalIdentityProvider(HOST, free_port(), client=CLIENT)
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def client(identity_provider: LocalIdentityProvider) -> LocalClient:
    return identity_provider.client


def broker(identity_provider: LocalIdentityProvider, client: LocalClient, **changes: str) -> OidcProvider:
    config = {
        "issuer": identity_provider.url,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": client.redirect_uri,
        "scopes": "openid email profile",
    } | changes
    return OidcProvider(OidcConfig(**config), session=requests.Session())


def sign_in(authorize_url: str, subject: str, *, decision: str = "allow") -> dict[str, str]:
    """What the browser does: open the authorize page, submit the login form, follow the provider's redirects."""
    http = requests.Session()
    page = http.get(authorize_url, timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    assert 'name="sub"' in page.text
    answer = http.post(page.url, data={"sub": subject, "decision": decision}, allow_redirects=False, timeout=TIMEOUT)
    for _ in range(5):
        assert answer.status_code in (302, 303), answer.text
        location = urljoin(answer.url, answer.headers["Location"])
        if location.startswith(REDIRECT_URI + "?"):
            return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        answer = http.get(location, allow_redirects=False, timeout=TIMEOUT)
    pytest.fail("the provider never sent the browser back to the redirect URI")


def set_claims(identity_provider: LocalIdentityProvider, subject: str, claims: dict[str, object]) -> None:
    identity_provider.add_user(subject, claims)


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
    seeded = users_from_file()[0]
    subject, claims = seeded["sub"], seeded["claims"]
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
    code = sign_in(url, "urn:collab:person:leidenuniv.nl:lotte")["code"]
    oidc.exchange(code=code, code_verifier=login.verifier, nonce=login.nonce)

    with pytest.raises(LoginError):
        oidc.exchange(code=code, code_verifier=login.verifier, nonce=login.nonce)


def test_an_id_token_for_another_login_is_refused(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    oidc, login = broker(identity_provider, client), Login.new()
    code = sign_in(
        oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge),
        "urn:collab:person:leidenuniv.nl:lotte",
    )

    with pytest.raises(LoginError):
        oidc.exchange(code=code["code"], code_verifier=login.verifier, nonce="the-nonce-of-another-login")


def test_the_provider_checks_the_client_secret(identity_provider: LocalIdentityProvider, client: LocalClient) -> None:
    login = Login.new()
    url = broker(identity_provider, client).authorization_url(
        state=login.state, nonce=login.nonce, code_challenge=login.challenge
    )
    code = sign_in(url, "urn:collab:person:leidenuniv.nl:lotte")["code"]

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


def test_a_code_redeemed_without_its_pkce_verifier_is_refused(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    # GIVEN a code from a login that sent a PKCE challenge
    oidc, login = broker(identity_provider, client), Login.new()
    code = sign_in(
        oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge),
        "urn:collab:person:leidenuniv.nl:lotte",
    )["code"]
    token_endpoint = f"{identity_provider.url}/token"
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    auth = (client.client_id, client.client_secret)

    # WHEN it is redeemed at the token endpoint without the verifier
    without = requests.post(token_endpoint, data=form, auth=auth, timeout=TIMEOUT)

    # THEN the provider refuses it
    assert without.status_code == 400, without.text
    assert without.json()["error"] == "invalid_grant"


def test_a_login_without_a_pkce_challenge_is_refused(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    url = broker(identity_provider, client).authorization_url(state="s", nonce="n", code_challenge="c" * 43)
    stripped = url.replace("&code_challenge=" + "c" * 43, "").replace("&code_challenge_method=S256", "")

    answer = requests.get(stripped, allow_redirects=False, timeout=TIMEOUT)

    assert answer.status_code in (302, 303)
    assert answer.headers["Location"].startswith(f"{REDIRECT_URI}?error=invalid_request")


def test_a_login_succeeds_across_a_key_rotation_with_the_same_broker(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    # GIVEN a broker that verified an ID token signed with the provider's current key
    subject = "urn:collab:person:tudelft.nl:daan"
    oidc = broker(identity_provider, client)
    first = Login.new()
    code = sign_in(
        oidc.authorization_url(state=first.state, nonce=first.nonce, code_challenge=first.challenge), subject
    )
    assert oidc.exchange(code=code["code"], code_verifier=first.verifier, nonce=first.nonce).subject == subject
    old_kid = identity_provider.kids()[0]

    # WHEN the provider rotates its signing key
    new_kid = identity_provider.rotate_keys()

    # THEN the old key stays published, the new one signs, and the same broker accepts it
    assert identity_provider.kids()[:2] == [new_kid, old_kid]
    second = Login.new()
    url = oidc.authorization_url(state=second.state, nonce=second.nonce, code_challenge=second.challenge)
    code = sign_in(url, subject)
    tokens = requests.post(
        f"{identity_provider.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": second.verifier,
        },
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )
    assert jwt.get_unverified_header(tokens.json()["id_token"])["kid"] == new_kid
    third = Login.new()
    url = oidc.authorization_url(state=third.state, nonce=third.nonce, code_challenge=third.challenge)
    code = sign_in(url, subject)
    assert oidc.exchange(code=code["code"], code_verifier=third.verifier, nonce=third.nonce).subject == subject


def test_claims_given_at_userinfo_only_still_reach_the_broker(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    # GIVEN a user whose claims the provider gives at userinfo only (SurfConext's way)
    subject = f"urn:collab:person:uu.nl:{secrets.token_hex(4)}"
    identity_provider.add_user(
        subject, {"email": "u@uu.nl", "email_verified": True, "name": "U. Only"}, id_token_claims=False
    )
    oidc, login = broker(identity_provider, client), Login.new()
    code = sign_in(
        oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge), subject
    )
    tokens = requests.post(
        f"{identity_provider.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": login.verifier,
        },
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    ).json()

    # THEN the ID token carries no email or name
    id_claims = jwt.get_unverified_claims(tokens["id_token"])
    assert "email" not in id_claims
    assert "name" not in id_claims

    # AND a broker's login still learns them, from userinfo
    again = Login.new()
    code = sign_in(
        oidc.authorization_url(state=again.state, nonce=again.nonce, code_challenge=again.challenge), subject
    )
    identity = oidc.exchange(code=code["code"], code_verifier=again.verifier, nonce=again.nonce)
    assert (identity.email, identity.name) == ("u@uu.nl", "U. Only")


def test_a_seeded_unverified_email_arrives_as_false(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    (unverified,) = [user for user in users_from_file() if user["claims"].get("email_verified") is False]
    oidc, login = broker(identity_provider, client), Login.new()

    code = sign_in(
        oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge), unverified["sub"]
    )
    identity = oidc.exchange(code=code["code"], code_verifier=login.verifier, nonce=login.nonce)

    assert identity.email == unverified["claims"]["email"]
    assert identity.email_verified is False


def test_denied_consent_comes_back_to_the_redirect_uri_as_access_denied(
    identity_provider: LocalIdentityProvider, client: LocalClient
) -> None:
    oidc, login = broker(identity_provider, client), Login.new()
    url = oidc.authorization_url(state=login.state, nonce=login.nonce, code_challenge=login.challenge)

    returned = sign_in(url, "urn:collab:person:leidenuniv.nl:lotte", decision="deny")

    assert returned["error"] == "access_denied"
    assert returned["state"] == login.state
    assert "code" not in returned


def test_a_busy_port_fails_at_once_and_stop_frees_the_port() -> None:
    port = free_port()
    first = LocalIdentityProvider(HOST, port, client=CLIENT)
    first.start()
    try:
        with pytest.raises(OSError, match="in use"):
            LocalIdentityProvider(HOST, port, client=CLIENT).start()
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
