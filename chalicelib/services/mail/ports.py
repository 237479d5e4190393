"""The mail family's ends: the queue that asks for a mail, the mail service that sends one, and a rendered mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chalicelib.services.messages import MailMessage


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One rendered mail: From is always the configured no-reply address; replies go to `reply_to`."""

    to: str
    subject: str
    # Out of repr: an invitation's body carries its accept link, token and all.
    text: str = field(repr=False)
    html: str = field(repr=False)
    reply_to: str | None = None


class MailQueue(Protocol):
    def send(self, message: MailMessage) -> None:
        """Queue a message for the mail family (an SQS-triggered function)."""
        ...


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Hand one mail to the mail service (SES); raises when it is refused or unreachable."""
        ...
