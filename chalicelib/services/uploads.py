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
import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chalicelib.errors import FieldError, NotFoundError, ValidationError
from chalicelib.services.access import Permission, require
from chalicelib.services.domain import (
    AuditEntry,
    Outcome,
    Page,
    PageRequest,
    Study,
    StudyAccess,
    Upload,
    UploadStatus,
    new_id,
    utcnow,
)
from chalicelib.services.emails import plain_address
from chalicelib.services.messages import UploadReceivedMessage
from chalicelib.services.ports import MailQueue, StudyRepository, UploadRepository

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
FILE_NAME_MAX = 255
SENDER_NAME_MAX = 200
FILE_TYPE_MAX = 200
EMAIL_MAX = 254

# Plain character sets rather than regular expressions: this module is on the API's cold-start path.
_URL_SAFE = frozenset(string.ascii_letters + string.digits + "-_")
_HEX = frozenset(string.hexdigits.lower())
# Not allowed in a file name on Windows, where the data is likely opened; `:` would also name an NTFS
# stream, `x.exe::$DATA` being x.exe.
_RESERVED = frozenset('<>:"|?*')
# NFKC folds the superscript digits Windows also treats as devices (COM¹) into plain ones.
_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{port}{n}" for port in ("com", "lpt") for n in "0123456789" if n != "0"}
)
# Bidirectional controls can make `x<U+202E>fdp.exe` display as `xexe.pdf`.
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_UNITS = ("bytes", "KB", "MB", "GB", "TB", "PB")


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """What the drop-off accepts: settings `DISALLOWED_EXTENSIONS` and `UPLOAD_MAX_BYTES`; and how many refusals
    a study's audit log records per hour (`UPLOAD_REFUSALS_AUDITED_PER_HOUR`)."""

    denied_extensions: frozenset[str]
    max_bytes: int
    # When not empty, the only extensions accepted (`ALLOWED_EXTENSIONS`); it wins over the deny-list.
    allowed_extensions: frozenset[str] = frozenset()
    refusals_audited_per_hour: int = 100


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


class UploadRefusedError(Exception):
    """One reason an upload is refused; the uploader reads `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def human_size(size: int, *, decimal_mark: str = ".") -> str:
    """`1536` as `1.5 KB`: binary multiples, as Windows shows sizes."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} bytes" if size != 1 else "1 byte"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text.replace('.', decimal_mark)} {unit}"


def valid_text(value: str) -> bool:
    """True for text a person can read as one line: valid UTF-8, no control or bidirectional characters.

    tusd hands on metadata that was not UTF-8 with U+FFFD in place of the bad bytes, so that counts as
    invalid too.
    """
    if "\ufffd" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return not any(unicodedata.category(c) == "Cc" or c in _BIDI for c in value)


def check_file_name(
    raw: str, denied_extensions: frozenset[str], allowed_extensions: frozenset[str] = frozenset()
) -> str:
    """The name to keep for an uploaded file, or `UploadRefusedError` saying what is wrong with it.

    Any directory part is dropped (`..\\..\\evil.lnk` is `evil.lnk`) and invisible format characters are
    removed (`a.e<ZWSP>xe` is `a.exe`, which is what a person sees); the final extension, lower-cased
    after trailing dots and spaces are stripped (Windows strips them too, so `x.bat.` runs as x.bat),
    must be allowed when an allow-list is set, else not denied. Windows device names (`CON`, `NUL.txt`)
    are refused whatever their extension: Windows opens the device, not a file.
    """
    if not raw.strip():
        raise UploadRefusedError(400, "The upload has no file name.")
    if len(raw) > 4 * FILE_NAME_MAX:
        raise UploadRefusedError(400, f"The file name is longer than {FILE_NAME_MAX} characters.")
    if not valid_text(raw):
        raise UploadRefusedError(400, "The file name is not valid UTF-8 text or holds control characters.")
    name = _without_format_characters(_base_name(raw)).rstrip(". ").strip()
    if not name:
        raise UploadRefusedError(400, "The upload has no file name.")
    if len(name) > FILE_NAME_MAX:
        raise UploadRefusedError(400, f"The file name is longer than {FILE_NAME_MAX} characters.")
    reserved = sorted(_RESERVED.intersection(name))
    if reserved:
        raise UploadRefusedError(400, f"The file name may not contain {' '.join(reserved)}.")
    if is_device_name(name):
        raise UploadRefusedError(400, f"{name} is a device name on Windows and cannot be a file name.")
    extension = extension_of(name)
    if allowed_extensions and extension not in allowed_extensions:
        shown = f"Files of type .{extension}" if extension else "Files without an extension"
        raise UploadRefusedError(
            415, f"{shown} are not accepted; accepted are .{', .'.join(sorted(allowed_extensions))}."
        )
    if not allowed_extensions and extension in denied_extensions:
        raise UploadRefusedError(415, f"Files of type .{extension} are not accepted.")
    return name


