"""`chalice package --stage prod`, as CI can run it offline: it builds, the zip keeps to the budget, every SQS
handler is wired to its stage's queue with the intended batch size, and no policy has a wildcard resource.

The policies are rendered with the placeholder account first, as `make package` does. The package is built
once per session in a copy of the project (pip fetches the Lambda wheels; about 10-20 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import app
from vre_app.iam import (
    CHALICE_CONFIG,
    PLACEHOLDER_ACCOUNT,
    PolicyTarget,
    app_functions,
    render_policy,
    wildcard_resources,
    write_policies,
)
from vre_app.infra import TEMPLATE
from vre_app.local.environment import PROJECT_ROOT, stage_variables
from vre_app.local.pump import sqs_handlers

pytestmark = pytest.mark.xdist_group("package")

STAGE = "prod"
REGION = "eu-west-1"
BUDGET_BYTES = 30 * 1000 * 1000
# What each SQS handler is meant to read: its queue (as the template names it, without `vre-<stage>-`) and
# batch size. A new handler adds its line here.
INTENDED_SQS = {"deliver_mail": ("mail", 10), "provision_workspaces": ("provisioning", 5)}
PACKAGE_TIMEOUT_SECONDS = 600
_CHALICE_MAIN = "import sys; from chalice.cli import main; sys.exit(main())"


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`chalice package --stage prod` of a copy of the project, policies rendered with the placeholder account."""
    project = tmp_path_factory.mktemp("project")
    for name in ("app.py", "requirements.txt"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    shutil.copytree(PROJECT_ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".chalice").mkdir()
    config = project / ".chalice" / "config.json"
    shutil.copy(CHALICE_CONFIG, config)
    mail_from = stage_variables(STAGE, config=config)["EMAIL_FROM_ADDRESS"]
    write_policies(PolicyTarget(STAGE, PLACEHOLDER_ACCOUNT, REGION, mail_from), config=config)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    environ["AWS_DEFAULT_REGION"] = REGION
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _CHALICE_MAIN, "--project-dir", str(project), "package", "--stage", STAGE, "out"],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=PACKAGE_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"chalice package failed:\n{done.stdout}\n{done.stderr}"
    print(f"chalice package --stage {STAGE}: {time.monotonic() - began:.1f} s")
    return project / "out"


def sam(package: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((package / "sam.json").read_text())
    return template


def functions(package: Path) -> dict[str, dict[str, Any]]:
    resources = sam(package)["Resources"]
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def test_the_package_keeps_to_its_budget(package: Path) -> None:
    size = (package / "deployment.zip").stat().st_size

    assert size <= BUDGET_BYTES, f"deployment.zip is {size / 1e6:.1f} MB; the budget is {BUDGET_BYTES / 1e6:.0f} MB"


def test_every_sqs_handler_reads_its_stage_queue_with_the_intended_batch_size(package: Path) -> None:
    template_queues = {
        resource["Properties"]["QueueName"]["Fn::Sub"].replace("${Stage}", STAGE)
        for resource in yaml.safe_load(TEMPLATE.read_text())["Resources"].values()
        if resource["Type"] == "AWS::SQS::Queue"
    }
    wired = {}
    for properties in functions(package).values():
        handler = properties["Handler"].removeprefix("app.")
        for event in properties.get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[-1]
                assert queue in template_queues, f"{handler} reads {queue}, which infra/template.yaml does not make"
                wired[handler] = (queue.removeprefix(f"vre-{STAGE}-"), event["Properties"]["BatchSize"])
                # The queue hides a message for at least as long as the function may run.
                assert properties["Timeout"] <= _visibility_timeout(queue)

    assert wired == INTENDED_SQS
    assert sorted(wired) == sorted(handler.name for handler in sqs_handlers(app))


def test_no_policy_in_the_package_has_a_wildcard_resource(package: Path) -> None:
    documents = [
        policy["PolicyDocument"]
        for resource in sam(package)["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
    ]

    assert documents
    for document in documents:
        assert wildcard_resources(document) == []
    for resource in sam(package)["Resources"].values():
        assert "ManagedPolicyArns" not in resource.get("Properties", {}), "only our own policies"
        assert resource["Type"] != "AWS::IAM::Policy"


def test_every_function_runs_under_a_role_of_its_own_with_its_own_policy(package: Path) -> None:
    resources = sam(package)["Resources"]
    target = PolicyTarget(STAGE, PLACEHOLDER_ACCOUNT, REGION, stage_variables(STAGE)["EMAIL_FROM_ADDRESS"])
    roles = {}
    for properties in functions(package).values():
        handler = properties["Handler"].removeprefix("app.")
        function = "api_handler" if handler == "app" else handler
        role = properties["Role"]["Fn::GetAtt"][0]
        roles[function] = role
        (policy,) = resources[role]["Properties"]["Policies"]
        assert policy["PolicyDocument"] == render_policy(function, target), function

    assert sorted(roles) == sorted(app_functions(app))
    assert len(set(roles.values())) == len(roles)


def _visibility_timeout(queue: str) -> int:
    for resource in yaml.safe_load(TEMPLATE.read_text())["Resources"].values():
        properties = resource["Properties"]
        if (
            resource["Type"] == "AWS::SQS::Queue"
            and properties["QueueName"]["Fn::Sub"].replace("${Stage}", STAGE) == queue
        ):
            return int(properties["VisibilityTimeout"])
    raise AssertionError(f"no queue {queue}")
