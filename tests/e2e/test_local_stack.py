"""The local stack, started the way `make run` starts it, driven over HTTP the way the frontend drives it.

One stack per module, on free ports. The last test stops it with SIGINT and checks that nothing
it started is left running and that its ports are free again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "VRE Broker local stack ready"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass
class RunningStack:
    """The `python -m vre_app local` process, its environment and where it listens."""

    process: subprocess.Popen[bytes]
    environ: dict[str, str]
    api_port: int
    moto_port: int
    log: Path
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def token(self, email: str, name: str) -> str:
        """A session token minted by the ops CLI, as the README tells a developer to."""
        done = subprocess.run(
            [sys.executable, "-m", "vre_app", "token", "--email", email, "--name", name],
            cwd=ROOT,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, self.api + path, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)


@dataclass(frozen=True)
class Researcher:
    email: str
    token: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    api_port, moto_port = free_ports(2)
    # Only what a fresh shell has, plus the ports: nothing of the test session's own environment.
    environ = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    environ |= {"VRE_API_PORT": str(api_port), "VRE_MOTO_PORT": str(moto_port), "PYTHONUNBUFFERED": "1"}
    log = tmp_path_factory.mktemp("local-stack") / "stack.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "vre_app", "local"], cwd=ROOT, env=environ, stdout=sink, stderr=subprocess.STDOUT
        )
    running = RunningStack(process, environ, api_port, moto_port, log)
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


@pytest.fixture(scope="module")
def owner(stack: RunningStack) -> Researcher:
    email = f"owner.{uuid.uuid4().hex[:8]}@example.org"
    return Researcher(email, stack.token(email, "Study Owner"))


@pytest.fixture(scope="module")
def stranger(stack: RunningStack) -> Researcher:
    email = f"stranger.{uuid.uuid4().hex[:8]}@example.org"
    return Researcher(email, stack.token(email, "A Stranger"))


@pytest.fixture(scope="module")
def study(stack: RunningStack, owner: Researcher) -> dict[str, Any]:
    created = stack.call(
        "POST",
        "/studies",
        owner.token,
        json={"name": "Cohort study", "description": "First", "research_field": "biology"},
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    assert created.headers["Location"] == f"/studies/{body['id']}"
    return body


def test_the_stack_prints_where_everything_is(stack: RunningStack) -> None:
    output = stack.output()

    assert f"API       {stack.api}" in output
    assert f"{stack.api}/docs" in output
    assert f"http://127.0.0.1:{stack.moto_port}" in output
    assert (
        f'curl -H "Authorization: Bearer $(VRE_MOTO_PORT={stack.moto_port} .venv/bin/python -m vre_app token' in output
    )


def test_health_and_docs_answer_without_a_token(stack: RunningStack) -> None:
    assert stack.call("GET", "/health").json()["status"] == "ok"
    assert stack.call("GET", "/openapi.json").json()["openapi"].startswith("3.")
    assert stack.call("GET", "/docs").status_code == 200


def test_me_is_the_researcher_the_cli_made(stack: RunningStack, owner: Researcher) -> None:
    me = stack.call("GET", "/me", owner.token)

    assert me.status_code == 200, me.text
    assert me.json()["email"] == owner.email
    assert me.json()["name"] == "Study Owner"


def test_the_cli_reuses_the_researcher_for_the_same_email(stack: RunningStack, owner: Researcher) -> None:
    again = stack.token(owner.email, "Study Owner")

    assert stack.call("GET", "/me", again).json()["id"] == stack.call("GET", "/me", owner.token).json()["id"]


def test_universities_are_seeded(stack: RunningStack, owner: Researcher) -> None:
    listed = stack.call("GET", "/universities", owner.token, params={"limit": 100})

    assert listed.status_code == 200, listed.text
    ids = {item["id"] for item in listed.json()["items"]}
    assert {"leiden", "eur"} <= ids


def test_a_study_is_created_listed_read_edited_and_audited(
    stack: RunningStack, owner: Researcher, study: dict[str, Any]
) -> None:
    study_id = study["id"]
    assert study["role"] == "owner"

    listed = stack.call("GET", "/studies", owner.token)
    assert listed.status_code == 200, listed.text
    assert study_id in {item["id"] for item in listed.json()["items"]}

    read = stack.call("GET", f"/studies/{study_id}", owner.token)
    assert read.status_code == 200, read.text
    assert read.json()["member_count"] == 1
    assert read.json()["upload_url"].startswith("http://127.0.0.1:1080/upload/")

    edited = stack.call(
        "PATCH",
        f"/studies/{study_id}",
        owner.token,
        json={"name": "Cohort study II", "version": read.json()["version"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "Cohort study II"

    audit = stack.call("GET", f"/studies/{study_id}/audit", owner.token)
    assert audit.status_code == 200, audit.text
    actions = [entry["action"] for entry in audit.json()["items"]]
    assert {"study.created", "study.updated"} <= set(actions)


def test_a_stranger_cannot_tell_the_study_exists(
    stack: RunningStack, stranger: Researcher, study: dict[str, Any]
) -> None:
    answer = stack.call("GET", f"/studies/{study['id']}", stranger.token)

    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_no_token_is_a_401_problem(stack: RunningStack, study: dict[str, Any]) -> None:
    answer = stack.call("GET", f"/studies/{study['id']}")

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["status"] == 401


def test_a_busy_port_is_a_clear_failure(stack: RunningStack) -> None:
    # GIVEN something already listening where a second stack's API would go
    (moto_port,) = free_ports(1)
    environ = stack.environ | {"VRE_API_PORT": str(stack.api_port), "VRE_MOTO_PORT": str(moto_port)}

    # WHEN a second stack starts
    done = subprocess.run(
        [sys.executable, "-m", "vre_app", "local"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )

    # THEN it says which port and how to choose another, and leaves nothing behind
    assert done.returncode == 1
    assert f"port {stack.api_port}" in done.stderr
    assert "VRE_API_PORT" in done.stderr
    assert port_is_free(moto_port)


def test_sigint_stops_everything_and_frees_the_ports(stack: RunningStack) -> None:
    # GIVEN the stack and what it started
    started = descendants(stack.process.pid)
    assert started, "the stack runs `chalice local` as a child process"

    # WHEN it gets Ctrl-C
    stack.process.send_signal(signal.SIGINT)

    # THEN it and its children exit, in time, cleanly, and the ports are free again
    assert stack.process.wait(STOP_TIMEOUT_SECONDS) == 0, stack.output()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.1)
    assert not [pid for pid in started if alive(pid)], "orphaned processes"
    assert port_is_free(stack.api_port)
    assert port_is_free(stack.moto_port)
    assert "Local stack stopped." in stack.output()


def wait_until_ready(stack: RunningStack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while READY_LINE not in stack.output():
        if stack.process.poll() is not None:
            pytest.fail(f"the local stack exited with {stack.process.returncode}:\n{stack.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the local stack was not ready within {START_TIMEOUT_SECONDS:.0f} s:\n{stack.output()}")
        time.sleep(0.1)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (`ps` works alike on Linux and macOS)."""
    table = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in table.splitlines():
        child, parent = (int(value) for value in line.split())
        children.setdefault(parent, []).append(child)
    found, pending = [], list(children.get(pid, []))
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
