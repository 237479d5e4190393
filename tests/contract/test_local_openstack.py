"""`OpenStackCloud` (openstacksdk, unmodified) against the local OpenStack over real HTTP.

One local endpoint per test module, on a free port, with a clock the tests move (a server boots
when the test says so, not after a sleep); each test starts from a clean endpoint and a new
`OpenStackCloud`, as a cold Lambda would. The call counters are the endpoint's: what reached it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
import requests

from chalicelib.config import load_settings
from chalicelib.providers.openstack import STUDY_KEY, WORKSPACE_KEY, OpenStackCloud, OpenStackConfig
from chalicelib.providers.secrets import Secrets
from chalicelib.services.workspaces.cloud import BROKER_TAG, CloudError, ServerSpec, ServerStatus, workspace_tag
from tests.unit.test_secrets import FakeSSM
from vre_app.local.openstack import LocalOpenStack, free_port, load_catalog
from vre_app.local.openstack.keystone import APPLICATION_CREDENTIAL_SECRET
from vre_app.local.openstack.state import NO_VALID_HOST

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

CATALOG = load_catalog()
IMAGES = {image["name"]: image["id"] for image in CATALOG.images}
FLAVORS = {flavor["name"]: flavor["id"] for flavor in CATALOG.flavors}
NETWORK_ID = CATALOG.networks[0]["id"]
BOOT_SECONDS = 0.2
# The local endpoint answers at once; a call that takes longer than this has hung.
TIMEOUT_SECONDS = 5.0


class Clock:
    """The local OpenStack's clock: it moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def endpoint(clock: Clock) -> Iterator[LocalOpenStack]:
    from vre_app.local.openstack import Knobs

    with LocalOpenStack(
        port=free_port(), knobs=Knobs(boot_seconds=BOOT_SECONDS, reboot_seconds=0.1), clock=clock
    ) as local:
        yield local


@pytest.fixture
def local(endpoint: LocalOpenStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalOpenStack:
    """The endpoint, emptied, with a clouds.yaml for it where openstacksdk is told to look."""
    endpoint.reset()
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(endpoint.write_clouds_yaml(tmp_path / "clouds.yaml")))
    return endpoint


@pytest.fixture
def cloud(local: LocalOpenStack) -> Iterator[OpenStackCloud]:
    """A cold worker's cloud: no connection yet, nothing resolved."""
    built = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=TIMEOUT_SECONDS))
    yield built
    built.close()


def spec(workspace_id: str = "ws-1", **changes: Any) -> ServerSpec:
    """A workspace's server as the catalog describes it, by names."""
    base = ServerSpec(
        workspace_id=workspace_id,
        study_id="study-1",
        name=f"vre-{workspace_id}",
        image="Ubuntu 24.04",
        flavor="vre.small",
        network="vre-research",
        volume_gb=20,
        user_data="#cloud-config\nhostname: workspace\n",
    )
    return replace(base, **changes)


def by_ids(workspace_id: str = "ws-1", **changes: Any) -> ServerSpec:
    """The same, with the image, flavor and network given by id (no lookups)."""
    return spec(workspace_id, image=IMAGES["Ubuntu 24.04"], flavor=FLAVORS["vre.small"], network=NETWORK_ID, **changes)


def refusal(call: Any) -> CloudError:
    with pytest.raises(CloudError) as caught:
        call()
    error = caught.value
    # Readable: one line of prose, no traceback, no Python reprs.
    assert "Traceback" not in error.reason
    assert "\n" not in error.reason
    assert "Exception" not in error.reason
    assert str(error) == error.reason
    return error


# -- servers -----------------------------------------------------------------------------------------


def test_create_boots_a_tagged_server_from_a_volume_made_from_the_image(
    cloud: OpenStackCloud, local: LocalOpenStack
) -> None:
    created = cloud.create_server(spec(metadata={"owner": "r-1"}))

    assert (created.status, created.workspace_id, created.ip) == (ServerStatus.BUILD, "ws-1", None)
    [server] = local.state.snapshot()["servers"]
    assert server["id"] == created.id
    assert server["name"] == "vre-ws-1"
    assert server["tags"] == [BROKER_TAG, workspace_tag("ws-1")]
    assert server["metadata"] == {"owner": "r-1", WORKSPACE_KEY: "ws-1", STUDY_KEY: "study-1"}
    assert server["flavor"] == "vre.small"
    [volume] = local.state.snapshot()["volumes"]
    assert (volume["id"], volume["size_gb"], volume["image_id"]) == (server["volume_id"], 20, IMAGES["Ubuntu 24.04"])
    stored = local.state.servers[created.id]
    assert stored.delete_on_termination is True
    assert base64.b64decode(stored.user_data or "").decode() == "#cloud-config\nhostname: workspace\n"


