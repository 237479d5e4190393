"""Neutron (network v2.0): version documents, networks listed by name and shown by id."""

from __future__ import annotations

from typing import Any

from vre_app.local.openstack.api import ApiRequest, ApiResponse, MethodNotAllowedError, NotFoundError
from vre_app.local.openstack.state import CloudState

CREATED = "2026-01-05T09:00:00Z"


def handle(state: CloudState, request: ApiRequest) -> ApiResponse:
    path = request.path
    base = request.base_url
    if not path:
        version = {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": f"{base}/network/v2.0/"}]}
        return ApiResponse(200, {"versions": [version]})
    if path == ("v2.0",):
        link = [{"rel": "self", "href": f"{base}/network/v2.0/networks"}]
        return ApiResponse(200, {"resources": [{"name": "network", "collection": "networks", "links": link}]})
    if path[0] != "v2.0":
        raise NotFoundError("The resource could not be found.")
    if request.method != "GET":
        raise MethodNotAllowedError("The local OpenStack's networks are read-only.")
    catalog = state.catalog
    match path[1:]:
        case ("networks",):
            networks = list(catalog.networks)
            for field in ("name", "id"):
                wanted = request.query.get(field)
                if wanted:
                    networks = [network for network in networks if network[field] in wanted]
            return ApiResponse(200, {"networks": [_render(n, catalog.project_id) for n in networks]})
        case ("networks", network_id):
            network = catalog.network(network_id)
            if network is None:
                raise NotFoundError(f"Network {network_id} could not be found.")
            return ApiResponse(200, {"network": _render(network, catalog.project_id)})
    raise NotFoundError("The resource could not be found.")


def _render(network: dict[str, Any], project_id: str) -> dict[str, Any]:
    return {
        "id": network["id"],
        "name": network["name"],
        "status": "ACTIVE",
        "admin_state_up": True,
        "shared": True,
        "router:external": False,
        "subnets": [f"{network['id'][:-4]}0001"],
        "mtu": 1450,
        "description": "",
        "tags": [],
        "tenant_id": project_id,
        "project_id": project_id,
        "availability_zones": ["nova"],
        "port_security_enabled": True,
        "is_default": False,
        "created_at": CREATED,
        "updated_at": CREATED,
        "revision_number": 1,
    }
