"""In-memory stand-ins for the workspace side: catalog, workspaces, the provisioning queue and the cloud.

`InMemoryWorkspaces` keeps what DynamoDB keeps (versions, all-or-nothing creation with the quota
and idempotency conditions, moves that claim a delivery in its ledger); `FakeCloud` behaves like
Nova as the `Cloud` port sees it, counts its calls, and fails when a test tells it to.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.errors import ConflictError, QuotaExceededError
from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.common.ports import Ledger
from chalicelib.services.messages import ProvisioningMessage
from chalicelib.services.workspaces.catalog_items import CatalogItem
from chalicelib.services.workspaces.cloud import Cloud, CloudError, CloudServer, ServerSpec, ServerStatus
from chalicelib.services.workspaces.lifecycle import (
    IdempotencyReplay,
    Quota,
    StudyUsage,
    Workspace,
    WorkspaceEvent,
    WorkspaceStatus,
)
from chalicelib.services.workspaces.ports import (
    CatalogRepository,
    DeliveryClaim,
    IdempotencyClaim,
    ProvisioningQueue,
    WorkspaceRepository,
)
from tests.support.fakes import InMemoryStudies, _page
from vre_app.seed import load_catalog

_STALE = "The workspace changed in the meantime; reload and try again."


class InMemoryCatalog:
    def __init__(self, items: list[CatalogItem] | None = None) -> None:
        self._items = {(i.kind.value, i.id): i for i in (load_catalog() if items is None else items)}
        self.audit: list[AuditEntry] = []

    def all(self) -> list[CatalogItem]:
        return list(self._items.values())

    def put(self, item: CatalogItem, audit: AuditEntry | None = None) -> None:
        self._items[(item.kind.value, item.id)] = item
        self.audit += [audit] if audit else []

    def delete(self, kind: str, item_id: str, audit: AuditEntry | None = None) -> bool:
        if self._items.pop((kind, item_id), None) is None:
            return False
        self.audit += [audit] if audit else []
        return True


class InMemoryLedger:
    """`Ledger` over a dict; `InMemoryWorkspaces` claims in it within its moves, as DynamoDB does in one table."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.claims: dict[str, tuple[datetime, str]] = {}
        self.counters: dict[str, int] = {}

    def claim(self, key: str, *, until: datetime, fingerprint: str = "") -> bool:
        with self.lock:
            if key in self.claims:
                return False
            self.claims[key] = (until, fingerprint)
            return True

    def release(self, key: str) -> None:
        with self.lock:
            self.claims.pop(key, None)

    def count(self, key: str, *, limit: int, until: datetime) -> bool:
        with self.lock:
            if self.counters.get(key, 0) >= limit:
                return False
            self.counters[key] = self.counters.get(key, 0) + 1
            return True

    def claimed(self, key: str) -> str | None:
        with self.lock:
            held = self.claims.get(key)
            return None if held is None else held[1]


