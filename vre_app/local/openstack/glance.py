"""Glance (image v2): version documents, images listed by name and shown by id."""

from __future__ import annotations

from typing import Any

from vre_app.local.openstack.api import ApiRequest, ApiResponse, BadRequestError, MethodNotAllowedError, NotFoundError
from vre_app.local.openstack.state import CloudState

CREATED = "2026-01-05T09:00:00Z"
# Glance answers version discovery with every version it serves; the newest is CURRENT.
VERSIONS = ("2.16", "2.15", "2.9")


def handle(state: CloudState, request: ApiRequest) -> ApiResponse:
    path = request.path
    if not path:
        return ApiResponse(300, {"versions": _versions(request.base_url)})
    if path == ("v2",):
        return ApiResponse(200, {"versions": _versions(request.base_url)})
    if path[0] != "v2":
        raise NotFoundError("The resource could not be found.")
    if request.method != "GET":
        raise MethodNotAllowedError("The local OpenStack's images are read-only.")
    match path[1:]:
        case ("images",):
            return _list(state, request)
        case ("images", image_id):
            image = state.catalog.image(image_id)
            if image is None:
                raise NotFoundError(f"No image found with ID {image_id}")
            return ApiResponse(200, _render(image, state.catalog.project_id))
    raise NotFoundError("The resource could not be found.")


def _versions(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"v{version}",
            "status": "CURRENT" if index == 0 else "SUPPORTED",
            "links": [{"rel": "self", "href": f"{base_url}/image/v2/"}],
        }
        for index, version in enumerate(VERSIONS)
    ]


def _list(state: CloudState, request: ApiRequest) -> ApiResponse:
    images = list(state.catalog.images)
    name = request.param("name")
    if name is not None:
        images = [image for image in images if image["name"] == name]
    status = request.param("status")
    if status is not None and status != "active":
        images = []
    limit_text = request.param("limit")
    if limit_text is not None and not limit_text.isdigit():
        raise BadRequestError("limit param must be an integer")
    marker = request.param("marker")
    if marker is not None:
        ids = [image["id"] for image in images]
        if marker not in ids:
            raise BadRequestError(f"Invalid marker. Image {marker} could not be found.")
        images = images[ids.index(marker) + 1 :]
    limit = int(limit_text) if limit_text is not None else 25
    page = images[:limit]
    body: dict[str, Any] = {
        "images": [_render(image, state.catalog.project_id) for image in page],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    if len(images) > limit:
        body["next"] = f"/v2/images?marker={page[-1]['id']}&limit={limit}"
    return ApiResponse(200, body)


def _render(image: dict[str, Any], owner: str) -> dict[str, Any]:
    return {
        "id": image["id"],
        "name": image["name"],
        "status": "active",
        "visibility": "public",
        "protected": True,
        "os_hidden": False,
        "tags": [],
        "container_format": "bare",
        "disk_format": "qcow2",
        "min_disk": image.get("min_disk", 0),
        "min_ram": image.get("min_ram", 0),
        "size": 2 * 2**30,
        "virtual_size": image.get("min_disk", 0) * 2**30,
        "owner": owner,
        "os_distro": image.get("os_distro"),
        "os_version": image.get("os_version"),
        "created_at": CREATED,
        "updated_at": CREATED,
        "self": f"/v2/images/{image['id']}",
        "file": f"/v2/images/{image['id']}/file",
        "schema": "/v2/schemas/image",
    }
