"""The workspace catalog: `/catalog` for everyone logged in, `/admin/catalog/{kind}/{item_id}` for platform admins."""

from __future__ import annotations

from typing import Any

import msgspec

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.workspace_schemas import CatalogItemView, CatalogItemWrite, CatalogView
from chalicelib.services.workspaces.catalog_items import CatalogItem, CatalogKind

resource = Resource(__name__, tag="catalog")


def render_item(item: CatalogItem) -> CatalogItemView:
    return CatalogItemView(
        id=item.id, name=item.name, price_per_day=float(item.price_per_day), attributes=dict(item.attributes)
    )


@resource.route(
    "/catalog", "GET", loads=Loads.CALLER, summary="What a workspace can be made of, with prices", response=CatalogView
)
def read_catalog(call: Call[Any]) -> CatalogView:
    service = call.services.catalog
    catalog = service.read()

    def of(kind: CatalogKind) -> list[CatalogItemView]:
        return [render_item(i) for i in sorted(catalog.of(kind), key=lambda i: i.id)]

    return CatalogView(
        operating_systems=of(CatalogKind.OPERATING_SYSTEM),
        profiles=of(CatalogKind.PROFILE),
        storage=of(CatalogKind.STORAGE),
        networks=of(CatalogKind.NETWORK),
        currency=service.currency,
    )


@resource.route(
    "/admin/catalog/{kind}/{item_id}",
    "PUT",
    loads=Loads.CALLER,
    summary="Create or replace a catalog entry (existing workspaces keep what they have)",
    body=CatalogItemWrite,
    response=CatalogItemView,
)
def put_catalog_item(call: Call[CatalogItemWrite], kind: str, item_id: str) -> CatalogItemView:
    body = call.body
    attributes = {k: v for k, v in msgspec.structs.asdict(body).items() if k not in ("name", "price_per_day")}
    item = call.services.catalog.put(
        call.caller, kind, item_id, name=body.name, price_per_day=body.price_per_day, attributes=attributes
    )
    return render_item(item)


@resource.route(
    "/admin/catalog/{kind}/{item_id}",
    "DELETE",
    loads=Loads.CALLER,
    summary="Withdraw a catalog entry from new requests",
    status=204,
)
def delete_catalog_item(call: Call[Any], kind: str, item_id: str) -> Reply:
    call.services.catalog.delete(call.caller, kind, item_id)
    return Reply(status=204)
