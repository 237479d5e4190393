"""Service routes: health, the OpenAPI document and the documentation pages need no token."""

from __future__ import annotations

import base64
import hashlib
import json

from chalice.test import Client

from chalicelib.openapi.pages import REDOC_VERSION, SWAGGER_UI_DIST_VERSION


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


def test_docs_pages_load_their_bundles_from_the_console_not_a_cdn(client: Client) -> None:
    frontend = "http://127.0.0.1:3000"  # the local stage's FRONTEND_URL
    wanted = {
        "/docs": f'<script src="{frontend}/api-docs/swagger-ui-dist@{SWAGGER_UI_DIST_VERSION}/swagger-ui-bundle.js">',
        "/redoc": f'<script src="{frontend}/api-docs/redoc@{REDOC_VERSION}/redoc.standalone.js">',
    }
    for path, script in wanted.items():
        response = client.http.get(path)
        body = response.body.decode()
        assert script in body
        assert "cdn." not in body
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert f"script-src {frontend}" in policy
        assert "https:" not in policy


def test_swagger_ui_asks_no_outside_validator_and_its_inline_script_is_allowed_by_hash(client: Client) -> None:
    response = client.http.get("/docs")
    body = response.body.decode()
    init = body.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(init.encode()).digest()).decode()

    assert "validatorUrl: null" in init
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]
