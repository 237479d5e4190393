"""An AWS dependency throttling us or out of reach, told apart from every other failure.

Only failures after which the request was certainly not carried out count: AWS refuses a throttled call before
doing anything, and a connection that was never made sent nothing. The caller gets a 503 with `Retry-After`
(`UnavailableError`) and can send the same request again. A read timeout or an AWS 500 may come after the work
was done, so they stay 500s with a request id for someone to look into.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from chalicelib.errors import UnavailableError

# The codes AWS services answer a throttled call with (DynamoDB, SQS, SES, KMS, S3, STS).
THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
    }
)
# What a cancelled TransactWriteItems says of an item it did not write because the table was throttled.
THROTTLED_ITEM = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


def outage_behind(error: BaseException) -> UnavailableError | None:
    """A 503 for `error` when a throttled or unreachable AWS service is behind it (anywhere in its causes)."""
    for cause in _causes(error):
        if isinstance(cause, EndpointConnectionError | ConnectTimeoutError):
            return UnavailableError(detail="A service the broker depends on cannot be reached; try again shortly.")
        if isinstance(cause, ClientError) and _throttled(cause):
            return UnavailableError(detail="The broker is busy; try again shortly.")
    return None


def _throttled(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code in THROTTLED:
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = [str(reason.get("Code", "None")) for reason in error.response.get("CancellationReasons", [])]
    # A transaction some of whose items were throttled and none refused was never tried in full.
    return any(r in THROTTLED_ITEM for r in reasons) and all(r in THROTTLED_ITEM or r == "None" for r in reasons)


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and what caused it: Python's `__cause__`/`__context__` and pynamodb's `cause`, each once."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pynamodb_cause = getattr(current, "cause", None)
        pending += [pynamodb_cause if isinstance(pynamodb_cause, BaseException) else None]
        pending += [current.__cause__, current.__context__]
    return seen
