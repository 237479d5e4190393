"""The drop-off's rules on the in-memory fakes: part sizes, secrets, checksums, sizes, time, and the reconciler."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.errors import (
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from chalicelib.services.common.model import PageRequest
from chalicelib.services.dropoff.dropoff import (
    Dropoff,
    Offer,
    Started,
    composite_checksum,
    part_size_for,
    sha256_base64,
)
from chalicelib.services.dropoff.model import UploadStatus
from chalicelib.services.dropoff.settings import DropoffSettings, UploadPolicy
from chalicelib.services.dropoff.upload_reconciler import UploadRound, reconcile_uploads
from chalicelib.services.dropoff.uploads import TusUpload, notice_mail_id, record_finished
from chalicelib.services.messages import MailMessage
from chalicelib.services.studies.model import Study, new_upload_code
from tests.support.fakes import FakeBroker, wire
from tests.support.fakes_storage import InMemoryStorage, checksum

MIB = 1024**2
POLICY = UploadPolicy(
    denied_extensions=frozenset({"exe"}),
    max_bytes=100 * MIB,
    allowed_extensions=frozenset(),
    refusals_audited_per_hour=100,
)
SETTINGS = DropoffSettings(part_bytes=5 * MIB, max_parts=10, session=timedelta(hours=1), part_url_seconds=900)


class RecordingQueue:
    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []

    def send(self, message: MailMessage) -> None:
        self.messages.append(wire(message))


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def study(broker: FakeBroker) -> Study:
    return broker.study(broker.researcher("owner"))


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def dropoff(broker: FakeBroker, storage: InMemoryStorage, queue: RecordingQueue) -> Dropoff:
    return Dropoff(broker.studies, broker.uploads, storage, queue, POLICY, SETTINGS, now=broker.clock)


def send_parts(dropoff: Dropoff, storage: InMemoryStorage, started: Started, pieces: dict[int, bytes]) -> None:
    dropoff.sign_parts(started.upload.id, started.secret, [(n, checksum(d)) for n, d in pieces.items()])
    for number, data in pieces.items():
        storage.put_part(started.upload.multipart_id, number, data)


def test_parts_are_the_configured_size_until_a_file_needs_more_than_the_most_parts() -> None:
    assert part_size_for(0, SETTINGS) == 5 * MIB
    assert part_size_for(50 * MIB, SETTINGS) == 5 * MIB
    assert part_size_for(51 * MIB, SETTINGS) == 6 * MIB  # ten parts of 5.1 MiB, rounded up to whole MiB


def test_a_checksum_is_taken_as_hex_or_base64() -> None:
    as_base64 = checksum(b"data")
    assert sha256_base64(as_base64, "x") == as_base64
    assert sha256_base64(hashlib.sha256(b"data").hexdigest().upper(), "x") == as_base64
    with pytest.raises(ValidationError):
        sha256_base64("A" * 44, "x")  # base64, but of 33 bytes


def test_the_start_answers_a_secret_kept_only_as_a_hash(dropoff: Dropoff, broker: FakeBroker, study: Study) -> None:
    started = dropoff.start(Offer(study.upload_code, "scan.nii", 12 * MIB, sender_name="Dr. Lab"))

    assert started.part_count == 3
    assert started.secret.startswith(study.id + ".")
    stored = broker.uploads.get(started.upload.tusd_id)
    assert stored is not None
    assert started.secret not in repr(stored)
    assert stored.object_key == f"{study.id}/{stored.id}/file"
    assert stored.status is UploadStatus.ADMITTED
    assert broker.uploads.of_study(study.id, PageRequest()).items == []  # not listed until received


@pytest.mark.parametrize(
    ("offer", "error"),
    [
        (Offer("x" * 32, "a.csv", 1), PermissionDeniedError),
        (Offer("{code}", "a.exe", 1), UnsupportedMediaTypeError),
        (Offer("{code}", "NUL.csv", 1), ValidationError),
        (Offer("{code}", "a.csv", 101 * MIB), PayloadTooLargeError),
        (Offer("{code}", "a.csv", 1, sender_email="not an address"), ValidationError),
    ],
)
def test_the_start_refuses_before_storage_hears_of_it(
    dropoff: Dropoff, storage: InMemoryStorage, study: Study, offer: Offer, error: type[Exception]
) -> None:
    with pytest.raises(error):
        dropoff.start(replace(offer, upload_code=offer.upload_code.replace("{code}", study.upload_code)))

    assert storage.multiparts == {}


def test_a_complete_records_once_with_both_checksums_and_one_notice_id(
    dropoff: Dropoff, storage: InMemoryStorage, queue: RecordingQueue, broker: FakeBroker, study: Study
) -> None:
    data = b"a" * (5 * MIB) + b"b" * 10
    started = dropoff.start(Offer(study.upload_code, "scan.nii", len(data)))
    send_parts(dropoff, storage, started, {1: data[: 5 * MIB], 2: data[5 * MIB :]})
    whole = hashlib.sha256(data).hexdigest()

    first = dropoff.complete(started.upload.id, started.secret, whole)
    again = dropoff.complete(started.upload.id, started.secret, whole)

    assert first == again
    assert (first.status, first.checksum_sha256) == (UploadStatus.RECEIVED, whole)
    assert first.checksum_parts == f"{composite_checksum([checksum(data[: 5 * MIB]), checksum(data[5 * MIB :])])}-2"
    assert storage.data(first.object_key) == data
    mail_id = notice_mail_id(first.tusd_id)
    assert {m["mail_id"] for m in queue.messages} == {mail_id}
    assert [e.action for e in broker.audit(study)].count("upload.received") == 1


def test_a_part_unlike_its_signed_checksum_is_refused_and_removed(
    dropoff: Dropoff, storage: InMemoryStorage, broker: FakeBroker, study: Study
) -> None:
    started = dropoff.start(Offer(study.upload_code, "a.csv", 10))
    dropoff.sign_parts(started.upload.id, started.secret, [(1, checksum(b"0123456789"))])
    storage.put_part(started.upload.multipart_id, 1, b"9876543210")

    with pytest.raises(ValidationError):
        dropoff.complete(started.upload.id, started.secret, "0" * 64)

    assert storage.head(started.upload.object_key) is None
    stored = broker.uploads.get(started.upload.tusd_id)
    assert stored is not None
    assert stored.status is UploadStatus.ABORTED
    assert broker.audit(study)[0].action == "upload.refused"


def test_more_than_declared_is_refused_and_its_parts_dropped(
    dropoff: Dropoff, storage: InMemoryStorage, study: Study
) -> None:
    started = dropoff.start(Offer(study.upload_code, "a.csv", 10))
    dropoff.sign_parts(started.upload.id, started.secret, [(1, checksum(b"x" * 11))])
    storage.put_part(started.upload.multipart_id, 1, b"x" * 11)

    with pytest.raises(PayloadTooLargeError):
        dropoff.complete(started.upload.id, started.secret, "0" * 64)

    assert storage.multiparts == {}


def test_missing_parts_and_parts_out_of_range(dropoff: Dropoff, storage: InMemoryStorage, study: Study) -> None:
    started = dropoff.start(Offer(study.upload_code, "a.csv", 6 * MIB))
    send_parts(dropoff, storage, started, {2: b"x" * MIB})

    with pytest.raises(ConflictError, match="Parts 1 of 2"):
        dropoff.complete(started.upload.id, started.secret, "0" * 64)
    with pytest.raises(ValidationError):
        dropoff.sign_parts(started.upload.id, started.secret, [(3, checksum(b"x"))])


def test_a_wrong_secret_or_a_tusd_upload_finds_nothing(dropoff: Dropoff, study: Study) -> None:
    started = dropoff.start(Offer(study.upload_code, "a.csv", 1))

    for secret in (started.secret + "x", "no-dot", f"{study.id}.", ""):
        with pytest.raises(NotFoundError):
            dropoff.progress(started.upload.id, secret)


def test_time_up_or_a_replaced_code_stops_an_open_upload(dropoff: Dropoff, broker: FakeBroker, study: Study) -> None:
    started = dropoff.start(Offer(study.upload_code, "a.csv", 1))
    broker.clock.last += timedelta(hours=1)
    with pytest.raises(PermissionDeniedError, match="expired"):
        dropoff.progress(started.upload.id, started.secret)

    fresh = dropoff.start(Offer(study.upload_code, "a.csv", 1))
    current = broker.studies.get(study.id)
    assert current is not None
    broker.studies.update(replace(current, upload_code=new_upload_code()), broker.audit(study)[0])
    with pytest.raises(PermissionDeniedError, match="not valid"):
        dropoff.sign_parts(fresh.upload.id, fresh.secret, [(1, checksum(b"x"))])


def test_the_reconciler_removes_a_deleted_studys_files_after_the_retention(
    broker: FakeBroker, queue: RecordingQueue
) -> None:
    moment = broker.clock()
    storage = InMemoryStorage(clock=lambda: moment)
    storage.put_marker("gone-study/" + "a" * 32 + "/file")
    work = UploadRound(broker.uploads, broker.studies, storage, queue, timedelta(days=30))

    first = reconcile_uploads(work, now=lambda: moment)
    within = reconcile_uploads(work, now=lambda: moment + timedelta(days=29))
    after = reconcile_uploads(work, now=lambda: moment + timedelta(days=31))

    assert (first.marked, first.purged) == (["gone-study"], [])
    assert (within.marked, within.purged) == ([], [])
    assert after.purged == ["gone-study"]
    assert storage.objects == {}


def test_the_reconciler_records_an_upload_whose_complete_was_cut_off(
    dropoff: Dropoff, broker: FakeBroker, storage: InMemoryStorage, queue: RecordingQueue, study: Study
) -> None:
    started = dropoff.start(Offer(study.upload_code, "a.csv", 3))
    send_parts(dropoff, storage, started, {1: b"abc"})
    upload = broker.uploads.get(started.upload.tusd_id)
    assert upload is not None
    storage.complete_multipart(
        upload.object_key, upload.multipart_id, [(1, storage.parts("", upload.multipart_id)[0].etag, "")]
    )
    work = UploadRound(broker.uploads, broker.studies, storage, queue, timedelta(days=30))

    report = reconcile_uploads(work, now=broker.clock)
    again = reconcile_uploads(work, now=broker.clock)

    assert (report.recovered, again.recovered) == ([upload.id], [])
    recorded = broker.uploads.get(upload.tusd_id)
    assert recorded is not None
    assert (recorded.status, recorded.size) == (UploadStatus.RECEIVED, 3)
    assert [m["mail_id"] for m in queue.messages] == [notice_mail_id(upload.tusd_id)]


def test_the_secret_and_the_code_stay_out_of_reprs(dropoff: Dropoff, study: Study) -> None:
    offer = Offer(study.upload_code, "a.csv", 1)
    started = dropoff.start(offer)

    assert study.upload_code not in repr(offer)
    assert started.secret not in repr(started)


def test_tusd_cannot_finish_an_upload_started_straight_to_storage(
    dropoff: Dropoff, broker: FakeBroker, study: Study, queue: RecordingQueue
) -> None:
    started = dropoff.start(Offer(study.upload_code, "a.csv", 1))

    with pytest.raises(NotFoundError):
        record_finished(
            TusUpload(tusd_id=started.upload.tusd_id, size=1, offset=1), broker.studies, broker.uploads, queue
        )

    stored = broker.uploads.get(started.upload.tusd_id)
    assert stored is not None
    assert stored.status is UploadStatus.ADMITTED


def test_a_complete_after_s3_joined_the_parts_records_them(
    dropoff: Dropoff, broker: FakeBroker, storage: InMemoryStorage, study: Study
) -> None:
    # GIVEN a complete cut off after S3 joined the parts, before the broker wrote the record
    started = dropoff.start(Offer(study.upload_code, "a.csv", 3))
    send_parts(dropoff, storage, started, {1: b"abc"})
    upload = started.upload
    etag = storage.parts(upload.object_key, upload.multipart_id)[0].etag
    storage.complete_multipart(upload.object_key, upload.multipart_id, [(1, etag, checksum(b"abc"))])

    # WHEN the page calls complete again
    recorded = dropoff.complete(upload.id, started.secret, hashlib.sha256(b"abc").hexdigest())

    # THEN the joined object is checked and recorded
    assert (recorded.status, recorded.received_bytes) == (UploadStatus.RECEIVED, 3)
    assert recorded.checksum_parts == f"{composite_checksum([checksum(b'abc')])}-1"
