"""The AWS calls botocore clients make, counted through botocore's event hooks: DESIGN.md's DynamoDB budget is
checked with it (tests/api/test_budgets.py) and measured with it (bench/list_routes.py, bench/pipeline.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.handlers import BUILTIN_HANDLERS


class AwsCalls:
    """The operations called while recording: `Query`, `GetItem`, ... of one service (DynamoDB unless told), or
    `service.Operation` of every service when `service` is None."""

    def __init__(self, service: str | None = "dynamodb") -> None:
        self.service = service
        self.operations: list[str] = []
        self.recording = False

    @property
    def event(self) -> str:
        """The botocore event it listens to: one service's calls, or every call."""
        return f"before-call.{self.service}" if self.service else "before-call"

    def __call__(self, event_name: str, model: Any, **_: Any) -> None:
        if self.recording:
            self.operations.append(model.name if self.service else event_name.removeprefix("before-call."))

    def during(self, action: Callable[[], Any]) -> list[str]:
        """The operations `action` called, in order."""
        self.operations, self.recording = [], True
        try:
            action()
        finally:
            self.recording = False
        return self.operations

    def take(self) -> list[str]:
        """The operations called since the last take (while recording), and start afresh."""
        taken, self.operations = self.operations, []
        return taken


@contextmanager
def counting(calls: AwsCalls) -> Iterator[AwsCalls]:
    """`calls` hooked into every botocore session made while this is open. botocore copies its built-in handlers
    into a session when it makes one, so the clients to count must be made inside (boto3's default session is
    dropped here, so `boto3.client` makes a new one)."""
    handler = (calls.event, calls)
    BUILTIN_HANDLERS.append(handler)
    boto3.DEFAULT_SESSION = None
    try:
        yield calls
    finally:
        BUILTIN_HANDLERS.remove(handler)
