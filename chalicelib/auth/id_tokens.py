"""ID tokens from the identity provider, verified in one small wrapper over python-jose.

The broker believes who logged in only through this module. The algorithm is pinned to RS256
(so `alg: none` and HS256 signed with the provider's public key are refused before any key is
used); the key is the provider's, picked by `kid` from its JWKS, which is cached per instance
(one per warm Lambda) and fetched again at most once per token when a `kid` is unknown, so a
key rotation is picked up without letting a token make the broker fetch in a loop.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError

from chalicelib.services.accounts.identity import LoginError, LoginFailure, LogValue

log = logging.getLogger(__name__)

ID_TOKEN_ALGORITHM = "RS256"
LEEWAY_SECONDS = 60
# Keys the provider has dropped (say, after a compromise) stop being trusted within this long.
JWKS_MAX_AGE_SECONDS = 3600.0
_REQUIRED = ("iss", "aud", "exp", "iat")

JwksFetch = Callable[[], Mapping[str, Any]]


class JwksKeys:
    """The provider's RS256 signing keys, fetched on first use and kept for `max_age` seconds.

    `fetch` returns the JWKS document (and raises `LoginError` when it cannot); `clock` is
    monotonic seconds.
    """

    def __init__(
        self,
        fetch: JwksFetch,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_age: float = JWKS_MAX_AGE_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._max_age = max_age
        self._keys: list[tuple[str | None, Key]] = []
        self._fetched_at: float | None = None

    def key_for(self, kid: str | None) -> Key:
        """The key named `kid`, refetching the JWKS at most once if it is not known.

        A token without `kid` is accepted only while the provider publishes a single key.
        """
        fresh = False
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age:
            self._load()
            fresh = True
        key = self._find(kid)
        if key is None and not fresh:
            log.info("ID token key %r unknown; fetching the provider's keys again", kid)
            self._load()
            key = self._find(kid)
        if key is None:
            raise _refused(f"no provider key matches kid {kid!r}")
        return key

    def _find(self, kid: str | None) -> Key | None:
        if kid is None:
            return self._keys[0][1] if len(self._keys) == 1 else None
        return next((key for key_id, key in self._keys if key_id == kid), None)

    def _load(self) -> None:
        document = self._fetch()
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise _refused("the JWKS has no key list")
        self._keys = [parsed for entry in entries if (parsed := _signing_key(entry)) is not None]
        self._fetched_at = self._clock()


def verify_id_token(
    token: str,
    keys: JwksKeys,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    now: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The claims of a valid ID token for this client and login attempt; `LoginError` for anything else.

    `at_hash`, when the token has one, must match `access_token`.
    """
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise _refused(f"unreadable header ({type(exc).__name__})") from exc
    if header.get("alg") != ID_TOKEN_ALGORITHM:
        raise _refused(f"algorithm {header.get('alg')!r}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _refused("malformed kid")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            keys.key_for(kid),
            algorithms=[ID_TOKEN_ALGORITHM],
            audience=client_id,
            issuer=issuer,
            access_token=access_token,
            options={"leeway": LEEWAY_SECONDS} | {f"require_{claim}": True for claim in _REQUIRED},
        )
    except JOSEError as exc:
        raise _decode_refused(token, exc, now()) from exc
    _check_claims(claims, client_id=client_id, nonce=nonce, now=now())
    return claims


def _decode_refused(token: str, exc: JOSEError, now: float) -> LoginError:
    """Why python-jose refused: an expired or not-yet-valid token is a clock problem, and says by how much.

    python-jose checks the time claims only after the signature, so the claims read here are the
    provider's own; they name the subject and the skew, which research IT needs to debug it.
    """
    reason = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ExpiredSignatureError | JWTClaimsError):
        return _refused(reason)  # the signature, the header or the token itself: its claims say nothing
    claims = jwt.get_unverified_claims(token)
    subject = claims.get("sub")
    context: dict[str, LogValue] = {"subject": subject} if isinstance(subject, str) and subject else {}
    if isinstance(exc, ExpiredSignatureError) and _is_time(claims.get("exp")):
        skew = round(now - float(claims["exp"]))
        return _refused(reason, LoginFailure.CLOCK_SKEW, claim="exp", skew_seconds=skew, **context)
    if "(nbf)" in str(exc) and _is_time(claims.get("nbf")):
        skew = round(float(claims["nbf"]) - now)
        return _refused(reason, LoginFailure.CLOCK_SKEW, claim="nbf", skew_seconds=skew, **context)
    return _refused(reason, LoginFailure.TOKEN_INVALID, **context)


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_claims(claims: Mapping[str, Any], *, client_id: str, nonce: str, now: float) -> None:
    """What python-jose leaves to the caller: `azp`, `iat` in the future, `sub` and `nonce`."""
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise _refused(f"authorized party {azp!r}")
    issued_at = claims["iat"]
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        raise _refused("malformed iat")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise _refused("no subject", claim="sub")
    if issued_at > now + LEEWAY_SECONDS:
        skew = round(issued_at - now)
        raise _refused("issued in the future", LoginFailure.CLOCK_SKEW, claim="iat", skew_seconds=skew, subject=subject)
    claimed = claims.get("nonce")
    if not isinstance(claimed, str) or not hmac.compare_digest(claimed.encode(), nonce.encode()):
        raise _refused("nonce mismatch", subject=subject)


def _signing_key(entry: object) -> tuple[str | None, Key] | None:
    """One JWKS entry as a (kid, key) pair, or None when it is not an RSA key for RS256 signatures."""
    if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
        return None
    if entry.get("use", "sig") != "sig" or entry.get("alg", ID_TOKEN_ALGORITHM) != ID_TOKEN_ALGORITHM:
        return None
    kid = entry.get("kid")
    try:
        return (kid if isinstance(kid, str) else None), jwk.construct(dict(entry), ID_TOKEN_ALGORITHM)
    except (JOSEError, ValueError, TypeError):
        log.info("skipping an unusable key in the provider's JWKS (kid %r)", kid)
        return None


def _refused(reason: str, failure: LoginFailure = LoginFailure.TOKEN_INVALID, **context: LogValue) -> LoginError:
    log.info("ID token refused: %s", reason)
    return LoginError(
        detail="The identity provider's answer could not be verified.",
        reason=failure,
        context={"why": reason, **context},
    )
