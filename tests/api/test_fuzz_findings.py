"""What the contract fuzzer (tests/contract/test_fuzz.py) found, each pinned here so it stays fixed."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from chalicelib.api.service import openapi_document
from tests.conftest import StudyCast
from tests.support.api import call


def _responses(path: str, method: str) -> dict[str, Any]:
    openapi_document.cache_clear()
    responses: dict[str, Any] = openapi_document()["paths"][path][method]["responses"]
    return responses


def test_inviting_the_same_email_again_answers_the_200_the_document_declares(client: Client, cast: StudyCast) -> None:
    # The document declared only 201, so the resend's 200 was an undocumented answer.
    path = f"/studies/{cast.study_id}/invitations"
    body = {"email": "again@uni.example", "role": "viewer"}
    first, invitation, _ = call(client, "POST", path, headers=cast.admin.headers, body=body)

    again, resent, _ = call(client, "POST", path, headers=cast.admin.headers, body=body)

    assert (first, again) == (201, 200)
    assert resent["id"] == invitation["id"]
    responses = _responses("/studies/{study_id}/invitations", "post")
    assert responses["200"] == responses["201"]
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/InvitationView"}


def test_a_member_cannot_be_made_owner_and_the_document_does_not_offer_it(client: Client, cast: StudyCast) -> None:
    # The document offered "owner" for a member's role, which every request was refused.
    openapi_document.cache_clear()
    schemas = openapi_document()["components"]["schemas"]
    offered = schemas["MemberUpdate"]["properties"]["role"]["enum"]

    status, problem, _ = call(
        client,
        "PATCH",
        f"/studies/{cast.study_id}/members/{cast.admin.researcher.id}",
        headers=cast.owner.headers,
        body={"role": "owner"},
    )

    assert sorted(offered) == ["admin", "contributor", "viewer"]
    assert status == 422
    assert [error["field"] for error in problem["errors"]] == ["role"]
