"""The upload notice through the mail worker, on moto: every admin and the owner hear of a received upload,
each in their own language and once, however often the message arrives; a refused send is retried for
that admin alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from chalicelib.services.accounts.model import Locale
from chalicelib.services.common.model import PageRequest, new_id, utcnow
from chalicelib.services.dropoff.model import UploadStatus
from chalicelib.services.dropoff.uploads import (
    FILE_NAME,
    SENDER_EMAIL,
    SENDER_NAME,
    UPLOAD_CODE,
    TusUpload,
    admit,
    record_finished,
)
from chalicelib.services.mail.phrases import PHRASES
from chalicelib.services.studies.model import Role
from chalicelib.services.studies.studies import create_study
from chalicelib.wiring import Dependencies
from chalicelib.workers.mail import handle_mail_batch
from tests.conftest import Person, RecordingMailQueue, join
from tests.workers.test_mail_worker import MailDeps, RecordingMailer, record, sqs_event


@dataclass
class DropOff:
    """A study with one researcher in each role, and an upload it received."""

    owner: Person
    admin: Person
    contributor: Person
    viewer: Person
    study_id: str
    tusd_id: str
    message: dict[str, str]


@pytest.fixture
def drop_off(deps: Dependencies, person: Callable[..., Person], mail_queue: RecordingMailQueue) -> DropOff:
    owner = person("owner")
    study = create_study(owner.researcher, deps.studies, deps.references, name="Cohort <study>").study
    admin, contributor, viewer = person("admin"), person("contributor"), person("viewer")
    for member, role in ((admin, Role.ADMIN), (contributor, Role.CONTRIBUTOR), (viewer, Role.VIEWER)):
        join(deps, study.id, member, role, owner)
    # The admin reads Dutch.
    deps.researchers.save(replace(admin.researcher, locale=Locale.NL, version=admin.researcher.version))
    metadata = {FILE_NAME: "scan&1.nii.gz", SENDER_NAME: "Dr. Lab", SENDER_EMAIL: "lab@hospital.example"}
    offered = TusUpload(tusd_id="", size=1536, metadata={UPLOAD_CODE: study.upload_code, **metadata})
    tusd_id = admit(offered, deps.studies, deps.uploads, deps.upload_policy).tusd_id
    upload = TusUpload(tusd_id=tusd_id, size=1536, offset=1536, metadata=metadata)
    record_finished(upload, deps.studies, deps.uploads, mail_queue)
    return DropOff(owner, admin, contributor, viewer, study.id, tusd_id, mail_queue.messages[-1])


def worker(deps: Dependencies, mailer: RecordingMailer) -> MailDeps:
    return MailDeps(
        deps.settings,
        deps.invitations,
        deps.studies,
        deps.researchers,
        deps.ledger,
        mailer,
        deps.workspaces,
        deps.uploads,
    )


def test_the_owner_and_the_admins_hear_of_the_upload_in_their_language(deps: Dependencies, drop_off: DropOff) -> None:
    mailer = RecordingMailer()

    answer = handle_mail_batch(sqs_event(record(drop_off.message)), worker(deps, mailer))

    assert answer == {"batchItemFailures": []}
    by_address = {mail.to: mail for mail in mailer.sent}
    assert set(by_address) == {drop_off.owner.researcher.email, drop_off.admin.researcher.email}
    english = by_address[drop_off.owner.researcher.email]
    assert english.subject == 'New data for "Cohort <study>": scan&1.nii.gz'
    assert '"scan&1.nii.gz" (1.5 KB) arrived for the study "Cohort <study>"' in english.text
    assert "It was sent by Dr. Lab <lab@hospital.example>." in english.text
    assert f"/studies/{drop_off.study_id}/uploads" in english.text
    assert english.reply_to == "lab@hospital.example"
    # the HTML escapes every name
    assert "scan&amp;1.nii.gz" in english.html
    assert "<1>" not in english.html
    dutch = by_address[drop_off.admin.researcher.email]
    assert dutch.subject.startswith("Nieuwe data voor")
    assert "(1,5 KB)" in dutch.text
    assert PHRASES[Locale.NL].upload_why in dutch.text


def test_the_same_notice_three_times_mails_each_admin_once(deps: Dependencies, drop_off: DropOff) -> None:
    mailer = RecordingMailer()

    for _ in range(3):
        handle_mail_batch(sqs_event(record(drop_off.message)), worker(deps, mailer))

    assert len(mailer.sent) == 2


def test_a_refused_send_is_retried_for_that_admin_alone(deps: Dependencies, drop_off: DropOff) -> None:
    # GIVEN a mail service that refuses the admin's address, once
    refusing = RecordingMailer(refuse={drop_off.admin.researcher.email})
    message_id = new_id()

    first = handle_mail_batch(sqs_event(record(drop_off.message, message_id=message_id)), worker(deps, refusing))
    sent_first = [mail.to for mail in refusing.sent]
    healthy = RecordingMailer()
    second = handle_mail_batch(
        sqs_event(record(drop_off.message, message_id=message_id, receive_count=2)), worker(deps, healthy)
    )

    # THEN the message came back, and the retry mailed only who had not been mailed
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert second == {"batchItemFailures": []}
    assert drop_off.admin.researcher.email not in sent_first
    assert [mail.to for mail in healthy.sent] == [drop_off.admin.researcher.email]
    assert len(set(sent_first)) == len(sent_first)


def test_no_notice_for_an_upload_that_is_no_longer_received(deps: Dependencies, drop_off: DropOff) -> None:
    stored = deps.uploads.get(drop_off.tusd_id)
    assert stored is not None
    audit_entry = deps.studies.audit_log(drop_off.study_id, PageRequest(limit=1)).items[0]
    deps.uploads.update(replace(stored, status=UploadStatus.DELETED, updated_at=utcnow()), audit_entry)
    mailer = RecordingMailer()

    answer = handle_mail_batch(sqs_event(record(drop_off.message)), worker(deps, mailer))

    assert answer == {"batchItemFailures": []}
    assert mailer.sent == []


def test_no_notice_for_an_unknown_upload_or_a_malformed_message(deps: Dependencies) -> None:
    mailer = RecordingMailer()
    unknown = {"type": "upload_received", "mail_id": new_id(), "tusd_id": f"{new_id()}/{new_id()}"}
    malformed = {"type": "upload_received", "mail_id": new_id()}

    answer = handle_mail_batch(sqs_event(record(unknown), record(malformed)), worker(deps, mailer))

    assert answer == {"batchItemFailures": []}
    assert mailer.sent == []


def test_a_disabled_admin_is_not_mailed(deps: Dependencies, drop_off: DropOff) -> None:
    admin = deps.researchers.get(drop_off.admin.id)
    assert admin is not None
    deps.researchers.save(replace(admin, disabled=True))
    mailer = RecordingMailer()

    handle_mail_batch(sqs_event(record(drop_off.message)), worker(deps, mailer))

    assert [mail.to for mail in mailer.sent] == [drop_off.owner.researcher.email]
