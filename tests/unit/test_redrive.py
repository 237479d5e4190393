"""`python -m vre_app redrive`: dead letters go back onto their queue, bodies and attributes intact, and
leave the dead-letter queue only once they are back."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from vre_app.cli import main
from vre_app.redrive import RedriveError, queue_name, redrive

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-1"


@pytest.fixture
def sqs(aws: None) -> SQSClient:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queues(sqs: SQSClient) -> Iterator[tuple[str, str, str]]:
    """A queue of this test's own with its dead-letter queue, as the template makes them: (name, url, dlq url)."""
    client = sqs
    name = f"vre-local-redrive-{uuid.uuid4().hex[:10]}"
    dead_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = client.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "5"})},
    )["QueueUrl"]
    yield name, url, dead_url
    client.delete_queue(QueueUrl=url)
    client.delete_queue(QueueUrl=dead_url)


def bodies(url: str) -> list[str]:
    client = boto3.client("sqs", region_name=REGION)
    found: list[str] = []
    while True:
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        if not messages:
            return sorted(found)
        found += [m["Body"] for m in messages]


def dead_letters(url: str, count: int) -> list[str]:
    client = boto3.client("sqs", region_name=REGION)
    sent = [json.dumps({"n": n}) for n in range(count)]
    for body in sent:
        client.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
        )
    return sent


def test_every_dead_letter_goes_back_with_its_attributes(queues: tuple[str, str, str]) -> None:
    # GIVEN three messages that gave up
    name, url, dead_url = queues
    sent = dead_letters(dead_url, 3)

    # WHEN the queue is redriven
    result = redrive(boto3.client("sqs", region_name=REGION), name, wait_seconds=0)

    # THEN they are on the queue again, attributes and all, and the dead-letter queue is empty
    assert (result.moved, result.left, result.dead_letter_queue) == (3, 0, f"{name}-dlq")
    messages = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert sorted(m["Body"] for m in messages) == sorted(sent)
    assert all(m["MessageAttributes"]["origin"]["StringValue"] == "test" for m in messages)
    assert bodies(dead_url) == []


def test_a_limit_moves_that_many_and_leaves_the_rest(queues: tuple[str, str, str]) -> None:
    name, url, dead_url = queues
    dead_letters(dead_url, 13)

    result = redrive(boto3.client("sqs", region_name=REGION), name, limit=11, wait_seconds=0)

    assert (result.moved, result.left) == (11, 2)
    assert len(bodies(url)) == 11


def test_a_queue_without_a_dead_letter_queue_is_refused(sqs: SQSClient) -> None:
    client = sqs
    name = f"vre-local-plain-{uuid.uuid4().hex[:10]}"
    url = client.create_queue(QueueName=name)["QueueUrl"]

    with pytest.raises(RedriveError, match="no dead-letter queue"):
        redrive(client, name, wait_seconds=0)
    with pytest.raises(RedriveError, match="does not exist"):
        redrive(client, f"{name}-gone", wait_seconds=0)
    client.delete_queue(QueueUrl=url)


def test_a_short_name_is_the_stages_queue() -> None:
    assert queue_name("dev", "mail") == "vre-dev-mail"
    assert queue_name("prod", "vre-prod-provisioning") == "vre-prod-provisioning"


@pytest.fixture
def restored_environ() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_the_cli_says_what_it_moved(
    queues: tuple[str, str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restored_environ: None,
) -> None:
    name, url, dead_url = queues
    dead_letters(dead_url, 2)
    # Present but empty: no endpoint override, so the CLI talks to the in-process moto.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")

    assert main(["redrive", "--stage", "local", "--queue", name]) == 0

    assert capsys.readouterr().out == f"moved 2 message(s) from {name}-dlq back to {name}; 0 left in {name}-dlq\n"
    assert len(bodies(url)) == 2


def test_the_cli_names_a_queue_that_is_not_there(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restored_environ: None
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")

    assert main(["redrive", "--stage", "local", "--queue", "no-such-queue"]) == 1

    assert "queue vre-local-no-such-queue does not exist" in capsys.readouterr().err
