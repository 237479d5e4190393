"""OpenStack through openstacksdk: the `Cloud` that the provisioning family boots workspaces on.

The connection comes from clouds.yaml (the cloud `OPENSTACK_CLOUD`, an application credential; the
file where openstacksdk looks, or at `OS_CLIENT_CONFIG_FILE`), is made on first use and kept for the
warm Lambda: one Keystone authentication, one version discovery per service. openstacksdk itself is
imported only then, so importing this module costs nothing on the API path.

Calls are budgeted (DESIGN.md: at most 4 per workspace): `create_server` is one POST once the
catalog's image, flavor and network names are resolved, which happens once per warm worker (an id
costs nothing); `get_server`, `find_server`, each action and `delete_server` are one call each.
openstacksdk retries nothing here (`connect_retries` and `status_code_retries` are 0): a create must
not be sent twice, and the worker's queue retries with a delay anyway, adopting the server by its tag.

Every failure leaves as `CloudError`, with a reason a researcher can read and whether a retry may help.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.config import ConfigurationError, Settings
from chalicelib.services.workspaces.cloud import (
    BROKER_TAG,
    CloudError,
    CloudServer,
    ServerSpec,
    ServerStatus,
    workspace_tag,
)

if TYPE_CHECKING:
    from openstack.compute.v2.server import Server
    from openstack.connection import Connection

    from chalicelib.providers.secrets import Secrets

log = logging.getLogger(__name__)

# Metadata keys on every server the broker makes (the tags carry the workspace id too).
WORKSPACE_KEY = "vre_workspace_id"
STUDY_KEY = "vre_study_id"
_WORKSPACE_TAG = re.compile(r"^vre-workspace-(.+)$")
_QUOTA = re.compile(r"quota exceeded for (\w+)", re.IGNORECASE)
# How Nova names a quota'd resource, in a researcher's words.
_QUOTA_NAMES = {
    "cores": "vCPUs",
    "ram": "memory",
    "instances": "servers",
    "volumes": "volumes",
    "gigabytes": "disk space",
    "floating_ips": "public addresses",
    "ports": "network ports",
}
_STATUSES = {status.value: status for status in ServerStatus} | {
    "HARD_REBOOT": ServerStatus.REBOOT,
    "SOFT_DELETED": ServerStatus.DELETED,
}
# The Nova microversion every compute call carries: 2.52 is the first that takes tags at create (2.26 filters
# by tag). Pinned rather than negotiated: a negotiation whose version discovery failed once would send the
# create at 2.1, which Nova refuses for its tags; pinned, the call goes out right and discovery is retried.
COMPUTE_API_VERSION = "2.52"
# How much of OpenStack's own message a reason repeats.
_DETAIL_LIMIT = 200


@dataclass(frozen=True, slots=True)
class OpenStackConfig:
    """Which cloud of clouds.yaml, how long a call may take, and where the credential's secret comes from."""

    cloud: str
    timeout_seconds: float
    # Called once, when connecting: a secret that overrides clouds.yaml's (from SSM), or None.
    secret: Callable[[], str | None] = lambda: None


