"""A cancelled transaction's reasons are read by each item's name, whatever order the items were added in.

pynamodb sends a transaction's items grouped by kind (checks, deletes, puts, updates), so the position of a
reason is not the position an item was added at; these run on moto, which answers like DynamoDB.
"""

from __future__ import annotations

from itertools import permutations

import pytest
from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError
from chalicelib.models.ledger import LedgerRecord
from chalicelib.models.transactions import CONDITION_FAILED, Cancelled, Writes, failed, named_writes, transaction
from chalicelib.services.common.model import new_id

pytestmark = pytest.mark.usefixtures("aws")  # moto's tables; the items here use keys of their own

Item = tuple[str, str]  # the item's kind, and whether its condition holds ("passes") or not ("fails")
KINDS = ("check", "delete", "save", "update")


def _add(writes: Writes, kind: str, outcome: str, existing: str, absent: str) -> None:
    """One item of `kind` on the ledger whose condition holds, or fails, as `outcome` says."""
    holds = outcome == "passes"
    if kind == "check":
        writes.check(kind, LedgerRecord, existing if holds else absent, condition=LedgerRecord.key.exists())
    elif kind == "delete":
        writes.delete(kind, LedgerRecord(key=existing if holds else absent), condition=LedgerRecord.key.exists())
    elif kind == "save":
        writes.save(kind, LedgerRecord(key=absent if holds else existing), condition=LedgerRecord.key.does_not_exist())
    else:
        writes.update(
            kind,
            LedgerRecord(key=existing),
            actions=[LedgerRecord.hits.add(1)],
            condition=(LedgerRecord.hits < 100) if holds else (LedgerRecord.hits < 0),
        )


def _send(items: list[Item]) -> None:
    """Run one transaction of `items` on fresh ledger keys."""
    existing = {kind: f"test#{new_id()}" for kind in KINDS}
    for key in existing.values():
        LedgerRecord(key=key, hits=1).save()
    with named_writes(Connection()) as writes:
        for kind, outcome in items:
            _add(writes, kind, outcome, existing[kind], f"test#{new_id()}")


def _cancel(items: list[Item]) -> Cancelled:
    with pytest.raises(Cancelled) as cancelled:
        _send(items)
    return cancelled.value


@pytest.mark.parametrize("order", list(permutations(KINDS)), ids="-".join)
@pytest.mark.parametrize("failing", KINDS)
def test_the_failed_item_is_named_whatever_order_it_was_added_in(order: tuple[str, ...], failing: str) -> None:
    # GIVEN one item of each kind, added in this order, of which only `failing` has a condition that fails
    items = [(kind, "fails" if kind == failing else "passes") for kind in order]

    # WHEN the transaction is sent
    cancelled = _cancel(items)

    # THEN the reason is read under the failed item's name, and no other item is blamed
    assert cancelled.reasons == {failing: CONDITION_FAILED}
    assert failed(cancelled, failing)
    assert not any(failed(cancelled, kind) for kind in KINDS if kind != failing)


def test_a_conflict_from_a_transaction_still_names_the_item_behind_it() -> None:
    key = f"test#{new_id()}"
    LedgerRecord(key=key).save()

    def claim_again() -> None:
        with transaction(Connection(), "Taken.") as writes:
            writes.save("audit", LedgerRecord(key=f"test#{new_id()}"))
            writes.save("claim", LedgerRecord(key=key), condition=LedgerRecord.key.does_not_exist())

    with pytest.raises(ConflictError) as conflict:
        claim_again()

    assert conflict.value.detail == "Taken."
    assert failed(conflict.value, "claim")
    assert not failed(conflict.value, "audit")


def test_two_items_may_not_share_a_name() -> None:
    writes = Writes(TransactWrite(connection=Connection()))
    writes.save("claim", LedgerRecord(key=f"test#{new_id()}"))

    with pytest.raises(ValueError, match="two items named 'claim'"):
        writes.update("claim", LedgerRecord(key=f"test#{new_id()}"), actions=[LedgerRecord.hits.add(1)])


def test_an_error_that_no_transaction_cancelled_blames_no_item() -> None:
    assert not failed(ConflictError(detail="stale"), "claim")
