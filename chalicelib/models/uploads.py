"""Uploads in DynamoDB: one item per tusd id, listed per study through the `by_study` index, newest first.

An admitted upload has no `created_key`, so the sparse index lists only what arrived (or was aborted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.expressions.operand import Path
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.errors import ConflictError
from chalicelib.models import keys
from chalicelib.models.audit import audit_record
from chalicelib.models.paging import page_of, versioned
from chalicelib.models.transactions import conflicts_as, transaction
from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.dropoff.model import Upload, UploadStatus

_STALE = "The upload changed in the meantime."


class UploadByStudy(GlobalSecondaryIndex["UploadRecord"]):
    class Meta:
        index_name = "by_study"
        projection = AllProjection()

    study_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class UploadRecord(Model):
    """A file dropped off through tusd, keyed by the id tusd stores it under (so a repeated hook finds it)."""

    class Meta:
        table_name = "uploads"

    tusd_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    study_id = UnicodeAttribute()
    # Unset while the upload is only admitted, which keeps it out of the study's list (a sparse index).
    created_key = UnicodeAttribute(null=True)
    file_name = UnicodeAttribute()
    size = NumberAttribute()
    received_bytes = NumberAttribute()
    status = UnicodeAttribute()
    sender_name = UnicodeAttribute(null=True)
    sender_email = UnicodeAttribute(null=True)
    storage = MapAttribute[str, str](default=dict)
    object_key = UnicodeAttribute(default="")
    file_type = UnicodeAttribute(null=True)
    checksum_sha256 = UnicodeAttribute(default="")
    checksum_parts = UnicodeAttribute(default="")
    expires_at = UTCDateTimeAttribute(null=True)
    multipart_id = UnicodeAttribute(default="")
    secret_hash = UnicodeAttribute(default="")
    code_hash = UnicodeAttribute(default="")
    part_size = NumberAttribute(default=0)
    part_checksums = MapAttribute[str, str](default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_study = UploadByStudy()


def _strings(attribute: object) -> dict[str, str]:
    values = getattr(attribute, "attribute_values", None) or {}
    return {str(k): str(v) for k, v in values.items()}


def to_upload(record: UploadRecord) -> Upload:
    return Upload(
        id=record.id,
        tusd_id=record.tusd_id,
        study_id=record.study_id,
        file_name=record.file_name,
        size=int(record.size),
        received_bytes=int(record.received_bytes),
        status=UploadStatus(record.status),
        created_at=record.created_at,
        updated_at=record.updated_at,
        sender_name=record.sender_name,
        sender_email=record.sender_email,
        storage=_strings(record.storage),
        object_key=record.object_key or "",
        file_type=record.file_type,
        checksum_sha256=record.checksum_sha256 or "",
        checksum_parts=record.checksum_parts or "",
        expires_at=record.expires_at,
        multipart_id=record.multipart_id or "",
        secret_hash=record.secret_hash or "",
        code_hash=record.code_hash or "",
        part_size=int(record.part_size or 0),
        part_checksums=_strings(record.part_checksums),
        version=record.version,
    )


def upload_record(upload: Upload) -> UploadRecord:
    listed = upload.status is not UploadStatus.ADMITTED
    return UploadRecord(
        tusd_id=upload.tusd_id,
        id=upload.id,
        study_id=upload.study_id,
        created_key=keys.newest_first(upload.created_at, upload.tusd_id) if listed else None,
        file_name=upload.file_name,
        size=upload.size,
        received_bytes=upload.received_bytes,
        status=upload.status.value,
        sender_name=upload.sender_name,
        sender_email=upload.sender_email,
        storage=dict(upload.storage),
        object_key=upload.object_key,
        file_type=upload.file_type,
        checksum_sha256=upload.checksum_sha256,
        checksum_parts=upload.checksum_parts,
        expires_at=upload.expires_at,
        multipart_id=upload.multipart_id,
        secret_hash=upload.secret_hash,
        code_hash=upload.code_hash,
        part_size=upload.part_size,
        part_checksums=dict(upload.part_checksums),
        created_at=upload.created_at,
        updated_at=upload.updated_at,
        **versioned(upload.version),
    )


class DynamoUploads:
    """`UploadRepository` on the uploads table; every write carries its audit entry in the same transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, tusd_id: str) -> Upload | None:
        try:
            return to_upload(UploadRecord.get(tusd_id, consistent_read=True))
        except UploadRecord.DoesNotExist:
            return None

    def add(self, upload: Upload, audit: AuditEntry) -> Upload | None:
        # A new record carries no version, so pynamodb makes the write conditional on the item being absent.
        record = upload_record(replace(upload, version=None))
        try:
            with transaction(self._connection, "This upload is on record already.") as writes:
                writes.save("upload", record)
                writes.save("audit", audit_record(audit))
        except ConflictError:
            return None
        return to_upload(record)

    def update(self, upload: Upload, audit: AuditEntry) -> Upload:
        record = upload_record(upload)
        with transaction(self._connection, _STALE) as writes:
            writes.save("upload", record)
            writes.save("audit", audit_record(audit))
        return to_upload(record)

    def save(self, upload: Upload) -> Upload:
        record = upload_record(upload)
        with conflicts_as(_STALE):
            record.save()
        return to_upload(record)

    def sign_parts(self, tusd_id: str, checksums: Mapping[int, str]) -> None:
        # One UpdateItem that sets only these parts, so the page's parallel requests do not clash on the version.
        actions = [Path(["part_checksums", str(n)]).set(c) for n, c in checksums.items()]
        condition = UploadRecord.status == UploadStatus.ADMITTED.value
        with conflicts_as("This upload is no longer open."):
            UploadRecord._get_connection().update_item(tusd_id, actions=actions, condition=condition)

    def remove(self, upload: Upload, audit: AuditEntry) -> None:
        with transaction(self._connection, _STALE) as writes:
            writes.delete("upload", upload_record(upload))
            writes.save("audit", audit_record(audit))

    def of_study(self, study_id: str, page: PageRequest) -> Page[Upload]:
        results = UploadRecord.by_study.query(
            study_id, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_upload)

    def admitted(self, page: PageRequest) -> Page[Upload]:
        results = UploadRecord.scan(
            UploadRecord.status == UploadStatus.ADMITTED.value, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_upload)
