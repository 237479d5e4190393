"""The verified caller of a request, from its `Authorization` header.

Two kinds of bearer token: the broker's session tokens (JWTs, see `tokens`) and personal API
tokens (`vre_<researcher>.<token id>.<secret>`, stored hashed). Either way the token names the
credential record to read along with the researcher, in the request's first and only lookup:
a session's revocation, or the API token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.auth.tokens import TokenPolicy, verify_session_token
from chalicelib.errors import AuthenticationError
from chalicelib.models import keys
from chalicelib.services.accounts.model import Credential, CredentialKind

API_TOKEN_PREFIX = "vre_"


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller whose token checked out so far; `credential_key` is what must (not) be on record."""

    researcher_id: str
    kind: CredentialKind
    credential_key: str
    token_id: str
    expires_at: datetime | None = None
    secret_hash: str = field(default="", repr=False)


def credential_key(kind: CredentialKind, identifier: str) -> str:
    return keys.credential(kind.value, identifier)


def hash_secret(secret: str) -> str:
    """SHA-256, hex: the secrets hashed here are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_token(researcher_id: str) -> tuple[str, str]:
    """A fresh API token for a researcher: its id and the whole secret (shown once)."""
    token_id = secrets.token_hex(8)
    return token_id, f"{API_TOKEN_PREFIX}{researcher_id}.{token_id}.{secrets.token_urlsafe(32)}"


def _refused(detail: str = "The bearer token is invalid or expired.") -> AuthenticationError:
    return AuthenticationError(detail=detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def bearer_token(headers: Mapping[str, str]) -> str:
    """The token of an `Authorization: Bearer ...` header, or 401."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            detail="This route needs an `Authorization: Bearer <token>` header.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def authenticate(headers: Mapping[str, str], policy: TokenPolicy) -> Principal:
    """Check the bearer token as far as it can be checked without storage."""
    token = bearer_token(headers)
    if token.startswith(API_TOKEN_PREFIX):
        researcher_id, _, rest = token.removeprefix(API_TOKEN_PREFIX).partition(".")
        token_id, _, secret = rest.partition(".")
        if not (researcher_id.isalnum() and len(researcher_id) <= 64 and token_id.isalnum() and secret):
            raise _refused()
        kind = CredentialKind.API_TOKEN
        return Principal(researcher_id, kind, credential_key(kind, token_id), token_id, secret_hash=hash_secret(token))
    claims = verify_session_token(policy, token)
    kind = CredentialKind.REVOKED_SESSION
    return Principal(
        claims.researcher_id,
        CredentialKind.REVOKED_SESSION,
        credential_key(kind, claims.token_id),
        claims.token_id,
        expires_at=claims.expires_at,
    )


def check_credential(principal: Principal, credential: Credential | None, now: datetime) -> None:
    """Finish the check with what storage holds: no revocation for a session; a live, matching API token."""
    if principal.kind is CredentialKind.REVOKED_SESSION:
        if credential is not None:
            raise _refused("This session has ended; log in again.")
        return
    if (
        credential is None
        or credential.kind is not CredentialKind.API_TOKEN
        or credential.owner_id != principal.researcher_id
        or not hmac.compare_digest(credential.secret_hash, principal.secret_hash)
        or credential.expired(now)
    ):
        raise _refused()
