"""DynamoDB throttling us or out of reach, over the API on moto: a 503 problem with Retry-After where the request
was certainly not carried out (so sending it again is safe), and a 500 with a request id where it may have been."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from chalice.test import Client

from chalicelib.errors import PROBLEM_BASE
from chalicelib.providers.outages import outage_behind
from tests.conftest import Person
from tests.support.api import call

ENDPOINT = "https://dynamodb.eu-west-1.amazonaws.com/"
Failure = Callable[[str], Exception]


def aws_error(code: str, status: int = 400, **extra: Any) -> Failure:
    answer: dict[str, Any] = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return lambda operation: ClientError({**answer, **extra}, operation)  # type: ignore[typeddict-item]


THROTTLED = aws_error("ProvisionedThroughputExceededException")
REQUEST_LIMIT = aws_error("RequestLimitExceeded")
THROTTLED_TRANSACTION = aws_error(
    "TransactionCanceledException",
    CancellationReasons=[{"Code": "None"}, {"Code": "ThrottlingError", "Message": "Throughput exceeds the limit"}],
)


def unreachable(operation: str) -> Exception:
    return EndpointConnectionError(endpoint_url=ENDPOINT)


def connect_timeout(operation: str) -> Exception:
    return ConnectTimeoutError(endpoint_url=ENDPOINT)


def read_timeout(operation: str) -> Exception:
    return ReadTimeoutError(endpoint_url=ENDPOINT)


class FlakyDynamoDB:
    """Every botocore DynamoDB call in `failing` raises what DynamoDB or the network would, before it is sent."""

    def __init__(self) -> None:
        self.failing: dict[str, Failure] = {}


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> FlakyDynamoDB:
    flaky = FlakyDynamoDB()
    real = BaseClient._make_api_call  # type: ignore[attr-defined]

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        failure = flaky.failing.get(operation)
        if client.meta.service_model.service_name == "dynamodb" and failure is not None:
            raise failure(operation)
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return flaky


def assert_unavailable(status: int, payload: Any, headers: dict[str, str]) -> None:
    assert status == 503, payload
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "5"
    assert payload["type"] == PROBLEM_BASE + "unavailable"
    assert payload["status"] == 503
    assert payload["request_id"]


@pytest.mark.parametrize(
    "failure",
    [THROTTLED, REQUEST_LIMIT, unreachable, connect_timeout],
    ids=["throughput-exceeded", "request-limit", "unreachable", "connect-timeout"],
)
def test_a_read_dynamodb_refuses_is_a_503_and_the_same_request_then_succeeds(
    client: Client, person: Callable[..., Person], dynamodb: FlakyDynamoDB, failure: Failure
) -> None:
    alice = person("alice")
    dynamodb.failing = {"TransactGetItems": failure, "GetItem": failure, "Query": failure}

    assert_unavailable(*call(client, "GET", "/studies", headers=alice.headers))

    dynamodb.failing = {}
    status, payload, _ = call(client, "GET", "/studies", headers=alice.headers)
    assert status == 200, payload


def test_a_write_throttled_inside_its_transaction_is_a_503_and_nothing_is_written(
    client: Client, person: Callable[..., Person], dynamodb: FlakyDynamoDB
) -> None:
    alice = person("alice")
    body = {"name": "Throttled cohort", "description": "", "research_field": None}
    dynamodb.failing = {"TransactWriteItems": THROTTLED_TRANSACTION}

    assert_unavailable(*call(client, "POST", "/studies", headers=alice.headers, body=body))

    dynamodb.failing = {}
    status, listed, _ = call(client, "GET", "/studies", headers=alice.headers)
    assert status == 200
    assert [s["name"] for s in listed["items"]] == []
    status, created, _ = call(client, "POST", "/studies", headers=alice.headers, body=body)
    assert status == 201, created
    status, listed, _ = call(client, "GET", "/studies", headers=alice.headers)
    assert [s["name"] for s in listed["items"]] == ["Throttled cohort"]


def test_a_timeout_after_the_call_went_out_stays_a_500_for_it_may_have_been_done(
    client: Client, person: Callable[..., Person], dynamodb: FlakyDynamoDB
) -> None:
    alice = person("alice")
    dynamodb.failing = {"TransactGetItems": read_timeout, "GetItem": read_timeout, "Query": read_timeout}

    status, payload, headers = call(client, "GET", "/studies", headers=alice.headers)

    assert status == 500
    assert "Retry-After" not in headers
    assert payload["request_id"]
    assert ENDPOINT not in json.dumps(payload)


def test_a_refused_condition_is_not_taken_for_throttling() -> None:
    refused = aws_error(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "ThrottlingError"}],
    )("TransactWriteItems")
    internal = aws_error("InternalServerError", 500)("GetItem")

    assert outage_behind(refused) is None
    assert outage_behind(internal) is None
    assert outage_behind(RuntimeError("wrapped")) is None
    wrapped = RuntimeError("a repository's own error")
    wrapped.__cause__ = THROTTLED("Query")
    assert outage_behind(wrapped) is not None
