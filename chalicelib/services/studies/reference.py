"""Reference data: universities and research fields, seeded from initial-data files."""

from __future__ import annotations

from chalicelib.services.common.model import Page, PageRequest
from chalicelib.services.studies.model import ReferenceItem
from chalicelib.services.studies.ports import ReferenceRepository

UNIVERSITIES = "university"
RESEARCH_FIELDS = "research_field"
KINDS = (UNIVERSITIES, RESEARCH_FIELDS)


def list_items(references: ReferenceRepository, kind: str, page: PageRequest) -> Page[ReferenceItem]:
    """One page of a kind of reference data, in id order."""
    return references.list(kind, page)


def seed(references: ReferenceRepository, kind: str, items: list[ReferenceItem]) -> int:
    """Write (or overwrite) the initial data of one kind; returns how many items."""
    for item in items:
        references.put(kind, item)
    return len(items)
