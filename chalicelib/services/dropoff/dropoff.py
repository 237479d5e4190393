"""Drop-off without an upload server: S3 multipart uploads behind a study's upload code.

The upload page starts an upload with the study's upload code (the same admission rules as tusd's pre-create,
`uploads.screen`), gets presigned part URLs each bound to the part's SHA-256 so S3 verifies every part, sends the parts
straight to S3, and completes through the broker, which joins the parts, checks the object against what was declared and
signed, and records it once. The start's answer carries a secret bound to that one upload (`<study id>.<random>`, kept
only as a hash); every later call sends it. An upload whose study's code was replaced, or whose time ran out, stops
there (403). Pure: the bucket behind `ObjectStorage`, the tables behind the repositories.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chalicelib.errors import (
    AppError,
    ConflictError,
    FieldError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ValidationError,
    error_for_status,
)
from chalicelib.services.common.model import AuditEntry, AuditOutcome, new_id, utcnow
from chalicelib.services.dropoff.model import Upload, UploadStatus
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.dropoff.settings import DropoffSettings, UploadPolicy
from chalicelib.services.dropoff.storage import NoSuchMultipartError, ObjectStorage, PartsChangedError, StoredPart
from chalicelib.services.dropoff.upload_rules import HEX, URL_SAFE, human_size
from chalicelib.services.dropoff.uploads import (
    CODE_NOT_VALID,
    FILE_NAME,
    FILE_TYPE,
    SENDER_EMAIL,
    SENDER_NAME,
    UPLOAD_CODE,
    UPLOADER,
    TusUpload,
    UploadRefusedError,
    accepted_audit,
    admitted_upload,
    notice_mail_id,
    record_received,
    screen,
)
from chalicelib.services.mail.ports import MailQueue
from chalicelib.services.messages import UploadReceivedMessage
from chalicelib.services.studies.ports import StudyRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
S3_MAX_PART = 5 * 1024**3  # S3's own limit on a multipart upload's part
OBJECT_NAME = "file"
_MIB = 1024**2
_MISSING_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Offer:
    """What the upload page says about a file before sending it."""

    upload_code: str = field(repr=False)
    file_name: str
    size: int
    file_type: str | None = None
    sender_name: str | None = None
    sender_email: str | None = None


@dataclass(frozen=True, slots=True)
class Started:
    upload: Upload
    secret: str = field(repr=False)  # shown once, to the uploader; never in a log or an error report
    part_count: int = 1


@dataclass(frozen=True, slots=True)
class SignedPart:
    number: int
    url: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Progress:
    """An upload's state and, while it is open, the parts S3 holds."""

    upload: Upload
    part_count: int
    parts: list[StoredPart]


def object_key(upload: Upload) -> str:
    """Where a drop-off upload's object lives: `<study id>/<upload id>/file`."""
    return f"{upload.study_id}/{upload.id}/{OBJECT_NAME}"


