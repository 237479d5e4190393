"""The local stack's `chalice local`: its access log keeps credentials out, and every method reaches the app."""

from __future__ import annotations

import http.client
import threading

import pytest
from chalice import local
from chalice.app import Chalice
from chalice.config import Config

from vre_app.local.chalice_local import patch_request_handler, redact


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ("POST /hooks/tusd?secret=s3cr3t HTTP/1.1", "POST /hooks/tusd?secret=[Filtered] HTTP/1.1"),
        ("POST /hooks/tusd?a=1&SECRET=s3cr3t&b=2 HTTP/1.1", "POST /hooks/tusd?a=1&SECRET=[Filtered]&b=2 HTTP/1.1"),
        ("GET /auth/callback?code=c&state=s HTTP/1.1", "GET /auth/callback?code=[Filtered]&state=[Filtered] HTTP/1.1"),
        ("GET /studies?limit=5&cursor=abc HTTP/1.1", "GET /studies?limit=5&cursor=abc HTTP/1.1"),
        ("GET /health HTTP/1.1", "GET /health HTTP/1.1"),
    ],
)
def test_credentials_in_the_query_are_filtered_and_the_rest_kept(line: str, logged: str) -> None:
    assert redact(line) == logged


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "QUERY", "PROPFIND"])
def test_a_method_chalice_local_has_no_handler_for_reaches_the_app(method: str) -> None:
    """Once a bare 501 from the standard library; now the app's routing answers it (405 with Allow)."""
    patch_request_handler()
    app = Chalice("probe")

    @app.route("/thing", methods=["GET"])
    def thing() -> dict[str, str]:
        return {"ok": "yes"}

    server = local.create_local_server(app, Config.create(chalice_stage="local"), "127.0.0.1", 0)
    port = server.server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request(method, "/thing")
        answer = connection.getresponse()
        answer.read()
        connection.close()
    finally:
        server.shutdown()
        server.server.server_close()

    assert answer.status == 405
    assert answer.getheader("Allow") == "GET"
