"""What the local OpenStack knows: its catalog, servers and volumes, tokens, knobs and call counters.

Server states move with an injectable clock, worked out whenever a server is read (no timers):
BUILD turns ACTIVE (or ERROR, for the share `server_error_rate` picks) `boot_seconds` after the
create, REBOOT turns ACTIVE `reboot_seconds` after the reboot. Every random draw (ids, faults,
which servers fail) comes from generators seeded at construction, so a run replays exactly.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

CATALOG_FILE = Path(__file__).resolve().parents[2] / "data" / "openstack.json"
SERVICES = ("identity", "compute", "image", "network")
# Answers that a fault draw can give instead of the real one.
Fault = Literal["drop", 500, 503]
# What Nova says when the scheduler finds no host: the fault of a server that `server_error_rate` fails.
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
# `VRE_OPENSTACK_BOOT_SECONDS=5` and the like set knobs for the local stack and `python -m vre_app openstack`.
KNOB_VARIABLE_PREFIX = "VRE_OPENSTACK_"
# How many calls `calls()["log"]` keeps, newest last.
CALL_LOG_SIZE = 1000

Rate = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)]
Quota = Annotated[int, msgspec.Meta(ge=0)]


class Knobs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How the local OpenStack behaves: timings, injected faults and quotas (None = unlimited)."""

    boot_seconds: Seconds = 3.0
    reboot_seconds: Seconds = 1.0
    latency_seconds: Seconds = 0.0
    # Share of API calls answered 500 or 503 instead.
    error_rate: Rate = 0.0
    # Share of API calls whose connection is closed without an answer.
    drop_rate: Rate = 0.0
    # The next this many API calls are answered 503 (a deterministic outage; counts down).
    fail_next: Quota = 0
    # Share of new servers that end in ERROR (no valid host) instead of ACTIVE.
    server_error_rate: Rate = 0.0
    # Which services latency, errors and drops hit (identity, compute, image, network); empty = all.
    services: tuple[str, ...] = ()
    # How a create over quota is refused: 403 (Nova since Pike) or 413 overLimit (older Novas).
    quota_status: Literal[403, 413] = 403
    quota_instances: Quota | None = None
    quota_cores: Quota | None = None
    quota_ram_mb: Quota | None = None
    # Cinder's gigabytes quota: a boot volume beyond it fails the build, as Nova reports it.
    quota_volume_gb: Quota | None = None
    token_ttl_seconds: Annotated[float, msgspec.Meta(gt=0.0)] = 3600.0

    def hits(self, service: str) -> bool:
        return not self.services or service in self.services


class KnobsError(ValueError):
    """Knob values the local OpenStack cannot take."""


def knobs_from(values: dict[str, Any], base: Knobs | None = None, *, strict: bool = True) -> Knobs:
    """`base` (the defaults if None) with `values` applied and checked; `strict=False` takes numbers as text."""
    merged = msgspec.structs.asdict(base or Knobs()) | values
    try:
        knobs = msgspec.convert(merged, Knobs, strict=strict)
    except msgspec.ValidationError as exc:
        raise KnobsError(str(exc)) from exc
    unknown = sorted(set(knobs.services) - set(SERVICES))
    if unknown:
        raise KnobsError(f"unknown services {unknown}; known: {list(SERVICES)}")
    return knobs


