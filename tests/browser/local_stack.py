"""The local stack for page tests (tests/support/stack.py's, as `make run` starts it, on free ports), with web/dist
built; stopped with SIGINT when the module is done."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from tests.support.stack import ROOT, RunningStack, local_stack

WEB_DIST = ROOT / "web" / "dist"


@contextmanager
def running_stack(log_dir: Path, **settings: str) -> Iterator[RunningStack]:
    """`python -m vre_app local` with only a fresh shell's environment, the ports and `settings`."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("web/dist is not built: `make test` builds it (or: cd web && npm ci && npm run build)")
    with local_stack(log_dir / "stack.log", **settings) as running:
        yield running


def logged_in(context: BrowserContext, stack: RunningStack, token: str) -> None:
    """The console's session as POST /auth/token leaves it (web/src/session.ts)."""
    session = json.dumps({"token": token, "expiresAt": int(time.time() * 1000) + 3_600_000})
    context.add_init_script(
        f"if (location.origin === {json.dumps(stack.frontend)}) "
        f"window.localStorage.setItem('vre.session', {json.dumps(session)});"
    )
