"""Bad input from anyone gets a problem document with the right 4xx, and nothing changes in the tables."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib.models.researchers import ResearcherRecord
from tests.conftest import Person, StudyCast
from tests.support.api import call, snapshot
from tests.support.tusd import post_hook

LONG = "x" * 10_000


def assert_problem(status: int, payload: Any, headers: dict[str, str], expected: int) -> None:
    assert status == expected, payload
    assert headers["Content-Type"] == "application/problem+json"
    assert payload["status"] == expected
    assert payload["title"]
    assert payload["type"].startswith("https://")


# (method, path, raw body or JSON body, expected status, field named in `errors` if any)
BODY_CASES: list[tuple[str, str, Any, int, str | None]] = [
    ("POST", "/studies", b'{"name": "unterminated', 400, None),
    ("POST", "/studies", b"[1, 2", 400, None),
    ("POST", "/studies", b"", 400, None),
    ("POST", "/studies", b'{"name": "caf\xe9"}', 400, None),  # Latin-1, not UTF-8
    ("POST", "/studies", b"[" * 100_000 + b"]" * 100_000, 400, None),  # deeper than any decoder goes
    ("POST", "/studies", {"name": 5}, 422, "name"),
    ("POST", "/studies", {"name": ""}, 422, "name"),
    ("POST", "/studies", {"name": "   "}, 422, "name"),
    ("POST", "/studies", {"name": LONG}, 422, "name"),
    ("POST", "/studies", {"name": "ok", "colour": "red"}, 422, "colour"),
    ("POST", "/studies", {}, 422, "name"),
    ("POST", "/studies", ["name"], 422, "body"),
    ("POST", "/studies", {"name": "ok", "description": LONG}, 422, "description"),
    ("POST", "/studies", {"name": "ok", "research_field": "alchemy"}, 422, "research_field"),
    ("POST", "/studies", {"name": "ok", "research_field": "../../etc"}, 422, "research_field"),
    ("PATCH", "/me", b"{", 400, None),
    ("PATCH", "/me", {"locale": "fr"}, 422, "locale"),
    ("PATCH", "/me", {"name": None}, 422, "name"),
    ("PATCH", "/me", {"name": LONG}, 422, "name"),
    ("PATCH", "/me", {"phone": "call me maybe"}, 422, "phone"),
    ("PATCH", "/me", {"is_admin": True}, 422, "is_admin"),
    ("PATCH", "/me", {"research_field": "alchemy"}, 422, "research_field"),
    ("PATCH", "/studies/{study_id}", {"name": ""}, 422, "name"),
    ("PATCH", "/studies/{study_id}", {"version": "one"}, 422, "version"),
    ("PATCH", "/studies/{study_id}", {"owner_id": "someone"}, 422, "owner_id"),
    ("PATCH", "/studies/{study_id}", b"null", 422, "body"),
    ("POST", "/studies/{study_id}/transfer", {}, 422, "researcher_id"),
    ("POST", "/studies/{study_id}/transfer", {"researcher_id": "not-a-member"}, 422, "researcher_id"),
    ("POST", "/studies/{study_id}/transfer", {"researcher_id": LONG}, 422, "researcher_id"),
    ("PATCH", "/studies/{study_id}/members/{admin_id}", {"role": "superuser"}, 422, "role"),
    ("PATCH", "/studies/{study_id}/members/{admin_id}", {"role": "owner"}, 422, "role"),
    ("PATCH", "/studies/{study_id}/members/{admin_id}", {"role": ["admin"]}, 422, "role"),
    # One key twice means whichever the decoder keeps: refused, valid or not, on every route.
    ("PATCH", "/studies/{study_id}/members/{admin_id}", b'{"role": "viewer", "role": "admin"}', 400, "role"),
    ("POST", "/studies", b'{"name": "a", "name": "b"}', 400, "name"),
    ("POST", "/studies", b'{"name": "ok", "colour": 1, "colour": 2}', 400, "colour"),
    ("PATCH", "/me", b'{"name": "x", "settings": {"a": 1, "a": 2}}', 400, "a"),
    ("PATCH", "/me", b'{"name": "x", "name": null}', 400, "name"),
]


@pytest.mark.parametrize(("method", "path", "body", "expected", "field"), BODY_CASES)
def test_bad_bodies_are_refused_and_change_nothing(
    client: Client, cast: StudyCast, method: str, path: str, body: Any, expected: int, field: str | None
) -> None:
    url = path.format(study_id=cast.study_id, admin_id=cast.admin.id)
    raw = body if isinstance(body, bytes) else None
    json_body = None if isinstance(body, bytes) else body
    before = snapshot()

    status, payload, headers = call(client, method, url, headers=cast.owner.headers, body=json_body, raw=raw)

    assert_problem(status, payload, headers, expected)
    if field is not None:
        assert field in {error["field"] for error in payload["errors"]}, payload
    assert snapshot() == before


QUERY_CASES = [
    ("/studies?limit=0", 400),
    ("/studies?limit=101", 400),
    ("/studies?limit=abc", 400),
    ("/studies?cursor=garbage", 400),
    ("/studies?cursor=" + "A" * 5000, 400),
    ("/universities?cursor=eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", 400),
    ("/admin/studies?limit=0", 400),
    ("/admin/studies?cursor=garbage", 400),
    ("/admin/audit?limit=101", 400),
    ("/admin/audit?cursor=" + "A" * 5000, 400),
]


@pytest.mark.parametrize(("url", "expected"), QUERY_CASES)
def test_bad_queries_are_400(client: Client, cast: StudyCast, url: str, expected: int) -> None:
    caller = cast.platform_admin if url.startswith("/admin/") else cast.owner
    status, payload, headers = call(client, "GET", url, headers=caller.headers)

    assert_problem(status, payload, headers, expected)


def test_a_tampered_cursor_is_400(client: Client, cast: StudyCast) -> None:
    status, page, _ = call(client, "GET", "/universities?limit=2", headers=cast.owner.headers)
    assert status == 200
    cursor = page["next_cursor"]
    tampered = ("B" if cursor[0] != "B" else "C") + cursor[1:]

    status, payload, headers = call(
        client, "GET", f"/universities?limit=2&cursor={tampered}", headers=cast.owner.headers
    )

    assert_problem(status, payload, headers, 400)
    assert payload["errors"] == [{"field": "cursor", "message": "invalid"}]


def test_a_cursor_from_another_list_is_400(client: Client, cast: StudyCast) -> None:
    _, page, _ = call(client, "GET", "/universities?limit=2", headers=cast.owner.headers)

    status, payload, headers = call(
        client, "GET", f"/research-fields?limit=2&cursor={page['next_cursor']}", headers=cast.owner.headers
    )

    assert_problem(status, payload, headers, 400)


def test_a_cursor_replayed_by_another_caller_is_400(client: Client, cast: StudyCast) -> None:
    """The same list (the same route and filters) for two researchers: a cursor is the caller's own."""
    status, page, _ = call(client, "GET", "/universities?limit=2", headers=cast.owner.headers)
    assert status == 200
    cursor = page["next_cursor"]
    assert cursor
    status, _, _ = call(client, "GET", f"/universities?limit=2&cursor={cursor}", headers=cast.owner.headers)
    assert status == 200

    status, payload, headers = call(
        client, "GET", f"/universities?limit=2&cursor={cursor}", headers=cast.viewer.headers
    )

    assert_problem(status, payload, headers, 400)
    assert payload["errors"] == [{"field": "cursor", "message": "invalid"}]


