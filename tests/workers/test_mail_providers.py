"""The mail family's outside world on moto: the SQS mail queue and the SES mailer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import msgspec
import pytest

from chalicelib.config import ConfigurationError
from chalicelib.providers.mail import SesMailer
from chalicelib.providers.queues import SqsMailQueue
from chalicelib.services.mail.delivery import MailDeliveryError
from chalicelib.services.mail.ports import OutgoingMail
from chalicelib.services.messages import InvitationMessage
from chalicelib.wiring import Dependencies

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-1"
MAIL = OutgoingMail(
    to="grace@uni.example",
    subject="Ada invites you — één studie",
    text="Hello\n",
    html="<p>Hello</p>",
    reply_to="ada@uni.example",
)


@pytest.fixture
def sqs(aws: None) -> SQSClient:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queue_url(sqs: SQSClient) -> Iterator[str]:
    url = sqs.create_queue(QueueName=f"mail-queue-test-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def ses(aws: None) -> SESClient:
    return boto3.client("ses", region_name=REGION)


@pytest.fixture
def sent_requests(ses: SESClient) -> list[dict[str, Any]]:
    """The parameters of every SendEmail call made through `ses` (moto answers them)."""
    seen: list[dict[str, Any]] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    ses.meta.events.register("provide-client-params.ses.SendEmail", note)
    return seen


def test_the_queue_posts_the_message_as_json(deps: Dependencies, sqs: SQSClient, queue_url: str) -> None:
    queue = SqsMailQueue(msgspec.structs.replace(deps.settings, mail_queue_url=queue_url))
    message = InvitationMessage(mail_id="m1", invitation_id="i1", token="t", request_id="r1")

    queue.send(message)

    (received,) = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
    assert json.loads(received["Body"]) == {
        "type": "invitation",
        "mail_id": "m1",
        "invitation_id": "i1",
        "token": "t",
        "request_id": "r1",
    }


def test_the_queue_needs_its_url(deps: Dependencies) -> None:
    queue = SqsMailQueue(msgspec.structs.replace(deps.settings, mail_queue_url=None))

    with pytest.raises(ConfigurationError, match="MAIL_QUEUE_URL"):
        queue.send(InvitationMessage(mail_id="m1", invitation_id="i1", token="t"))


def test_the_mailer_sends_from_the_no_reply_address_with_both_bodies_and_reply_to(
    deps: Dependencies, ses: SESClient, sent_requests: list[dict[str, Any]]
) -> None:
    ses.verify_email_identity(EmailAddress=deps.settings.email_from_address)

    SesMailer(deps.settings, ses).send(MAIL)

    (request,) = sent_requests
    assert request["Source"] == deps.settings.email_from_address
    assert request["Destination"] == {"ToAddresses": ["grace@uni.example"]}
    assert request["ReplyToAddresses"] == ["ada@uni.example"]
    assert request["Message"] == {
        "Subject": {"Data": MAIL.subject, "Charset": "UTF-8"},
        "Body": {"Text": {"Data": "Hello\n", "Charset": "UTF-8"}, "Html": {"Data": "<p>Hello</p>", "Charset": "UTF-8"}},
    }


def test_a_mail_without_reply_to_sets_none(
    deps: Dependencies, ses: SESClient, sent_requests: list[dict[str, Any]]
) -> None:
    ses.verify_email_identity(EmailAddress=deps.settings.email_from_address)

    SesMailer(deps.settings, ses).send(OutgoingMail("x@uni.example", "s", "t", "<p>t</p>"))

    assert "ReplyToAddresses" not in sent_requests[0]


def test_a_refused_mail_is_a_mail_delivery_error(deps: Dependencies, ses: SESClient) -> None:
    # GIVEN a From address SES has not verified
    unverified = msgspec.structs.replace(deps.settings, email_from_address=f"nobody@{uuid.uuid4().hex}.example")

    # WHEN a mail is sent from it THEN SES refuses and the mailer says so in the domain's terms
    with pytest.raises(MailDeliveryError, match="not verified"):
        SesMailer(unverified, ses).send(MAIL)
