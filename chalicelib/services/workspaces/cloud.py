"""The compute cloud (OpenStack) as the provisioning family sees it.

`chalicelib.providers.openstack.OpenStackCloud` implements `Cloud` with openstacksdk; tests
hand the services an in-memory cloud. Only the provisioning family imports a provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

# Every server the broker makes carries this tag, and a tag naming its workspace.
BROKER_TAG = "vre-broker"


def workspace_tag(workspace_id: str) -> str:
    """The tag that names a server's workspace, so a retry can find and adopt it."""
    return f"vre-workspace-{workspace_id}"


class ServerStatus(StrEnum):
    """Nova's server states, as far as the broker distinguishes them."""

    BUILD = "BUILD"
    ACTIVE = "ACTIVE"
    SHUTOFF = "SHUTOFF"
    REBOOT = "REBOOT"
    ERROR = "ERROR"
    DELETED = "DELETED"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """What to boot for a workspace: catalog entries already resolved to cloud names or ids."""

    workspace_id: str
    study_id: str
    name: str
    image: str
    flavor: str
    network: str
    volume_gb: int
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CloudServer:
    id: str
    status: ServerStatus
    workspace_id: str | None = None
    ip: str | None = None
    # Nova's fault message when the server is in ERROR.
    fault: str | None = None


class CloudError(Exception):
    """The cloud refused or failed a call. `retryable` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Cloud(Protocol):
    def create_server(self, spec: ServerSpec) -> CloudServer:
        """Ask for a server (boot volume from the image) and return at once, without waiting for it."""
        ...

    def get_server(self, server_id: str) -> CloudServer | None:
        """The server as the cloud sees it now; None when it does not exist (any more)."""
        ...

    def find_server(self, workspace_id: str) -> CloudServer | None:
        """The server tagged with this workspace, if one exists (to adopt it on a retry)."""
        ...

    def broker_servers(self) -> list[CloudServer]:
        """Every server tagged by the broker (for the reconciler)."""
        ...

    def start_server(self, server_id: str) -> None: ...

    def stop_server(self, server_id: str) -> None: ...

    def reboot_server(self, server_id: str) -> None: ...

    def delete_server(self, server_id: str) -> None:
        """Delete the server and its boot volume; a server already gone is not an error."""
        ...
