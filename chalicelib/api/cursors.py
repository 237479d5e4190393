"""Opaque list cursors: DynamoDB's next start key, signed and bound to the list it came from.

A cursor that was altered, or that belongs to another list, is a 400 rather than a start key
DynamoDB would reject (or worse, accept).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.errors import BadRequestError, FieldError


def _bad() -> BadRequestError:
    return BadRequestError(detail="The cursor is not valid for this list.", errors=[FieldError("cursor", "invalid")])


def _mac(key: str, scope: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), scope.encode() + b"\0" + payload, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(start: dict[str, Any] | None, *, scope: str, key: str) -> str | None:
    """The cursor for `start` in the list named by `scope`, or None at the end of the list."""
    if start is None:
        return None
    payload = json.dumps(start, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, scope, payload))}"


def decode_cursor(cursor: str, *, scope: str, key: str) -> dict[str, Any]:
    """The start key a cursor carries, or 400 if it was not made by us for this list."""
    payload_text, dot, mac_text = cursor.partition(".")
    if not dot:
        raise _bad()
    try:
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except ValueError as exc:
        raise _bad() from exc
    if not hmac.compare_digest(mac, _mac(key, scope, payload)):
        raise _bad()
    start = json.loads(payload)
    if not isinstance(start, dict):
        raise _bad()
    return start
