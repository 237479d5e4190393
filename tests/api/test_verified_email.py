# ruff: noqa: RUF001 - fullwidth letters are what these tests are about
"""Issue 13: an invitation binds only a verified email, compared in one normal form, and only while its
inviter may still grant the role it offers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from chalice.test import Client

from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import new_id, utcnow
from chalicelib.wiring import Dependencies
from tests.conftest import Person, RecordingMailQueue, StudyCast
from tests.support.api import call


def _invite(client: Client, cast: StudyCast, email: str, role: str = "contributor", by: Person | None = None) -> str:
    headers = (by or cast.admin).headers
    status, invitation, _ = call(
        client, "POST", f"/studies/{cast.study_id}/invitations", headers=headers, body={"email": email, "role": role}
    )
    assert status == 201, invitation
    return str(invitation["id"])


def _status_of(client: Client, cast: StudyCast, invitation_id: str) -> str:
    _, listing, _ = call(client, "GET", f"/studies/{cast.study_id}/invitations", headers=cast.owner.headers)
    return str(next(i["status"] for i in listing["items"] if i["id"] == invitation_id))


def test_an_unverified_email_cannot_accept_decline_or_list_its_invitations(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    # GIVEN an invitee whose identity provider did not verify their email
    invitee = person("unverified", email_verified=False)
    invitation_id = _invite(client, cast, invitee.researcher.email)
    token = mail_queue.last_token_for(invitation_id)
    assert call(client, "GET", "/me", headers=invitee.headers)[1]["email_verified"] is False

    # WHEN they list, accept and decline
    answers: list[tuple[int, Any]] = [
        call(client, "GET", "/me/invitations", headers=invitee.headers)[:2],
        call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})[:2],
        call(client, "POST", "/invitations/decline", headers=invitee.headers, body={"token": token})[:2],
    ]

    # THEN each is a 403 saying why, and the invitation is still pending
    for status, problem in answers:
        assert status == 403, problem
        assert "has not verified the email" in problem["detail"]
    assert _status_of(client, cast, invitation_id) == "pending"
    assert call(client, "GET", f"/studies/{cast.study_id}", headers=invitee.headers)[0] == 404


def test_fullwidth_and_casefolded_emails_are_one_address(
    client: Client, cast: StudyCast, deps: Dependencies, mail_queue: RecordingMailQueue
) -> None:
    # GIVEN an invitation to a fullwidth, mixed-case address, and a researcher with the plain form
    tag = uuid.uuid4().hex[:8]
    invitation_id = _invite(client, cast, f"ＡＬＩＣＥ.{tag}@Example.ORG")
    from chalicelib.auth.tokens import issue_session_token

    now = utcnow()
    alice = deps.researchers.add(
        Researcher(new_id(), f"alice.{tag}@example.org", "Alice", now, now, email_verified=True)
    )
    headers = {"Authorization": f"Bearer {issue_session_token(deps.token_policy, alice.id)}"}

    # WHEN she lists her invitations and accepts
    _, mine, _ = call(client, "GET", "/me/invitations", headers=headers)
    token = mail_queue.last_token_for(invitation_id)
    status, membership, _ = call(client, "POST", "/invitations/accept", headers=headers, body={"token": token})

    # THEN it is hers
    assert [i["id"] for i in mine["items"]] == [invitation_id]
    assert mine["items"][0]["email"] == f"alice.{tag}@example.org"
    assert status == 200, membership


def test_strasse_and_strasse_with_sharp_s_are_one_address(
    client: Client, cast: StudyCast, deps: Dependencies, mail_queue: RecordingMailQueue
) -> None:
    tag = uuid.uuid4().hex[:8]
    invitation_id = _invite(client, cast, f"Straße.{tag}@uni.example")
    from chalicelib.auth.tokens import issue_session_token

    now = utcnow()
    fritz = deps.researchers.add(
        Researcher(new_id(), f"strasse.{tag}@uni.example", "Fritz", now, now, email_verified=True)
    )
    headers = {"Authorization": f"Bearer {issue_session_token(deps.token_policy, fritz.id)}"}
    token = mail_queue.last_token_for(invitation_id)

    status, membership, _ = call(client, "POST", "/invitations/accept", headers=headers, body={"token": token})

    assert status == 200, membership


def test_an_invitation_from_a_removed_admin_admits_nobody(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    # GIVEN an admin's invitation to join as admin, and the admin removed from the study afterwards
    invitee = person("invitee")
    invitation_id = _invite(client, cast, invitee.researcher.email, role="admin")
    token = mail_queue.last_token_for(invitation_id)
    removed = call(
        client, "DELETE", f"/studies/{cast.study_id}/members/{cast.admin.researcher.id}", headers=cast.owner.headers
    )
    assert removed[0] == 204

    # WHEN the invitee accepts
    status, problem, _ = call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})

    # THEN they are refused, saying why, and are no member
    assert status == 403, problem
    assert "can no longer give the admin role" in problem["detail"]
    assert call(client, "GET", f"/studies/{cast.study_id}", headers=invitee.headers)[0] == 404


def test_an_invitation_from_a_demoted_admin_admits_nobody(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    invitee = person("invitee")
    invitation_id = _invite(client, cast, invitee.researcher.email, role="viewer")
    token = mail_queue.last_token_for(invitation_id)
    demoted = call(
        client,
        "PATCH",
        f"/studies/{cast.study_id}/members/{cast.admin.researcher.id}",
        headers=cast.owner.headers,
        body={"role": "contributor"},
    )
    assert demoted[0] == 200

    status, problem, _ = call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})

    assert status == 403, problem
    assert call(client, "GET", f"/studies/{cast.study_id}", headers=invitee.headers)[0] == 404


def test_an_invitation_from_the_owner_who_transferred_still_works(
    client: Client, cast: StudyCast, person: Callable[..., Person], mail_queue: RecordingMailQueue
) -> None:
    # The old owner stays on as admin, who may still grant every role an invitation offers.
    invitee = person("invitee")
    invitation_id = _invite(client, cast, invitee.researcher.email, role="admin", by=cast.owner)
    token = mail_queue.last_token_for(invitation_id)
    transferred = call(
        client,
        "POST",
        f"/studies/{cast.study_id}/transfer",
        headers=cast.owner.headers,
        body={"researcher_id": cast.admin.researcher.id},
    )
    assert transferred[0] == 200, transferred

    status, membership, _ = call(client, "POST", "/invitations/accept", headers=invitee.headers, body={"token": token})

    assert status == 200, membership
    assert membership["role"] == "admin"
