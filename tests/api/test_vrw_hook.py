"""`POST /hooks/vrw` over HTTP, on moto: VRW's events move workspaces, once, in order, with their mails."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.test import Client

from chalicelib.services.workspaces.lifecycle import WorkspaceStatus
from chalicelib.services.workspaces.workspaces import WorkspaceRequest, request_workspace
from chalicelib.wiring import Dependencies
from tests.api.test_bad_input import assert_problem
from tests.conftest import VRW_SECRET, RecordingMailQueue, StudyCast
from tests.support.api import call, snapshot
from tests.support.vrw import event_body, signed_headers
from vre_app.local.vrw import LocalVrw, VrwKnobs

ACCESS = {"url": "https://10.1.2.3.vrw.local/", "ip": "10.1.2.3", "username": "ubuntu"}


def workspace_in(
    deps: Dependencies, cast: StudyCast, status: WorkspaceStatus, *, server_id: str | None = "srv-vrw"
) -> str:
    """The contributor's workspace, put straight into `status` with a server (as if the broker had booted it)."""
    made = request_workspace(
        deps.access.load(cast.contributor.id, "none#none", cast.study_id),
        deps.studies,
        deps.catalog,
        deps.workspaces,
        deps.provisioning_queue,
        deps.workspace_settings,
        WorkspaceRequest(name="VRW box", profile="small", operating_system="ubuntu-2404"),
    )
    deps.workspaces.save(replace(made, status=status, server_id=server_id, ip="10.1.2.3"))
    return made.id


def post(client: Client, body: bytes, *, webhook_id: str | None = None, **headers: str) -> tuple[int, Any]:
    """Deliver `body` signed as VRW signs it."""
    all_headers = {**signed_headers(body=body, webhook_id=webhook_id), **headers}
    status, payload, _ = call(client, "POST", "/hooks/vrw", headers=all_headers, raw=body)
    return status, payload


def mails_about(mail_queue: RecordingMailQueue, workspace_id: str) -> list[str]:
    return [m["event"] for m in mail_queue.messages if m.get("workspace_id") == workspace_id]


def test_configuring_then_ready_runs_the_workspace_with_its_access_and_queues_the_ready_mail(
    client: Client, deps: Dependencies, cast: StudyCast, mail_queue: RecordingMailQueue
) -> None:
    # GIVEN a workspace the broker booted and handed to VRW
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)

    # WHEN VRW reports configuring, then ready
    first = post(client, event_body("configuring", workspace_id))
    second = post(client, event_body("ready", workspace_id, access=ACCESS))

    # THEN both are acknowledged, the workspace runs with VRW's access details, and the ready mail is queued
    assert first == (200, {"outcome": "unchanged", "workspace_id": workspace_id, "status": "CONFIGURING"})
    assert second == (200, {"outcome": "applied", "workspace_id": workspace_id, "status": "RUNNING"})
    status, workspace, _ = call(client, "GET", f"/workspaces/{workspace_id}", headers=cast.viewer.headers)
    assert status == 200
    assert (workspace["status"], workspace["access"]) == ("RUNNING", ACCESS)
    _, events, _ = call(client, "GET", f"/workspaces/{workspace_id}/events", headers=cast.viewer.headers)
    assert (events["items"][-1]["status"], events["items"][-1]["actor_id"]) == ("RUNNING", "vrw")
    assert mails_about(mail_queue, workspace_id) == ["ready"]


def test_failed_fails_the_workspace_with_the_reason_and_queues_the_failed_mail(
    client: Client, deps: Dependencies, cast: StudyCast, mail_queue: RecordingMailQueue
) -> None:
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)

    status, receipt = post(client, event_body("failed", workspace_id, reason="The R packages did not install."))

    assert (status, receipt["status"]) == (200, "FAILED")
    _, workspace, _ = call(client, "GET", f"/workspaces/{workspace_id}", headers=cast.viewer.headers)
    assert workspace["status_reason"] == "The R packages did not install."
    assert mails_about(mail_queue, workspace_id) == ["failed"]


def test_deleted_finishes_a_deleting_workspace_whose_server_is_gone_and_frees_the_quota(
    client: Client, deps: Dependencies, cast: StudyCast
) -> None:
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.DELETING, server_id=None)
    _, before, _ = call(client, "GET", f"/studies/{cast.study_id}/usage", headers=cast.viewer.headers)

    status, receipt = post(client, event_body("deleted", workspace_id))

    assert (status, receipt["outcome"], receipt["status"]) == (200, "applied", "DELETED")
    _, after, _ = call(client, "GET", f"/studies/{cast.study_id}/usage", headers=cast.viewer.headers)
    assert after["workspaces"] == before["workspaces"] - 1


