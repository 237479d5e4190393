"""An unexpected failure is a 500 problem document with a request id, never a stack trace."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.services.studies.model import StudyAccess
from chalicelib.wiring import Dependencies
from tests.conftest import Person
from tests.support.api import call

ROOT = Path(__file__).resolve().parents[2]


class BrokenAccess:
    """Storage whose every read fails, as DynamoDB might."""

    def load(self, researcher_id: str, credential_key: str, study_id: str | None = None) -> StudyAccess:
        raise RuntimeError("secret internal detail: table on fire")


@pytest.fixture
def broken(deps: Dependencies) -> Iterator[None]:
    wiring.install(replace(deps, access=BrokenAccess()))
    yield
    wiring.install(deps)


def test_an_unexpected_error_is_a_500_problem_without_details(
    client: Client, person: Callable[..., Person], broken: None
) -> None:
    alice = person("alice")

    status, payload, headers = call(client, "GET", "/me", headers=alice.headers)

    assert status == 500
    assert headers["Content-Type"] == "application/problem+json"
    assert payload["status"] == 500
    assert payload["request_id"]
    assert "table on fire" not in json.dumps(payload)
    assert "Traceback" not in json.dumps(payload)


def test_sentry_is_initialised_first_when_a_dsn_is_set() -> None:
    probe = (
        "import sentry_sdk, app; "
        "client = sentry_sdk.get_client(); "
        "print(client.is_active(), client.options['environment'], "
        "any(type(i).__name__ == 'ChaliceIntegration' for i in client.integrations.values()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "STAGE": "dev", "SENTRY_DSN": "https://public@sentry.invalid/1"},
    )

    assert result.stdout.split() == ["True", "dev", "True"]
