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


def test_the_drop_offs_upload_secret_header_is_filtered() -> None:
    event = {"request": {"headers": {"Upload-Secret": "study.s3cr3t", "Content-Type": "application/json"}}}

    scrubbed = scrub(event)

    assert scrubbed["request"]["headers"] == {"Upload-Secret": FILTERED, "Content-Type": "application/json"}
