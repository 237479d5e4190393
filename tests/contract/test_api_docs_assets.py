"""The API's /docs and /redoc name the bundle versions web/package.json pins, exactly, and the build copies them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.openapi.pages import REDOC_VERSION, SWAGGER_UI_DIST_VERSION

WEB = Path(__file__).resolve().parents[2] / "web"


def test_the_pages_name_the_versions_the_console_pins_exactly() -> None:
    package = json.loads((WEB / "package.json").read_text())
    lock = json.loads((WEB / "package-lock.json").read_text())
    pinned = {"swagger-ui-dist": SWAGGER_UI_DIST_VERSION, "redoc": REDOC_VERSION}

    for name, version in pinned.items():
        assert package["devDependencies"][name] == version, name
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


def test_the_build_copies_the_bundles_where_the_pages_look() -> None:
    plugin = (WEB / "api-docs.ts").read_text()
    config = (WEB / "vite.config.ts").read_text()

    assert re.search(r"plugins: \[[^\]]*\bapiDocs\(root\)", config)
    assert "fileName: `api-docs/${name}@${version}/${base}`" in plugin
    for file in ("swagger-ui-bundle.js", "swagger-ui.css", "bundles/redoc.standalone.js"):
        assert f"'{file}'" in plugin
