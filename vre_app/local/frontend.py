"""The local stack's web console: web/dist (what `make run` builds) served at FRONTEND_URL from a thread.

Paths of the console's own routes fall back to its index.html (it routes by path in the browser), paths under
/upload/ to the upload page, and /config.json tells the one build where this stack's API and drop-off are.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from vre_app.local.environment import PROJECT_ROOT
from vre_app.local.serving import Serving

log = logging.getLogger(__name__)

WEB_DIST = PROJECT_ROOT / "web" / "dist"
CONFIG_PATH = "/config.json"
UPLOAD_PREFIX = "/upload/"
# Hashed file names under /assets/ never change content; the HTML and config.json must be read afresh.
_IMMUTABLE = "public, max-age=31536000, immutable"
_NO_STORE = "no-store"
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_NOT_BUILT = (
    "The web console is not built: web/dist/index.html is missing. "
    "`make run` builds it (or: cd web && npm ci && npm run build).\n"
)


def resolve(dist: Path, path: str) -> tuple[Path, bool] | None:
    """The file to answer `path` with, and whether it is a hashed asset; None when there is none.

    An existing file is served as it is; any other path without a file extension is a page of the console
    (or, under /upload/, of the upload page); a missing file with an extension is a 404, not a page.
    """
    parts = [part for part in unquote(path).split("/") if part not in ("", ".")]
    if ".." in parts or any("\\" in part or "\x00" in part for part in parts):
        return None
    candidate = dist.joinpath(*parts) if parts else dist / "index.html"
    if candidate.is_dir():
        candidate = candidate / "index.html"
    if candidate.is_file():
        return candidate, bool(parts) and parts[0] == "assets"
    if parts and "." in parts[-1]:
        return None
    page = dist / "upload" / "index.html" if (path + "/").startswith(UPLOAD_PREFIX) else dist / "index.html"
    return (page, False) if page.is_file() else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        path = urlsplit(self.path).path
        if path == CONFIG_PATH:
            self._send(HTTPStatus.OK, self.server.config, "application/json", _NO_STORE, with_body)
            return
        if not (self.server.dist / "index.html").is_file():
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE, _NOT_BUILT.encode(), "text/plain; charset=utf-8", _NO_STORE, with_body
            )
            return
        found = resolve(self.server.dist, path)
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n", "text/plain; charset=utf-8", _NO_STORE, with_body)
            return
        file, immutable = found
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        self._send(HTTPStatus.OK, file.read_bytes(), kind, _IMMUTABLE if immutable else _NO_STORE, with_body)

    def _send(self, status: HTTPStatus, body: bytes, kind: str, cache: str, with_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dist: Path, config: bytes) -> None:
        self.dist = dist
        self.config = config
        super().__init__(address, _Handler)


class LocalFrontend:
    """The console's static files on `host:port`, served from a thread; `port=0` takes a free port (tests)."""

    def __init__(
        self, host: str, port: int, *, api_base_url: str, upload_base_url: str | None, dist: Path = WEB_DIST
    ) -> None:
        self.host = host
        self.port = port
        self.dist = dist
        config: dict[str, str] = {"api_base_url": api_base_url}
        if upload_base_url:
            config["upload_base_url"] = upload_base_url
        self.config = config
        self._serving: Serving[_Server] = Serving()

    def __enter__(self) -> LocalFrontend:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def built(self) -> bool:
        return (self.dist / "index.html").is_file()

    def start(self) -> None:
        """Bind the port (`OSError` if it is taken) and start serving."""
        server = _Server((self.host, self.port), self.dist, json.dumps(self.config).encode())
        self.port = self._serving.start(server, "local-frontend").server_address[1]
        log.debug("web console serving %s on %s", self.dist, self.url)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port; safe to call more than once."""
        self._serving.stop(timeout)
