"""Swagger UI and ReDoc pages over `/openapi.json` (their scripts come from a public CDN)."""

from __future__ import annotations

SWAGGER_UI = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VRE Broker API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "{spec_url}", dom_id: "#swagger-ui"});</script>
</body></html>
"""

REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VRE Broker API</title></head>
<body><redoc spec-url="{spec_url}"></redoc>
<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
</body></html>
"""


def swagger_ui(spec_url: str) -> str:
    return SWAGGER_UI.replace("{spec_url}", spec_url)


def redoc(spec_url: str) -> str:
    return REDOC.replace("{spec_url}", spec_url)
