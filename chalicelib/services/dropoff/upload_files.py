"""A received upload's file: a member's short-lived download link, and an admin's delete; both audited.

Pure: the bucket behind `ObjectStorage`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.services.common.model import AuditEntry, AuditOutcome, utcnow
from chalicelib.services.dropoff.model import Upload, UploadStatus
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.dropoff.storage import ObjectStorage
from chalicelib.services.dropoff.upload_rules import human_size
from chalicelib.services.studies.access import Permission, require
from chalicelib.services.studies.model import StudyAccess
from chalicelib.services.studies.ports import StudyRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class DownloadLink:
    url: str
    expires_at: datetime


def _upload(study_id: str, upload_id: str, uploads: UploadRepository) -> Upload:
    upload = uploads.get(f"{study_id}/{upload_id}")
    if upload is None or upload.status is UploadStatus.ADMITTED:
        raise NotFoundError(detail="No such upload.")
    return upload


def _kept_by_tusd(upload: Upload) -> str:
    """Why a received tusd upload has no download link: tusd keeps the file in a store of its own."""
    kind = upload.storage.get("Type", "")
    if kind == "s3store":
        where = "in S3 under a key the broker did not give it (tusd runs with an -s3-object-prefix)"
    else:
        where = f"in tusd's own {kind or 'store'} on the tusd server"
    return (
        f"This file is {where}, not in the study's uploads bucket, so the broker has no download link for it; "
        "fetch it where tusd keeps it. Uploads are downloadable here when tusd runs with its s3store on the "
        "uploads bucket and no object prefix (README, Data drop-off)."
    )


def download_link(
    access: StudyAccess,
    upload_id: str,
    uploads: UploadRepository,
    studies: StudyRepository,
    storage: ObjectStorage,
    *,
    ttl: int,
    now: Clock = utcnow,
) -> DownloadLink:
    """A presigned GET for a received upload (contributor+), written to the study's audit log."""
    granted = require(access, Permission.OPERATE, studies=studies, action="upload.download", now=now)
    upload = _upload(granted.study.id, upload_id, uploads)
    if upload.status is not UploadStatus.RECEIVED:
        raise ConflictError(detail=f"This upload was {upload.status.value}; there is nothing to download.")
    if not upload.object_key:
        raise ConflictError(detail=_kept_by_tusd(upload))
    moment = now()
    url = storage.sign_get(upload.object_key, file_name=upload.file_name, ttl=ttl)
    studies.record(
        AuditEntry(
            granted.study.id,
            granted.caller.id,
            "upload.downloaded",
            f"upload:{upload.id}",
            AuditOutcome.SUCCESS,
            moment,
            f"{upload.file_name}, {human_size(upload.size)}",
        )
    )
    return DownloadLink(url, moment + timedelta(seconds=ttl))


def delete_upload(
    access: StudyAccess,
    upload_id: str,
    uploads: UploadRepository,
    studies: StudyRepository,
    storage: ObjectStorage,
    *,
    now: Clock = utcnow,
) -> None:
    """Remove an upload's object (every version) and its record (admin+), audited."""
    granted = require(access, Permission.MANAGE, studies=studies, action="upload.delete", now=now)
    upload = _upload(granted.study.id, upload_id, uploads)
    if upload.multipart_id and upload.object_key:
        storage.abort_multipart(upload.object_key, upload.multipart_id)
    # Ids are of one length, so the prefix is this upload's alone (tusd's object and its .info included).
    removed = storage.delete_all(upload.tusd_id)
    log.info("upload %s: %d object versions removed", upload.id, removed)
    uploads.remove(
        upload,
        AuditEntry(
            granted.study.id,
            granted.caller.id,
            "upload.deleted",
            f"upload:{upload.id}",
            AuditOutcome.SUCCESS,
            now(),
            upload.file_name,
        ),
    )
