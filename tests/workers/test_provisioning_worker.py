"""The provisioning family as Lambda runs it: SQS batches, DynamoDB (moto), and openstacksdk talking HTTP
to the local OpenStack with its fault knobs turned up."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.app import SQSEvent

from chalicelib.config import Settings
from chalicelib.logs import bound_request_id, current_request_id
from chalicelib.providers.openstack import OpenStackCloud, OpenStackConfig
from chalicelib.services.messages import ProvisioningMessage, encode
from chalicelib.services.workspaces import workspaces as service
from chalicelib.services.workspaces.cloud import CloudError, CloudServer, ServerSpec
from chalicelib.services.workspaces.lifecycle import WorkspaceSettings, WorkspaceStatus
from chalicelib.services.workspaces.provisioning import Family, handle_message
from chalicelib.services.workspaces.reconciler import reconcile
from chalicelib.wiring import Dependencies
from chalicelib.workers.provisioning import handle_provisioning_batch
from tests.conftest import RecordingMailQueue, StudyCast
from tests.support.fakes_workspaces import FakeCloud, RecordingProvisioningQueue
from vre_app.local.openstack import Knobs, LocalOpenStack

pytestmark = pytest.mark.xdist_group("local-openstack")
S = WorkspaceStatus


def sqs_event(*bodies: str) -> SQSEvent:
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "r",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:vre-provisioning",
            "awsRegion": "eu-west-1",
        }
        for body in bodies
    ]
    return SQSEvent({"Records": records}, None)


@dataclass
class Wired:
    provisioning: Family


def test_a_batch_drops_what_can_never_succeed_and_reports_what_failed(deps: Dependencies, cast: StudyCast) -> None:
    family = Family(
        deps.workspaces,
        FakeCloud(),
        RecordingProvisioningQueue(),
        RecordingMailQueue(),
        WorkspaceSettings.from_settings(Settings()),
    )
    workspace = service.request_workspace(
        deps.access.load(cast.contributor.id, "none#none", cast.study_id),
        deps.studies,
        deps.catalog,
        deps.workspaces,
        family.queue,
        family.settings,
        service.WorkspaceRequest(name="Box", profile="small", operating_system="rocky-9"),
    )

    class Exploding(RecordingProvisioningQueue):
        def send(self, message: ProvisioningMessage, *, delay_seconds: int = 0) -> None:
            raise RuntimeError("SQS is down")

    broken = Family(family.workspaces, family.cloud, Exploding(), family.mail, family.settings)
    event = sqs_event(
        "not json",
        json.dumps([1, 2]),
        json.dumps({"workspace_id": 7}),
        json.dumps({"kind": "converge", "workspace_id": workspace.id}),
    )

    answer = handle_provisioning_batch(event, Wired(broken))

    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed == [event.to_dict()["Records"][3]["messageId"]]  # only the one that can succeed later


@dataclass
class SimulatedTime:
    """One clock for the broker and the local OpenStack, moved by the messages' delays."""

    seconds: float = 0.0
    start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)


@pytest.fixture
def faulty_openstack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalOpenStack, SimulatedTime]]:
    time = SimulatedTime()
    knobs = Knobs(boot_seconds=20, error_rate=0.3, server_error_rate=0.1)
    with LocalOpenStack(port=0, knobs=knobs, seed=11, clock=time.monotonic) as cloud:
        clouds_yaml = tmp_path / "clouds.yaml"
        cloud.write_clouds_yaml(clouds_yaml)
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_yaml))
        yield cloud, time


def test_thirty_percent_faults_over_a_hundred_requests_leave_every_workspace_settled_and_one_server_each(
    deps: Dependencies, cast: StudyCast, faulty_openstack: tuple[LocalOpenStack, SimulatedTime]
) -> None:
    openstack, time = faulty_openstack
    queue, mail = RecordingProvisioningQueue(), RecordingMailQueue()
    settings = WorkspaceSettings.from_settings(
        Settings(workspace_quota_workspaces=1000, workspace_quota_vcpus=100_000, workspace_max_attempts=4)
    )
    cloud = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=5))
    family = Family(deps.workspaces, cloud, queue, mail, settings)
    access = deps.access.load(cast.contributor.id, "none#none", cast.study_id)
    requested = [
        service.request_workspace(
            access,
            deps.studies,
            deps.catalog,
            deps.workspaces,
            queue,
            settings,
            service.WorkspaceRequest(name=f"box {n}", profile="small", operating_system="rocky-9"),
            now=time.now,
        )
        for n in range(100)
    ]

    # Each message is delivered twice (at least once means sometimes more), in delay order.
    handled = 0
    while (pending := queue.sent[queue._taken :]) and handled < 5000:
        queue._taken += 1
        message, delay = pending[0]
        time.seconds += delay
        for _copy in range(2):
            handle_message(family, message, now=time.now)
        handled += 1
    # The faults also hit some clean-ups of failed workspaces' servers; the reconciler finishes them.
    openstack.state.set_knobs({"error_rate": 0.0})
    report = reconcile(family, now=time.now)
    cloud.close()

    outcomes = [deps.workspaces.get(w.id) for w in requested]
    servers: dict[str, list[str]] = {}
    for server in openstack.state.servers.values():
        servers.setdefault(server_workspace(server), []).append(server.id)
    assert all(w is not None and w.status in (S.RUNNING, S.FAILED) for w in outcomes)
    for workspace in outcomes:
        assert workspace is not None
        if workspace.status is S.FAILED:
            assert workspace.status_reason, workspace
            assert servers.get(workspace.id, []) == [], workspace.status_reason
        else:
            assert servers.get(workspace.id) == [workspace.server_id]
    running = sum(1 for w in outcomes if w is not None and w.status is S.RUNNING)
    print(
        f"\n{running} RUNNING, {100 - running} FAILED after {handled} messages (each delivered twice);"
        f" the reconciler cleaned up {len(report.cleaned)} servers"
    )
    assert running >= 50


