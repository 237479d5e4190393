"""Reference data (universities, research fields, the workspace catalog) in DynamoDB, one partition per kind."""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.paging import page_of
from chalicelib.services.common.model import Page, PageRequest
from chalicelib.services.studies.model import ReferenceItem


class ReferenceRecord(Model):
    """Seeded reference data, one partition per kind, so a list is a Query and never a Scan."""

    class Meta:
        table_name = "reference"

    kind = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    attributes = MapAttribute[str, str](default=dict)


def to_item(record: ReferenceRecord) -> ReferenceItem:
    return ReferenceItem(
        id=record.id,
        name=record.name,
        attributes={str(k): str(v) for k, v in record.attributes.attribute_values.items()} if record.attributes else {},
    )


class DynamoReference:
    """`ReferenceRepository` on the reference table."""

    def list(self, kind: str, page: PageRequest) -> Page[ReferenceItem]:
        results = ReferenceRecord.query(kind, limit=page.limit, last_evaluated_key=page.start)
        return page_of(results, to_item)

    def get(self, kind: str, item_id: str) -> ReferenceItem | None:
        try:
            return to_item(ReferenceRecord.get(kind, item_id))
        except ReferenceRecord.DoesNotExist:
            return None

    def put(self, kind: str, item: ReferenceItem) -> None:
        ReferenceRecord(kind=kind, id=item.id, name=item.name, attributes=dict(item.attributes)).save()
