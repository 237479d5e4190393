"""Each deployed stage's IAM policy lets the broker read what its configuration names: every table and index
in the template, and every secret parameter in the stage's environment, and nothing of another stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from vre_app.infra import TEMPLATE

CHALICE = Path(__file__).resolve().parents[2] / ".chalice"


def _statement(stage: str, sid: str) -> dict[str, Any]:
    policy = json.loads((CHALICE / f"policy-{stage}.json").read_text())
    (statement,) = [s for s in policy["Statement"] if s.get("Sid") == sid]
    return statement  # type: ignore[no-any-return]


def _tables() -> set[str]:
    resources = yaml.safe_load(TEMPLATE.read_text())["Resources"]
    return {
        r["Properties"]["TableName"]["Fn::Sub"].removeprefix("vre-${Stage}-")
        for r in resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_reaches_every_table_and_its_indexes(stage: str) -> None:
    granted = set(_statement(stage, "Tables")["Resource"])

    for table in _tables():
        assert f"arn:aws:dynamodb:eu-west-1:*:table/vre-{stage}-{table}" in granted, table
        assert f"arn:aws:dynamodb:eu-west-1:*:table/vre-{stage}-{table}/index/*" in granted, table


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_reads_exactly_the_secret_parameters_the_stage_names(stage: str) -> None:
    environment = json.loads((CHALICE / "config.json").read_text())["stages"][stage]["environment_variables"]
    named = {value for name, value in environment.items() if name.endswith("_PARAMETER")}

    granted = {arn.split(":parameter", 1)[1] for arn in _statement(stage, "Secrets")["Resource"]}

    assert granted == named
    assert all(name.startswith(f"/vre/{stage}/") for name in named)