def knobs_from_environ(environ: Mapping[str, str], base: Knobs | None = None) -> Knobs:
    """The knobs `VRE_OPENSTACK_<KNOB>` variables set (`VRE_OPENSTACK_BOOT_SECONDS=5`; services comma-separated)."""
    values: dict[str, Any] = {}
    for name in Knobs.__struct_fields__:
        raw = environ.get(KNOB_VARIABLE_PREFIX + name.upper(), "").strip()
        if raw:
            values[name] = [part.strip() for part in raw.split(",") if part.strip()] if name == "services" else raw
    return knobs_from(values, base, strict=False)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The images, flavors and networks on offer (vre_app/data/openstack.json), as raw records."""

    region: str
    project_id: str
    project_name: str
    images: tuple[dict[str, Any], ...]
    flavors: tuple[dict[str, Any], ...]
    networks: tuple[dict[str, Any], ...]

    def image(self, image_id: str) -> dict[str, Any] | None:
        return next((image for image in self.images if image["id"] == image_id), None)

    def flavor(self, flavor_id: str) -> dict[str, Any] | None:
        return next((flavor for flavor in self.flavors if flavor["id"] == flavor_id), None)

    def network(self, network_id: str) -> dict[str, Any] | None:
        return next((network for network in self.networks if network["id"] == network_id), None)


def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    document = json.loads(path.read_text())
    return Catalog(
        region=document["region"],
        project_id=document["project"]["id"],
        project_name=document["project"]["name"],
        images=tuple(document["images"]),
        flavors=tuple(document["flavors"]),
        networks=tuple(document["networks"]),
    )


@dataclass(slots=True)
class Volume:
    id: str
    size_gb: int
    image_id: str
    server_id: str | None
    status: str = "in-use"


@dataclass(slots=True)
class Server:
    id: str
    name: str
    flavor: dict[str, Any]
    image_id: str
    network_id: str
    network_name: str
    metadata: dict[str, str]
    tags: list[str]
    created: str
    # When the current transition (BUILD or REBOOT) ends, on the state's clock.
    settles_at: float
    # Set at create time: the build will end in ERROR with this message.
    build_failure: str | None = None
    status: str = "BUILD"
    volume_id: str | None = None
    delete_on_termination: bool = True
    user_data: str | None = None
    ip: str | None = None
    fault: dict[str, Any] | None = None
    updated: str = ""
    launched_at: str | None = None


@dataclass
class CallLog:
    """What reached the endpoint: counted per service and per method and path kind."""

    total: int = 0
    auths: int = 0
    discovery: int = 0
    by_service: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    log: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "auths": self.auths,
            "discovery": self.discovery,
            "by_service": dict(self.by_service),
            "by_kind": dict(self.by_kind),
            "log": list(self.log),
        }


class ConflictError(Exception):
    """The server is in a state that does not allow the action (Nova's 409)."""


class CloudState:
    """Everything the local OpenStack remembers, behind one lock (the HTTP server is threaded)."""

    def __init__(
        self,
        *,
        catalog: Catalog | None = None,
        knobs: Knobs | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog or load_catalog()
        self.initial_knobs = knobs or Knobs()
        self.seed = seed
        self.clock = clock
        self.lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self.reset()

    # -- knobs, counters, reset ---------------------------------------------------------------

    def reset(self, *, calls_only: bool = False) -> None:
        """Forget the calls; unless `calls_only`, also servers, volumes and knobs, and reseed."""
        with self.lock:
            self.calls = CallLog()
            if calls_only:
                return
            self.knobs = self.initial_knobs
            # Not for security: reproducible ids and fault draws.
            self._faults = random.Random(self.seed)  # noqa: S311
            self._ids = random.Random(self.seed + 1)  # noqa: S311
            self.servers: dict[str, Server] = {}
            self.volumes: dict[str, Volume] = {}
            self._next_host = 10

    def set_knobs(self, values: dict[str, Any]) -> Knobs:
        with self.lock:
            self.knobs = knobs_from(values, self.knobs)
            return self.knobs

    def record(self, service: str, method: str, kind: str, status: int | str, *, discovery: bool) -> None:
        with self.lock:
            calls = self.calls
            calls.total += 1
            calls.by_service[service] += 1
            calls.by_kind[f"{service} {method} {kind}"] += 1
            if discovery:
                calls.discovery += 1
            if service == "identity" and kind.endswith("/auth/tokens") and method == "POST":
                calls.auths += 1
            calls.log.append({"service": service, "method": method, "kind": kind, "status": status})
            del calls.log[:-CALL_LOG_SIZE]

    def draw_fault(self, service: str) -> Fault | None:
        """Whether this call is dropped or answered 500/503 instead, by the knobs and the seeded draw."""
        with self.lock:
            knobs = self.knobs
            if not knobs.hits(service):
                return None
            if knobs.fail_next:
                self.knobs = msgspec.structs.replace(knobs, fail_next=knobs.fail_next - 1)
                return 503
            if not (knobs.drop_rate or knobs.error_rate):
                return None
            draw = self._faults.random()
            if draw < knobs.drop_rate:
                return "drop"
            if draw < knobs.drop_rate + knobs.error_rate:
                return 503 if self._faults.random() < 0.5 else 500
            return None

    def latency(self, service: str) -> float:
        knobs = self.knobs
        return knobs.latency_seconds if knobs.hits(service) else 0.0

    # -- identity -------------------------------------------------------------------------------

    def issue_token(self) -> tuple[str, float]:
        """A new token and how many seconds it lives."""
        with self.lock:
            token = secrets.token_hex(16)
            ttl = self.knobs.token_ttl_seconds
            self._tokens[token] = self.clock() + ttl
            return token, ttl

    def token_valid(self, token: str | None) -> bool:
        with self.lock:
            expires = self._tokens.get(token or "")
            return expires is not None and self.clock() < expires

    # -- servers --------------------------------------------------------------------------------

    def new_id(self) -> str:
        with self.lock:
            return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def quota_refusal(self, flavor: dict[str, Any]) -> str | None:
        """Nova's message when this flavor's server would exceed a quota, else None."""
        knobs = self.knobs
        live = [server for server in self.servers.values()]
        used = {
            "instances": len(live),
            "cores": sum(int(server.flavor["vcpus"]) for server in live),
            "ram": sum(int(server.flavor["ram"]) for server in live),
        }
        wanted = {"instances": 1, "cores": int(flavor["vcpus"]), "ram": int(flavor["ram"])}
        limits = {"instances": knobs.quota_instances, "cores": knobs.quota_cores, "ram": knobs.quota_ram_mb}
        over = [name for name, limit in limits.items() if limit is not None and used[name] + wanted[name] > limit]
        if not over:
            return None
        name = over[0]
        unit = {"instances": "instances", "cores": "cores", "ram": "MB of ram"}[name]
        return (
            f"Quota exceeded for {', '.join(over)}: Requested {wanted[name]}, "
            f"but already used {used[name]} of {limits[name]} {unit}"
        )

    def add_server(self, server: Server, *, volume_gb: int, delete_on_termination: bool) -> None:
        """Register a new server in BUILD, with its boot volume, and decide how its build ends."""
        with self.lock:
            knobs = self.knobs
            used_gb = sum(volume.size_gb for volume in self.volumes.values())
            if knobs.quota_volume_gb is not None and used_gb + volume_gb > knobs.quota_volume_gb:
                server.build_failure = (
                    f"Build of instance {server.id} aborted: VolumeSizeExceedsAvailableQuota: Requested volume "
                    f"or snapshot exceeds allowed gigabytes quota. Requested {volume_gb}G, quota is "
                    f"{knobs.quota_volume_gb}G and {used_gb}G has been consumed."
                )
            elif knobs.server_error_rate and self._faults.random() < knobs.server_error_rate:
                server.build_failure = NO_VALID_HOST
            if server.build_failure is None:
                volume = Volume(self.new_id(), volume_gb, server.image_id, server.id)
                self.volumes[volume.id] = volume
                server.volume_id = volume.id
            server.delete_on_termination = delete_on_termination
            server.settles_at = self.clock() + knobs.boot_seconds
            self.servers[server.id] = server

    def server(self, server_id: str) -> Server | None:
        with self.lock:
            server = self.servers.get(server_id)
            if server is not None:
                self._settle(server)
            return server

    def all_servers(self) -> list[Server]:
        with self.lock:
            servers = sorted(self.servers.values(), key=lambda s: (s.created, s.id), reverse=True)
            for server in servers:
                self._settle(server)
            return servers

    def delete_server(self, server_id: str) -> bool:
        with self.lock:
            server = self.servers.pop(server_id, None)
            if server is None:
                return False
            volume = self.volumes.get(server.volume_id or "")
            if volume is not None:
                if server.delete_on_termination:
                    del self.volumes[volume.id]
                else:
                    volume.server_id, volume.status = None, "available"
            return True

    def act(self, server_id: str, action: str) -> None:
        """os-start, os-stop or reboot; `ConflictError` when the server's state does not allow it."""
        with self.lock:
            server = self.servers[server_id]
            self._settle(server)
            allowed = {"os-start": ("SHUTOFF",), "os-stop": ("ACTIVE", "ERROR"), "reboot": ("ACTIVE",)}[action]
            if server.status not in allowed:
                verb = {"os-start": "start", "os-stop": "stop", "reboot": "reboot"}[action]
                raise ConflictError(
                    f"Cannot '{verb}' instance {server.id} while it is in vm_state {_vm_state(server.status)}"
                )
            if action == "os-start":
                server.status = "ACTIVE"
            elif action == "os-stop":
                server.status = "SHUTOFF"
            else:
                server.status = "REBOOT"
                server.settles_at = self.clock() + self.knobs.reboot_seconds
            server.updated = now_iso()

    def snapshot(self) -> dict[str, Any]:
        """Servers and volumes as plain data, for the control endpoint."""
        with self.lock:
            servers = [
                {
                    "id": s.id,
                    "name": s.name,
                    "status": s.status,
                    "ip": s.ip,
                    "tags": list(s.tags),
                    "metadata": dict(s.metadata),
                    "flavor": s.flavor["original_name"],
                    "image_id": s.image_id,
                    "volume_id": s.volume_id,
                    "fault": s.fault["message"] if s.fault else None,
                }
                for s in self.all_servers()
            ]
            volumes = [
                {"id": v.id, "size_gb": v.size_gb, "image_id": v.image_id, "server_id": v.server_id, "status": v.status}
                for v in self.volumes.values()
            ]
            return {"servers": servers, "volumes": volumes, "knobs": msgspec.structs.asdict(self.knobs)}

    def _settle(self, server: Server) -> None:
        if server.status not in ("BUILD", "REBOOT") or self.clock() < server.settles_at:
            return
        server.updated = now_iso()
        if server.status == "REBOOT":
            server.status = "ACTIVE"
        elif server.build_failure is not None:
            server.status = "ERROR"
            server.fault = {"code": 500, "created": server.updated, "message": server.build_failure}
        else:
            server.status = "ACTIVE"
            server.launched_at = server.updated
            server.ip = self._allocate_ip(server.network_id)

    def _allocate_ip(self, network_id: str) -> str:
        network = self.catalog.network(network_id)
        cidr = IPv4Network(network["cidr"] if network else "10.0.0.0/16")
        address = cidr.network_address + self._next_host
        self._next_host += 1
        return str(address)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _vm_state(status: str) -> str:
    return {"BUILD": "building", "SHUTOFF": "stopped", "REBOOT": "active", "ERROR": "error"}.get(status, "active")
