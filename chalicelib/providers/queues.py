"""The mail queue on SQS: how the invitations service hands a mail to the mail worker.

Only ids and the raw token travel; the worker renders the mail from the invitation as it is when
the message arrives, so a resend or a revoke in between is honoured.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chalicelib.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsMailQueue:
    """`MailQueue` on the queue at `MAIL_QUEUE_URL`; the SQS client is made on the first send."""

    def __init__(self, settings: Settings, sqs: SQSClient | None = None) -> None:
        self._settings = settings
        self._sqs = sqs

    def send(self, message: dict[str, str]) -> None:
        url = self._settings.mail_queue_url
        if not url:
            raise ConfigurationError("MAIL_QUEUE_URL must be set to send mail")
        self._client().send_message(QueueUrl=url, MessageBody=json.dumps(message, separators=(",", ":")))

    def _client(self) -> SQSClient:
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client(
                "sqs", region_name=self._settings.aws_region, endpoint_url=self._settings.aws_endpoint_url
            )
        return self._sqs
