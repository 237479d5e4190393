"""The drop-off's rules on the in-memory fakes: file names, codes, sizes, and what each hook records."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.config import load_settings
from chalicelib.errors import AuthenticationError, NotFoundError, ValidationError
from chalicelib.services.common.model import AuditOutcome, PageRequest, new_id
from chalicelib.services.dropoff.model import UploadStatus
from chalicelib.services.dropoff.settings import UploadPolicy
from chalicelib.services.dropoff.upload_rules import human_size
from chalicelib.services.dropoff.uploads import (
    FILE_NAME,
    SENDER_EMAIL,
    SENDER_NAME,
    UPLOAD_CODE,
    TusUpload,
    UploadRefusedError,
    admit,
    check_file_name,
    extension_of,
    list_uploads,
    notice_mail_id,
    record_finished,
    record_terminated,
    study_for_code,
    valid_text,
)
from chalicelib.services.messages import MailMessage
from chalicelib.services.studies.model import Role, Study, new_upload_code
from tests.support.fakes import FakeBroker, InMemoryStudies, wire

DENIED = frozenset({"exe", "com", "bat", "lnk", "sh"})
POLICY = UploadPolicy(
    denied_extensions=DENIED, max_bytes=1000, allowed_extensions=frozenset(), refusals_audited_per_hour=100
)


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


def offer(code: str, filename: str = "data.csv", size: int = 10, **metadata: str) -> TusUpload:
    return TusUpload(tusd_id="", size=size, metadata={UPLOAD_CODE: code, FILE_NAME: filename, **metadata})


def finished(tusd_id: str, filename: str = "data.csv", size: int = 10, **changes: Any) -> TusUpload:
    base = TusUpload(tusd_id=tusd_id, size=size, offset=size, metadata={FILE_NAME: filename})
    return replace(base, **changes)


def admitted(broker: FakeBroker, study: Study, filename: str = "data.csv", size: int = 10, **metadata: str) -> str:
    """The tusd id pre-create gives an upload of `study`."""
    admission = admit(
        offer(study.upload_code, filename, size, **metadata), broker.studies, broker.uploads, POLICY, now=broker.clock
    )
    assert admission.accepted, admission.reason
    return admission.tusd_id


# File names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("data.csv", "data.csv"),
        ("C:\\Users\\lab\\data.csv", "data.csv"),
        ("/home/lab/data.csv", "data.csv"),
        ("data.csv. ", "data.csv"),
        ("  spaced name.txt", "spaced name.txt"),
        ("résumé.pdf", "résumé.pdf"),
        ("数据.xlsx", "数据.xlsx"),
        ("no-extension", "no-extension"),
        ("a" * 251 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_a_good_file_name_is_kept_without_its_directories(raw: str, kept: str) -> None:
    assert check_file_name(raw, DENIED) == kept


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("report.EXE", 415),
        ("data.tar.sh", 415),
        ("x.bat.", 415),
        ("x.bat ", 415),
        ("x.pdf.exe", 415),
        ("..\\..\\evil.lnk", 415),
        ("x.\uff42\uff41\uff54", 415),
        ("a" * 252 + ".pdf", 400),
        ("a" * 5000, 400),
        ("", 400),
        ("x:y.pdf", 400),
        ("r\ufffdsum\ufffd.pdf", 400),
        ("bell\x07.pdf", 400),
        ("\u2066evil\u2069.pdf", 400),
    ],
)
def test_a_bad_file_name_is_refused_with_a_status(raw: str, status: int) -> None:
    with pytest.raises(UploadRefusedError) as refused:
        check_file_name(raw, DENIED)

    assert refused.value.status == status
    assert refused.value.reason


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("a.PDF", "pdf"),
        ("a.tar.GZ", "gz"),
        ("a", ""),
        (".bashrc", "bashrc"),
        ("a.exe. .", "exe"),
        ("a.\uff25XE", "exe"),
    ],
)
def test_the_final_extension_is_case_folded_and_normalised(name: str, extension: str) -> None:
    assert extension_of(name) == extension


def test_the_deny_list_comes_from_the_settings_in_any_spelling() -> None:
    settings = load_settings({"DISALLOWED_EXTENSIONS": " EXE, .Sh ,,ps1 "})

    assert settings.denied_extensions == frozenset({"exe", "sh", "ps1"})
    assert load_settings({}).denied_extensions >= DENIED
    with pytest.raises(UploadRefusedError):
        check_file_name("run.PS1", settings.denied_extensions)
    assert check_file_name("run.bat", settings.denied_extensions) == "run.bat"


@pytest.mark.parametrize(
    ("value", "valid"),
    [("plain", True), ("ünïcödé 数据", True), ("tab\there", False), ("\ud800", False), ("x\ufffd", False)],
)
def test_valid_text_is_printable_utf_8(value: str, valid: bool) -> None:
    assert valid_text(value) is valid


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1536, "1.5 KB"),
        (50 * 1024**3, "50 GB"),
        (2**50, "1 PB"),
        (2**60, "1024 PB"),
    ],
)
def test_sizes_read_as_a_file_manager_shows_them(size: int, text: str) -> None:
    assert human_size(size) == text


def test_a_size_can_have_a_decimal_comma() -> None:
    assert human_size(1536, decimal_mark=",") == "1,5 KB"


# Codes --------------------------------------------------------------------------------------------


def test_a_code_names_its_study(broker: FakeBroker, study: Study) -> None:
    assert study_for_code(study.upload_code, broker.studies) == study


@pytest.mark.parametrize("code", ["", "short", "../../x", "a" * 129, "\ufffd" * 32])
def test_a_malformed_code_is_not_even_looked_up(code: str) -> None:
    class Untouchable(InMemoryStudies):
        def by_upload_code(self, upload_code: str) -> Study | None:
            raise AssertionError("looked up")

    assert study_for_code(code, Untouchable()) is None


def test_a_code_the_lagging_index_still_maps_is_dead_once_replaced(broker: FakeBroker, study: Study) -> None:
    # GIVEN an index that still names the study for its old code, while the study carries a new one
    old_code = study.upload_code
    rotated = replace(study, upload_code=new_upload_code())

    class LaggingIndex(InMemoryStudies):
        def by_upload_code(self, upload_code: str) -> Study | None:
            return rotated if upload_code == old_code else None

    # THEN the old code finds nothing: the study read consistently no longer carries it
    assert study_for_code(old_code, LaggingIndex()) is None


# pre-create ---------------------------------------------------------------------------------------


def test_admit_accepts_under_a_fresh_id_and_drops_the_code(broker: FakeBroker, study: Study) -> None:
    admission = admit(
        offer(study.upload_code, "scan.nii", 999, sender_name=" Dr. Lab ", other="ignored"),
        broker.studies,
        broker.uploads,
        POLICY,
        now=broker.clock,
    )

    assert admission.accepted
    assert admission.tusd_id.startswith(study.id + "/")
    assert admission.metadata == {FILE_NAME: "scan.nii", SENDER_NAME: "Dr. Lab"}
    (latest, *_) = broker.audit(study)
    assert (latest.action, latest.outcome, latest.target) == (
        "upload.accepted",
        AuditOutcome.SUCCESS,
        f"upload:{admission.tusd_id.split('/')[1]}",
    )


def test_admit_refuses_a_file_over_the_limit_and_audits_why(broker: FakeBroker, study: Study) -> None:
    admission = admit(
        offer(study.upload_code, "big.bin", 1001), broker.studies, broker.uploads, POLICY, now=broker.clock
    )

    assert (admission.accepted, admission.status) == (False, 413)
    assert admission.reason == "The file is 1001 bytes; the limit is 1000 bytes."
    latest = broker.audit(study)[0]
    assert (latest.action, latest.outcome) == ("upload.refused", AuditOutcome.DENIED)
    assert latest.detail == "The file is 1001 bytes; the limit is 1000 bytes. File: big.bin, 1001 bytes."


def test_refusals_past_the_hourly_limit_are_refused_but_no_longer_audited(broker: FakeBroker, study: Study) -> None:
    policy = replace(POLICY, refusals_audited_per_hour=2)
    before = len(broker.audit(study))

    answers = [
        admit(offer(study.upload_code, f"x{i}.exe"), broker.studies, broker.uploads, policy, now=broker.clock)
        for i in range(4)
    ]

    assert [(a.accepted, a.status) for a in answers] == [(False, 415)] * 4
    assert [e.action for e in broker.audit(study)[: len(broker.audit(study)) - before]] == ["upload.refused"] * 2
    # an accepted upload is always audited
    assert admit(
        offer(study.upload_code, "fine.csv"), broker.studies, broker.uploads, policy, now=broker.clock
    ).accepted
    assert broker.audit(study)[0].action == "upload.accepted"


def test_admit_checks_the_code_before_anything_else(broker: FakeBroker, study: Study) -> None:
    before = broker.audit(study)

    admission = admit(offer("B" * 32, "evil.exe", 10**9), broker.studies, broker.uploads, POLICY, now=broker.clock)

    assert (admission.accepted, admission.status) == (False, 403)
    assert broker.audit(study) == before


def test_admit_refuses_after_the_code_was_replaced(broker: FakeBroker, study: Study) -> None:
    old = study.upload_code
    broker.studies.update(replace(study, upload_code=new_upload_code()), broker.audit(study)[0])

    assert admit(offer(old), broker.studies, broker.uploads, POLICY).status == 403


# post-finish and post-terminate -------------------------------------------------------------------


def test_record_finished_stores_once_and_queues_one_mail_id(broker: FakeBroker, study: Study) -> None:
    queue = RecordingQueue()
    tusd_id = admitted(broker, study, "scan.nii", 500, sender_email="lab@hospital.example")
    upload = finished(tusd_id, "scan.nii", 500, storage={"Type": "s3store", "Bucket": "b", "Key": tusd_id})

    first = record_finished(upload, broker.studies, broker.uploads, queue, now=broker.clock)
    again = record_finished(upload, broker.studies, broker.uploads, queue, now=broker.clock)

    assert first == again
    assert (first.status, first.size, first.received_bytes) == (UploadStatus.RECEIVED, 500, 500)
    assert first.storage == {"Type": "s3store", "Bucket": "b", "Key": tusd_id}
    assert first.object_key == tusd_id
    assert first.sender_email == "lab@hospital.example"
    assert broker.uploads.of_study(study.id, PageRequest()).items == [first]
    assert [e.action for e in broker.audit(study)].count("upload.received") == 1
    assert queue.messages == [{"type": "upload_received", "mail_id": notice_mail_id(tusd_id), "tusd_id": tusd_id}] * 2


def test_an_admitted_upload_is_not_listed_until_it_arrives(broker: FakeBroker, study: Study) -> None:
    admitted(broker, study)

    assert broker.uploads.of_study(study.id, PageRequest()).items == []


def test_record_finished_keeps_what_pre_create_checked_not_the_hooks_metadata(broker: FakeBroker, study: Study) -> None:
    tusd_id = admitted(broker, study, "clean.csv", sender_name="Dr. Lab")
    metadata = {FILE_NAME: "../a\x00b\u202e.exe", SENDER_EMAIL: "not an email", SENDER_NAME: "x" * 500}
    storage = {"Path": "/data/x", "bad\ufffd": "y", "long": "z" * 5000}
    upload = finished(tusd_id, metadata=metadata, storage=storage)

    kept = record_finished(upload, broker.studies, broker.uploads, RecordingQueue(), now=broker.clock)

    assert (kept.file_name, kept.sender_name, kept.sender_email) == ("clean.csv", "Dr. Lab", None)
    assert kept.storage == {"Path": "/data/x", "long": "z" * 1024}
    assert kept.object_key == ""  # a filestore's path is not in the broker's bucket


def test_record_finished_for_an_id_pre_create_never_gave_out_records_and_mails_nothing(
    broker: FakeBroker, study: Study
) -> None:
    # GIVEN an id of the right shape under a real study, which pre-create never admitted
    queue = RecordingQueue()
    forged = finished(f"{study.id}/{new_id()}")
    before = broker.audit(study)

    # WHEN tusd (or anyone with the hook secret) reports it finished, THEN it is not found
    with pytest.raises(NotFoundError):
        record_finished(forged, broker.studies, broker.uploads, queue, now=broker.clock)

    # AND nothing is recorded, audited or mailed
    assert broker.uploads.get(forged.tusd_id) is None
    assert broker.audit(study) == before
    assert queue.messages == []


def test_record_finished_takes_the_s3store_id_with_its_multipart_suffix(broker: FakeBroker, study: Study) -> None:
    tusd_id = admitted(broker, study)
    upload = finished(f"{tusd_id}+2~abcDEF.multipart", storage={"Type": "s3store", "Bucket": "b", "Key": tusd_id})

    kept = record_finished(upload, broker.studies, broker.uploads, RecordingQueue(), now=broker.clock)

    assert (kept.tusd_id, kept.status, kept.object_key) == (tusd_id, UploadStatus.RECEIVED, tusd_id)


def test_record_finished_for_an_id_without_a_study_is_invalid(broker: FakeBroker) -> None:
    with pytest.raises(ValidationError):
        record_finished(finished(new_id()), broker.studies, broker.uploads, RecordingQueue())


def test_record_finished_for_a_study_that_is_gone_is_not_found(broker: FakeBroker) -> None:
    with pytest.raises(NotFoundError):
        record_finished(finished(f"{new_id()}/{new_id()}"), broker.studies, broker.uploads, RecordingQueue())


def test_record_terminated_before_finishing_is_aborted_once(broker: FakeBroker, study: Study) -> None:
    upload = finished(admitted(broker, study, size=100), size=100, offset=30)

    first = record_terminated(upload, broker.studies, broker.uploads, now=broker.clock)
    again = record_terminated(upload, broker.studies, broker.uploads, now=broker.clock)

    assert (first.status, first.received_bytes) == (UploadStatus.ABORTED, 30)
    assert again == first
    assert [e.action for e in broker.audit(study)].count("upload.aborted") == 1
    assert broker.audit(study)[0].detail == "data.csv: 30 bytes of 100 bytes"


def test_record_terminated_after_finishing_is_deleted(broker: FakeBroker, study: Study) -> None:
    upload = finished(admitted(broker, study))
    record_finished(upload, broker.studies, broker.uploads, RecordingQueue(), now=broker.clock)

    deleted = record_terminated(upload, broker.studies, broker.uploads, now=broker.clock)

    assert deleted.status is UploadStatus.DELETED
    assert broker.uploads.get(upload.tusd_id) == deleted
    assert broker.audit(study)[0].action == "upload.deleted"


def test_a_finish_reported_after_the_abort_changes_nothing(broker: FakeBroker, study: Study) -> None:
    upload = finished(admitted(broker, study, size=100), size=100, offset=30)
    aborted = record_terminated(upload, broker.studies, broker.uploads, now=broker.clock)

    late = record_finished(upload, broker.studies, broker.uploads, RecordingQueue(), now=broker.clock)

    assert late == aborted


def test_the_notice_mail_id_is_the_same_for_the_same_upload() -> None:
    assert notice_mail_id("s/u") == notice_mail_id("s/u") != notice_mail_id("s/v")


# The list -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_member_may_list_the_uploads(broker: FakeBroker, study: Study, role: Role) -> None:
    member = broker.researcher("member")
    if role is not Role.OWNER:
        broker.join(study, member, role)
    reader = member if role is not Role.OWNER else broker.researchers.get(study.owner_id)
    assert reader is not None

    assert list_uploads(broker.access(reader, study), broker.uploads, PageRequest()).items == []


def test_a_stranger_may_not_know_of_the_uploads(broker: FakeBroker, study: Study) -> None:
    with pytest.raises(NotFoundError):
        list_uploads(broker.access(broker.researcher("stranger"), study), broker.uploads, PageRequest())


def test_a_platform_admin_reads_the_uploads(broker: FakeBroker, study: Study) -> None:
    admin = broker.researcher("root", is_admin=True)

    assert list_uploads(broker.access(admin, study), broker.uploads, PageRequest()).items == []


def test_a_disabled_member_may_not_list(broker: FakeBroker, study: Study) -> None:
    member = broker.researcher("gone", disabled=True)
    broker.join(study, member, Role.ADMIN)

    with pytest.raises(AuthenticationError):
        list_uploads(broker.access(member, study), broker.uploads, PageRequest())


# What Windows and macOS run on a double click ------------------------------------------------------------

DEFAULTS = load_settings({}).denied_extensions


@pytest.mark.parametrize(
    "name",
    [
        "run.cmd",
        "screen.scr",
        "old.pif",
        "setup.msi",
        "tool.ps1",
        "macro.vbs",
        "page.js",
        "app.hta",
        "lib.jar",
        "link.url",
        "disk.iso",
        "letter.docm",
        "sheet.xlsm",
        "slides.pptm",
        "Tool.app",
        "image.dmg",
        "installer.pkg",
        "script.command",
        "a.ExE",
        "a.exe.",
        "a.exe ",
        "a.e\u200bxe",
        "a.ex\u00ade",
        "a\u200d.bat",
        "data.csv.\ufeffcmd",
    ],
)
def test_the_default_deny_list_refuses_what_a_double_click_runs(name: str) -> None:
    with pytest.raises(UploadRefusedError) as refused:
        check_file_name(name, DEFAULTS)

    assert refused.value.status == 415


@pytest.mark.parametrize("name", ["data.csv", "scan.tiff", "notes.docx", "table.xlsx", "archive.tar.gz", "readme"])
def test_the_default_deny_list_keeps_research_data(name: str) -> None:
    assert check_file_name(name, DEFAULTS) == name


def test_format_characters_are_removed_from_the_kept_name() -> None:
    assert check_file_name("da\u200bta\u00ad.csv", DEFAULTS) == "data.csv"


def test_a_bidirectional_override_is_still_refused_rather_than_stripped() -> None:
    with pytest.raises(UploadRefusedError) as refused:
        check_file_name("a\u202egpj.exe", DEFAULTS)

    assert refused.value.status == 400


@pytest.mark.parametrize(
    "name",
    [
        "CON",
        "con.txt",
        "PRN.csv",
        "aux",
        "NUL.tar.gz",
        "com1",
        "COM9.log",
        "lpt1",
        "Lpt9.pdf",
        "COM\u00b9.txt",
        "nul .txt",
        "c\u200bon.txt",
    ],
)
def test_windows_device_names_are_refused_with_any_extension(name: str) -> None:
    with pytest.raises(UploadRefusedError) as refused:
        check_file_name(name, DENIED)

    assert refused.value.status == 400
    assert "device name" in refused.value.reason


@pytest.mark.parametrize("name", ["console.txt", "com10.txt", "lpt.csv", "nullable.csv", "com0.txt", "auxiliary"])
def test_names_that_only_start_like_a_device_are_kept(name: str) -> None:
    assert check_file_name(name, DENIED) == name


def test_an_allow_list_wins_over_the_deny_list() -> None:
    settings = load_settings({"ALLOWED_EXTENSIONS": "CSV, .tsv", "DISALLOWED_EXTENSIONS": "csv"})
    allowed = settings.allowed_extensions_set

    assert allowed == frozenset({"csv", "tsv"})
    assert check_file_name("data.CSV", settings.denied_extensions, allowed) == "data.CSV"
    for name in ("notes.pdf", "readme", "run.exe"):
        with pytest.raises(UploadRefusedError) as refused:
            check_file_name(name, settings.denied_extensions, allowed)
        assert refused.value.status == 415
        assert ".csv" in refused.value.reason


def test_pre_create_applies_the_allow_list(broker: FakeBroker, study: Study) -> None:
    policy = replace(POLICY, allowed_extensions=frozenset({"csv"}))
    refused = admit(offer(study.upload_code, "notes.pdf"), broker.studies, broker.uploads, policy, now=broker.clock)
    accepted = admit(offer(study.upload_code, "data.csv"), broker.studies, broker.uploads, policy, now=broker.clock)

    assert (refused.accepted, refused.status, accepted.accepted) == (False, 415, True)
