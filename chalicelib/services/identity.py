"""The identity provider as the login flow sees it (SurfConext in production), as a Protocol.

`chalicelib.providers.oidc.OidcProvider` implements it with requests and python-jose; tests
hand the login service a fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import AuthenticationError


class LoginError(AuthenticationError):
    """The provider's answer cannot be trusted (bad code, bad ID token, wrong nonce, ...)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says logged in. `issuer` and `subject` key the researcher; the rest is refreshed."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool | None = None
    name: str | None = None
    schac_home_organization: str | None = None


class IdentityProvider(Protocol):
    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """Where to send the browser: the provider's authorize endpoint with the code flow and PKCE S256."""
        ...

    def exchange(self, *, code: str, code_verifier: str, nonce: str) -> Identity:
        """Redeem the code, verify the ID token (and its nonce), fetch userinfo; `LoginError` otherwise."""
        ...