class OpenStackCloud:
    """`Cloud` on OpenStack: Nova for servers, Glance and Neutron only to turn names into ids."""

    def __init__(self, config: OpenStackConfig) -> None:
        self.config = config
        self._connection: Connection | None = None
        # Names (and ids) already resolved to ids, for the life of the warm worker.
        self._flavors: dict[str, str] = {}
        self._images: dict[str, str] = {}
        self._networks: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings, secrets: Secrets) -> OpenStackCloud:
        def secret() -> str | None:
            return secrets.openstack_application_credential_secret

        return cls(
            OpenStackConfig(
                cloud=settings.openstack_cloud, timeout_seconds=settings.openstack_timeout_seconds, secret=secret
            )
        )

    @property
    def connection(self) -> Connection:
        """The connection, made on first use (it authenticates on its first call)."""
        if self._connection is None:
            with _translated("connect to OpenStack"):
                self._connection = _connect(self.config)
        return self._connection

    def close(self) -> None:
        """Drop the connection and the resolved names; the next call connects anew."""
        connection, self._connection = self._connection, None
        self._flavors.clear()
        self._images.clear()
        self._networks.clear()
        if connection is not None:
            connection.close()

    # -- Cloud ----------------------------------------------------------------------------------

    def create_server(self, spec: ServerSpec) -> CloudServer:
        flavor_id = self._flavor_id(spec.flavor)
        image_id = self._image_id(spec.image)
        network_id = self._network_id(spec.network)
        metadata = {**spec.metadata, WORKSPACE_KEY: spec.workspace_id, STUDY_KEY: spec.study_id}
        user_data = base64.b64encode(spec.user_data.encode()).decode() if spec.user_data is not None else None
        with _translated("create the workspace's server", spec):
            server = self.connection.compute.create_server(
                name=spec.name,
                flavor_id=flavor_id,
                networks=[{"uuid": network_id}],
                block_device_mapping=[
                    {
                        "boot_index": 0,
                        "source_type": "image",
                        "destination_type": "volume",
                        "uuid": image_id,
                        "volume_size": spec.volume_gb,
                        "delete_on_termination": True,
                    }
                ],
                user_data=user_data,
                metadata=metadata,
                tags=[BROKER_TAG, workspace_tag(spec.workspace_id)],
            )
        # Nova answers a create with the id alone; the server is building.
        return CloudServer(id=str(server.id), status=ServerStatus.BUILD, workspace_id=spec.workspace_id)

    def get_server(self, server_id: str) -> CloudServer | None:
        from openstack.exceptions import NotFoundException

        with _translated("look up the workspace's server"):
            try:
                return _cloud_server(self.connection.compute.get_server(server_id))
            except NotFoundException:
                return None

    def find_server(self, workspace_id: str) -> CloudServer | None:
        with _translated("look up the workspace's server"):
            servers = list(self.connection.compute.servers(details=True, tags=workspace_tag(workspace_id)))
        if not servers:
            return None
        # Two servers for one workspace mean a create was sent twice; adopt the first, the reconciler sees both.
        first = min(servers, key=lambda server: (str(server.created_at or ""), str(server.id)))
        return _cloud_server(first)

    def broker_servers(self) -> list[CloudServer]:
        with _translated("list the broker's servers"):
            servers = list(self.connection.compute.servers(details=True, tags=BROKER_TAG))
        return [_cloud_server(server) for server in servers]

    def start_server(self, server_id: str) -> None:
        with _translated("start the workspace's server"):
            self.connection.compute.start_server(server_id)

    def stop_server(self, server_id: str) -> None:
        with _translated("stop the workspace's server"):
            self.connection.compute.stop_server(server_id)

    def reboot_server(self, server_id: str) -> None:
        with _translated("restart the workspace's server"):
            self.connection.compute.reboot_server(server_id, "SOFT")

    def delete_server(self, server_id: str) -> None:
        # The boot volume goes with it (delete_on_termination); an id already gone is fine.
        with _translated("delete the workspace's server"):
            self.connection.compute.delete_server(server_id, ignore_missing=True)

    # -- names to ids, once per warm worker -------------------------------------------------------

    def _flavor_id(self, flavor: str) -> str:
        if _is_uuid(flavor):
            return flavor
        if flavor not in self._flavors:
            # One list answers every flavor name and id; a name not in it may be new, so list again on a miss.
            with _translated("look up machine sizes"):
                for found in self.connection.compute.flavors(details=False):
                    self._flavors[str(found.id)] = str(found.id)
                    self._flavors.setdefault(str(found.name), str(found.id))
        if flavor not in self._flavors:
            raise CloudError(f"The machine size '{flavor}' is not available", retryable=False)
        return self._flavors[flavor]

    def _image_id(self, image: str) -> str:
        if _is_uuid(image):
            return image
        if image not in self._images:
            with _translated("look up operating system images"):
                found = [i for i in self.connection.image.images(name=image) if i.status == "active"]
            if not found:
                raise CloudError(f"The operating system image '{image}' is not available", retryable=False)
            if len(found) > 1:
                raise CloudError(f"The operating system image name '{image}' is ambiguous", retryable=False)
            self._images[image] = str(found[0].id)
        return self._images[image]

    def _network_id(self, network: str) -> str:
        if _is_uuid(network):
            return network
        if network not in self._networks:
            with _translated("look up networks"):
                found = list(self.connection.network.networks(name=network))
            if not found:
                raise CloudError(f"The network '{network}' is not available", retryable=False)
            if len(found) > 1:
                raise CloudError(f"The network name '{network}' is ambiguous", retryable=False)
            self._networks[network] = str(found[0].id)
        return self._networks[network]


def _connect(config: OpenStackConfig) -> Connection:
    import openstack

    secret = config.secret()
    overrides: dict[str, Any] = {"auth": {"application_credential_secret": secret}} if secret else {}
    return openstack.connect(
        cloud=config.cloud,
        api_timeout=config.timeout_seconds,
        compute_api_version=COMPUTE_API_VERSION,
        connect_retries=0,
        status_code_retries=0,
        **overrides,
    )