def part_size_for(size: int, settings: DropoffSettings) -> int:
    """The configured part size, or larger (whole MiB) when the file would need more than `max_parts` parts."""
    needed = -(-size // settings.max_parts)
    return max(settings.part_bytes, -(-needed // _MIB) * _MIB)


def part_count_for(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def sha256_base64(value: str, where: str) -> str:
    """A SHA-256 given as 64 hex digits or as base64 (S3's form), in base64; else a 422 naming `where`."""
    text = value.strip()
    if len(text) == 64 and HEX.issuperset(text.lower()):
        return base64.b64encode(bytes.fromhex(text)).decode()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValidationError(
            detail="A SHA-256 checksum is 64 hex digits or 44 characters of base64.",
            errors=[FieldError(where, "not a SHA-256 checksum")],
        )
    return base64.b64encode(raw).decode()


def composite_checksum(part_checksums: Sequence[str]) -> str:
    """S3's checksum of a multipart object: the SHA-256 of its parts' SHA-256s, in order (base64)."""
    joined = b"".join(base64.b64decode(c) for c in part_checksums)
    return base64.b64encode(hashlib.sha256(joined).digest()).decode()


def _refused(refusal: UploadRefusedError) -> AppError:
    # tusd answers a bad name with a 400; the REST route calls it what it is, invalid input.
    return error_for_status(422 if refusal.status == 400 else refusal.status, refusal.reason)


def _audit(
    upload: Upload, action: str, moment: datetime, detail: str, outcome: AuditOutcome = AuditOutcome.SUCCESS
) -> AuditEntry:
    return AuditEntry(upload.study_id, UPLOADER, action, f"upload:{upload.id}", outcome, moment, detail)


class Dropoff:
    """The drop-off's routes as one service, built once in wiring."""

    def __init__(
        self,
        studies: StudyRepository,
        uploads: UploadRepository,
        storage: ObjectStorage,
        mail: MailQueue,
        policy: UploadPolicy,
        settings: DropoffSettings,
        *,
        now: Clock = utcnow,
    ) -> None:
        self._studies = studies
        self._uploads = uploads
        self._storage = storage
        self._mail = mail
        self._policy = policy
        self._settings = settings
        self._now = now

    def start(self, offer: Offer) -> Started:
        """Admit an upload and start its multipart upload; refused as tusd's pre-create refuses."""
        metadata = {UPLOAD_CODE: offer.upload_code, FILE_NAME: offer.file_name}
        for key, value in (
            (FILE_TYPE, offer.file_type),
            (SENDER_NAME, offer.sender_name),
            (SENDER_EMAIL, offer.sender_email),
        ):
            if value is not None:
                metadata[key] = value
        try:
            study, kept = screen(
                TusUpload(tusd_id="", size=offer.size, metadata=metadata), self._studies, self._policy, now=self._now
            )
        except UploadRefusedError as refusal:
            raise _refused(refusal) from None
        part_size = part_size_for(offer.size, self._settings)
        if part_size > S3_MAX_PART:
            raise PayloadTooLargeError(detail=f"The file is {human_size(offer.size)}; too large to upload in parts.")
        moment = self._now()
        secret = f"{study.id}.{secrets.token_urlsafe(32)}"
        upload = admitted_upload(study, new_id(), kept, offer.size, moment)
        upload = replace(
            upload,
            expires_at=moment + self._settings.session,
            secret_hash=_digest(secret),
            code_hash=_digest(study.upload_code),
            part_size=part_size,
        )
        upload.object_key = object_key(upload)
        upload.multipart_id = self._storage.start_multipart(upload.object_key, content_type=upload.file_type)
        stored = self._uploads.add(upload, accepted_audit(upload))
        if stored is None:  # a fresh random id is never on record; refuse rather than share someone's record
            self._storage.abort_multipart(upload.object_key, upload.multipart_id)
            raise ConflictError(detail="This upload could not be started; try again.")
        return Started(stored, secret, part_count_for(offer.size, part_size))

    def sign_parts(self, upload_id: str, secret: str, parts: Sequence[tuple[int, str]]) -> list[SignedPart]:
        """Presigned PUTs for the parts, each bound to its checksum; numbers beyond the upload's parts are a 422."""
        upload = self._open(upload_id, secret)
        count = part_count_for(upload.size, upload.part_size)
        errors = [
            FieldError(f"parts[{i}].number", f"must be 1..{count}")
            for i, (n, _) in enumerate(parts)
            if not 1 <= n <= count
        ]
        if errors:
            raise ValidationError(detail=f"This upload has parts 1 to {count}.", errors=errors)
        checksums = {n: sha256_base64(c, f"parts[{i}].checksum_sha256") for i, (n, c) in enumerate(parts)}
        self._uploads.sign_parts(upload.tusd_id, checksums)
        ttl = self._settings.part_url_seconds
        expires = self._now() + timedelta(seconds=ttl)
        signed = []
        for number, checksum in checksums.items():
            request = self._storage.sign_part(upload.object_key, upload.multipart_id, number, checksum, ttl)
            signed.append(SignedPart(number, request.url, dict(request.headers), expires))
        return signed

    def progress(self, upload_id: str, secret: str) -> Progress:
        """The upload's state; while it is open, the parts S3 holds (to resume)."""
        upload = self._find(upload_id, secret)
        count = part_count_for(upload.size, upload.part_size)
        if upload.status is not UploadStatus.ADMITTED:
            return Progress(upload, count, [])
        self._check_live(upload)
        return Progress(upload, count, self._held(upload))

    def complete(self, upload_id: str, secret: str, checksum_sha256: str) -> Upload:
        """Join the parts and record the upload, once; a repeated call answers the record."""
        whole = base64.b64decode(sha256_base64(checksum_sha256, "checksum_sha256")).hex()
        upload = self._find(upload_id, secret)
        if upload.status is UploadStatus.RECEIVED:
            self._notify(upload)
            return upload
        if upload.status is not UploadStatus.ADMITTED:
            raise ConflictError(detail=f"This upload was {upload.status.value}; start it again.")
        self._check_live(upload)
        count = part_count_for(upload.size, upload.part_size)
        try:
            listed = self._storage.parts(upload.object_key, upload.multipart_id)
        except NoSuchMultipartError:
            return self._joined_already(upload, count, whole)
        held = {part.number: part for part in listed if part.number <= count}
        missing = [n for n in range(1, count + 1) if n not in held or str(n) not in upload.part_checksums]
        if missing:
            shown = ", ".join(str(n) for n in missing[:_MISSING_SHOWN]) + (
                " …" if len(missing) > _MISSING_SHOWN else ""
            )
            raise ConflictError(detail=f"Parts {shown} of {count} have not arrived; send them, then complete.")
        total = sum(part.size for part in held.values())
        if total > upload.size or total > self._policy.max_bytes:
            self._storage.abort_multipart(upload.object_key, upload.multipart_id)
            self._refuse(upload, f"{human_size(total)} arrived, more than the {human_size(upload.size)} declared.")
            raise PayloadTooLargeError(detail=f"The parts hold {total} bytes; the upload declared {upload.size}.")
        if total < upload.size:
            raise ConflictError(
                detail=f"The parts hold {total} bytes; the upload declared {upload.size}. Send the rest."
            )
        signed = [upload.part_checksums[str(n)] for n in range(1, count + 1)]
        try:
            self._storage.complete_multipart(
                upload.object_key, upload.multipart_id, [(n, held[n].etag, signed[n - 1]) for n in range(1, count + 1)]
            )
        except PartsChangedError as exc:
            raise ConflictError(detail="The parts changed while completing; list them and complete again.") from exc
        except NoSuchMultipartError:
            return self._joined_already(upload, count, whole)
        return self._check_and_record(upload, total, composite_checksum(signed), count, whole)

    def _joined_already(self, upload: Upload, count: int, whole: str) -> Upload:
        """S3 has no open multipart upload: a concurrent complete (or one cut off after S3 joined the parts)
        got there first. Its record, or the joined object checked and recorded now."""
        current = self._uploads.get(upload.tusd_id) or upload
        if current.status is UploadStatus.RECEIVED:
            self._notify(current)
            return current
        signed = [upload.part_checksums.get(str(n), "") for n in range(1, count + 1)]
        if current.status is not UploadStatus.ADMITTED or not all(signed):
            raise ConflictError(detail="This upload is no longer open in storage; start it again.")
        return self._check_and_record(current, upload.size, composite_checksum(signed), count, whole)

    def abort(self, upload_id: str, secret: str) -> None:
        """Drop an open upload and its parts; aborting again is no error."""
        upload = self._find(upload_id, secret)
        if upload.status is UploadStatus.ABORTED:
            return
        if upload.status is not UploadStatus.ADMITTED:
            raise ConflictError(detail="This upload is complete; the study's admins can delete it.")
        self._check_live(upload)
        self._storage.abort_multipart(upload.object_key, upload.multipart_id)
        moment = self._now()
        aborted = replace(upload, status=UploadStatus.ABORTED, updated_at=moment)
        self._uploads.update(
            aborted, _audit(upload, "upload.aborted", moment, f"{upload.file_name}: aborted by the uploader")
        )

    def _check_and_record(self, upload: Upload, total: int, expected: str, count: int, whole: str) -> Upload:
        """The joined object against what was declared and signed; refused (and removed), or recorded."""
        stored = self._storage.head(upload.object_key)
        if stored is None:
            raise ConflictError(detail="The joined file is not in storage; start the upload again.")
        reported = stored.checksum_sha256.split("-", 1)[0]
        if stored.size != total or stored.size > self._policy.max_bytes:
            self._storage.delete_version(upload.object_key, stored.version_id)
            self._refuse(upload, f"{human_size(stored.size)} stored, {human_size(upload.size)} declared.")
            raise PayloadTooLargeError(detail=f"The file holds {stored.size} bytes; the upload declared {upload.size}.")
        if reported and reported != expected:
            # S3 checks each part against its signed checksum; this catches a store that did not.
            self._storage.delete_version(upload.object_key, stored.version_id)
            self._refuse(upload, "The parts stored do not match the checksums they were sent with.")
            raise ValidationError(
                detail="The parts stored do not match the checksums they were sent with; upload the file again.",
                errors=[FieldError("parts", "checksum mismatch")],
            )
        received = replace(
            upload,
            status=UploadStatus.RECEIVED,
            received_bytes=stored.size,
            checksum_sha256=whole,
            checksum_parts=f"{expected}-{count}",
            updated_at=self._now(),
            part_checksums={},
        )
        recorded = record_received(received, self._uploads)
        self._notify(recorded)
        return recorded

    def _notify(self, upload: Upload) -> None:
        self._mail.send(UploadReceivedMessage(mail_id=notice_mail_id(upload.tusd_id), tusd_id=upload.tusd_id))

    def _refuse(self, upload: Upload, detail: str) -> None:
        moment = self._now()
        refused = replace(upload, status=UploadStatus.ABORTED, updated_at=moment)
        self._uploads.update(
            refused, _audit(upload, "upload.refused", moment, f"{upload.file_name}: {detail}", AuditOutcome.DENIED)
        )

    def _held(self, upload: Upload) -> list[StoredPart]:
        try:
            return self._storage.parts(upload.object_key, upload.multipart_id)
        except NoSuchMultipartError as exc:
            raise ConflictError(detail="This upload is no longer open in storage; start it again.") from exc

    def _find(self, upload_id: str, secret: str) -> Upload:
        """The drop-off upload this secret opens; 404 for any other id, a tusd upload, or a wrong secret."""
        study_id, dot, rest = secret.partition(".")
        if not (dot and rest and 1 <= len(study_id) <= 64 and URL_SAFE.issuperset(study_id)):
            raise NotFoundError(detail="No such upload.")
        upload = self._uploads.get(f"{study_id}/{upload_id}")
        if upload is None or not upload.secret_hash:
            raise NotFoundError(detail="No such upload.")
        if not hmac.compare_digest(_digest(secret).encode(), upload.secret_hash.encode()):
            raise NotFoundError(detail="No such upload.")
        return upload

    def _open(self, upload_id: str, secret: str) -> Upload:
        upload = self._find(upload_id, secret)
        if upload.status is not UploadStatus.ADMITTED:
            raise ConflictError(detail=f"This upload is {upload.status.value}; no more parts are taken.")
        self._check_live(upload)
        return upload

    def _check_live(self, upload: Upload) -> None:
        """403 once the upload's time is up or its study's upload code was replaced."""
        if upload.expires_at is not None and self._now() >= upload.expires_at:
            raise PermissionDeniedError(detail="This upload has expired; start it again.")
        study = self._studies.get(upload.study_id)
        if study is None:
            raise NotFoundError(detail="No such upload.")
        if not hmac.compare_digest(_digest(study.upload_code).encode(), upload.code_hash.encode()):
            raise PermissionDeniedError(detail=CODE_NOT_VALID)
