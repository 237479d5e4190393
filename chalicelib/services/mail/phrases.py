"""What every mail says, in English and Dutch: invitations and their answers, upload notices, workspace mails.

Words only, no logic: `render` fills the `{name}` fields in and builds the mail. A new language is one more
`Phrases` in `PHRASES` (and a `Locale`); a new kind of mail adds its phrases to both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.services.accounts.model import Locale
from chalicelib.services.studies.model import Role


@dataclass(frozen=True, slots=True)
class WorkspacePhrases:
    """What a workspace mail to its owner says in one language, by event (`ready`, `failed`, ...)."""

    subjects: Mapping[str, str]
    bodies: Mapping[str, str]
    hello: str
    reason: str
    access: str
    open_link: str
    signature: str


@dataclass(frozen=True, slots=True)
class Phrases:
    """Everything a mail says in one language (invitations, answers, upload notices, workspace mails);
    `{name}` fields are filled in per mail."""

    hello: str
    hello_name: str
    invitation_subject: str
    invitation_intro: str
    wrote: str
    accept: str
    expiry: str
    reply: str
    accepted_subject: str
    accepted_body: str
    declined_subject: str
    declined_body: str
    signature: str
    expires_at: str
    roles: Mapping[Role, str]
    months: tuple[str, ...]
    upload_subject: str
    upload_body: str
    upload_sender: str
    upload_no_sender: str
    upload_link: str
    upload_why: str
    decimal_mark: str
    workspace: WorkspacePhrases


PHRASES: Mapping[Locale, Phrases] = {
    Locale.EN: Phrases(
        hello="Hello,",
        hello_name="Hello {name},",
        invitation_subject='{inviter} invites you to the study "{study}"',
        invitation_intro=(
            '{inviter} invites you to join the study "{study}" as {role} in the Virtual Research Environment.'
        ),
        wrote="{inviter} wrote:",
        accept="Accept the invitation",
        expiry="The link works once and expires on {expires}.",
        reply="Did you not expect this invitation? Then you can ignore this mail. A reply to it reaches {inviter}.",
        accepted_subject='{invitee} accepted your invitation to "{study}"',
        accepted_body='{invitee} accepted your invitation to join the study "{study}" and is now a member as {role}.',
        declined_subject='{invitee} declined your invitation to "{study}"',
        declined_body='{invitee} declined your invitation to join the study "{study}".',
        signature="Virtual Research Environment",
        expires_at="{day} {month} {year} at {time} UTC",
        roles={Role.VIEWER: "a viewer", Role.CONTRIBUTOR: "a contributor", Role.ADMIN: "an admin", Role.OWNER: "owner"},
        months=(
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        upload_subject='New data for "{study}": {file}',
        upload_body='"{file}" ({size}) arrived for the study "{study}" on {when}.',
        upload_sender="It was sent by {sender}.",
        upload_no_sender="The sender left no name or email address.",
        upload_link="See the study's uploads",
        upload_why="You get this mail as an admin of the study.",
        decimal_mark=".",
        workspace=WorkspacePhrases(
            subjects={
                "ready": 'Your workspace "{name}" is ready',
                "failed": 'Your workspace "{name}" could not be set up',
                "expiring": 'Your workspace "{name}" expires on {expires}',
                "expired": 'Your workspace "{name}" has expired',
            },
            bodies={
                "ready": 'Your workspace "{name}" in the study "{study}" is ready to use.',
                "failed": 'Something went wrong with your workspace "{name}" in the study "{study}".',
                "expiring": (
                    'Your workspace "{name}" in the study "{study}" expires on {expires}. '
                    "Extend it in the research environment if you still need it."
                ),
                "expired": (
                    'Your workspace "{name}" in the study "{study}" expired on {expires} and was stopped. '
                    "It will be deleted after the grace period unless you extend it."
                ),
            },
            hello="Hello {name},",
            reason="Reason: {reason}",
            access="Connect to {ip} as {username}.",
            open_link="Open the workspace",
            signature="The Virtual Research Environment",
        ),
    ),
    Locale.NL: Phrases(
        hello="Hallo,",
        hello_name="Beste {name},",
        invitation_subject='{inviter} nodigt je uit voor de studie "{study}"',
        invitation_intro=(
            '{inviter} nodigt je uit om als {role} mee te doen aan de studie "{study}" '
            "in de Virtual Research Environment."
        ),
        wrote="{inviter} schreef:",
        accept="Accepteer de uitnodiging",
        expiry="De link werkt één keer en verloopt op {expires}.",
        reply=(
            "Verwachtte je deze uitnodiging niet? Dan kun je deze mail negeren. "
            "Een antwoord op deze mail komt bij {inviter} terecht."
        ),
        accepted_subject='{invitee} heeft je uitnodiging voor "{study}" geaccepteerd',
        accepted_body=(
            '{invitee} heeft je uitnodiging om mee te doen aan de studie "{study}" geaccepteerd '
            "en is nu lid als {role}."
        ),
        declined_subject='{invitee} heeft je uitnodiging voor "{study}" afgewezen',
        declined_body='{invitee} heeft je uitnodiging om mee te doen aan de studie "{study}" afgewezen.',
        signature="Virtual Research Environment",
        expires_at="{day} {month} {year} om {time} UTC",
        roles={Role.VIEWER: "kijker", Role.CONTRIBUTOR: "bijdrager", Role.ADMIN: "beheerder", Role.OWNER: "eigenaar"},
        months=(
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ),
        upload_subject='Nieuwe data voor "{study}": {file}',
        upload_body='"{file}" ({size}) is op {when} binnengekomen voor de studie "{study}".',
        upload_sender="Verstuurd door {sender}.",
        upload_no_sender="De afzender heeft geen naam of e-mailadres achtergelaten.",
        upload_link="Bekijk de uploads van de studie",
        upload_why="Je krijgt deze mail als beheerder van de studie.",
        decimal_mark=",",
        workspace=WorkspacePhrases(
            subjects={
                "ready": 'Je werkomgeving "{name}" staat klaar',
                "failed": 'Je werkomgeving "{name}" kon niet worden ingericht',
                "expiring": 'Je werkomgeving "{name}" verloopt op {expires}',
                "expired": 'Je werkomgeving "{name}" is verlopen',
            },
            bodies={
                "ready": 'Je werkomgeving "{name}" in de studie "{study}" staat klaar.',
                "failed": 'Er ging iets mis met je werkomgeving "{name}" in de studie "{study}".',
                "expiring": (
                    'Je werkomgeving "{name}" in de studie "{study}" verloopt op {expires}. '
                    "Verleng hem in de onderzoeksomgeving als je hem nog nodig hebt."
                ),
                "expired": (
                    'Je werkomgeving "{name}" in de studie "{study}" is op {expires} verlopen en gestopt. '
                    "Na de respijtperiode wordt hij verwijderd, tenzij je hem verlengt."
                ),
            },
            hello="Hallo {name},",
            reason="Reden: {reason}",
            access="Maak verbinding met {ip} als {username}.",
            open_link="Open de werkomgeving",
            signature="De Virtual Research Environment",
        ),
    ),
}
