"""The local stack's OpenID Connect provider, standing in for SurfConext: panva's oidc-provider on Node.

`vre_app/local/oidc/provider.mjs` (its npm packages pinned by package-lock.json; `make` runs `npm ci`)
is as strict as a real provider: PKCE S256 on every login, the registered client secret (Basic) and exact
redirect URI, ID tokens signed RS256 with a `kid`, and SurfConext's habit of giving the email and profile
claims at userinfo only. This module runs it as a child process on 127.0.0.1 and drives its loopback
admin routes: add a user, switch where claims go, rotate the signing key (the old key stays in the JWKS,
so tokens it signed still verify while the broker learns the new `kid`).

The broker's client is the stage's (`OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`, `OIDC_REDIRECT_URI`),
registered statically at start-up; the users come from `oidc/users.json` and `add_user`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROGRAM = OIDC_DIR / "provider.mjs"
USERS_FILE = OIDC_DIR / "users.json"
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 5.0
ADMIN_TIMEOUT_SECONDS = 10.0
# provider.mjs exits with this when its port is taken.
_EXIT_PORT_IN_USE = 98


class IdentityProviderError(RuntimeError):
    """The local provider could not start (no Node, no npm packages) or refused an admin call."""


@dataclass(frozen=True, slots=True)
class LocalClient:
    """The broker's registration at the local provider, from the stage's settings."""

    client_id: str
    client_secret: str
    redirect_uri: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> LocalClient:
        """The client the stage's `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` and `OIDC_REDIRECT_URI` describe."""
        missing = [
            name for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_REDIRECT_URI") if not environ.get(name)
        ]
        if missing:
            raise IdentityProviderError(f"the local stage sets no {', '.join(missing)} for the local identity provider")
        return cls(environ["OIDC_CLIENT_ID"], environ["OIDC_CLIENT_SECRET"], environ["OIDC_REDIRECT_URI"])


def users_from_file(path: Path = USERS_FILE) -> list[dict[str, Any]]:
    """The seeded users: `{"sub", "claims", "id_token_claims"?}` each."""
    users: list[dict[str, Any]] = json.loads(path.read_text())["users"]
    return users


class LocalIdentityProvider:
    """provider.mjs on one host and port until `stop()`.

    `id_token_claims` is the global switch: False (SurfConext's way) gives the claims at userinfo only.
    `token_ttl_seconds` is how long its access and ID tokens live.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client: LocalClient,
        users_file: Path = USERS_FILE,
        id_token_claims: bool = False,
        token_ttl_seconds: int = 3600,
    ) -> None:
        self.host = host
        self.port = port
        self.client = client
        self.users_file = users_file
        self.id_token_claims = id_token_claims
        self.token_ttl_seconds = token_ttl_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._config: Path | None = None

    @property
    def url(self) -> str:
        """The issuer, and where every endpoint is."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalClient:
        """Start Node on the port (`OSError` if it is taken) and wait until it answers."""
        node = shutil.which("node")
        if node is None:
            raise IdentityProviderError("the local identity provider needs Node.js (`node` on PATH)")
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            raise IdentityProviderError(
                f"the local identity provider's npm packages are missing: run `npm ci` in {OIDC_DIR} (make does it)"
            )
        _check_port(self.host, self.port)
        self._config = self._write_config()
        self._process = subprocess.Popen(
            [node, str(PROGRAM), str(self._config)], cwd=OIDC_DIR, start_new_session=True, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            code = self._process.poll()
            if code == _EXIT_PORT_IN_USE:
                self.stop()
                raise OSError(f"[Errno 98] Address already in use: {self.host}:{self.port}")
            if code is not None:
                self.stop()
                raise IdentityProviderError(f"the local identity provider exited with code {code}")
            with suppress(requests.RequestException):
                if requests.get(f"{self.url}/_admin/health", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise IdentityProviderError(
                    f"the local identity provider did not answer within {START_TIMEOUT_SECONDS:.0f} s"
                )
            time.sleep(0.1)
        log.debug("identity provider serving on %s, client %s", self.url, self.client.client_id)
        return self.client

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM the provider (SIGKILL after `timeout`) and release its port; safe to call more than once."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        config, self._config = self._config, None
        if config is not None:
            config.unlink(missing_ok=True)

    def add_user(self, subject: str, claims: Mapping[str, object], *, id_token_claims: bool | None = None) -> None:
        """Add (or replace) a user; `id_token_claims` overrides the global switch for this user."""
        body: dict[str, object] = {"claims": dict(claims)}
        if id_token_claims is not None:
            body["id_token_claims"] = id_token_claims
        self._admin("PUT", f"users/{quote(subject, safe='')}", body)

    def set_id_token_claims(self, enabled: bool) -> None:
        """The global switch: True puts the claims in the ID token too, False gives them at userinfo only."""
        self._admin("PUT", "settings", {"id_token_claims": enabled})

    def rotate_keys(self) -> str:
        """A new signing key, which signs from now on; the previous keys stay in the JWKS. Returns its `kid`."""
        return str(self._admin("POST", "rotate-keys")["kid"])

    def kids(self) -> list[str]:
        """The `kid`s in the JWKS, the signer first."""
        return [str(kid) for kid in self._admin("GET", "health")["kids"]]

    def _admin(self, method: str, path: str, body: Mapping[str, object] | None = None) -> dict[str, Any]:
        answer = requests.request(method, f"{self.url}/_admin/{path}", json=body, timeout=ADMIN_TIMEOUT_SECONDS)
        if answer.status_code not in (200, 204):
            raise IdentityProviderError(f"the identity provider refused {method} /_admin/{path}: {answer.text}")
        return answer.json() if answer.status_code == 200 else {}

    def _write_config(self) -> Path:
        document = {
            "issuer": self.url,
            "host": self.host,
            "port": self.port,
            "clients": [
                {
                    "client_id": self.client.client_id,
                    "client_secret": self.client.client_secret,
                    "redirect_uris": [self.client.redirect_uri],
                }
            ],
            "users_file": str(self.users_file.resolve()),
            "id_token_claims": self.id_token_claims,
            "token_ttl_seconds": self.token_ttl_seconds,
        }
        # It holds the client secret: readable by this user only.
        handle, name = tempfile.mkstemp(prefix="vre-oidc-", suffix=".json")
        with os.fdopen(handle, "w") as file:
            json.dump(document, file)
        return Path(name)


def _check_port(host: str, port: int) -> None:
    """Fail at once, as a bind would, when the port is taken (Node would only say so a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
