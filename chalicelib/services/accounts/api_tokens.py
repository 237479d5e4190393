"""Personal API tokens: random, shown once, stored hashed, named, optionally expiring, revocable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.auth.principal import credential_key, hash_secret, new_api_token
from chalicelib.errors import FieldError, NotFoundError, ValidationError
from chalicelib.services.accounts.model import Credential, CredentialKind, Researcher
from chalicelib.services.accounts.ports import CredentialRepository
from chalicelib.services.common.model import Page, PageRequest, utcnow

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class NewApiToken:
    credential: Credential
    token_id: str
    secret: str = field(repr=False)


def token_id_of(credential: Credential) -> str:
    return credential.key.partition("#")[2]


def create_token(
    caller: Researcher,
    credentials: CredentialRepository,
    *,
    name: str,
    expires_at: datetime | None = None,
    made_with: Credential | None = None,
    now: Clock = utcnow,
) -> NewApiToken:
    """A new API token for the caller; the secret is in the answer and nowhere else.

    Made with an API token (`made_with`), it expires when that one does at the latest: a leaked token that
    is about to expire cannot mint itself a longer-lived successor.
    """
    moment = now()
    if expires_at is not None and expires_at <= moment:
        raise ValidationError(
            detail="An API token must expire in the future.", errors=[FieldError("expires_at", "in the past")]
        )
    if made_with is not None and made_with.kind is CredentialKind.API_TOKEN and made_with.expires_at is not None:
        expires_at = made_with.expires_at if expires_at is None else min(expires_at, made_with.expires_at)
    token_id, secret = new_api_token(caller.id)
    credential = Credential(
        key=credential_key(CredentialKind.API_TOKEN, token_id),
        kind=CredentialKind.API_TOKEN,
        created_at=moment,
        expires_at=expires_at,
        owner_id=caller.id,
        name=name.strip(),
        secret_hash=hash_secret(secret),
    )
    credentials.add(credential)
    return NewApiToken(credential, token_id, secret)


def list_tokens(caller: Researcher, credentials: CredentialRepository, page: PageRequest) -> Page[Credential]:
    """The caller's API tokens, newest first, without their secrets."""
    return credentials.owned_by(caller.id, page)


def revoke_token(caller: Researcher, credentials: CredentialRepository, *, token_id: str) -> None:
    """Delete one of the caller's API tokens; it stops working at once."""
    if not credentials.delete_owned(credential_key(CredentialKind.API_TOKEN, token_id), caller.id):
        raise NotFoundError(detail="No such API token.")
