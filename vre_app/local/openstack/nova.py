"""Nova (compute v2.1) as the broker uses it: servers booted from a volume, listed by tag, started,
stopped, rebooted and deleted; flavors; version documents and microversions as Nova negotiates them.

Bodies and error messages follow Nova's, so openstacksdk parses them as it parses a real cloud's.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from vre_app.local.openstack.api import (
    ApiRequest,
    ApiResponse,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    MethodNotAllowedError,
    NotAcceptableError,
    NotFoundError,
    OverLimitError,
)
from vre_app.local.openstack.keystone import USER_ID
from vre_app.local.openstack.state import CloudState, Server, now_iso
from vre_app.local.openstack.state import ConflictError as StateConflictError

MIN_MICROVERSION = (2, 1)
# Nova 2024.1 (Caracal); openstacksdk asks for up to 2.100 and settles on what the cloud offers.
MAX_MICROVERSION = (2, 96)
MAX_USER_DATA_BYTES = 65535
MAX_LIST_LIMIT = 1000
MAX_TAGS = 50
ACTIONS = ("os-start", "os-stop", "reboot")
_VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)$")


def handle(state: CloudState, request: ApiRequest) -> ApiResponse:
    path = request.path
    if not path:
        return ApiResponse(200, {"versions": [_version_v2(request.base_url), _version(request.base_url)]})
    if path[0] != "v2.1":
        raise NotFoundError("The resource could not be found.")
    if len(path) == 1:
        return ApiResponse(200, {"version": _version(request.base_url)})
    microversion = _microversion(request)
    response = _route(state, request, path[1:], microversion)
    shown = f"{microversion[0]}.{microversion[1]}"
    headers = {
        **response.headers,
        "OpenStack-API-Version": f"compute {shown}",
        "X-OpenStack-Nova-API-Version": shown,
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }
    return ApiResponse(response.status, response.body, headers)


def _route(state: CloudState, request: ApiRequest, path: tuple[str, ...], mv: tuple[int, int]) -> ApiResponse:
    method = request.method
    match path, method:
        case ("servers",), "POST":
            return _create(state, request, mv)
        case ("servers",) | ("servers", "detail"), "GET":
            return _list(state, request, mv, detail=path[-1] == "detail")
        case ("servers", server_id), "GET":
            return ApiResponse(200, {"server": _render(_server(state, server_id), request.base_url, mv)})
        case ("servers", server_id), "DELETE":
            if not state.delete_server(server_id):
                raise _server_missing(server_id)
            return ApiResponse(204)
        case ("servers", server_id, "action"), "POST":
            return _action(state, request, server_id)
        case ("servers", server_id, "tags"), "GET":
            return ApiResponse(200, {"tags": list(_server(state, server_id).tags)})
        case ("servers", server_id, "metadata"), "GET":
            return ApiResponse(200, {"metadata": dict(_server(state, server_id).metadata)})
        case ("flavors",) | ("flavors", "detail"), "GET":
            detail = path[-1] == "detail"
            flavors = [_flavor(flavor, request.base_url, mv, detail=detail) for flavor in state.catalog.flavors]
            return ApiResponse(200, {"flavors": flavors})
        case ("flavors", flavor_id), "GET":
            flavor = state.catalog.flavor(flavor_id)
            if flavor is None:
                raise NotFoundError(f"Flavor {flavor_id} could not be found.")
            return ApiResponse(200, {"flavor": _flavor(flavor, request.base_url, mv, detail=True)})
        case ((("servers", *_) | ("flavors", *_)), _):
            raise MethodNotAllowedError("The method specified is not allowed for this resource.")
    raise NotFoundError("The resource could not be found.")


# -- versions --------------------------------------------------------------------------------------


def _version(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": _format(MAX_MICROVERSION),
        "min_version": _format(MIN_MICROVERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base_url}/compute/v2.1/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


def _version_v2(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base_url}/compute/v2/"}],
    }


def _microversion(request: ApiRequest) -> tuple[int, int]:
    """The microversion the request asks for, as Nova reads its two headers; 2.1 when it asks for none."""
    asked: str | None = None
    for part in request.headers.get("openstack-api-version", "").split(","):
        service, _, value = part.strip().partition(" ")
        if service.lower() == "compute":
            asked = value.strip()
    if asked is None:
        asked = request.headers.get("x-openstack-nova-api-version")
    if not asked:
        return MIN_MICROVERSION
    if asked.lower() == "latest":
        return MAX_MICROVERSION
    match = _VERSION_PATTERN.match(asked.strip())
    if match is None:
        raise BadRequestError(f"API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum.")
    version = (int(match[1]), int(match[2]))
    if not MIN_MICROVERSION <= version <= MAX_MICROVERSION:
        raise NotAcceptableError(
            f"Version {asked} is not supported by the API. Minimum is {_format(MIN_MICROVERSION)} "
            f"and maximum is {_format(MAX_MICROVERSION)}."
        )
    return version


def _format(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


# -- servers ---------------------------------------------------------------------------------------


def _create(state: CloudState, request: ApiRequest, mv: tuple[int, int]) -> ApiResponse:
    body = request.json()
    spec = body.get("server") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise BadRequestError("Invalid input for field/attribute server. Value: None. 'server' is a required property")
    name = spec.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 255:
        raise BadRequestError("Invalid input for field/attribute name. 'name' must be 1 to 255 characters")
    if "tags" in spec and mv < (2, 52):
        raise BadRequestError("Additional properties are not allowed ('tags' was unexpected)")
    flavor = _flavor_ref(state, spec.get("flavorRef"))
    image_id, volume_gb, delete_on_termination = _boot_volume(state, spec)
    network = _network_ref(state, spec.get("networks"), mv)
    user_data = _user_data(spec.get("user_data"))
    metadata = _metadata(spec.get("metadata", {}))
    tags = _tags(spec.get("tags", []))
    created = now_iso()
    with state.lock:
        refusal = state.quota_refusal(flavor)
        if refusal is not None:
            raise ForbiddenError(refusal) if state.knobs.quota_status == 403 else OverLimitError(refusal)
        server = Server(
            id=state.new_id(),
            name=name,
            flavor=_embedded_flavor(flavor),
            image_id=image_id,
            network_id=network["id"],
            network_name=network["name"],
            metadata=metadata,
            tags=tags,
            created=created,
            updated=created,
            settles_at=0.0,
            user_data=user_data,
        )
        state.add_server(server, volume_gb=volume_gb, delete_on_termination=delete_on_termination)
    link = f"{request.base_url}/compute/v2.1/servers/{server.id}"
    return ApiResponse(
        202,
        {
            "server": {
                "id": server.id,
                "links": [{"rel": "self", "href": link}],
                "OS-DCF:diskConfig": "MANUAL",
                "security_groups": [{"name": "default"}],
                "adminPass": "local-admin-password",
            }
        },
        headers={"Location": link},
    )


def _flavor_ref(state: CloudState, ref: Any) -> dict[str, Any]:
    if not isinstance(ref, str) or not ref:
        raise BadRequestError("Invalid input for field/attribute flavorRef. 'flavorRef' is a required property")
    flavor = state.catalog.flavor(ref.rstrip("/").rsplit("/", 1)[-1])
    if flavor is None:
        raise BadRequestError("Invalid flavorRef provided.")
    return flavor


def _boot_volume(state: CloudState, spec: dict[str, Any]) -> tuple[str, int, bool]:
    """The image, size and delete_on_termination of the boot volume Nova makes from an image."""
    mappings = spec.get("block_device_mapping_v2")
    if spec.get("imageRef"):
        raise BadRequestError("The local OpenStack boots from volumes only: give block_device_mapping_v2, no imageRef.")
    if not isinstance(mappings, list) or not mappings:
        raise BadRequestError("Invalid input for field/attribute imageRef. 'imageRef' is a required property")
    boot = next((m for m in mappings if isinstance(m, dict) and str(m.get("boot_index")) == "0"), None)
    if boot is None:
        raise BadRequestError("Block Device Mapping is Invalid: Boot sequence for the instance is invalid.")
    if boot.get("source_type") != "image" or boot.get("destination_type") != "volume":
        raise BadRequestError("Block Device Mapping is Invalid: the local OpenStack makes boot volumes from images.")
    image = state.catalog.image(str(boot.get("uuid", "")))
    if image is None:
        raise BadRequestError(f"Image {boot.get('uuid')} could not be found.")
    size = boot.get("volume_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise BadRequestError(
            "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device "
            "mapping combination is not valid."
        )
    if size < int(image.get("min_disk", 0)):
        raise BadRequestError(
            f"Volume is smaller than the minimum size specified in image metadata. Volume size is {size * 2**30} "
            f"bytes, minimum size is {int(image['min_disk']) * 2**30} bytes."
        )
    return image["id"], size, bool(boot.get("delete_on_termination", False))


def _network_ref(state: CloudState, networks: Any, mv: tuple[int, int]) -> dict[str, Any]:
    if networks is None:
        if mv >= (2, 37):
            raise BadRequestError("Invalid input for field/attribute networks. 'networks' is a required property")
        networks = [{"uuid": state.catalog.networks[0]["id"]}]
    if not isinstance(networks, list) or len(networks) != 1 or not isinstance(networks[0], dict):
        raise BadRequestError("The local OpenStack attaches exactly one network: networks=[{'uuid': ...}]")
    network_id = str(networks[0].get("uuid", ""))
    network = state.catalog.network(network_id)
    if network is None:
        raise BadRequestError(f"Network {network_id} could not be found.")
    return network


def _user_data(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError("User data needs to be valid base 64.")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError("User data needs to be valid base 64.") from exc
    if len(value) > MAX_USER_DATA_BYTES:
        raise BadRequestError(
            f"User data too large. User data must be no larger than {MAX_USER_DATA_BYTES} bytes "
            f"once base64 encoded. Your data is {len(value)} bytes"
        )
    return value


def _metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadRequestError("Invalid input for field/attribute metadata. Value must be an object")
    for key, item in value.items():
        if not 1 <= len(key) <= 255 or not isinstance(item, str) or len(item) > 255:
            raise BadRequestError(f"Invalid input for field/attribute metadata. Value: {key!r}: {item!r}")
    return dict(value)


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise BadRequestError(f"Invalid input for field/attribute tags. At most {MAX_TAGS} tags")
    for tag in value:
        if not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "," in tag or "/" in tag:
            raise BadRequestError(f"Invalid input for field/attribute tags. Value: {tag!r}")
    return list(dict.fromkeys(value))


def _list(state: CloudState, request: ApiRequest, mv: tuple[int, int], *, detail: bool) -> ApiResponse:
    servers = state.all_servers()
    tags = _tag_filter(request.param("tags"))
    any_tags = _tag_filter(request.param("tags-any"))
    if (tags or any_tags) and mv < (2, 26):
        raise BadRequestError("Tag filters need microversion 2.26 or later.")
    if tags:
        servers = [s for s in servers if tags <= set(s.tags)]
    if any_tags:
        servers = [s for s in servers if any_tags & set(s.tags)]
    if (name := request.param("name")) is not None:
        try:
            pattern = re.compile(name)
        except re.error as exc:
            raise BadRequestError(f"Invalid input for query parameters name. {exc}") from exc
        servers = [s for s in servers if pattern.search(s.name)]
    if (status := request.param("status")) is not None:
        servers = [s for s in servers if s.status == status.upper()]
    if (marker := request.param("marker")) is not None:
        ids = [s.id for s in servers]
        if marker not in ids:
            raise BadRequestError(f"marker [{marker}] not found")
        servers = servers[ids.index(marker) + 1 :]
    limit = _limit(request.param("limit"))
    page = servers[:limit]
    base = request.base_url
    body: dict[str, Any] = {
        "servers": [
            _render(s, base, mv) if detail else {"id": s.id, "name": s.name, "links": _links(base, s.id)} for s in page
        ]
    }
    if len(servers) > limit:
        suffix = "/detail" if detail else ""
        body["servers_links"] = [
            {"rel": "next", "href": f"{base}/compute/v2.1/servers{suffix}?limit={limit}&marker={page[-1].id}"}
        ]
    return ApiResponse(200, body)


def _tag_filter(value: str | None) -> set[str]:
    return {tag for tag in (value or "").split(",") if tag}


def _limit(value: str | None) -> int:
    if value is None:
        return MAX_LIST_LIMIT
    if not value.isdigit():
        raise BadRequestError(f"Invalid input for query parameters limit. Value: {value}.")
    return min(int(value), MAX_LIST_LIMIT)


def _action(state: CloudState, request: ApiRequest, server_id: str) -> ApiResponse:
    body = request.json()
    names = [name for name in ACTIONS if isinstance(body, dict) and name in body]
    if len(names) != 1 or len(body) != 1:
        raise BadRequestError("The local OpenStack knows the actions os-start, os-stop and reboot, one at a time.")
    action = names[0]
    if action == "reboot":
        kind = body["reboot"].get("type") if isinstance(body["reboot"], dict) else None
        if kind not in ("SOFT", "HARD"):
            raise BadRequestError("Invalid input for field/attribute type. Value must be one of ['HARD', 'SOFT']")
    _server(state, server_id)
    try:
        state.act(server_id, action)
    except StateConflictError as exc:
        raise ConflictError(str(exc)) from exc
    except KeyError as exc:
        raise _server_missing(server_id) from exc
    return ApiResponse(202)


def _server(state: CloudState, server_id: str) -> Server:
    server = state.server(server_id)
    if server is None:
        raise _server_missing(server_id)
    return server


def _server_missing(server_id: str) -> NotFoundError:
    return NotFoundError(f"Instance {server_id} could not be found.")


def _links(base_url: str, server_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"{base_url}/compute/v2.1/servers/{server_id}"},
        {"rel": "bookmark", "href": f"{base_url}/compute/servers/{server_id}"},
    ]


def _render(server: Server, base_url: str, mv: tuple[int, int]) -> dict[str, Any]:
    """A server as `GET /servers/{id}` shows it at this microversion."""
    addresses: dict[str, list[dict[str, Any]]] = {}
    if server.ip is not None:
        addresses[server.network_name] = [
            {
                "version": 4,
                "addr": server.ip,
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:" + ":".join(server.id[i : i + 2] for i in (0, 2, 4)),
            }
        ]
    rendered: dict[str, Any] = {
        "id": server.id,
        "name": server.name,
        "status": server.status,
        "tenant_id": "",
        "user_id": USER_ID,
        "metadata": dict(server.metadata),
        "hostId": "" if server.status == "BUILD" else "local-host-" + server.id[:8],
        # Booted from a volume: Nova shows no image.
        "image": "",
        "flavor": server.flavor if mv >= (2, 47) else {"id": "", "links": []},
        "created": server.created,
        "updated": server.updated,
        "addresses": addresses,
        "accessIPv4": "",
        "accessIPv6": "",
        "links": _links(base_url, server.id),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": "nova",
        "config_drive": "",
        "key_name": None,
        "OS-SRV-USG:launched_at": server.launched_at,
        "OS-SRV-USG:terminated_at": None,
        "security_groups": [{"name": "default"}],
        "OS-EXT-STS:task_state": _task_state(server.status),
        "OS-EXT-STS:vm_state": _vm_state(server.status),
        "OS-EXT-STS:power_state": 1
        if server.status in ("ACTIVE", "REBOOT")
        else 4
        if server.status == "SHUTOFF"
        else 0,
        "os-extended-volumes:volumes_attached": (
            [{"id": server.volume_id, "delete_on_termination": server.delete_on_termination}]
            if server.volume_id
            else []
        ),
    }
    if mv >= (2, 9):
        rendered["locked"] = False
    if mv >= (2, 19):
        rendered["description"] = None
    if mv >= (2, 26):
        rendered["tags"] = list(server.tags)
    if mv >= (2, 63):
        rendered["trusted_image_certificates"] = None
    if mv >= (2, 71):
        rendered["server_groups"] = []
    if mv >= (2, 73):
        rendered["locked_reason"] = None
    if mv >= (2, 96):
        rendered["pinned_availability_zone"] = None
    if server.fault is not None:
        rendered["fault"] = dict(server.fault)
    return rendered


def _task_state(status: str) -> str | None:
    return {"BUILD": "spawning", "REBOOT": "reboot_started"}.get(status)


def _vm_state(status: str) -> str:
    return {"BUILD": "building", "SHUTOFF": "stopped", "ERROR": "error"}.get(status, "active")


# -- flavors ---------------------------------------------------------------------------------------


def _embedded_flavor(flavor: dict[str, Any]) -> dict[str, Any]:
    """The flavor as servers show it since 2.47."""
    return {
        "vcpus": flavor["vcpus"],
        "ram": flavor["ram"],
        "disk": 0,
        "ephemeral": 0,
        "swap": 0,
        "original_name": flavor["name"],
        "extra_specs": dict(flavor.get("extra_specs", {})),
    }


def _flavor(flavor: dict[str, Any], base_url: str, mv: tuple[int, int], *, detail: bool) -> dict[str, Any]:
    links = [
        {"rel": "self", "href": f"{base_url}/compute/v2.1/flavors/{flavor['id']}"},
        {"rel": "bookmark", "href": f"{base_url}/compute/flavors/{flavor['id']}"},
    ]
    rendered: dict[str, Any] = {"id": flavor["id"], "name": flavor["name"], "links": links}
    if mv >= (2, 55):
        rendered["description"] = None
    if not detail:
        return rendered
    rendered.update(
        {
            "vcpus": flavor["vcpus"],
            "ram": flavor["ram"],
            "disk": 0,
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "swap": 0 if mv >= (2, 75) else "",
            "rxtx_factor": 1.0,
            "os-flavor-access:is_public": True,
            "OS-FLV-DISABLED:disabled": False,
        }
    )
    if mv >= (2, 61):
        rendered["extra_specs"] = dict(flavor.get("extra_specs", {}))
    return rendered