def test_a_server_builds_then_turns_active_with_an_address(
    cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock
) -> None:
    created = cloud.create_server(by_ids())

    building = cloud.get_server(created.id)
    clock.advance(BOOT_SECONDS)
    active = cloud.get_server(created.id)

    assert building is not None
    assert (building.status, building.ip) == (ServerStatus.BUILD, None)
    assert active is not None
    assert active.status == ServerStatus.ACTIVE
    assert active.workspace_id == "ws-1"
    assert active.ip is not None
    assert active.ip.startswith("10.20.0.")
    assert active.fault is None


def test_find_server_adopts_the_workspace_server_by_its_tag(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    first = cloud.create_server(by_ids("ws-a"))
    cloud.create_server(by_ids("ws-b"))

    found = cloud.find_server("ws-a")

    assert found is not None
    assert (found.id, found.workspace_id) == (first.id, "ws-a")
    assert cloud.find_server("ws-unknown") is None


def test_broker_servers_are_the_ones_with_the_broker_tag(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    ours = {cloud.create_server(by_ids(f"ws-{n}")).id for n in range(3)}
    # Someone else's server in the same project, made without the broker's tags.
    cloud.connection.compute.create_server(
        name="not-ours",
        flavor_id=FLAVORS["vre.small"],
        networks=[{"uuid": NETWORK_ID}],
        block_device_mapping=[
            {
                "boot_index": 0,
                "source_type": "image",
                "destination_type": "volume",
                "uuid": IMAGES["Rocky Linux 9"],
                "volume_size": 10,
            }
        ],
    )

    listed = cloud.broker_servers()

    assert {server.id for server in listed} == ours
    assert {server.workspace_id for server in listed} == {"ws-0", "ws-1", "ws-2"}


def test_stop_start_and_reboot(cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock) -> None:
    server_id = cloud.create_server(by_ids()).id
    clock.advance(BOOT_SECONDS)

    def status() -> ServerStatus:
        found = cloud.get_server(server_id)
        assert found is not None
        return found.status

    cloud.stop_server(server_id)
    stopped = status()
    cloud.start_server(server_id)
    started = status()
    cloud.reboot_server(server_id)
    rebooting = status()
    clock.advance(0.1)

    assert (stopped, started, rebooting, status()) == (
        ServerStatus.SHUTOFF,
        ServerStatus.ACTIVE,
        ServerStatus.REBOOT,
        ServerStatus.ACTIVE,
    )


def test_delete_removes_the_server_and_its_boot_volume_and_a_second_delete_is_fine(
    cloud: OpenStackCloud, local: LocalOpenStack
) -> None:
    server_id = cloud.create_server(by_ids()).id

    cloud.delete_server(server_id)
    cloud.delete_server(server_id)

    assert cloud.get_server(server_id) is None
    assert cloud.find_server("ws-1") is None
    assert local.state.snapshot() | {"knobs": None} == {"servers": [], "volumes": [], "knobs": None}


# -- the call budget -----------------------------------------------------------------------------------


def test_a_workspace_on_a_warm_worker_costs_three_calls(
    cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock
) -> None:
    """DESIGN.md: at most 4 OpenStack calls per workspace. Warm, with names resolved: create and two gets."""
    cloud.create_server(spec("ws-warm-up"))
    local.reset(calls_only=True)

    server_id = cloud.create_server(spec("ws-2")).id
    cloud.get_server(server_id)
    clock.advance(BOOT_SECONDS)
    active = cloud.get_server(server_id)

    assert active is not None
    assert active.status == ServerStatus.ACTIVE
    calls = local.calls()
    assert calls["total"] == 3 <= 4
    assert calls["by_kind"] == {"compute POST /v2.1/servers": 1, "compute GET /v2.1/servers/{id}": 2}
    assert (calls["auths"], calls["discovery"]) == (0, 0)


def test_a_cold_worker_authenticates_once_and_discovers_once_per_service(
    cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock
) -> None:
    server_id = cloud.create_server(spec()).id
    cloud.get_server(server_id)
    clock.advance(BOOT_SECONDS)
    cloud.get_server(server_id)

    calls = local.calls()
    assert calls["by_kind"] == {
        "identity POST /v3/auth/tokens": 1,
        # Version discovery: Nova's (the pinned microversion is checked against it) and Glance's.
        "compute GET /v2.1": 1,
        "image GET /": 1,
        # The catalog's names, resolved once for the warm worker's life.
        "compute GET /v2.1/flavors": 1,
        "image GET /v2/images": 1,
        "network GET /v2.0/networks": 1,
        "compute POST /v2.1/servers": 1,
        "compute GET /v2.1/servers/{id}": 2,
    }
    assert (calls["auths"], calls["discovery"]) == (1, 2)


def test_ids_need_no_lookups(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    cloud.create_server(by_ids())

    calls = local.calls()
    assert calls["by_kind"] == {
        "identity POST /v3/auth/tokens": 1,
        "compute GET /v2.1": 1,
        "compute POST /v2.1/servers": 1,
    }


def test_one_keystone_authentication_across_many_operations(
    cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock
) -> None:
    for n in range(5):
        server_id = cloud.create_server(spec(f"ws-{n}")).id
        clock.advance(BOOT_SECONDS)
        cloud.get_server(server_id)
        cloud.find_server(f"ws-{n}")
        cloud.stop_server(server_id)
        cloud.start_server(server_id)
        cloud.delete_server(server_id)
    cloud.broker_servers()

    calls = local.calls()
    assert calls["auths"] == 1
    assert calls["discovery"] == 2
    # Six calls per workspace (create, get, find, stop, start, delete) and the list; once per worker:
    # the authentication, two version discoveries and three name lookups.
    assert calls["total"] == 5 * 6 + 1 + (1 + 2 + 3)


def test_an_expired_token_is_renewed_once_without_failing_the_call(
    cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock
) -> None:
    cloud.create_server(by_ids())
    clock.advance(local.state.knobs.token_ttl_seconds + 1)

    assert cloud.find_server("ws-1") is not None
    assert local.calls()["auths"] == 2


# -- faults ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(cloud: OpenStackCloud, local: LocalOpenStack, status: int) -> None:
    server_id = cloud.create_server(by_ids()).id
    # The seeded draw: each failing call is answered 500 or 503; fail_next always 503.
    local.set_knobs(**({"fail_next": 1} if status == 503 else {"error_rate": 1.0}), services=["compute"])

    error = refusal(lambda: cloud.get_server(server_id))

    assert error.retryable
    assert error.reason.startswith("OpenStack had a problem of its own (HTTP 50")
    assert local.calls()["log"][-1]["status"] in (500, 503)


def test_every_call_kind_fails_retryably_at_a_full_error_rate(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    server_id = cloud.create_server(by_ids()).id
    local.set_knobs(error_rate=1.0)
    calls = {
        "create": lambda: cloud.create_server(by_ids("ws-2")),
        "get": lambda: cloud.get_server(server_id),
        "find": lambda: cloud.find_server("ws-1"),
        "list": cloud.broker_servers,
        "start": lambda: cloud.start_server(server_id),
        "stop": lambda: cloud.stop_server(server_id),
        "reboot": lambda: cloud.reboot_server(server_id),
        "delete": lambda: cloud.delete_server(server_id),
    }

    outcomes = {name: refusal(call).retryable for name, call in calls.items()}

    assert outcomes == dict.fromkeys(calls, True)


def test_a_dropped_connection_is_retryable(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    cloud.create_server(by_ids())
    local.set_knobs(drop_rate=1.0)

    error = refusal(lambda: cloud.find_server("ws-1"))

    assert (error.reason, error.retryable) == ("OpenStack could not be reached", True)
    assert local.calls()["log"][-1]["status"] == "dropped"


def test_a_slow_answer_times_out_retryably(local: LocalOpenStack) -> None:
    impatient = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=0.2))
    local.set_knobs(latency_seconds=0.6, services=["compute"])

    error = refusal(lambda: impatient.get_server("a-server"))

    # Without the timeout the call would have waited and found no server: no error at all.
    assert (error.reason, error.retryable) == ("OpenStack did not answer in time", True)
    impatient.close()
    # The endpoint still answers the calls the client gave up on; let it, so they count in this test only.
    wait_until_quiet(local, 0.8)


def wait_until_quiet(local: LocalOpenStack, seconds: float) -> None:
    """Until no call has reached the endpoint for `seconds`."""
    deadline = time.monotonic() + 10
    seen, since = local.calls()["total"], time.monotonic()
    while time.monotonic() - since < seconds and time.monotonic() < deadline:
        time.sleep(0.05)
        if (total := local.calls()["total"]) != seen:
            seen, since = total, time.monotonic()


def test_nothing_listening_is_retryable(local: LocalOpenStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = LocalOpenStack(port=free_port())
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(gone.write_clouds_yaml(tmp_path / "gone.yaml")))

    error = refusal(lambda: OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=1.0)).get_server("a-server"))

    assert (error.reason, error.retryable) == ("OpenStack could not be reached", True)


@pytest.mark.parametrize(
    ("knob", "value", "what"),
    [("quota_cores", 3, "vCPUs"), ("quota_ram_mb", 10000, "memory"), ("quota_instances", 1, "servers")],
)
def test_a_create_over_quota_is_refused_retryably(
    cloud: OpenStackCloud, local: LocalOpenStack, knob: str, value: int, what: str
) -> None:
    local.set_knobs(**{knob: value})
    cloud.create_server(by_ids("ws-1"))

    error = refusal(lambda: cloud.create_server(by_ids("ws-2")))

    assert (error.reason, error.retryable) == (f"OpenStack is out of capacity for {what} (quota exceeded)", True)
    assert local.calls()["log"][-1]["status"] == 403
    assert cloud.find_server("ws-2") is None


def test_an_older_novas_413_over_limit_is_a_quota_refusal_too(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    local.set_knobs(quota_cores=1, quota_status=413)

    error = refusal(lambda: cloud.create_server(by_ids()))

    assert (error.reason, error.retryable) == ("OpenStack is out of capacity for vCPUs (quota exceeded)", True)
    assert local.calls()["log"][-1]["status"] == 413


def test_a_server_that_fails_to_build_shows_novas_fault(
    cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock
) -> None:
    local.set_knobs(server_error_rate=1.0)
    server_id = cloud.create_server(by_ids()).id
    clock.advance(BOOT_SECONDS)

    failed = cloud.get_server(server_id)

    assert failed is not None
    assert (failed.status, failed.fault, failed.ip) == (ServerStatus.ERROR, NO_VALID_HOST, None)


def test_a_boot_volume_over_the_volume_quota_fails_the_build(
    cloud: OpenStackCloud, local: LocalOpenStack, clock: Clock
) -> None:
    local.set_knobs(quota_volume_gb=30)
    cloud.create_server(by_ids("ws-1", volume_gb=20))
    server_id = cloud.create_server(by_ids("ws-2", volume_gb=20)).id
    clock.advance(BOOT_SECONDS)

    failed = cloud.get_server(server_id)

    assert failed is not None
    assert failed.status == ServerStatus.ERROR
    assert failed.fault is not None
    assert "exceeds allowed gigabytes quota" in failed.fault


def test_an_action_the_server_state_forbids_is_a_retryable_conflict(
    cloud: OpenStackCloud, local: LocalOpenStack
) -> None:
    server_id = cloud.create_server(by_ids()).id

    error = refusal(lambda: cloud.stop_server(server_id))

    assert error.retryable
    assert error.reason == (
        f"OpenStack cannot stop the workspace's server right now: Cannot 'stop' instance {server_id} "
        "while it is in vm_state building"
    )


def test_an_action_on_a_missing_server_is_not_retryable(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    error = refusal(lambda: cloud.start_server("2b1c7c6e-0000-4000-8000-000000000000"))

    assert (error.reason, error.retryable) == (
        "The workspace's server no longer exists in OpenStack (trying to start the workspace's server)",
        False,
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"image": "Ubuntu 12.04"}, "The operating system image 'Ubuntu 12.04' is not available"),
        ({"flavor": "vre.huge"}, "The machine size 'vre.huge' is not available"),
        ({"network": "elsewhere"}, "The network 'elsewhere' is not available"),
        # Ids are not looked up; Nova refuses them, and the reason is the same.
        (
            {"image": "6a39aa70-0000-4000-8000-000000000000"},
            "The operating system image '6a39aa70-0000-4000-8000-000000000000' is not available",
        ),
        (
            {"flavor": "7f34e997-0000-4000-8000-000000000000"},
            "The machine size '7f34e997-0000-4000-8000-000000000000' is not available",
        ),
        (
            {"network": "ebc3b96c-0000-4000-8000-000000000000"},
            "The network 'ebc3b96c-0000-4000-8000-000000000000' is not available",
        ),
        (
            {"image": "Windows Server 2022", "volume_gb": 20},
            "A disk of 20 GB is too small for the operating system image 'Windows Server 2022'",
        ),
    ],
)
def test_what_the_cloud_does_not_have_is_refused_for_good(
    cloud: OpenStackCloud, local: LocalOpenStack, changes: dict[str, Any], reason: str
) -> None:
    error = refusal(lambda: cloud.create_server(spec(**changes)))

    assert (error.reason, error.retryable) == (reason, False)
    assert local.state.snapshot()["servers"] == []


