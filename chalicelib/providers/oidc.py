"""SurfConext (or any OpenID Connect provider) as the login flow's `IdentityProvider`.

The broker is a confidential client using the authorization-code flow with PKCE: this module
builds the authorize URL, redeems the code at the token endpoint with HTTP Basic client
authentication, verifies the ID token (`chalicelib.auth.id_tokens`) and fetches userinfo,
where SurfConext puts most claims. The discovery document and the JWKS are cached on the
instance, which the wiring keeps for the life of a warm Lambda.

Whatever goes wrong with the provider, the caller gets the same short `LoginError` with a reason
code (`LoginFailure`); the detail is logged at INFO and the provider's own answer is never passed on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

from chalicelib.auth.id_tokens import JwksKeys, verify_id_token
from chalicelib.services.accounts.identity import Identity, LoginError, LoginFailure, LogValue

log = logging.getLogger(__name__)

# (connect, read) seconds for every call to the provider.
TIMEOUTS = (3.0, 10.0)
# Claims that userinfo, when it has them, settles over the ID token.
_USERINFO_CLAIMS = ("email", "email_verified", "name", "schac_home_organization")
# An OAuth error code (RFC 6749 section 5.2) is safe to log; the rest of an error body is not.
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """The broker's registration at the provider."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: str
    # Defaults to `{issuer}/.well-known/openid-configuration`.
    discovery_url: str | None = None


@dataclass(frozen=True, slots=True)
class Discovery:
    """The endpoints of the provider's discovery document that the code flow uses."""

    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


class OidcProvider:
    """An `IdentityProvider` over HTTP with `requests`; `session` is for tests and connection reuse."""

    def __init__(self, config: OidcConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._session = session
        self._discovery: Discovery | None = None
        self.keys = JwksKeys(self._fetch_jwks)

    @property
    def issuer(self) -> str:
        return self.config.issuer

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """The provider's authorize endpoint with the code flow, `state`, `nonce` and PKCE S256."""
        return _with_query(
            self._discover().authorization_endpoint,
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_uri,
                "scope": self.config.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            },
        )

    def exchange(self, *, code: str, code_verifier: str, nonce: str) -> Identity:
        """Redeem the code, verify the ID token and its nonce, and merge in userinfo."""
        discovery = self._discover()
        tokens = self._call_json(
            "POST",
            discovery.token_endpoint,
            "token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.redirect_uri,
                "code_verifier": code_verifier,
            },
            # RFC 6749 section 2.3.1: both are form-encoded before they go into the Basic header.
            auth=(quote(self.config.client_id, safe=""), quote(self.config.client_secret, safe="")),
        )
        access_token, id_token = tokens.get("access_token"), tokens.get("id_token")
        if not isinstance(access_token, str) or not access_token or not isinstance(id_token, str):
            raise _refused("the token response has no access_token or id_token", LoginFailure.TOKEN_INVALID)
        if str(tokens.get("token_type", "")).lower() != "bearer":
            raise _refused(f"token type {tokens.get('token_type')!r}", LoginFailure.TOKEN_INVALID)
        claims = verify_id_token(
            id_token,
            self.keys,
            issuer=self.config.issuer,
            client_id=self.config.client_id,
            nonce=nonce,
            access_token=access_token,
        )
        userinfo = self._call_json(
            "GET", discovery.userinfo_endpoint, "userinfo", headers={"Authorization": f"Bearer {access_token}"}
        )
        if userinfo.get("sub") != claims["sub"]:
            raise _refused("userinfo is about another subject", LoginFailure.TOKEN_INVALID, subject=claims["sub"])
        merged = claims | {name: userinfo[name] for name in _USERINFO_CLAIMS if name in userinfo}
        return Identity(
            issuer=self.config.issuer,
            subject=claims["sub"],
            email=_claim(merged, "email", str),
            email_verified=_claim(merged, "email_verified", bool),
            name=_claim(merged, "name", str),
            schac_home_organization=_claim(merged, "schac_home_organization", str),
        )

    def _discover(self) -> Discovery:
        if self._discovery is None:
            issuer = self.config.issuer
            url = self.config.discovery_url or f"{issuer.rstrip('/')}/.well-known/openid-configuration"
            document = self._call_json("GET", url, "discovery")
            if document.get("issuer") != issuer:
                raise _refused(
                    f"discovery names issuer {document.get('issuer')!r}, not {issuer!r}", LoginFailure.ISSUER_MISMATCH
                )
            endpoints: dict[str, str] = {}
            for field in fields(Discovery):
                value = document.get(field.name)
                if not isinstance(value, str) or not value:
                    raise _refused(f"discovery has no {field.name}")
                endpoints[field.name] = value
            self._discovery = Discovery(**endpoints)
        return self._discovery

    def _fetch_jwks(self) -> dict[str, Any]:
        return self._call_json("GET", self._discover().jwks_uri, "jwks")

    def _call_json(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """One call to the provider that must answer 200 with a JSON object."""
        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.request(
                method,
                url,
                timeout=TIMEOUTS,
                allow_redirects=False,
                headers={"Accept": "application/json", **kwargs.pop("headers", {})},
                **kwargs,
            )
        except requests.RequestException as exc:
            raise _refused(f"{what} request failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            # The token endpoint's 4xx refuses this code (invalid_grant); anything else is the provider failing.
            refused = what == "token" and 400 <= response.status_code < 500
            failure = LoginFailure.CODE_INVALID if refused else LoginFailure.PROVIDER_UNAVAILABLE
            if what == "userinfo" and response.status_code in (401, 403):
                failure = LoginFailure.TOKEN_INVALID
            raise _refused(f"{what} answered {response.status_code}{_error_code(response)}", failure)
        try:
            body = response.json()
        except ValueError as exc:
            raise _refused(f"{what} answered with something other than JSON") from exc
        if not isinstance(body, dict):
            raise _refused(f"{what} answered with JSON that is not an object")
        return body


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _claim(claims: dict[str, Any], name: str, kind: type[_T]) -> _T | None:
    value = claims.get(name)
    return value if isinstance(value, kind) else None


def _error_code(response: requests.Response) -> str:
    """` (invalid_grant)` when the answer carries an OAuth error code, else nothing."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f" ({code})" if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else ""


def _refused(reason: str, failure: LoginFailure = LoginFailure.PROVIDER_UNAVAILABLE, **context: LogValue) -> LoginError:
    log.info("login refused: %s", reason)
    return LoginError(
        detail="The login with the identity provider could not be completed.",
        reason=failure,
        context={"why": reason, **context},
    )
