"""The data drop-off: which uploads tusd may accept for a study, and what arrived.

Someone outside (a lab, a hospital) uploads through the study's upload link; tusd asks before it
creates the upload (`admit`, its pre-create hook) and reports when one finished (`record_finished`)
or was terminated (`record_terminated`). The upload names its study by the study's current upload
code in its metadata; a missing, replaced or unknown code, a denied file type, a bad file name or a
file too large is refused with a reason the uploader can read. An accepted upload gets a tusd id
`<study id>/<random id>`, so the later hooks know the study without the code, and metadata without
the code, so the code is not kept in storage next to the data.

Every accepted, refused, received and aborted upload of a known study is in the study's audit log.
Pure: no HTTP, no boto3.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chalicelib.errors import ConflictError, FieldError, NotFoundError, ValidationError
from chalicelib.models import keys
from chalicelib.services.accounts.emails import plain_address
from chalicelib.services.common.model import AuditEntry, AuditOutcome, Page, PageRequest, new_id, utcnow
from chalicelib.services.dropoff.model import Upload, UploadStatus
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.dropoff.settings import UploadPolicy
from chalicelib.services.dropoff.upload_rules import (
    EMAIL_MAX,
    FILE_TYPE_MAX,
    HEX,
    SENDER_NAME_MAX,
    URL_SAFE,
    UploadRefusedError,
    check_file_name,
    extension_of,
    human_size,
    is_device_name,
    valid_text,
)
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.messages import UploadReceivedMessage
from chalicelib.services.studies.access import Permission, require
from chalicelib.services.studies.model import Study, StudyAccess
from chalicelib.services.studies.ports import StudyRepository

# The file-name rules live in upload_rules; these names are the drop-off's API as before.
__all__ = [
    "UploadRefusedError",
    "admit",
    "check_file_name",
    "extension_of",
    "human_size",
    "is_device_name",
    "list_uploads",
    "notice_mail_id",
    "record_finished",
    "record_terminated",
    "screen",
    "study_for_code",
    "valid_text",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The tus metadata keys the upload page sets (`filename` is the tus clients' own convention).
UPLOAD_CODE = "upload_code"
FILE_NAME = "filename"
FILE_TYPE = "filetype"
SENDER_NAME = "sender_name"
SENDER_EMAIL = "sender_email"

# Who the audit log names for what comes in through an upload link: the uploader has no account.
UPLOADER = "upload-link"
CODE_NOT_VALID = "This upload link is not valid (any more); ask the study's researchers for a new one."


@dataclass(frozen=True, slots=True)
class TusUpload:
    """What a tusd hook says about an upload (its `Event.Upload`)."""

    tusd_id: str
    size: int
    offset: int = 0
    size_deferred: bool = False
    concatenated: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    storage: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Admission:
    """pre-create's answer: accept under `tusd_id` with `metadata`, or refuse with a 4xx `status` and `reason`."""

    accepted: bool
    status: int = 200
    reason: str = ""
    tusd_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def _optional_text(metadata: Mapping[str, str], key: str, limit: int, what: str) -> str | None:
    value = metadata.get(key, "").strip()
    if not value:
        return None
    if not valid_text(value) or len(value) > limit:
        raise UploadRefusedError(400, f"The {what} is not valid: at most {limit} characters of plain text.")
    return value


def _sender_email(metadata: Mapping[str, str]) -> str | None:
    value = metadata.get(SENDER_EMAIL, "").strip()
    if not value:
        return None
    if len(value) > EMAIL_MAX or not valid_text(value) or not plain_address(value):
        raise UploadRefusedError(
            400,
            "The sender's email address is not valid: give one plain address like name@example.org, "
            "without a name, brackets, commas or spaces.",
        )
    return value


def study_for_code(code: str, studies: StudyRepository) -> Study | None:
    """The study whose current upload code `code` is; None for a malformed, replaced or unknown code."""
    if not 22 <= len(code) <= 128 or not URL_SAFE.issuperset(code):
        return None
    study = studies.by_upload_code(code)
    if study is None or not hmac.compare_digest(study.upload_code.encode(), code.encode()):
        return None
    return study


def _shown(value: str, limit: int = 100) -> str:
    """A name as the audit log and the logs show it: one line, printable, cut short."""
    printable = "".join(c if c.isprintable() else "?" for c in value)
    return printable if len(printable) <= limit else printable[:limit] + "…"


def _audit(study_id: str, action: str, outcome: AuditOutcome, moment: datetime, target: str, detail: str) -> AuditEntry:
    return AuditEntry(study_id, UPLOADER, action, target, outcome, moment, detail)


def admit(
    upload: TusUpload, studies: StudyRepository, uploads: UploadRepository, policy: UploadPolicy, *, now: Clock = utcnow
) -> Admission:
    """tusd's pre-create: may this upload be created? An accepted one is on record as admitted (post-finish
    records only those); refusals of a known study are audited."""
    try:
        study, metadata = screen(upload, studies, policy, now=now)
    except UploadRefusedError as refusal:
        return Admission(False, refusal.status, refusal.reason)
    admitted = admitted_upload(study, new_id(), metadata, upload.size, now())
    uploads.add(admitted, accepted_audit(admitted))
    return Admission(True, tusd_id=admitted.tusd_id, metadata=metadata)


