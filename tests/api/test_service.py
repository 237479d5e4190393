"""Service routes: health, the OpenAPI document and the documentation pages need no token."""

from __future__ import annotations

import json

from chalice.test import Client


def test_health_answers_ok_with_the_version(client: Client) -> None:
    response = client.http.get("/health")

    assert response.status_code == 200
    assert json.loads(response.body) == {"status": "ok", "version": "0.1.0"}


def test_openapi_document_is_served_without_a_token(client: Client) -> None:
    response = client.http.get("/openapi.json")

    assert response.status_code == 200
    document = json.loads(response.body)
    assert document["openapi"] == "3.1.0"
    assert "/studies/{study_id}/members/{researcher_id}" in document["paths"]


def test_docs_pages_point_at_the_document(client: Client) -> None:
    for path in ("/docs", "/redoc"):
        response = client.http.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "openapi.json" in response.body.decode()
