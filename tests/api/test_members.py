"""Members over HTTP: list with names, change roles, remove, leave."""

from __future__ import annotations

from chalice.test import Client

from tests.conftest import StudyCast
from tests.support.api import call


def test_members_are_listed_with_names_and_roles(client: Client, cast: StudyCast) -> None:
    status, page, _ = call(client, "GET", f"/studies/{cast.study_id}/members", headers=cast.viewer.headers)

    assert status == 200
    by_id = {m["researcher_id"]: m for m in page["items"]}
    assert {by_id[p.id]["role"] for p in (cast.owner, cast.admin, cast.contributor, cast.viewer)} == {
        "owner",
        "admin",
        "contributor",
        "viewer",
    }
    assert by_id[cast.admin.id]["name"] == cast.admin.researcher.name
    assert by_id[cast.admin.id]["email"] == cast.admin.researcher.email
    _, study, _ = call(client, "GET", f"/studies/{cast.study_id}", headers=cast.viewer.headers)
    assert study["member_count"] == 4


def test_an_admin_promotes_a_viewer_and_it_is_audited(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}/members/{cast.viewer.id}"

    status, member, _ = call(client, "PATCH", url, headers=cast.admin.headers, body={"role": "contributor"})

    assert status == 200
    assert member["role"] == "contributor"
    assert member["name"] == cast.viewer.researcher.name
    _, audit, _ = call(client, "GET", f"/studies/{cast.study_id}/audit", headers=cast.admin.headers)
    latest = audit["items"][0]
    assert (latest["action"], latest["target"], latest["detail"]) == (
        "member.role_changed",
        f"researcher:{cast.viewer.id}",
        "viewer -> contributor",
    )


def test_nobody_changes_the_owners_role_or_removes_the_owner(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}/members/{cast.owner.id}"

    assert call(client, "PATCH", url, headers=cast.admin.headers, body={"role": "viewer"})[0] == 403
    assert call(client, "DELETE", url, headers=cast.admin.headers)[0] == 403
    assert call(client, "DELETE", url, headers=cast.owner.headers)[0] == 409  # the owner cannot leave


def test_a_member_leaves_and_loses_access(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"

    status, _, _ = call(client, "DELETE", f"{url}/members/{cast.viewer.id}", headers=cast.viewer.headers)

    assert status == 204
    assert call(client, "GET", url, headers=cast.viewer.headers)[0] == 404
    _, audit, _ = call(client, "GET", f"{url}/audit", headers=cast.owner.headers)
    assert audit["items"][0]["action"] == "member.left"


def test_an_admin_removes_a_contributor(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"

    status, _, _ = call(client, "DELETE", f"{url}/members/{cast.contributor.id}", headers=cast.admin.headers)

    assert status == 204
    assert call(client, "GET", url, headers=cast.contributor.headers)[0] == 404
    _, study, _ = call(client, "GET", url, headers=cast.owner.headers)
    assert study["member_count"] == 3


def test_a_member_of_another_study_is_not_found_here(client: Client, cast: StudyCast) -> None:
    _, other, _ = call(client, "POST", "/studies", headers=cast.stranger.headers, body={"name": "Elsewhere"})

    url = f"/studies/{cast.study_id}/members/{cast.stranger.id}"
    assert call(client, "PATCH", url, headers=cast.owner.headers, body={"role": "admin"})[0] == 404
    assert call(client, "DELETE", url, headers=cast.owner.headers)[0] == 404
    # ...and this study's member is not found in the other study.
    url = f"/studies/{other['id']}/members/{cast.viewer.id}"
    assert call(client, "DELETE", url, headers=cast.stranger.headers)[0] == 404
