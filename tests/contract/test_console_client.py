"""The console's typed client is generated from the API it talks to: web/openapi.json is the served document,
and web/src/api/schema.d.ts is what openapi-typescript makes of it. Both are committed; `make web-schema`
regenerates them after an API change, and these tests fail until that was done."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from chalicelib.api.service import openapi_document
from vre_app.cli import main

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
OPENAPI_TYPESCRIPT = WEB / "node_modules" / ".bin" / "openapi-typescript"
STALE = "is stale: run `make web-schema` and commit web/openapi.json and web/src/api/schema.d.ts"


def test_the_cli_prints_the_served_document(capsys: pytest.CaptureFixture[str]) -> None:
    openapi_document.cache_clear()

    assert main(["openapi"]) == 0

    assert json.loads(capsys.readouterr().out) == openapi_document()


def test_web_openapi_json_is_the_served_document(capsys: pytest.CaptureFixture[str]) -> None:
    main(["openapi"])
    printed = capsys.readouterr().out

    assert (WEB / "openapi.json").read_text() == printed, f"web/openapi.json {STALE}"


def test_the_typescript_schema_is_generated_from_web_openapi_json() -> None:
    if not OPENAPI_TYPESCRIPT.exists():
        pytest.fail("web/node_modules is missing: `make pytest` installs it (cd web && npm ci)")
    generated = subprocess.run(
        [str(OPENAPI_TYPESCRIPT), "openapi.json"], cwd=WEB, capture_output=True, text=True, timeout=120, check=True
    ).stdout

    assert (WEB / "src" / "api" / "schema.d.ts").read_text() == generated, f"web/src/api/schema.d.ts {STALE}"
