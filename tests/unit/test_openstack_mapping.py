"""How Nova's view of a server becomes a `CloudServer`: status, address, workspace and fault."""

from __future__ import annotations

from openstack.compute.v2.server import Server

from chalicelib.providers.openstack import _cloud_server
from chalicelib.services.workspaces.cloud import CloudServer, ServerStatus


def test_a_floating_address_wins_over_a_fixed_one_and_ipv6_is_ignored() -> None:
    server = Server.existing(
        id="s-1",
        status="ACTIVE",
        addresses={
            "vre-research": [
                {"version": 6, "addr": "2001:db8::5", "OS-EXT-IPS:type": "fixed"},
                {"version": 4, "addr": "10.20.0.5", "OS-EXT-IPS:type": "fixed"},
                {"version": 4, "addr": "145.100.1.7", "OS-EXT-IPS:type": "floating"},
            ]
        },
        metadata={"vre_workspace_id": "ws-1"},
    )

    assert _cloud_server(server) == CloudServer("s-1", ServerStatus.ACTIVE, "ws-1", "145.100.1.7")


def test_the_first_fixed_ipv4_without_a_floating_one() -> None:
    server = Server.existing(
        id="s-1",
        status="ACTIVE",
        addresses={"a": [{"version": 6, "addr": "2001:db8::5"}], "b": [{"version": 4, "addr": "10.0.0.9"}]},
    )

    assert _cloud_server(server).ip == "10.0.0.9"


def test_novas_other_states_map_onto_the_brokers() -> None:
    statuses = {
        status: _cloud_server(Server.existing(id="s", status=status)).status
        for status in ("BUILD", "HARD_REBOOT", "SOFT_DELETED", "SHUTOFF", "RESCUE", "ERROR")
    }

    assert statuses == {
        "BUILD": ServerStatus.BUILD,
        "HARD_REBOOT": ServerStatus.REBOOT,
        "SOFT_DELETED": ServerStatus.DELETED,
        "SHUTOFF": ServerStatus.SHUTOFF,
        "RESCUE": ServerStatus.OTHER,
        "ERROR": ServerStatus.ERROR,
    }


def test_the_workspace_comes_from_the_tag_when_metadata_lacks_it_and_the_fault_from_nova() -> None:
    server = Server.existing(
        id="s-1",
        status="ERROR",
        tags=["vre-broker", "vre-workspace-ws-9"],
        fault={"code": 500, "message": "No valid host was found. There are not enough hosts available."},
    )

    mapped = _cloud_server(server)

    assert (mapped.workspace_id, mapped.fault) == (
        "ws-9",
        "No valid host was found. There are not enough hosts available.",
    )
