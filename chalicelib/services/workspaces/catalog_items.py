"""A catalog entry as stored: its kind, its price and the attributes that kind carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class CatalogKind(StrEnum):
    OPERATING_SYSTEM = "operating-systems"
    PROFILE = "profiles"
    STORAGE = "storage"
    NETWORK = "networks"


@dataclass(frozen=True, slots=True)
class CatalogItem:
    kind: CatalogKind
    id: str
    name: str
    price_per_day: Decimal
    attributes: Mapping[str, str] = field(default_factory=dict)

    def text(self, name: str, default: str = "") -> str:
        return self.attributes.get(name, default)

    def number(self, name: str) -> int:
        return int(self.attributes.get(name, "0"))

    def flag(self, name: str) -> bool:
        return self.attributes.get(name, "false") == "true"
