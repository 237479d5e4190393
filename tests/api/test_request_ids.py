"""Every API answer names its request id, and the id follows the work into logs and queue messages."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.config import load_settings
from chalicelib.logs import configure_logging
from chalicelib.services.studies.model import StudyAccess
from chalicelib.wiring import Dependencies
from tests.conftest import Person, RecordingMailQueue, StudyCast
from tests.support.api import call


def test_a_clients_sane_request_id_is_echoed(client: Client, person: Callable[..., Person]) -> None:
    alice = person("alice")

    status, _, headers = call(client, "GET", "/me", headers={**alice.headers, "X-Request-Id": "trace-0123456789"})

    assert status == 200
    assert headers["X-Request-Id"] == "trace-0123456789"


@pytest.mark.parametrize("given", ["", "tiny", "spaces are not allowed here", "x" * 200, "id\u00e9-unicode-1234"])
def test_an_unusable_request_id_is_replaced_with_a_new_one(
    client: Client, person: Callable[..., Person], given: str
) -> None:
    alice = person("alice")

    status, _, headers = call(client, "GET", "/me", headers={**alice.headers, "X-Request-Id": given})

    assert status == 200
    assert headers["X-Request-Id"] != given
    assert len(headers["X-Request-Id"]) == 32


def test_a_refusal_names_its_request_id_too(client: Client) -> None:
    status, payload, headers = call(client, "GET", "/me", headers={"X-Request-Id": "trace-refused-01"})

    assert status == 401
    assert payload["status"] == 401
    assert headers["X-Request-Id"] == "trace-refused-01"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger as a deployed stage has it (JSON lines), into a buffer; the test's handlers after."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(load_settings({"STAGE": "dev", "LOG_FORMAT": "json"}), stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in before:
        root.addHandler(handler)
    root.setLevel(level)


def ours(stream: io.StringIO) -> list[dict[str, str]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["logger"].startswith("chalicelib")]


def test_the_id_is_on_the_requests_log_lines_and_its_queue_messages(
    client: Client, cast: StudyCast, mail_queue: RecordingMailQueue, json_lines: io.StringIO
) -> None:

    status, invitation, headers = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/invitations",
        headers={**cast.admin.headers, "X-Request-Id": "trace-invite-0001"},
        body={"email": "new@example.org", "role": "viewer"},
    )

    assert status == 201, invitation
    assert headers["X-Request-Id"] == "trace-invite-0001"
    assert mail_queue.typed[-1].request_id == "trace-invite-0001"
    assert {line["request_id"] for line in ours(json_lines)} == {"trace-invite-0001"}


class BrokenAccess:
    def load(self, researcher_id: str, credential_key: str, study_id: str | None = None) -> StudyAccess:
        raise RuntimeError("table on fire")


@pytest.fixture
def broken(deps: Dependencies) -> Iterator[None]:
    wiring.install(replace(deps, access=BrokenAccess()))
    yield
    wiring.install(deps)


def test_a_500_problem_its_header_and_its_log_line_carry_the_same_request_id(
    client: Client, person: Callable[..., Person], broken: None, json_lines: io.StringIO
) -> None:
    alice = person("alice")

    status, payload, headers = call(client, "GET", "/me", headers={**alice.headers, "X-Request-Id": "trace-broken-01"})

    assert status == 500
    assert payload["request_id"] == headers["X-Request-Id"] == "trace-broken-01"
    (logged,) = [line for line in ours(json_lines) if "unhandled error" in line["message"]]
    assert logged["request_id"] == "trace-broken-01"
    assert "table on fire" in logged["exception"]
