"""Object ids that belong to another study: a caller who owns study A, naming in A's routes an object of
study B (or B's workspace directly), learns nothing and changes nothing.

Generated from the app's route table: every route with an object id besides `{study_id}` is tried with
the other study's object, for every method; a new route with a new kind of id fails until it has a
maker below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import requests
from chalice.test import Client

from app import app
from chalicelib.services.common.model import new_id
from chalicelib.services.dropoff.dropoff import Offer, Started
from chalicelib.services.studies.invitations import invite
from chalicelib.services.studies.model import Role
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus
from chalicelib.services.workspaces.workspaces import WorkspaceRequest, request_workspace
from chalicelib.wiring import Dependencies
from tests.conftest import Person, StudyCast, join
from tests.support.api import call, snapshot
from tests.support.dropoff import sha_b64, sha_hex

# Ids that name no study object (the caller's own token, a researcher account, a catalog entry).
NOT_STUDY_OBJECTS = {"token_id", "kind", "item_id"}
# Path parameters the other study's objects fill in; the owner of study A is the caller.
Maker = Callable[[Dependencies, StudyCast], str]


def _member(deps: Dependencies, other: StudyCast) -> str:
    return other.viewer.id


def _invitation(deps: Dependencies, other: StudyCast) -> str:
    made, _ = invite(
        deps.access.load(other.owner.id, "none#none", other.study_id),
        deps.studies,
        deps.researchers,
        deps.outbox,
        deps.invitation_settings,
        email=f"{new_id()}@elsewhere.example",
        role=Role.VIEWER,
    )
    return made.id


def _workspace(deps: Dependencies, other: StudyCast) -> str:
    made = request_workspace(
        deps.access.load(other.contributor.id, "none#none", other.study_id),
        deps.studies,
        deps.catalog,
        deps.workspaces,
        deps.provisioning_queue,
        deps.workspace_settings,
        WorkspaceRequest(name="Their box", profile="small", operating_system="rocky-9"),
    )
    deps.workspaces.save(replace(made, status=WorkspaceStatus.RUNNING, server_id="srv-theirs"))
    return made.id


def _started(deps: Dependencies, study_id: str, data: bytes) -> Started:
    """An upload of the study started through the drop-off, its one part in the bucket."""
    study = deps.studies.get(study_id)
    assert study is not None
    started = deps.services.dropoff.start(Offer(study.upload_code, "theirs.csv", len(data)))
    (part,) = deps.services.dropoff.sign_parts(started.upload.id, started.secret, [(1, sha_b64(data))])
    assert requests.put(part.url, data=data, headers=part.headers, timeout=30).status_code == 200
    return started


def _upload(deps: Dependencies, other: StudyCast) -> str:
    started = _started(deps, other.study_id, b"their data")
    deps.services.dropoff.complete(started.upload.id, started.secret, sha_hex(b"their data"))
    return started.upload.id


MAKERS: dict[str, Maker] = {
    "researcher_id": _member,
    "invitation_id": _invitation,
    "workspace_id": _workspace,
    "upload_id": _upload,
}
BODIES: dict[str, dict[str, Any]] = {
    "PATCH /studies/{study_id}/members/{researcher_id}": {"role": "admin"},
    "PATCH /workspaces/{workspace_id}": {"name": "Mine now"},
    "POST /dropoff/uploads/{upload_id}/parts": {"parts": [{"number": 1, "checksum_sha256": "0" * 64}]},
    "POST /dropoff/uploads/{upload_id}/complete": {"checksum_sha256": "0" * 64},
}


def _routes() -> list[tuple[str, str]]:
    found = []
    for path, methods in app.routes.items():
        names = set(re.findall(r"{([^}]+)}", path)) - {"study_id"} - NOT_STUDY_OBJECTS
        if names and not path.startswith("/admin/"):
            found += [(method, path) for method in methods]
    return sorted(found)


def test_every_object_id_has_a_maker() -> None:
    names = {name for _, path in _routes() for name in re.findall(r"{([^}]+)}", path)} - {"study_id"}
    assert names <= set(MAKERS)


@pytest.fixture
def other(deps: Dependencies, person: Callable[..., Person]) -> StudyCast:
    """A second study with its own cast, nothing shared with `cast`."""
    from chalicelib.services.studies.studies import create_study

    owner = person("other-owner")
    study = create_study(owner.researcher, deps.studies, deps.references, name="Their study")
    members = {role: person(f"other-{role.value}") for role in (Role.ADMIN, Role.CONTRIBUTOR, Role.VIEWER)}
    for role, member in members.items():
        join(deps, study.study.id, member, role, owner)
    return StudyCast(
        study.study.id,
        owner,
        members[Role.ADMIN],
        members[Role.CONTRIBUTOR],
        members[Role.VIEWER],
        person("other-stranger"),
        person("other-platformadmin", is_admin=True),
        owner,
    )


@pytest.mark.parametrize(("method", "path"), _routes())
def test_another_studys_object_is_not_found_and_nothing_changes(
    client: Client, deps: Dependencies, cast: StudyCast, other: StudyCast, method: str, path: str
) -> None:
    names = set(re.findall(r"{([^}]+)}", path)) - {"study_id"}
    values = {name: MAKERS[name](deps, other) for name in names}
    url = path.format(study_id=cast.study_id, **values)
    headers = cast.owner.headers
    if path.startswith("/dropoff/"):
        # The drop-off's caller holds the secret of an upload of their own study, not a bearer token.
        headers = {"Upload-Secret": _started(deps, cast.study_id, b"mine").secret}
    before = snapshot()

    status, payload, _ = call(client, method, url, headers=headers, body=BODIES.get(f"{method} {path}"))

    assert status == 404, payload
    assert snapshot() == before
