"""Contract fuzzing: schemathesis against the local stack over HTTP, every operation of the served document.

The stack starts the way `make run` starts it. The fuzzer calls as a platform admin who owns a
study with members, with a fresh session token per request (so a fuzzed logout ends only its
own), and aims path parameters at objects the API has handed out (`tests/contract/fuzzing.py`),
so that bodies get past the 404 to the code behind it. Every answer must be a non-5xx that
matches the document: status, content type, headers and body; invalid input must be refused.

`FUZZ_REQUESTS` sets the size of the pass (2,000 in `make test`, 20,000 in `make fuzz`); the
requests actually sent are counted and the count is asserted, so a pass that shrinks fails.
Operations come from the document, so routes added later are fuzzed without touching this file.
Half of the requests to each hook carry the service's credential (VRW's signature over the exact bytes
sent, tusd's secret in the query), so the fuzzed bodies reach the code behind the check too.
"""

from __future__ import annotations

import math
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from schemathesis import Case, GenerationMode

from chalicelib.api.service import openapi_document
from chalicelib.auth.tokens import TokenPolicy, issue_session_token
from chalicelib.auth.webhooks import parse_secrets, sign
from chalicelib.config import load_settings
from tests.contract.fuzzing import Ledger, ObjectPool, aim, observe
from tests.support.stack import RunningStack, local_stack
from vre_app.local.environment import LocalPorts, stage_variables

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("fuzz")]

FUZZ_REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "2000"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261128"))
# Every check schemathesis has (`--checks all`). A schema-valid request may still meet a refusal the
# document lists for that operation (a cursor from another list, a research field or login code that
# names nothing): positive data acceptance expects those besides schemathesis's own defaults.
ACCEPTED_BY_DEFAULT = ("2xx", "3xx", "401", "403", "404", "409", "429")


class VrwSigningSession(requests.Session):
    """Signs what it sends to `/hooks/vrw` as VRW would: over the exact bytes, just before they leave."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secrets = parse_secrets(secret)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body or b""
        request.headers.update(sign(self.secrets, f"msg_{uuid.uuid4().hex}", int(time.time()), body))
        return super().send(request, **kwargs)


@dataclass
class FuzzTarget:
    stack: RunningStack
    policy: TokenPolicy
    researcher_id: str
    pool: ObjectPool
    ledger: Ledger
    rng: random.Random
    tusd_secret: str
    vrw: VrwSigningSession

    def bearer(self) -> dict[str, str]:
        """A session of its own for every request: a fuzzed logout ends that one only."""
        return {"Authorization": f"Bearer {issue_session_token(self.policy, self.researcher_id)}"}


def _document() -> dict[str, Any]:
    openapi_document.cache_clear()
    return openapi_document()


def _schema() -> schemathesis.BaseSchema:
    """The document, built here so each operation is a test of its own (a test below checks the stack serves it)."""
    document = _document()
    # The budget is shared by the operations that take input; one without any (`GET /health`) is
    # exhausted after a few requests, and the fixed coverage cases of the rest make up the margin.
    varied = [op for item in document["paths"].values() for op in item.values() if _takes_input(op)]
    config = schemathesis.Config.from_dict(
        {
            "seed": FUZZ_SEED,
            "request-timeout": 30.0,
            "cache": {"enabled": False},
            # Hypothesis's own health checks judge the generators' speed, which a busy CI machine would fail.
            "suppress-health-check": ["all"],
            "generation": {
                "mode": "all",
                "max-examples": math.ceil(FUZZ_REQUESTS / len(varied)),
                "no-shrink": True,
                "database": "none",
                # Unknown query parameters are ignored, as the web expects (`?_=<cache buster>`).
                "allow-extra-parameters": False,
            },
            "checks": {"enabled": True},
            "operations": [
                _documented_statuses_accepted(op) for item in document["paths"].values() for op in item.values()
            ],
        }
    )
    return schemathesis.openapi.from_dict(document, config=config)


def _documented_statuses_accepted(operation: dict[str, Any]) -> dict[str, Any]:
    documented = [status for status in operation["responses"] if status != "default"]
    return {
        "include-operation-id": operation["operationId"],
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED_BY_DEFAULT, *documented]}},
    }


def _takes_input(operation: dict[str, Any]) -> bool:
    return bool(operation.get("parameters") or operation.get("requestBody") or operation.get("security") != [])


schema = _schema()


@schema.hook
def filter_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> bool:
    # An empty, `.` or `..` segment is folded away on the way: the request would be for another route.
    return not any(str(value) in ("", ".", "..") for value in (path_parameters or {}).values())


@contextmanager
def default_ports_taken() -> Iterator[list[int]]:
    """The local stack's default ports held by listeners of our own (those not taken already), as when `make run`
    or another stack is up on the machine: the fuzz stack must not need any of them."""
    defaults = LocalPorts()
    frontend = urlsplit(stage_variables("local")["FRONTEND_URL"]).port
    ports = [defaults.api, defaults.moto, defaults.oidc, defaults.openstack, *([frontend] if frontend else [])]
    with ExitStack() as held:
        for port in ports:
            listener = held.enter_context(socket.socket())
            try:
                listener.bind(("127.0.0.1", port))
            except OSError:
                continue  # someone else's stack has it already: just as good
            listener.listen()
        yield ports


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack on free ports, every one of them (API, moto, OIDC, OpenStack, the console), as `tests/e2e`
    starts it, with the defaults held meanwhile: a stack already on them (`make run`, another test run) does not
    get in its way, and a stack that needs one fails here even on an empty machine."""
    with default_ports_taken(), local_stack(tmp_path_factory.mktemp("fuzz-stack") / "stack.log") as running:
        yield running