def server_workspace(server: Any) -> str:
    metadata = getattr(server, "metadata", {}) or {}
    return str(metadata.get("vre_workspace_id", ""))


class Killed(BaseException):
    """What a Lambda killed mid-batch looks like from inside: nothing after it runs, nothing is acknowledged."""


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing_and_duplicates_nothing(
    deps: Dependencies, cast: StudyCast
) -> None:
    cloud, queue = FakeCloud(), RecordingProvisioningQueue()
    settings = WorkspaceSettings.from_settings(
        Settings(workspace_quota_workspaces=1000, workspace_quota_vcpus=100_000, workspace_first_check_seconds=0)
    )
    family = Family(deps.workspaces, cloud, queue, RecordingMailQueue(), settings)
    access = deps.access.load(cast.contributor.id, "none#none", cast.study_id)
    made = [
        service.request_workspace(
            access,
            deps.studies,
            deps.catalog,
            deps.workspaces,
            queue,
            settings,
            service.WorkspaceRequest(name=f"box {n}", profile="small", operating_system="rocky-9"),
        )
        for n in range(5)
    ]
    batch = sqs_event(*(encode(message) for message in queue.take()))
    real_create = cloud.create_server
    creates = 0

    def create_then_die(spec):  # type: ignore[no-untyped-def]
        nonlocal creates
        creates += 1
        server = real_create(spec)
        if creates == 3:
            raise Killed  # the third server exists, but the worker never records it
        return server

    cloud.create_server = create_then_die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        handle_provisioning_batch(batch, Wired(family))

    # SQS hands the whole unacknowledged batch out again after its visibility timeout (6 minutes), by
    # which time the creating worker's 2-minute lease has run out.
    for workspace in made:
        stored = deps.workspaces.get(workspace.id)
        assert stored is not None
        if stored.lease_until is not None:
            deps.workspaces.save(replace(stored, lease_until=stored.lease_until - timedelta(minutes=6)))
    cloud.create_server = real_create  # type: ignore[method-assign]
    assert handle_provisioning_batch(batch, Wired(family)) == {"batchItemFailures": []}
    while waiting := queue.take():
        handle_provisioning_batch(sqs_event(*(encode(m) for m in waiting)), Wired(family))

    for workspace in made:
        stored = deps.workspaces.get(workspace.id)
        assert stored is not None
        assert stored.status is S.RUNNING
        assert len(cloud.servers_of(workspace.id)) == 1


def test_the_checks_a_step_queues_keep_the_request_id_of_the_message_that_began_it(
    deps: Dependencies, cast: StudyCast, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a workspace requested in an API request with id api-request-0001
    queue = RecordingProvisioningQueue()
    family = Family(
        deps.workspaces, FakeCloud(), queue, RecordingMailQueue(), WorkspaceSettings.from_settings(Settings())
    )
    with bound_request_id("api-request-0001"):
        service.request_workspace(
            deps.access.load(cast.contributor.id, "none#none", cast.study_id),
            deps.studies,
            deps.catalog,
            deps.workspaces,
            queue,
            family.settings,
            service.WorkspaceRequest(name="Box", profile="small", operating_system="rocky-9"),
        )
    (converge,) = queue.take()
    assert converge.request_id == "api-request-0001"

    # WHEN the worker takes the step (outside any request of its own)
    caplog.set_level(logging.INFO, logger="chalicelib.metrics")
    handle_provisioning_batch(sqs_event(encode(converge)), Wired(family))

    # THEN the check it queued for later carries the same id, and so does the step's metric line
    (check,) = queue.take()
    assert (check.type, check.request_id) == ("check", "api-request-0001")
    assert current_request_id() == ""


def test_provisioning_outcomes_are_counted_by_action(
    deps: Dependencies, cast: StudyCast, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a workspace whose create is refused by the cloud once, then works
    cloud, queue = FakeCloud(), RecordingProvisioningQueue()
    settings = WorkspaceSettings.from_settings(
        Settings(workspace_first_check_seconds=0, workspace_check_interval_seconds=0)
    )
    family = Family(deps.workspaces, cloud, queue, RecordingMailQueue(), settings)
    service.request_workspace(
        deps.access.load(cast.contributor.id, "none#none", cast.study_id),
        deps.studies,
        deps.catalog,
        deps.workspaces,
        queue,
        settings,
        service.WorkspaceRequest(name="Box", profile="small", operating_system="rocky-9"),
    )
    real_create = cloud.create_server
    refusals = iter([CloudError("Nova is busy", retryable=True)])

    def flaky(spec: ServerSpec) -> CloudServer:
        error = next(refusals, None)
        if error is not None:
            raise error
        return real_create(spec)

    cloud.create_server = flaky  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="chalicelib.metrics")

    # WHEN the worker runs until the workspace is at rest
    while waiting := queue.take():
        handle_provisioning_batch(sqs_event(*(encode(m) for m in waiting)), Wired(family))

    # THEN one retried and one succeeded create were counted, as EMF documents
    counted = [r for r in caplog.records if r.name == "chalicelib.metrics"]
    names = [(next(m["Name"] for m in r._aws["CloudWatchMetrics"][0]["Metrics"]), r.Action) for r in counted]  # type: ignore[attr-defined]
    assert names == [("WorkspaceStepRetried", "create"), ("WorkspaceStepSucceeded", "create")]
