"""The upload page's side of the drop-off, for tests: start, sign, PUT the parts to S3, complete."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import requests
from chalice.test import Client

from tests.support.api import call

PART = 5 * 1024**2  # the tests' UPLOAD_PART_BYTES


def sha_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def parts_of(data: bytes, part_size: int = PART) -> list[bytes]:
    return [data[i : i + part_size] for i in range(0, len(data), part_size)] or [b""]


@dataclass
class Started:
    upload_id: str
    secret: str
    answer: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Upload-Secret": self.secret}


def start(client: Client, code: str, name: str = "data.csv", size: int = 10, **extra: Any) -> tuple[int, Any]:
    status, payload, _ = call(
        client, "POST", "/dropoff/uploads", body={"upload_code": code, "filename": name, "size": size, **extra}
    )
    return status, payload


def started(client: Client, code: str, data: bytes, name: str = "data.csv", **extra: Any) -> Started:
    status, payload = start(client, code, name, len(data), **extra)
    assert status == 201, payload
    return Started(payload["upload_id"], payload["upload_secret"], payload)


def sign(client: Client, upload: Started, parts: dict[int, str]) -> tuple[int, Any]:
    body = {"parts": [{"number": n, "checksum_sha256": c} for n, c in parts.items()]}
    status, payload, _ = call(
        client, "POST", f"/dropoff/uploads/{upload.upload_id}/parts", headers=upload.headers, body=body
    )
    return status, payload


def put_parts(
    client: Client, upload: Started, pieces: dict[int, bytes], *, bodies: dict[int, bytes] | None = None
) -> None:
    """Sign each piece with its checksum and PUT it (or, from `bodies`, something else under that checksum)."""
    status, payload = sign(client, upload, {n: sha_b64(piece) for n, piece in pieces.items()})
    assert status == 200, payload
    for part in payload["parts"]:
        body = (bodies or {}).get(part["number"], pieces[part["number"]])
        response = requests.put(part["url"], data=body, headers=part["headers"], timeout=30)
        assert response.status_code == 200, response.text


def complete(client: Client, upload: Started, checksum: str) -> tuple[int, Any]:
    status, payload, _ = call(
        client,
        "POST",
        f"/dropoff/uploads/{upload.upload_id}/complete",
        headers=upload.headers,
        body={"checksum_sha256": checksum},
    )
    return status, payload


def send(client: Client, code: str, data: bytes, name: str = "data.csv", **extra: Any) -> tuple[Started, Any]:
    """A whole upload, as the page does it; the completed record."""
    upload = started(client, code, data, name, **extra)
    put_parts(client, upload, dict(enumerate(parts_of(data), start=1)))
    status, payload = complete(client, upload, sha_hex(data))
    assert status == 200, payload
    return upload, payload
