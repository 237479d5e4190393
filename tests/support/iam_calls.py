"""Every AWS call the deployed code makes in the tests, with the function that made it, checked against
that function's IAM policy (`vre_app.iam`).

A botocore handler sees each call before it is sent (moto's and the local stack's alike). The function is
told by the code on the stack: a frame in `chalicelib/api/` is the API handler, a frame in a worker module
is that worker's function. Calls from tests, fixtures and the ops CLI belong to no function and are not
checked. `tests/conftest.py` fails a test whose calls the policy does not grant.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from vre_app.iam import PLACEHOLDER_ACCOUNT, Permission, PolicyTarget, missing, permissions_for, render_policy

ROOT = Path(__file__).resolve().parents[2]
# Where each deployed function's code begins. A new `@app.on_...` handler adds its worker module here;
# tests/contract/test_iam.py fails until every function and every worker module has a line.
ENTRY_POINTS: dict[str, str] = {
    "chalicelib/api/": "api_handler",
    "chalicelib/workers/mail.py": "deliver_mail",
    "chalicelib/workers/provisioning.py": "provision_workspaces",
    "chalicelib/workers/reconcile.py": "reconcile_workspaces",
    "chalicelib/workers/invitation_links.py": "requeue_invitation_links",
}
# The tests run on the local stage in moto's default account.
TEST_REGION = "eu-west-1"
TEST_STAGE = "local"


@dataclass(frozen=True, slots=True)
class Call:
    """One AWS call: the function whose code made it, and the permissions it needs."""

    function: str
    operation: str
    permissions: tuple[Permission, ...]


class CallRecorder:
    """Keeps the calls made while `recording()` is open; installed once, into every botocore session made after."""

    def __init__(self, root: Path = ROOT, entry_points: Mapping[str, str] = ENTRY_POINTS) -> None:
        self._entry_points = [(str(root / path), function) for path, function in entry_points.items()]
        self._lock = threading.Lock()
        self._calls: list[Call] | None = None

    def install(self) -> None:
        """Hook every botocore session created from now on (as moto hooks them)."""
        BUILTIN_HANDLERS.append(("before-parameter-build", self.on_call))

    @contextmanager
    def recording(self) -> Iterator[list[Call]]:
        calls: list[Call] = []
        with self._lock:
            self._calls = calls
        try:
            yield calls
        finally:
            with self._lock:
                self._calls = None

    def on_call(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if self._calls is None:
            return
        function = self.function_on_stack()
        if function is None:
            return
        service = model.service_model.signing_name
        needed = permissions_for(service, model.name, params, region=TEST_REGION, account=PLACEHOLDER_ACCOUNT)
        with self._lock:
            if self._calls is not None:
                self._calls.append(Call(function, f"{service}:{model.name}", tuple(needed)))

    def function_on_stack(self) -> str | None:
        """The deployed function whose code is running in this thread, if any."""
        frame = sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            for prefix, function in self._entry_points:
                if filename.startswith(prefix):
                    return function
            frame = frame.f_back  # type: ignore[assignment]
        return None


def policy_for_tests(function: str) -> dict[str, Any]:
    """The function's policy as the deploy renders it, for the tests' stage, region and account."""
    return render_policy(
        function,
        PolicyTarget(stage=TEST_STAGE, account=PLACEHOLDER_ACCOUNT, region=TEST_REGION, mail_from=_MAIL_FROM),
    )


# The tests send from the default EMAIL_FROM_ADDRESS; a deploy renders with the stage's own.
_MAIL_FROM = "no-reply@vre.example.org"


def ungranted(calls: list[Call]) -> list[str]:
    """One line per call whose function's policy does not grant what it needs."""
    policies: dict[str, dict[str, Any]] = {}
    problems = []
    for call in calls:
        if call.function not in policies:
            policies[call.function] = policy_for_tests(call.function)
        for permission in missing(policies[call.function], call.permissions):
            line = f"{call.function} ({call.operation}) needs {permission}, not in infra/policies/{call.function}.json"
            if line not in problems:
                problems.append(line)
    return problems
