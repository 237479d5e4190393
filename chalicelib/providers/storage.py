"""`ObjectStorage` on S3: the stage's uploads bucket (`UPLOAD_BUCKET`), with one lazily made client.

Presigned URLs are SigV4 (S3 takes only SigV4 for KMS-encrypted objects and for checksum headers), path-style
against a local endpoint (moto's server has no per-bucket host names).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.config import ConfigurationError, Settings
from chalicelib.services.dropoff.storage import (
    NoSuchMultipartError,
    PartsChangedError,
    SignedRequest,
    StorageError,
    StorageUnavailableError,
    StoredObject,
    StoredPart,
)

log = logging.getLogger(__name__)

# mypy_boto3_s3 is not among the dev dependencies: the client is typed loosely here, and only here.
S3Client = Any

CHECKSUM_HEADER = "x-amz-checksum-sha256"
_PARTS_CHANGED = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML")
_GONE = ("NoSuchUpload", "NoSuchKey", "404")
# S3 throttling us, or busy with a conflicting operation on the key: passing, worth the caller's retry.
_PASSING = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "OperationAborted"})


def s3_client(settings: Settings) -> S3Client:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if settings.aws_endpoint_url else "auto"},
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.client("s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=config)


def attachment(file_name: str) -> str:
    """A Content-Disposition that downloads as `file_name`: an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in file_name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _passing(error: ClientError) -> bool:
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return _code(error) in _PASSING or status == 429 or status >= 500


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """botocore's errors as the port's: gone, parts changed, unavailable (a 503 to the caller), or other."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        if code in _GONE:
            raise NoSuchMultipartError(f"{operation}: {code}") from exc
        if code in _PARTS_CHANGED:
            raise PartsChangedError(f"{operation}: {code}") from exc
        if _passing(exc):
            log.warning("S3 unavailable (%s): %s", operation, code)
            raise StorageUnavailableError(f"{operation}: {code}") from exc
        raise StorageError(f"{operation}: {code or 'error'}") from exc
    except (BotoConnectionError, HTTPClientError) as exc:  # unreachable, timed out, cut off
        log.warning("S3 unreachable (%s): %s", operation, type(exc).__name__)
        raise StorageUnavailableError(f"{operation}: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"{operation}: {type(exc).__name__}") from exc


class S3Storage:
    """`ObjectStorage` on one bucket; the client is made on first use and kept."""

    def __init__(self, settings: Settings, client: S3Client | None = None) -> None:
        self._settings = settings
        self._s3 = client

    @property
    def bucket(self) -> str:
        if not self._settings.upload_bucket:
            raise ConfigurationError("UPLOAD_BUCKET must be set for the drop-off")
        return self._settings.upload_bucket

    def _client(self) -> S3Client:
        if self._s3 is None:
            self._s3 = s3_client(self._settings)
        return self._s3

    def _call(self, operation: str, **params: Any) -> Any:
        with _translated(operation):
            return getattr(self._client(), operation)(Bucket=self.bucket, **params)

    def _presign(self, operation: str, params: dict[str, Any], ttl: int) -> str:
        # Signing is local, but may first fetch the function's credentials.
        with _translated(f"presign {operation}"):
            return str(self._client().generate_presigned_url(operation, Params=params, ExpiresIn=ttl))

    def start_multipart(self, key: str, *, content_type: str | None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        answer = self._call("create_multipart_upload", Key=key, ChecksumAlgorithm="SHA256", **extra)
        return str(answer["UploadId"])

    def sign_part(self, key: str, multipart_id: str, number: int, checksum_sha256: str, ttl: int) -> SignedRequest:
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": multipart_id,
            "PartNumber": number,
            "ChecksumSHA256": checksum_sha256,
        }
        return SignedRequest(self._presign("upload_part", params, ttl), {CHECKSUM_HEADER: checksum_sha256})

    def parts(self, key: str, multipart_id: str) -> list[StoredPart]:
        found: list[StoredPart] = []
        marker = 0
        while True:
            answer = self._call("list_parts", Key=key, UploadId=multipart_id, PartNumberMarker=marker)
            for part in answer.get("Parts", []):
                found.append(
                    StoredPart(
                        int(part["PartNumber"]),
                        int(part["Size"]),
                        str(part["ETag"]),
                        str(part.get("ChecksumSHA256") or ""),
                    )
                )
            if not answer.get("IsTruncated"):
                return found
            marker = int(answer["NextPartNumberMarker"])

    def complete_multipart(self, key: str, multipart_id: str, parts: Sequence[tuple[int, str, str]]) -> None:
        listed = [{"PartNumber": n, "ETag": etag, "ChecksumSHA256": checksum} for n, etag, checksum in parts]
        self._call("complete_multipart_upload", Key=key, UploadId=multipart_id, MultipartUpload={"Parts": listed})

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        try:
            self._call("abort_multipart_upload", Key=key, UploadId=multipart_id)
        except NoSuchMultipartError:
            return

    def head(self, key: str) -> StoredObject | None:
        try:
            answer = self._call("head_object", Key=key, ChecksumMode="ENABLED")
        except NoSuchMultipartError:
            return None
        return StoredObject(
            key=key,
            size=int(answer["ContentLength"]),
            checksum_sha256=str(answer.get("ChecksumSHA256") or ""),
            last_modified=answer["LastModified"],
            version_id=answer.get("VersionId"),
        )

    def delete_version(self, key: str, version_id: str | None) -> None:
        extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
        self._call("delete_object", Key=key, **extra)

    def delete_all(self, prefix: str) -> int:
        removed = 0
        params: dict[str, Any] = {"Prefix": prefix}
        while True:
            answer = self._call("list_object_versions", **params)
            doomed = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for kind in ("Versions", "DeleteMarkers")
                for item in answer.get(kind, [])
            ]
            for start in range(0, len(doomed), 1000):
                self._call("delete_objects", Delete={"Objects": doomed[start : start + 1000], "Quiet": True})
            removed += len(doomed)
            if not answer.get("IsTruncated"):
                return removed
            params = {
                "Prefix": prefix,
                "KeyMarker": answer["NextKeyMarker"],
                "VersionIdMarker": answer["NextVersionIdMarker"],
            }

    def sign_get(self, key: str, *, file_name: str, ttl: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": attachment(file_name)}
        return self._presign("get_object", params, ttl)

    def top_prefixes(self) -> list[str]:
        found: list[str] = []
        params: dict[str, Any] = {"Delimiter": "/"}
        while True:
            answer = self._call("list_objects_v2", **params)
            found += [str(p["Prefix"]) for p in answer.get("CommonPrefixes", [])]
            if not answer.get("IsTruncated"):
                return found
            params = {"Delimiter": "/", "ContinuationToken": answer["NextContinuationToken"]}

    def put_marker(self, key: str) -> None:
        self._call("put_object", Key=key, Body=b"")
