"""The caller's own profile."""

from __future__ import annotations

from collections.abc import Callable

from chalice.test import Client

from tests.conftest import Person
from tests.support.api import call


def test_me_shows_the_caller(client: Client, person: Callable[..., Person]) -> None:
    dana = person("dana")

    status, me, _ = call(client, "GET", "/me", headers=dana.headers)

    assert status == 200
    assert me["id"] == dana.id
    assert me["email"] == dana.researcher.email
    assert me["is_admin"] is False
    assert me["locale"] == "en"
    assert me["created_at"].endswith("Z")


def test_patch_me_changes_only_the_given_fields(client: Client, person: Callable[..., Person]) -> None:
    erik = person("erik")

    status, me, _ = call(
        client,
        "PATCH",
        "/me",
        headers=erik.headers,
        body={"locale": "nl", "research_field": "law", "phone": "+31 50 363"},
    )

    assert status == 200
    assert (me["locale"], me["research_field"], me["phone"], me["name"]) == ("nl", "law", "+31 50 363", "Erik")
    status, me, _ = call(client, "PATCH", "/me", headers=erik.headers, body={"phone": None})
    assert me["phone"] is None
    assert me["locale"] == "nl"
    assert call(client, "GET", "/me", headers=erik.headers)[1] == me


def test_reference_lists_are_seeded_and_paged(client: Client, person: Callable[..., Person]) -> None:
    fay = person("fay")

    _, universities, _ = call(client, "GET", "/universities?limit=100", headers=fay.headers)
    _, fields, _ = call(client, "GET", "/research-fields?limit=100", headers=fay.headers)

    ids = {u["id"] for u in universities["items"]}
    assert {"rug", "uva", "vu", "leiden", "uu", "tudelft", "tue", "utwente", "wur", "ru", "eur"} <= ids
    rug = next(u for u in universities["items"] if u["id"] == "rug")
    assert rug == {"id": "rug", "name": "Rijksuniversiteit Groningen", "schac_home_organization": "rug.nl"}
    assert {"psychology", "medicine", "law"} <= {f["id"] for f in fields["items"]}
