"""Pages out of pynamodb result iterators, and the small conversions every repository needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model, _ModelFuture
from pynamodb.pagination import ResultIterator

from chalicelib.services.common.model import Page

M = TypeVar("M", bound=Model)
R = TypeVar("R")
T = TypeVar("T")


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
