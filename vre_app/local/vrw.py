"""A local VRW: reports workspaces configured the way the real service does, so `make run` reaches RUNNING.

The real Virtual Research Workspace service installs and configures a VM once OpenStack has
booted it, and reports to the broker's `POST /hooks/vrw` with Standard Webhooks signatures.
This stand-in installs nothing. It watches the broker's workspaces for the ones handed to VRW
(CONFIGURING: the broker saw their VM become ACTIVE and stored its address), and for each posts
`workspace.configuring` and, `configure_seconds` later, `workspace.ready` with an access URL
(`https://<ip>.vrw.local/`) and the operating system's login user, signed with the stage's
`VRW_WEBHOOK_SECRET`. With a `failure` set it posts `workspace.failed` with that reason instead.
A delivery that fails for a transient reason is sent again with the same webhook-id, as a real
sender does; one the broker refuses (4xx) is logged and given up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from chalicelib.auth.webhooks import parse_secrets, sign
from chalicelib.services.common.model import PageRequest, utcnow
from chalicelib.services.workspaces.lifecycle import Workspace, WorkspaceStatus
from chalicelib.services.workspaces.ports import WorkspaceRepository

log = logging.getLogger(__name__)

KNOB_VARIABLE_PREFIX = "VRE_VRW_"
HOOK_PATH = "/hooks/vrw"
POST_TIMEOUT_SECONDS = 5.0

# Sends one delivery: URL, body, headers -> the HTTP status (0 when nothing answered).
Post = Callable[[str, bytes, Mapping[str, str]], int]


class VrwKnobsError(ValueError):
    """A `VRE_VRW_*` variable that is not a usable value."""


@dataclass(frozen=True, slots=True)
class VrwKnobs:
    """How the stand-in behaves: `VRE_VRW_CONFIGURE_SECONDS`, `VRE_VRW_POLL_SECONDS`, `VRE_VRW_FAILURE`."""

    # How long "configuring" takes, between the two reports.
    configure_seconds: float = 1.0
    # How often it looks for workspaces handed to VRW.
    poll_seconds: float = 1.0
    # When set, every configuration fails with this reason (workspace.failed instead of ready).
    failure: str = ""


def knobs_from_environ(environ: Mapping[str, str]) -> VrwKnobs:
    values: dict[str, Any] = {}
    for name in ("configure_seconds", "poll_seconds"):
        raw = environ.get(KNOB_VARIABLE_PREFIX + name.upper(), "").strip()
        if raw:
            try:
                values[name] = float(raw)
            except ValueError:
                raise VrwKnobsError(f"{KNOB_VARIABLE_PREFIX}{name.upper()}={raw!r} is not a number") from None
            if values[name] < 0 or (name == "poll_seconds" and values[name] == 0):
                raise VrwKnobsError(f"{KNOB_VARIABLE_PREFIX}{name.upper()}={raw!r} is out of range")
    values["failure"] = environ.get(KNOB_VARIABLE_PREFIX + "FAILURE", "").strip()
    return VrwKnobs(**values)


def post_with_requests(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    try:
        return requests.post(url, data=body, headers=dict(headers), timeout=POST_TIMEOUT_SECONDS).status_code
    except requests.RequestException as exc:
        log.info("VRW: %s did not answer (%s); trying again", url, exc)
        return 0


@dataclass(slots=True)
class _Job:
    """One configuration in progress: the events sent so far and their webhook-ids (kept for redelivery)."""

    configuring_id: str = field(default_factory=lambda: f"msg_{uuid.uuid4().hex}")
    outcome_id: str = field(default_factory=lambda: f"msg_{uuid.uuid4().hex}")
    configuring_at: datetime | None = None
    configured_after: float | None = None
    outcome_at: datetime | None = None
    done: bool = False


class LocalVrw:
    """Polls the broker's workspaces and reports on the CONFIGURING ones, in a thread until stopped."""

    def __init__(
        self,
        api_url: str,
        secret: str,
        workspaces: WorkspaceRepository,
        *,
        knobs: VrwKnobs | None = None,
        post: Post = post_with_requests,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.hook_url = api_url.rstrip("/") + HOOK_PATH
        self.knobs = knobs or VrwKnobs()
        self._keys = parse_secrets(secret)
        self._workspaces = workspaces
        self._post = post
        self._clock = clock
        self._now = now
        # By workspace id and the moment it became CONFIGURING: a later configuration is a new job.
        self._jobs: dict[tuple[str, datetime], _Job] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reported: list[tuple[str, str]] = []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="local-vrw", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.knobs.poll_seconds):
            try:
                self.poll_once()
            except Exception:  # a failing round (moto restarting, say) must not end the stand-in
                log.exception("VRW: a round failed")

    def poll_once(self) -> None:
        """Look at every CONFIGURING workspace once and send what is due."""
        waiting = {(w.id, w.updated_at): w for w in self._configuring()}
        for key in list(self._jobs):
            if key not in waiting:
                del self._jobs[key]  # moved on (ready, failed, deleted): nothing more to say
        for key, workspace in waiting.items():
            job = self._jobs.setdefault(key, _Job())
            if not job.done:
                self._advance(workspace, job)

    def _configuring(self) -> list[Workspace]:
        found: list[Workspace] = []
        page = PageRequest(limit=100)
        while True:
            batch = self._workspaces.every(page)
            found += [w for w in batch.items if w.status is WorkspaceStatus.CONFIGURING]
            if batch.next_start is None:
                return found
            page = PageRequest(limit=100, start=batch.next_start)

    def _advance(self, workspace: Workspace, job: _Job) -> None:
        if job.configured_after is None:
            job.configuring_at = job.configuring_at or self._now()
            if self._deliver(job, job.configuring_id, "workspace.configuring", job.configuring_at, workspace):
                job.configured_after = self._clock() + self.knobs.configure_seconds
            return
        if self._clock() < job.configured_after:
            return
        job.outcome_at = job.outcome_at or self._now()
        if self.knobs.failure:
            data: dict[str, Any] = {"reason": self.knobs.failure}
            self._deliver(job, job.outcome_id, "workspace.failed", job.outcome_at, workspace, data)
        elif workspace.ip is None:
            log.warning("VRW: workspace %s has no address to give; reporting it failed", workspace.id)
            data = {"reason": "The local VRW found no address for the virtual machine."}
            self._deliver(job, job.outcome_id, "workspace.failed", job.outcome_at, workspace, data)
        else:
            access = {
                "url": f"https://{workspace.ip}.vrw.local/",
                "ip": workspace.ip,
                "username": workspace.machine.username or "researcher",
            }
            self._deliver(job, job.outcome_id, "workspace.ready", job.outcome_at, workspace, {"access": access})

    def _deliver(
        self,
        job: _Job,
        webhook_id: str,
        kind: str,
        at: datetime,
        workspace: Workspace,
        data: dict[str, Any] | None = None,
    ) -> bool:
        """Post one event; True once the broker took it. A refusal ends the job; no answer leaves it for later."""
        payload = {"type": kind, "timestamp": at.isoformat(), "data": {"workspace_id": workspace.id, **(data or {})}}
        body = json.dumps(payload).encode()
        headers = {**sign(self._keys, webhook_id, int(time.time()), body), "Content-Type": "application/json"}
        status = self._post(self.hook_url, body, headers)
        if 200 <= status < 300:
            self.reported.append((workspace.id, kind))
            if kind != "workspace.configuring":
                job.done = True
            return True
        if 400 <= status < 500:
            log.warning("VRW: the broker refused %s for workspace %s (%d); giving up", kind, workspace.id, status)
            job.done = True
        return False