def screen(
    upload: TusUpload, studies: StudyRepository, policy: UploadPolicy, *, now: Clock = utcnow
) -> tuple[Study, dict[str, str]]:
    """The study an offered upload is for and the metadata to keep, or `UploadRefusedError` with the first
    reason to refuse it (audited, within the hourly allowance, when the study is known)."""
    code = upload.metadata.get(UPLOAD_CODE, "")
    if not code.strip():
        log.info("upload refused: no upload code")
        raise UploadRefusedError(400, "This upload carries no upload code: use the study's upload link.")
    study = study_for_code(code, studies)
    if study is None:
        # Not audited: without a live study there is no log to write to. The code itself is never logged.
        log.info("upload refused: an unknown or replaced upload code")
        raise UploadRefusedError(403, CODE_NOT_VALID)
    raw_name = upload.metadata.get(FILE_NAME, "")
    try:
        return study, _checked_metadata(upload, policy)
    except UploadRefusedError as refusal:
        moment = now()
        detail = f"{refusal.reason} File: {_shown(raw_name) or '(none)'}, {upload.size} bytes."
        hour = moment.replace(minute=0, second=0, microsecond=0)
        audited = studies.record_counted(
            _audit(study.id, "upload.refused", AuditOutcome.DENIED, moment, f"study:{study.id}", detail),
            keys.upload_refusals(study.id, hour),
            limit=policy.refusals_audited_per_hour,
            until=hour + timedelta(hours=2),
        )
        log.info("upload refused for study %s%s: %s", study.id, "" if audited else " (not audited)", refusal.reason)
        raise


def admitted_upload(study: Study, upload_id: str, metadata: Mapping[str, str], size: int, moment: datetime) -> Upload:
    """The record of an upload accepted at its start, before any byte is kept."""
    return Upload(
        id=upload_id,
        tusd_id=f"{study.id}/{upload_id}",
        study_id=study.id,
        file_name=metadata[FILE_NAME],
        size=size,
        received_bytes=0,
        status=UploadStatus.ADMITTED,
        created_at=moment,
        updated_at=moment,
        sender_name=metadata.get(SENDER_NAME),
        sender_email=metadata.get(SENDER_EMAIL),
        file_type=metadata.get(FILE_TYPE),
    )


def accepted_audit(upload: Upload) -> AuditEntry:
    detail = f"{upload.file_name}, {human_size(upload.size)}{_from(upload.sender_name, upload.sender_email)}"
    return _audit(
        upload.study_id, "upload.accepted", AuditOutcome.SUCCESS, upload.created_at, f"upload:{upload.id}", detail
    )


def received_audit(upload: Upload) -> AuditEntry:
    detail = f"{upload.file_name}, {human_size(upload.size)}{_from(upload.sender_name, upload.sender_email)}"
    return _audit(
        upload.study_id, "upload.received", AuditOutcome.SUCCESS, upload.updated_at, f"upload:{upload.id}", detail
    )


def _checked_metadata(upload: TusUpload, policy: UploadPolicy) -> dict[str, str]:
    """The metadata tusd keeps with an accepted upload (the code left out), or the first reason to refuse it."""
    if upload.concatenated:
        raise UploadRefusedError(400, "Uploads in parallel parts are not accepted; upload the file in one piece.")
    if upload.size_deferred:
        raise UploadRefusedError(400, "The upload must state its size when it starts.")
    kept = {
        FILE_NAME: check_file_name(
            upload.metadata.get(FILE_NAME, ""), policy.denied_extensions, policy.allowed_extensions
        )
    }
    file_type = _optional_text(upload.metadata, FILE_TYPE, FILE_TYPE_MAX, "file type")
    sender_name = _optional_text(upload.metadata, SENDER_NAME, SENDER_NAME_MAX, "sender's name")
    sender_email = _sender_email(upload.metadata)
    if upload.size > policy.max_bytes:
        raise UploadRefusedError(
            413, f"The file is {human_size(upload.size)}; the limit is {human_size(policy.max_bytes)}."
        )
    for key, value in ((FILE_TYPE, file_type), (SENDER_NAME, sender_name), (SENDER_EMAIL, sender_email)):
        if value is not None:
            kept[key] = value
    return kept


def _from(name: str | None, email: str | None) -> str:
    """` from Name <email>` for the audit log, or nothing when the sender left neither."""
    sender = " ".join(part for part in (name, f"<{email}>" if email else None) if part)
    return f" from {sender}" if sender else ""


def _split(tusd_id: str) -> tuple[str, str]:
    """The study id and upload id in a tusd id `admit` gave out; tusd's s3store appends `+<multipart id>`."""
    study_id, slash, upload_id = tusd_id.partition("+")[0].partition("/")
    if not (
        slash
        and 1 <= len(study_id) <= 64
        and URL_SAFE.issuperset(study_id)
        and len(upload_id) == 32
        and HEX.issuperset(upload_id)
    ):
        raise ValidationError(
            detail="This upload was not created through the broker's pre-create hook: its id names no study.",
            errors=[FieldError("Event.Upload.ID", "not an id the broker gave out")],
        )
    return study_id, upload_id


