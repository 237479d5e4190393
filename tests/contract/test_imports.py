"""Heavy imports stay off the API path: importing `app` loads neither openstack nor moto."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import app
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("openstack", "moto", "keystoneauth1", "sentry_sdk", "oidc_provider_mock", "flask", "authlib")
)
print(json.dumps(heavy))
"""


def test_importing_the_app_loads_no_openstack_no_moto_and_no_sentry_without_a_dsn() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "STAGE": "local"},
    )

    assert json.loads(result.stdout) == []