def test_a_version_discovery_that_fails_once_does_not_spoil_the_create(
    cloud: OpenStackCloud, local: LocalOpenStack
) -> None:
    """With a negotiated microversion the create would go out at 2.1 and Nova would refuse its tags."""
    local.set_knobs(fail_next=1, services=["compute"])

    created = cloud.create_server(by_ids())

    assert cloud.find_server("ws-1") == replace(created, status=ServerStatus.BUILD)
    assert [call["status"] for call in local.calls()["log"] if call["kind"] == "/v2.1"] == [503, 200]


def test_an_image_service_outage_while_resolving_names_is_retryable_and_passes(
    cloud: OpenStackCloud, local: LocalOpenStack
) -> None:
    local.set_knobs(fail_next=2, services=["image"])

    error = refusal(lambda: cloud.create_server(spec()))
    created = cloud.create_server(spec())

    assert error.retryable
    assert created.status == ServerStatus.BUILD


def test_a_wrong_application_credential_is_not_retryable(local: LocalOpenStack) -> None:
    wrong = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=10.0, secret=lambda: "not-the-secret"))

    error = refusal(lambda: wrong.get_server("a-server"))

    assert error.retryable is False
    assert error.reason == "OpenStack refused the broker's application credential; the platform team must renew it"


def test_an_unknown_cloud_name_is_not_retryable(local: LocalOpenStack) -> None:
    error = refusal(
        lambda: OpenStackCloud(OpenStackConfig(cloud="elsewhere", timeout_seconds=10.0)).get_server("a-server")
    )

    assert error.retryable is False
    assert "not configured correctly" in error.reason


