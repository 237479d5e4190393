"""What the invitation mails say, in English and Dutch, as text and HTML; and which language they are in."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.mail.delivery import invitee_locale
from chalicelib.services.mail.render import accept_link, render_answer, render_invitation
from chalicelib.services.messages import AnswerMessage, InvitationMessage, MalformedMessageError, decode_mail
from chalicelib.services.studies.model import Invitation, InvitationStatus, Role, Study

FRONTEND_URL = "https://vre.example.org"
TOKEN = "Zm9vYmFyLXRva2VuLTI1Ni1iaXRzLW9mLXJhbmRvbW5lc3M"
MOMENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LINK = f"{FRONTEND_URL}/invitations/accept?token={TOKEN}"


def researcher(name: str, email: str, locale: Locale = Locale.EN, *, updated: datetime = MOMENT) -> Researcher:
    return Researcher(id=f"id-{name}", email=email, name=name, created_at=MOMENT, updated_at=updated, locale=locale)


def study(name: str = "Cohort study") -> Study:
    return Study(id="s1", name=name, owner_id="id-Ada", upload_code="code", created_at=MOMENT, updated_at=MOMENT)


def invitation(*, message: str = "", name: str = "", role: Role = Role.CONTRIBUTOR) -> Invitation:
    return Invitation(
        id="i1",
        study_id="s1",
        email="grace@uni.example",
        role=role,
        inviter_id="id-Ada",
        token_hash="hash",
        expires_at=datetime(2026, 3, 15, 10, 30, tzinfo=UTC),
        created_at=MOMENT,
        updated_at=MOMENT,
        name=name,
        message=message,
    )


ADA = researcher("Ada Lovelace", "ada@uni.example")
ADA_NL = researcher("Ada Lovelace", "ada@uni.example", Locale.NL)


def test_the_english_invitation_has_the_study_the_inviter_their_message_the_link_and_the_expiry() -> None:
    mail = render_invitation(
        invitation(message="Hi Grace,\nplease join us.", name="Grace Hopper"),
        study(),
        ADA,
        token=TOKEN,
        locale=Locale.EN,
        frontend_url=FRONTEND_URL,
    )

    assert mail.to == "grace@uni.example"
    assert mail.reply_to == "ada@uni.example"
    assert mail.subject == 'Ada Lovelace invites you to the study "Cohort study"'
    assert mail.text.startswith("Hello Grace Hopper,\n\n")
    assert 'Ada Lovelace invites you to join the study "Cohort study" as a contributor' in mail.text
    assert "Ada Lovelace wrote:\n\n> Hi Grace,\n> please join us." in mail.text
    assert f"Accept the invitation:\n{LINK}\n" in mail.text
    assert "expires on 15 March 2026 at 10:30 UTC" in mail.text
    assert '<html lang="en">' in mail.html
    assert f'<a href="{LINK}">Accept the invitation</a>' in mail.html
    assert "<blockquote" in mail.html
    assert "Hi Grace,<br>\nplease join us." in mail.html
    assert "15 March 2026 at 10:30 UTC" in mail.html


def test_the_dutch_invitation_says_the_same_in_dutch() -> None:
    mail = render_invitation(
        invitation(message="Doe je mee?", role=Role.VIEWER),
        study(),
        ADA,
        token=TOKEN,
        locale=Locale.NL,
        frontend_url=FRONTEND_URL,
    )

    assert mail.subject == 'Ada Lovelace nodigt je uit voor de studie "Cohort study"'
    assert mail.text.startswith("Hallo,\n\n")
    assert 'nodigt je uit om als kijker mee te doen aan de studie "Cohort study"' in mail.text
    assert "Ada Lovelace schreef:\n\n> Doe je mee?" in mail.text
    assert f"Accepteer de uitnodiging:\n{LINK}" in mail.text
    assert "verloopt op 15 maart 2026 om 10:30 UTC" in mail.text
    assert '<html lang="nl">' in mail.html
    assert f'<a href="{LINK}">Accepteer de uitnodiging</a>' in mail.html
    assert "Accept the invitation" not in mail.text


def test_without_a_message_there_is_no_quote() -> None:
    mail = render_invitation(invitation(), study(), ADA, token=TOKEN, locale=Locale.EN, frontend_url=FRONTEND_URL)

    assert "wrote:" not in mail.text
    assert ">" not in mail.text
    assert "<blockquote" not in mail.html


def test_everything_a_person_typed_is_escaped_in_the_html() -> None:
    # GIVEN a study name, an inviter name, an invitee name and a message that are all markup
    evil_inviter = researcher('Eve <b onmouseover="x">', "eve@uni.example")
    mail = render_invitation(
        invitation(
            message="<img src=x onerror=alert(1)>\n</blockquote><a href='https://evil.example'>x</a>", name="<i>"
        ),
        study("<script>alert('study')</script>"),
        evil_inviter,
        token=TOKEN,
        locale=Locale.EN,
        frontend_url=FRONTEND_URL,
    )

    # THEN the HTML holds them as text only
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(&#x27;study&#x27;)&lt;/script&gt;" in mail.html
    assert "<img" not in mail.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in mail.html
    assert "<b " not in mail.html
    assert "Eve &lt;b onmouseover=&quot;x&quot;&gt;" in mail.html
    assert "<i>" not in mail.html
    assert "evil.example'>" not in mail.html
    assert mail.html.count("</blockquote>") == 1
    assert re.findall(r'href="([^"]*)"', mail.html) == [LINK]
    # AND the plain text keeps what they typed
    assert "<script>alert('study')</script>" in mail.text
    # AND the title is escaped too
    assert "<title>Eve &lt;b" in mail.html


def test_the_link_is_built_from_the_configured_frontend_only() -> None:
    assert accept_link("https://vre.example.org/", "a-b_c") == "https://vre.example.org/invitations/accept?token=a-b_c"
    assert accept_link("https://vre.example.org/app", "x") == "https://vre.example.org/app/invitations/accept?token=x"
    # A token is URL-safe base64; anything else is encoded rather than trusted.
    assert accept_link("https://f.example", "a&b=c") == "https://f.example/invitations/accept?token=a%26b%3Dc"

    mail = render_invitation(
        invitation(), study(), ADA, token=TOKEN, locale=Locale.EN, frontend_url="http://127.0.0.1:3000"
    )
    assert f"http://127.0.0.1:3000/invitations/accept?token={TOKEN}" in mail.text
    assert FRONTEND_URL not in mail.text


def test_a_line_break_in_a_name_does_not_reach_the_subject() -> None:
    mail = render_invitation(
        invitation(),
        study("Cohort\r\nBcc: everyone@example.org"),
        ADA,
        token=TOKEN,
        locale=Locale.EN,
        frontend_url=FRONTEND_URL,
    )

    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert mail.subject.endswith('"Cohort Bcc: everyone@example.org"')


@pytest.mark.parametrize(
    ("answer", "locale", "subject", "sentence"),
    [
        (
            InvitationStatus.ACCEPTED,
            Locale.EN,
            'Grace Hopper (grace@uni.example) accepted your invitation to "Cohort study"',
            "is now a member as a contributor.",
        ),
        (
            InvitationStatus.DECLINED,
            Locale.EN,
            'Grace Hopper (grace@uni.example) declined your invitation to "Cohort study"',
            'declined your invitation to join the study "Cohort study".',
        ),
        (
            InvitationStatus.ACCEPTED,
            Locale.NL,
            'Grace Hopper (grace@uni.example) heeft je uitnodiging voor "Cohort study" geaccepteerd',
            "en is nu lid als bijdrager.",
        ),
        (
            InvitationStatus.DECLINED,
            Locale.NL,
            'Grace Hopper (grace@uni.example) heeft je uitnodiging voor "Cohort study" afgewezen',
            'heeft je uitnodiging om mee te doen aan de studie "Cohort study" afgewezen.',
        ),
    ],
)
def test_the_inviter_hears_the_answer_in_their_own_language(
    answer: InvitationStatus, locale: Locale, subject: str, sentence: str
) -> None:
    inviter = researcher("Ada Lovelace", "ada@uni.example", locale)

    mail = render_answer(invitation(), study(), inviter, answer=answer, invitee_name="Grace Hopper")

    assert mail.to == "ada@uni.example"
    assert mail.reply_to == "grace@uni.example"
    assert mail.subject == subject
    assert sentence in mail.text
    assert f'<html lang="{locale.value}">' in mail.html


def test_an_answer_from_someone_without_a_name_names_their_email_and_escapes_the_study() -> None:
    mail = render_answer(invitation(), study("<b>Bold</b>"), ADA, answer=InvitationStatus.ACCEPTED)

    assert mail.subject.startswith("grace@uni.example accepted")
    assert "<b>" not in mail.html
    assert "&lt;b&gt;Bold&lt;/b&gt;" in mail.html


def test_the_invitee_language_wins_and_the_inviter_language_is_the_fallback() -> None:
    dutch_invitee = researcher("Grace", "grace@uni.example", Locale.NL)
    english_again = researcher("Grace", "grace@uni.example", Locale.EN, updated=MOMENT + timedelta(days=1))

    assert invitee_locale([dutch_invitee], fallback=Locale.EN) is Locale.NL
    assert invitee_locale([], fallback=Locale.NL) is Locale.NL
    assert invitee_locale([], fallback=Locale.EN) is Locale.EN
    # Several accounts with one email: the one updated last speaks for it.
    assert invitee_locale([english_again, dutch_invitee], fallback=Locale.NL) is Locale.EN


def test_messages_are_parsed_into_what_they_ask_for() -> None:
    assert decode_mail(json.dumps({"type": "invitation", "mail_id": "m", "invitation_id": "i", "token": "t"})) == (
        InvitationMessage(mail_id="m", invitation_id="i", token="t")
    )
    answer = decode_mail(
        json.dumps({"type": "invitation_answered", "mail_id": "m", "invitation_id": "i", "answer": "declined"})
    )
    assert answer == AnswerMessage(mail_id="m", invitation_id="i", answer="declined")
    assert isinstance(answer, AnswerMessage)
    assert answer.status is InvitationStatus.DECLINED


@pytest.mark.parametrize(
    "message",
    [
        None,
        [],
        "invitation",
        {},
        {"type": "postcard", "mail_id": "m", "invitation_id": "i"},
        {"type": "invitation", "mail_id": "m", "invitation_id": "i"},
        {"type": "invitation", "mail_id": "m", "invitation_id": "i", "token": ""},
        {"type": "invitation", "mail_id": 7, "invitation_id": "i", "token": "t"},
        {"type": "invitation_answered", "mail_id": "m", "invitation_id": "i", "answer": "maybe"},
        {"type": "invitation_answered", "mail_id": "m", "invitation_id": "i"},
    ],
)
def test_malformed_messages_are_recognised(message: object) -> None:
    with pytest.raises(MalformedMessageError):
        decode_mail(json.dumps(message))
