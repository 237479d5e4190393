"""`OidcProvider` against a fake provider served by `responses`: what it sends, what it believes.

The fake answers discovery, JWKS, token and userinfo like SurfConext does; each test changes
one of its answers. Whatever the provider gets wrong, the broker sees one short `LoginError`
that carries nothing of the provider's answer.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from jose import jwt
from responses import matchers

from chalicelib.providers.oidc import TIMEOUTS, OidcConfig, OidcProvider
from chalicelib.services.accounts.identity import Identity, LoginError
from tests.unit.signing_keys import SigningKey, make_key

ISSUER = "https://connect.test.example"
DISCOVERY_URL = f"{ISSUER}/.well-known/openid-configuration"
AUTHORIZE_URL = f"{ISSUER}/oidc/authorize"
TOKEN_URL = f"{ISSUER}/oidc/token"
USERINFO_URL = f"{ISSUER}/oidc/userinfo"
JWKS_URL = f"{ISSUER}/oidc/certs"
CONFIG = OidcConfig(
    issuer=ISSUER,
    client_id="vre-broker-test",
    client_secret="client-secret-0123456789",
    redirect_uri="https://api.vre.test/auth/callback",
    scopes="openid email profile",
)
NONCE = "nonce-0123456789"
ACCESS_TOKEN = "access-token-0123456789"
SUBJECT = "surf-subject-1"
# What a careless provider might put in an error body; it must never reach the caller or the log.
LEAKY_BODY = '{"error": "invalid_grant", "error_description": "code abc for vre-broker-test, internal host db-7"}'


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return make_key("surf-key-1")


@pytest.fixture
def provider_http() -> Iterator[responses.RequestsMock]:
    """The fake provider; `assert_all_requests_are_fired` is off so tests can leave endpoints unused."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def provider() -> OidcProvider:
    return OidcProvider(CONFIG, session=requests.Session())


def discovery(**changes: Any) -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": AUTHORIZE_URL,
        "token_endpoint": TOKEN_URL,
        "userinfo_endpoint": USERINFO_URL,
        "jwks_uri": JWKS_URL,
        "id_token_signing_alg_values_supported": ["RS256"],
    } | changes


def id_token(key: SigningKey, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CONFIG.client_id,
        "sub": SUBJECT,
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "old@uni.example",
    } | changes
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid}, access_token=ACCESS_TOKEN)


def token_response(key: SigningKey, **changes: Any) -> dict[str, Any]:
    return {
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token(key),
    } | changes


def userinfo(**changes: Any) -> dict[str, Any]:
    return {
        "sub": SUBJECT,
        "email": "researcher@leidenuniv.nl",
        "email_verified": True,
        "name": "Lotte de Vries",
        "schac_home_organization": "leidenuniv.nl",
    } | changes


def serve(
    mock: responses.RequestsMock,
    key: SigningKey,
    *,
    token: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
) -> None:
    """A provider that answers every endpoint correctly, unless told otherwise."""
    mock.get(DISCOVERY_URL, json=discovery())
    mock.get(JWKS_URL, json={"keys": [key.public_jwk]})
    mock.post(TOKEN_URL, json=token_response(key) if token is None else token)
    mock.get(USERINFO_URL, json=userinfo() if user is None else user)


def exchange(provider: OidcProvider) -> Identity:
    return provider.exchange(code="the-code", code_verifier="the-verifier", nonce=NONCE)


def refused(provider: OidcProvider) -> LoginError:
    with pytest.raises(LoginError) as raised:
        exchange(provider)
    return raised.value


def calls_to(mock: responses.RequestsMock, url: str) -> list[Any]:
    return [call for call in mock.calls if (call.request.url or "").split("?")[0] == url]


# Discovery


def test_discovery_is_fetched_once_for_many_logins(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key)

    for _ in range(3):
        provider.authorization_url(state="s", nonce=NONCE, code_challenge="c")
        exchange(provider)

    assert len(calls_to(provider_http, DISCOVERY_URL)) == 1
    assert len(calls_to(provider_http, JWKS_URL)) == 1


def test_discovery_naming_another_issuer_is_refused(
    provider_http: responses.RequestsMock, provider: OidcProvider
) -> None:
    provider_http.get(DISCOVERY_URL, json=discovery(issuer="https://evil.example"))

    with pytest.raises(LoginError):
        provider.authorization_url(state="s", nonce=NONCE, code_challenge="c")


def test_discovery_without_an_endpoint_is_refused(
    provider_http: responses.RequestsMock, provider: OidcProvider
) -> None:
    provider_http.get(DISCOVERY_URL, json=discovery(userinfo_endpoint=None))

    with pytest.raises(LoginError):
        provider.authorization_url(state="s", nonce=NONCE, code_challenge="c")


