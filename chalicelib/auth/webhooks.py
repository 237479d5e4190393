"""Standard Webhooks signatures (https://www.standardwebhooks.com/): signing and checking, no HTTP.

A sender signs `<webhook-id>.<webhook-timestamp>.<raw body>` with HMAC-SHA256 under a shared
secret (`whsec_` + base64 of the key bytes) and sends `webhook-signature: v1,<base64 MAC>`, one
or more space-separated, so a secret can rotate: during a rotation the receiver holds both
secrets, and a signature made with either is accepted. The timestamp must be within a tolerance
of the receiver's clock, which bounds how long a captured request can be replayed; the id lets
the receiver drop a delivery it has already handled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.config import ConfigurationError
from chalicelib.errors import AuthenticationError

SECRET_PREFIX = "whsec_"
TOLERANCE = timedelta(minutes=5)
# The spec asks for 24 to 64 random bytes; fewer is a configuration mistake.
MIN_KEY_BYTES = 24
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"
# Ids become ledger keys: printable, no spaces, bounded.
_ID = re.compile(r"[\x21-\x7e]{1,128}")
# Plain ASCII digits, no sign, no spaces, no leading zero: the one way to write the time that is signed
# (the signature is checked over the number, so `0123` or `123\n` would otherwise pass for `123`).
_TIMESTAMP = re.compile(r"[1-9][0-9]{0,11}")
# A sender signs with each secret it holds; more than a handful is not a rotation.
MAX_SIGNATURES = 8


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    """The checked headers of a delivery."""

    webhook_id: str
    timestamp: datetime


def parse_secrets(value: str) -> tuple[bytes, ...]:
    """The keys in a space-separated list of `whsec_<base64>` secrets (the prefix may be left out)."""
    keys = []
    for secret in value.split():
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigurationError("a webhook secret is not whsec_ followed by base64") from exc
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(f"a webhook secret is shorter than {MIN_KEY_BYTES} bytes")
        keys.append(key)
    if not keys:
        raise ConfigurationError("no webhook secret is configured")
    return tuple(keys)


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` under `key`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign(keys: Sequence[bytes], webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a sender holding `keys` sends with `body` (one signature per key)."""
    return {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(signature(key, webhook_id, timestamp, body) for key in keys),
    }


def _refused(detail: str) -> AuthenticationError:
    return AuthenticationError(detail=detail, headers={"WWW-Authenticate": 'Signature realm="webhooks"'})


def verify(
    keys: Sequence[bytes],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    *,
    tolerance: timedelta = TOLERANCE,
) -> SignedDelivery:
    """Check a delivery's headers and signature over the raw `body`; 401 when anything is off.

    `headers` must look names up case-insensitively, as Chalice's request headers do.
    """
    webhook_id = headers.get(ID_HEADER) or ""
    raw_timestamp = headers.get(TIMESTAMP_HEADER) or ""
    signatures = headers.get(SIGNATURE_HEADER) or ""
    if not (webhook_id and raw_timestamp and signatures):
        raise _refused("A webhook needs the webhook-id, webhook-timestamp and webhook-signature headers.")
    if not _ID.fullmatch(webhook_id):
        raise _refused("The webhook-id header is not 1-128 printable characters without spaces.")
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        raise _refused("The webhook-timestamp header is not a Unix time in seconds.")
    seconds = int(raw_timestamp)
    if abs(now.timestamp() - seconds) > tolerance.total_seconds():
        window = int(tolerance.total_seconds())
        raise _refused(f"The webhook-timestamp is more than {window} s away from the broker's clock.")
    given = [_decoded(entry) for entry in signatures.split()[:MAX_SIGNATURES]]
    # Every pair is compared, in constant time each, whatever matches first.
    matched = False
    for key in keys:
        expected = base64.b64decode(signature(key, webhook_id, seconds, body)[3:])
        for candidate in given:
            matched |= candidate is not None and hmac.compare_digest(expected, candidate)
    if not matched:
        raise _refused("No webhook-signature matches the body under the broker's secret.")
    return SignedDelivery(webhook_id, datetime.fromtimestamp(seconds, tz=now.tzinfo))


def _decoded(entry: str) -> bytes | None:
    """The MAC of a `v1,<base64>` entry; None for another scheme or broken base64."""
    version, _, mac = entry.partition(",")
    if version != "v1":
        return None
    try:
        return base64.b64decode(mac, validate=True)
    except (binascii.Error, ValueError):
        return None
