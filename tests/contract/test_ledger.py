"""The ledger, in memory and on DynamoDB: a claim is granted once; a counter stops at its limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.services.common.model import new_id, utcnow
from chalicelib.services.common.ports import Ledger
from tests.support.fakes_workspaces import InMemoryLedger


@pytest.fixture(params=["in-memory", "dynamodb"])
def ledger(request: pytest.FixtureRequest) -> Ledger:
    if request.param == "in-memory":
        return InMemoryLedger()
    built: Ledger = request.getfixturevalue("deps").ledger
    return built


def test_a_claim_is_granted_once_until_released(ledger: Ledger) -> None:
    key, until = f"mail#{new_id()}", utcnow() + timedelta(days=1)

    assert ledger.claimed(key) is None
    assert ledger.claim(key, until=until)
    assert ledger.claimed(key) == ""
    assert not ledger.claim(key, until=until, fingerprint="other")
    ledger.release(key)
    assert ledger.claimed(key) is None
    assert ledger.claim(key, until=until, fingerprint="abc")
    assert ledger.claimed(key) == "abc"


def test_a_counter_admits_exactly_its_limit(ledger: Ledger) -> None:
    key, until = f"rate#{new_id()}", utcnow() + timedelta(hours=1)

    admitted = [ledger.count(key, limit=3, until=until) for _ in range(5)]

    assert admitted == [True, True, True, False, False]
    assert ledger.count(f"rate#{new_id()}", limit=3, until=until)