def test_a_failed_discovery_is_not_cached(provider_http: responses.RequestsMock, provider: OidcProvider) -> None:
    provider_http.get(DISCOVERY_URL, status=503)
    with pytest.raises(LoginError):
        provider.authorization_url(state="s", nonce=NONCE, code_challenge="c")

    provider_http.replace(responses.GET, DISCOVERY_URL, json=discovery())

    assert provider.authorization_url(state="s", nonce=NONCE, code_challenge="c").startswith(AUTHORIZE_URL)


def test_an_explicit_discovery_url_is_used(provider_http: responses.RequestsMock) -> None:
    elsewhere = "https://metadata.test.example/surfconext.json"
    provider_http.get(elsewhere, json=discovery())
    provider = OidcProvider(
        OidcConfig(
            issuer=ISSUER,
            client_id="c",
            client_secret="s",
            redirect_uri="https://r.test/cb",
            scopes="openid",
            discovery_url=elsewhere,
        ),
        session=requests.Session(),
    )

    assert provider.authorization_url(state="s", nonce="n", code_challenge="c").startswith(AUTHORIZE_URL)


# The authorize URL


def test_the_authorize_url_asks_for_the_code_flow_with_pkce(
    provider_http: responses.RequestsMock, provider: OidcProvider
) -> None:
    provider_http.get(DISCOVERY_URL, json=discovery())

    url = provider.authorization_url(state="the-state", nonce=NONCE, code_challenge="the-challenge")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == AUTHORIZE_URL
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": [CONFIG.client_id],
        "redirect_uri": [CONFIG.redirect_uri],
        "scope": ["openid email profile"],
        "state": ["the-state"],
        "nonce": [NONCE],
        "code_challenge": ["the-challenge"],
        "code_challenge_method": ["S256"],
    }


def test_the_authorize_url_keeps_the_endpoints_own_query(
    provider_http: responses.RequestsMock, provider: OidcProvider
) -> None:
    provider_http.get(DISCOVERY_URL, json=discovery(authorization_endpoint=f"{AUTHORIZE_URL}?tenant=surf"))

    query = parse_qs(urlsplit(provider.authorization_url(state="s", nonce="n", code_challenge="c")).query)

    assert query["tenant"] == ["surf"]
    assert query["state"] == ["s"]


# The code exchange


def test_exchange_returns_the_identity_with_userinfo_merged(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key)

    identity = exchange(provider)

    assert identity == Identity(
        issuer=ISSUER,
        subject=SUBJECT,
        email="researcher@leidenuniv.nl",
        email_verified=True,
        name="Lotte de Vries",
        schac_home_organization="leidenuniv.nl",
    )


