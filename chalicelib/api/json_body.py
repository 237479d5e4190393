"""Decoding a JSON request body into its typed struct: the one path every route's body takes.

msgspec is the decoder, but two things it lets through must be a 400 rather than a 500 or a
silent choice: nesting deeper than any decoder goes (a `RecursionError`, e.g. `[[[[...]]]]`
100k deep) and an object naming one key twice (`{"role": "viewer", "role": "admin"}` would
otherwise mean whichever the decoder keeps, and a proxy or log reader may keep the other).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec

from chalicelib.errors import BadRequestError, FieldError, ValidationError

MALFORMED = "The request body is not well-formed JSON."


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> None:
    """json's object hook: a repeated key is an error; the decoded value itself is never used."""
    if len(pairs) > 1:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)


def _check_duplicate_keys(raw: bytes) -> None:
    # Every key is followed by a `:`; a body with fewer than two cannot repeat one and skips the scan.
    if raw.count(b":") < 2:
        return
    try:
        json.loads(raw, object_pairs_hook=_no_duplicates)
    except _DuplicateKeyError as exc:
        raise BadRequestError(
            detail=f"The request body names the key {exc.key!r} more than once.",
            errors=[FieldError(exc.key, "duplicate key")],
        ) from None
    except (ValueError, RecursionError) as exc:
        # msgspec accepted what json refuses (it should not happen): malformed all the same.
        raise BadRequestError(detail=MALFORMED) from exc


def decode_body(raw: bytes, schema: type, field_errors: Callable[[msgspec.ValidationError], list[FieldError]]) -> Any:
    """`raw` as `schema`: 400 if it is not JSON (or too deep, or repeats a key), 422 if not the schema."""
    malformed = BadRequestError(detail=MALFORMED)
    try:
        value: Any = msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as exc:
        # msgspec stops at the first mismatch; malformed JSON further on is still a 400.
        try:
            msgspec.json.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            raise malformed from exc
        _check_duplicate_keys(raw)
        raise ValidationError(detail="The request body is not valid.", errors=field_errors(exc)) from exc
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        # Bytes that are not UTF-8 are as malformed as broken JSON; so is nesting no decoder follows.
        raise malformed from exc
    _check_duplicate_keys(raw)
    return value
