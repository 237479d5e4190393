"""The local stack's `chalice local` access log keeps credentials in query strings out."""

from __future__ import annotations

import pytest

from vre_app.local.chalice_local import redact


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
