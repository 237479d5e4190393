"""The infrastructure template, applied to whatever CloudFormation endpoint a client points at.

The local stack and the tests apply `infra/template.yaml` to moto, so the tables and queues
they use are the ones that deploy to AWS; `deploy_stack` creates or updates it on AWS.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, WaiterError

if TYPE_CHECKING:
    from botocore.waiter import Waiter
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import ParameterTypeDef

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
# Resources moto's CloudFormation does not make; they exist on AWS only.
AWS_ONLY = ("AWS::CloudWatch::Alarm", "AWS::SNS::Subscription", "AWS::ApiGateway::Account")
_NO_CHANGE = "No updates are to be performed"
# A stack in one of these states cannot be updated; it has to be deleted first (its tables are retained).
_DEAD_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")


class StackError(RuntimeError):
    """The infrastructure stack could not be created or updated."""


def stack_name(stage: str) -> str:
    return f"vre-{stage}-infra"


def apply_template(cloudformation: CloudFormationClient, stage: str) -> dict[str, str]:
    """Create the stage's stack (moto creates it at once) and return its outputs."""
    name = stack_name(stage)
    with _moto_makes_no_alarms():
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
        )
        return stack_outputs(cloudformation, name)


def stack_outputs(cloudformation: CloudFormationClient, name: str) -> dict[str, str]:
    stacks: list[Any] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def stack_parameters(stage: str, *, alarm_email: str | None, updating: bool) -> list[ParameterTypeDef]:
    """The template's parameters for a stage; an update without an alarm email keeps the one it has."""
    parameters: list[ParameterTypeDef] = [{"ParameterKey": "Stage", "ParameterValue": stage}]
    if alarm_email is not None:
        parameters.append({"ParameterKey": "AlarmEmail", "ParameterValue": alarm_email})
    elif updating:
        parameters.append({"ParameterKey": "AlarmEmail", "UsePreviousValue": True})
    return parameters


def deploy_stack(
    cloudformation: CloudFormationClient,
    stage: str,
    *,
    alarm_email: str | None,
    report: Callable[[str], None],
) -> dict[str, str]:
    """Create the stage's stack, or update it, wait until CloudFormation is done, and return its outputs.

    `prod` gets termination protection on creation. A failure raises `StackError` with the reasons
    CloudFormation gave for the resources that failed.
    """
    name = stack_name(stage)
    status = _stack_status(cloudformation, name)
    if status in _DEAD_STATES:
        raise StackError(
            f"stack {name} is {status} and cannot be updated; delete it (its tables are retained) with "
            f"`aws cloudformation delete-stack --stack-name {name}` and deploy again"
        )
    body = TEMPLATE.read_text()
    try:
        if status is None:
            report(f"creating stack {name}")
            cloudformation.create_stack(
                StackName=name,
                TemplateBody=body,
                Parameters=stack_parameters(stage, alarm_email=alarm_email, updating=False),
                EnableTerminationProtection=stage == "prod",
                Tags=[{"Key": "app", "Value": "vre-broker"}, {"Key": "stage", "Value": stage}],
            )
            waiter: Waiter = cloudformation.get_waiter("stack_create_complete")
        else:
            report(f"updating stack {name} ({status})")
            cloudformation.update_stack(
                StackName=name,
                TemplateBody=body,
                Parameters=stack_parameters(stage, alarm_email=alarm_email, updating=True),
            )
            waiter = cloudformation.get_waiter("stack_update_complete")
    except ClientError as exc:
        if _NO_CHANGE in str(exc):
            report(f"stack {name} is up to date")
            return stack_outputs(cloudformation, name)
        raise StackError(f"CloudFormation refused stack {name}: {exc}") from exc
    try:
        waiter.wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
    except WaiterError as exc:  # the stack ended in a failed state, or took too long
        raise StackError(f"stack {name} did not finish: {_failures(cloudformation, name)}") from exc
    report(f"stack {name} is {_stack_status(cloudformation, name)}")
    return stack_outputs(cloudformation, name)


def _stack_status(cloudformation: CloudFormationClient, name: str) -> str | None:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def _failures(cloudformation: CloudFormationClient, name: str) -> str:
    """Why the resources of the stack's last attempt failed, as CloudFormation put it."""
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    reasons = [
        f"{event.get('LogicalResourceId')}: {event.get('ResourceStatusReason')}"
        for event in events
        if str(event.get("ResourceStatus", "")).endswith("_FAILED")
    ]
    return "; ".join(reasons[:5]) or f"status {_stack_status(cloudformation, name)}"


_SKIPPED = [(resource_type,) for resource_type in AWS_ONLY]


class _AwsOnlyResources(logging.Filter):
    """Drops moto's notice that it skipped a resource that exists on AWS only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("No Moto CloudFormation support for") and record.args in _SKIPPED)


@contextmanager
def _moto_makes_no_alarms() -> Iterator[None]:
    """moto warns about every alarm it skips; they are AWS-only by design (see AWS_ONLY)."""
    moto = logging.getLogger("moto")
    skipped = _AwsOnlyResources()
    moto.addFilter(skipped)
    try:
        with warnings.catch_warnings():
            for resource_type in AWS_ONLY:
                warnings.filterwarnings("ignore", message=f"Tried to parse {resource_type}")
            yield
    finally:
        moto.removeFilter(skipped)
