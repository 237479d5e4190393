"""The queues on SQS: mail for the mail worker, work for the provisioning family.

Each takes the typed messages of `services.messages` and sends them encoded there. Only ids and the raw
token travel; the worker renders the mail from the invitation as it is when the message arrives, so a
resend or a revoke in between is honoured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.config import ConfigurationError, Settings
from chalicelib.services.messages import encode

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from chalicelib.services.messages import MailMessage, ProvisioningMessage


def sqs_client(settings: Settings) -> SQSClient:
    import boto3

    return boto3.client("sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)


class SqsMailQueue:
    """`MailQueue` on the queue at `MAIL_QUEUE_URL`; the SQS client is made on the first send."""

    def __init__(self, settings: Settings, sqs: SQSClient | None = None) -> None:
        self._settings = settings
        self._sqs = sqs

    def send(self, message: MailMessage) -> None:
        url = self._settings.mail_queue_url
        if not url:
            raise ConfigurationError("MAIL_QUEUE_URL must be set to send mail")
        self._client().send_message(QueueUrl=url, MessageBody=encode(message))

    def _client(self) -> SQSClient:
        if self._sqs is None:
            self._sqs = sqs_client(self._settings)
        return self._sqs


class SqsProvisioningQueue:
    """`ProvisioningQueue` on the queue at `PROVISIONING_QUEUE_URL`; checks come back as delayed messages."""

    def __init__(self, settings: Settings, sqs: SQSClient | None = None) -> None:
        self._settings = settings
        self._sqs = sqs

    def send(self, message: ProvisioningMessage, *, delay_seconds: int = 0) -> None:
        url = self._settings.provisioning_queue_url
        if not url:
            raise ConfigurationError("PROVISIONING_QUEUE_URL must be set to provision workspaces")
        self._client().send_message(
            QueueUrl=url,
            MessageBody=encode(message),
            DelaySeconds=max(0, min(900, delay_seconds)),
        )

    def _client(self) -> SQSClient:
        if self._sqs is None:
            self._sqs = sqs_client(self._settings)
        return self._sqs