class InMemoryWorkspaces:
    """`WorkspaceRepository` over dicts, safe to share between threads (the concurrency tests do)."""

    def __init__(self, studies: InMemoryStudies | None = None, *, ledger: InMemoryLedger | None = None) -> None:
        self._studies = studies
        self.ledger = ledger or InMemoryLedger()
        self._lock = threading.RLock()
        self._workspaces: dict[str, Workspace] = {}
        self._events: dict[str, list[WorkspaceEvent]] = {}
        self._usage: dict[str, tuple[int, int]] = {}
        self._keys: dict[tuple[str, str], tuple[str, str]] = {}
        self.audit: list[AuditEntry] = []

    def get(self, workspace_id: str) -> Workspace | None:
        with self._lock:
            found = self._workspaces.get(workspace_id)
            return replace(found) if found else None

    def for_study(self, study_id: str, page: PageRequest) -> Page[Workspace]:
        with self._lock:
            mine = [w for w in self._workspaces.values() if w.study_id == study_id]
        return _page(mine, lambda w: f"{w.created_at.isoformat()}#{w.id}", page, newest_first=True)

    def every(self, page: PageRequest) -> Page[Workspace]:
        with self._lock:
            every = list(self._workspaces.values())
        return _page(every, lambda w: w.id, page)

    def listed(self, page: PageRequest, status: WorkspaceStatus | None = None) -> Page[Workspace]:
        with self._lock:
            chosen = [w for w in self._workspaces.values() if status is None or w.status is status]
        return _page(chosen, lambda w: f"{w.created_at.isoformat()}#{w.id}", page, newest_first=True)

    def create(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry,
        quota: Quota,
        idempotency: IdempotencyClaim | None = None,
    ) -> Workspace:
        with self._lock:
            if idempotency is not None and (workspace.owner_id, idempotency.key) in self._keys:
                raise IdempotencyReplay(*self._keys[(workspace.owner_id, idempotency.key)])
            count, vcpus = self._usage.get(workspace.study_id, (0, 0))
            if count + 1 > quota.max_workspaces or vcpus + workspace.machine.vcpus > quota.max_vcpus:
                raise QuotaExceededError(detail="over quota")
            if workspace.id in self._workspaces:
                raise ConflictError(detail=_STALE)
            self._usage[workspace.study_id] = (count + 1, vcpus + workspace.machine.vcpus)
            self._count_live(workspace.study_id, +1)
            self._workspaces[workspace.id] = replace(workspace, version=1)
            self._events.setdefault(workspace.id, []).append(replace(event))
            self.audit.append(audit)
            if idempotency is not None:
                self._keys[(workspace.owner_id, idempotency.key)] = (workspace.id, idempotency.fingerprint)
            return replace(workspace, version=1)

    def replay(self, caller_id: str, key: str) -> tuple[str, str] | None:
        with self._lock:
            return self._keys.get((caller_id, key))

    def move(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry | None = None,
        claim: DeliveryClaim | None = None,
    ) -> Workspace:
        with self._lock, self.ledger.lock:
            if claim is not None and self.ledger.claimed(claim.key) is not None:
                raise ConflictError(detail=_STALE)
            stored = self._store(workspace)
            if claim is not None:
                self.ledger.claim(claim.key, until=claim.until, fingerprint=claim.fingerprint)
            self._events.setdefault(workspace.id, []).append(replace(event))
            if audit is not None:
                self.audit.append(audit)
            if workspace.status is WorkspaceStatus.DELETED:
                count, vcpus = self._usage.get(workspace.study_id, (0, 0))
                self._usage[workspace.study_id] = (count - 1, vcpus - workspace.machine.vcpus)
                self._count_live(workspace.study_id, -1)
            return stored

    def save(self, workspace: Workspace) -> Workspace:
        with self._lock:
            return self._store(workspace)

    def events(self, workspace_id: str, page: PageRequest) -> Page[WorkspaceEvent]:
        with self._lock:
            events = list(self._events.get(workspace_id, []))
        return _page(events, lambda e: f"{e.at.isoformat()}#{e.event_id}", page)

    def usage(self, study_id: str) -> StudyUsage:
        with self._lock:
            count, vcpus = self._usage.get(study_id, (0, 0))
        return StudyUsage(study_id, count, vcpus)

    def _store(self, workspace: Workspace) -> Workspace:
        current = self._workspaces.get(workspace.id)
        if current is None or current.version != workspace.version:
            raise ConflictError(detail=_STALE)
        stored = replace(workspace, version=(workspace.version or 0) + 1)
        self._workspaces[workspace.id] = stored
        return replace(stored)

    def _count_live(self, study_id: str, change: int) -> None:
        if self._studies is not None:
            self._studies.live_workspaces[study_id] = self._studies.live_workspaces.get(study_id, 0) + change


