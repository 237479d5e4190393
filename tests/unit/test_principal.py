"""The caller of a request: what `authenticate` reads off the bearer token, and what `check_credential`
then demands of the credential on record."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.auth.principal import Principal, authenticate, bearer_token, check_credential
from chalicelib.auth.tokens import TokenPolicy, issue_session_token
from chalicelib.errors import AuthenticationError
from chalicelib.services.accounts.api_tokens import NewApiToken, create_token
from chalicelib.services.accounts.login import end_session
from chalicelib.services.accounts.model import Credential, CredentialKind, Researcher
from tests.support.fakes import FakeBroker

POLICY = TokenPolicy(
    key="unit-test-signing-key-0123456789abcdef", issuer="vre-broker", audience="vre-broker-api", ttl=timedelta(hours=1)
)
NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def ada(broker: FakeBroker) -> Researcher:
    return broker.researcher("ada")


@pytest.fixture
def api_token(broker: FakeBroker, ada: Researcher) -> NewApiToken:
    return create_token(ada, broker.credentials, name="cli", expires_at=None, now=broker.clock)


def on_record(broker: FakeBroker, principal: Principal) -> Credential | None:
    """What the request's first read finds for this principal."""
    return broker.access(principal.researcher_id, credential_key=principal.credential_key).credential


# authenticate --------------------------------------------------------------------------------


def test_session_token_names_its_researcher_and_revocation(ada: Researcher) -> None:
    token = issue_session_token(POLICY, ada.id)

    principal = authenticate(bearer(token), POLICY)

    assert principal.researcher_id == ada.id
    assert principal.kind is CredentialKind.REVOKED_SESSION
    assert principal.token_id
    assert principal.credential_key == f"revoked_session#{principal.token_id}"
    assert principal.expires_at is not None
    assert principal.secret_hash == ""


def test_session_token_with_another_key_is_refused(ada: Researcher) -> None:
    token = issue_session_token(replace(POLICY, key="another-key-0123456789abcdef0123456789"), ada.id)

    with pytest.raises(AuthenticationError):
        authenticate(bearer(token), POLICY)


def test_api_token_names_its_researcher_token_and_hash(ada: Researcher, api_token: NewApiToken) -> None:
    principal = authenticate(bearer(api_token.secret), POLICY)

    assert principal.researcher_id == ada.id
    assert principal.kind is CredentialKind.API_TOKEN
    assert principal.token_id == api_token.token_id
    assert principal.credential_key == f"api_token#{api_token.token_id}"
    assert principal.secret_hash == hashlib.sha256(api_token.secret.encode()).hexdigest()
    assert principal.expires_at is None


@pytest.mark.parametrize(
    "token",
    [
        "vre_",
        "vre_abc",
        "vre_abc.",
        "vre_abc.def",
        "vre_abc.def.",
        "vre_.def.secret",
        "vre_abc..secret",
        "vre_a-b.def.secret",
        "vre_abc.d#f.secret",
        "vre_abc.d/f.secret",
        "vre_abc def.secret",
        "vre_" + "a" * 65 + ".def.secret",
    ],
)
def test_malformed_api_token_is_refused(token: str) -> None:
    with pytest.raises(AuthenticationError) as raised:
        authenticate(bearer(token), POLICY)

    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": ""}, {"authorization": "Bearer "}, {"authorization": "Basic YWRhOnNlY3JldA=="}],
    ids=["none", "empty", "no-token", "basic"],
)
def test_without_a_bearer_token_the_caller_is_unauthenticated(headers: dict[str, str]) -> None:
    with pytest.raises(AuthenticationError) as raised:
        authenticate(headers, POLICY)

    assert raised.value.headers == {"WWW-Authenticate": "Bearer"}


def test_bearer_scheme_is_case_insensitive_and_the_token_trimmed() -> None:
    assert bearer_token({"authorization": "bearer   abc.def  "}) == "abc.def"


def test_something_that_is_neither_kind_of_token_is_refused() -> None:
    with pytest.raises(AuthenticationError):
        authenticate(bearer("not-a-token"), POLICY)


