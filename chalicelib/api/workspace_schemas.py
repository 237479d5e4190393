"""Request and response bodies of workspaces, their usage and the catalog."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from chalicelib.api.schemas import Id, Name, Request, Timestamp

StatusName = Literal[
    "REQUESTED",
    "PROVISIONING",
    "CONFIGURING",
    "RUNNING",
    "STOPPING",
    "STOPPED",
    "STARTING",
    "REBOOTING",
    "DELETING",
    "DELETED",
    "FAILED",
]
CatalogKindName = Literal["operating-systems", "profiles", "storage", "networks"]
SshKey = Annotated[str, Meta(min_length=16, max_length=16384, description="one OpenSSH public key line")]
Price = Annotated[str, Meta(pattern=r"^[0-9]{1,6}(\.[0-9]{1,4})?$", description="per day, e.g. 1.25")]


class CostEstimateView(Struct):
    per_day: float
    per_month: float
    currency: str


class AccessView(Struct):
    ip: str | None
    url: str | None
    username: str | None


class MachineView(Struct):
    profile: str
    operating_system: str
    storage_gb: int
    network: str
    vcpus: int
    ram_gb: int
    gpu: bool


class WorkspaceView(Struct):
    id: str
    study_id: str
    owner_id: str
    name: str
    status: StatusName
    status_reason: str
    machine: MachineView
    access: AccessView
    cost_estimate: CostEstimateView
    expires_at: Timestamp
    created_at: Timestamp
    updated_at: Timestamp


class WorkspaceCreate(Request):
    name: Name
    profile: Id
    operating_system: Id
    storage_gb: Annotated[int, Meta(ge=1, le=100000)] | None = None
    network: Id | None = None
    expires_at: Timestamp | None = None
    ssh_public_key: SshKey | None = None


class WorkspaceUpdate(Request):
    name: Name | UnsetType = UNSET
    expires_at: Timestamp | UnsetType = UNSET


class WorkspaceEventView(Struct):
    status: StatusName
    previous: StatusName | None
    reason: str
    actor_id: str
    at: Timestamp


class QuotaView(Struct):
    max_workspaces: int
    max_vcpus: int


class UsageView(Struct):
    study_id: str
    workspaces: int
    vcpus: int
    quota: QuotaView
    cost_this_month: float
    currency: str
    month_start: Timestamp


class CatalogItemView(Struct):
    id: str
    name: str
    price_per_day: float
    attributes: dict[str, str]


class CatalogView(Struct):
    operating_systems: list[CatalogItemView]
    profiles: list[CatalogItemView]
    storage: list[CatalogItemView]
    networks: list[CatalogItemView]
    currency: str


class CatalogItemWrite(Request):
    """A catalog entry; which attributes apply depends on the kind (others are refused)."""

    name: Name
    price_per_day: Price
    image: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    username: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    flavor: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    vcpus: Annotated[int, Meta(ge=1, le=1024)] | None = None
    ram_gb: Annotated[int, Meta(ge=1, le=16384)] | None = None
    gpu: bool | None = None
    size_gb: Annotated[int, Meta(ge=1, le=100000)] | None = None
    network: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    default: bool | None = None


class StudyQuotaUpdate(Request):
    """A platform admin's quota override for one study; null goes back to the stage's default."""

    max_workspaces: Annotated[int, Meta(ge=0, le=1000)] | UnsetType | None = UNSET
    max_vcpus: Annotated[int, Meta(ge=0, le=100000)] | UnsetType | None = UNSET


class WorkspaceListQuery(Struct, forbid_unknown_fields=False):
    status: StatusName | None = None
