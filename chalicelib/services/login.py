"""Logging in with SurfConext: the authorization-code flow with state, nonce and PKCE, then a
one-time login code the frontend trades for a session token; and logging out.

The researcher is keyed on the provider's (issuer, subject), never on email; email, name and
university are refreshed at every login.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from chalicelib.auth.principal import credential_key, hash_secret
from chalicelib.errors import ConflictError
from chalicelib.services.domain import Credential, CredentialKind, PageRequest, Researcher, new_id, utcnow
from chalicelib.services.emails import normalise_email
from chalicelib.services.identity import Identity, IdentityProvider, LoginError
from chalicelib.services.ports import CredentialRepository, ReferenceRepository, ResearcherRepository
from chalicelib.services.reference import UNIVERSITIES

Clock = Callable[[], datetime]
# A path inside the frontend: one leading slash, no scheme, no host, no backslashes or controls.
_FRONTEND_PATH = re.compile(r"^/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]{0,500}$")


@dataclass(frozen=True, slots=True)
class LoginSettings:
    frontend_url: str
    pending_ttl: timedelta = timedelta(minutes=10)
    code_ttl: timedelta = timedelta(seconds=60)
    # Issuers whose emails count as verified without the `email_verified` claim (providers that never send it).
    trusted_email_issuers: frozenset[str] = frozenset()


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def safe_next(next_path: str | None) -> str:
    """`next` as a path inside the frontend; anything else (another site, a scheme) is refused."""
    if not next_path:
        return "/"
    if not _FRONTEND_PATH.fullmatch(next_path):  # not `match`: its `$` also matches before a final newline
        raise LoginError(detail="`next` must be a path inside the frontend.")
    return next_path


def begin_login(
    provider: IdentityProvider,
    credentials: CredentialRepository,
    settings: LoginSettings,
    *,
    next_path: str | None,
    now: Clock = utcnow,
) -> str:
    """Remember state, nonce and PKCE verifier; returns the provider URL to send the browser to."""
    target = safe_next(next_path)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    moment = now()
    credentials.add(
        Credential(
            key=credential_key(CredentialKind.PENDING_LOGIN, hash_secret(state)),
            kind=CredentialKind.PENDING_LOGIN,
            created_at=moment,
            expires_at=moment + settings.pending_ttl,
            data={"nonce": nonce, "verifier": verifier, "next": target},
        )
    )
    return provider.authorization_url(state=state, nonce=nonce, code_challenge=pkce_challenge(verifier))


def _university_of(references: ReferenceRepository, organisation: str | None) -> str | None:
    if not organisation:
        return None
    for university in references.list(UNIVERSITIES, PageRequest(limit=100)).items:
        if university.attributes.get("schac_home_organization", "").lower() == organisation.lower():
            return university.id
    return None


def sign_in(
    researchers: ResearcherRepository,
    references: ReferenceRepository,
    identity: Identity,
    *,
    trusted_email_issuers: frozenset[str] = frozenset(),
    now: Clock = utcnow,
) -> Researcher:
    """The researcher for this identity, created at the first login and refreshed at every later one.

    Whether the email is verified is refreshed too: only a provider's `email_verified: true` (or an issuer
    named in `trusted_email_issuers`) makes it so, and a later login without it takes it back.
    """
    if not identity.email:
        raise LoginError(detail="The identity provider did not give an email address.")
    key = f"{identity.issuer}|{identity.subject}"
    email = normalise_email(identity.email)
    name = ((identity.name or "").strip() or email)[:200]
    verified = identity.email_verified is True or identity.issuer.rstrip("/") in trusted_email_issuers
    university = _university_of(references, identity.schac_home_organization)
    moment = now()
    existing = researchers.by_identity(key)
    if existing is None:
        try:
            return researchers.add(
                Researcher(
                    id=new_id(),
                    identity=key,
                    email=email,
                    name=name,
                    university_id=university,
                    email_verified=verified,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        except ConflictError:
            # Another first login of this identity won the race (two tabs, a double click): use theirs.
            existing = researchers.by_identity(key)
            if existing is None:
                raise
    assert existing is not None
    if existing.disabled:
        raise LoginError(detail="This account is disabled.")
    refreshed = replace(
        existing,
        email=email,
        email_verified=verified,
        name=name,
        university_id=university or existing.university_id,
    )
    if refreshed == existing:
        return existing
    try:
        return researchers.save(replace(refreshed, updated_at=moment))
    except ConflictError:
        # A profile edit raced the login; the login's claims can wait for the next one.
        return existing


def complete_login(
    provider: IdentityProvider,
    credentials: CredentialRepository,
    researchers: ResearcherRepository,
    references: ReferenceRepository,
    settings: LoginSettings,
    *,
    state: str,
    code: str,
    now: Clock = utcnow,
) -> str:
    """Check the callback, sign the researcher in; returns the frontend URL carrying a one-time login code."""
    pending = credentials.take(credential_key(CredentialKind.PENDING_LOGIN, hash_secret(state)))
    moment = now()
    if pending is None or pending.expired(moment):
        raise LoginError(detail="This login attempt is unknown or has expired; start again.")
    identity = provider.exchange(code=code, code_verifier=pending.data["verifier"], nonce=pending.data["nonce"])
    researcher = sign_in(
        researchers, references, identity, trusted_email_issuers=settings.trusted_email_issuers, now=now
    )
    login_code = secrets.token_urlsafe(32)
    credentials.add(
        Credential(
            key=credential_key(CredentialKind.LOGIN_CODE, hash_secret(login_code)),
            kind=CredentialKind.LOGIN_CODE,
            created_at=moment,
            expires_at=moment + settings.code_ttl,
            data={"researcher_id": researcher.id},
        )
    )
    # The code goes into the query, before any fragment of `next`, where the frontend looks for it.
    target, hash_mark, fragment = pending.data.get("next", "/").partition("#")
    separator = "&" if "?" in target else "?"
    query = urlencode({"login_code": login_code})
    return f"{settings.frontend_url.rstrip('/')}{target}{separator}{query}{hash_mark}{fragment}"


def redeem_login_code(
    credentials: CredentialRepository,
    researchers: ResearcherRepository,
    *,
    login_code: str,
    now: Clock = utcnow,
) -> Researcher:
    """The researcher a login code was made for; the code works once, within its lifetime."""
    taken = credentials.take(credential_key(CredentialKind.LOGIN_CODE, hash_secret(login_code)))
    if taken is None or taken.expired(now()):
        raise LoginError(detail="This login code is unknown, used or expired.")
    researcher = researchers.get(taken.data.get("researcher_id", ""))
    if researcher is None or researcher.disabled:
        raise LoginError(detail="This account no longer exists or is disabled.")
    return researcher


def end_session(
    credentials: CredentialRepository, *, token_id: str, expires_at: datetime | None, now: Clock = utcnow
) -> None:
    """Revoke a session token at once; the record outlives the token by nothing."""
    moment = now()
    try:
        credentials.add(
            Credential(
                key=credential_key(CredentialKind.REVOKED_SESSION, token_id),
                kind=CredentialKind.REVOKED_SESSION,
                created_at=moment,
                expires_at=expires_at or moment + timedelta(days=1),
            )
        )
    except ConflictError:
        return  # already logged out