def _without_format_characters(name: str) -> str:
    """`name` without Unicode format characters (category Cf: zero-width space and joiners, soft hyphen)."""
    return "".join(c for c in name if unicodedata.category(c) != "Cf")


def is_device_name(name: str) -> bool:
    """True for a name Windows takes as a device whatever follows its first dot: `CON`, `nul.tar.gz`, `COM¹.txt`."""
    stem = unicodedata.normalize("NFKC", name).split(".", 1)[0].rstrip(" ").casefold()
    return stem in _DEVICE_NAMES


def _base_name(path: str) -> str:
    """The last part of a path, whichever separator the uploader's system uses."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def extension_of(name: str) -> str:
    """The final extension, case-folded in NFKC form: `.EXE` and a full-width spelling count as `.exe`."""
    folded = unicodedata.normalize("NFKC", name).rstrip(". ").casefold()
    return folded.rsplit(".", 1)[1] if "." in folded else ""


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
    if not 22 <= len(code) <= 128 or not _URL_SAFE.issuperset(code):
        return None
    study = studies.by_upload_code(code)
    if study is None or not hmac.compare_digest(study.upload_code.encode(), code.encode()):
        return None
    return study


def _shown(value: str, limit: int = 100) -> str:
    """A name as the audit log and the logs show it: one line, printable, cut short."""
    printable = "".join(c if c.isprintable() else "?" for c in value)
    return printable if len(printable) <= limit else printable[:limit] + "…"


def _audit(study_id: str, action: str, outcome: Outcome, moment: datetime, target: str, detail: str) -> AuditEntry:
    return AuditEntry(study_id, UPLOADER, action, target, outcome, moment, detail)


def admit(upload: TusUpload, studies: StudyRepository, policy: UploadPolicy, *, now: Clock = utcnow) -> Admission:
    """tusd's pre-create: may this upload be created? Refusals of a known study are audited."""
    code = upload.metadata.get(UPLOAD_CODE, "")
    if not code.strip():
        log.info("upload refused: no upload code")
        return Admission(False, 400, "This upload carries no upload code: use the study's upload link.")
    study = study_for_code(code, studies)
    if study is None:
        # Not audited: without a live study there is no log to write to. The code itself is never logged.
        log.info("upload refused: an unknown or replaced upload code")
        return Admission(
            False, 403, "This upload link is not valid (any more); ask the study's researchers for a new one."
        )
    raw_name = upload.metadata.get(FILE_NAME, "")
    try:
        metadata = _checked_metadata(upload, policy)
    except UploadRefusedError as refusal:
        moment = now()
        detail = f"{refusal.reason} File: {_shown(raw_name) or '(none)'}, {upload.size} bytes."
        hour = moment.replace(minute=0, second=0, microsecond=0)
        audited = studies.record_counted(
            _audit(study.id, "upload.refused", Outcome.DENIED, moment, f"study:{study.id}", detail),
            f"rate#upload-refused#{study.id}#{hour:%Y%m%d%H}",
            limit=policy.refusals_audited_per_hour,
            until=hour + timedelta(hours=2),
        )
        log.info("upload refused for study %s%s: %s", study.id, "" if audited else " (not audited)", refusal.reason)
        return Admission(False, refusal.status, refusal.reason)
    upload_id = new_id()
    tusd_id = f"{study.id}/{upload_id}"
    sender = _from(metadata.get(SENDER_NAME), metadata.get(SENDER_EMAIL))
    detail = f"{metadata[FILE_NAME]}, {human_size(upload.size)}{sender}"
    studies.record(_audit(study.id, "upload.accepted", Outcome.SUCCESS, now(), f"upload:{upload_id}", detail))
    return Admission(True, tusd_id=tusd_id, metadata=metadata)


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
    """The study id and upload id in a tusd id `admit` gave out."""
    study_id, slash, upload_id = tusd_id.partition("/")
    if not (
        slash
        and 1 <= len(study_id) <= 64
        and _URL_SAFE.issuperset(study_id)
        and len(upload_id) == 32
        and _HEX.issuperset(upload_id)
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


def _lenient_text(value: str | None, limit: int) -> str | None:
    """Metadata as kept after the fact: what `admit` let through, cleaned again rather than refused."""
    if value is None or not value.strip():
        return None
    cleaned = "".join(c for c in value if c.isprintable() and c not in _BIDI and c != "\ufffd").strip()
    return cleaned[:limit] or None


def _storage(storage: Mapping[str, str]) -> dict[str, str]:
    """tusd's storage details, bounded: a few short entries of text."""
    kept = {}
    for key, value in list(storage.items())[:16]:
        if valid_text(key) and valid_text(value) and len(key) <= 64:
            kept[key] = value[:1024]
    return kept


def _arrived(upload: TusUpload, study: Study, upload_id: str, status: UploadStatus, moment: datetime) -> Upload:
    metadata = upload.metadata
    raw_name = metadata.get(FILE_NAME, "")
    name = _lenient_text(_base_name(raw_name), FILE_NAME_MAX) or "(no name)"
    email = _lenient_text(metadata.get(SENDER_EMAIL), EMAIL_MAX)
    return Upload(
        id=upload_id,
        tusd_id=upload.tusd_id,
        study_id=study.id,
        file_name=name,
        size=upload.size,
        received_bytes=upload.offset,
        status=status,
        created_at=moment,
        updated_at=moment,
        sender_name=_lenient_text(metadata.get(SENDER_NAME), SENDER_NAME_MAX),
        sender_email=email if email and plain_address(email) else None,
        storage=_storage(upload.storage),
    )


def notice_mail_id(tusd_id: str) -> str:
    """The one mail id of an upload's notice, however often tusd reports the upload finished."""
    return "upload-" + hashlib.sha256(tusd_id.encode()).hexdigest()[:32]


def record_finished(
    upload: TusUpload,
    studies: StudyRepository,
    uploads: UploadRepository,
    mail: MailQueue,
    *,
    now: Clock = utcnow,
) -> Upload:
    """tusd's post-finish: record the upload once and have the study's admins told.

    A repeated hook finds the record and changes nothing; the notice is queued again under the same
    mail id, which the mail worker sends once, so a notice lost between the write and the queue is
    sent after all when tusd retries.
    """
    study, upload_id = _study_of(upload.tusd_id, studies)
    moment = now()
    arrived = _arrived(upload, study, upload_id, UploadStatus.RECEIVED, moment)
    detail = f"{arrived.file_name}, {human_size(arrived.size)}{_from(arrived.sender_name, arrived.sender_email)}"
    audit = _audit(study.id, "upload.received", Outcome.SUCCESS, moment, f"upload:{upload_id}", detail)
    stored = uploads.add(arrived, audit)
    if stored is None:
        log.info("upload %s was on record already", upload_id)
        stored = uploads.get(upload.tusd_id) or arrived
    mail.send(UploadReceivedMessage(mail_id=notice_mail_id(upload.tusd_id), tusd_id=upload.tusd_id))
    return stored


def record_terminated(
    upload: TusUpload, studies: StudyRepository, uploads: UploadRepository, *, now: Clock = utcnow
) -> Upload:
    """tusd's post-terminate: an unfinished upload is recorded as aborted, a received one becomes deleted."""
    study, upload_id = _study_of(upload.tusd_id, studies)
    moment = now()
    stored = uploads.get(upload.tusd_id)
    if stored is None:
        aborted = _arrived(upload, study, upload_id, UploadStatus.ABORTED, moment)
        detail = f"{aborted.file_name}: {human_size(aborted.received_bytes)} of {human_size(aborted.size)}"
        audit = _audit(study.id, "upload.aborted", Outcome.SUCCESS, moment, f"upload:{upload_id}", detail)
        # If the add finds a record, post-finish came in between: that upload is then deleted below.
        stored = uploads.add(aborted, audit) or uploads.get(upload.tusd_id)
        if stored is None:
            return aborted
    if stored.status is not UploadStatus.RECEIVED:
        return stored
    deleted = replace(stored, status=UploadStatus.DELETED, updated_at=moment)
    audit = _audit(study.id, "upload.deleted", Outcome.SUCCESS, moment, f"upload:{upload_id}", stored.file_name)
    return uploads.update(deleted, audit)


def list_uploads(access: StudyAccess, uploads: UploadRepository, page: PageRequest) -> Page[Upload]:
    """The study's uploads, newest first (viewer+, and platform admins)."""
    granted = require(access, Permission.READ)
    return uploads.of_study(granted.study.id, page)
