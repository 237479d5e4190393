"""The ledger in DynamoDB: claims (conditional puts) and bounded counters (conditional adds).

Its keys are built in `chalicelib.models.keys`.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

_FAILED_CONDITION = "ConditionalCheckFailedException"


class LedgerRecord(Model):
    """A claim (work done once), a counter (a rate limit window, a study's workspace usage), gone by `ttl`.

    Usage counters (`keys.usage`) count live workspaces in `hits` and their vCPUs in `amount`;
    idempotency keys (`keys.idempotency`) point at what they made (`ref`).
    """

    class Meta:
        table_name = "ledger"

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    amount = NumberAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    fingerprint = UnicodeAttribute(null=True)
    ttl = TTLAttribute(null=True)


class DynamoLedger:
    """`Ledger` on the ledger table; DynamoDB's TTL clears old claims and windows."""

    def claim(self, key: str, *, until: datetime, fingerprint: str = "") -> bool:
        try:
            LedgerRecord(key=key, hits=1, ttl=until, fingerprint=fingerprint or None).save(
                condition=LedgerRecord.key.does_not_exist()
            )
        except PutError as exc:
            if exc.cause_response_code == _FAILED_CONDITION:
                return False
            raise
        return True

    def release(self, key: str) -> None:
        LedgerRecord(key=key).delete()

    def count(self, key: str, *, limit: int, until: datetime) -> bool:
        record = LedgerRecord(key=key)
        try:
            record.update(
                actions=[LedgerRecord.hits.add(1), LedgerRecord.ttl.set(until)],
                condition=LedgerRecord.hits.does_not_exist() | (LedgerRecord.hits < limit),
            )
        except UpdateError as exc:
            if exc.cause_response_code == _FAILED_CONDITION:
                return False
            raise
        return True

    def claimed(self, key: str) -> str | None:
        try:
            record = LedgerRecord.get(key, consistent_read=True)
        except LedgerRecord.DoesNotExist:
            return None
        return record.fingerprint or ""
