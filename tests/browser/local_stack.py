"""The local stack for page tests, started as `make run` starts it (tests/e2e/test_local_stack.py's way), on free
ports, with web/dist built; stopped with SIGINT when the module is done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from tests.e2e.test_local_stack import STOP_TIMEOUT_SECONDS, RunningStack, free_ports, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
WEB_DIST = ROOT / "web" / "dist"


@contextmanager
def running_stack(log_dir: Path, **settings: str) -> Iterator[RunningStack]:
    """`python -m vre_app local` with only a fresh shell's environment, the ports and `settings`."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("web/dist is not built: `make test` builds it (or: cd web && npm ci && npm run build)")
    api_port, moto_port, oidc_port, openstack_port, frontend_port = free_ports(5)
    environ = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    environ |= {
        "VRE_API_PORT": str(api_port),
        "VRE_MOTO_PORT": str(moto_port),
        "VRE_OIDC_PORT": str(oidc_port),
        "VRE_OPENSTACK_PORT": str(openstack_port),
        "FRONTEND_URL": f"http://127.0.0.1:{frontend_port}",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }
    log = log_dir / "stack.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "vre_app", "local"], cwd=ROOT, env=environ, stdout=sink, stderr=subprocess.STDOUT
        )
    running = RunningStack(process, environ, api_port, moto_port, oidc_port, log)
    try:
        wait_until_ready(running)
        yield running
    finally:
        running.http.close()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def logged_in(context: BrowserContext, stack: RunningStack, token: str) -> None:
    """The console's session as POST /auth/token leaves it (web/src/session.ts)."""
    session = json.dumps({"token": token, "expiresAt": int(time.time() * 1000) + 3_600_000})
    context.add_init_script(
        f"if (location.origin === {json.dumps(stack.frontend)}) "
        f"window.localStorage.setItem('vre.session', {json.dumps(session)});"
    )
