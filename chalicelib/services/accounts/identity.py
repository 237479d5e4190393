"""The identity provider as the login flow sees it (SurfConext in production), as a Protocol.

`chalicelib.providers.oidc.OidcProvider` implements it with requests and python-jose; tests
hand the login service a fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from chalicelib.errors import AuthenticationError


class LoginFailure(StrEnum):
    """Why a login was refused: the short code the console's login page gets (`/login?error=`) and the log line."""

    ACCESS_DENIED = "access_denied"  # the researcher (or their institution) said no at the provider
    PROVIDER_ERROR = "provider_error"  # the provider sent back another OAuth error
    REQUEST_INVALID = "request_invalid"  # the callback lacks `code` or `state`, or they are malformed
    STATE_COOKIE_MISSING = "state_cookie_missing"  # the browser brought no login cookie (another browser, CSRF)
    STATE_COOKIE_MISMATCH = "state_cookie_mismatch"  # the cookie is another login's
    STATE_UNKNOWN = "state_unknown"  # no login was begun with this state, or it was used already
    STATE_EXPIRED = "state_expired"  # begun longer ago than PENDING_LOGIN_TTL_SECONDS
    ISSUER_MISMATCH = "issuer_mismatch"  # the callback's `iss` (RFC 9207) or discovery names another issuer
    CODE_INVALID = "code_invalid"  # the token endpoint refused the code
    TOKEN_INVALID = "token_invalid"  # the provider's tokens or userinfo did not verify
    CLOCK_SKEW = "clock_skew"  # the ID token's times are off the broker's clock by more than the leeway
    PROVIDER_UNAVAILABLE = "provider_unavailable"  # the provider did not answer, or not sensibly
    EMAIL_MISSING = "email_missing"  # the provider released no email address
    ACCOUNT_DISABLED = "account_disabled"
    NEXT_INVALID = "next_invalid"  # `/auth/login?next=` points outside the frontend
    LOGIN_CODE_INVALID = "login_code_invalid"  # `POST /auth/token`: unknown, used or expired
    LOGIN_FAILED = "login_failed"  # anything else


LogValue = str | int | float | bool


@dataclass
class LoginError(AuthenticationError):
    """The provider's answer cannot be trusted (bad code, bad ID token, wrong nonce, ...).

    `reason` is the short code the browser and the log get; `context` is what research IT needs
    to debug it from the log (issuer, subject, the missing claim, the skew), never a secret.
    """

    reason: LoginFailure = LoginFailure.LOGIN_FAILED
    context: dict[str, LogValue] = field(default_factory=dict)


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
    @property
    def issuer(self) -> str:
        """The provider's issuer identifier, as configured: what a callback's `iss` must be."""
        ...

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """Where to send the browser: the provider's authorize endpoint with the code flow and PKCE S256."""
        ...

    def exchange(self, *, code: str, code_verifier: str, nonce: str) -> Identity:
        """Redeem the code, verify the ID token (and its nonce), fetch userinfo; `LoginError` otherwise."""
        ...
