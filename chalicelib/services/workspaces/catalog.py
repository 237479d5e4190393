"""The workspace catalog: operating systems, profiles, storage options and networks, each with a price.

Seeded from initial data and edited by platform admins. A request is resolved against it
once, into a `Machine` the workspace keeps, so later catalog edits never change a workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from chalicelib.errors import FieldError, NotFoundError, ValidationError
from chalicelib.services.common.model import AuditEntry, AuditOutcome, utcnow
from chalicelib.services.workspaces.catalog_items import CatalogItem, CatalogKind
from chalicelib.services.workspaces.lifecycle import Machine
from chalicelib.services.workspaces.ports import CatalogRepository

Clock = Callable[[], datetime]

DAYS_PER_MONTH = 30


# The attributes each kind carries beyond name and price, and their types.
_INT, _BOOL, _TEXT = "int", "bool", "text"
ATTRIBUTES: dict[CatalogKind, dict[str, str]] = {
    CatalogKind.OPERATING_SYSTEM: {"image": _TEXT, "username": _TEXT},
    CatalogKind.PROFILE: {"flavor": _TEXT, "vcpus": _INT, "ram_gb": _INT, "gpu": _BOOL},
    CatalogKind.STORAGE: {"size_gb": _INT},
    CatalogKind.NETWORK: {"network": _TEXT, "default": _BOOL},
}
_REQUIRED: dict[CatalogKind, tuple[str, ...]] = {
    CatalogKind.OPERATING_SYSTEM: ("image",),
    CatalogKind.PROFILE: ("flavor", "vcpus", "ram_gb"),
    CatalogKind.STORAGE: ("size_gb",),
    CatalogKind.NETWORK: ("network",),
}


@dataclass(frozen=True, slots=True)
class CostEstimate:
    per_day: Decimal
    per_month: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Catalog:
    """The whole catalog, read at once (it is small)."""

    items: tuple[CatalogItem, ...]

    def of(self, kind: CatalogKind) -> list[CatalogItem]:
        return [item for item in self.items if item.kind is kind]

    def find(self, kind: CatalogKind, item_id: str) -> CatalogItem | None:
        return next((i for i in self.items if i.kind is kind and i.id == item_id), None)


def estimate(price_per_day: Decimal, currency: str) -> CostEstimate:
    """Per day and per (30-day) month, to the cent."""
    day = price_per_day.quantize(Decimal("0.01"))
    return CostEstimate(day, (price_per_day * DAYS_PER_MONTH).quantize(Decimal("0.01")), currency)


def read(catalog: CatalogRepository) -> Catalog:
    """Every catalog item."""
    return Catalog(tuple(catalog.all()))


def validate_item(
    kind: CatalogKind, item_id: str, name: str, price: str, attributes: Mapping[str, object]
) -> CatalogItem:
    """A catalog item from an admin's input, or 422 naming each bad field."""
    errors: list[FieldError] = []
    try:
        price_per_day = Decimal(price)
        if not price_per_day.is_finite() or price_per_day < 0 or price_per_day > 100_000:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.append(FieldError("price_per_day", "a price per day between 0 and 100000"))
        price_per_day = Decimal(0)
    allowed = ATTRIBUTES[kind]
    values: dict[str, str] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        expected = allowed.get(key)
        if expected is None:
            errors.append(FieldError(key, f"not an attribute of {kind.value}"))
        elif expected == _INT and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 100_000):
            errors.append(FieldError(key, "a positive whole number"))
        elif expected == _BOOL and not isinstance(value, bool):
            errors.append(FieldError(key, "true or false"))
        elif expected == _TEXT and (not isinstance(value, str) or not value.strip() or len(value) > 255):
            errors.append(FieldError(key, "a non-empty text of at most 255 characters"))
        else:
            values[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    for key in _REQUIRED[kind]:
        if key not in values and not any(e.field == key for e in errors):
            errors.append(FieldError(key, f"required for {kind.value}"))
    if errors:
        raise ValidationError(detail=f"This is not a valid {kind.value} entry.", errors=errors)
    return CatalogItem(kind, item_id, name, price_per_day, values)


def _audit(actor_id: str, action: str, kind: CatalogKind, item_id: str, detail: str, at: datetime) -> AuditEntry:
    # The platform's own log (no study): the catalog belongs to no study.
    return AuditEntry("", actor_id, action, f"catalog:{kind.value}/{item_id}", AuditOutcome.SUCCESS, at, detail)


def put_item(catalog: CatalogRepository, item: CatalogItem, *, actor_id: str, now: Clock = utcnow) -> CatalogItem:
    """Create or replace an entry, audited; workspaces made from the old one keep what they had."""
    detail = f"{item.name}, {item.price_per_day} per day"
    catalog.put(item, _audit(actor_id, "catalog.saved", item.kind, item.id, detail, now()))
    return item


def delete_item(
    catalog: CatalogRepository, kind: CatalogKind, item_id: str, *, actor_id: str, now: Clock = utcnow
) -> None:
    """Withdraw an entry from new requests, audited; existing workspaces keep their resolved machine."""
    if not catalog.delete(kind.value, item_id, _audit(actor_id, "catalog.deleted", kind, item_id, "", now())):
        raise NotFoundError(detail=f"No {kind.value} entry {item_id}.")


def resolve(
    catalog: Catalog,
    *,
    profile: str,
    operating_system: str,
    storage_gb: int | None,
    network: str | None,
) -> Machine:
    """What a request asks for, checked against the catalog (422 naming each unknown choice)."""
    errors: list[FieldError] = []
    chosen_profile = catalog.find(CatalogKind.PROFILE, profile)
    if chosen_profile is None:
        errors.append(FieldError("profile", f"not in the catalog: {_choices(catalog, CatalogKind.PROFILE)}"))
    chosen_os = catalog.find(CatalogKind.OPERATING_SYSTEM, operating_system)
    if chosen_os is None:
        errors.append(
            FieldError("operating_system", f"not in the catalog: {_choices(catalog, CatalogKind.OPERATING_SYSTEM)}")
        )
    storage_options = sorted(catalog.of(CatalogKind.STORAGE), key=lambda s: s.number("size_gb"))
    if storage_gb is None:
        chosen_storage = storage_options[0] if storage_options else None
    else:
        chosen_storage = next((s for s in storage_options if s.number("size_gb") == storage_gb), None)
    if chosen_storage is None:
        sizes = ", ".join(str(s.number("size_gb")) for s in storage_options) or "none offered"
        errors.append(FieldError("storage_gb", f"one of the offered sizes: {sizes}"))
    networks = catalog.of(CatalogKind.NETWORK)
    if network is None:
        chosen_network = next((n for n in networks if n.flag("default")), networks[0] if networks else None)
    else:
        chosen_network = catalog.find(CatalogKind.NETWORK, network)
    if chosen_network is None:
        errors.append(FieldError("network", f"not in the catalog: {_choices(catalog, CatalogKind.NETWORK)}"))
    if errors:
        raise ValidationError(detail="The workspace asks for something the catalog does not offer.", errors=errors)
    assert chosen_profile is not None
    assert chosen_os is not None
    assert chosen_storage is not None
    assert chosen_network is not None
    price = sum(
        (i.price_per_day for i in (chosen_profile, chosen_os, chosen_storage, chosen_network)), start=Decimal(0)
    )
    return Machine(
        profile_id=chosen_profile.id,
        operating_system_id=chosen_os.id,
        network_id=chosen_network.id,
        storage_gb=chosen_storage.number("size_gb"),
        image=chosen_os.text("image"),
        flavor=chosen_profile.text("flavor"),
        network=chosen_network.text("network"),
        vcpus=chosen_profile.number("vcpus"),
        ram_gb=chosen_profile.number("ram_gb"),
        gpu=chosen_profile.flag("gpu"),
        price_per_day=price,
        username=chosen_os.text("username"),
    )


def _choices(catalog: Catalog, kind: CatalogKind) -> str:
    return ", ".join(sorted(i.id for i in catalog.of(kind))) or "none offered"
