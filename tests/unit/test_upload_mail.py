"""What the upload notice says, in English and Dutch, and the queued message that asks for it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.dropoff.model import Upload, UploadStatus
from chalicelib.services.mail.render import render_upload_received, uploads_link
from chalicelib.services.messages import MalformedMessageError, UploadReceivedMessage, decode_mail
from chalicelib.services.studies.model import Study

MOMENT = datetime(2026, 3, 1, 9, 5, tzinfo=UTC)
FRONTEND_URL = "https://vre.example.org/"
STUDY = Study(id="s1", name="Cohort\nstudy", owner_id="o", upload_code="code", created_at=MOMENT, updated_at=MOMENT)


def admin(locale: Locale = Locale.EN, name: str = "Ada Lovelace") -> Researcher:
    return Researcher(id="a1", email="ada@uni.example", name=name, created_at=MOMENT, updated_at=MOMENT, locale=locale)


def upload(**changes: Any) -> Upload:
    base = Upload(
        id="u1",
        tusd_id="s1/u1",
        study_id="s1",
        file_name="results.csv",
        size=3 * 1024**2,
        received_bytes=3 * 1024**2,
        status=UploadStatus.RECEIVED,
        created_at=MOMENT,
        updated_at=MOMENT,
    )
    return replace(base, **changes)


def test_the_english_notice_names_the_file_its_size_the_study_the_time_and_the_link() -> None:
    mail = render_upload_received(upload(), STUDY, admin(), frontend_url=FRONTEND_URL)

    assert mail.to == "ada@uni.example"
    assert mail.subject == 'New data for "Cohort study": results.csv'
    assert mail.text == (
        "Hello Ada Lovelace,\n\n"
        '"results.csv" (3 MB) arrived for the study "Cohort study" on 1 March 2026 at 09:05 UTC.\n\n'
        "The sender left no name or email address.\n\n"
        "See the study's uploads:\nhttps://vre.example.org/studies/s1/uploads\n\n"
        "You get this mail as an admin of the study.\n\n"
        "Virtual Research Environment\n"
    )
    assert mail.reply_to is None
    assert '<html lang="en">' in mail.html


def test_the_dutch_notice_says_it_in_dutch_with_a_decimal_comma() -> None:
    mail = render_upload_received(
        upload(size=1536, sender_name="Dr. Lab"), STUDY, admin(Locale.NL), frontend_url=FRONTEND_URL
    )

    assert mail.subject == 'Nieuwe data voor "Cohort study": results.csv'
    assert '"results.csv" (1,5 KB) is op 1 maart 2026 om 09:05 UTC binnengekomen' in mail.text
    assert "Verstuurd door Dr. Lab." in mail.text
    assert '<html lang="nl">' in mail.html


def test_replies_go_to_the_sender_when_they_left_an_address() -> None:
    mail = render_upload_received(
        upload(sender_email="lab@hospital.example"), STUDY, admin(name=""), frontend_url=FRONTEND_URL
    )

    assert mail.reply_to == "lab@hospital.example"
    assert mail.text.startswith("Hello,\n")
    assert "It was sent by <lab@hospital.example>." in mail.text


@pytest.mark.parametrize("stored", ["Boss <boss@example.org>", "lab@hospital.example,all@example.org"])
def test_a_stored_sender_email_that_is_not_one_plain_address_is_never_a_reply_to(stored: str) -> None:
    # Records written before pre-create was strict may hold one; the notice still goes out, without it.
    mail = render_upload_received(upload(sender_email=stored), STUDY, admin(name=""), frontend_url=FRONTEND_URL)

    assert mail.reply_to is None
    assert stored not in mail.text


def test_the_link_is_the_frontends_never_a_requests() -> None:
    assert uploads_link("https://vre.example.org/", "s1") == "https://vre.example.org/studies/s1/uploads"


def test_the_queued_message_parses() -> None:
    parsed = decode_mail(json.dumps({"type": "upload_received", "mail_id": "m", "tusd_id": "s/u"}))

    assert parsed == UploadReceivedMessage(mail_id="m", tusd_id="s/u")


@pytest.mark.parametrize(
    "message",
    [
        {"type": "upload_received", "mail_id": "m"},
        {"type": "upload_received", "mail_id": "m", "tusd_id": 5},
        {"type": "upload_received", "mail_id": "", "tusd_id": "s/u"},
    ],
)
def test_a_malformed_upload_message_is_refused(message: dict[str, object]) -> None:
    with pytest.raises(MalformedMessageError):
        decode_mail(json.dumps(message))
