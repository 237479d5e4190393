"""The queue pump feeds SQS messages to Chalice SQS handlers the way Lambda's event source mapping does.

These tests use a small Chalice app with one handler, so each decides what its handler answers;
tests/workers/test_mail_worker.py pumps the broker's own mail handler. moto runs in-process for the
whole session (the `aws` fixture), so each test gets a queue of its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from chalice.app import Chalice, SQSEvent

from vre_app.local.pump import (
    LocalLambdaContext,
    PumpError,
    QueuePump,
    Subscription,
    failed_message_ids,
    process_batch,
    pump,
    sqs_handlers,
    subscribe,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAIL_QUEUE = "vre-local-mail"
ACCOUNT = "123456789012"
Answer = Callable[[list[dict[str, Any]]], Any]


@dataclass
class Recorder:
    """What the test handler saw, and how it answers (by default: fail the bodies starting `fail`)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    answer: Answer | None = None

    def handle(self, event: SQSEvent) -> Any:
        raw = event.to_dict()
        self.events.append(raw)
        self.contexts.append(event.context)
        records: list[dict[str, Any]] = raw["Records"]
        if self.answer is not None:
            return self.answer(records)
        if any(record["body"] == "boom" for record in records):
            raise RuntimeError("the handler failed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]} for record in records if record["body"].startswith("fail")
            ]
        }


def demo_app(recorder: Recorder, *, queue: str, batch_size: int = 10) -> Chalice:
    """A Chalice app with one SQS handler, declared as the broker's workers will be."""
    app = Chalice(app_name="pump-test")

    @app.on_sqs_message(queue=queue, batch_size=batch_size)
    def deliver_mail(event: SQSEvent) -> Any:
        return recorder.handle(event)

    return app


@pytest.fixture
def sqs(aws: None) -> SQSClient:
    return boto3.client("sqs", region_name="eu-west-1")


@pytest.fixture
def queue(sqs: SQSClient) -> Iterator[str]:
    """A queue of this test's own, with the mail queue's visibility timeout."""
    name = f"pump-test-{uuid.uuid4().hex[:12]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "180"})["QueueUrl"]
    yield name
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def subscription(sqs: SQSClient, recorder: Recorder, queue: str) -> Subscription:
    (bound,) = subscribe(sqs, sqs_handlers(demo_app(recorder, queue=queue)))
    return bound


def send(sqs: SQSClient, subscription: Subscription, *bodies: str) -> list[str]:
    return [sqs.send_message(QueueUrl=subscription.queue_url, MessageBody=body)["MessageId"] for body in bodies]


