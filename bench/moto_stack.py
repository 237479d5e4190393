"""A moto server on a free loopback port with the template applied, for benchmarks that need AWS."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import requests
from moto.server import ThreadedMotoServer

from chalicelib import wiring
from chalicelib.auth.tokens import issue_session_token
from chalicelib.services.accounts.researchers import ensure_researcher
from vre_app.infra import apply_template

SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789"


@dataclass
class MotoStack:
    environ: dict[str, str]

    def researcher_token(self) -> tuple[str, str]:
        """A session token for a fresh researcher, and the researcher's id."""
        deps = wiring.dependencies()
        researcher = ensure_researcher(deps.researchers, email="bench@uni.example", name="Bench")
        return issue_session_token(deps.token_policy, researcher.id), researcher.id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_stack() -> Iterator[MotoStack]:
    """Start moto, apply infra/template.yaml for the local stage, and point this process at it."""
    import os

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
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
        "SESSION_SIGNING_KEY": SIGNING_KEY,
    }
    saved = dict(os.environ)
    os.environ.update(environ)
    wiring.reset()
    try:
        apply_template(boto3.client("cloudformation", endpoint_url=environ["AWS_ENDPOINT_URL"]), "local")
        yield MotoStack(environ)
    finally:
        # The server's backends live in this process and outlast it: reset them for the next stack.
        requests.post(f"{environ['AWS_ENDPOINT_URL']}/moto-api/reset", timeout=10)
        server.stop()
        os.environ.clear()
        os.environ.update(saved)
        wiring.reset()
