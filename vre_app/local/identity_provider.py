"""The local stack's OpenID Connect provider, standing in for SurfConext.

oidc-provider-mock (a maintained provider built on authlib) serves discovery, authorize,
token, userinfo and JWKS on 127.0.0.1, so a person can click through the login in a browser
and the end-to-end tests log in over HTTP. Its authorize page asks only for a subject (`sub`);
a subject's claims are set beforehand with `PUT /users/<sub>` (a JSON object of claims), and a
few researchers are predefined as one-click buttons. An unknown subject gets `{"email": sub}`.

The broker's client is registered through the provider's dynamic client registration, which
assigns the client id and secret; from then on the provider checks the secret, the Basic client
authentication and the exact redirect URI, as SurfConext does. It does not check PKCE (the
package registers no code-challenge extension) and it signs ID tokens without a `kid`.

Like moto, it runs in the stack's own process and binds its port in the caller's thread, so a
busy port fails at once with an `OSError`.
"""

from __future__ import annotations

import logging
import socket
import threading
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from flask import Flask
    from werkzeug.serving import BaseWSGIServer

log = logging.getLogger(__name__)

REGISTRATION_TIMEOUT_SECONDS = 5.0
LISTEN_BACKLOG = 128
# Researchers on the authorize page as one-click buttons: subject and claims, as SurfConext sends them.
PREDEFINED_USERS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "urn:collab:person:leidenuniv.nl:lotte",
        {
            "email": "lotte.devries@leidenuniv.nl",
            "email_verified": True,
            "name": "Lotte de Vries",
            "schac_home_organization": "leidenuniv.nl",
        },
    ),
    (
        "urn:collab:person:tudelft.nl:daan",
        {
            "email": "d.jansen@tudelft.nl",
            "email_verified": True,
            "name": "Daan Jansen",
            "schac_home_organization": "tudelft.nl",
        },
    ),
)


class IdentityProviderError(RuntimeError):
    """The local provider started but would not register the broker's client."""


@dataclass(frozen=True, slots=True)
class LocalClient:
    """The broker's registration at the local provider."""

    client_id: str
    client_secret: str
    redirect_uri: str

    def environment(self) -> dict[str, str]:
        """The broker's settings for this client (the issuer and redirect URI are known before it exists)."""
        return {"OIDC_CLIENT_ID": self.client_id, "OIDC_CLIENT_SECRET": self.client_secret}


class LocalIdentityProvider:
    """oidc-provider-mock on one host and port, nonce required, served from a daemon thread until `stop()`.

    `token_max_age` is how long its access and ID tokens live (shorten it to see the broker
    refuse an expired ID token).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        redirect_uri: str,
        users: tuple[tuple[str, dict[str, object]], ...] = PREDEFINED_USERS,
        token_max_age: timedelta = timedelta(hours=1),
    ) -> None:
        self.host = host
        self.port = port
        self.redirect_uri = redirect_uri
        self.users = users
        self.token_max_age = token_max_age
        self.client: LocalClient | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The issuer: the provider names itself after the host it is asked on, so always use this one."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalClient:
        """Bind the port (`OSError` if it is taken), start serving and register the broker's client."""
        from werkzeug.serving import make_server

        application = _application(self.users, self.token_max_age)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Werkzeug answers a busy port with sys.exit(1); binding here first makes it an OSError.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(LISTEN_BACKLOG)
            self._server = make_server(self.host, self.port, application, threaded=True, fd=listener.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, name="identity-provider", daemon=True)
        self._thread.start()
        self.client = self._register()
        log.debug("identity provider serving on %s, client %s", self.url, self.client.client_id)
        return self.client

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port; safe to call more than once."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout)

    def _register(self) -> LocalClient:
        try:
            answer = requests.post(
                f"{self.url}/oauth2/clients",
                json={"redirect_uris": [self.redirect_uri], "token_endpoint_auth_method": "client_secret_basic"},
                timeout=REGISTRATION_TIMEOUT_SECONDS,
            )
            answer.raise_for_status()
            registered = answer.json()
            return LocalClient(str(registered["client_id"]), str(registered["client_secret"]), self.redirect_uri)
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise IdentityProviderError(
                f"the identity provider at {self.url} did not register the broker: {exc}"
            ) from exc


def _application(users: tuple[tuple[str, dict[str, object]], ...], token_max_age: timedelta) -> WSGIApplication:
    """The provider as a WSGI app, without the interactive debugger the package switches on."""
    from werkzeug.debug import DebuggedApplication

    # authlib insists on warning about its own deprecated modules, which the package imports; drop those.
    with warnings.catch_warnings(record=True):
        import oidc_provider_mock

    application: Flask = oidc_provider_mock.app(
        require_client_registration=True,
        require_nonce=True,
        issue_refresh_token=False,
        access_token_max_age=token_max_age,
        user_claims=[oidc_provider_mock.User(sub=sub, claims=dict(claims)) for sub, claims in users],
    )
    application.debug = False
    # The package wraps the app in Werkzeug's debugger; serving what it wraps leaves the debugger out.
    wrapped = application.wsgi_app
    return wrapped.app if isinstance(wrapped, DebuggedApplication) else application