def queue_counts(sqs: SQSClient, subscription: Subscription) -> tuple[int, int]:
    """(visible, in flight) messages on the subscription's queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=subscription.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_handlers_are_discovered_from_the_chalice_app(recorder: Recorder) -> None:
    app = demo_app(recorder, queue=MAIL_QUEUE, batch_size=7)

    (handler,) = sqs_handlers(app)

    assert handler.name == "deliver_mail"
    assert handler.queue == MAIL_QUEUE
    assert handler.batch_size == 7
    assert handler.function is app.handler_map["deliver_mail"]
    assert handler.function_name == "pump-test-local-deliver_mail"


def test_a_queue_named_by_arn_is_found_by_its_name(recorder: Recorder) -> None:
    app = Chalice(app_name="pump-test")
    app.on_sqs_message(queue_arn=f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{MAIL_QUEUE}")(recorder.handle)

    assert [handler.queue for handler in sqs_handlers(app)] == [MAIL_QUEUE]


def test_handlers_are_bound_to_the_queues_the_template_creates(sqs: SQSClient, recorder: Recorder) -> None:
    (subscription,) = subscribe(sqs, sqs_handlers(demo_app(recorder, queue=MAIL_QUEUE)))

    assert subscription.queue_url.endswith(f"/{ACCOUNT}/{MAIL_QUEUE}")
    assert subscription.queue_arn == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{MAIL_QUEUE}"
    assert subscription.region == "eu-west-1"


def test_the_handler_gets_a_lambda_shaped_event(
    sqs: SQSClient, subscription: Subscription, recorder: Recorder, queue: str
) -> None:
    # GIVEN two messages, one with message attributes
    first = sqs.send_message(
        QueueUrl=subscription.queue_url,
        MessageBody='{"template": "invitation"}',
        MessageAttributes={
            "locale": {"DataType": "String", "StringValue": "nl"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )["MessageId"]
    (second,) = send(sqs, subscription, "plain")

    # WHEN the pump handles a batch
    result = process_batch(sqs, subscription, wait_seconds=0)

    # THEN the handler saw one event with both, shaped as Lambda shapes it
    assert result.received == 2
    (event,) = recorder.events
    records = {record["messageId"]: record for record in event["Records"]}
    assert set(records) == {first, second}
    record = records[first]
    assert record["body"] == '{"template": "invitation"}'
    assert record["receiptHandle"]
    assert record["md5OfBody"]
    assert record["md5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{queue}"
    assert record["awsRegion"] == "eu-west-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"] == {
        "locale": {"dataType": "String", "stringValue": "nl", "stringListValues": [], "binaryListValues": []},
        "blob": {"dataType": "Binary", "binaryValue": "AAE=", "stringListValues": [], "binaryListValues": []},
    }
    assert records[second]["messageAttributes"] == {}
    # AND a Lambda-like context
    (context,) = recorder.contexts
    assert isinstance(context, LocalLambdaContext)
    assert context.function_name == "pump-test-local-deliver_mail"
    assert context.invoked_function_arn == f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:pump-test-local-deliver_mail"
    assert 0 < context.get_remaining_time_in_millis() <= 60_000


def test_messages_handled_successfully_are_deleted(sqs: SQSClient, subscription: Subscription) -> None:
    ids = send(sqs, subscription, "a", "b", "c")

    result = process_batch(sqs, subscription, wait_seconds=0)

    assert sorted(result.deleted) == sorted(ids)
    assert result.kept == ()
    assert queue_counts(sqs, subscription) == (0, 0)


def test_partial_failures_stay_for_redelivery(sqs: SQSClient, subscription: Subscription, recorder: Recorder) -> None:
    # GIVEN a batch where the handler reports one message as failed
    ok_first, failed, ok_second = send(sqs, subscription, "ok 1", "fail once", "ok 2")

    # WHEN the pump handles it
    result = process_batch(sqs, subscription, wait_seconds=0)

    # THEN only the failed one is left, in flight until its visibility timeout
    assert sorted(result.deleted) == sorted([ok_first, ok_second])
    assert result.kept == (failed,)
    assert queue_counts(sqs, subscription) == (0, 1)

    # AND once visible again it is redelivered, alone, as a second receive
    (handle,) = [r["receiptHandle"] for r in recorder.events[0]["Records"] if r["messageId"] == failed]
    sqs.change_message_visibility(QueueUrl=subscription.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    process_batch(sqs, subscription, wait_seconds=0)
    (redelivered,) = recorder.events[1]["Records"]
    assert redelivered["messageId"] == failed
    assert redelivered["attributes"]["ApproximateReceiveCount"] == "2"


def test_an_exception_keeps_the_whole_batch(
    sqs: SQSClient, subscription: Subscription, caplog: pytest.LogCaptureFixture
) -> None:
    ids = send(sqs, subscription, "fine", "boom")

    result = process_batch(sqs, subscription, wait_seconds=0)

    assert result.deleted == ()
    assert sorted(result.kept) == sorted(ids)
    assert queue_counts(sqs, subscription) == (0, 2)
    assert "deliver_mail failed" in caplog.text


def test_a_failure_naming_no_message_of_the_batch_fails_it_all(
    sqs: SQSClient, subscription: Subscription, recorder: Recorder
) -> None:
    recorder.answer = lambda records: {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]}
    ids = send(sqs, subscription, "a", "b")

    result = process_batch(sqs, subscription, wait_seconds=0)

    assert sorted(result.kept) == sorted(ids)
    assert queue_counts(sqs, subscription) == (0, 2)


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, {"m1"}),
        ({"batchItemFailures": "m1"}, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{}]}, {"m1", "m2"}),
    ],
)
def test_handler_answers_are_read_as_lambda_reads_them(response: object, failed: set[str]) -> None:
    assert failed_message_ids(response, ["m1", "m2"]) == failed


def test_a_batch_holds_at_most_the_handlers_batch_size(sqs: SQSClient, recorder: Recorder, queue: str) -> None:
    (subscription,) = subscribe(sqs, sqs_handlers(demo_app(recorder, queue=queue, batch_size=2)))
    send(sqs, subscription, *(f"m{n}" for n in range(5)))

    sizes = [process_batch(sqs, subscription, wait_seconds=0).received for _ in range(4)]

    assert sizes == [2, 2, 1, 0]
    assert [len(event["Records"]) for event in recorder.events] == [2, 2, 1]


def test_an_empty_queue_calls_no_handler(sqs: SQSClient, subscription: Subscription, recorder: Recorder) -> None:
    assert process_batch(sqs, subscription, wait_seconds=0).received == 0
    assert recorder.events == []


def test_a_handler_on_a_queue_that_does_not_exist_is_refused(sqs: SQSClient, recorder: Recorder) -> None:
    with pytest.raises(PumpError, match="vre-local-nowhere"):
        subscribe(sqs, sqs_handlers(demo_app(recorder, queue="vre-local-nowhere")))


def test_zero_handlers_is_fine(sqs: SQSClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    handlers = sqs_handlers(Chalice(app_name="no-workers"))
    queue_pump = QueuePump(sqs, subscribe(sqs, handlers))

    queue_pump.start()
    queue_pump.stop(timeout=1)

    assert handlers == []
    assert "no SQS handlers" in caplog.text


def test_the_loop_feeds_the_handler_until_stopped(
    sqs: SQSClient, subscription: Subscription, recorder: Recorder
) -> None:
    # GIVEN the batch loop running in a thread
    stop = threading.Event()
    worker = threading.Thread(target=pump, args=(sqs, subscription, stop), kwargs={"wait_seconds": 1})
    worker.start()
    try:
        # WHEN a message arrives
        (message_id,) = send(sqs, subscription, "hello")
        # THEN the handler gets it soon after
        for _ in wait_for(seconds=10):
            if recorder.events:
                break
        assert [r["messageId"] for r in recorder.events[0]["Records"]] == [message_id]
    finally:
        stop.set()
        worker.join(timeout=5)
    # AND the loop ends once stopped
    assert not worker.is_alive()
    assert queue_counts(sqs, subscription) == (0, 0)


def test_the_queue_pump_runs_one_loop_per_handler(
    sqs: SQSClient, subscription: Subscription, recorder: Recorder
) -> None:
    queue_pump = QueuePump(sqs, [subscription], wait_seconds=1)
    queue_pump.start()
    try:
        send(sqs, subscription, "one", "two")
        for _ in wait_for(seconds=10):
            if sum(len(event["Records"]) for event in recorder.events) == 2:
                break
    finally:
        started = time.monotonic()
        queue_pump.stop(timeout=5)
    assert time.monotonic() - started < 5
    assert queue_counts(sqs, subscription) == (0, 0)


def wait_for(*, seconds: float, step: float = 0.05) -> Iterator[None]:
    """Yield until `seconds` have passed (the caller breaks out when its condition holds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        yield
        time.sleep(step)
