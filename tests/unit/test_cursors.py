"""List cursors: a start key survives the round trip, and any altered or borrowed cursor is a 400."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.cursors import decode_cursor, encode_cursor
from chalicelib.errors import BadRequestError

KEY = "cursor-test-key"
SCOPE = "study-members:abc"
START: dict[str, Any] = {"study_id": {"S": "abc"}, "researcher_id": {"S": "r-7"}}


def cursor(start: dict[str, Any] = START, *, scope: str = SCOPE, key: str = KEY) -> str:
    made = encode_cursor(start, scope=scope, key=key)
    assert made is not None
    return made


def test_cursor_round_trips_the_start_key() -> None:
    assert decode_cursor(cursor(), scope=SCOPE, key=KEY) == START


def test_cursor_is_url_safe() -> None:
    assert all(c.isalnum() or c in "-_." for c in cursor())


def test_end_of_list_has_no_cursor() -> None:
    assert encode_cursor(None, scope=SCOPE, key=KEY) is None


def test_tampered_payload_is_refused() -> None:
    forged = cursor({"study_id": {"S": "abc"}, "researcher_id": {"S": "r-0"}})
    _, mac = cursor().split(".")

    with pytest.raises(BadRequestError):
        decode_cursor(f"{forged.split('.')[0]}.{mac}", scope=SCOPE, key=KEY)


def test_tampered_mac_is_refused() -> None:
    payload, mac = cursor().split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]

    with pytest.raises(BadRequestError):
        decode_cursor(f"{payload}.{flipped}", scope=SCOPE, key=KEY)


def test_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(BadRequestError):
        decode_cursor(cursor(scope="study-members:other"), scope=SCOPE, key=KEY)


def test_cursor_signed_with_another_key_is_refused() -> None:
    with pytest.raises(BadRequestError):
        decode_cursor(cursor(key="other-key"), scope=SCOPE, key=KEY)


@pytest.mark.parametrize("garbage", ["", ".", "no-dot", "abc.def", "!!!.???", "é.é", "a.b.c", "e30.x"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(BadRequestError) as raised:
        decode_cursor(garbage, scope=SCOPE, key=KEY)

    assert raised.value.status == 400
    assert [e.field for e in raised.value.errors] == ["cursor"]


def test_each_refusal_is_a_fresh_error() -> None:
    errors = []
    for garbage in ("no-dot", "no-dot"):
        with pytest.raises(BadRequestError) as raised:
            decode_cursor(garbage, scope=SCOPE, key=KEY)
        errors.append(raised.value)

    assert errors[0] is not errors[1]
