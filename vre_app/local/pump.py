"""The queue pump: feeds SQS messages to the same handler functions that Lambda calls.

On AWS, Lambda's event source mapping polls each queue, calls the handler with a batch as an
SQS event, deletes what succeeded and leaves the rest for redelivery. Locally nothing does
that, so this module does, for every `@app.on_sqs_message` handler of the Chalice app: it
calls the function Chalice registered (`app.handler_map`), with a Lambda-shaped event.

Partial failures (`{"batchItemFailures": [...]}`) are honoured as Lambda honours them when the
event source mapping has `FunctionResponseTypes: [ReportBatchItemFailures]`. Chalice 1.34 does
not set that when it deploys; without it Lambda deletes the whole batch on any normal return.
"""

from __future__ import annotations

import base64
import importlib
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import Chalice, SQSEventConfig

from vre_app.local.environment import LOCAL_STAGE, PROJECT_ROOT

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

log = logging.getLogger(__name__)

LambdaHandler = Callable[[dict[str, Any], Any], Any]
# One ReceiveMessage or DeleteMessageBatch call takes at most this many messages.
SQS_BATCH_LIMIT = 10
# Chalice's default `lambda_timeout`; the local stage does not set one.
LAMBDA_TIMEOUT_SECONDS = 60


class PumpError(RuntimeError):
    """The pump cannot feed a handler: no Chalice app, or a queue the local stack does not have."""


@dataclass(frozen=True, slots=True)
class SQSHandler:
    """One `@app.on_sqs_message` handler: its queue, batch size and the function Lambda calls."""

    name: str
    queue: str
    batch_size: int
    function: LambdaHandler
    function_name: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """A handler bound to its queue's URL and ARN."""

    handler: SQSHandler
    queue_url: str
    queue_arn: str
    region: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What became of one batch: the message ids deleted and those left for redelivery."""

    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()

    @property
    def received(self) -> int:
        return len(self.deleted) + len(self.kept)


@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """The parts of Lambda's context object that handlers read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    deadline: float = field(default_factory=lambda: time.monotonic() + LAMBDA_TIMEOUT_SECONDS)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda would stop this invocation."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def load_app(project_dir: Path = PROJECT_ROOT) -> Chalice:
    """The Chalice app of `app.py`, imported the way Lambda imports it."""
    root = str(project_dir)
    if root not in sys.path:
        sys.path.insert(0, root)
    application = getattr(importlib.import_module("app"), "app", None)
    if not isinstance(application, Chalice):
        raise PumpError(f"{project_dir / 'app.py'} defines no Chalice `app`")
    return application


def sqs_handlers(app: Chalice, stage: str = LOCAL_STAGE) -> list[SQSHandler]:
    """Every SQS handler the app registers, with the function Lambda would call for it."""
    handlers = []
    for source in app.event_sources:
        if not isinstance(source, SQSEventConfig):
            continue
        queue = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
        handlers.append(
            SQSHandler(
                name=source.name,
                queue=queue,
                batch_size=source.batch_size,
                function=app.handler_map[source.name],
                function_name=f"{app.app_name}-{stage}-{source.name}",
            )
        )
    return handlers


def subscribe(sqs: SQSClient, handlers: Sequence[SQSHandler]) -> list[Subscription]:
    """Bind each handler to its queue; `PumpError` names a queue that does not exist."""
    subscriptions = []
    for handler in handlers:
        try:
            url = sqs.get_queue_url(QueueName=handler.queue)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        except ClientError as exc:
            raise PumpError(
                f"handler {handler.name!r} listens on queue {handler.queue!r}, which does not exist here "
                f"(is it in infra/template.yaml?): {exc}"
            ) from exc
        subscriptions.append(Subscription(handler, url, attributes["QueueArn"], sqs.meta.region_name))
    return subscriptions


