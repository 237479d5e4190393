"""The reconciler's round over the drop-off: nothing lost, nothing kept past its time.

- an admitted upload whose object is in the bucket but which was never recorded (tusd's post-finish met an
  outage longer than its retries; the broker's complete was cut off after S3 joined the parts) is recorded
  now, and its notice queued, once;
- an admitted drop-off upload past its deadline is aborted in storage and on record;
- a deleted study's objects are marked when first found without their study, and removed with every version
  `deleted_study_retention` after that.
Pure: the bucket behind `ObjectStorage`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chalicelib.errors import ConflictError
from chalicelib.services.common.model import AuditEntry, AuditOutcome, PageRequest, utcnow
from chalicelib.services.dropoff.model import Upload, UploadStatus
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.dropoff.storage import DELETED_MARKERS, ObjectStorage
from chalicelib.services.dropoff.uploads import UPLOADER, notice_mail_id, record_received
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.messages import UploadReceivedMessage
from chalicelib.services.studies.model import Study
from chalicelib.services.studies.ports import StudyRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# BatchGetItem's most keys per request.
STUDIES_PER_READ = 100


@dataclass(frozen=True, slots=True)
class UploadRound:
    """What the drop-off's round works with (`DELETED_STUDY_RETENTION_DAYS`)."""

    uploads: UploadRepository
    studies: StudyRepository
    storage: ObjectStorage
    mail: MailQueue
    deleted_study_retention: timedelta


@dataclass(slots=True)
class UploadReport:
    """What one round found and did, by upload or study id."""

    recovered: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)


def reconcile_uploads(work: UploadRound, *, now: Clock = utcnow) -> UploadReport:
    """One round over the admitted uploads and the bucket's study prefixes."""
    report = UploadReport()
    moment = now()
    page = PageRequest(limit=100)
    while True:
        batch = work.uploads.admitted(page)
        for upload in batch.items:
            try:
                _admitted(work, upload, moment, report)
            except ConflictError:
                log.info("reconciler: upload %s moved meanwhile; next round", upload.id)
        if batch.next_start is None:
            break
        page = PageRequest(limit=100, start=batch.next_start)
    _deleted_studies(work, moment, report)
    return report


def _admitted(work: UploadRound, upload: Upload, moment: datetime, report: UploadReport) -> None:
    # A drop-off upload has its key; tusd's s3store keeps the object at the tusd id, once it is complete.
    key = upload.object_key or upload.tusd_id
    stored = work.storage.head(key)
    if stored is not None:
        received = replace(
            upload,
            status=UploadStatus.RECEIVED,
            size=stored.size,
            received_bytes=stored.size,
            object_key=key,
            checksum_parts=stored.checksum_sha256 if upload.multipart_id else "",
            storage=upload.storage if upload.multipart_id else {"Type": "s3store", "Key": key},
            part_checksums={},
            updated_at=moment,
        )
        recorded = record_received(received, work.uploads)
        work.mail.send(UploadReceivedMessage(mail_id=notice_mail_id(recorded.tusd_id), tusd_id=recorded.tusd_id))
        log.warning(
            "reconciler: upload %s of study %s was in storage but not on record; recorded", upload.id, upload.study_id
        )
        report.recovered.append(upload.id)
        return
    if upload.multipart_id and upload.expires_at is not None and moment >= upload.expires_at:
        work.storage.abort_multipart(key, upload.multipart_id)
        aborted = replace(upload, status=UploadStatus.ABORTED, updated_at=moment)
        audit = AuditEntry(
            upload.study_id,
            UPLOADER,
            "upload.aborted",
            f"upload:{upload.id}",
            AuditOutcome.SUCCESS,
            moment,
            f"{upload.file_name}: not completed in time",
        )
        work.uploads.update(aborted, audit)
        report.expired.append(upload.id)


def _deleted_studies(work: UploadRound, moment: datetime, report: UploadReport) -> None:
    prefixes = [p for p in work.storage.top_prefixes() if p != DELETED_MARKERS and p.rstrip("/")]
    live: dict[str, Study] = {}
    for index, prefix in enumerate(prefixes):
        if index % STUDIES_PER_READ == 0:  # one BatchGetItem per page of prefixes, not a GetItem per prefix
            live = work.studies.get_many([p.rstrip("/") for p in prefixes[index : index + STUDIES_PER_READ]])
        study_id = prefix.rstrip("/")
        if study_id in live:
            continue
        marker = DELETED_MARKERS + study_id
        seen = work.storage.head(marker)
        if seen is None:
            work.storage.put_marker(marker)
            report.marked.append(study_id)
            log.info("reconciler: study %s is gone; its files go in %s", study_id, work.deleted_study_retention)
        elif moment - seen.last_modified >= work.deleted_study_retention:
            removed = work.storage.delete_all(prefix)
            work.storage.delete_all(marker)
            report.purged.append(study_id)
            log.info("reconciler: deleted study %s: %d object versions removed", study_id, removed)