def test_claims_userinfo_lacks_come_from_the_id_token(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(
        provider_http,
        key,
        token=token_response(key, id_token=id_token(key, name="From The Token")),
        user={"sub": SUBJECT, "email": "researcher@leidenuniv.nl"},
    )

    identity = exchange(provider)

    assert identity.name == "From The Token"
    assert identity.email == "researcher@leidenuniv.nl"
    assert identity.email_verified is None
    assert identity.schac_home_organization is None


def test_claims_of_the_wrong_type_are_dropped(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key, user=userinfo(email_verified="true", name=["a", "list"]))

    identity = exchange(provider)

    assert identity.email_verified is None
    assert identity.name is None


def test_the_token_request_authenticates_with_basic_and_sends_the_verifier(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key)

    exchange(provider)

    (call,) = calls_to(provider_http, TOKEN_URL)
    basic = base64.b64encode(f"{CONFIG.client_id}:{CONFIG.client_secret}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {basic}"
    assert parse_qs(call.request.body) == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": [CONFIG.redirect_uri],
        "code_verifier": ["the-verifier"],
    }


def test_basic_credentials_are_form_encoded_first(provider_http: responses.RequestsMock, key: SigningKey) -> None:
    # RFC 6749 section 2.3.1: a secret with ":" or "%" must survive the Basic header.
    config = OidcConfig(
        issuer=ISSUER, client_id="vre broker", client_secret="p%ss:w+rd", redirect_uri="https://r.test", scopes="openid"
    )
    serve(provider_http, key, token=token_response(key, id_token=id_token(key, aud="vre broker")))

    OidcProvider(config, session=requests.Session()).exchange(code="c", code_verifier="v", nonce=NONCE)

    (call,) = calls_to(provider_http, TOKEN_URL)
    basic = base64.b64encode(b"vre%20broker:p%25ss%3Aw%2Brd").decode()
    assert call.request.headers["Authorization"] == f"Basic {basic}"


def test_every_call_has_connect_and_read_timeouts(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key)

    exchange(provider)

    assert TIMEOUTS == (3.0, 10.0)
    assert len(provider_http.calls) == 4
    # `responses` keeps the keyword arguments each request was sent with.
    assert {getattr(call.request, "req_kwargs", {}).get("timeout") for call in provider_http.calls} == {TIMEOUTS}


def test_userinfo_is_fetched_with_the_access_token(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key)
    provider_http.replace(
        responses.GET,
        USERINFO_URL,
        json=userinfo(),
        match=[matchers.header_matcher({"Authorization": f"Bearer {ACCESS_TOKEN}"})],
    )

    assert exchange(provider).subject == SUBJECT


def test_userinfo_about_another_subject_is_refused(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key, user=userinfo(sub="someone-else"))

    refused(provider)


def test_userinfo_without_a_subject_is_refused(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key, user=userinfo(sub=None))

    refused(provider)


def test_an_id_token_for_another_login_is_refused(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key, token=token_response(key, id_token=id_token(key, nonce="another-login")))

    refused(provider)
    assert not calls_to(provider_http, USERINFO_URL)


def test_an_id_token_signed_by_another_key_is_refused(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    forger = make_key(key.kid)
    serve(provider_http, key, token=token_response(key, id_token=id_token(forger)))

    refused(provider)


@pytest.mark.parametrize(
    "changes",
    [
        {"id_token": None},
        {"access_token": None},
        {"access_token": ""},
        {"token_type": "mac"},
        {"token_type": None},
    ],
    ids=["no id_token", "no access_token", "empty access_token", "not bearer", "no token_type"],
)
def test_an_incomplete_token_response_is_refused(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey, changes: dict[str, Any]
) -> None:
    answer = {name: value for name, value in (token_response(key) | changes).items() if value is not None}
    serve(provider_http, key, token=answer)

    refused(provider)


# The provider failing: one short LoginError, nothing of its answer passed on.


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (400, LEAKY_BODY, "application/json"),
        (401, LEAKY_BODY, "application/json"),
        (500, "<html>Internal Server Error at db-7</html>", "text/html"),
        (302, "", "text/html"),
        (200, "<html>Welcome to SURFconext</html>", "text/html"),
        (200, '["not", "an", "object"]', "application/json"),
    ],
    ids=["400", "401", "500", "redirect", "html", "json array"],
)
def test_a_bad_token_answer_is_a_login_error_that_leaks_nothing(
    provider_http: responses.RequestsMock,
    provider: OidcProvider,
    key: SigningKey,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: str,
    content_type: str,
) -> None:
    serve(provider_http, key)
    provider_http.replace(
        responses.POST, TOKEN_URL, body=body, status=status, content_type=content_type, headers={"Location": "/x"}
    )

    with caplog.at_level(logging.INFO, logger="chalicelib"):
        error = refused(provider)

    assert error.status == 401
    assert "db-7" not in error.detail
    assert "db-7" not in caplog.text
    assert "login refused: token" in caplog.text


def test_an_oauth_error_code_is_logged(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    serve(provider_http, key)
    provider_http.replace(responses.POST, TOKEN_URL, body=LEAKY_BODY, status=400, content_type="application/json")

    with caplog.at_level(logging.INFO, logger="chalicelib"):
        refused(provider)

    assert "token answered 400 (invalid_grant)" in caplog.text


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectTimeout("connect timed out"), requests.ReadTimeout("read timed out"), requests.ConnectionError()],
    ids=["connect timeout", "read timeout", "connection refused"],
)
@pytest.mark.parametrize(
    "endpoint", [DISCOVERY_URL, JWKS_URL, TOKEN_URL, USERINFO_URL], ids=["discovery", "jwks", "token", "userinfo"]
)
def test_an_unreachable_provider_is_a_login_error(
    provider_http: responses.RequestsMock,
    provider: OidcProvider,
    key: SigningKey,
    endpoint: str,
    failure: requests.RequestException,
) -> None:
    serve(provider_http, key)
    method = responses.POST if endpoint == TOKEN_URL else responses.GET
    provider_http.replace(method, endpoint, body=failure)

    refused(provider)


def test_userinfo_that_is_not_json_is_a_login_error(
    provider_http: responses.RequestsMock, provider: OidcProvider, key: SigningKey
) -> None:
    serve(provider_http, key)
    provider_http.replace(
        responses.GET, USERINFO_URL, body="eyJhbGciOi.signed.userinfo", content_type="application/jwt"
    )

    refused(provider)
