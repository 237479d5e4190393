"""What reaches Sentry: the query string without tusd's hook secret or the login callback's code."""

from __future__ import annotations

from typing import Any

from chalicelib.observability import FILTERED, scrub_event


def scrub(event: Any) -> Any:
    """An event as Sentry's SDK hands it to `before_send` (a plain dict at run time)."""
    return scrub_event(event, {})


def test_the_hook_secret_is_filtered_from_a_query_string_mapping() -> None:
    event = {"request": {"url": "https://api/hooks/tusd", "query_string": {"secret": "s3cr3t"}}}

    scrubbed = scrub(event)

    assert scrubbed["request"]["query_string"] == {"secret": FILTERED}
    assert "s3cr3t" not in repr(scrubbed)


def test_credentials_are_filtered_from_a_raw_query_string_and_the_rest_kept() -> None:
    event = {"request": {"query_string": "Secret=s3cr3t&limit=5&code=abc&state=xyz"}}

    scrubbed = scrub(event)

    query = scrubbed["request"]["query_string"]
    assert "s3cr3t" not in query
    assert "abc" not in query
    assert "xyz" not in query
    assert "limit=5" in query


def test_an_event_without_a_request_passes_unchanged() -> None:
    event = {"message": "boom", "request": "not a mapping"}

    assert scrub(event) == {"message": "boom", "request": "not a mapping"}


def test_secret_named_keys_are_filtered_at_any_depth_in_dicts_and_lists() -> None:
    event = {
        "request": {
            "headers": {"Authorization": "Bearer aaa", "X-Tusd-Hook-Secret": "bbb", "Accept": "*/*"},
            "cookies": {"vre_session": "ccc"},
            "data": {"login_code": "ddd", "items": [{"Upload_Code": "eee"}, {"name": "kept"}]},
        },
        "extra": {"deep": [[{"api_token": "fff", "access_token": "ggg", "upload_secret": "hhh"}]]},
        "contexts": {"oidc": {"code_verifier": "iii", "code": "jjj", "state": "kkk", "password": "lll"}},
        "breadcrumbs": {"values": [{"message": "hello", "data": {"token": "mmm", "status_code": 500}}]},
    }

    scrubbed = scrub(event)

    flat = repr(scrubbed)
    for secret in ("aaa", "bbb", "ccc", "ddd", "eee", "fff", "ggg", "hhh", "iii", "jjj", "kkk", "lll", "mmm"):
        assert secret not in flat
    assert scrubbed["request"]["headers"] == {
        "Authorization": FILTERED,
        "X-Tusd-Hook-Secret": FILTERED,
        "Accept": "*/*",
    }
    assert scrubbed["request"]["cookies"] == FILTERED
    assert scrubbed["request"]["data"]["items"] == [{"Upload_Code": FILTERED}, {"name": "kept"}]
    assert scrubbed["breadcrumbs"]["values"][0] == {"message": "hello", "data": {"token": FILTERED, "status_code": 500}}


def test_secret_named_values_are_filtered_from_free_text() -> None:
    event = {
        "exception": {"values": [{"type": "ValueError", "value": "bad login_code=abc123 for token: 'xyz789'"}]},
        "logentry": {"formatted": 'body {"invitation_token": "tok456", "limit": 5} with Authorization: Bearer sss'},
        "request": {"url": "https://api/auth/callback?code=c0de&state=st8&next=/studies"},
        "message": "status_code=500 and encode=utf-8 stay",
    }

    scrubbed = scrub(event)

    flat = repr(scrubbed)
    for secret in ("abc123", "xyz789", "tok456", "sss", "c0de", "st8"):
        assert secret not in flat
    assert scrubbed["exception"]["values"][0]["value"] == f"bad login_code={FILTERED} for token: '{FILTERED}'"
    assert '"limit": 5' in scrubbed["logentry"]["formatted"]
    assert scrubbed["request"]["url"].endswith("&next=/studies")
    assert scrubbed["message"] == "status_code=500 and encode=utf-8 stay"


def test_frame_locals_are_dropped_and_source_lines_kept() -> None:
    frame = {
        "function": "redeem_login_code",
        "context_line": "    taken = credentials.take(key(login_code=login_code))",
        "vars": {"researcher_id": "r-1", "message": "InvitationMessage(token='t0k')"},
    }
    event = {
        "exception": {"values": [{"type": "RuntimeError", "value": "boom", "stacktrace": {"frames": [frame]}}]},
        "threads": {"values": [{"id": 1, "stacktrace": {"frames": [dict(frame)]}}]},
    }

    scrubbed = scrub(event)

    for trace in (scrubbed["exception"]["values"][0]["stacktrace"], scrubbed["threads"]["values"][0]["stacktrace"]):
        (kept,) = trace["frames"]
        assert "vars" not in kept
        assert kept["context_line"] == frame["context_line"]
    assert "t0k" not in repr(scrubbed)
    assert "r-1" not in repr(scrubbed)


def test_scrubbing_stops_at_a_depth_no_event_reaches() -> None:
    nested: dict[str, Any] = {"value": "x"}
    for _ in range(40):
        nested = {"inner": nested}

    scrubbed = scrub({"extra": nested})

    assert FILTERED in repr(scrubbed)
    assert "'x'" not in repr(scrubbed)