@dataclass
class RecordingProvisioningQueue:
    """Every message with its delay, in order; `take()` hands the waiting ones to a test's worker loop."""

    sent: list[tuple[ProvisioningMessage, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _taken: int = 0

    def send(self, message: ProvisioningMessage, *, delay_seconds: int = 0) -> None:
        with self._lock:
            self.sent.append((message, delay_seconds))

    def take(self) -> list[ProvisioningMessage]:
        with self._lock:
            waiting = [m for m, _ in self.sent[self._taken :]]
            self._taken = len(self.sent)
        return waiting


@dataclass
class FakeServer:
    id: str
    spec: ServerSpec
    status: ServerStatus = ServerStatus.BUILD
    ip: str | None = None
    fault: str | None = None
    polls: int = 0


class FakeCloud:
    """Nova as the `Cloud` port sees it. A server is BUILD for `boot_polls` reads, then ACTIVE.

    `fail_next(error)` makes the next calls raise; `error_state` makes new servers go to ERROR;
    `fault_rate` with `rng` fails that share of calls (retryable). Every call is counted.
    """

    def __init__(self, *, boot_polls: int = 1) -> None:
        self.boot_polls = boot_polls
        self.servers: dict[str, FakeServer] = {}
        self.calls: list[str] = []
        self.failures: list[CloudError] = []
        self.error_state = False
        self.fault_rate = 0.0
        self.rng: Callable[[], float] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    def fail_next(self, *errors: CloudError) -> None:
        self.failures.extend(errors)

    def _call(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)
            if self.failures:
                raise self.failures.pop(0)
            if self.fault_rate and self.rng is not None and self.rng() < self.fault_rate:
                raise CloudError("OpenStack is not answering (injected fault).", retryable=True)

    def _view(self, server: FakeServer) -> CloudServer:
        return CloudServer(server.id, server.status, server.spec.workspace_id, server.ip, server.fault)

    def create_server(self, spec: ServerSpec) -> CloudServer:
        self._call("create")
        with self._lock:
            server = FakeServer(f"srv-{next(self._ids)}", spec)
            self.servers[server.id] = server
            return self._view(server)

    def get_server(self, server_id: str) -> CloudServer | None:
        self._call("get")
        with self._lock:
            server = self.servers.get(server_id)
            if server is None:
                return None
            server.polls += 1
            if server.status is ServerStatus.BUILD and server.polls >= self.boot_polls:
                if self.error_state:
                    server.status, server.fault = ServerStatus.ERROR, "No valid host was found."
                else:
                    server.status, server.ip = ServerStatus.ACTIVE, f"10.0.0.{len(self.servers)}"
            elif server.status is ServerStatus.REBOOT:
                server.status = ServerStatus.ACTIVE
            return self._view(server)

    def find_server(self, workspace_id: str) -> CloudServer | None:
        self._call("find")
        with self._lock:
            found = [s for s in self.servers.values() if s.spec.workspace_id == workspace_id]
            return self._view(found[0]) if found else None

    def broker_servers(self) -> list[CloudServer]:
        self._call("list")
        with self._lock:
            return [self._view(s) for s in self.servers.values()]

    def _set(self, server_id: str, status: ServerStatus, call: str) -> None:
        self._call(call)
        with self._lock:
            server = self.servers.get(server_id)
            if server is None:
                raise CloudError("The virtual machine does not exist.", retryable=False)
            server.status = status

    def start_server(self, server_id: str) -> None:
        self._set(server_id, ServerStatus.ACTIVE, "start")

    def stop_server(self, server_id: str) -> None:
        self._set(server_id, ServerStatus.SHUTOFF, "stop")

    def reboot_server(self, server_id: str) -> None:
        self._set(server_id, ServerStatus.REBOOT, "reboot")

    def delete_server(self, server_id: str) -> None:
        self._call("delete")
        with self._lock:
            self.servers.pop(server_id, None)

    def servers_of(self, workspace_id: str) -> list[FakeServer]:
        with self._lock:
            return [s for s in self.servers.values() if s.spec.workspace_id == workspace_id]


# mypy checks that each fake is what the services accept.
_catalog: CatalogRepository = InMemoryCatalog([])
_workspaces: WorkspaceRepository = InMemoryWorkspaces()
_ledger: Ledger = InMemoryLedger()
_queue: ProvisioningQueue = RecordingProvisioningQueue()
_cloud: Cloud = FakeCloud()
