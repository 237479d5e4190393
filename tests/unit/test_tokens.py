"""Session tokens: what `issue_session_token` makes `verify_session_token` accepts, and nothing else."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jose import jwt

from chalicelib.auth.tokens import TokenPolicy, issue_session_token, verify_session_token
from chalicelib.errors import AuthenticationError

KEY = "unit-test-signing-key-0123456789abcdef"
POLICY = TokenPolicy(key=KEY, issuer="vre-broker", audience="vre-broker-api", ttl=timedelta(hours=1))


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims for a token issued now; a change to None drops the claim."""
    now = int(datetime.now(UTC).timestamp())
    base: dict[str, Any] = {
        "iss": POLICY.issuer,
        "aud": POLICY.audience,
        "sub": "researcher-1",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "token-1",
    }
    merged = base | changes
    return {k: v for k, v in merged.items() if v is not None}


def signed(payload: dict[str, Any], *, key: str = KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def refused(token: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as raised:
        verify_session_token(POLICY, token)
    return raised.value


def test_issued_token_verifies_to_its_claims() -> None:
    moment = datetime.now(UTC).replace(microsecond=0)

    verified = verify_session_token(POLICY, issue_session_token(POLICY, "researcher-42", now=moment))

    assert verified.researcher_id == "researcher-42"
    assert verified.issued_at == moment
    assert verified.expires_at == moment + POLICY.ttl
    assert verified.token_id


def test_every_issued_token_has_its_own_id() -> None:
    ids = {verify_session_token(POLICY, issue_session_token(POLICY, "r")).token_id for _ in range(20)}

    assert len(ids) == 20


def test_hand_built_valid_token_is_accepted() -> None:
    # Guards the refusal tests below: their tokens differ from this one in one way only.
    assert verify_session_token(POLICY, signed(claims())).researcher_id == "researcher-1"


def test_token_expired_within_the_leeway_is_still_accepted() -> None:
    issued = datetime.now(UTC) - POLICY.ttl - timedelta(seconds=10)

    assert verify_session_token(POLICY, issue_session_token(POLICY, "r", now=issued)).researcher_id == "r"


def test_refusal_asks_for_a_new_bearer_token() -> None:
    error = refused("garbage")

    assert error.status == 401
    assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def test_unsigned_token_alg_none_is_refused() -> None:
    refused(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.")


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_token_signed_with_another_algorithm_is_refused(algorithm: str) -> None:
    refused(signed(claims(), algorithm=algorithm))


def test_token_signed_with_another_key_is_refused() -> None:
    refused(signed(claims(), key="another-key-0123456789abcdef0123456789"))


def test_token_from_another_issuer_is_refused() -> None:
    refused(signed(claims(iss="someone-else")))


def test_token_for_another_audience_is_refused() -> None:
    refused(signed(claims(aud="another-api")))


def test_expired_token_is_refused() -> None:
    issued = datetime.now(UTC) - POLICY.ttl - timedelta(minutes=5)

    refused(issue_session_token(POLICY, "r", now=issued))


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "sub", "iss", "aud"])
def test_token_missing_a_required_claim_is_refused(claim: str) -> None:
    refused(signed(claims(**{claim: None})))


@pytest.mark.parametrize(("claim", "value"), [("sub", ""), ("sub", 42), ("jti", 7), ("iat", "yesterday")])
def test_token_with_a_malformed_claim_is_refused(claim: str, value: object) -> None:
    refused(signed(claims(**{claim: value})))


def test_token_issued_in_the_future_is_refused() -> None:
    later = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())

    refused(signed(claims(iat=later, nbf=None, exp=later + 3600)))


def test_token_not_valid_before_a_future_time_is_refused() -> None:
    refused(signed(claims(nbf=int((datetime.now(UTC) + timedelta(hours=1)).timestamp()))))


def test_token_with_a_tampered_payload_is_refused() -> None:
    header, _, signature = issue_session_token(POLICY, "researcher-1").split(".")

    refused(f"{header}.{b64(claims(sub='researcher-2'))}.{signature}")


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "Bearer abc", "....", "eyJhbGciOiJIUzI1NiJ9.e30."])
def test_garbage_is_refused(garbage: str) -> None:
    refused(garbage)
