"""Logging in with SurfConext: the authorization-code flow with state, nonce and PKCE, then a
one-time login code the frontend trades for a session token; and logging out.

The researcher is keyed on the provider's (issuer, subject), never on email; email, name and
university are refreshed at every login.

`state` alone does not stop login CSRF (an attacker's own callback URL, opened in a victim's
browser, would log the victim into the attacker's account), so the login is also bound to the
browser that began it: `begin_login` hands back a `binding` (a hash of the state) that the API puts
in a cookie, and `complete_login` refuses a callback whose browser does not bring it back.

Every refused login is logged once, at WARNING, with its reason code and what research IT needs to
debug it (issuer, subject, the missing claim, the skew), never a code, state, nonce or token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import posixpath
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from chalicelib.auth.principal import credential_key, hash_secret
from chalicelib.auth.tokens import LEEWAY_SECONDS as SESSION_LEEWAY_SECONDS
from chalicelib.errors import ConflictError
from chalicelib.services.accounts.emails import normalise_email
from chalicelib.services.accounts.identity import Identity, IdentityProvider, LoginError, LoginFailure, LogValue
from chalicelib.services.accounts.model import Credential, CredentialKind, Researcher
from chalicelib.services.accounts.ports import CredentialRepository, ResearcherRepository
from chalicelib.services.common.model import PageRequest, new_id, utcnow
from chalicelib.services.studies.ports import ReferenceRepository
from chalicelib.services.studies.reference import UNIVERSITIES

if TYPE_CHECKING:
    from chalicelib.config import Settings

Clock = Callable[[], datetime]
# A path inside the frontend: one leading slash, no scheme, no host, no backslashes or controls.
_FRONTEND_PATH = re.compile(r"^/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]{0,500}$")
# The callback's parameters, as long as a provider sends them; longer is not a callback.
MAX_CODE_LENGTH, MAX_STATE_LENGTH = 2048, 512
# The provider's OAuth errors (RFC 6749 4.1.2.1) that mean it is down rather than saying no.
_PROVIDER_DOWN = frozenset({"server_error", "temporarily_unavailable"})
# Where the console shows a failed login.
LOGIN_PAGE = "/login"
# Log context values are cut to this: a subject or an issuer, not whatever a provider sends.
_LOG_VALUE_MAX = 300

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoginSettings:
    """The login's rules as the stage sets them (every default in `chalicelib.config.Settings`)."""

    frontend_url: str
    pending_ttl: timedelta
    code_ttl: timedelta
    # The login cookie: the path of the callback's folder (`/auth`, `/api/auth` behind API Gateway's stage),
    # and Secure everywhere but the local stage (plain HTTP on 127.0.0.1).
    cookie_path: str
    cookie_secure: bool
    # Issuers whose emails count as verified without the `email_verified` claim (providers that never send it).
    trusted_email_issuers: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginSettings:
        return cls(
            frontend_url=settings.frontend_url,
            pending_ttl=timedelta(seconds=settings.pending_login_ttl_seconds),
            code_ttl=timedelta(seconds=settings.login_code_ttl_seconds),
            cookie_path=login_cookie_path(settings.oidc_redirect_uri),
            cookie_secure=settings.stage != "local",
            trusted_email_issuers=settings.trusted_email_issuers,
        )


def login_cookie_path(redirect_uri: str | None) -> str:
    """The folder of the callback as the browser sees it: `/api/auth` behind API Gateway's stage, else `/auth`."""
    path = urlsplit(redirect_uri).path if redirect_uri else ""
    folder = posixpath.dirname(path)
    return folder if folder.startswith("/") else "/auth"


@dataclass(frozen=True, slots=True)
class LoginStart:
    """Where to send the browser, and the binding the browser must carry back (in the login cookie)."""

    url: str = field(repr=False)
    binding: str = field(repr=False)


def state_binding(state: str) -> str:
    """What the login cookie holds: a hash of the state, so the cookie alone does not let anyone finish the login."""
    return hash_secret(f"browser|{state}")


def failure_url(settings: LoginSettings, reason: LoginFailure) -> str:
    """The console's login page, told why the login failed."""
    return f"{settings.frontend_url.rstrip('/')}{LOGIN_PAGE}?{urlencode({'error': reason.value})}"


def log_refusal(error: LoginError, stage: str) -> None:
    """One WARNING line per refused login: its reason and non-secret context, as JSON after a fixed prefix."""
    context = {k: (v[:_LOG_VALUE_MAX] if isinstance(v, str) else v) for k, v in error.context.items()}
    line = {"event": "login_refused", "stage": stage, "reason": error.reason.value, **context}
    log.warning("login refused: %s", json.dumps(line, sort_keys=True), extra={"login_refusal": line})


@contextmanager
def _logged(stage: str, **context: LogValue) -> Iterator[None]:
    """Log the `LoginError` leaving this block (with `context` under what it carries), then let it go on."""
    try:
        yield
    except LoginError as exc:
        exc.context = {**context, **exc.context}
        log_refusal(exc, stage)
        raise


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def safe_next(next_path: str | None) -> str:
    """`next` as a path inside the frontend; anything else (another site, a scheme) is refused."""
    if not next_path:
        return "/"
    if not _FRONTEND_PATH.fullmatch(next_path):  # not `match`: its `$` also matches before a final newline
        raise LoginError(detail="`next` must be a path inside the frontend.", reason=LoginFailure.NEXT_INVALID)
    return next_path


