"""The uploads bucket as the drop-off sees it: multipart uploads, presigned requests, objects and their versions.

A port (`ObjectStorage`) with an S3 adapter in `providers/storage.py` and an in-memory fake for the tests,
so the drop-off's rules stay free of boto3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from chalicelib.errors import UnavailableError

# Where the reconciler notes when it first found a study's objects without the study.
DELETED_MARKERS = "_deleted/"


@dataclass(frozen=True, slots=True)
class StoredPart:
    """One part S3 holds of a multipart upload."""

    number: int
    size: int
    etag: str
    checksum_sha256: str = ""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object's current version: its size, S3's SHA-256 checksum (for a multipart object, of its parts'
    checksums, `<base64>-<parts>`) and when it was written."""

    key: str
    size: int
    checksum_sha256: str
    last_modified: datetime
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A presigned request: the URL, and the headers the sender must send with it as signed."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


class StorageError(Exception):
    """Storage refused or could not do what was asked; `reason` says what, without secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoSuchMultipartError(StorageError):
    """The multipart upload is gone: completed, aborted, or expired by the bucket's lifecycle rule."""


class PartsChangedError(StorageError):
    """S3 refused to complete: a part is missing, too small, or not the one listed."""


class StorageUnavailableError(StorageError, UnavailableError):
    """Storage did not answer, or asked us to slow down: the caller gets a 503 and may send the request again
    (every drop-off step is safe to repeat)."""

    def __init__(self, reason: str) -> None:
        UnavailableError.__init__(self, detail="The file store is not answering just now; try again in a moment.")
        self.reason = reason


class ObjectStorage(Protocol):
    def start_multipart(self, key: str, *, content_type: str | None) -> str:
        """A new multipart upload of `key` with SHA-256 part checksums; its upload id."""
        ...

    def sign_part(self, key: str, multipart_id: str, number: int, checksum_sha256: str, ttl: int) -> SignedRequest:
        """A presigned UploadPart for part `number`, valid `ttl` seconds, that S3 accepts only with a body whose
        SHA-256 (base64) is `checksum_sha256`."""
        ...

    def parts(self, key: str, multipart_id: str) -> list[StoredPart]:
        """The parts S3 holds so far, by number."""
        ...

    def complete_multipart(self, key: str, multipart_id: str, parts: Sequence[tuple[int, str, str]]) -> None:
        """Join the parts (number, ETag, SHA-256 base64) into the object."""
        ...

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        """Drop the multipart upload and its parts; one already gone is no error."""
        ...

    def head(self, key: str) -> StoredObject | None:
        """The object's current version, or None."""
        ...

    def delete_version(self, key: str, version_id: str | None) -> None:
        """Remove one version of an object (the current one when `version_id` is None)."""
        ...

    def delete_all(self, prefix: str) -> int:
        """Remove every version and delete marker of every object under `prefix`; how many were removed."""
        ...

    def sign_get(self, key: str, *, file_name: str, ttl: int) -> str:
        """A presigned GET, valid `ttl` seconds, that downloads as an attachment named `file_name`."""
        ...

    def top_prefixes(self) -> list[str]:
        """The first path segments in the bucket (`<study id>/`), each once."""
        ...

    def put_marker(self, key: str) -> None:
        """Write an empty object at `key`."""
        ...
