"""Platform admins across studies: every study, and the platform's audit log with what they did outside any study."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.test import Client

from tests.conftest import Person
from tests.support.api import call

NETWORK = {"name": "Lab net", "price_per_day": "0.10", "network": "lab"}


def pages(client: Client, caller: Person, path: str, limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a list, following the cursors."""
    found: list[list[dict[str, Any]]] = []
    url = f"{path}?limit={limit}"
    while url:
        status, page, _ = call(client, "GET", url, headers=caller.headers)
        assert status == 200, page
        found.append(page["items"])
        url = f"{path}?limit={limit}&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    return found


def test_platform_admins_page_through_every_study_newest_first_with_its_quota(
    client: Client, person: Callable[..., Person]
) -> None:
    # GIVEN three studies of three researchers, the newest with a quota override
    admin = person("admin", is_admin=True)
    ids = []
    for name in ("ann", "bob", "cas"):
        status, study, _ = call(client, "POST", "/studies", headers=person(name).headers, body={"name": f"{name}'s"})
        assert status == 201
        ids.append(study["id"])
    status, _, _ = call(client, "PATCH", f"/admin/studies/{ids[2]}", headers=admin.headers, body={"max_vcpus": 64})
    assert status == 200

    listed = pages(client, admin, "/admin/studies", 2)

    assert [[s["id"] for s in page] for page in listed] == [[ids[2], ids[1]], [ids[0]]]
    assert (listed[0][0]["max_vcpus"], listed[0][0]["max_workspaces"], listed[0][1]["max_vcpus"]) == (64, None, None)
    assert listed[1][0]["name"] == "ann's"


def test_the_platform_log_holds_every_study_entry_and_what_admins_did_outside_studies(
    client: Client, person: Callable[..., Person]
) -> None:
    # GIVEN a study, then an admin who disables an account and edits the catalog
    admin, ivo, ann = person("admin", is_admin=True), person("ivo"), person("ann")
    _, study, _ = call(client, "POST", "/studies", headers=ann.headers, body={"name": "Cohort"})
    assert (
        call(client, "PATCH", f"/admin/researchers/{ivo.id}", headers=admin.headers, body={"disabled": True})[0] == 200
    )
    assert call(client, "PUT", "/admin/catalog/networks/lab", headers=admin.headers, body=NETWORK)[0] == 200
    assert call(client, "DELETE", "/admin/catalog/networks/lab", headers=admin.headers)[0] == 204

    # WHEN nothing changes: the same PATCH again, and a delete of what is gone
    assert (
        call(client, "PATCH", f"/admin/researchers/{ivo.id}", headers=admin.headers, body={"disabled": True})[0] == 200
    )
    assert call(client, "DELETE", "/admin/catalog/networks/lab", headers=admin.headers)[0] == 404

    # THEN the log shows each change once, newest first; the platform's own entries have no study
    entries = [entry for page in pages(client, admin, "/admin/audit", 2) for entry in page]
    seen = [(e["action"], e["target"], e["study_id"], e["actor_id"], e["detail"]) for e in entries]
    assert seen == [
        ("catalog.deleted", "catalog:networks/lab", None, admin.id, ""),
        ("catalog.saved", "catalog:networks/lab", None, admin.id, "Lab net, 0.10 per day"),
        ("researcher.updated", f"researcher:{ivo.id}", None, admin.id, "disabled: false -> true"),
        *[(e["action"], e["target"], study["id"], ann.id, e["detail"]) for e in entries[3:]],
    ]
    assert len(entries) > 3
    # AND the study's own log is the study's entries, none of the platform's
    _, own, _ = call(client, "GET", f"/studies/{study['id']}/audit", headers=ann.headers)
    assert [e["id"] for e in own["items"]] == [e["id"] for e in entries[3:]]