@pytest.fixture(scope="module")
def fuzz_target(fuzz_stack: RunningStack) -> FuzzTarget:
    """A platform admin owning a study with an admin, a viewer and a contributor, all joined by mailed link."""
    stack = fuzz_stack
    email = f"fuzz.{uuid.uuid4().hex[:8]}@example.org"
    token = stack.token(email, "Fuzz Owner")
    stack.cli("grant-admin", "--email", email)
    me = stack.call("GET", "/me", token).json()
    created = stack.call("POST", "/studies", token, json={"name": "Fuzzed study"})
    assert created.status_code == 201, created.text
    study_id = created.json()["id"]

    pool = ObjectPool.for_paths(stack.call("GET", "/openapi.json").json()["paths"])
    # Kept from every DELETE, so the whole pass has a study and members to aim at; the contributor may go.
    pool.add({"researcher_id": me["id"]}, protect=True)
    for role in ("admin", "viewer"):
        pool.add({"study_id": study_id, "researcher_id": _member(stack, token, study_id, role)}, protect=True)
    pool.add({"study_id": study_id, "researcher_id": _member(stack, token, study_id, "contributor")})

    settings = load_settings(stage_variables("local"))
    assert settings.session_signing_key, "the local stage names its signing key in .chalice/config.json"
    policy = TokenPolicy.from_settings(settings, settings.session_signing_key)
    assert settings.tusd_hook_secret, "the local stage names tusd's hook secret"
    assert settings.vrw_webhook_secret, "the local stage names VRW's webhook secret"
    vrw = VrwSigningSession(settings.vrw_webhook_secret)
    return FuzzTarget(stack, policy, me["id"], pool, Ledger(), random.Random(FUZZ_SEED), settings.tusd_hook_secret, vrw)


def _member(stack: RunningStack, token: str, study_id: str, role: str) -> str:
    """A new researcher, invited with `role` and joined through the mailed link; their id."""
    email = f"fuzz.{role}.{uuid.uuid4().hex[:8]}@example.org"
    invited = stack.call("POST", f"/studies/{study_id}/invitations", token, json={"email": email, "role": role})
    assert invited.status_code == 201, invited.text
    (link,) = [link for link in stack.wait_for_mail(email)["links"] if "/invitations/accept?" in link]
    (secret,) = parse_qs(urlsplit(link).query)["token"]
    joined = stack.call("POST", "/invitations/accept", stack.token(email, f"Fuzz {role}"), json={"token": secret})
    assert joined.status_code == 200, joined.text
    return str(joined.json()["researcher_id"])


@schema.parametrize()
def test_no_operation_answers_5xx_or_off_its_documented_contract(case: Case[Any], fuzz_target: FuzzTarget) -> None:
    aim(case, fuzz_target.pool, fuzz_target.rng)
    headers = fuzz_target.bearer()
    session = None
    # Only a case meant to be valid gets the credential: a negative one must stay invalid.
    positive = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
    if case.path in ("/hooks/vrw", "/hooks/tusd") and positive and fuzz_target.rng.random() < 0.5:
        if case.path == "/hooks/vrw":
            session = fuzz_target.vrw
        else:
            case.query = {**(case.query or {}), "secret": fuzz_target.tusd_secret}
    response = case.call(base_url=fuzz_target.stack.api, headers=headers, session=session)
    observe(case, response, fuzz_target.pool, fuzz_target.ledger)
    case.validate_response(response, headers=headers)


def test_the_stack_serves_the_document_that_was_fuzzed(fuzz_target: FuzzTarget) -> None:
    assert fuzz_target.stack.call("GET", "/openapi.json").json() == _document()


def test_the_pass_sent_what_it_promised_and_nothing_crashed(fuzz_target: FuzzTarget) -> None:
    # After the pass above (same module, same xdist group, so same worker and in order): its ledger.
    ledger = fuzz_target.ledger
    print(ledger.summary())

    assert ledger.total >= FUZZ_REQUESTS, ledger.summary()
    documented = {f"{method.upper()} {path}" for path, item in _document()["paths"].items() for method in item}
    assert set(ledger.by_operation) == documented, ledger.summary()
    assert not [status for status in ledger.by_status if status >= 500], ledger.summary()
    # The credentialed half of each hook's requests got past its check to the code behind it.
    for hook in ("POST /hooks/vrw", "POST /hooks/tusd"):
        assert any(n for (label, status), n in ledger.answers.items() if label == hook and status != 401), hook
    assert "unhandled error" not in fuzz_target.stack.output(), fuzz_target.stack.output()[-5000:]
