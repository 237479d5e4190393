"""Studies over HTTP: create, list with cursors, read, edit, delete, transfer, upload code, audit."""

from __future__ import annotations

from collections.abc import Callable

from chalice.test import Client

from tests.conftest import Person, StudyCast
from tests.support.api import call


def test_create_answers_201_with_location_and_makes_the_caller_owner(
    client: Client, person: Callable[..., Person]
) -> None:
    alice = person("alice")

    status, study, headers = call(
        client,
        "POST",
        "/studies",
        headers=alice.headers,
        body={"name": "  Sleep and memory  ", "description": "Cohort", "research_field": "psychology"},
    )

    assert status == 201
    assert headers["Location"] == f"/studies/{study['id']}"
    assert study["name"] == "Sleep and memory"
    assert study["role"] == "owner"
    assert study["owner_id"] == alice.id
    assert study["member_count"] == 1
    assert study["research_field"] == "psychology"
    assert study["upload_url"].startswith("https://upload.test/u/")
    _, fetched, _ = call(client, "GET", headers["Location"], headers=alice.headers)
    assert fetched == study


def test_list_pages_through_every_study_of_the_caller_once(client: Client, person: Callable[..., Person]) -> None:
    bob = person("bob")
    created = {call(client, "POST", "/studies", headers=bob.headers, body={"name": f"S{i}"})[1]["id"] for i in range(7)}
    person_with_other_study = person("carol")
    call(client, "POST", "/studies", headers=person_with_other_study.headers, body={"name": "Not Bob's"})

    seen: list[str] = []
    url = "/studies?limit=3"
    while True:
        status, page, _ = call(client, "GET", url, headers=bob.headers)
        assert status == 200
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        assert all(item["role"] == "owner" for item in page["items"])
        if page["next_cursor"] is None:
            break
        url = f"/studies?limit=3&cursor={page['next_cursor']}"

    assert sorted(seen) == sorted(created)


def test_upload_url_is_shown_to_contributors_and_up_only(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"
    shown = {}
    for role in ("viewer", "contributor", "admin", "owner", "platform_admin"):
        _, study, _ = call(client, "GET", url, headers=cast.by_role(role).headers)
        shown[role] = "upload_url" in study

    assert shown == {"viewer": False, "contributor": True, "admin": True, "owner": True, "platform_admin": False}


def test_edit_changes_fields_bumps_version_and_is_audited(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"
    _, before, _ = call(client, "GET", url, headers=cast.admin.headers)

    status, after, _ = call(
        client, "PATCH", url, headers=cast.admin.headers, body={"name": "Renamed", "research_field": "medicine"}
    )

    assert status == 200
    assert after["name"] == "Renamed"
    assert after["research_field"] == "medicine"
    assert after["description"] == before["description"]
    assert after["version"] == before["version"] + 1
    _, audit, _ = call(client, "GET", f"{url}/audit", headers=cast.owner.headers)
    latest = audit["items"][0]
    assert latest["action"] == "study.updated"
    assert latest["actor_id"] == cast.admin.id
    assert latest["outcome"] == "success"
    assert latest["detail"] == "changed name, research_field"


def test_clearing_the_research_field_with_null(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"
    call(client, "PATCH", url, headers=cast.owner.headers, body={"research_field": "law"})

    status, study, _ = call(client, "PATCH", url, headers=cast.owner.headers, body={"research_field": None})

    assert status == 200
    assert study["research_field"] is None


def test_a_refused_change_by_a_member_is_audited_as_denied(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"

    status, _, _ = call(client, "PATCH", url, headers=cast.contributor.headers, body={"name": "Mine now"})

    assert status == 403
    _, audit, _ = call(client, "GET", f"{url}/audit", headers=cast.owner.headers)
    latest = audit["items"][0]
    assert (latest["action"], latest["actor_id"], latest["outcome"]) == ("study.updated", cast.contributor.id, "denied")


def test_delete_removes_the_study_for_everyone(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"

    status, _, _ = call(client, "DELETE", url, headers=cast.owner.headers)

    assert status == 204
    for role in ("owner", "admin", "viewer", "platform_admin"):
        assert call(client, "GET", url, headers=cast.by_role(role).headers)[0] == 404
    _, listing, _ = call(client, "GET", "/studies", headers=cast.admin.headers)
    assert cast.study_id not in {item["id"] for item in listing["items"]}


def test_transfer_makes_the_member_owner_and_the_old_owner_admin(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"

    status, study, _ = call(
        client, "POST", f"{url}/transfer", headers=cast.owner.headers, body={"researcher_id": cast.viewer.id}
    )

    assert status == 200
    assert study["owner_id"] == cast.viewer.id
    assert study["role"] == "admin"
    _, members, _ = call(client, "GET", f"{url}/members", headers=cast.owner.headers)
    roles = {m["researcher_id"]: m["role"] for m in members["items"]}
    assert roles[cast.viewer.id] == "owner"
    assert roles[cast.owner.id] == "admin"
    assert call(client, "DELETE", url, headers=cast.owner.headers)[0] == 403
    assert call(client, "DELETE", url, headers=cast.viewer.headers)[0] == 204


def test_rotating_the_upload_code_replaces_it(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"
    _, before, _ = call(client, "GET", url, headers=cast.owner.headers)

    status, fresh, _ = call(client, "POST", f"{url}/upload-code", headers=cast.admin.headers)

    assert status == 200
    assert fresh["upload_url"] == "https://upload.test/u/" + fresh["upload_code"]
    assert fresh["upload_url"] != before["upload_url"]
    assert len(fresh["upload_code"]) >= 22  # at least 128 bits, URL-safe base64
    _, after, _ = call(client, "GET", url, headers=cast.owner.headers)
    assert after["upload_url"] == fresh["upload_url"]


def test_audit_log_pages_newest_first(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"
    for name in ("One", "Two", "Three"):
        call(client, "PATCH", url, headers=cast.owner.headers, body={"name": name})

    _, first, _ = call(client, "GET", f"{url}/audit?limit=2", headers=cast.owner.headers)
    _, second, _ = call(client, "GET", f"{url}/audit?limit=2&cursor={first['next_cursor']}", headers=cast.owner.headers)

    entries = first["items"] + second["items"]
    times = [e["at"] for e in entries]
    assert times == sorted(times, reverse=True)
    assert len({e["id"] for e in entries}) == 4
    assert [e["action"] for e in entries[:3]] == ["study.updated"] * 3
