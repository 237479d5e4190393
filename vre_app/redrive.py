"""`python -m vre_app redrive --stage dev --queue mail`: move the messages of a queue's dead-letter queue back.

The dead-letter queue is the one the queue's redrive policy names. Each message is sent to the queue again
(body and message attributes) and only then deleted from the dead-letter queue, so a redrive that stops
half-way loses nothing; a message sent but not yet deleted may arrive twice, which every handler tolerates.
A redriven message starts again with a receive count of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef, SendMessageBatchRequestEntryTypeDef

BATCH = 10
# How long a received dead letter stays hidden while it is sent on; ample for one batch.
HIDE_SECONDS = 60


class RedriveError(RuntimeError):
    """The queue cannot be redriven: it does not exist or has no dead-letter queue."""


@dataclass(frozen=True, slots=True)
class RedriveResult:
    queue: str
    dead_letter_queue: str
    moved: int
    left: int


def queue_name(stage: str, queue: str) -> str:
    """`mail` is the stage's `vre-<stage>-mail`; a full name is kept as it is."""
    return queue if queue.startswith("vre-") else f"vre-{stage}-{queue}"


def redrive(sqs: SQSClient, queue: str, *, limit: int | None = None, wait_seconds: int = 1) -> RedriveResult:
    """Move up to `limit` messages (all, if None) from the queue's dead-letter queue back onto it."""
    url = _queue_url(sqs, queue)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
    if "RedrivePolicy" not in attributes:
        raise RedriveError(f"queue {queue} has no dead-letter queue (no redrive policy)")
    dead_letter_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    dead_letter = dead_letter_arn.rsplit(":", 1)[-1]
    dead_letter_url = _queue_url(sqs, dead_letter)

    moved = 0
    while limit is None or moved < limit:
        wanted = BATCH if limit is None else min(BATCH, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=wanted,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=HIDE_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        moved += _move(sqs, messages, url, dead_letter_url)
    left = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"])
    return RedriveResult(queue, dead_letter, moved, int(left["Attributes"]["ApproximateNumberOfMessages"]))


def _move(sqs: SQSClient, messages: list[MessageTypeDef], url: str, dead_letter_url: str) -> int:
    """Send the batch on, then delete from the dead-letter queue what was sent; returns how many moved."""
    entries: list[SendMessageBatchRequestEntryTypeDef] = []
    for index, message in enumerate(messages):
        entry: SendMessageBatchRequestEntryTypeDef = {"Id": str(index), "MessageBody": message.get("Body", "")}
        attributes = {name: _attribute(value) for name, value in message.get("MessageAttributes", {}).items()}
        if attributes:
            entry["MessageAttributes"] = attributes  # type: ignore[typeddict-item]
        entries.append(entry)
    sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    done = [messages[int(entry["Id"])] for entry in sent.get("Successful", [])]
    if done:
        sqs.delete_message_batch(
            QueueUrl=dead_letter_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(done)
            ],
        )
    return len(done)


def _attribute(value: Any) -> dict[str, Any]:
    """A received message attribute as SendMessage takes it (the list fields SQS returns are not accepted)."""
    return {key: value[key] for key in ("DataType", "StringValue", "BinaryValue") if key in value}


def _queue_url(sqs: SQSClient, queue: str) -> str:
    try:
        return sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    except ClientError as exc:
        raise RedriveError(f"queue {queue} does not exist here: {exc}") from exc
