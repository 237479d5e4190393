"""Invitations over HTTP: invite, resend, revoke, accept, decline, expire; limits; the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.errors import AppError
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import AuditEntry, AuditOutcome, PageRequest, new_id, utcnow
from chalicelib.services.studies import invitations as service
from chalicelib.services.studies.model import Role
from chalicelib.wiring import Dependencies
from tests.conftest import Person, RecordingMailQueue, StudyCast, join
from tests.support.api import call


def _invite(client: Client, cast: StudyCast, email: str, role: str = "contributor", **extra: Any) -> dict[str, Any]:
    status, invitation, _ = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/invitations",
        headers=cast.admin.headers,
        body={"email": email, "role": role, **extra},
    )
    assert status == 201, invitation
    assert isinstance(invitation, dict)
    return invitation


def _audit_actions(client: Client, cast: StudyCast) -> list[str]:
    _, log, _ = call(client, "GET", f"/studies/{cast.study_id}/audit?limit=100", headers=cast.owner.headers)
    return [entry["action"] for entry in log["items"]]


def test_an_invitation_is_written_then_mailed_and_accepted_by_the_invitee(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitee = person("invitee")
    email = invitee.researcher.email

    invitation = _invite(client, cast, email.upper(), message="Welcome to the cohort!")

    assert (invitation["email"], invitation["status"], invitation["mail_status"]) == (email, "pending", "queued")
    assert mail_queue.messages[-1]["type"] == "invitation"
    _, mine, _ = call(client, "GET", "/me/invitations", headers=invitee.headers)
    assert [i["id"] for i in mine["items"]] == [invitation["id"]]
    token = mail_queue.last_token_for(invitation["id"])

    status, membership, _ = call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})

    assert status == 200
    assert (membership["study_id"], membership["role"]) == (cast.study_id, "contributor")
    assert call(client, "GET", f"/studies/{cast.study_id}", headers=invitee.headers)[1]["role"] == "contributor"
    assert mail_queue.messages[-1] == {**mail_queue.messages[-1], "type": "invitation_answered", "answer": "accepted"}
    assert call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})[0] == 404
    assert {"invitation.created", "invitation.accepted"} <= set(_audit_actions(client, cast))
    _, listing, _ = call(client, "GET", f"/studies/{cast.study_id}/invitations", headers=cast.admin.headers)
    assert listing["items"][0]["status"] == "accepted"


def test_a_token_is_bound_to_the_invited_email(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitation = _invite(client, cast, f"{new_id()}@uni.example")
    token = mail_queue.last_token_for(invitation["id"])
    someone_else = person("someone")

    status, payload, _ = call(
        client, "POST", "/invitations/accept", headers=someone_else.headers, body={"token": token}
    )

    assert status == 403, payload
    _, listing, _ = call(client, "GET", f"/studies/{cast.study_id}/invitations", headers=cast.admin.headers)
    assert listing["items"][0]["status"] == "pending"


def test_inviting_the_same_email_again_resends_and_the_old_link_stops_working(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitee = person("invitee")
    first = _invite(client, cast, invitee.researcher.email)
    old = mail_queue.last_token_for(first["id"])

    status, again, _ = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/invitations",
        headers=cast.owner.headers,
        body={"email": invitee.researcher.email, "role": "viewer"},
    )

    assert status == 200
    assert again["id"] == first["id"]
    new = mail_queue.last_token_for(first["id"])
    assert new != old
    assert call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": old})[0] == 404
    assert call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": new})[0] == 200


def test_inviting_a_member_is_a_conflict(client: Client, cast: StudyCast) -> None:
    status, payload, _ = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/invitations",
        headers=cast.admin.headers,
        body={"email": cast.viewer.researcher.email, "role": "admin"},
    )

    assert status == 409, payload


def test_revoked_declined_and_unknown_tokens_get_one_generic_answer(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitee = person("invitee")
    revoked = _invite(client, cast, invitee.researcher.email)
    revoked_token = mail_queue.last_token_for(revoked["id"])
    url = f"/studies/{cast.study_id}/invitations/{revoked['id']}"
    assert call(client, "DELETE", url, headers=cast.admin.headers)[0] == 204
    assert call(client, "DELETE", url, headers=cast.admin.headers)[0] == 409

    answers = [
        call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})
        for token in (revoked_token, "never-issued")
    ]

    assert {status for status, _, _ in answers} == {404}
    assert len({payload["detail"] for _, payload, _ in answers}) == 1
    assert "invitation.revoked" in _audit_actions(client, cast)


def test_declining_tells_the_inviter_and_spends_the_token(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitee = person("invitee")
    invitation = _invite(client, cast, invitee.researcher.email)
    token = mail_queue.last_token_for(invitation["id"])

    assert call(client, "POST", "/invitations/decline", headers=invitee.headers, body={"token": token})[0] == 204

    assert mail_queue.messages[-1]["answer"] == "declined"
    assert call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})[0] == 404
    assert call(client, "GET", f"/studies/{cast.study_id}", headers=invitee.headers)[0] == 404
    assert "invitation.declined" in _audit_actions(client, cast)


def test_an_expired_invitation_is_refused_at_once_and_a_resend_revives_it(
    client: Client, deps: Dependencies, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitee = person("invitee")
    invitation = _invite(client, cast, invitee.researcher.email)
    token = mail_queue.last_token_for(invitation["id"])
    stored = deps.invitations.get(invitation["id"])
    assert stored is not None
    deps.invitations.update(
        replace(stored, expires_at=utcnow() - timedelta(seconds=1)),
        AuditEntry(cast.study_id, cast.owner.id, "test.expired", "x", AuditOutcome.SUCCESS, utcnow()),
    )

    assert call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})[0] == 404
    _, listing, _ = call(client, "GET", f"/studies/{cast.study_id}/invitations", headers=cast.admin.headers)
    assert listing["items"][0]["status"] == "expired"
    assert call(client, "GET", "/me/invitations", headers=invitee.headers)[1]["items"] == []

    url = f"/studies/{cast.study_id}/invitations/{invitation['id']}/resend"
    status, resent, _ = call(client, "POST", url, headers=cast.admin.headers)

    assert status == 200
    assert resent["status"] == "pending"
    fresh = mail_queue.last_token_for(invitation["id"])
    assert call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": fresh})[0] == 200


def test_accepting_never_changes_an_existing_admins_role(
    client: Client, deps: Dependencies, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitee = person("invitee")
    invitation = _invite(client, cast, invitee.researcher.email, role="viewer")
    join(deps, cast.study_id, invitee, Role.ADMIN, cast.owner)
    token = mail_queue.last_token_for(invitation["id"])

    status, membership, _ = call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})

    assert status == 200
    assert membership["role"] == "admin"


def test_twenty_concurrent_accepts_make_exactly_one_membership(
    deps: Dependencies, cast: StudyCast, mail_queue: RecordingMailQueue, atomic_requests: None
) -> None:
    email = f"{new_id()}@uni.example"
    moment = utcnow()
    # Twenty accounts share the invited email (emails may repeat across identities); each tries at once.
    invitees = [
        deps.researchers.add(
            Researcher(new_id(), email, "Same", moment, moment, identity=f"https://idp.test|{i}", email_verified=True)
        )
        for i in range(20)
    ]
    invitation, _ = service.invite(
        deps.access.load(cast.owner.id, "none#none", cast.study_id),
        deps.studies,
        deps.researchers,
        deps.outbox,
        deps.invitation_settings,
        email=email,
        role=Role.VIEWER,
    )
    token = mail_queue.last_token_for(invitation.id)

    def attempt(invitee: Researcher) -> int:
        try:
            service.accept(invitee, deps.studies, deps.outbox, token=token)
        except AppError as exc:
            return exc.status
        return 200

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, invitees))

    assert outcomes.count(200) == 1
    assert set(outcomes) <= {200, 404}
    members = deps.studies.members(cast.study_id, PageRequest(limit=100)).items
    assert sum(1 for m in members if m.researcher_id in {i.id for i in invitees}) == 1


@pytest.fixture
def strict_limits(deps: Dependencies) -> Iterator[None]:
    settings = msgspec.structs.replace(deps.settings, invitations_per_study_per_hour=2)
    wiring.install(replace(deps, settings=settings))
    yield
    wiring.install(deps)


def test_too_many_invitations_in_an_hour_is_429(client: Client, cast: StudyCast, strict_limits: None) -> None:
    for _ in range(2):
        _invite(client, cast, f"{new_id()}@uni.example")

    status, payload, headers = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/invitations",
        headers=cast.admin.headers,
        body={"email": f"{new_id()}@uni.example", "role": "viewer"},
    )

    assert status == 429, payload
    assert int(headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "role": "viewer"},
        {"email": "a@b.nl", "role": "owner"},
        {"email": "a@b.nl", "role": "viewer", "message": "x" * 2001},
        {"email": "a@b.nl"},
        {"email": "a@b.nl", "role": "viewer", "cc": "boss@b.nl"},
    ],
)
def test_bad_invitations_are_422(client: Client, cast: StudyCast, body: dict[str, Any]) -> None:
    status, payload, _ = call(
        client, "POST", f"/studies/{cast.study_id}/invitations", headers=cast.admin.headers, body=body
    )

    assert status == 422, payload
