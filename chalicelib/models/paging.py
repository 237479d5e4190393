"""Pages out of pynamodb result iterators, and storage errors re-raised as domain errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.models import Model, _ModelFuture
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError
from chalicelib.services.common.model import Page

M = TypeVar("M", bound=Model)
R = TypeVar("R")
T = TypeVar("T")

_CONFLICT_CODES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


def resolved(future: _ModelFuture[M], convert: Callable[[M], T]) -> T | None:
    """The converted item of a transactional read, or None if there was none."""
    try:
        return convert(future.get())
    except DoesNotExist:
        return None


def versioned(version: int | None) -> dict[str, Any]:
    """Constructor kwargs for a pynamodb VersionAttribute (which refuses an explicit None)."""
    return {} if version is None else {"version": version}


def page_of(results: ResultIterator[R], convert: Callable[[R], T]) -> Page[T]:
    """Consume a query limited to one page; the next start is where DynamoDB would go on."""
    items = [convert(record) for record in results]
    return Page(items, results.last_evaluated_key)


@contextmanager
def transaction(connection: Connection, conflict: str) -> Iterator[TransactWrite]:
    """One TransactWriteItems; a failed condition in it is a 409 saying `conflict`."""
    with conflicts_as(conflict), TransactWrite(connection=connection) as writes:
        yield writes


@contextmanager
def conflicts_as(detail: str) -> Iterator[None]:
    """Turn a failed condition (a version clash, a duplicate) into a 409 with `detail`."""
    try:
        yield
    except PynamoDBException as exc:
        if exc.cause_response_code in _CONFLICT_CODES:
            raise ConflictError(detail=detail) from exc
        raise
