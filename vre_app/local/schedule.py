"""Scheduled handlers on the local stack: what EventBridge does on AWS, a thread does here.

Every `@app.schedule` handler of the Chalice app (the reconciler) is called with a scheduled-event
shaped payload every `VRE_SCHEDULE_SECONDS` (default 30), rather than at its AWS rate, so a laptop
sees repairs and expiry within a minute.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalice.app import Chalice, ScheduledEventConfig

log = logging.getLogger(__name__)

SCHEDULE_SECONDS_VARIABLE = "VRE_SCHEDULE_SECONDS"
DEFAULT_SCHEDULE_SECONDS = 30.0


def scheduled_handlers(app: Chalice) -> dict[str, Callable[[dict[str, Any], Any], Any]]:
    """Name -> the function Lambda would call, for every scheduled handler of the app."""
    return {
        source.name: app.handler_map[source.name]
        for source in app.event_sources
        if isinstance(source, ScheduledEventConfig)
    }


def scheduled_event(name: str) -> dict[str, Any]:
    """The payload EventBridge sends a scheduled Lambda."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-1",
        "resources": [f"arn:aws:events:eu-west-1:123456789012:rule/{name}"],
        "detail": {},
    }


class Scheduler:
    """Calls each scheduled handler every `interval` seconds until stopped; a failing round is logged."""

    def __init__(self, handlers: dict[str, Callable[[dict[str, Any], Any], Any]], interval: float) -> None:
        self._handlers = handlers
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def run_once(self) -> None:
        for name, handler in self._handlers.items():
            try:
                handler(scheduled_event(name), None)
            except Exception:  # a round's failure must not end the schedule
                log.exception("scheduled handler %s failed", name)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.run_once()
