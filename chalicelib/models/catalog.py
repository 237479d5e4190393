"""The workspace catalog in the reference table: one partition, so reading it whole is one Query."""

from __future__ import annotations

from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConflictError
from chalicelib.models.audit import audit_record
from chalicelib.models.paging import transaction
from chalicelib.models.records import ReferenceRecord
from chalicelib.services.common.model import AuditEntry
from chalicelib.services.workspaces.catalog_items import CatalogItem, CatalogKind

PARTITION = "catalog"


def _to_item(record: ReferenceRecord) -> CatalogItem:
    kind, item_id = record.id.split("#", 1)
    values = {str(k): str(v) for k, v in record.attributes.attribute_values.items()} if record.attributes else {}
    price = Decimal(values.pop("price_per_day", "0"))
    return CatalogItem(CatalogKind(kind), item_id, record.name, price, values)


class DynamoCatalog:
    """`CatalogRepository`: items keyed `<kind>#<id>` in the `catalog` partition of the reference table; an
    admin's change is written with its audit entry in one transaction."""

    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection or Connection()

    def all(self) -> list[CatalogItem]:
        return [_to_item(record) for record in ReferenceRecord.query(PARTITION)]

    def put(self, item: CatalogItem, audit: AuditEntry | None = None) -> None:
        attributes = {**item.attributes, "price_per_day": str(item.price_per_day)}
        record = ReferenceRecord(
            kind=PARTITION, id=f"{item.kind.value}#{item.id}", name=item.name, attributes=attributes
        )
        if audit is None:
            record.save()
            return
        with transaction(self._connection, "The catalog changed in the meantime; try again.") as writes:
            writes.save(record)
            writes.save(audit_record(audit))

    def delete(self, kind: str, item_id: str, audit: AuditEntry | None = None) -> bool:
        record = ReferenceRecord(kind=PARTITION, id=f"{kind}#{item_id}")
        try:
            if audit is None:
                record.delete(condition=ReferenceRecord.kind.exists())
                return True
            with TransactWrite(connection=self._connection) as writes:
                writes.delete(record, condition=ReferenceRecord.kind.exists())
                writes.save(audit_record(audit))
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            if exc.cause_response_code in ("TransactionCanceledException", "TransactionConflictException"):
                raise ConflictError(detail="The catalog changed in the meantime; try again.") from exc
            raise
        return True