def begin_login(
    provider: IdentityProvider,
    credentials: CredentialRepository,
    settings: LoginSettings,
    *,
    next_path: str | None,
    now: Clock = utcnow,
) -> LoginStart:
    """Remember state, nonce and PKCE verifier; returns the provider URL and the browser's binding."""
    with _logged("login"):
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
    url = provider.authorization_url(state=state, nonce=nonce, code_challenge=pkce_challenge(verifier))
    return LoginStart(url=url, binding=state_binding(state))


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
        raise LoginError(
            detail="The identity provider did not give an email address.",
            reason=LoginFailure.EMAIL_MISSING,
            context={"issuer": identity.issuer, "subject": identity.subject, "missing_claim": "email"},
        )
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
        raise LoginError(
            detail="This account is disabled.",
            reason=LoginFailure.ACCOUNT_DISABLED,
            context={"issuer": identity.issuer, "subject": identity.subject, "researcher_id": existing.id},
        )
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
    state: str | None,
    code: str | None,
    binding: str | None,
    issuer: str | None = None,
    error: str | None = None,
    now: Clock = utcnow,
) -> str:
    """Check the callback, sign the researcher in; returns the frontend URL carrying a one-time login code.

    `binding` is what the browser's login cookie holds (None without one), `issuer` the callback's
    `iss` (RFC 9207) and `error` the provider's OAuth error, when it sent them. Every refusal is a
    `LoginError` with its reason, logged once.
    """
    with _logged("callback", issuer=provider.issuer):
        state, code = _check_callback(provider, state=state, code=code, binding=binding, issuer=issuer, error=error)
        pending = credentials.take(credential_key(CredentialKind.PENDING_LOGIN, hash_secret(state)))
        moment = now()
        if pending is None:
            raise LoginError(
                detail="This login attempt is unknown or was used already; start again.",
                reason=LoginFailure.STATE_UNKNOWN,
            )
        if pending.expired(moment):
            raise LoginError(
                detail="This login attempt has expired; start again.",
                reason=LoginFailure.STATE_EXPIRED,
                context={"late_seconds": round((moment - (pending.expires_at or moment)).total_seconds())},
            )
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


def _check_callback(
    provider: IdentityProvider,
    *,
    state: str | None,
    code: str | None,
    binding: str | None,
    issuer: str | None,
    error: str | None,
) -> tuple[str, str]:
    """What a callback must be before its state is even looked up: no provider error, its own issuer,
    this browser's. Returns its state and code."""
    if error is not None:
        code_sent = error if re.fullmatch(r"[a-z_]{1,40}", error) else "malformed"
        if error == "access_denied":
            reason = LoginFailure.ACCESS_DENIED
        elif error in _PROVIDER_DOWN:
            reason = LoginFailure.PROVIDER_UNAVAILABLE
        else:
            reason = LoginFailure.PROVIDER_ERROR
        raise LoginError(
            detail=f"The identity provider refused the login ({code_sent}).",
            reason=reason,
            context={"provider_error": code_sent},
        )
    if not code or not state or len(code) > MAX_CODE_LENGTH or len(state) > MAX_STATE_LENGTH:
        missing = ",".join(name for name, value in (("code", code), ("state", state)) if not value)
        raise LoginError(
            detail="The callback needs `code` and `state`.",
            reason=LoginFailure.REQUEST_INVALID,
            context={"missing": missing} if missing else {"too_long": True},
        )
    if issuer is not None and issuer != provider.issuer:
        # RFC 9207: an authorization response from another provider (a mix-up attack); its code is not redeemed.
        raise LoginError(
            detail="The login answer came from another identity provider.",
            reason=LoginFailure.ISSUER_MISMATCH,
            context={"callback_issuer": issuer},
        )
    if not binding:
        raise LoginError(
            detail="This browser did not begin this login (no login cookie); start again.",
            reason=LoginFailure.STATE_COOKIE_MISSING,
        )
    if not hmac.compare_digest(binding.encode(), state_binding(state).encode()):
        raise LoginError(
            detail="This browser began another login; start again.", reason=LoginFailure.STATE_COOKIE_MISMATCH
        )
    return state, code


def redeem_login_code(
    credentials: CredentialRepository,
    researchers: ResearcherRepository,
    *,
    login_code: str,
    now: Clock = utcnow,
) -> Researcher:
    """The researcher a login code was made for; the code works once, within its lifetime."""
    with _logged("token"):
        taken = credentials.take(credential_key(CredentialKind.LOGIN_CODE, hash_secret(login_code)))
        if taken is None or taken.expired(now()):
            raise LoginError(
                detail="This login code is unknown, used or expired.", reason=LoginFailure.LOGIN_CODE_INVALID
            )
        researcher = researchers.get(taken.data.get("researcher_id", ""))
        if researcher is None or researcher.disabled:
            raise LoginError(
                detail="This account no longer exists or is disabled.",
                reason=LoginFailure.ACCOUNT_DISABLED,
                context={"researcher_id": taken.data.get("researcher_id", "")},
            )
    return researcher


def end_session(
    credentials: CredentialRepository, *, token_id: str, expires_at: datetime | None, now: Clock = utcnow
) -> None:
    """Revoke a session token at once.

    The revocation is kept (DynamoDB's TTL) until the token is refused anyway: its `exp` plus the
    leeway its verification allows, so it never comes back to life in between.
    """
    moment = now()
    until = expires_at + timedelta(seconds=SESSION_LEEWAY_SECONDS) if expires_at else moment + timedelta(days=1)
    try:
        credentials.add(
            Credential(
                key=credential_key(CredentialKind.REVOKED_SESSION, token_id),
                kind=CredentialKind.REVOKED_SESSION,
                created_at=moment,
                expires_at=until,
            )
        )
    except ConflictError:
        return  # already logged out
