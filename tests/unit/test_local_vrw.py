"""The local VRW on fakes: what it posts, when, signed how, and what it does when the broker does not answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.auth.webhooks import parse_secrets, verify
from chalicelib.config import Settings
from chalicelib.services.workspaces.lifecycle import Workspace, WorkspaceSettings
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus as S
from tests.conftest import VRW_SECRET
from tests.unit.workspace_lab import Lab
from vre_app.local.vrw import LocalVrw, VrwKnobs, VrwKnobsError, knobs_from_environ


@dataclass
class Broker:
    """The broker's hook as the stand-in sees it: answers `statuses` in turn (then 200), keeps what it got."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        assert url == "http://127.0.0.1:8000/hooks/vrw"
        delivery = verify(parse_secrets(VRW_SECRET), headers, body, datetime.now(UTC))
        self.received.append({"id": delivery.webhook_id, **json.loads(body)})
        return self.statuses.pop(0) if self.statuses else 200

    def types(self) -> list[str]:
        return [event["type"] for event in self.received]


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@dataclass
class Bench:
    lab: Lab
    broker: Broker
    clock: Clock
    vrw: LocalVrw


def bench(knobs: VrwKnobs | None = None) -> Bench:
    lab = Lab(WorkspaceSettings.from_settings(Settings(vrw_enabled=True)))
    broker, clock = Broker(), Clock()
    vrw = LocalVrw(
        "http://127.0.0.1:8000/", VRW_SECRET, lab.workspaces, knobs=knobs or VrwKnobs(), post=broker, clock=clock
    )
    return Bench(lab, broker, clock, vrw)


def handed_to_vrw(lab: Lab) -> Workspace:
    workspace = lab.request()
    lab.run()
    found = lab.get(workspace.id)
    assert found.status is S.CONFIGURING
    return found


def test_it_reports_configuring_then_ready_with_the_access_details_signed_with_the_stage_secret() -> None:
    b = bench(VrwKnobs(configure_seconds=2))
    workspace = handed_to_vrw(b.lab)

    b.vrw.poll_once()
    b.clock.seconds = 1
    b.vrw.poll_once()
    assert b.broker.types() == ["workspace.configuring"]  # still configuring
    b.clock.seconds = 2
    b.vrw.poll_once()

    configuring, ready = b.broker.received
    assert ready["type"] == "workspace.ready"
    assert ready["data"] == {
        "workspace_id": workspace.id,
        "access": {"url": f"https://{workspace.ip}.vrw.local/", "ip": workspace.ip, "username": "ubuntu"},
    }
    assert configuring["id"] != ready["id"]
    assert datetime.fromisoformat(configuring["timestamp"]) <= datetime.fromisoformat(ready["timestamp"])


def test_with_a_failure_set_it_reports_failed_with_that_reason() -> None:
    b = bench(VrwKnobs(configure_seconds=0, failure="Ansible broke (injected)."))
    workspace = handed_to_vrw(b.lab)

    b.vrw.poll_once()
    b.vrw.poll_once()

    assert b.broker.types() == ["workspace.configuring", "workspace.failed"]
    assert b.broker.received[1]["data"] == {"workspace_id": workspace.id, "reason": "Ansible broke (injected)."}


def test_an_unanswered_delivery_is_sent_again_with_the_same_webhook_id_and_time() -> None:
    b = bench(VrwKnobs(configure_seconds=0))
    handed_to_vrw(b.lab)
    b.broker.statuses = [0, 503]

    for _ in range(4):
        b.vrw.poll_once()

    first, second, third, ready = b.broker.received
    assert [first["id"], first["timestamp"]] == [second["id"], second["timestamp"]] == [third["id"], third["timestamp"]]
    assert ready["type"] == "workspace.ready"


def test_a_refused_delivery_is_given_up() -> None:
    b = bench(VrwKnobs(configure_seconds=0))
    handed_to_vrw(b.lab)
    b.broker.statuses = [409]

    for _ in range(3):
        b.vrw.poll_once()

    assert b.broker.types() == ["workspace.configuring"]


def test_only_configuring_workspaces_are_reported_and_a_new_configuration_is_a_new_job() -> None:
    b = bench(VrwKnobs(configure_seconds=0))
    workspace = handed_to_vrw(b.lab)
    b.lab.workspaces.save(replace(b.lab.get(workspace.id), status=S.RUNNING))

    b.vrw.poll_once()
    assert b.broker.received == []

    # WHEN it is handed to VRW again later (a reconfiguration)
    again = b.lab.get(workspace.id)
    b.lab.workspaces.save(replace(again, status=S.CONFIGURING, updated_at=b.lab.clock()))
    b.vrw.poll_once()
    b.vrw.poll_once()

    assert b.broker.types() == ["workspace.configuring", "workspace.ready"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, VrwKnobs()),
        (
            {"VRE_VRW_CONFIGURE_SECONDS": "0", "VRE_VRW_POLL_SECONDS": "0.2", "VRE_VRW_FAILURE": "nope"},
            VrwKnobs(0, 0.2, "nope"),
        ),
    ],
)
def test_knobs_come_from_vre_vrw_variables(environ: dict[str, str], expected: VrwKnobs) -> None:
    assert knobs_from_environ(environ) == expected


@pytest.mark.parametrize(
    "environ",
    [{"VRE_VRW_CONFIGURE_SECONDS": "soon"}, {"VRE_VRW_CONFIGURE_SECONDS": "-1"}, {"VRE_VRW_POLL_SECONDS": "0"}],
)
def test_unusable_knobs_are_refused_by_name(environ: dict[str, str]) -> None:
    with pytest.raises(VrwKnobsError, match=next(iter(environ))):
        knobs_from_environ(environ)