def test_nesting_deeper_than_the_decoder_in_a_raw_hook_field_is_400(client: Client) -> None:
    """The tusd hook keeps `Upload` raw; a body 100k deep there once escaped the decode as a 500."""
    deep = b"[" * 100_000 + b"]" * 100_000

    status, payload, headers = post_hook(client, raw=b'{"Upload": ' + deep + b"}")

    assert_problem(status, payload, headers, 400)


def test_a_duplicate_key_in_a_hook_body_is_400(client: Client) -> None:
    status, payload, headers = post_hook(client, raw=b'{"Type": "pre-create", "Type": "post-finish"}')

    assert_problem(status, payload, headers, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/studies/0123456789abcdef0123456789abcdef",
        "/studies/" + "a" * 300,
        "/studies/bad%20id",
        "/studies/{study_id}/members/0123456789abcdef0123456789abcdef",
    ],
)
def test_unknown_or_malformed_ids_are_404(client: Client, cast: StudyCast, path: str) -> None:
    before = snapshot()

    for method, body in (("GET", None), ("PATCH", {"role": "viewer"}), ("DELETE", None)):
        if method == "GET" and "/members/" in path:
            continue
        status, payload, headers = call(
            client, method, path.format(study_id=cast.study_id), headers=cast.owner.headers, body=body
        )
        assert_problem(status, payload, headers, 404)
    assert snapshot() == before


def test_wrong_media_type_is_415(client: Client, cast: StudyCast) -> None:
    before = snapshot()

    status, payload, headers = call(
        client, "POST", "/studies", headers=cast.owner.headers, raw="name=x", content_type="text/plain"
    )

    assert_problem(status, payload, headers, 415)
    assert snapshot() == before


def test_an_oversized_body_is_413(client: Client, cast: StudyCast) -> None:
    before = snapshot()

    status, payload, headers = call(
        client, "POST", "/studies", headers=cast.owner.headers, body={"name": "x" * 1_048_576}
    )

    assert_problem(status, payload, headers, 413)
    assert snapshot() == before


def test_an_unsupported_method_is_a_405_problem(client: Client, cast: StudyCast) -> None:
    status, payload, headers = call(client, "PUT", "/studies", headers=cast.owner.headers, body={"name": "x"})

    assert_problem(status, payload, headers, 405)
    assert "GET" in headers["Allow"]


def test_a_token_for_a_deleted_researcher_is_401(client: Client, cast: StudyCast, person: Any) -> None:
    gone: Person = person("gone")
    ResearcherRecord.get(gone.id).delete()
    before = snapshot()

    for method, path in (("GET", "/me"), ("GET", "/studies"), ("GET", f"/studies/{cast.study_id}")):
        status, payload, headers = call(client, method, path, headers=gone.headers)
        assert_problem(status, payload, headers, 401)
    status, payload, headers = call(client, "POST", "/studies", headers=gone.headers, body={"name": "x"})
    assert_problem(status, payload, headers, 401)
    assert snapshot() == before


def test_a_stale_version_is_409_and_changes_nothing(client: Client, cast: StudyCast) -> None:
    url = f"/studies/{cast.study_id}"
    _, study, _ = call(client, "GET", url, headers=cast.owner.headers)
    status, _, _ = call(
        client, "PATCH", url, headers=cast.owner.headers, body={"name": "First", "version": study["version"]}
    )
    assert status == 200
    before = snapshot()

    status, payload, headers = call(
        client, "PATCH", url, headers=cast.admin.headers, body={"name": "Second", "version": study["version"]}
    )

    assert_problem(status, payload, headers, 409)
    assert snapshot() == before