def test_deleted_while_the_broker_still_deletes_the_server_is_recorded_and_keeps_it_deleting(
    client: Client, deps: Dependencies, cast: StudyCast
) -> None:
    # GIVEN a workspace the broker is deleting, whose server OpenStack has not confirmed gone
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.DELETING)
    _, before, _ = call(client, "GET", f"/studies/{cast.study_id}/usage", headers=cast.viewer.headers)

    # WHEN VRW reports it deleted
    status, receipt = post(client, event_body("deleted", workspace_id))

    # THEN the report is acknowledged and in the history, but the workspace keeps its server and its quota
    assert (status, receipt["outcome"], receipt["status"]) == (200, "recorded", "DELETING")
    stored = deps.workspaces.get(workspace_id)
    assert stored is not None
    assert (stored.status, stored.server_id) == (WorkspaceStatus.DELETING, "srv-vrw")
    _, after, _ = call(client, "GET", f"/studies/{cast.study_id}/usage", headers=cast.viewer.headers)
    assert after["workspaces"] == before["workspaces"]
    _, events, _ = call(client, "GET", f"/workspaces/{workspace_id}/events", headers=cast.viewer.headers)
    assert (events["items"][-1]["status"], events["items"][-1]["actor_id"]) == ("DELETING", "vrw")


def test_a_redelivered_event_answers_200_and_writes_nothing_more(
    client: Client, deps: Dependencies, cast: StudyCast, mail_queue: RecordingMailQueue
) -> None:
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)
    body = event_body("ready", workspace_id, access=ACCESS)
    assert post(client, body, webhook_id="msg_redelivered")[0] == 200
    before = snapshot()

    # WHEN VRW's sender delivers it again (a later attempt: a new timestamp and signature, the same id)
    status, receipt = post(client, body, webhook_id="msg_redelivered")

    assert (status, receipt["outcome"]) == (200, "duplicate")
    assert snapshot() == before
    assert mails_about(mail_queue, workspace_id) == ["ready"]


def test_an_event_older_than_the_last_vrw_report_answers_200_and_is_ignored(
    client: Client, deps: Dependencies, cast: StudyCast
) -> None:
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)
    now = datetime.now(UTC)
    post(client, event_body("ready", workspace_id, at=now, access=ACCESS))

    status, receipt = post(client, event_body("configuring", workspace_id, at=now - timedelta(seconds=20)))

    assert (status, receipt["outcome"], receipt["status"]) == (200, "stale", "RUNNING")


@pytest.mark.parametrize(
    ("status", "kind", "data"),
    [
        (WorkspaceStatus.STOPPED, "ready", {"access": ACCESS}),
        (WorkspaceStatus.DELETING, "configuring", {}),
        (WorkspaceStatus.RUNNING, "deleted", {}),
        (WorkspaceStatus.STOPPING, "failed", {"reason": "broken"}),
    ],
)
def test_an_edge_the_state_machine_does_not_allow_is_409_and_writes_nothing(
    client: Client, deps: Dependencies, cast: StudyCast, status: WorkspaceStatus, kind: str, data: dict[str, Any]
) -> None:
    workspace_id = workspace_in(deps, cast, status)
    before = snapshot()

    answer, payload = post(client, event_body(kind, workspace_id, **data))

    assert answer == 409, payload
    assert payload["title"] == "Conflict"
    assert snapshot() == before


def test_another_event_under_a_used_webhook_id_is_409_and_writes_nothing(
    client: Client, deps: Dependencies, cast: StudyCast
) -> None:
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)
    assert post(client, event_body("ready", workspace_id, access=ACCESS), webhook_id="msg_reused")[0] == 200
    before = snapshot()

    status, payload = post(client, event_body("failed", workspace_id, reason="other"), webhook_id="msg_reused")

    assert status == 409, payload
    assert snapshot() == before