def _study_of(tusd_id: str, studies: StudyRepository) -> tuple[Study, str]:
    study_id, upload_id = _split(tusd_id)
    study = studies.get(study_id)
    if study is None:
        log.warning("upload %s arrived for study %s, which no longer exists", upload_id, study_id)
        raise NotFoundError(detail="The study this upload was for no longer exists.")
    return study, upload_id


def _storage(storage: Mapping[str, str]) -> dict[str, str]:
    """tusd's storage details, bounded: a few short entries of text."""
    kept = {}
    for key, value in list(storage.items())[:16]:
        if valid_text(key) and valid_text(value) and len(key) <= 64:
            kept[key] = value[:1024]
    return kept


def _tusd_object_key(upload: TusUpload, tusd_id: str) -> str:
    """Where tusd's s3store put the file, when that is the place the broker fixed: `<study id>/<upload id>`."""
    key = upload.storage.get("Key", "")
    return key if upload.storage.get("Type") == "s3store" and key == tusd_id else ""


def notice_mail_id(tusd_id: str) -> str:
    """The one mail id of an upload's notice, however often tusd reports the upload finished."""
    return "upload-" + hashlib.sha256(tusd_id.encode()).hexdigest()[:32]


def _admitted(upload: TusUpload, studies: StudyRepository, uploads: UploadRepository) -> Upload:
    """The record `admit` made for the upload tusd reports on; 404 for an id the broker never gave out."""
    study, upload_id = _study_of(upload.tusd_id, studies)
    stored = uploads.get(f"{study.id}/{upload_id}")
    # An upload started through /dropoff (it has a secret) is the broker's own to complete, not tusd's.
    if stored is None or stored.secret_hash:
        log.warning("tusd reported upload %s of study %s, which the broker never admitted", upload_id, study.id)
        raise NotFoundError(detail="This upload was not admitted by the broker's pre-create hook.")
    return stored


def record_finished(
    upload: TusUpload,
    studies: StudyRepository,
    uploads: UploadRepository,
    mail: MailQueue,
    *,
    now: Clock = utcnow,
) -> Upload:
    """tusd's post-finish: record an admitted upload once and have the study's admins told.

    A repeated hook finds the record and changes nothing; the notice is queued again under the same
    mail id, which the mail worker sends once, so a notice lost between the write and the queue is
    sent after all when tusd retries. What is kept is what pre-create checked, not the hook's metadata.
    """
    stored = _admitted(upload, studies, uploads)
    if stored.status is UploadStatus.ADMITTED:
        received = replace(
            stored,
            status=UploadStatus.RECEIVED,
            size=upload.size,
            received_bytes=upload.offset,
            storage=_storage(upload.storage),
            object_key=_tusd_object_key(upload, stored.tusd_id),
            updated_at=now(),
        )
        stored = record_received(received, uploads)
    elif stored.status is UploadStatus.RECEIVED:
        log.info("upload %s was on record already", stored.id)
    if stored.status is UploadStatus.RECEIVED:
        mail.send(UploadReceivedMessage(mail_id=notice_mail_id(stored.tusd_id), tusd_id=stored.tusd_id))
    return stored


def record_received(received: Upload, uploads: UploadRepository) -> Upload:
    """Store an admitted upload as received, once: a concurrent report that got there first wins."""
    try:
        return uploads.update(received, received_audit(received))
    except ConflictError:
        current = uploads.get(received.tusd_id)
        if current is None:
            raise
        return current


def record_terminated(
    upload: TusUpload, studies: StudyRepository, uploads: UploadRepository, *, now: Clock = utcnow
) -> Upload:
    """tusd's post-terminate: an unfinished upload is recorded as aborted, a received one becomes deleted."""
    stored = _admitted(upload, studies, uploads)
    moment = now()
    if stored.status is UploadStatus.ADMITTED:
        aborted = replace(
            stored,
            status=UploadStatus.ABORTED,
            size=upload.size or stored.size,
            received_bytes=upload.offset,
            updated_at=moment,
        )
        detail = f"{aborted.file_name}: {human_size(aborted.received_bytes)} of {human_size(aborted.size)}"
        audit = _audit(stored.study_id, "upload.aborted", AuditOutcome.SUCCESS, moment, f"upload:{stored.id}", detail)
        return uploads.update(aborted, audit)
    if stored.status is not UploadStatus.RECEIVED:
        return stored
    deleted = replace(stored, status=UploadStatus.DELETED, updated_at=moment)
    audit = _audit(
        stored.study_id, "upload.deleted", AuditOutcome.SUCCESS, moment, f"upload:{stored.id}", stored.file_name
    )
    return uploads.update(deleted, audit)


def list_uploads(access: StudyAccess, uploads: UploadRepository, page: PageRequest) -> Page[Upload]:
    """The study's uploads, newest first (viewer+, and platform admins)."""
    granted = require(access, Permission.READ)
    return uploads.of_study(granted.study.id, page)