# check_credential: sessions ------------------------------------------------------------------


def test_session_without_a_revocation_is_accepted(broker: FakeBroker, ada: Researcher) -> None:
    principal = authenticate(bearer(issue_session_token(POLICY, ada.id)), POLICY)

    check_credential(principal, on_record(broker, principal), NOW)


def test_revoked_session_is_refused(broker: FakeBroker, ada: Researcher) -> None:
    principal = authenticate(bearer(issue_session_token(POLICY, ada.id)), POLICY)
    end_session(broker.credentials, token_id=principal.token_id, expires_at=principal.expires_at, now=broker.clock)

    with pytest.raises(AuthenticationError, match="session has ended"):
        check_credential(principal, on_record(broker, principal), NOW)


def test_another_sessions_revocation_does_not_end_this_one(broker: FakeBroker, ada: Researcher) -> None:
    ended = authenticate(bearer(issue_session_token(POLICY, ada.id)), POLICY)
    end_session(broker.credentials, token_id=ended.token_id, expires_at=ended.expires_at, now=broker.clock)
    principal = authenticate(bearer(issue_session_token(POLICY, ada.id)), POLICY)

    check_credential(principal, on_record(broker, principal), NOW)


# check_credential: API tokens ----------------------------------------------------------------


def test_good_api_token_is_accepted(broker: FakeBroker, api_token: NewApiToken) -> None:
    principal = authenticate(bearer(api_token.secret), POLICY)

    check_credential(principal, on_record(broker, principal), broker.clock())


def test_api_token_with_a_wrong_secret_is_refused(broker: FakeBroker, api_token: NewApiToken) -> None:
    forged = api_token.secret[:-4] + ("AAAA" if not api_token.secret.endswith("AAAA") else "BBBB")
    principal = authenticate(bearer(forged), POLICY)

    with pytest.raises(AuthenticationError):
        check_credential(principal, on_record(broker, principal), broker.clock())


def test_api_token_claiming_another_owner_is_refused(
    broker: FakeBroker, api_token: NewApiToken, ada: Researcher
) -> None:
    grace = broker.researcher("grace")
    forged = api_token.secret.replace(f"vre_{ada.id}.", f"vre_{grace.id}.", 1)
    principal = authenticate(bearer(forged), POLICY)
    assert principal.researcher_id == grace.id

    with pytest.raises(AuthenticationError):
        check_credential(principal, on_record(broker, principal), broker.clock())


def test_api_token_stored_for_another_owner_is_refused_even_with_the_right_hash(
    broker: FakeBroker, api_token: NewApiToken
) -> None:
    principal = authenticate(bearer(api_token.secret), POLICY)
    stored = on_record(broker, principal)
    assert stored is not None

    with pytest.raises(AuthenticationError):
        check_credential(principal, replace(stored, owner_id=broker.researcher("grace").id), broker.clock())


def test_expired_api_token_is_refused(broker: FakeBroker, ada: Researcher) -> None:
    expires = broker.clock.last + timedelta(days=1)
    token = create_token(ada, broker.credentials, name="short", expires_at=expires, now=broker.clock)
    principal = authenticate(bearer(token.secret), POLICY)
    stored = on_record(broker, principal)

    check_credential(principal, stored, expires - timedelta(seconds=1))
    with pytest.raises(AuthenticationError):
        check_credential(principal, stored, expires)


def test_revoked_or_unknown_api_token_is_refused(broker: FakeBroker, api_token: NewApiToken) -> None:
    broker.credentials.take(api_token.credential.key)
    principal = authenticate(bearer(api_token.secret), POLICY)

    with pytest.raises(AuthenticationError):
        check_credential(principal, on_record(broker, principal), broker.clock())


def test_a_record_of_another_kind_is_not_an_api_token(broker: FakeBroker, api_token: NewApiToken) -> None:
    principal = authenticate(bearer(api_token.secret), POLICY)
    stored = on_record(broker, principal)
    assert stored is not None

    with pytest.raises(AuthenticationError):
        check_credential(principal, replace(stored, kind=CredentialKind.LOGIN_CODE), broker.clock())
