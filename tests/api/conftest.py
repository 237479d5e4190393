"""API tests drive the real app through `chalice.test.Client` on moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client

from app import app
from chalicelib.wiring import Dependencies


@pytest.fixture
def client(deps: Dependencies) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client
