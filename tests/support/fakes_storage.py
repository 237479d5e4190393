"""`ObjectStorage` in memory: objects with versions, multipart uploads that check their parts as S3 does."""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.services.common.model import new_id, utcnow
from chalicelib.services.dropoff.storage import (
    NoSuchMultipartError,
    PartsChangedError,
    SignedRequest,
    StoredObject,
    StoredPart,
)


def checksum(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class _Multipart:
    key: str
    parts: dict[int, bytes] = field(default_factory=dict)


@dataclass
class _Version:
    data: bytes
    checksum: str
    at: datetime
    version_id: str


class InMemoryStorage:
    """The bucket in dicts. `put_part` stands in for the browser's PUT on a signed URL; like moto (and unlike S3)
    it takes a body whatever checksum the URL was signed with, so the broker's check at complete is exercised."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self.multiparts: dict[str, _Multipart] = {}
        self.objects: dict[str, list[_Version]] = {}
        self.signed: list[tuple[str, int, str]] = []
        self._versions = itertools.count(1)

    def start_multipart(self, key: str, *, content_type: str | None) -> str:
        multipart_id = new_id()
        self.multiparts[multipart_id] = _Multipart(key)
        return multipart_id

    def sign_part(self, key: str, multipart_id: str, number: int, checksum_sha256: str, ttl: int) -> SignedRequest:
        self.signed.append((multipart_id, number, checksum_sha256))
        return SignedRequest(
            f"memory://{key}?part={number}&upload={multipart_id}", {"x-amz-checksum-sha256": checksum_sha256}
        )

    def put_part(self, multipart_id: str, number: int, data: bytes) -> None:
        self._open(multipart_id).parts[number] = data

    def parts(self, key: str, multipart_id: str) -> list[StoredPart]:
        held = self._open(multipart_id).parts
        return [StoredPart(n, len(d), hashlib.md5(d).hexdigest(), checksum(d)) for n, d in sorted(held.items())]

    def complete_multipart(self, key: str, multipart_id: str, parts: Sequence[tuple[int, str, str]]) -> None:
        held = self._open(multipart_id).parts
        for number, etag, _ in parts:
            if number not in held or hashlib.md5(held[number]).hexdigest() != etag:
                raise PartsChangedError("complete_multipart_upload: InvalidPart")
        data = b"".join(held[n] for n, _, _ in parts)
        composite = checksum(b"".join(hashlib.sha256(held[n]).digest() for n, _, _ in parts))
        self.objects.setdefault(key, []).append(
            _Version(data, f"{composite}-{len(parts)}", self._clock(), str(next(self._versions)))
        )
        del self.multiparts[multipart_id]

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        self.multiparts.pop(multipart_id, None)

    def head(self, key: str) -> StoredObject | None:
        versions = self.objects.get(key)
        if not versions:
            return None
        latest = versions[-1]
        return StoredObject(key, len(latest.data), latest.checksum, latest.at, latest.version_id)

    def delete_version(self, key: str, version_id: str | None) -> None:
        versions = self.objects.get(key, [])
        self.objects[key] = [v for v in versions if version_id is not None and v.version_id != version_id]
        if not self.objects[key]:
            del self.objects[key]

    def delete_all(self, prefix: str) -> int:
        doomed = [key for key in self.objects if key.startswith(prefix)]
        removed = sum(len(self.objects.pop(key)) for key in doomed)
        return removed

    def sign_get(self, key: str, *, file_name: str, ttl: int) -> str:
        return f"memory://{key}?download={file_name}"

    def top_prefixes(self) -> list[str]:
        return sorted({key.split("/", 1)[0] + "/" for key in self.objects if "/" in key})

    def put_marker(self, key: str) -> None:
        self.objects.setdefault(key, []).append(_Version(b"", checksum(b""), self._clock(), str(next(self._versions))))

    def data(self, key: str) -> bytes:
        return self.objects[key][-1].data

    def _open(self, multipart_id: str) -> _Multipart:
        if multipart_id not in self.multiparts:
            raise NoSuchMultipartError("NoSuchUpload")
        return self.multiparts[multipart_id]
