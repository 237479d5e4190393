"""The stacks the tests and `bench/` run against: a moto with infra/template.yaml applied for the local stage
(in this process: `mock_aws` or a moto server on loopback), or the whole local stack started as `make run`
starts it, on free ports, driven over HTTP."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from chalicelib import wiring
from chalicelib.auth.tokens import issue_session_token
from chalicelib.services.accounts.researchers import ensure_researcher
from vre_app.infra import apply_template
from vre_app.local.environment import stage_variables

ROOT = Path(__file__).resolve().parents[2]
# The moto server's stack signs its own session tokens.
SERVER_SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789"
READY_LINE = "VRE Broker local stack ready"
START_TIMEOUT_SECONDS = 60.0
MAIL_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 20.0
REQUEST_TIMEOUT_SECONDS = 10.0
# Where the local stack listens, each on a free port unless the caller names one.
PORT_SETTINGS = ("VRE_API_PORT", "VRE_MOTO_PORT", "VRE_OIDC_PORT", "VRE_OPENSTACK_PORT", "FRONTEND_URL")


@contextmanager
def template_applied(environ: Mapping[str, str], unset: Iterable[str] = ()) -> Iterator[None]:
    """This process's environment set to `environ` (less `unset`), infra/template.yaml applied for the local stage
    to the moto it names (AWS_ENDPOINT_URL, or `mock_aws` in this process without one) and the wiring rebuilt
    against it; the environment and the wiring restored after."""
    saved = dict(os.environ)
    os.environ.update(environ)
    for name in unset:
        os.environ.pop(name, None)
    wiring.reset()
    try:
        cloudformation = boto3.client(
            "cloudformation", region_name=environ["AWS_REGION"], endpoint_url=environ.get("AWS_ENDPOINT_URL")
        )
        apply_template(cloudformation, "local")
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        wiring.reset()


@dataclass
class MotoServer:
    """A moto server on loopback with the template applied, and the environment that points at it."""

    environ: dict[str, str]

    def researcher_token(self) -> tuple[str, str]:
        """A session token for a fresh researcher, and the researcher's id."""
        deps = wiring.dependencies()
        researcher = ensure_researcher(deps.researchers, email="bench@uni.example", name="Bench")
        return issue_session_token(deps.token_policy, researcher.id), researcher.id


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """Start moto over HTTP on a free loopback port in this process, apply the template, and point this process
    at it (for benchmarks: the calls cross a socket, as they would to AWS)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    (port,) = free_ports(1)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    environ = {
        "STAGE": "local",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "TABLE_PREFIX": "vre-local-",
        "SESSION_SIGNING_KEY": SERVER_SIGNING_KEY,
    }
    try:
        with template_applied(environ):
            yield MotoServer(environ)
    finally:
        # The server's backends live in this process and outlast it: reset them for the next one.
        requests.post(f"{environ['AWS_ENDPOINT_URL']}/moto-api/reset", timeout=10)
        server.stop()


@dataclass
class RunningStack:
    """The `python -m vre_app local` process, its environment and where it listens."""

    process: subprocess.Popen[bytes]
    environ: dict[str, str]
    api_port: int
    moto_port: int
    oidc_port: int
    log: Path
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def oidc(self) -> str:
        """The local identity provider, which is also the issuer."""
        return f"http://127.0.0.1:{self.oidc_port}"

    @property
    def frontend(self) -> str:
        """Where the stack serves the console (the caller's FRONTEND_URL; the stage's without one)."""
        return self.environ.get("FRONTEND_URL") or stage_variables("local")["FRONTEND_URL"]

    @property
    def openstack_port(self) -> int:
        return int(self.environ["VRE_OPENSTACK_PORT"])

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def cli(self, *args: str) -> str:
        """`python -m vre_app <args>` (the ops CLI) against this stack; its output, stripped. Fails on an error."""
        done = subprocess.run(
            [sys.executable, "-m", "vre_app", *args],
            cwd=ROOT,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def token(self, email: str, name: str) -> str:
        """A session token minted by the ops CLI, as the README tells a developer to."""
        return self.cli("token", "--email", email, "--name", name)

    def mail_to(self, email: str) -> list[dict[str, Any]]:
        """What SES (moto) accepted for `email`, oldest first, as `python -m vre_app mail --json` lists it."""
        mails: list[dict[str, Any]] = json.loads(self.cli("mail", "--json", "--to", email))
        return mails

    def wait_for_mail(self, email: str, *, subject: str = "") -> dict[str, Any]:
        """The first mail to `email` whose subject holds `subject`, once the queue pump and SES delivered it."""
        deadline = time.monotonic() + MAIL_TIMEOUT_SECONDS
        while not (found := [mail for mail in self.mail_to(email) if subject in mail["subject"]]):
            if time.monotonic() > deadline:
                pytest.fail(f"no mail to {email} within {MAIL_TIMEOUT_SECONDS:.0f} s:\n{self.output()}")
            time.sleep(0.5)
        return found[0]

    def call(
        self, method: str, path: str, token: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return self.http.request(method, self.api + path, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)


def shell_environ() -> dict[str, str]:
    """Only what a fresh shell has: nothing of the test session's own environment."""
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}


@contextmanager
def local_stack(log: Path, **settings: str) -> Iterator[RunningStack]:
    """`python -m vre_app local` with only a fresh shell's environment and `settings`, every port in
    PORT_SETTINGS the caller does not name a free one, its output in `log`; stopped with SIGINT (killed if it
    hangs)."""
    unnamed = [name for name in PORT_SETTINGS if name not in settings]
    ports = dict(zip(unnamed, free_ports(len(unnamed)), strict=True))
    environ = shell_environ() | {name: str(port) for name, port in ports.items()}
    if "FRONTEND_URL" in ports:
        # Not the stage's 3000, where a developer's own `make run` may be serving the console.
        environ["FRONTEND_URL"] = f"http://127.0.0.1:{ports['FRONTEND_URL']}"
    environ |= {"PYTHONUNBUFFERED": "1", **settings}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "vre_app", "local"], cwd=ROOT, env=environ, stdout=sink, stderr=subprocess.STDOUT
        )
    running = RunningStack(
        process,
        environ,
        int(environ["VRE_API_PORT"]),
        int(environ["VRE_MOTO_PORT"]),
        int(environ["VRE_OIDC_PORT"]),
        log,
    )
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


def wait_until_ready(stack: RunningStack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while READY_LINE not in stack.output():
        if stack.process.poll() is not None:
            pytest.fail(f"the local stack exited with {stack.process.returncode}:\n{stack.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the local stack was not ready within {START_TIMEOUT_SECONDS:.0f} s:\n{stack.output()}")
        time.sleep(0.1)


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports nothing listens on right now."""
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