def lambda_record(message: MessageTypeDef, subscription: Subscription) -> dict[str, Any]:
    """One received message as a record of Lambda's SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": subscription.queue_arn,
        "awsRegion": subscription.region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def lambda_event(messages: Sequence[MessageTypeDef], subscription: Subscription) -> dict[str, Any]:
    """A batch of received messages as the event Lambda passes an SQS handler."""
    return {"Records": [lambda_record(message, subscription) for message in messages]}


def failed_message_ids(response: object, message_ids: Sequence[str]) -> set[str]:
    """The messages a handler's answer leaves for redelivery, read as Lambda reads it.

    No `batchItemFailures` (or an empty list) means all succeeded; a failure naming no
    message of the batch makes Lambda treat the whole batch as failed.
    """
    if not isinstance(response, Mapping) or not response.get("batchItemFailures"):
        return set()
    failures = response["batchItemFailures"]
    batch = set(message_ids)
    if not isinstance(failures, list):
        log.warning("batchItemFailures is not a list: the whole batch fails")
        return batch
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if identifier not in batch:
            log.warning("batchItemFailures names %r, not a message of this batch: the whole batch fails", identifier)
            return batch
        failed.add(identifier)
    return failed


def receive_batch(sqs: SQSClient, subscription: Subscription, *, wait_seconds: int = 1) -> list[MessageTypeDef]:
    """Up to the handler's batch size of messages: long-polls `wait_seconds` for the first, then takes what is there."""
    messages: list[MessageTypeDef] = []
    wait = wait_seconds
    while len(messages) < subscription.handler.batch_size:
        wanted = min(SQS_BATCH_LIMIT, subscription.handler.batch_size - len(messages))
        received = sqs.receive_message(
            QueueUrl=subscription.queue_url,
            MaxNumberOfMessages=wanted,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            break
        messages.extend(received)
        wait = 0
    return messages


def process_batch(
    sqs: SQSClient,
    subscription: Subscription,
    *,
    wait_seconds: int = 1,
    context: object | None = None,
) -> BatchResult:
    """Receive one batch, call the handler, delete what succeeded; an exception keeps the whole batch."""
    messages = receive_batch(sqs, subscription, wait_seconds=wait_seconds)
    if not messages:
        return BatchResult()
    handler = subscription.handler
    ids = [message["MessageId"] for message in messages]
    invocation = context or _context(subscription)
    try:
        response = handler.function(lambda_event(messages, subscription), invocation)
    except Exception:  # the Lambda boundary: a raised error fails the whole batch, as on AWS
        log.exception("handler %s failed on a batch of %d from %s", handler.name, len(ids), handler.queue)
        failed = set(ids)
    else:
        failed = failed_message_ids(response, ids)
    done = [message for message in messages if message["MessageId"] not in failed]
    _delete(sqs, subscription.queue_url, done)
    log.info("%s: %d handled, %d left for redelivery", handler.name, len(done), len(failed))
    return BatchResult(
        deleted=tuple(message["MessageId"] for message in done),
        kept=tuple(i for i in ids if i in failed),
    )


def pump(
    sqs: SQSClient,
    subscription: Subscription,
    stop: threading.Event,
    *,
    wait_seconds: int = 1,
) -> None:
    """Feed one subscription batch after batch until `stop` is set; queue errors are logged and retried."""
    while not stop.is_set():
        try:
            process_batch(sqs, subscription, wait_seconds=wait_seconds)
        except (BotoCoreError, ClientError) as exc:
            if stop.is_set():
                break
            log.warning("polling %s failed (%s); retrying", subscription.handler.queue, exc)
            stop.wait(1.0)


class QueuePump:
    """Runs `pump` for every subscription, one thread each, until `stop()`. Zero subscriptions idle."""

    def __init__(self, sqs: SQSClient, subscriptions: Sequence[Subscription], *, wait_seconds: int = 1) -> None:
        self._sqs = sqs
        self._subscriptions = list(subscriptions)
        self._wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions)

    def start(self) -> None:
        """Start one polling thread per subscription."""
        if not self._subscriptions:
            log.info("the app has no SQS handlers: the queue pump has nothing to feed")
        for subscription in self._subscriptions:
            thread = threading.Thread(
                target=pump,
                args=(self._sqs, subscription, self._stop),
                kwargs={"wait_seconds": self._wait_seconds},
                name=f"pump-{subscription.handler.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
            log.info("pumping %s -> %s", subscription.handler.queue, subscription.handler.name)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; a batch in progress is finished first (within `timeout`)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()


def _context(subscription: Subscription) -> LocalLambdaContext:
    # arn:<partition>:sqs:<region>:<account>:<queue>: the function lives in the same account and region.
    _, partition, _, region, account, _ = subscription.queue_arn.split(":", 5)
    name = subscription.handler.function_name
    return LocalLambdaContext(
        function_name=name, invoked_function_arn=f"arn:{partition}:lambda:{region}:{account}:function:{name}"
    )


def _lambda_attribute(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "dataType": value["DataType"],
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def _delete(sqs: SQSClient, queue_url: str, messages: Sequence[MessageTypeDef]) -> None:
    for start in range(0, len(messages), SQS_BATCH_LIMIT):
        chunk = messages[start : start + SQS_BATCH_LIMIT]
        answer = sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
        )
        for failure in answer.get("Failed", []):
            log.warning("could not delete a handled message: %s", failure.get("Message", failure))
