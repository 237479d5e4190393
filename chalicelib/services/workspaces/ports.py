"""The repositories and the queue the workspaces services depend on, as Protocols, and the claims they carry.

Each has a DynamoDB implementation in `chalicelib.models` and an in-memory fake in
`tests/support/fakes_workspaces.py`; `tests/contract/` runs the same checks on both. A stale write raises
`ConflictError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.workspaces.catalog_items import CatalogItem
from chalicelib.services.workspaces.lifecycle import Quota, StudyUsage, Workspace, WorkspaceEvent, WorkspaceStatus

if TYPE_CHECKING:
    from chalicelib.services.messages import ProvisioningMessage


class CatalogRepository(Protocol):
    """The workspace catalog: small, read whole."""

    def all(self) -> list[CatalogItem]: ...

    def put(self, item: CatalogItem, audit: AuditEntry | None = None) -> None:
        """Create or replace an entry, with `audit` in the same write."""
        ...

    def delete(self, kind: str, item_id: str, audit: AuditEntry | None = None) -> bool:
        """Remove an entry, with `audit` in the same write; False (and nothing written) if there was none."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An `Idempotency-Key` of one caller, with a fingerprint of the request it came with."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class DeliveryClaim:
    """A delivery's ledger key, claimed with the change it made (so it is applied once), kept until `until`;
    the fingerprint tells a redelivery from another message under the same key."""

    key: str
    until: datetime
    fingerprint: str = ""


class WorkspaceRepository(Protocol):
    """Workspaces, their history and their study's usage counter.

    Every state change writes its event (and audit entry, if any) in the same transaction,
    conditional on the version read; a stale write raises `ConflictError`.
    """

    def get(self, workspace_id: str) -> Workspace | None: ...

    def for_study(self, study_id: str, page: PageRequest) -> Page[Workspace]:
        """The study's workspaces, newest first."""
        ...

    def every(self, page: PageRequest) -> Page[Workspace]:
        """Every workspace in no order (the reconciler): a Scan, never on a request's path."""
        ...

    def listed(self, page: PageRequest, status: WorkspaceStatus | None = None) -> Page[Workspace]:
        """Every workspace, or those in `status`, newest first (the platform admins' list)."""
        ...

    def create(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry,
        quota: Quota,
        idempotency: IdempotencyClaim | None = None,
    ) -> Workspace:
        """Store a new workspace if the study's usage stays within `quota`; returns it as stored.

        Raises `QuotaExceededError` when it would not, `IdempotencyReplay` when the key was used.
        """
        ...

    def replay(self, caller_id: str, key: str) -> tuple[str, str] | None:
        """The workspace id and request fingerprint an `Idempotency-Key` was first used for."""
        ...

    def move(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: AuditEntry | None = None,
        claim: DeliveryClaim | None = None,
    ) -> Workspace:
        """Store a state change (the workspace already carries its new state); DELETED frees its quota.

        With `claim`, the ledger key is claimed in the same transaction: a key claimed before is a
        `ConflictError` and nothing is written.
        """
        ...

    def save(self, workspace: Workspace) -> Workspace:
        """Store bookkeeping that is not a state change (server id, lease, check token, access)."""
        ...

    def events(self, workspace_id: str, page: PageRequest) -> Page[WorkspaceEvent]:
        """A workspace's history, oldest first."""
        ...

    def usage(self, study_id: str) -> StudyUsage: ...


class ProvisioningQueue(Protocol):
    def send(self, message: ProvisioningMessage, *, delay_seconds: int = 0) -> None:
        """Queue work for the provisioning family, visible after `delay_seconds` (at most 900)."""
