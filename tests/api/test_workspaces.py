"""Workspaces and the catalog over HTTP, on moto: what the frontend sees."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus
from chalicelib.services.workspaces.transitions import event_of
from chalicelib.wiring import Dependencies
from tests.api.test_bad_input import LONG, assert_problem
from tests.conftest import StudyCast
from tests.support.api import call, snapshot
from tests.support.fakes import wire
from tests.support.fakes_workspaces import RecordingProvisioningQueue

BOX = {"name": "Analysis box", "profile": "small", "operating_system": "ubuntu-2404"}


def ask(
    client: Client, cast: StudyCast, body: dict[str, Any] | None = None, *, key: str | None = None
) -> tuple[int, Any, Any]:
    headers = {**cast.contributor.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return call(client, "POST", f"/studies/{cast.study_id}/workspaces", headers=headers, body=body or BOX)


@pytest.fixture
def queue(deps: Dependencies) -> RecordingProvisioningQueue:
    found = deps.provisioning_queue
    assert isinstance(found, RecordingProvisioningQueue)
    return found


def test_a_request_answers_202_with_its_cost_and_is_queued(
    client: Client, cast: StudyCast, queue: RecordingProvisioningQueue
) -> None:
    status, workspace, headers = ask(client, cast, {**BOX, "storage_gb": 100, "profile": "medium"})

    assert status == 202, workspace
    assert headers["Location"] == f"/workspaces/{workspace['id']}"
    assert workspace["status"] == "REQUESTED"
    assert workspace["cost_estimate"] == {"per_day": 2.6, "per_month": 78.0, "currency": "EUR"}
    assert workspace["machine"]["vcpus"] == 4
    assert workspace["access"] == {"ip": None, "url": None, "username": None}
    assert ({"type": "converge", "workspace_id": workspace["id"]}, 0) in [(wire(m), delay) for m, delay in queue.sent]

    status, listed, _ = call(client, "GET", f"/studies/{cast.study_id}/workspaces", headers=cast.viewer.headers)
    assert status == 200
    assert [w["id"] for w in listed["items"]] == [workspace["id"]]

    status, events, _ = call(client, "GET", f"/workspaces/{workspace['id']}/events", headers=cast.viewer.headers)
    assert [e["status"] for e in events["items"]] == ["REQUESTED"]


def test_the_same_idempotency_key_returns_the_first_answer(
    client: Client, cast: StudyCast, queue: RecordingProvisioningQueue
) -> None:
    first = ask(client, cast, key="abc-123")
    again = ask(client, cast, key="abc-123")
    other = ask(client, cast, {**BOX, "name": "Other"}, key="abc-123")

    assert (first[0], again[0]) == (202, 202)
    assert again[1]["id"] == first[1]["id"]
    assert sum(1 for m, _ in queue.sent if m.workspace_id == first[1]["id"]) == 1
    assert other[0] == 409


@pytest.fixture
def quota_of_five(deps: Dependencies) -> Iterator[None]:
    settings = msgspec.structs.replace(deps.settings, workspace_quota_workspaces=5)
    wiring.install(replace(deps, settings=settings))
    yield
    wiring.install(deps)


def test_twenty_parallel_requests_against_a_quota_of_five_admit_exactly_five(
    client: Client, cast: StudyCast, quota_of_five: None, atomic_requests: None
) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda n: ask(client, cast, {**BOX, "name": f"box {n}"}), range(20)))

    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(202) == 5, statuses
    assert statuses.count(409) == 15
    refused = next(body for status, body, _ in answers if status == 409)
    assert "quota" in refused["detail"]
    _, usage, _ = call(client, "GET", f"/studies/{cast.study_id}/usage", headers=cast.viewer.headers)
    assert (usage["workspaces"], usage["vcpus"], usage["quota"]["max_workspaces"]) == (5, 10, 5)


def test_an_action_the_state_does_not_allow_is_409(client: Client, cast: StudyCast) -> None:
    _, workspace, _ = ask(client, cast)
    before = snapshot()
    status, payload, headers = call(client, "POST", f"/workspaces/{workspace['id']}/start", headers=cast.owner.headers)
    assert_problem(status, payload, headers, 409)
    assert "REQUESTED cannot start" in payload["detail"]
    assert snapshot() == before


def test_delete_answers_202_deleting_and_the_study_cannot_go_while_it_lives(
    client: Client, cast: StudyCast, deps: Dependencies
) -> None:
    _, workspace, _ = ask(client, cast)
    status, payload, _ = call(client, "DELETE", f"/studies/{cast.study_id}", headers=cast.owner.headers)
    assert status == 409
    assert "still has workspaces" in payload["detail"]

    status, deleting, _ = call(client, "DELETE", f"/workspaces/{workspace['id']}", headers=cast.contributor.headers)
    assert (status, deleting["status"]) == (202, "DELETING")

    stored = deps.workspaces.get(workspace["id"])
    assert stored is not None
    deleted = replace(stored, status=WorkspaceStatus.DELETED)
    deps.workspaces.move(deleted, event_of(deleted, stored.status, "test", stored.updated_at))
    status, _, _ = call(client, "DELETE", f"/studies/{cast.study_id}", headers=cast.owner.headers)
    assert status == 204


def test_rename_and_extend(client: Client, cast: StudyCast) -> None:
    _, workspace, _ = ask(client, cast)
    later = "2099-01-01T00:00:00Z"
    status, payload, _ = call(
        client, "PATCH", f"/workspaces/{workspace['id']}", headers=cast.contributor.headers, body={"expires_at": later}
    )
    assert status == 422  # beyond the longest lifetime
    assert payload["errors"][0]["field"] == "expires_at"
    status, renamed, _ = call(
        client, "PATCH", f"/workspaces/{workspace['id']}", headers=cast.contributor.headers, body={"name": "Renamed"}
    )
    assert (status, renamed["name"]) == (200, "Renamed")


def test_the_catalog_lists_every_kind_and_admins_edit_it(client: Client, cast: StudyCast) -> None:
    status, catalog, _ = call(client, "GET", "/catalog", headers=cast.viewer.headers)
    assert status == 200
    assert {p["id"] for p in catalog["profiles"]} >= {"small", "medium", "large", "gpu"}
    assert catalog["currency"] == "EUR"

    admin = cast.platform_admin.headers
    body = {"name": "Tiny", "price_per_day": "0.5", "flavor": "vre.tiny", "vcpus": 1, "ram_gb": 2}
    status, item, _ = call(client, "PUT", "/admin/catalog/profiles/tiny-test", headers=admin, body=body)
    assert (status, item["attributes"]["vcpus"]) == (200, "1")
    status, payload, _ = call(client, "PUT", "/admin/catalog/profiles/bad", headers=admin, body={**body, "size_gb": 5})
    assert (status, payload["errors"][0]["field"]) == (422, "size_gb")
    status, _, _ = call(client, "PUT", "/admin/catalog/colours/red", headers=admin, body=body)
    assert status == 404
    assert call(client, "DELETE", "/admin/catalog/profiles/tiny-test", headers=admin)[0] == 204
    assert call(client, "DELETE", "/admin/catalog/profiles/tiny-test", headers=admin)[0] == 404


def test_a_platform_admin_overrides_a_studys_quota(client: Client, cast: StudyCast) -> None:
    admin = cast.platform_admin.headers
    status, quota, _ = call(
        client, "PATCH", f"/admin/studies/{cast.study_id}", headers=admin, body={"max_workspaces": 1}
    )
    assert (status, quota["max_workspaces"]) == (200, 1)
    assert ask(client, cast)[0] == 202
    assert ask(client, cast)[0] == 409
    status, quota, _ = call(
        client, "PATCH", f"/admin/studies/{cast.study_id}", headers=admin, body={"max_workspaces": None}
    )
    assert quota["max_workspaces"] == 5


def _admin_pages(client: Client, cast: StudyCast, query: str) -> list[list[str]]:
    """The ids on each page of `/admin/workspaces?<query>`, following the cursors."""
    pages: list[list[str]] = []
    url = f"/admin/workspaces?{query}"
    while url:
        status, page, _ = call(client, "GET", url, headers=cast.platform_admin.headers)
        assert status == 200, page
        pages.append([w["id"] for w in page["items"]])
        cursor = page["next_cursor"]
        url = f"/admin/workspaces?{query}&cursor={cursor}" if cursor else ""
    return pages


def test_admins_page_through_every_workspace_or_one_status_newest_first(
    client: Client, cast: StudyCast, deps: Dependencies
) -> None:
    # GIVEN three workspaces, the middle one RUNNING
    first, middle, last = (ask(client, cast, {**BOX, "name": f"Box {i}"})[1]["id"] for i in range(3))
    running = deps.workspaces.get(middle)
    assert running is not None
    deps.workspaces.save(replace(running, status=WorkspaceStatus.RUNNING, server_id="srv-1"))

    # THEN every workspace comes newest first, two to a page, and a status lists exactly its own
    assert _admin_pages(client, cast, "limit=2") == [[last, middle], [first]]
    assert _admin_pages(client, cast, "status=RUNNING&limit=2") == [[middle]]
    assert _admin_pages(client, cast, "status=REQUESTED&limit=1") == [[last], [first]]
    assert _admin_pages(client, cast, "status=FAILED") == [[]]


def test_an_admins_cursor_for_one_status_is_refused_for_another(client: Client, cast: StudyCast) -> None:
    for i in range(2):
        ask(client, cast, {**BOX, "name": f"Box {i}"})
    _, page, _ = call(client, "GET", "/admin/workspaces?status=REQUESTED&limit=1", headers=cast.platform_admin.headers)

    status, problem, _ = call(
        client,
        "GET",
        f"/admin/workspaces?status=RUNNING&limit=1&cursor={page['next_cursor']}",
        headers=cast.platform_admin.headers,
    )

    assert status == 400, problem


BAD_BODIES: list[tuple[Any, int, str | None]] = [
    (b"{", 400, None),
    ({}, 422, "name"),
    ({**BOX, "name": ""}, 422, "name"),
    ({**BOX, "name": LONG}, 422, "name"),
    ({**BOX, "profile": "huge"}, 422, "profile"),
    ({**BOX, "profile": "../etc"}, 422, "profile"),
    ({**BOX, "operating_system": 7}, 422, "operating_system"),
    ({**BOX, "storage_gb": 51}, 422, "storage_gb"),
    ({**BOX, "storage_gb": -1}, 422, "storage_gb"),
    ({**BOX, "storage_gb": "big"}, 422, "storage_gb"),
    ({**BOX, "network": "dmz"}, 422, "network"),
    ({**BOX, "expires_at": "tomorrow"}, 422, "expires_at"),
    ({**BOX, "expires_at": "2000-01-01T00:00:00Z"}, 422, "expires_at"),
    ({**BOX, "ssh_public_key": "hello there, not a key"}, 422, "ssh_public_key"),
    ({**BOX, "flavor": "m1.huge"}, 422, "flavor"),
]


@pytest.mark.parametrize(("body", "expected", "field"), BAD_BODIES)
def test_bad_workspace_requests_are_refused_and_change_nothing(
    client: Client, cast: StudyCast, body: Any, expected: int, field: str | None
) -> None:
    before = snapshot()
    raw = body if isinstance(body, bytes) else None
    status, payload, headers = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/workspaces",
        headers=cast.contributor.headers,
        body=None if raw else body,
        raw=raw,
    )
    assert_problem(status, payload, headers, expected)
    if field is not None:
        assert field in {e["field"] for e in payload["errors"]}, payload
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/workspaces/0123456789abcdef0123456789abcdef", None),
        ("POST", "/workspaces/0123456789abcdef0123456789abcdef/stop", None),
        ("PATCH", "/workspaces/" + "a" * 300, {"name": "x"}),
        ("GET", "/workspaces/bad%20id/events", None),
        ("PATCH", "/workspaces/{workspace_id}", {"name": ""}),
        ("PATCH", "/workspaces/{workspace_id}", {"status": "RUNNING"}),
        ("PATCH", "/admin/studies/{study_id}", {"max_workspaces": -1}),
        ("PATCH", "/admin/studies/{study_id}", {"max_vcpus": "lots"}),
        ("GET", "/admin/workspaces?status=HAPPY", None),
    ],
)
def test_bad_workspace_ids_and_edits(client: Client, cast: StudyCast, method: str, path: str, body: Any) -> None:
    _, workspace, _ = ask(client, cast)
    before = snapshot()
    url = path.format(workspace_id=workspace["id"], study_id=cast.study_id)
    headers = cast.platform_admin.headers if "/admin/" in path else cast.contributor.headers
    status, payload, response_headers = call(client, method, url, headers=headers, body=body)
    assert 400 <= status < 500
    assert_problem(status, payload, response_headers, status)
    assert snapshot() == before


def test_a_bad_idempotency_key_is_422(client: Client, cast: StudyCast) -> None:
    status, payload, headers = ask(client, cast, key="x" * 300)
    assert_problem(status, payload, headers, 422)
