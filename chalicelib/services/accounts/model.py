"""A researcher's account and the credentials that let them in, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Locale(StrEnum):
    EN = "en"
    NL = "nl"


@dataclass(slots=True)
class Researcher:
    id: str
    email: str
    name: str
    created_at: datetime
    updated_at: datetime
    identity: str | None = None
    university_id: str | None = None
    research_field_id: str | None = None
    phone: str | None = None
    locale: Locale = Locale.EN
    is_admin: bool = False
    disabled: bool = False
    # Whether the identity provider vouched for `email` at the last login (or the issuer is trusted for it).
    email_verified: bool = False
    version: int | None = None


class CredentialKind(StrEnum):
    PENDING_LOGIN = "pending_login"  # state, nonce and PKCE verifier between /auth/login and the callback
    LOGIN_CODE = "login_code"  # the one-time code the frontend trades for a session token
    REVOKED_SESSION = "revoked_session"  # a logged-out session token's jti, until it would expire
    API_TOKEN = "api_token"  # a researcher's personal API token, stored hashed
    IDENTITY = "identity"  # claims an (issuer, subject) for one researcher, so two first logins make one


@dataclass(slots=True)
class Credential:
    """Something that lets someone in (or, revoked, keeps them out); kept hashed where it is a secret."""

    key: str
    kind: CredentialKind
    expires_at: datetime | None
    created_at: datetime
    owner_id: str | None = None
    name: str = ""
    # Kept out of repr: a pending login's data holds its PKCE verifier and nonce.
    secret_hash: str = field(default="", repr=False)
    data: dict[str, str] = field(default_factory=dict, repr=False)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now
