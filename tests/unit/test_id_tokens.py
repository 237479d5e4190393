"""ID tokens: a token the provider signed for this client and login verifies; nothing else does.

Keys are generated with `cryptography` (`tests/unit/signing_keys.py`), tokens made with
`jose.jwt.encode` (or by hand where python-jose refuses to make the forgery). The JWKS comes
from a counting fake, so the tests also pin down when the keys are fetched again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from jose import jwt

from chalicelib.auth.id_tokens import JWKS_MAX_AGE_SECONDS, JwksKeys, verify_id_token
from chalicelib.services.accounts.identity import LoginError
from tests.unit.signing_keys import SigningKey, make_key

ISSUER = "https://connect.test.example"
CLIENT_ID = "vre-broker-test"
NONCE = "nonce-0123456789"
ACCESS_TOKEN = "access-token-0123456789"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return make_key("key-1")


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return make_key("key-2")


@dataclass
class FakeJwks:
    """The provider's JWKS endpoint: serves `keys`, counts the fetches."""

    keys: list[Any]
    fetches: int = 0

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": list(self.keys)}


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def claims(**changes: Any) -> dict[str, Any]:
    """Valid ID token claims issued now; a change to None drops the claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "surf-subject-1",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "researcher@uni.example",
    }
    return {name: value for name, value in (base | changes).items() if value is not None}


def signed(
    payload: dict[str, Any], key: SigningKey, *, kid: str | None = "", access_token: str | None = ACCESS_TOKEN
) -> str:
    """`payload` signed RS256 with `key`, under `kid` (the key's own by default; None for no kid)."""
    headers = {} if kid is None else {"kid": kid or key.kid}
    return jwt.encode(payload, key.private_pem, algorithm="RS256", headers=headers, access_token=access_token)


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def verify(token: str, keys: JwksKeys, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "nonce": NONCE,
        "access_token": ACCESS_TOKEN,
    } | overrides
    return verify_id_token(token, keys, **arguments)


def refused(token: str, keys: JwksKeys, **overrides: Any) -> LoginError:
    with pytest.raises(LoginError) as raised:
        verify(token, keys, **overrides)
    return raised.value


@pytest.fixture
def jwks(key: SigningKey) -> FakeJwks:
    return FakeJwks([key.public_jwk])


@pytest.fixture
def keys(jwks: FakeJwks) -> JwksKeys:
    return JwksKeys(jwks, FakeClock())


# The happy paths. Every refusal below differs from `claims()` signed with `key` in one way.


def test_valid_token_verifies_to_its_claims(key: SigningKey, keys: JwksKeys) -> None:
    verified = verify(signed(claims(), key), keys)

    assert verified["sub"] == "surf-subject-1"
    assert verified["email"] == "researcher@uni.example"


def test_several_audiences_are_accepted_when_azp_is_this_client(key: SigningKey, keys: JwksKeys) -> None:
    token = signed(claims(aud=["another-service", CLIENT_ID], azp=CLIENT_ID), key)

    assert verify(token, keys)["sub"] == "surf-subject-1"


def test_expiry_within_the_leeway_is_accepted(key: SigningKey, keys: JwksKeys) -> None:
    now = int(time.time())

    assert verify(signed(claims(iat=now - 600, exp=now - 30), key), keys)["sub"]


def test_token_without_at_hash_needs_no_access_token(key: SigningKey, keys: JwksKeys) -> None:
    token = signed(claims(), key, access_token=None)

    assert verify(token, keys, access_token=None)["sub"]


def test_token_without_kid_uses_the_only_key(key: SigningKey, keys: JwksKeys) -> None:
    # oidc-provider-mock (the local stack's provider) signs without a kid and publishes one key.
    assert verify(signed(claims(), key, kid=None), keys)["sub"]


# Refusals: forged or unusable tokens.


def test_refusal_is_generic(key: SigningKey, keys: JwksKeys) -> None:
    error = refused(signed(claims(nonce="other"), key), keys)

    assert error.status == 401
    assert "nonce" not in error.detail


def test_alg_none_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': key.kid})}.{b64(claims())}."

    refused(token, keys)


def test_hs256_signed_with_the_providers_public_key_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    # python-jose will not sign HS256 with a PEM key, so the forgery is built by hand.
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{b64(claims())}"
    signature = hmac.new(key.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()

    refused(f"{signing_input}.{b64(signature)}", keys)


def test_hs256_with_any_secret_is_refused(keys: JwksKeys) -> None:
    refused(jwt.encode(claims(), "shared-secret-0123456789", algorithm="HS256", headers={"kid": "key-1"}), keys)


def test_rs512_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(jwt.encode(claims(), key.private_pem, algorithm="RS512", headers={"kid": key.kid}), keys)


def test_unknown_kid_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(), key, kid="no-such-key"), keys)


def test_signed_by_another_key_is_refused(other_key: SigningKey, keys: JwksKeys) -> None:
    # The forger claims the provider's kid but signs with a key of their own.
    refused(signed(claims(), other_key, kid="key-1"), keys)


def test_tampered_payload_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    header, _, signature = signed(claims(), key).split(".")

    refused(f"{header}.{b64(claims(sub='someone-else'))}.{signature}", keys)


