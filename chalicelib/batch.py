"""The one batch runner of every queue: per-record outcomes in, SQS's partial-batch response out.

Lambda's event source mapping (with `ReportBatchItemFailures`) deletes the records of a batch that are
not named in `batchItemFailures` and hands the named ones out again, until the queue's receive limit
moves them to the dead-letter queue. So a record is done (handled, or a duplicate nobody needs), dropped
(a body no retry can fix: logged, never retried into the dead-letter queue) or retried (its handler
raised, or asked for it).

Our own twenty lines rather than Powertools' `BatchProcessor`: Powertools adds megabytes to a Lambda
package that must stay under 30 MB, for the one loop we need, and would not know our message types.
Each record runs under the request id its message carries, so its log lines join its sender's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from chalicelib.logs import bound_request_id
from chalicelib.observability import report_exception
from chalicelib.services.messages import MalformedMessageError, Message

log = logging.getLogger(__name__)

BatchResponse = dict[str, list[dict[str, str]]]
M = TypeVar("M", bound=Message)


class MessageOutcome(Enum):
    """What became of one queue message: done with, dropped as unusable, or to be delivered again."""

    DONE = "done"
    DROPPED = "dropped"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Record(Generic[M]):
    """One SQS record, its body decoded."""

    message_id: str
    receive_count: int
    message: M


def run_batch(
    queue: str,
    records: Iterable[dict[str, Any]],
    decode: Callable[[str], M],
    handle: Callable[[Record[M]], MessageOutcome | None],
) -> BatchResponse:
    """Decode and handle every record; the answer names those SQS should deliver again.

    `handle` returns None or `MessageOutcome.DONE` when the record is done with, `MessageOutcome.RETRY` to have it
    again, `MessageOutcome.DROPPED` for a message it cannot use; if it raises, the record alone is retried.
    """
    failures: list[dict[str, str]] = []
    for raw in records:
        message_id = str(raw["messageId"])
        if run_record(queue, raw, decode, handle) is MessageOutcome.RETRY:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def run_record(
    queue: str,
    raw: dict[str, Any],
    decode: Callable[[str], M],
    handle: Callable[[Record[M]], MessageOutcome | None],
) -> MessageOutcome:
    message_id = str(raw["messageId"])
    try:
        message = decode(str(raw.get("body", "")))
    except MalformedMessageError as exc:
        log.error("dropping %s message %s: %s", queue, message_id, exc, extra={"sqs_message_id": message_id})
        return MessageOutcome.DROPPED
    with bound_request_id(message.request_id):
        try:
            outcome = handle(Record(message_id, receive_count(raw), message)) or MessageOutcome.DONE
        except Exception:  # the record's boundary: it alone is retried, the rest of the batch is not
            log.exception("%s message %s failed; SQS delivers it again", queue, message_id)
            report_exception()
            return MessageOutcome.RETRY
    return outcome


def receive_count(record: dict[str, Any]) -> int:
    """How often SQS has handed this message out, this time included (1 if SQS did not say)."""
    try:
        return max(1, int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)))
    except (TypeError, ValueError):
        return 1