def test_settings_and_the_ssm_secret_override_the_clouds_yaml_secret(
    local: LocalOpenStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "clouds.yaml"
    config.write_text(
        local.clouds_yaml("research-cloud").replace(APPLICATION_CREDENTIAL_SECRET, "stale-secret-in-the-file")
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(config))
    settings = load_settings(
        {
            "OPENSTACK_CLOUD": "research-cloud",
            "OPENSTACK_TIMEOUT_SECONDS": "2.5",
            "OPENSTACK_APPLICATION_CREDENTIAL_SECRET_PARAMETER": "/vre/dev/openstack-application-credential-secret",
        }
    )
    ssm = FakeSSM({"/vre/dev/openstack-application-credential-secret": APPLICATION_CREDENTIAL_SECRET})
    cloud = OpenStackCloud.from_settings(settings, Secrets(settings, cast("SSMClient", ssm)))

    assert cloud.find_server("ws-none") is None
    assert (cloud.config.cloud, cloud.config.timeout_seconds) == ("research-cloud", 2.5)
    assert len(ssm.calls) == 1
    cloud.close()


# -- the local endpoint itself ---------------------------------------------------------------------------


def test_the_control_endpoint_turns_knobs_counts_calls_and_resets(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    control = f"{local.url}/_control"
    cloud.create_server(by_ids())

    knobs = requests.post(f"{control}/faults", json={"error_rate": 0.25, "quota_cores": 8}, timeout=5).json()
    refused = requests.post(f"{control}/knobs", json={"error_rate": 2}, timeout=5)
    unknown = requests.post(f"{control}/knobs", json={"rain": True}, timeout=5)
    calls = requests.get(f"{control}/calls", timeout=5).json()
    state = requests.get(f"{control}/state", timeout=5).json()
    requests.post(f"{control}/reset", params={"only": "calls"}, timeout=5)
    after_calls_reset = (requests.get(f"{control}/calls", timeout=5).json()["total"], len(local.state.servers))
    requests.post(f"{control}/reset", timeout=5)

    assert (knobs["error_rate"], knobs["quota_cores"], knobs["boot_seconds"]) == (0.25, 8, BOOT_SECONDS)
    assert refused.status_code == 400
    assert unknown.status_code == 400
    assert calls["total"] == 3
    assert calls["auths"] == 1
    assert calls["by_service"] == {"identity": 1, "compute": 2}
    assert [server["tags"] for server in state["servers"]] == [[BROKER_TAG, workspace_tag("ws-1")]]
    assert after_calls_reset == (0, 1)
    assert local.state.snapshot()["servers"] == []
    assert local.state.knobs.error_rate == 0.0


def test_calls_need_a_token_but_version_documents_do_not(local: LocalOpenStack) -> None:
    servers = requests.get(f"{local.url}/compute/v2.1/servers", timeout=5)
    versions = requests.get(f"{local.url}/compute/", timeout=5)

    assert servers.status_code == 401
    assert versions.status_code == 200
    assert versions.json()["versions"][-1]["version"] == "2.96"


def test_nova_refuses_a_microversion_it_does_not_have(cloud: OpenStackCloud, local: LocalOpenStack) -> None:
    token = cloud.connection.session.get_token()
    answer = requests.get(
        f"{local.url}/compute/v2.1/servers",
        headers={"X-Auth-Token": str(token), "OpenStack-API-Version": "compute 2.200"},
        timeout=5,
    )

    assert answer.status_code == 406
    assert "maximum is 2.96" in answer.json()["notAcceptable"]["message"]


def test_the_same_seed_replays_the_same_ids_and_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vre_app.local.openstack import Knobs

    def run() -> list[Any]:
        with LocalOpenStack(knobs=Knobs(error_rate=0.5, boot_seconds=0), seed=7) as replay:
            monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(replay.write_clouds_yaml(tmp_path / "replay.yaml")))
            replay.set_knobs(services=["compute"])
            cloud = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=TIMEOUT_SECONDS))
            outcomes: list[Any] = []
            for n in range(12):
                try:
                    outcomes.append(cloud.create_server(by_ids(f"ws-{n}")).id)
                except CloudError as exc:
                    outcomes.append(exc.reason)
            cloud.close()
            return outcomes

    first, second = run(), run()

    assert first == second
    assert any(isinstance(o, str) and o.startswith("OpenStack had a problem") for o in first)
    assert len(set(first)) > 2