def test_expired_token_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    now = int(time.time())

    refused(signed(claims(iat=now - 900, exp=now - 120), key), keys)


def test_token_issued_in_the_future_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    now = int(time.time())

    refused(signed(claims(iat=now + 120, exp=now + 600), key), keys)


def test_token_not_yet_valid_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(nbf=int(time.time()) + 120), key), keys)


@pytest.mark.parametrize("missing", ["iss", "aud", "exp", "iat", "sub", "nonce"])
def test_token_missing_a_required_claim_is_refused(key: SigningKey, keys: JwksKeys, missing: str) -> None:
    refused(signed(claims(**{missing: None}), key), keys)


def test_wrong_issuer_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(iss="https://evil.example"), key), keys)


def test_wrong_audience_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(aud="another-client"), key), keys)


def test_several_audiences_without_azp_are_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(aud=[CLIENT_ID, "another-service"]), key), keys)


def test_azp_naming_another_client_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(azp="another-client"), key), keys)


def test_nonce_mismatch_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(nonce="a-replayed-nonce"), key), keys)


def test_at_hash_mismatch_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    token = signed(claims(), key, access_token="another-access-token")

    refused(token, keys)


def test_at_hash_without_the_access_token_is_refused(key: SigningKey, keys: JwksKeys) -> None:
    refused(signed(claims(), key), keys, access_token=None)


def test_garbage_is_refused(keys: JwksKeys) -> None:
    refused("not-a-jwt", keys)


def test_token_without_kid_is_refused_when_the_provider_has_several_keys(
    key: SigningKey, other_key: SigningKey
) -> None:
    keys = JwksKeys(FakeJwks([key.public_jwk, other_key.public_jwk]), FakeClock())

    refused(signed(claims(), key, kid=None), keys)


# The JWKS: cached, refetched at most once per token, and only when that can help.


def test_keys_are_fetched_once_for_many_tokens(key: SigningKey, jwks: FakeJwks, keys: JwksKeys) -> None:
    for _ in range(3):
        verify(signed(claims(), key), keys)

    assert jwks.fetches == 1


def test_an_unknown_kid_triggers_exactly_one_refetch(key: SigningKey, jwks: FakeJwks, keys: JwksKeys) -> None:
    # GIVEN keys already cached
    verify(signed(claims(), key), keys)

    # WHEN a token names a kid the provider does not publish, even after fetching again
    refused(signed(claims(), key, kid="still-unknown"), keys)

    # THEN the keys were fetched again once, not in a loop
    assert jwks.fetches == 2

    # AND the next such token costs one more fetch, no more
    refused(signed(claims(), key, kid="another-unknown"), keys)
    assert jwks.fetches == 3


def test_a_freshly_fetched_set_is_not_fetched_again_for_an_unknown_kid(
    key: SigningKey, jwks: FakeJwks, keys: JwksKeys
) -> None:
    refused(signed(claims(), key, kid="unknown"), keys)

    assert jwks.fetches == 1


def test_a_rotated_key_is_picked_up_by_the_refetch(
    key: SigningKey, other_key: SigningKey, jwks: FakeJwks, keys: JwksKeys
) -> None:
    # GIVEN the old key cached
    verify(signed(claims(), key), keys)

    # WHEN the provider rotates to a new key and signs with it
    jwks.keys = [other_key.public_jwk]
    verified = verify(signed(claims(), other_key), keys)

    # THEN one refetch found it, and it is cached from then on
    assert verified["sub"] == "surf-subject-1"
    assert jwks.fetches == 2
    verify(signed(claims(), other_key), keys)
    assert jwks.fetches == 2


def test_a_key_the_provider_dropped_stops_working_after_the_max_age(
    key: SigningKey, other_key: SigningKey, jwks: FakeJwks
) -> None:
    clock = FakeClock()
    keys = JwksKeys(jwks, clock)
    verify(signed(claims(), key), keys)

    jwks.keys = [other_key.public_jwk]
    clock.now += JWKS_MAX_AGE_SECONDS

    refused(signed(claims(), key), keys)
    assert jwks.fetches == 2


def test_unusable_keys_in_the_jwks_are_skipped(key: SigningKey) -> None:
    unusable: list[Any] = [
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        key.public_jwk | {"kid": "encryption", "use": "enc"},
        key.public_jwk | {"kid": "rs512", "alg": "RS512"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not-a-key",
    ]
    keys = JwksKeys(FakeJwks([*unusable, key.public_jwk]), FakeClock())

    assert verify(signed(claims(), key), keys)["sub"]
    refused(signed(claims(), key, kid="encryption"), keys)


@pytest.mark.parametrize("document", [{}, {"keys": "nope"}])
def test_a_jwks_without_a_key_list_is_refused(key: SigningKey, document: dict[str, Any]) -> None:
    refused(signed(claims(), key), JwksKeys(lambda: document, FakeClock()))


def test_a_failing_jwks_fetch_is_a_login_error(key: SigningKey) -> None:
    def unavailable() -> dict[str, Any]:
        raise LoginError(detail="provider down")

    refused(signed(claims(), key), JwksKeys(unavailable, FakeClock()))
