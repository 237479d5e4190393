"""Session tokens: the broker's own JWTs, issued and verified in one small wrapper over python-jose.

Algorithm pinned, and `exp`, `iat`, `iss`, `aud`, `sub` and `jti` all required: a token
missing any of them, or signed any other way, is refused the same way.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from jose import jwt
from jose.exceptions import JOSEError

from chalicelib.errors import AuthenticationError

if TYPE_CHECKING:
    from chalicelib.config import Settings

log = logging.getLogger(__name__)

SESSION_ALGORITHM = "HS256"
LEEWAY_SECONDS = 30
_REQUIRED = ("exp", "iat", "iss", "aud", "sub", "jti")


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """How session tokens are signed and what they must claim."""

    key: str = field(repr=False)
    issuer: str
    audience: str
    ttl: timedelta

    @classmethod
    def from_settings(cls, settings: Settings, key: str) -> TokenPolicy:
        """The stage's policy, signing with `key` (the signing key from `Secrets`)."""
        return cls(
            key=key,
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl=timedelta(seconds=settings.session_ttl_seconds),
        )


@dataclass(frozen=True, slots=True)
class SessionClaims:
    researcher_id: str
    token_id: str
    issued_at: datetime
    expires_at: datetime


def issue_session_token(policy: TokenPolicy, researcher_id: str, *, now: datetime | None = None) -> str:
    """A signed session token for a researcher."""
    moment = now or datetime.now(UTC)
    claims = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": researcher_id,
        "iat": int(moment.timestamp()),
        "nbf": int(moment.timestamp()),
        "exp": int((moment + policy.ttl).timestamp()),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, policy.key, algorithm=SESSION_ALGORITHM)


def verify_session_token(policy: TokenPolicy, token: str) -> SessionClaims:
    """The claims of a valid session token; `AuthenticationError` for anything else."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != SESSION_ALGORITHM:
            raise _refused(f"algorithm {header.get('alg')!r}")
        claims = jwt.decode(
            token,
            policy.key,
            algorithms=[SESSION_ALGORITHM],
            audience=policy.audience,
            issuer=policy.issuer,
            options={"leeway": LEEWAY_SECONDS} | {f"require_{claim}": True for claim in _REQUIRED},
        )
    except JOSEError as exc:
        raise _refused(type(exc).__name__) from exc
    issued_at = _timestamp(claims.get("iat"))
    now = datetime.now(UTC)
    if issued_at > now + timedelta(seconds=LEEWAY_SECONDS):
        raise _refused("issued in the future")
    subject, token_id = claims.get("sub"), claims.get("jti")
    if not isinstance(subject, str) or not subject or not isinstance(token_id, str):
        raise _refused("malformed subject")
    return SessionClaims(subject, token_id, issued_at, _timestamp(claims.get("exp")))


def _timestamp(value: object) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _refused("malformed time claim")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _refused("time claim out of range") from exc


def _refused(reason: str) -> AuthenticationError:
    log.info("session token refused: %s", reason)
    return AuthenticationError(
        detail="The bearer token is invalid or expired.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
