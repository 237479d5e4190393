"""Initial data: universities and research fields, from the JSON files beside this module."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.services import reference
from chalicelib.services.domain import PageRequest, ReferenceItem
from chalicelib.services.ports import ReferenceRepository

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


def seed_reference(references: ReferenceRepository) -> dict[str, int]:
    """Write every kind of initial data; returns how many items of each."""
    return {kind: reference.seed(references, kind, load_items(kind)) for kind in FILES}


def seed_missing(references: ReferenceRepository) -> dict[str, int]:
    """Seed each kind of initial data that has no items yet; kinds already there are left as they are.

    Returns how many items of each kind it wrote (nothing for a stage seeded before).
    """
    return {
        kind: reference.seed(references, kind, load_items(kind))
        for kind in FILES
        if not references.list(kind, PageRequest(limit=1)).items
    }
