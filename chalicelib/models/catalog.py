"""The workspace catalog in the reference table: one partition, so reading it whole is one Query."""

from __future__ import annotations

from decimal import Decimal

from pynamodb.exceptions import DeleteError

from chalicelib.models.records import ReferenceRecord
from chalicelib.services.catalog import CatalogItem, CatalogKind

PARTITION = "catalog"


def _to_item(record: ReferenceRecord) -> CatalogItem:
    kind, item_id = record.id.split("#", 1)
    values = {str(k): str(v) for k, v in record.attributes.attribute_values.items()} if record.attributes else {}
    price = Decimal(values.pop("price_per_day", "0"))
    return CatalogItem(CatalogKind(kind), item_id, record.name, price, values)


class DynamoCatalog:
    """`CatalogRepository`: items keyed `<kind>#<id>` in the `catalog` partition of the reference table."""

    def all(self) -> list[CatalogItem]:
        return [_to_item(record) for record in ReferenceRecord.query(PARTITION)]

    def put(self, item: CatalogItem) -> None:
        attributes = {**item.attributes, "price_per_day": str(item.price_per_day)}
        ReferenceRecord(kind=PARTITION, id=f"{item.kind.value}#{item.id}", name=item.name, attributes=attributes).save()

    def delete(self, kind: str, item_id: str) -> bool:
        try:
            ReferenceRecord(kind=PARTITION, id=f"{kind}#{item_id}").delete(condition=ReferenceRecord.kind.exists())
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