# (raw body, expected status, field named in `errors` if any); each is signed correctly.
BAD_EVENTS: list[tuple[bytes, int, str | None]] = [
    (b'{"type": "workspace.ready", "timestamp": ', 400, None),
    (b"", 400, None),
    (b"[]", 422, "body"),
    (event_body("Rebooted!", "{id}"), 422, "type"),
    (b'{"type": "", "timestamp": "2025-01-01T10:00:00Z", "data": {"workspace_id": "{id}"}}', 422, "type"),
    (b'{"type": 7, "timestamp": "2025-01-01T10:00:00Z", "data": {"workspace_id": "{id}"}}', 422, "type"),
    (event_body("rebooted", "{id}", colour="red"), 422, "data.colour"),
    (event_body("ready", "{id}"), 422, "data.access"),
    (event_body("ready", "{id}", access={**ACCESS, "ip": "not-an-ip"}), 422, "data.access.ip"),
    (event_body("ready", "{id}", access={**ACCESS, "url": "javascript:alert(1)"}), 422, "data.access.url"),
    (event_body("ready", "{id}", access={**ACCESS, "username": "root; rm -rf /"}), 422, "data.access.username"),
    (event_body("failed", "{id}"), 422, "data.reason"),
    (event_body("failed", "{id}", reason="x" * 2001), 422, "data.reason"),
    (event_body("configuring", "{id}", colour="red"), 422, "data.colour"),
    (event_body("configuring", "{id}", at=datetime.now(UTC) + timedelta(hours=1)), 422, "timestamp"),
    (
        b'{"type": "workspace.configuring", "timestamp": "2025-01-01T10:00:00", "data": {"workspace_id": "{id}"}}',
        422,
        "timestamp",
    ),
    (event_body("configuring", "../../etc/passwd"), 422, "data.workspace_id"),
]


# Ids by position and expected field: the bodies carry the time, and xdist workers must collect the same ids.
@pytest.mark.parametrize(
    ("raw", "expected", "field"),
    BAD_EVENTS,
    ids=[f"{n}-{status}-{field}" for n, (_, status, field) in enumerate(BAD_EVENTS)],
)
def test_a_bad_event_under_a_good_signature_is_refused_and_writes_nothing(
    client: Client, deps: Dependencies, cast: StudyCast, raw: bytes, expected: int, field: str | None
) -> None:
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)
    body = raw.replace(b"{id}", workspace_id.encode())
    before = snapshot()

    status, payload, headers = call(client, "POST", "/hooks/vrw", headers=signed_headers(body=body), raw=body)

    assert_problem(status, payload, headers, expected)
    if field is not None:
        assert field in {error["field"] for error in payload["errors"]}, payload
    assert snapshot() == before


@pytest.mark.parametrize("workspace", ["mine", "unknown"])
def test_an_event_type_the_broker_does_not_know_is_acknowledged_ignored_and_counted(
    client: Client, deps: Dependencies, cast: StudyCast, caplog: pytest.LogCaptureFixture, workspace: str
) -> None:
    # GIVEN VRW sends a type added after this release (Standard Webhooks senders retry any non-2xx for days)
    caplog.set_level(logging.INFO, logger="chalicelib.metrics")
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.RUNNING) if workspace == "mine" else "0" * 32
    before = snapshot()

    status, receipt = post(client, event_body("rebooted", workspace_id))

    # THEN it is answered 200 so VRW stops retrying, changes nothing, and shows on the HookIgnored metric
    assert (status, receipt) == (200, {"outcome": "ignored", "workspace_id": workspace_id, "status": None})
    assert snapshot() == before
    ignored = [r for r in caplog.records if r.name == "chalicelib.metrics" and "HookIgnored" in r.__dict__]
    assert [(r.Hook, r.Reason) for r in ignored] == [("vrw", "unknown-type")]  # type: ignore[attr-defined]


def test_an_unknown_workspace_is_404_and_writes_nothing(client: Client, deps: Dependencies) -> None:
    before = snapshot()

    status, payload = post(client, event_body("configuring", "0" * 32))

    assert status == 404, payload
    assert snapshot() == before


def test_the_local_vrw_takes_a_handed_over_workspace_to_running_through_the_hook(
    client: Client, deps: Dependencies, cast: StudyCast, mail_queue: RecordingMailQueue
) -> None:
    # GIVEN a workspace the broker handed to VRW, and the local stack's VRW posting through the app
    workspace_id = workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)

    def through_the_app(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        status, _, _ = call(client, "POST", urlsplit(url).path, headers=dict(headers), raw=body)
        return status

    local = LocalVrw(
        "http://api.test", VRW_SECRET, deps.workspaces, knobs=VrwKnobs(configure_seconds=0), post=through_the_app
    )

    # WHEN it looks twice (configuring, then ready)
    local.poll_once()
    local.poll_once()

    # THEN the workspace runs with the stand-in's access details, and its owner's ready mail is queued
    assert (workspace_id, "workspace.ready") in local.reported
    _, workspace, _ = call(client, "GET", f"/workspaces/{workspace_id}", headers=cast.viewer.headers)
    assert workspace["status"] == "RUNNING"
    assert workspace["access"] == {"url": "https://10.1.2.3.vrw.local/", "ip": "10.1.2.3", "username": "ubuntu"}
    assert mails_about(mail_queue, workspace_id) == ["ready"]
