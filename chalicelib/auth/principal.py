"""The verified caller of a request, from its `Authorization` header."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.auth.tokens import TokenPolicy, verify_session_token
from chalicelib.errors import AuthenticationError


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller whose credentials checked out; the researcher is looked up separately."""

    researcher_id: str
    token_id: str
    kind: str = "session"


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
    """Verify the request's bearer token."""
    claims = verify_session_token(policy, bearer_token(headers))
    return Principal(researcher_id=claims.researcher_id, token_id=claims.token_id)