def test_a_real_clock_boots_a_server_in_boot_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vre_app.local.openstack import Knobs

    with LocalOpenStack(knobs=Knobs(boot_seconds=BOOT_SECONDS)) as real:
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(real.write_clouds_yaml(tmp_path / "real.yaml")))
        cloud = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=TIMEOUT_SECONDS))
        server_id = cloud.create_server(by_ids()).id
        statuses = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = cloud.get_server(server_id)
            assert found is not None
            statuses.append(found.status)
            if found.status != ServerStatus.BUILD:
                break
            time.sleep(BOOT_SECONDS / 2)
        cloud.close()

    assert statuses[0] == ServerStatus.BUILD
    assert statuses[-1] == ServerStatus.ACTIVE


def test_clouds_yaml_example_and_the_local_one_are_configurations_openstacksdk_takes(
    local: LocalOpenStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openstack.config.loader import OpenStackConfig

    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE")
    root = Path(__file__).resolve().parents[2]
    local_yaml = local.write_clouds_yaml(tmp_path / "local.yaml")

    example = OpenStackConfig(config_files=[str(root / "clouds.yaml.example")], load_envvars=False).get_one("hpc")
    ours = OpenStackConfig(config_files=[str(local_yaml)], load_envvars=False).get_one("hpc")

    assert example.config["auth_type"] == ours.config["auth_type"] == "v3applicationcredential"
    assert set(example.config["auth"]) == set(ours.config["auth"])
    assert example.get_region_name() == ours.get_region_name() == "RegionOne"
