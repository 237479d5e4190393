"""The infrastructure template, applied to whatever CloudFormation endpoint a client points at.

The local stack and the tests apply `infra/template.yaml` to moto, so the tables and queues
they use are the ones that deploy to AWS.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"


def stack_name(stage: str) -> str:
    return f"vre-{stage}-infra"


def apply_template(cloudformation: CloudFormationClient, stage: str) -> dict[str, str]:
    """Create the stage's stack (moto creates it at once) and return its outputs."""
    name = stack_name(stage)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
    )
    return stack_outputs(cloudformation, name)


def stack_outputs(cloudformation: CloudFormationClient, name: str) -> dict[str, str]:
    stacks: list[Any] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
