"""TransactWriteItems whose items carry names, and storage errors re-raised as domain errors.

DynamoDB answers a cancelled transaction with one reason per item, in the order the items were sent, and
pynamodb sends them grouped by kind (condition checks, deletes, puts, updates), not in the order they were
added. `Writes` keeps each item's name in that sent order, so a reason is read by the item's name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError
from chalicelib.providers.outages import outage_behind

CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT_CODES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


class Cancelled(TransactWriteError):
    """A cancelled transaction; `reasons` holds the code of each item that failed, under the item's name."""

    def __init__(self, error: TransactWriteError, names: Sequence[str]) -> None:
        super().__init__(error.msg, error.cause)
        self.reasons: Mapping[str, str] = {
            name: reason.code for name, reason in zip(names, error.cancellation_reasons or [], strict=False) if reason
        }


class Writes:
    """The items of one TransactWriteItems, each added under a name unique in the transaction."""

    def __init__(self, transaction: TransactWrite) -> None:
        self._transaction = transaction
        self._checks: list[str] = []
        self._deletes: list[str] = []
        self._puts: list[str] = []
        self._updates: list[str] = []

    @property
    def names(self) -> list[str]:
        """The items' names in the order pynamodb sends them, which is the order of DynamoDB's reasons."""
        return self._checks + self._deletes + self._puts + self._updates

    def check(
        self, name: str, record: type[Model], hash_key: str, range_key: str | None = None, *, condition: Condition
    ) -> None:
        self._named(self._checks, name)
        self._transaction.condition_check(record, hash_key, range_key, condition=condition)

    def delete(self, name: str, record: Model, condition: Condition | None = None) -> None:
        self._named(self._deletes, name)
        self._transaction.delete(record, condition=condition)

    def save(self, name: str, record: Model, condition: Condition | None = None) -> None:
        self._named(self._puts, name)
        self._transaction.save(record, condition=condition)

    def update(self, name: str, record: Model, actions: list[Action], condition: Condition | None = None) -> None:
        self._named(self._updates, name)
        self._transaction.update(record, actions=actions, condition=condition)

    def _named(self, kind: list[str], name: str) -> None:
        if name in self.names:
            raise ValueError(f"two items named {name!r} in one transaction")
        kind.append(name)


@contextmanager
def named_writes(connection: Connection) -> Iterator[Writes]:
    """One TransactWriteItems, sent when the block ends; a cancellation is raised as `Cancelled`."""
    named: Writes | None = None
    try:
        with TransactWrite(connection=connection) as transaction:
            named = Writes(transaction)
            yield named
    except TransactWriteError as exc:
        if named is not None and exc.cause_response_code == "TransactionCanceledException":
            raise Cancelled(exc, named.names) from exc
        raise


@contextmanager
def transaction(connection: Connection, conflict: str) -> Iterator[Writes]:
    """One TransactWriteItems; a failed condition in it is a 409 saying `conflict` (caused by `Cancelled`)."""
    with conflicts_as(conflict), named_writes(connection) as named:
        yield named


def failed(error: BaseException, name: str, code: str = CONDITION_FAILED) -> bool:
    """Whether the item called `name` failed with `code` in the cancelled transaction behind `error`."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, Cancelled):
            return cause.reasons.get(name) == code
        cause = cause.__cause__
    return False


@contextmanager
def conflicts_as(detail: str) -> Iterator[None]:
    """Turn a failed condition (a version clash, a duplicate) into a 409 with `detail`."""
    try:
        yield
    except PynamoDBException as exc:
        if (outage := outage_behind(exc)) is not None:
            raise outage from exc  # throttled, not refused: the same request may simply be sent again
        if exc.cause_response_code in _CONFLICT_CODES:
            raise ConflictError(detail=detail) from exc
        raise
