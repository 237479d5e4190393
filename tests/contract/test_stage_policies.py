"""Each deployed stage's functions, together, can reach what the stage's configuration names: every table and
index in the template, and exactly the secrets (SSM parameters, Secrets Manager secrets) in the stage's
environment, and nothing of another stage. (What each function may do is tests/contract/test_iam.py; this is
the stage's wiring.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app import app
from vre_app.iam import PolicyTarget, app_functions, function_policy_files, render_policy, statements
from vre_app.infra import TEMPLATE

CHALICE = Path(__file__).resolve().parents[2] / ".chalice"
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def _granted(stage: str) -> set[str]:
    """Every resource ARN any of the stage's functions is granted."""
    target = PolicyTarget(stage=stage, account=ACCOUNT, region=REGION, mail_from="VRE <no-reply@uni.example>")
    resources: set[str] = set()
    for function in app_functions(app):
        for statement in statements(render_policy(function, target)):
            named = statement["Resource"]
            resources.update([named] if isinstance(named, str) else named)
    return resources


def _tables_and_indexes() -> dict[str, set[str]]:
    resources = yaml.safe_load(TEMPLATE.read_text())["Resources"]
    return {
        r["Properties"]["TableName"]["Fn::Sub"].removeprefix("vre-${Stage}-"): {
            index["IndexName"] for index in r["Properties"].get("GlobalSecondaryIndexes", [])
        }
        for r in resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_has_its_policy_file_in_the_stage(stage: str) -> None:
    assert set(function_policy_files(stage)) == set(app_functions(app))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_functions_reach_every_table_and_index_of_the_stage_and_nothing_of_another(stage: str) -> None:
    granted = _granted(stage)
    prefix = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"

    for table, indexes in _tables_and_indexes().items():
        assert f"{prefix}vre-{stage}-{table}" in granted, table
        for index in indexes:
            assert f"{prefix}vre-{stage}-{table}/index/{index}" in granted, (table, index)
    assert all(arn.removeprefix(prefix).startswith(f"vre-{stage}-") for arn in granted if arn.startswith(prefix))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_functions_read_exactly_the_secrets_the_stage_names(stage: str) -> None:
    environment = json.loads((CHALICE / "config.json").read_text())["stages"][stage]["environment_variables"]
    parameters = {value for name, value in environment.items() if name.endswith("_PARAMETER")}
    secrets = {value for name, value in environment.items() if name.endswith("_SECRET_ID")}

    granted = _granted(stage)
    granted_parameters = {arn.split(":parameter", 1)[1] for arn in granted if arn.startswith("arn:aws:ssm:")}
    granted_secrets = {
        arn.split(":secret:", 1)[1].removesuffix("-??????")
        for arn in granted
        if arn.startswith("arn:aws:secretsmanager:")
    }

    assert granted_parameters == parameters
    assert granted_secrets == secrets == {f"vre/{stage}/vrw-webhook-secret"}
    assert all(name.startswith(f"/vre/{stage}/") for name in parameters)
