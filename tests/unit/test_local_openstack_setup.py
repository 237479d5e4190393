"""How the local stack and `python -m vre_app openstack` set up the local OpenStack: ports, clouds.yaml,
knobs from the environment and flags, and a shell's own OpenStack variables kept out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chalicelib.providers.openstack import OpenStackCloud, OpenStackConfig
from vre_app.local.environment import (
    LOCAL_STATE_DIR,
    LocalEnvironmentError,
    LocalPorts,
    local_ports,
    stack_environment,
)
from vre_app.local.openstack import Knobs, KnobsError, free_port, knobs_from
from vre_app.local.openstack.state import knobs_from_environ

ROOT = Path(__file__).resolve().parents[2]


def test_the_stack_points_openstacksdk_at_its_own_clouds_yaml_and_drops_the_shells_cloud() -> None:
    caller = {"OS_CLOUD": "production", "OS_AUTH_URL": "https://real.example.org:5000/v3", "PATH": "/bin"}

    environ = stack_environment(caller, LocalPorts(openstack=9555))

    assert environ["OS_CLIENT_CONFIG_FILE"] == str(LOCAL_STATE_DIR / "clouds-9555.yaml")
    assert environ["VRE_OPENSTACK_PORT"] == "9555"
    assert "OS_CLOUD" not in environ
    assert "OS_AUTH_URL" not in environ


def test_a_real_clouds_yaml_is_an_explicit_choice(tmp_path: Path) -> None:
    real = tmp_path / "clouds.yaml"
    real.write_text("clouds: {}\n")

    environ = stack_environment({"VRE_OPENSTACK_CLOUDS_YAML": str(real)}, LocalPorts())

    assert environ["OS_CLIENT_CONFIG_FILE"] == str(real.resolve())
    with pytest.raises(LocalEnvironmentError, match="VRE_OPENSTACK_CLOUDS_YAML"):
        stack_environment({"VRE_OPENSTACK_CLOUDS_YAML": str(tmp_path / "missing.yaml")}, LocalPorts())


def test_the_openstack_port_comes_from_its_variable() -> None:
    assert local_ports({}).openstack == 9500
    assert local_ports({"VRE_OPENSTACK_PORT": "9600"}).openstack_url == "http://127.0.0.1:9600"
    with pytest.raises(LocalEnvironmentError, match="VRE_OPENSTACK_PORT"):
        local_ports({"VRE_OPENSTACK_PORT": "openstack"})


def test_knobs_come_from_variables_and_are_checked() -> None:
    knobs = knobs_from_environ(
        {"VRE_OPENSTACK_BOOT_SECONDS": "0.5", "VRE_OPENSTACK_SERVICES": "compute, image", "VRE_OPENSTACK_PORT": "1"}
    )

    assert (knobs.boot_seconds, knobs.services, knobs.error_rate) == (0.5, ("compute", "image"), 0.0)
    for bad in ({"error_rate": 1.5}, {"services": ["object-store"]}, {"quota_status": 500}, {"weather": "rain"}):
        with pytest.raises(KnobsError):
            knobs_from(bad)
    with pytest.raises(KnobsError):
        knobs_from_environ({"VRE_OPENSTACK_DROP_RATE": "often"})
    assert knobs_from({}) == Knobs()


def test_python_m_vre_app_openstack_serves_until_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    clouds_yaml = tmp_path / "clouds.yaml"
    environ = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vre_app",
            "openstack",
            "--port",
            str(port),
            "--clouds-yaml",
            str(clouds_yaml),
            "--boot-seconds",
            "0",
        ],
        cwd=ROOT,
        env=environ | {"VRE_OPENSTACK_ERROR_RATE": "0", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith(f"Local OpenStack on http://127.0.0.1:{port}")
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_yaml))
        cloud = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=5.0))
        assert cloud.broker_servers() == []
        cloud.close()
    finally:
        process.send_signal(signal.SIGINT)
        began = time.monotonic()
        code = process.wait(10)
    assert code == 0
    assert time.monotonic() - began < 5
