"""The one batch runner: per-record outcomes become SQS's partial-batch response, for every queue."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from chalice.app import SQSEvent

from chalicelib.batch import MessageOutcome, Record, run_batch
from chalicelib.logs import current_request_id
from chalicelib.services.messages import ConvergeMessage, ProvisioningMessage, decode_provisioning, encode
from chalicelib.services.workspaces.provisioning import Family
from chalicelib.workers.mail import handle_mail_batch
from chalicelib.workers.provisioning import handle_provisioning_batch


def raw(body: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {"ApproximateReceiveCount": "2"},
    }


def test_a_mixed_batch_names_exactly_the_records_to_deliver_again(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a batch with a record that succeeds, one that is poison, one that raises and one that asks again
    done = raw(encode(ConvergeMessage(workspace_id="done")))
    poison = raw('{"type": "converge"}')
    raising = raw(encode(ConvergeMessage(workspace_id="raise")))
    again = raw(encode(ConvergeMessage(workspace_id="again")))
    seen: list[tuple[str, int]] = []

    def handle(record: Record[ProvisioningMessage]) -> MessageOutcome | None:
        seen.append((record.message.workspace_id, record.receive_count))
        if record.message.workspace_id == "raise":
            raise RuntimeError("OpenStack is down")
        return MessageOutcome.RETRY if record.message.workspace_id == "again" else None

    # WHEN the runner runs it
    answer = run_batch("provisioning", [done, poison, raising, again], decode_provisioning, handle)

    # THEN only the one that raised and the one that asked come back; the poison is dropped with a log line
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": raising["messageId"]}, {"itemIdentifier": again["messageId"]}]
    }
    assert seen == [("done", 2), ("raise", 2), ("again", 2)]
    dropped = [r for r in caplog.records if r.levelno == logging.ERROR and "dropping" in r.getMessage()]
    assert [poison["messageId"] in r.getMessage() for r in dropped] == [True]


def test_each_record_runs_under_the_request_id_its_message_carries() -> None:
    bound: list[str] = []
    batch = [
        raw(encode(ConvergeMessage(workspace_id="w", request_id="api-request-1"))),
        raw('{"kind": "converge", "workspace_id": "w"}'),
    ]

    run_batch("provisioning", batch, decode_provisioning, lambda record: bound.append(current_request_id()))

    assert bound[0] == "api-request-1"
    assert len(bound[1]) == 32  # a message from before request ids gets a fresh one
    assert current_request_id() == ""  # and nothing leaks past the record


def sqs_event(*bodies: str) -> SQSEvent:
    return SQSEvent({"Records": [raw(body) for body in bodies]}, context=None)


class Unused:
    """Dependencies a dropped record must never touch."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a dropped record used {name}")


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"type": "telegram", "mail_id": "m"}),  # unknown tag
        json.dumps({"type": "invitation", "mail_id": "m", "invitation_id": "i"}),  # missing field
        json.dumps({"type": "invitation", "mail_id": "m", "invitation_id": "i", "token": 7}),  # wrong type
    ],
    ids=["unknown-tag", "missing-field", "wrong-type"],
)
def test_the_mail_worker_drops_a_malformed_body_with_a_log_line(body: str, caplog: pytest.LogCaptureFixture) -> None:
    answer = handle_mail_batch(sqs_event(body), Unused())

    assert answer == {"batchItemFailures": []}
    assert "dropping mail message" in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"type": "teleport", "workspace_id": "w"}),
        json.dumps({"type": "check", "workspace_id": "w"}),
        json.dumps({"type": "check", "workspace_id": "w", "token": ["t"]}),
    ],
    ids=["unknown-tag", "missing-field", "wrong-type"],
)
def test_the_provisioning_worker_drops_a_malformed_body_with_a_log_line(
    body: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Wired:
        provisioning: Family = Unused()  # type: ignore[assignment]

    answer = handle_provisioning_batch(sqs_event(body), Wired())

    assert answer == {"batchItemFailures": []}
    assert "dropping provisioning message" in caplog.text
