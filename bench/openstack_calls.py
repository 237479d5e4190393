"""OpenStack calls and time per workspace: `OpenStackCloud` (openstacksdk) against the local OpenStack.

Each workspace goes as the provisioning worker takes it: create, one get while it builds, one once
it is ACTIVE (the local OpenStack's clock is moved between them, so nothing sleeps). The first
workspace is a cold Lambda's (Keystone, version discovery, the catalog's names); the rest are warm.
Also: how long importing openstacksdk takes, which the provisioning Lambda pays at a cold start.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKSPACES = 50
IMPORT_RUNS = 3


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _import_seconds() -> float:
    """A fresh interpreter's `import openstack`, best of a few."""
    probe = "import time; t = time.perf_counter(); import openstack; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
        for _ in range(IMPORT_RUNS)
    ]
    return min(runs)


def main() -> None:
    from chalicelib.providers.openstack import OpenStackCloud, OpenStackConfig
    from chalicelib.services.workspaces.cloud import ServerSpec, ServerStatus
    from vre_app.local.openstack import Knobs, LocalOpenStack

    clock = _Clock()
    with LocalOpenStack(knobs=Knobs(boot_seconds=1.0), clock=clock) as local, tempfile.TemporaryDirectory() as folder:
        os.environ["OS_CLIENT_CONFIG_FILE"] = str(local.write_clouds_yaml(Path(folder) / "clouds.yaml"))
        began = time.perf_counter()
        cloud = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=10.0))
        totals: list[int] = []
        seconds: list[float] = []
        for n in range(WORKSPACES):
            before = local.calls()["total"]
            started = time.perf_counter()
            spec = ServerSpec(
                workspace_id=f"bench-{n}",
                study_id="bench",
                name=f"vre-bench-{n}",
                image="Ubuntu 24.04",
                flavor="vre.medium",
                network="vre-research",
                volume_gb=40,
                user_data="#cloud-config\n",
            )
            server_id = cloud.create_server(spec).id
            cloud.get_server(server_id)
            clock.now += 1.0
            active = cloud.get_server(server_id)
            assert active is not None
            assert active.status == ServerStatus.ACTIVE
            seconds.append(time.perf_counter() - started)
            totals.append(local.calls()["total"] - before)
            if n == 0:
                cold = local.calls()
                cold_seconds = time.perf_counter() - began
        warm = totals[1:]
        calls = local.calls()
        cloud.close()

    print("OpenStack calls per workspace (create + get while building + get when ACTIVE), local OpenStack")
    print(f"  cold Lambda, first workspace: {totals[0]} calls in {cold_seconds * 1000:.0f} ms: {cold['by_kind']}")
    print(
        f"  warm Lambda: {statistics.mean(warm):.1f} calls per workspace (max {max(warm)}; budget 4), "
        f"median {statistics.median(seconds[1:]) * 1000:.1f} ms per workspace"
    )
    print(
        f"  {WORKSPACES} workspaces, one connection: {calls['total']} calls, {calls['auths']} Keystone "
        f"authentication(s), {calls['discovery']} version discovery call(s)"
    )
    print(f"  import openstack in a fresh interpreter: {_import_seconds() * 1000:.0f} ms (best of {IMPORT_RUNS})")


if __name__ == "__main__":
    main()
