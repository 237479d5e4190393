"""Route x role: who gets what. One readable table; a route added without its row fails the suite.

Columns: anonymous (no token), a stranger (logged in, not a member), each study role, a
platform admin who is not a member, the owner calling with a personal API token, and the two
service identities: VRW (a request signed with the VRW webhook secret, no token) and tusd (the hook
secret in the query string, no token). Each service identity opens its own hook and nothing else.
`{researcher_id}` is another viewer of the study; `{token_id}` is one of the owner's API tokens.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.services.common.model import new_id
from chalicelib.services.studies.invitations import invite
from chalicelib.services.studies.model import Invitation, Role
from chalicelib.services.workspaces.catalog import validate_item
from chalicelib.services.workspaces.catalog_items import CatalogKind
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus
from chalicelib.services.workspaces.workspaces import WorkspaceRequest, request_workspace
from chalicelib.wiring import Dependencies
from tests.conftest import TUSD_HOOK_SECRET, FakeIdentityProvider, Person, StudyCast, join
from tests.support.api import call
from tests.support.dropoff import send, started
from tests.support.tusd import pre_create
from tests.support.vrw import signed_headers

ROLES = (
    "anonymous",
    "stranger",
    "viewer",
    "contributor",
    "admin",
    "owner",
    "platform_admin",
    "owner_token",
    "vrw",
    "tusd",
)

# fmt: off
MATRIX: dict[tuple[str, str], str] = {
    # route                                                      anon stranger viewer contrib admin owner p.admin token vrw tusd
    ("GET", "/health"):                                           "200  200     200    200     200   200   200   200  200  200",
    ("GET", "/openapi.json"):                                     "200  200     200    200     200   200   200   200  200  200",
    ("GET", "/docs"):                                             "200  200     200    200     200   200   200   200  200  200",
    ("GET", "/redoc"):                                            "200  200     200    200     200   200   200   200  200  200",
    ("GET", "/me"):                                               "401  200     200    200     200   200   200   200  401  401",
    ("PATCH", "/me"):                                             "401  200     200    200     200   200   200   200  401  401",
    ("GET", "/universities"):                                     "401  200     200    200     200   200   200   200  401  401",
    ("GET", "/research-fields"):                                  "401  200     200    200     200   200   200   200  401  401",
    ("GET", "/studies"):                                          "401  200     200    200     200   200   200   200  401  401",
    ("POST", "/studies"):                                         "401  201     201    201     201   201   201   201  401  401",
    ("GET", "/studies/{study_id}"):                               "401  404     200    200     200   200   200   200  401  401",
    ("PATCH", "/studies/{study_id}"):                             "401  404     403    403     200   200   403   200  401  401",
    ("DELETE", "/studies/{study_id}"):                            "401  404     403    403     403   204   403   204  401  401",
    ("POST", "/studies/{study_id}/transfer"):                     "401  404     403    403     403   200   403   200  401  401",
    ("POST", "/studies/{study_id}/upload-code"):                  "401  404     403    403     200   200   403   200  401  401",
    ("GET", "/studies/{study_id}/audit"):                         "401  404     403    403     200   200   200   200  401  401",
    ("GET", "/studies/{study_id}/members"):                       "401  404     200    200     200   200   200   200  401  401",
    ("PATCH", "/studies/{study_id}/members/{researcher_id}"):     "401  404     403    403     200   200   403   200  401  401",
    ("DELETE", "/studies/{study_id}/members/{researcher_id}"):    "401  404     403    403     204   204   403   204  401  401",
    ("GET", "/auth/login"):                                       "302  302     302    302     302   302   302     302  302  302",
    ("GET", "/auth/callback"):                                    "302  302     302    302     302   302   302     302  302  302",
    ("POST", "/auth/token"):                                      "401  401     401    401     401   401   401     401  401  401",
    ("POST", "/auth/logout"):                                     "401  204     204    204     204   204   204     409  401  401",
    ("GET", "/me/tokens"):                                        "401  200     200    200     200   200   200     200  401  401",
    ("POST", "/me/tokens"):                                       "401  201     201    201     201   201   201     201  401  401",
    ("DELETE", "/me/tokens/{token_id}"):                          "401  404     404    404     404   204   404     204  401  401",
    ("POST", "/studies/{study_id}/invitations"):                  "401  404     403    403     201   201   403     201  401  401",
    ("GET", "/studies/{study_id}/invitations"):                   "401  404     403    403     200   200   200     200  401  401",
    ("POST", "/studies/{study_id}/invitations/{invitation_id}/resend"): "401 404 403  403     200   200   403     200  401  401",
    ("DELETE", "/studies/{study_id}/invitations/{invitation_id}"): "401 404     403    403     204   204   403     204  401  401",
    ("POST", "/invitations/accept"):                              "401  403     403    403     403   403   403     403  401  401",
    ("POST", "/invitations/decline"):                             "401  403     403    403     403   403   403     403  401  401",
    ("GET", "/me/invitations"):                                   "401  200     200    200     200   200   200     200  401  401",
    ("GET", "/admin/researchers"):                                "401  403     403    403     403   403   200     403  401  401",
    ("PATCH", "/admin/researchers/{researcher_id}"):              "401  403     403    403     403   403   200     403  401  401",
    ("GET", "/catalog"):                                          "401  200     200    200     200   200   200     200  401  401",
    ("PUT", "/admin/catalog/{kind}/{item_id}"):                   "401  403     403    403     403   403   200     403  401  401",
    ("DELETE", "/admin/catalog/{kind}/{item_id}"):                "401  403     403    403     403   403   204     403  401  401",
    ("PATCH", "/admin/studies/{study_id}"):                       "401  404     403    403     403   403   200     403  401  401",
    ("GET", "/admin/workspaces"):                                 "401  403     403    403     403   403   200     403  401  401",
    ("GET", "/admin/studies"):                                    "401  403     403    403     403   403   200     403  401  401",
    ("GET", "/admin/audit"):                                      "401  403     403    403     403   403   200     403  401  401",
    ("POST", "/studies/{study_id}/workspaces"):                   "401  404     403    202     202   202   403     202  401  401",
    ("GET", "/studies/{study_id}/workspaces"):                    "401  404     200    200     200   200   200     200  401  401",
    ("GET", "/studies/{study_id}/usage"):                         "401  404     200    200     200   200   200     200  401  401",
    # {workspace_id} is the contributor's own workspace, in the state the action needs.
    ("GET", "/workspaces/{workspace_id}"):                        "401  404     200    200     200   200   200     200  401  401",
    ("PATCH", "/workspaces/{workspace_id}"):                      "401  404     403    200     200   200   403     200  401  401",
    ("DELETE", "/workspaces/{workspace_id}"):                     "401  404     403    202     202   202   403     202  401  401",
    ("POST", "/workspaces/{workspace_id}/start"):                 "401  404     403    202     202   202   403     202  401  401",
    ("POST", "/workspaces/{workspace_id}/stop"):                  "401  404     403    202     202   202   403     202  401  401",
    ("POST", "/workspaces/{workspace_id}/reboot"):                "401  404     403    202     202   202   403     202  401  401",
    ("POST", "/workspaces/{workspace_id}/retry"):                 "401  404     403    202     202   202   403     202  401  401",
    ("GET", "/workspaces/{workspace_id}/events"):                 "401  404     200    200     200   200   200     200  401  401",
    ("GET", "/studies/{study_id}/uploads"):                       "401  404     200    200     200   200   200     200  401  401",
    # {upload_id} is a received upload of the study, its file in the bucket.
    ("GET", "/studies/{study_id}/uploads/{upload_id}/download"):  "401  404     403    200     200   200   403     200  401  401",
    ("DELETE", "/studies/{study_id}/uploads/{upload_id}"):        "401  404     403    403     204   204   403     204  401  401",
    # The drop-off: the study's upload code opens it whoever sends it; after that only the upload's secret
    # (Upload-Secret) does, and no bearer token, hook secret or signature stands in for it.
    ("POST", "/dropoff/uploads"):                                 "201  201     201    201     201   201   201     201  201  201",
    ("POST", "/dropoff/uploads/{upload_id}/parts"):               "401  401     401    401     401   401   401     401  401  401",
    ("GET", "/dropoff/uploads/{upload_id}"):                      "401  401     401    401     401   401   401     401  401  401",
    ("POST", "/dropoff/uploads/{upload_id}/complete"):            "401  401     401    401     401   401   401     401  401  401",
    ("DELETE", "/dropoff/uploads/{upload_id}"):                   "401  401     401    401     401   401   401     401  401  401",
    # tusd authenticates with the secret in its hook URL; a bearer token alone gets nowhere (tests/security).
    ("POST", "/hooks/tusd"):                                      "401  401     401    401     401   401   401     401  401  200",
    # Signed by VRW (Standard Webhooks), never by a bearer token: every token here lacks the signature.
    ("POST", "/hooks/vrw"):                                       "401  401     401    401     401   401   401     401  404  401",
}
# fmt: on

# Query strings the matrix sends (a callback with a state nobody started).
QUERIES: dict[tuple[str, str], str] = {
    ("GET", "/auth/login"): "?next=/studies",
    ("GET", "/auth/callback"): "?code=some-code&state=nobody-started-this",
}

WORKSPACE_REQUEST = {"name": "Box", "profile": "small", "operating_system": "rocky-9"}

BODIES: dict[tuple[str, str], Callable[[StudyCast], Any]] = {
    ("PATCH", "/me"): lambda cast: {"name": "Renamed Researcher", "locale": "nl"},
    ("POST", "/studies"): lambda cast: {"name": "A new study"},
    ("PATCH", "/studies/{study_id}"): lambda cast: {"description": "Edited"},
    ("POST", "/studies/{study_id}/transfer"): lambda cast: {"researcher_id": cast.admin.id},
    ("PATCH", "/studies/{study_id}/members/{researcher_id}"): lambda cast: {"role": "contributor"},
    ("POST", "/auth/token"): lambda cast: {"login_code": "never-issued"},
    ("POST", "/me/tokens"): lambda cast: {"name": "laptop"},
    ("PATCH", "/admin/researchers/{researcher_id}"): lambda cast: {"disabled": False},
    ("POST", "/studies/{study_id}/invitations"): lambda cast: {"email": f"{new_id()}@uni.example", "role": "viewer"},
    ("PUT", "/admin/catalog/{kind}/{item_id}"): lambda cast: {
        "name": "Lab net",
        "price_per_day": "0",
        "network": "lab",
    },
    ("PATCH", "/admin/studies/{study_id}"): lambda cast: {"max_workspaces": 7},
    ("POST", "/studies/{study_id}/workspaces"): lambda cast: {
        "name": "Box",
        "profile": "small",
        "operating_system": "rocky-9",
    },
    ("PATCH", "/workspaces/{workspace_id}"): lambda cast: {"name": "Renamed box"},
    ("POST", "/dropoff/uploads/{upload_id}/parts"): lambda cast: {
        "parts": [{"number": 1, "checksum_sha256": "0" * 64}]
    },
    ("POST", "/dropoff/uploads/{upload_id}/complete"): lambda cast: {"checksum_sha256": "0" * 64},
    ("POST", "/hooks/vrw"): lambda cast: {
        "type": "workspace.configuring",
        "timestamp": "2025-03-01T09:30:00Z",
        "data": {"workspace_id": new_id()},
    },
}
# The state the matrix's workspace is in for each route (RUNNING for the others).
WORKSPACE_STATES = {
    ("POST", "/workspaces/{workspace_id}/start"): WorkspaceStatus.STOPPED,
    ("POST", "/workspaces/{workspace_id}/retry"): WorkspaceStatus.FAILED,
}
# Bodies that need the invitation made for the test (its token reaches only the invitee's mail).
TOKEN_BODIES = {("POST", "/invitations/accept"), ("POST", "/invitations/decline")}


def _cases() -> list[tuple[str, str, str, int]]:
    cases = []
    for (method, path), row in MATRIX.items():
        statuses = row.split()
        assert len(statuses) == len(ROLES), (method, path)
        cases += [(method, path, role, int(status)) for role, status in zip(ROLES, statuses, strict=True)]
    return cases


def test_every_route_has_a_row() -> None:
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}

    assert set(MATRIX) == routes


@pytest.fixture
def target(deps: Dependencies, cast: StudyCast, person: Callable[..., Person]) -> Person:
    """Another viewer of the study: the member the member routes act on."""
    other = person("target")
    join(deps, cast.study_id, other, Role.VIEWER, cast.owner)
    return other


@pytest.fixture
def invitation(deps: Dependencies, cast: StudyCast) -> Invitation:
    """A pending invitation in the study, to an email none of the cast has."""
    made, _ = invite(
        deps.access.load(cast.owner.id, "none#none", cast.study_id),
        deps.studies,
        deps.researchers,
        deps.outbox,
        deps.invitation_settings,
        email=f"{new_id()}@elsewhere.example",
        role=Role.CONTRIBUTOR,
    )
    return made


@pytest.fixture
def catalog_entry(deps: Dependencies) -> str:
    """A network entry of the catalog made for this test (so deleting it touches nobody else's)."""
    item_id = f"net-{new_id()[:12]}"
    deps.catalog.put(validate_item(CatalogKind.NETWORK, item_id, "Test net", "0", {"network": "test"}))
    return item_id


def upload_code(deps: Dependencies, cast: StudyCast) -> str:
    study = deps.studies.get(cast.study_id)
    assert study is not None
    return study.upload_code


def workspace_in(deps: Dependencies, cast: StudyCast, status: WorkspaceStatus) -> str:
    """The contributor's workspace, put straight into `status` (as if the provisioning family had run)."""
    made = request_workspace(
        deps.access.load(cast.contributor.id, "none#none", cast.study_id),
        deps.studies,
        deps.catalog,
        deps.workspaces,
        deps.provisioning_queue,
        deps.workspace_settings,
        WorkspaceRequest(name="Matrix box", profile="small", operating_system="rocky-9"),
    )
    deps.workspaces.save(replace(made, status=status, server_id="srv-matrix"))
    return made.id


@pytest.mark.parametrize(("method", "path", "role", "expected"), _cases())
def test_route_answers_each_role(
    request: pytest.FixtureRequest,
    client: Client,
    cast: StudyCast,
    identity_provider: FakeIdentityProvider,
    deps: Dependencies,
    method: str,
    path: str,
    role: str,
    expected: int,
) -> None:
    # Only what the route names is made (the matrix has hundreds of cases; each object costs writes).
    needs_invitation = "{invitation_id}" in path or (method, path) in TOKEN_BODIES
    invitation: Invitation | None = request.getfixturevalue("invitation") if needs_invitation else None
    target: Person | None = request.getfixturevalue("target") if "{researcher_id}" in path else None
    item_id = request.getfixturevalue("catalog_entry") if "{item_id}" in path else ""
    token_id = cast.owner_token.token.split(".")[1]
    upload_id = ""
    if path.startswith("/dropoff/uploads/"):
        upload_id = started(client, upload_code(deps, cast), b"matrix").upload_id
    elif "{upload_id}" in path:
        upload_id = send(client, upload_code(deps, cast), b"matrix data")[0].upload_id
    workspace_id = ""
    if "{workspace_id}" in path:
        workspace_id = workspace_in(deps, cast, WORKSPACE_STATES.get((method, path), WorkspaceStatus.RUNNING))
    url = path.format(
        study_id=cast.study_id,
        researcher_id=target.id if target else "",
        token_id=token_id,
        invitation_id=invitation.id if invitation else "",
        kind="networks",
        item_id=item_id,
        workspace_id=workspace_id,
        upload_id=upload_id,
    )
    url += QUERIES.get((method, path), "")
    make_body = BODIES.get((method, path))
    body = make_body(cast) if make_body else None
    if (method, path) == ("POST", "/dropoff/uploads"):
        body = {"upload_code": upload_code(deps, cast), "filename": "matrix.csv", "size": 10}
    if (method, path) in TOKEN_BODIES:
        assert invitation is not None
        body = {"token": request.getfixturevalue("mail_queue").last_token_for(invitation.id)}
    headers: dict[str, str] = {}
    raw = None
    if role == "vrw":
        # Signed as VRW signs: over the exact bytes sent.
        raw = json.dumps(body).encode() if body is not None else b""
        headers, body = signed_headers(body=raw), None
    elif role == "tusd":
        url += ("&" if "?" in url else "?") + f"secret={TUSD_HOOK_SECRET}"
        if path == "/hooks/tusd":
            body = pre_create("no-such-upload-code")
    elif role != "anonymous":
        headers = cast.by_role(role).headers

    status, payload, response_headers = call(client, method, url, headers=headers, body=body, raw=raw or None)

    assert status == expected, payload
    if status >= 400:
        assert response_headers["Content-Type"] == "application/problem+json"
        assert payload["status"] == status
