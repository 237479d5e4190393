"""Swagger UI and ReDoc pages over `/openapi.json`, their scripts from the console's static files.

The bundles are npm packages pinned in web/package.json, copied by the console's build into
`<FRONTEND_URL>/api-docs/<package>@<version>/`: nothing comes from a CDN, so the pages work on a laptop without
internet and on a locked-down stage, and the Lambda package carries none of their megabytes. A Content Security
Policy holds the pages to this API and the console, so that what the bundles would fetch from elsewhere (ReDoc's
logo, Swagger UI's validator badge) is never asked for.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from urllib.parse import urlsplit

# Keep equal to web/package.json (tests/contract/test_api_docs_assets.py); the version in the path lets the
# deploy cache the files for good.
SWAGGER_UI_DIST_VERSION = "5.35.0"
REDOC_VERSION = "2.5.4"
ASSETS_PATH = "/api-docs"

SWAGGER_UI = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VRE Broker API</title>
<link rel="stylesheet" href="{base}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script>{init}</script>
</body></html>
"""

REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VRE Broker API</title></head>
<body><redoc spec-url="{spec_url}"></redoc>
<script src="{base}/redoc.standalone.js"></script>
</body></html>
"""


def swagger_ui_base(frontend_url: str) -> str:
    """Where the console serves swagger-ui-dist's files."""
    return f"{frontend_url.rstrip('/')}{ASSETS_PATH}/swagger-ui-dist@{SWAGGER_UI_DIST_VERSION}"


def redoc_base(frontend_url: str) -> str:
    """Where the console serves redoc's bundle."""
    return f"{frontend_url.rstrip('/')}{ASSETS_PATH}/redoc@{REDOC_VERSION}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _swagger_init(spec_url: str) -> str:
    # A JavaScript string inside <script>: JSON, with `<` escaped so that no value can close the element.
    # validatorUrl null: no badge image from validator.swagger.io.
    url = json.dumps(spec_url).replace("<", "\\u003c")
    return f'window.ui = SwaggerUIBundle({{url: {url}, dom_id: "#swagger-ui", validatorUrl: null}});'


def content_security_policy(frontend_url: str, inline_script: str | None = None) -> str:
    """The pages may load from this API and the console only; `inline_script` is allowed by its hash."""
    console = _origin(frontend_url)
    scripts = [console]
    if inline_script is not None:
        digest = base64.b64encode(hashlib.sha256(inline_script.encode()).digest()).decode()
        scripts.append(f"'sha256-{digest}'")
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(scripts)}",
            # Both bundles set styles at run time; ReDoc runs its search index in a blob: worker.
            f"style-src {console} 'unsafe-inline'",
            f"img-src 'self' {console} data:",
            f"font-src {console} data:",
            "connect-src 'self'",
            "worker-src blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def swagger_ui(spec_url: str, frontend_url: str) -> tuple[str, str]:
    """The Swagger UI page and its Content-Security-Policy."""
    init = _swagger_init(spec_url)
    page = SWAGGER_UI.replace("{base}", escape(swagger_ui_base(frontend_url))).replace("{init}", init)
    return page, content_security_policy(frontend_url, init)


def redoc(spec_url: str, frontend_url: str) -> tuple[str, str]:
    """The ReDoc page and its Content-Security-Policy."""
    page = REDOC.replace("{base}", escape(redoc_base(frontend_url))).replace("{spec_url}", escape(spec_url))
    return page, content_security_policy(frontend_url)
