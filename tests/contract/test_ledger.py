"""The ledger on DynamoDB: a claim is granted once; a counter stops at its limit."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.services.domain import new_id, utcnow
from chalicelib.wiring import Dependencies


def test_a_claim_is_granted_once_until_released(deps: Dependencies) -> None:
    key, until = f"mail#{new_id()}", utcnow() + timedelta(days=1)

    assert deps.ledger.claim(key, until=until)
    assert not deps.ledger.claim(key, until=until)
    deps.ledger.release(key)
    assert deps.ledger.claim(key, until=until)


def test_a_counter_admits_exactly_its_limit(deps: Dependencies) -> None:
    key, until = f"rate#{new_id()}", utcnow() + timedelta(hours=1)

    admitted = [deps.ledger.count(key, limit=3, until=until) for _ in range(5)]

    assert admitted == [True, True, True, False, False]
    assert deps.ledger.count(f"rate#{new_id()}", limit=3, until=until)
