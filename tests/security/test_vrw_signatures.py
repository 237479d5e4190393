"""VRW's hook takes only VRW's signature, and VRW's signature opens nothing else; every refusal writes nothing."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import msgspec
import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.providers.secrets import Secrets
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus
from chalicelib.wiring import Dependencies
from tests.api.test_bad_input import assert_problem
from tests.api.test_vrw_hook import workspace_in
from tests.conftest import VRW_SECRET, StudyCast
from tests.support.api import call, snapshot
from tests.support.vrw import event_body, signed_headers

SetSecret = Callable[[str | None], None]
OTHER_SECRET = "whsec_" + base64.b64encode(b"a secret VRW does not have, 32 B").decode()


@pytest.fixture
def configuring(deps: Dependencies, cast: StudyCast) -> str:
    """A workspace waiting for VRW: any event about it that got through would move it."""
    return workspace_in(deps, cast, WorkspaceStatus.CONFIGURING)


def assert_refused(client: Client, headers: dict[str, str], body: bytes, expected: int = 401) -> None:
    before = snapshot()

    status, payload, response_headers = call(client, "POST", "/hooks/vrw", headers=headers, raw=body)

    assert_problem(status, payload, response_headers, expected)
    assert snapshot() == before


def test_a_tampered_body_is_401(client: Client, configuring: str) -> None:
    signed = event_body("failed", configuring, reason="harmless")
    sent = event_body("failed", configuring, reason="tampered")

    assert_refused(client, signed_headers(body=signed), sent)


def test_a_signature_under_another_secret_is_401(client: Client, configuring: str) -> None:
    body = event_body("failed", configuring, reason="forged")

    assert_refused(client, signed_headers(OTHER_SECRET, body), body)


@pytest.mark.parametrize("offset", [-330, 330, -86400], ids=["stale", "future", "a-day-old"])
def test_a_timestamp_outside_five_minutes_is_401(client: Client, configuring: str, offset: int) -> None:
    body = event_body("failed", configuring, reason="late")

    assert_refused(client, signed_headers(body=body, timestamp=int(time.time()) + offset), body)


@pytest.mark.parametrize(
    "spelling",
    ["0{}", "00{}", "+{}", " {}", "{}\n", "{}.0", "{}e0"],
    ids=["leading-zero", "two-zeros", "plus", "space", "newline", "decimal", "exponent"],
)
def test_a_signed_timestamp_respelled_is_401(client: Client, configuring: str, spelling: str) -> None:
    # The signature is VRW's own over the number; only the header's spelling of it changes.
    body = event_body("failed", configuring, reason="respelled")
    headers = signed_headers(body=body)
    headers["webhook-timestamp"] = spelling.format(headers["webhook-timestamp"])

    assert_refused(client, headers, body)


def test_a_timestamp_in_unicode_digits_is_401(client: Client, configuring: str) -> None:
    body = event_body("failed", configuring, reason="arabic-indic")
    headers = signed_headers(body=body)
    headers["webhook-timestamp"] = "".join(chr(0x0660 + int(d)) for d in headers["webhook-timestamp"])

    assert_refused(client, headers, body)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_401(client: Client, configuring: str, missing: str) -> None:
    body = event_body("failed", configuring, reason="unsigned")
    headers = signed_headers(body=body)
    del headers[missing]

    assert_refused(client, headers, body)


def test_a_signature_lifted_onto_another_webhook_id_is_401(client: Client, configuring: str) -> None:
    body = event_body("failed", configuring, reason="replayed")
    headers = {**signed_headers(body=body, webhook_id="msg_original"), "webhook-id": "msg_fresh"}

    assert_refused(client, headers, body)


def test_a_captured_delivery_replayed_after_the_window_is_401(client: Client, configuring: str) -> None:
    # GIVEN a delivery an eavesdropper recorded six minutes ago (its id long since handled)
    body = event_body("failed", configuring, reason="recorded")
    recorded = signed_headers(body=body, webhook_id="msg_recorded", timestamp=int(time.time()) - 360)

    # THEN sending it again is refused, whatever its id
    assert_refused(client, recorded, body)


def test_a_researchers_token_on_the_hook_is_401(client: Client, cast: StudyCast, configuring: str) -> None:
    body = event_body("failed", configuring, reason="researcher")

    assert_refused(client, {**cast.owner.headers, "Content-Type": "application/json"}, body)
    assert_refused(client, {**cast.platform_admin.headers, "Content-Type": "application/json"}, body)


def test_a_one_megabyte_body_is_413_signed_or_not(client: Client, configuring: str) -> None:
    body = event_body("failed", configuring, reason="x" * (1024 * 1024))

    assert_refused(client, signed_headers(body=body), body, expected=413)
    assert_refused(client, {"Content-Type": "application/json"}, body, expected=413)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/me", b""),
        ("GET", "/studies", b""),
        ("POST", "/studies", b'{"name": "Made by VRW"}'),
        ("GET", "/studies/{study_id}", b""),
        ("GET", "/workspaces/{workspace_id}", b""),
        ("POST", "/workspaces/{workspace_id}/stop", b""),
        ("GET", "/admin/researchers", b""),
    ],
)
def test_vrws_signature_opens_no_other_route(
    client: Client, cast: StudyCast, configuring: str, method: str, path: str, body: bytes
) -> None:
    url = path.format(study_id=cast.study_id, workspace_id=configuring)
    before = snapshot()

    status, payload, headers = call(client, method, url, headers=signed_headers(body=body), raw=body or None)

    assert_problem(status, payload, headers, 401)
    assert snapshot() == before


@pytest.fixture
def vrw_secret(deps: Dependencies) -> Iterator[SetSecret]:
    """Set the stage's VRW secret(s) for one test."""

    def use(value: str | None) -> None:
        settings = msgspec.structs.replace(deps.settings, vrw_webhook_secret=value)
        wiring.install(replace(deps, settings=settings, secrets=Secrets(settings)))

    yield use
    wiring.install(deps)


def test_during_a_rotation_either_secret_is_accepted(client: Client, configuring: str, vrw_secret: SetSecret) -> None:
    # GIVEN the stage holds the old and the new secret
    vrw_secret(f"{VRW_SECRET} {OTHER_SECRET}")

    # THEN VRW signing with the old one, then with the new one, gets through
    old = event_body("configuring", configuring)
    new = event_body("ready", configuring, access={"url": "https://vm.vrw.local/", "ip": "10.0.0.9", "username": "u"})
    assert call(client, "POST", "/hooks/vrw", headers=signed_headers(VRW_SECRET, old), raw=old)[0] == 200
    assert call(client, "POST", "/hooks/vrw", headers=signed_headers(OTHER_SECRET, new), raw=new)[0] == 200

    # AND once the old one is dropped, its signatures are refused
    vrw_secret(OTHER_SECRET)
    late = event_body("failed", configuring, reason="old secret")
    assert_refused(client, signed_headers(VRW_SECRET, late), late)


def test_a_stage_without_a_vrw_secret_refuses_every_webhook(
    client: Client, configuring: str, vrw_secret: SetSecret
) -> None:
    vrw_secret(None)
    body = event_body("configuring", configuring)

    assert_refused(client, signed_headers(body=body), body)
