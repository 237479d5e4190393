"""The workspace and catalog repositories: the same checks on the in-memory fakes and on DynamoDB (moto)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.errors import ConflictError, QuotaExceededError
from chalicelib.services.common.model import AuditEntry, AuditOutcome, PageRequest, new_id, utcnow
from chalicelib.services.workspaces.catalog import validate_item
from chalicelib.services.workspaces.catalog_items import CatalogKind
from chalicelib.services.workspaces.lifecycle import (
    IdempotencyReplay,
    Machine,
    Quota,
    Workspace,
    WorkspaceEvent,
    WorkspaceStatus,
)
from chalicelib.services.workspaces.ports import CatalogRepository, DeliveryClaim, IdempotencyClaim, WorkspaceRepository
from tests.support.fakes_workspaces import InMemoryCatalog, InMemoryWorkspaces

MACHINE = Machine(
    "small",
    "rocky-9",
    "research",
    50,
    "Rocky Linux 9",
    "vre.small",
    "vre-research",
    2,
    8,
    False,
    Decimal("1.30"),
    "rocky",
)
ROOMY = Quota(max_workspaces=100, max_vcpus=1000)


@dataclass(frozen=True)
class Repositories:
    workspaces: WorkspaceRepository
    catalog: CatalogRepository


@pytest.fixture(params=["in-memory", "dynamodb"])
def repos(request: pytest.FixtureRequest) -> Repositories:
    if request.param == "in-memory":
        return Repositories(InMemoryWorkspaces(), InMemoryCatalog([]))
    deps = request.getfixturevalue("deps")
    return Repositories(deps.workspaces, deps.catalog)


def new_workspace(study_id: str, **changes: object) -> tuple[Workspace, WorkspaceEvent, AuditEntry]:
    moment = utcnow()
    workspace = Workspace(
        id=new_id(),
        study_id=study_id,
        owner_id=new_id(),
        name="Box",
        machine=MACHINE,
        status=WorkspaceStatus.REQUESTED,
        created_at=moment,
        updated_at=moment,
        expires_at=moment + timedelta(days=90),
    )
    workspace = replace(workspace, **changes)  # type: ignore[arg-type]
    event = WorkspaceEvent(workspace.id, study_id, workspace.status, moment, workspace.owner_id)
    audit = AuditEntry(
        study_id, workspace.owner_id, "workspace.requested", f"workspace:{workspace.id}", AuditOutcome.SUCCESS, moment
    )
    return workspace, event, audit


def test_a_created_workspace_reads_back_whole(repos: Repositories) -> None:
    study_id = new_id()
    workspace, event, audit = new_workspace(study_id, ssh_public_key="ssh-ed25519 AAAA x", reminders=frozenset({"14"}))
    stored = repos.workspaces.create(workspace, event, audit, ROOMY)
    assert stored.version == 1
    found = repos.workspaces.get(workspace.id)
    assert found == replace(workspace, version=1)
    assert repos.workspaces.usage(study_id).workspaces == 1
    assert repos.workspaces.usage(study_id).vcpus == 2
    assert [e.status for e in repos.workspaces.events(workspace.id, PageRequest()).items] == [WorkspaceStatus.REQUESTED]


def test_the_quota_counts_workspaces_and_vcpus(repos: Repositories) -> None:
    study_id = new_id()
    quota = Quota(max_workspaces=2, max_vcpus=3)
    repos.workspaces.create(*new_workspace(study_id), quota)
    with pytest.raises(QuotaExceededError):
        repos.workspaces.create(*new_workspace(study_id), quota)  # 4 vCPUs > 3
    with pytest.raises(QuotaExceededError):
        repos.workspaces.create(*new_workspace(study_id), Quota(max_workspaces=1, max_vcpus=100))
    assert repos.workspaces.usage(study_id).workspaces == 1


def test_a_used_idempotency_key_replays_the_first_workspace(repos: Repositories) -> None:
    study_id = new_id()
    first, event, audit = new_workspace(study_id)
    key = IdempotencyClaim(f"key-{new_id()}", "fingerprint-1")
    repos.workspaces.create(first, event, audit, ROOMY, key)
    second, event2, audit2 = new_workspace(study_id, owner_id=first.owner_id)
    with pytest.raises(IdempotencyReplay) as replayed:
        repos.workspaces.create(second, event2, audit2, ROOMY, key)
    assert (replayed.value.workspace_id, replayed.value.fingerprint) == (first.id, "fingerprint-1")
    assert repos.workspaces.replay(first.owner_id, key.key) == (first.id, "fingerprint-1")
    assert repos.workspaces.get(second.id) is None
    assert repos.workspaces.usage(study_id).workspaces == 1


def test_a_stale_move_or_save_is_a_conflict(repos: Repositories) -> None:
    workspace, event, audit = new_workspace(new_id())
    stored = repos.workspaces.create(workspace, event, audit, ROOMY)
    moved = replace(stored, status=WorkspaceStatus.PROVISIONING)
    now_stored = repos.workspaces.move(moved, replace(event, status=moved.status, event_id=new_id()))
    assert now_stored.version == 2
    with pytest.raises(ConflictError):
        repos.workspaces.save(replace(stored, name="stale"))
    assert repos.workspaces.save(replace(now_stored, server_id="srv-1")).version == 3


def test_a_move_with_a_claim_is_made_once_and_a_claimed_key_writes_nothing(repos: Repositories) -> None:
    # GIVEN a workspace moved with a delivery claimed in the same write
    workspace, event, audit = new_workspace(new_id())
    stored = repos.workspaces.create(workspace, event, audit, ROOMY)
    claim = DeliveryClaim(f"vrw#{new_id()}", utcnow() + timedelta(days=7))
    moved = repos.workspaces.move(
        replace(stored, status=WorkspaceStatus.PROVISIONING),
        replace(event, status=WorkspaceStatus.PROVISIONING, event_id=new_id()),
        claim=claim,
    )

    # WHEN another move (from the current version) claims the same key
    with pytest.raises(ConflictError):
        repos.workspaces.move(
            replace(moved, status=WorkspaceStatus.FAILED),
            replace(event, status=WorkspaceStatus.FAILED, event_id=new_id()),
            claim=claim,
        )

    # THEN nothing of it was written
    assert repos.workspaces.get(workspace.id) == moved
    assert len(repos.workspaces.events(workspace.id, PageRequest()).items) == 2


def test_deleted_frees_the_quota_and_lists_newest_first(repos: Repositories) -> None:
    study_id = new_id()
    older = repos.workspaces.create(*new_workspace(study_id), ROOMY)
    newer = repos.workspaces.create(*new_workspace(study_id, created_at=utcnow() + timedelta(seconds=1)), ROOMY)
    assert [w.id for w in repos.workspaces.for_study(study_id, PageRequest()).items] == [newer.id, older.id]
    deleted = replace(older, status=WorkspaceStatus.DELETED)
    repos.workspaces.move(deleted, WorkspaceEvent(older.id, study_id, deleted.status, utcnow(), "broker"))
    assert repos.workspaces.usage(study_id).workspaces == 1
    first = repos.workspaces.for_study(study_id, PageRequest(limit=1))
    assert first.next_start is not None
    rest = repos.workspaces.for_study(study_id, PageRequest(limit=1, start=first.next_start))
    assert [w.id for w in first.items + rest.items] == [newer.id, older.id]


def test_the_catalog_puts_lists_and_deletes(repos: Repositories) -> None:
    item_id = f"p-{new_id()[:8]}"
    item = validate_item(CatalogKind.PROFILE, item_id, "P", "1.25", {"flavor": "f", "vcpus": 2, "ram_gb": 4})
    repos.catalog.put(item)
    assert item in repos.catalog.all()
    assert repos.catalog.delete("profiles", item_id) is True
    assert repos.catalog.delete("profiles", item_id) is False
    assert item not in repos.catalog.all()
