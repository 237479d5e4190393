"""Initial data: universities, research fields and the workspace catalog, from the JSON files in `data/`."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.services.common.model import PageRequest
from chalicelib.services.studies import reference
from chalicelib.services.studies.model import ReferenceItem
from chalicelib.services.studies.ports import ReferenceRepository
from chalicelib.services.workspaces import catalog as catalog_service
from chalicelib.services.workspaces.catalog_items import CatalogItem, CatalogKind
from chalicelib.services.workspaces.ports import CatalogRepository

DATA = Path(__file__).resolve().parent / "data"
FILES = {reference.UNIVERSITIES: "universities.json", reference.RESEARCH_FIELDS: "research_fields.json"}


def load_items(kind: str) -> list[ReferenceItem]:
    """The initial data of one kind."""
    rows = json.loads((DATA / FILES[kind]).read_text())
    return [
        ReferenceItem(
            id=row["id"],
            name=row["name"],
            attributes={k: str(v) for k, v in row.items() if k not in ("id", "name")},
        )
        for row in rows
    ]


def seed_reference(references: ReferenceRepository, catalog: CatalogRepository | None = None) -> dict[str, int]:
    """Write every kind of initial data (the catalog only if it is empty); returns how many items of each."""
    counts = {kind: reference.seed(references, kind, load_items(kind)) for kind in FILES}
    if catalog is not None and (seeded := seed_catalog(catalog)):
        counts["catalog"] = seeded
    return counts


def load_catalog() -> list[CatalogItem]:
    """The initial workspace catalog, validated as an admin's edit would be."""
    rows = json.loads((DATA / "catalog.json").read_text())
    items = []
    for kind_name, entries in rows.items():
        kind = CatalogKind(kind_name)
        for row in entries:
            attributes = {k: v for k, v in row.items() if k not in ("id", "name", "price_per_day")}
            items.append(catalog_service.validate_item(kind, row["id"], row["name"], row["price_per_day"], attributes))
    return items


def seed_catalog(repository: CatalogRepository, *, only_if_empty: bool = True) -> int:
    """Write the initial catalog (by default only into an empty one, so admins' edits survive); returns how many."""
    if only_if_empty and repository.all():
        return 0
    items = load_catalog()
    for item in items:
        repository.put(item)  # initial data, not an admin's edit: no audit entry
    return len(items)


def seed_missing(references: ReferenceRepository, catalog: CatalogRepository | None = None) -> dict[str, int]:
    """Seed each kind of initial data that has no items yet (the catalog too, if given and empty); kinds
    already there are left as they are.

    Returns how many items of each kind it wrote (nothing for a stage seeded before).
    """
    counts = {
        kind: reference.seed(references, kind, load_items(kind))
        for kind in FILES
        if not references.list(kind, PageRequest(limit=1)).items
    }
    if catalog is not None and (seeded := seed_catalog(catalog)):
        counts["catalog"] = seeded
    return counts
