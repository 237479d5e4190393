"""Issue 13.2: a member who can no longer invite (removed, left, demoted below admin) has the pending
invitations they sent revoked by the mail worker, each audited with why, and nobody is mailed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import SQSEvent
from chalice.test import Client

from chalicelib.services.messages import InviterStoodDownMessage, encode
from chalicelib.wiring import Dependencies
from chalicelib.workers.mail import handle_mail_batch
from tests.conftest import Person, RecordingMailQueue, StudyCast
from tests.support.api import call

_MEMBERS = "/studies/{study}/members/{member}"


def _invite(
    client: Client, cast: StudyCast, person: Callable[..., Person], by: Person, role: str = "contributor"
) -> tuple[str, Person]:
    """`by` invites a new person; returns the invitation id and the invitee."""
    invitee = person(f"invitee-{role}")
    status, invitation, _ = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/invitations",
        headers=by.headers,
        body={"email": invitee.researcher.email, "role": role},
    )
    assert status == 201, invitation
    return str(invitation["id"]), invitee


def _stood_down(mail_queue: RecordingMailQueue, cast: StudyCast) -> list[InviterStoodDownMessage]:
    """The stand-down messages about the cast's study (the recording queue lives as long as the test session)."""
    return [m for m in mail_queue.typed if isinstance(m, InviterStoodDownMessage) and m.study_id == cast.study_id]


def _run_mail_worker(deps: Dependencies, messages: list[InviterStoodDownMessage]) -> dict[str, Any]:
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": uuid.uuid4().hex,
            "body": encode(message),
            "attributes": {"ApproximateReceiveCount": "1"},
        }
        for message in messages
    ]
    return dict(handle_mail_batch(SQSEvent({"Records": records}, context=None), deps))


def _invitations(client: Client, cast: StudyCast) -> dict[str, dict[str, Any]]:
    _, listing, _ = call(client, "GET", f"/studies/{cast.study_id}/invitations?limit=100", headers=cast.owner.headers)
    return {i["id"]: i for i in listing["items"]}


def _revocations(client: Client, cast: StudyCast) -> dict[str, dict[str, Any]]:
    _, log, _ = call(client, "GET", f"/studies/{cast.study_id}/audit?limit=100", headers=cast.owner.headers)
    return {e["target"].removeprefix("invitation:"): e for e in log["items"] if e["action"] == "invitation.revoked"}


def test_a_removed_admins_pending_invitations_are_revoked_and_only_theirs(
    client: Client,
    deps: Dependencies,
    cast: StudyCast,
    person: Callable[..., Person],
    mail_queue: RecordingMailQueue,
) -> None:
    # GIVEN the admin's invitations: two pending, one accepted, one declined; and one pending from the owner
    pending = [_invite(client, cast, person, cast.admin, role) for role in ("admin", "viewer")]
    accepted_id, accepter = _invite(client, cast, person, cast.admin)
    declined_id, decliner = _invite(client, cast, person, cast.admin)
    owners_id, _ = _invite(client, cast, person, cast.owner)
    for invitation_id, who, answer in ((accepted_id, accepter, "accept"), (declined_id, decliner, "decline")):
        token = mail_queue.last_token_for(invitation_id)
        assert call(client, "POST", f"/invitations/{answer}", headers=who.headers, body={"token": token})[0] in (
            200,
            204,
        )

    # WHEN the owner removes the admin, and the mail worker takes the message that leaves
    url = _MEMBERS.format(study=cast.study_id, member=cast.admin.id)
    assert call(client, "DELETE", url, headers=cast.owner.headers)[0] == 204
    [message] = _stood_down(mail_queue, cast)
    queued = len(mail_queue.messages)
    assert _run_mail_worker(deps, [message]) == {"batchItemFailures": []}

    # THEN exactly the admin's pending invitations are revoked, each audited with the reason and who did it
    statuses = {i: v["status"] for i, v in _invitations(client, cast).items()}
    assert [statuses[i] for i, _ in pending] == ["revoked", "revoked"]
    assert (statuses[accepted_id], statuses[declined_id], statuses[owners_id]) == ("accepted", "declined", "pending")
    revocations = _revocations(client, cast)
    assert set(revocations) == {i for i, _ in pending}
    assert {(e["actor_id"], e["detail"]) for e in revocations.values()} == {
        (cast.owner.id, "its inviter was removed from the study")
    }
    # nobody is mailed about it
    assert len(mail_queue.messages) == queued
    # AND the link of a revoked invitation is refused as any spent link is, and admits nobody
    for invitation_id, invitee in pending:
        token = mail_queue.last_token_for(invitation_id)
        status, problem, _ = call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})
        assert status == 404, problem
        assert "revoked" in problem["detail"]
        assert call(client, "GET", f"/studies/{cast.study_id}", headers=invitee.headers)[0] == 404
    # AND the message delivered again revokes nothing twice
    assert _run_mail_worker(deps, [message]) == {"batchItemFailures": []}
    assert _revocations(client, cast).keys() == revocations.keys()


def test_a_demoted_admins_pending_invitations_are_revoked(
    client: Client,
    deps: Dependencies,
    cast: StudyCast,
    person: Callable[..., Person],
    mail_queue: RecordingMailQueue,
) -> None:
    invitation_id, invitee = _invite(client, cast, person, cast.admin, "viewer")
    url = _MEMBERS.format(study=cast.study_id, member=cast.admin.id)

    changed = call(client, "PATCH", url, headers=cast.owner.headers, body={"role": "contributor"})
    assert changed[0] == 200, changed
    assert _run_mail_worker(deps, _stood_down(mail_queue, cast)) == {"batchItemFailures": []}

    assert _invitations(client, cast)[invitation_id]["status"] == "revoked"
    assert _revocations(client, cast)[invitation_id]["detail"] == "its inviter is no longer an admin of the study"
    token = mail_queue.last_token_for(invitation_id)
    assert call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})[0] == 404


def test_an_admin_who_leaves_has_their_pending_invitations_revoked(
    client: Client,
    deps: Dependencies,
    cast: StudyCast,
    person: Callable[..., Person],
    mail_queue: RecordingMailQueue,
) -> None:
    invitation_id, _ = _invite(client, cast, person, cast.admin)
    url = _MEMBERS.format(study=cast.study_id, member=cast.admin.id)

    assert call(client, "DELETE", url, headers=cast.admin.headers)[0] == 204
    assert _run_mail_worker(deps, _stood_down(mail_queue, cast)) == {"batchItemFailures": []}

    revocation = _revocations(client, cast)[invitation_id]
    assert (revocation["actor_id"], revocation["detail"]) == (cast.admin.id, "its inviter left the study")


def test_an_admin_promoted_or_a_contributor_removed_revokes_nothing(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitation_id, _ = _invite(client, cast, person, cast.admin)
    owner = cast.owner.headers

    assert (
        call(
            client,
            "PATCH",
            _MEMBERS.format(study=cast.study_id, member=cast.admin.id),
            headers=owner,
            body={"role": "admin"},
        )[0]
        == 200
    )
    assert (
        call(client, "DELETE", _MEMBERS.format(study=cast.study_id, member=cast.contributor.id), headers=owner)[0]
        == 204
    )

    assert _stood_down(mail_queue, cast) == []
    assert _invitations(client, cast)[invitation_id]["status"] == "pending"
