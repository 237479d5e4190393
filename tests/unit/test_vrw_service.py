"""VRW's reports on fakes: each event's edge, refusals, duplicates, order, races and mails."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.services.common.model import PageRequest, new_id
from chalicelib.services.workspaces.cloud import CloudError
from chalicelib.services.workspaces.lifecycle import Action, Workspace, WorkspaceEvent, WorkspaceSettings
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus as S
from chalicelib.services.workspaces.ports import DeliveryClaim
from chalicelib.services.workspaces.provisioning import handle_message
from chalicelib.services.workspaces.vrw import Access, EventType, Receipt, VrwEvent, VrwOutcome, delivery_key, receive
from chalicelib.services.workspaces.workspaces import converge_message
from tests.support.fakes_workspaces import InMemoryWorkspaces
from tests.unit.workspace_lab import Lab

ACCESS = Access("https://10.0.0.1.vrw.local/", "10.0.0.1", "ubuntu")


@pytest.fixture
def lab() -> Lab:
    return Lab(WorkspaceSettings.from_settings(Settings(vrw_enabled=True)))


def report(
    lab: Lab, kind: str, workspace: Workspace, *, at: datetime | None = None, delivery: str | None = None, **data: Any
) -> Receipt:
    """VRW reports `workspace.<kind>` about `workspace`, happening now unless `at` says otherwise."""
    event = VrwEvent(EventType(f"workspace.{kind}"), at or lab.clock.last, workspace.id, **data)
    return receive(lab.inbox, delivery or new_id(), event, now=lab.clock)


def configuring(lab: Lab) -> Workspace:
    """A workspace the broker booted and handed to VRW."""
    workspace = lab.request()
    lab.run()
    assert lab.status(workspace) is S.CONFIGURING
    return lab.get(workspace.id)


def running(lab: Lab) -> Workspace:
    workspace = configuring(lab)
    report(lab, "ready", workspace, access=ACCESS)
    return lab.get(workspace.id)


def history(lab: Lab, workspace: Workspace) -> list[WorkspaceEvent]:
    return lab.workspaces.events(workspace.id, PageRequest(limit=100)).items


def in_state(lab: Lab, status: S, *, server_id: str | None = "srv-set-up") -> Workspace:
    """A workspace put straight into `status`, as if the broker had brought it there."""
    made = lab.request()
    return lab.workspaces.save(replace(made, status=status, server_id=server_id))


def test_configuring_then_ready_runs_the_workspace_with_its_access_and_one_ready_mail(lab: Lab) -> None:
    # GIVEN a workspace the broker booted, waiting for VRW
    workspace = configuring(lab)
    assert lab.mail.events_for(workspace.id) == []

    # WHEN VRW reports configuring, then ready
    first = report(lab, "configuring", workspace)
    ready_at = lab.clock.last
    second = report(lab, "ready", workspace, access=ACCESS)

    # THEN it is RUNNING with VRW's access details, the researcher got the ready mail, and history says who
    assert first.outcome is VrwOutcome.UNCHANGED
    assert (second.outcome, second.status) == (VrwOutcome.APPLIED, S.RUNNING)
    done = lab.get(workspace.id)
    assert (done.ip, done.access_url, done.access_username) == ("10.0.0.1", "https://10.0.0.1.vrw.local/", "ubuntu")
    assert done.vrw_updated_at == ready_at
    assert done.deadline_at is None
    assert lab.mail.events_for(workspace.id) == ["ready"]
    events = history(lab, workspace)
    assert [e.status for e in events] == [S.REQUESTED, S.PROVISIONING, S.CONFIGURING, S.RUNNING]
    assert (events[-1].actor_id, events[-1].previous) == ("vrw", S.CONFIGURING)


def test_configuring_before_the_broker_saw_the_server_boot_stops_the_brokers_checks(lab: Lab) -> None:
    # GIVEN a workspace whose server was just created; the broker's first check is queued
    workspace = lab.request()
    handle_message(lab.family, converge_message(workspace), now=lab.clock)
    lab.queue._taken = 1
    assert lab.status(workspace) is S.PROVISIONING

    # WHEN VRW reports configuring first, and the broker's check arrives afterwards
    receipt = report(lab, "configuring", lab.get(workspace.id))
    calls = len(lab.cloud.calls)
    lab.run()

    # THEN VRW's move stands and the stale check did nothing
    assert (receipt.outcome, lab.status(workspace)) == (VrwOutcome.APPLIED, S.CONFIGURING)
    assert len(lab.cloud.calls) == calls
    assert lab.get(workspace.id).deadline_at == lab.get(workspace.id).updated_at + timedelta(minutes=60)


def test_failed_fails_the_workspace_with_vrws_reason_and_mails_it(lab: Lab) -> None:
    workspace = configuring(lab)

    receipt = report(lab, "failed", workspace, reason="Ansible could not install R 4.4.")

    assert (receipt.outcome, receipt.status) == (VrwOutcome.APPLIED, S.FAILED)
    assert lab.get(workspace.id).status_reason == "Ansible could not install R 4.4."
    assert lab.mail.events_for(workspace.id) == ["failed"]


def test_deleted_finishes_a_deleting_workspace_whose_server_is_gone_and_frees_its_quota(lab: Lab) -> None:
    # GIVEN a workspace being deleted whose server the broker no longer has (OpenStack said it is gone)
    workspace = running(lab)
    lab.act(workspace, Action.DELETE)
    lab.workspaces.save(replace(lab.get(workspace.id), server_id=None))
    assert lab.workspaces.usage(lab.study.id).workspaces == 1

    receipt = report(lab, "deleted", workspace)

    assert (receipt.outcome, receipt.status) == (VrwOutcome.APPLIED, S.DELETED)
    gone = lab.get(workspace.id)
    assert (gone.server_id, gone.ip, gone.access_url) == (None, None, None)
    assert gone.billing_ended_at is not None
    assert lab.workspaces.usage(lab.study.id).workspaces == 0


def test_deleted_while_the_brokers_delete_meets_a_503_keeps_deleting_until_openstack_confirms(lab: Lab) -> None:
    # GIVEN a workspace being deleted while OpenStack's compute answers 503 to the broker's delete
    workspace = running(lab)
    server_id = lab.get(workspace.id).server_id
    outage = CloudError("OpenStack compute answered 503 Service Unavailable.", retryable=True)
    lab.cloud.fail_next(outage, outage)
    lab.act(workspace, Action.DELETE)
    (message,) = lab.queue.take()
    handle_message(lab.family, message, now=lab.clock)
    assert lab.cloud.calls[-1] == "delete"
    assert (lab.status(workspace), lab.get(workspace.id).attempts) == (S.DELETING, 1)

    # WHEN VRW reports the workspace deleted meanwhile
    reported_at = lab.clock.last
    receipt = report(lab, "deleted", workspace, at=reported_at)

    # THEN it is recorded in the history but the workspace keeps its server, its pending delete and its quota
    assert (receipt.outcome, receipt.status) == (VrwOutcome.RECORDED, S.DELETING)
    deleting = lab.get(workspace.id)
    assert (deleting.status, deleting.server_id, deleting.vrw_updated_at) == (S.DELETING, server_id, reported_at)
    assert deleting.check_token != ""
    assert lab.workspaces.usage(lab.study.id).workspaces == 1
    last = history(lab, workspace)[-1]
    assert (last.actor_id, last.status, last.previous) == ("vrw", S.DELETING, S.DELETING)
    assert lab.cloud.servers_of(workspace.id) != []

    # WHEN compute recovers and the broker's retries run
    lab.run()

    # THEN the server is gone, the workspace DELETED, its quota freed, and nothing is left for the reconciler
    assert lab.status(workspace) is S.DELETED
    assert lab.cloud.servers_of(workspace.id) == []
    assert lab.workspaces.usage(lab.study.id).workspaces == 0
    assert history(lab, workspace)[-1].actor_id == "broker"
    assert lab.reconcile().orphans == []
    # AND VRW's redelivery of its event is a duplicate, and a new one finds the workspace already there
    assert report(lab, "deleted", workspace).outcome is VrwOutcome.UNCHANGED


def test_a_reconfiguration_of_a_running_workspace_gets_the_configuration_deadline(lab: Lab) -> None:
    workspace = running(lab)

    receipt = report(lab, "configuring", workspace)

    again = lab.get(workspace.id)
    assert (receipt.outcome, again.status) == (VrwOutcome.APPLIED, S.CONFIGURING)
    assert again.deadline_at == again.updated_at + timedelta(minutes=60)
    assert again.access_url == ACCESS.url  # the old access holds until VRW says ready again


@pytest.mark.parametrize(
    ("status", "kind", "data"),
    [
        (S.STOPPED, "ready", {"access": ACCESS}),
        (S.STOPPING, "ready", {"access": ACCESS}),
        (S.REQUESTED, "configuring", {}),
        (S.DELETING, "configuring", {}),
        (S.DELETING, "failed", {"reason": "broken"}),
        (S.STARTING, "failed", {"reason": "broken"}),
        (S.RUNNING, "deleted", {}),
        (S.PROVISIONING, "ready", {"access": ACCESS}),
    ],
)
def test_an_edge_vrw_may_not_take_is_409_and_changes_nothing(
    lab: Lab, status: S, kind: str, data: dict[str, Any]
) -> None:
    workspace = in_state(lab, status)
    delivery = new_id()

    with pytest.raises(ConflictError):
        report(lab, kind, workspace, delivery=delivery, **data)

    assert lab.get(workspace.id) == workspace
    assert lab.mail.events_for(workspace.id) == []
    assert lab.workspaces.ledger.claimed(delivery_key(delivery)) is None


@pytest.mark.parametrize(("status", "kind"), [(S.PROVISIONING, "configuring"), (S.FAILED, "ready")])
def test_vrw_cannot_report_on_a_workspace_without_a_virtual_machine(lab: Lab, status: S, kind: str) -> None:
    workspace = in_state(lab, status, server_id=None)

    access = ACCESS if kind == "ready" else None

    with pytest.raises(ConflictError):
        report(lab, kind, workspace, access=access)

    assert lab.get(workspace.id) == workspace


def test_an_unknown_workspace_is_404(lab: Lab) -> None:
    event = VrwEvent(EventType.CONFIGURING, lab.clock.last, new_id())

    with pytest.raises(NotFoundError):
        receive(lab.inbox, new_id(), event, now=lab.clock)


def test_a_redelivered_event_is_acknowledged_and_has_no_second_effect(lab: Lab) -> None:
    workspace = configuring(lab)
    at = lab.clock.last

    first = report(lab, "ready", workspace, at=at, delivery="msg_1", access=ACCESS)
    again = report(lab, "ready", workspace, at=at, delivery="msg_1", access=ACCESS)

    assert (first.outcome, again.outcome) == (VrwOutcome.APPLIED, VrwOutcome.DUPLICATE)
    assert lab.mail.events_for(workspace.id) == ["ready"]
    assert [e.status for e in history(lab, workspace)].count(S.RUNNING) == 1


def test_a_redelivery_after_the_workspace_moved_on_is_still_a_duplicate_not_a_conflict(lab: Lab) -> None:
    workspace = configuring(lab)
    at = lab.clock.last
    report(lab, "ready", workspace, at=at, delivery="msg_ready", access=ACCESS)
    lab.act(workspace, Action.STOP)  # STOPPING: a fresh ready would be refused now

    again = report(lab, "ready", workspace, at=at, delivery="msg_ready", access=ACCESS)

    assert (again.outcome, again.status) == (VrwOutcome.DUPLICATE, S.STOPPING)
    assert lab.mail.events_for(workspace.id) == ["ready"]


def test_another_event_under_a_used_webhook_id_is_409_and_changes_nothing(lab: Lab) -> None:
    workspace = configuring(lab)
    report(lab, "configuring", workspace, delivery="msg_once")
    report(lab, "ready", workspace, delivery="msg_ready", access=ACCESS)
    before = lab.get(workspace.id)

    with pytest.raises(ConflictError, match="id of its own"):
        report(lab, "failed", workspace, delivery="msg_ready", reason="not the same event")
    with pytest.raises(ConflictError, match="id of its own"):
        report(lab, "ready", workspace, delivery="msg_once", access=ACCESS)

    assert lab.get(workspace.id) == before
    assert lab.mail.events_for(workspace.id) == ["ready"]


def test_a_refused_delivery_is_not_remembered_so_its_redelivery_can_apply(lab: Lab) -> None:
    # GIVEN a ready that arrives while the workspace is still PROVISIONING (refused)
    workspace = in_state(lab, S.PROVISIONING)
    at = lab.clock.last
    with pytest.raises(ConflictError):
        report(lab, "ready", workspace, at=at, delivery="msg_early", access=ACCESS)

    # WHEN the broker hands it to VRW, and VRW's sender delivers the same message again
    lab.workspaces.save(replace(lab.get(workspace.id), status=S.CONFIGURING))
    again = report(lab, "ready", workspace, at=at, delivery="msg_early", access=ACCESS)

    # THEN it applies
    assert (again.outcome, again.status) == (VrwOutcome.APPLIED, S.RUNNING)


def test_an_event_older_than_the_last_vrw_report_is_acknowledged_and_ignored(lab: Lab) -> None:
    workspace = configuring(lab)
    configuring_at = lab.clock.last
    ready_at = configuring_at + timedelta(seconds=30)
    report(lab, "ready", workspace, at=ready_at, access=ACCESS)
    lab.act(workspace, Action.STOP)
    lab.run()
    assert lab.status(workspace) is S.STOPPED

    # WHEN the configuring event VRW sent before its ready arrives late
    late = report(lab, "configuring", workspace, at=configuring_at)

    # THEN it is acknowledged and the workspace stays where it is
    assert (late.outcome, late.status) == (VrwOutcome.STALE, S.STOPPED)
    assert lab.status(workspace) is S.STOPPED


def test_a_late_ready_rescues_a_workspace_whose_configuration_deadline_failed_it(lab: Lab) -> None:
    workspace = configuring(lab)
    lab.reconcile(after=timedelta(minutes=61))
    assert lab.status(workspace) is S.FAILED

    receipt = report(lab, "ready", workspace, access=ACCESS)

    assert (receipt.outcome, receipt.status) == (VrwOutcome.APPLIED, S.RUNNING)
    assert lab.get(workspace.id).status_reason == ""
    assert lab.mail.events_for(workspace.id) == ["failed", "ready"]


def test_a_failure_reported_for_an_already_failed_workspace_sends_no_second_mail(lab: Lab) -> None:
    workspace = configuring(lab)
    report(lab, "failed", workspace, reason="first")

    receipt = report(lab, "failed", workspace, reason="second")

    assert receipt.outcome is VrwOutcome.UNCHANGED
    assert lab.get(workspace.id).status_reason == "first"
    assert lab.mail.events_for(workspace.id) == ["failed"]


class InterruptedWorkspaces(InMemoryWorkspaces):
    """Someone else writes the workspace just before each of the next `interruptions` moves."""

    interruptions = 1

    def move(
        self,
        workspace: Workspace,
        event: WorkspaceEvent,
        audit: Any = None,
        claim: DeliveryClaim | None = None,
    ) -> Workspace:
        if self.interruptions:
            self.interruptions -= 1
            current = self.get(workspace.id)
            assert current is not None
            self.save(replace(current, name="Renamed meanwhile"))
        return super().move(workspace, event, audit, claim)


def test_a_workspace_written_meanwhile_is_read_again_and_the_event_applied() -> None:
    lab = Lab(WorkspaceSettings.from_settings(Settings(vrw_enabled=True)))
    lab.workspaces = InterruptedWorkspaces(lab.broker.studies)
    lab.workspaces.interruptions = 0
    workspace = configuring(lab)
    lab.workspaces.interruptions = 1

    receipt = report(lab, "ready", workspace, access=ACCESS)

    assert (receipt.outcome, receipt.status) == (VrwOutcome.APPLIED, S.RUNNING)
    assert lab.get(workspace.id).name == "Renamed meanwhile"
    assert lab.mail.events_for(workspace.id) == ["ready"]


def test_a_workspace_that_keeps_changing_is_a_409_to_deliver_again() -> None:
    lab = Lab(WorkspaceSettings.from_settings(Settings(vrw_enabled=True)))
    lab.workspaces = InterruptedWorkspaces(lab.broker.studies)
    lab.workspaces.interruptions = 0
    workspace = configuring(lab)
    lab.workspaces.interruptions = 3

    with pytest.raises(ConflictError, match="deliver it again"):
        report(lab, "ready", workspace, delivery="msg_busy", access=ACCESS)

    assert lab.status(workspace) is S.CONFIGURING
    assert lab.workspaces.ledger.claimed(delivery_key("msg_busy")) is None


def test_the_same_delivery_three_times_at_once_applies_once(lab: Lab) -> None:
    workspace = configuring(lab)
    at = lab.clock.last
    barrier = threading.Barrier(3)
    receipts: list[Receipt] = []

    def deliver() -> None:
        barrier.wait()
        receipts.append(report(lab, "ready", workspace, at=at, delivery="msg_same", access=ACCESS))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.outcome for r in receipts) == [VrwOutcome.APPLIED, VrwOutcome.DUPLICATE, VrwOutcome.DUPLICATE]
    assert lab.mail.events_for(workspace.id) == ["ready"]


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("ready", {}, "data.access"),
        ("ready", {"access": Access("ftp://host/", "10.0.0.1", "u")}, "data.access.url"),
        ("ready", {"access": Access("https://[::1/", "10.0.0.1", "u")}, "data.access.url"),
        ("ready", {"access": Access("https://host/", "10.0.0.300", "u")}, "data.access.ip"),
        ("ready", {"access": ACCESS, "reason": "why"}, "data.reason"),
        ("failed", {}, "data.reason"),
        ("failed", {"reason": "   "}, "data.reason"),
        ("configuring", {"access": ACCESS}, "data.access"),
    ],
)
def test_an_event_missing_or_misplacing_its_data_is_422(lab: Lab, kind: str, data: dict[str, Any], field: str) -> None:
    workspace = configuring(lab)

    with pytest.raises(ValidationError) as refused:
        report(lab, kind, workspace, **data)

    assert field in {error.field for error in refused.value.errors}
    assert lab.status(workspace) is S.CONFIGURING


@pytest.mark.parametrize(
    "at", [lambda now: now + timedelta(minutes=6), lambda now: now.replace(tzinfo=None)], ids=["future", "naive"]
)
def test_an_event_time_in_the_future_or_without_offset_is_422(lab: Lab, at: Any) -> None:
    workspace = configuring(lab)

    with pytest.raises(ValidationError) as refused:
        report(lab, "configuring", workspace, at=at(lab.clock.last))

    assert [error.field for error in refused.value.errors] == ["timestamp"]


def test_a_ready_mail_lost_to_a_crash_after_vrws_report_is_owed_and_queued_by_the_reconciler(lab: Lab) -> None:
    # GIVEN a workspace VRW is configuring, and a mail queue that fails once (the function dies after the move)
    workspace = configuring(lab)
    sent = lab.mail.send
    lab.mail.send = lambda message: (_ for _ in ()).throw(RuntimeError("killed"))  # type: ignore[method-assign]
    delivery, at = new_id(), lab.clock.last

    # WHEN VRW reports ready: the answer is an error, so VRW delivers it again
    with pytest.raises(RuntimeError):
        report(lab, "ready", workspace, access=ACCESS, delivery=delivery, at=at)
    lab.mail.send = sent  # type: ignore[method-assign]
    again = report(lab, "ready", workspace, access=ACCESS, delivery=delivery, at=at)

    # THEN the move happened once, the redelivery is a duplicate, and the mail is owed until the reconciler
    assert (again.outcome, lab.status(workspace)) == (VrwOutcome.DUPLICATE, S.RUNNING)
    assert lab.mail.events_for(workspace.id) == []
    assert lab.reconcile(after=lab.settings.nudge_after).owed_mails == [workspace.id]
    assert lab.mail.events_for(workspace.id) == ["ready"]
    assert lab.get(workspace.id).notice is None
