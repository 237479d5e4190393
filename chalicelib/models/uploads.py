"""Uploads in DynamoDB: one item per tusd id, listed per study through the `by_study` index, newest first."""

from __future__ import annotations

from dataclasses import replace

from pynamodb.connection import Connection

from chalicelib.errors import ConflictError
from chalicelib.models.audit import audit_record
from chalicelib.models.paging import page_of, transaction, versioned
from chalicelib.models.records import UploadRecord
from chalicelib.services.domain import AuditEntry, Page, PageRequest, Upload, UploadStatus

_STALE = "The upload changed in the meantime."


def to_upload(record: UploadRecord) -> Upload:
    storage = record.storage.attribute_values if record.storage else {}
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
        storage={str(k): str(v) for k, v in storage.items()},
        version=record.version,
    )


def upload_record(upload: Upload) -> UploadRecord:
    return UploadRecord(
        tusd_id=upload.tusd_id,
        id=upload.id,
        study_id=upload.study_id,
        created_key=f"{upload.created_at.isoformat()}#{upload.tusd_id}",
        file_name=upload.file_name,
        size=upload.size,
        received_bytes=upload.received_bytes,
        status=upload.status.value,
        sender_name=upload.sender_name,
        sender_email=upload.sender_email,
        storage=dict(upload.storage),
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
                writes.save(record)
                writes.save(audit_record(audit))
        except ConflictError:
            return None
        return to_upload(record)

    def update(self, upload: Upload, audit: AuditEntry) -> Upload:
        record = upload_record(upload)
        with transaction(self._connection, _STALE) as writes:
            writes.save(record)
            writes.save(audit_record(audit))
        return to_upload(record)

    def of_study(self, study_id: str, page: PageRequest) -> Page[Upload]:
        results = UploadRecord.by_study.query(
            study_id, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_upload)
