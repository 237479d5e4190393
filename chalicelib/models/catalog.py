"""The workspace catalog in the reference table: one partition, so reading it whole is one Query."""

from __future__ import annotations

from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, TransactWriteError

from chalicelib.errors import ConflictError
from chalicelib.models import keys
from chalicelib.models.audit import audit_record
from chalicelib.models.reference import ReferenceRecord
from chalicelib.models.transactions import failed, named_writes, transaction
from chalicelib.services.common.model import AuditEntry
from chalicelib.services.workspaces.catalog_items import CatalogItem, CatalogKind

_STALE = "The catalog changed in the meantime; try again."


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
        return [_to_item(record) for record in ReferenceRecord.query(keys.CATALOG)]

    def put(self, item: CatalogItem, audit: AuditEntry | None = None) -> None:
        attributes = {**item.attributes, "price_per_day": str(item.price_per_day)}
        record = ReferenceRecord(
            kind=keys.CATALOG, id=keys.catalog_item(item.kind.value, item.id), name=item.name, attributes=attributes
        )
        if audit is None:
            record.save()
            return
        with transaction(self._connection, _STALE) as writes:
            writes.save("item", record)
            writes.save("audit", audit_record(audit))

    def delete(self, kind: str, item_id: str, audit: AuditEntry | None = None) -> bool:
        record = ReferenceRecord(kind=keys.CATALOG, id=keys.catalog_item(kind, item_id))
        try:
            if audit is None:
                record.delete(condition=ReferenceRecord.kind.exists())
                return True
            with named_writes(self._connection) as writes:
                writes.delete("item", record, condition=ReferenceRecord.kind.exists())
                writes.save("audit", audit_record(audit))
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        except TransactWriteError as exc:
            if failed(exc, "item"):
                return False
            if exc.cause_response_code in ("TransactionCanceledException", "TransactionConflictException"):
                raise ConflictError(detail=_STALE) from exc
            raise
        return True
