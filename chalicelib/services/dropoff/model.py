"""An upload dropped off for a study, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class UploadStatus(StrEnum):
    # Accepted at its start (tusd's pre-create, `POST /dropoff/uploads`), not yet complete; not listed.
    ADMITTED = "admitted"
    RECEIVED = "received"  # every byte arrived (tusd's post-finish, the drop-off's complete)
    ABORTED = "aborted"  # terminated before it finished
    DELETED = "deleted"  # terminated after it finished: the data is gone from storage


@dataclass(slots=True)
class Upload:
    """A file dropped off for a study, through tusd or straight to storage; `tusd_id` is `<study id>/<id>`
    (the id tusd stores it under, and the record's key either way)."""

    id: str
    tusd_id: str
    study_id: str
    file_name: str
    size: int
    received_bytes: int
    status: UploadStatus
    created_at: datetime
    updated_at: datetime
    sender_name: str | None = None
    sender_email: str | None = None
    # Where tusd put it, as tusd reports it (filestore: Path, InfoPath; s3store: Bucket, Key).
    storage: dict[str, str] = field(default_factory=dict)
    # Its object's key in the stage's uploads bucket; empty while none is known (tusd's filestore).
    object_key: str = ""
    file_type: str | None = None
    # The whole file's SHA-256 (hex) as the uploader computed it, and S3's checksum of the parts' checksums
    # (`<base64>-<part count>`), which S3 verified part by part.
    checksum_sha256: str = ""
    checksum_parts: str = ""
    # An admitted drop-off upload: its deadline, S3 multipart upload id, the hashes of its secret and of the
    # upload code it was started with, and the parts' size and SHA-256s (base64, by part number) as signed.
    expires_at: datetime | None = None
    multipart_id: str = ""
    secret_hash: str = ""
    code_hash: str = ""
    part_size: int = 0
    part_checksums: dict[str, str] = field(default_factory=dict)
    version: int | None = None
