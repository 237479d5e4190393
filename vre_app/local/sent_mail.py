"""The mail that SES (moto) accepted on the local stack, so a developer can follow an invitation link
without AWS or a mail server.

moto 5.2.5 keeps every SendEmail as a `ses.Message` model (id, source, subject, body, destinations)
and lists the instances of every model at `GET /moto-api/data.json`, in the order they were made.
It keeps no send time, no Reply-To, and of a mail with both bodies only the HTML one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import requests

MODEL_DATA_PATH = "/moto-api/data.json"
REQUEST_TIMEOUT_SECONDS = 10.0
_URL = re.compile(r"https?://[^\s\"'<>]+")


class SentMailError(RuntimeError):
    """moto's model dump could not be read, or does not look like one."""


@dataclass(frozen=True, slots=True)
class SentMail:
    """One mail SES accepted, with the links in its body."""

    id: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    body: str
    links: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def read_sent_mail(moto_url: str, *, session: requests.Session | None = None) -> list[SentMail]:
    """Every mail moto's SES accepted (every account and region), oldest first."""
    http = session or requests.Session()
    try:
        answer = http.get(moto_url.rstrip("/") + MODEL_DATA_PATH, timeout=REQUEST_TIMEOUT_SECONDS)
        answer.raise_for_status()
        dump = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise SentMailError(f"cannot read {moto_url}{MODEL_DATA_PATH}: {exc}") from exc
    if not isinstance(dump, Mapping):
        raise SentMailError(f"{moto_url}{MODEL_DATA_PATH} is not moto's model dump")
    messages = dump.get("ses", {}).get("Message", [])
    return [sent_mail(message) for message in messages if isinstance(message, Mapping)]


def sent_mail(message: Mapping[str, Any]) -> SentMail:
    """One `ses.Message` of moto's model dump."""
    destinations: Mapping[str, Sequence[str]] = message.get("destinations") or {}
    body = str(message.get("body") or "")
    return SentMail(
        id=str(message.get("id", "")),
        sender=str(message.get("source", "")),
        to=tuple(destinations.get("ToAddresses", ())),
        cc=tuple(destinations.get("CcAddresses", ())),
        bcc=tuple(destinations.get("BccAddresses", ())),
        subject=str(message.get("subject") or ""),
        body=body,
        links=links_in(body),
    )


def links_in(body: str) -> tuple[str, ...]:
    """The http(s) links in a text or HTML body, each once, in order; HTML entities (`&amp;`) undone."""
    found = (html.unescape(match).rstrip(".,;:!?)") for match in _URL.findall(body))
    return tuple(dict.fromkeys(found))


def format_sent_mail(mails: Sequence[SentMail], moto_url: str) -> str:
    """The listing `python -m vre_app mail` prints: to, subject and links of each mail, newest last."""
    if not mails:
        return f"SES (moto at {moto_url}) has accepted no mail yet."
    plural = "" if len(mails) == 1 else "s"
    lines = [f"{len(mails)} mail{plural} accepted by SES (moto at {moto_url}), newest last; moto keeps no send time."]
    width = len(str(len(mails)))
    for number, mail in enumerate(mails, start=1):
        indent = " " * (width + 2)
        lines += ["", f"{number:>{width}}. To:      {', '.join(mail.to + mail.cc + mail.bcc)}"]
        lines += [f"{indent}From:    {mail.sender}", f"{indent}Subject: {mail.subject}"]
        lines += [f"{indent}Link:    {link}" for link in mail.links]
    return "\n".join(lines)
