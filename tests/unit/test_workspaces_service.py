"""Workspace requests, actions, edits and usage on fakes; and the reconciler's repair round."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    ValidationError,
)
from chalicelib.services.common.model import AuditOutcome
from chalicelib.services.messages import ConvergeMessage
from chalicelib.services.studies.model import Role
from chalicelib.services.workspaces import workspaces as service
from chalicelib.services.workspaces.catalog import read, resolve, validate_item
from chalicelib.services.workspaces.catalog_items import CatalogKind
from chalicelib.services.workspaces.lifecycle import Action, WorkspaceSettings, WorkspaceStatus
from chalicelib.services.workspaces.reconciler import reconcile
from tests.unit.workspace_lab import Lab

S = WorkspaceStatus


@pytest.fixture
def lab() -> Lab:
    return Lab()


# Requests -------------------------------------------------------------------------------------


def test_a_request_is_stored_with_its_machine_cost_and_expiry_and_queued(lab: Lab) -> None:
    workspace = lab.request(profile="medium", storage_gb=100)
    assert workspace.machine.flavor == "vre.medium"
    assert workspace.machine.vcpus == 4
    assert workspace.machine.price_per_day == Decimal("2.60")  # 2.40 profile + 0.20 storage
    estimate = service.cost_estimate(workspace, lab.settings)
    assert (estimate.per_day, estimate.per_month) == (Decimal("2.60"), Decimal("78.00"))
    assert workspace.expires_at == workspace.created_at + timedelta(days=90)
    assert lab.queue.sent == [(ConvergeMessage(workspace_id=workspace.id), 0)]
    assert lab.workspaces.audit[-1].action == "workspace.requested"


def test_unknown_catalog_choices_are_named_one_by_one(lab: Lab) -> None:
    with pytest.raises(ValidationError) as raised:
        lab.request(profile="huge", operating_system="beos", storage_gb=7, network="dmz")
    assert {e.field for e in raised.value.errors} == {"profile", "operating_system", "storage_gb", "network"}
    assert lab.queue.sent == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "   "),
        ("ssh_public_key", "not a key"),
        ("ssh_public_key", "ssh-ed25519 AAAA\nssh-rsa AAAA"),
    ],
)
def test_bad_request_fields_are_refused(lab: Lab, field: str, value: str) -> None:
    fields: dict[str, Any] = {field: value}
    with pytest.raises(ValidationError):
        lab.request(None, **fields)


def test_expiry_must_be_within_the_allowed_lifetime(lab: Lab) -> None:
    now = lab.clock.last
    with pytest.raises(ValidationError):
        lab.request(expires_at=now + timedelta(days=400))
    with pytest.raises(ValidationError):
        lab.request(expires_at=now)
    with pytest.raises(ValidationError):
        lab.request(expires_at=(now + timedelta(days=3)).replace(tzinfo=None))
    assert lab.request(expires_at=now + timedelta(days=30)).expires_at == now + timedelta(days=30)


def test_viewers_may_not_request_and_their_attempt_is_audited(lab: Lab) -> None:
    viewer = lab.member(Role.VIEWER, "vera")
    with pytest.raises(PermissionDeniedError):
        lab.request(viewer)
    assert any(
        (e.action, e.outcome, e.actor_id) == ("workspace.requested", AuditOutcome.DENIED, viewer.id)
        for e in lab.broker.audit(lab.study)
    )


def test_a_stranger_does_not_learn_the_study_exists(lab: Lab) -> None:
    with pytest.raises(NotFoundError):
        lab.request(lab.broker.researcher("eve"))


def test_quota_on_workspaces_and_on_vcpus(lab: Lab) -> None:
    lab.settings = WorkspaceSettings.from_settings(Settings(workspace_quota_workspaces=2, workspace_quota_vcpus=10))
    lab.request(profile="large")  # 8 vCPUs
    with pytest.raises(QuotaExceededError):
        lab.request(profile="medium")  # 8 + 4 > 10
    lab.request(profile="small")  # 8 + 2 = 10
    with pytest.raises(QuotaExceededError):
        lab.request(profile="small")  # a third workspace
    assert lab.workspaces.usage(lab.study.id).vcpus == 10


def test_a_study_override_beats_the_default_quota(lab: Lab) -> None:
    study = lab.broker.studies.get(lab.study.id)
    assert study is not None
    lab.broker.studies._studies[study.id] = replace(study, max_workspaces=1)
    lab.request()
    with pytest.raises(QuotaExceededError):
        lab.request()


def test_twenty_parallel_requests_against_a_quota_of_five_admit_five(lab: Lab) -> None:
    lab.settings = WorkspaceSettings.from_settings(Settings(workspace_quota_workspaces=5, workspace_quota_vcpus=1000))
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def ask() -> None:
        barrier.wait()
        try:
            lab.request()
            outcomes.append("admitted")
        except QuotaExceededError:
            outcomes.append("refused")

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("admitted") == 5
    assert outcomes.count("refused") == 15


def test_the_same_idempotency_key_returns_the_first_workspace_and_queues_nothing_new(lab: Lab) -> None:
    first = lab.request(key="k-1")
    again = lab.request(key="k-1")
    assert again.id == first.id
    assert len(lab.queue.sent) == 1
    with pytest.raises(ConflictError, match="different request"):
        lab.request(key="k-1", name="Another name")
    other = lab.request(lab.member(Role.CONTRIBUTOR, "dan"), key="k-1")
    assert other.id != first.id  # keys are per caller


# Actions and edits ----------------------------------------------------------------------------


def test_contributors_operate_only_their_own_workspaces_admins_all(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()
    other = lab.member(Role.CONTRIBUTOR, "otto")
    with pytest.raises(PermissionDeniedError):
        lab.act(workspace, Action.STOP, by=other)
    admin = lab.member(Role.ADMIN, "ann")
    assert lab.act(workspace, Action.STOP, by=admin).status is S.STOPPING


def test_rename_and_extend_reset_reminders_that_no_longer_apply(lab: Lab) -> None:
    workspace = lab.request()
    lab.workspaces.save(replace(lab.get(workspace.id), reminders=frozenset({"14", "3"})))
    later = lab.clock.last + timedelta(days=60)
    changed = service.update(
        lab.broker.access(lab.contributor, lab.study),
        lab.broker.studies,
        lab.workspaces,
        lab.settings,
        lab.get(workspace.id),
        name=" Renamed ",
        expires_at=later,
        now=lab.clock,
    )
    assert (changed.name, changed.expires_at, changed.reminders) == ("Renamed", later, frozenset())


def test_a_deleted_workspace_cannot_be_changed(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()
    lab.act(workspace, Action.DELETE)
    lab.run()
    with pytest.raises(ConflictError):
        service.update(
            lab.broker.access(lab.contributor, lab.study),
            lab.broker.studies,
            lab.workspaces,
            lab.settings,
            lab.get(workspace.id),
            name="x",
            now=lab.clock,
        )


def test_the_study_cannot_be_deleted_while_it_has_workspaces(lab: Lab) -> None:
    from chalicelib.services.studies.studies import delete_study

    workspace = lab.request()
    with pytest.raises(ConflictError, match="still has workspaces"):
        delete_study(lab.broker.access(lab.owner, lab.study), lab.broker.studies, now=lab.clock)
    lab.run()
    lab.act(workspace, Action.DELETE)
    lab.run()
    delete_study(lab.broker.access(lab.owner, lab.study), lab.broker.studies, now=lab.clock)


def test_usage_counts_cost_while_the_server_exists_this_month(lab: Lab) -> None:
    workspace = lab.request()  # small + 50 GB: 1.30 a day
    lab.run()
    lab.clock.last += timedelta(days=2)
    usage = service.usage(lab.broker.access(lab.contributor, lab.study), lab.workspaces, lab.settings, now=lab.clock)
    assert (usage.workspaces, usage.vcpus) == (1, 2)
    assert usage.quota == lab.settings.quota
    assert Decimal("2.59") <= usage.cost_this_month <= Decimal("2.61")
    assert workspace.id


# Catalog --------------------------------------------------------------------------------------


def test_catalog_entries_are_validated_per_kind() -> None:
    with pytest.raises(ValidationError) as raised:
        validate_item(CatalogKind.PROFILE, "p", "P", "-1", {"vcpus": 0, "image": "x"})
    assert {e.field for e in raised.value.errors} == {"price_per_day", "vcpus", "image", "flavor", "ram_gb"}
    item = validate_item(CatalogKind.STORAGE, "1tb", "1 TB", "2.5", {"size_gb": 1000})
    assert item.attributes == {"size_gb": "1000"}


def test_a_catalog_edit_never_changes_an_existing_workspace(lab: Lab) -> None:
    workspace = lab.request()
    lab.catalog.put(
        validate_item(CatalogKind.PROFILE, "small", "Small", "99", {"flavor": "x", "vcpus": 64, "ram_gb": 1})
    )
    assert lab.get(workspace.id).machine == workspace.machine
    assert (
        resolve(
            read(lab.catalog),
            profile="small",
            operating_system="rocky-9",
            storage_gb=None,
            network=None,
        ).vcpus
        == 64
    )


# Reconciler -----------------------------------------------------------------------------------


def test_a_workspace_stuck_past_its_deadline_fails_with_a_reason(lab: Lab) -> None:
    workspace = lab.request()  # its message is lost: nobody runs the queue
    report = lab.reconcile(after=timedelta(minutes=31))
    assert report.failed == [workspace.id]
    assert "stuck in REQUESTED" in lab.get(workspace.id).status_reason


def test_a_quiet_transitional_workspace_gets_a_fresh_message(lab: Lab) -> None:
    workspace = lab.request()
    lab.queue.take()  # the first message is lost
    report = lab.reconcile(after=timedelta(minutes=11))
    assert report.nudged == [workspace.id]
    lab.run()
    assert lab.status(workspace) is S.RUNNING


def test_a_running_workspace_whose_server_vanished_is_failed(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()
    lab.cloud.servers.clear()
    report = lab.reconcile()
    assert report.lost == [workspace.id]
    assert lab.get(workspace.id).status_reason == "The virtual machine disappeared from OpenStack."


def test_orphan_servers_are_reported_and_deleted_only_when_the_stage_says_so(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()
    lab.workspaces._workspaces.pop(workspace.id)
    [server] = lab.cloud.servers
    report = lab.reconcile()
    assert (report.orphans, report.orphans_deleted) == ([server], [])
    lab.settings = replace(lab.settings, delete_orphans=True)
    assert len(lab.reconcile().orphans_deleted) == 1
    assert lab.cloud.servers == {}


def test_expiry_reminds_twice_then_stops_then_deletes(lab: Lab) -> None:
    workspace = lab.request(expires_at=lab.clock.last + timedelta(days=20))
    lab.run()
    assert lab.reconcile(after=timedelta(days=7)).reminded == [workspace.id]  # 13 days left
    assert lab.reconcile().reminded == []  # once
    assert lab.reconcile(after=timedelta(days=10)).reminded == [workspace.id]  # 3 days left
    assert lab.reconcile(after=timedelta(days=4)).stopped == [workspace.id]
    lab.run()
    assert lab.status(workspace) is S.STOPPED
    assert lab.mail.events_for(workspace.id) == ["ready", "expiring", "expiring", "expired"]
    assert lab.reconcile(after=timedelta(days=8)).deleted == [workspace.id]
    lab.run()
    assert lab.status(workspace) is S.DELETED


def test_the_reconciler_survives_a_cloud_it_cannot_list(lab: Lab) -> None:
    from chalicelib.services.workspaces.cloud import CloudError

    workspace = lab.request()
    lab.run()
    lab.cloud.fail_next(CloudError("down", retryable=True))
    report = reconcile(lab.family, now=lab.clock)
    assert report.lost == []
    assert report.orphans == []
    assert lab.status(workspace) is S.RUNNING