def _cloud_server(server: Server) -> CloudServer:
    metadata = server.metadata if isinstance(server.metadata, dict) else {}
    workspace_id = metadata.get(WORKSPACE_KEY)
    if workspace_id is None:
        tags = server.tags if isinstance(server.tags, list) else []
        workspace_id = next((m[1] for tag in tags if (m := _WORKSPACE_TAG.match(str(tag)))), None)
    fault = server.fault if isinstance(server.fault, dict) else {}
    message = fault.get("message")
    return CloudServer(
        id=str(server.id),
        status=_STATUSES.get(str(server.status), ServerStatus.OTHER) if server.status else ServerStatus.BUILD,
        workspace_id=str(workspace_id) if workspace_id is not None else None,
        ip=_ipv4(server.addresses),
        fault=str(message)[:1000] if message else None,
    )


def _ipv4(addresses: Any) -> str | None:
    """The first floating IPv4 address (reachable from outside), else the first fixed one."""
    if not isinstance(addresses, dict):
        return None
    found = [
        entry
        for entries in addresses.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict) and entry.get("version") == 4 and entry.get("addr")
    ]
    floating = [entry for entry in found if entry.get("OS-EXT-IPS:type") == "floating"]
    chosen = (floating or found)[:1]
    return str(chosen[0]["addr"]) if chosen else None


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@contextmanager
def _translated(action: str, spec: ServerSpec | None = None) -> Iterator[None]:
    """Turn whatever openstacksdk or keystoneauth raises into a `CloudError`."""
    from keystoneauth1 import exceptions as ksa
    from openstack import exceptions as sdk

    try:
        yield
    except CloudError:
        raise
    except sdk.HttpException as exc:
        raise _http_error(action, exc.status_code, exc.details or exc.message, spec) from exc
    except ksa.HttpError as exc:
        # Keystone's own answers (the token request) come from keystoneauth, not openstacksdk.
        raise _http_error(action, exc.http_status, exc.details or exc.message, spec) from exc
    except ksa.ConnectTimeout as exc:
        log.warning("OpenStack timed out (%s): %s", action, exc)
        raise CloudError("OpenStack did not answer in time", retryable=True) from exc
    except (ksa.ConnectionError, ksa.DiscoveryFailure) as exc:
        log.warning("OpenStack unreachable (%s): %s", action, exc)
        raise CloudError("OpenStack could not be reached", retryable=True) from exc
    except (sdk.ConfigException, ksa.AuthPluginException, ksa.EndpointNotFound, ConfigurationError) as exc:
        log.error("OpenStack is not configured (%s): %s", action, exc)
        raise CloudError(
            "The broker's OpenStack connection is not configured correctly; the platform team must fix it",
            retryable=False,
        ) from exc
    except (sdk.SDKException, ksa.ClientException) as exc:
        # Unexpected answers (not JSON, missing fields): most likely passing trouble, so worth a retry.
        log.warning("OpenStack failed (%s): %r", action, exc)
        raise CloudError(f"OpenStack failed while trying to {action}", retryable=True) from exc


def _http_error(action: str, status: int | None, detail: str | None, spec: ServerSpec | None) -> CloudError:
    status = status or 0
    text = " ".join((detail or "").split())[:_DETAIL_LIMIT]
    log.warning("OpenStack answered %s (%s): %s", status, action, text)
    quota = _QUOTA.search(text)
    if quota is not None or status == 413 or (status == 403 and "quota" in text.lower()):
        what = _QUOTA_NAMES.get(quota[1].lower(), quota[1]) if quota else "resources"
        return CloudError(f"OpenStack is out of capacity for {what} (quota exceeded)", retryable=True)
    if status >= 500 or status == 0:
        return CloudError(f"OpenStack had a problem of its own (HTTP {status}) trying to {action}", retryable=True)
    if status == 409:
        return CloudError(f"OpenStack cannot {action} right now: {text}", retryable=True)
    if status in (408, 429):
        return CloudError(f"OpenStack is too busy to {action} (HTTP {status})", retryable=True)
    if status == 401:
        return CloudError(
            "OpenStack refused the broker's application credential; the platform team must renew it",
            retryable=False,
        )
    if status == 404:
        return CloudError(f"The workspace's server no longer exists in OpenStack (trying to {action})", retryable=False)
    if spec is not None and status == 400:
        reason = _refused_spec(text, spec)
        if reason is not None:
            return CloudError(reason, retryable=False)
    return CloudError(f"OpenStack refused to {action}: {text or f'HTTP {status}'}", retryable=False)


def _refused_spec(text: str, spec: ServerSpec) -> str | None:
    """Which part of the workspace's specification Nova refused, in a researcher's words."""
    lowered = text.lower()
    if "smaller than the minimum size" in lowered:
        return f"A disk of {spec.volume_gb} GB is too small for the operating system image '{spec.image}'"
    if "image" in lowered:
        return f"The operating system image '{spec.image}' is not available"
    if "flavor" in lowered:
        return f"The machine size '{spec.flavor}' is not available"
    if "network" in lowered:
        return f"The network '{spec.network}' is not available"
    if "user data" in lowered:
        return f"OpenStack refused the workspace's start-up script: {text}"
    return None
