"""Mail through SES: From is the configured no-reply address, so SPF and DKIM hold for our domain;
Reply-To is the person the reader would answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import Settings
from chalicelib.services.mail.delivery import MailDeliveryError

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient
    from mypy_boto3_ses.type_defs import SendEmailRequestTypeDef

    from chalicelib.services.mail.ports import OutgoingMail

CHARSET = "UTF-8"


class SesMailer:
    """`Mailer` on SES `SendEmail`; the SES client is made on the first mail."""

    def __init__(self, settings: Settings, ses: SESClient | None = None) -> None:
        self._settings = settings
        self._ses = ses

    def send(self, mail: OutgoingMail) -> None:
        request: SendEmailRequestTypeDef = {
            "Source": self._settings.email_from_address,
            "Destination": {"ToAddresses": [mail.to]},
            "Message": {
                "Subject": {"Data": mail.subject, "Charset": CHARSET},
                "Body": {
                    "Text": {"Data": mail.text, "Charset": CHARSET},
                    "Html": {"Data": mail.html, "Charset": CHARSET},
                },
            },
        }
        if mail.reply_to:
            request["ReplyToAddresses"] = [mail.reply_to]
        try:
            self._client().send_email(**request)
        except (ClientError, BotoCoreError) as exc:
            raise MailDeliveryError(f"SES did not take the mail: {exc}") from exc

    def _client(self) -> SESClient:
        if self._ses is None:
            import boto3

            self._ses = boto3.client(
                "ses", region_name=self._settings.aws_region, endpoint_url=self._settings.aws_endpoint_url
            )
        return self._ses
