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
from urllib.parse import urlsplit

from botocore.exceptions import ClientError, WaiterError

if TYPE_CHECKING:
    from botocore.waiter import Waiter
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import ParameterTypeDef

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
# Resources moto's CloudFormation does not make; they exist on AWS only. The uploads bucket's TLS-only policy
# among them: moto would apply its Deny without the `aws:SecureTransport` condition, refusing everything.
AWS_ONLY = ("AWS::CloudWatch::Alarm", "AWS::SNS::Subscription", "AWS::ApiGateway::Account", "AWS::S3::BucketPolicy")
_BUCKET_SETTINGS = {
    "VersioningConfiguration": ("put_bucket_versioning", "VersioningConfiguration"),
    "LifecycleConfiguration": ("put_bucket_lifecycle_configuration", "LifecycleConfiguration"),
    "CorsConfiguration": ("put_bucket_cors", "CORSConfiguration"),
    "PublicAccessBlockConfiguration": ("put_public_access_block", "PublicAccessBlockConfiguration"),
}
_NO_CHANGE = "No updates are to be performed"
# A stack in one of these states cannot be updated; it has to be deleted first (its tables are retained).
_DEAD_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")


class StackError(RuntimeError):
    """The infrastructure stack could not be created or updated."""


def stack_name(stage: str) -> str:
    return f"vre-{stage}-infra"


def apply_template(
    cloudformation: CloudFormationClient, stage: str, *, upload_page_origin: str | None = None
) -> dict[str, str]:
    """Create the stage's stack (moto creates it at once), complete what moto skips, and return its outputs.

    `upload_page_origin` is the origin the uploads bucket's CORS rule admits (the template's default if None).
    """
    name = stack_name(stage)
    parameters: list[ParameterTypeDef] = [{"ParameterKey": "Stage", "ParameterValue": stage}]
    if upload_page_origin:
        parameters.append({"ParameterKey": "UploadPageOrigin", "ParameterValue": upload_page_origin})
    with _moto_makes_no_alarms():
        cloudformation.create_stack(StackName=name, TemplateBody=TEMPLATE.read_text(), Parameters=parameters)
        outputs = stack_outputs(cloudformation, name)
    _complete_buckets(
        cloudformation, stage, outputs["MailQueueArn"].split(":")[4], {"UploadPageOrigin": upload_page_origin}
    )
    return outputs


def _complete_buckets(
    cloudformation: CloudFormationClient, stage: str, account: str, parameters: dict[str, str | None]
) -> None:
    """Set the buckets' versioning, lifecycle, CORS and public access block as the template says: moto's
    CloudFormation makes a bucket with its name and encryption only."""
    import boto3
    import yaml

    template = yaml.safe_load(TEMPLATE.read_text())
    resources = template["Resources"]
    context: dict[str, str] = {"Stage": stage, "AWS::AccountId": account, "AWS::Partition": "aws"}
    context["AWS::Region"] = cloudformation.meta.region_name
    context.update({k: str(v["Default"]) for k, v in template["Parameters"].items() if "Default" in v})
    context.update({k: v for k, v in parameters.items() if v})
    buckets = {k: v for k, v in resources.items() if v["Type"] == "AWS::S3::Bucket"}
    for logical, resource in buckets.items():
        context[logical] = str(_resolve(resource["Properties"]["BucketName"], context))
        context[f"{logical}.Arn"] = f"arn:aws:s3:::{context[logical]}"
    endpoint = cloudformation.meta.endpoint_url
    s3 = boto3.client(
        "s3",
        region_name=cloudformation.meta.region_name,
        endpoint_url=None if endpoint.endswith(".amazonaws.com") else endpoint,
    )
    for logical, resource in buckets.items():
        properties = _resolve(resource["Properties"], context)
        for prop, (operation, argument) in _BUCKET_SETTINGS.items():
            if prop in properties:
                value = properties[prop]
                if prop == "CorsConfiguration":
                    value = {"CORSRules": [_cors_rule(rule) for rule in value["CorsRules"]]}
                if prop == "LifecycleConfiguration":
                    value = {"Rules": [_lifecycle_rule(rule) for rule in value["Rules"]]}
                getattr(s3, operation)(Bucket=context[logical], **{argument: value})


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation CORS rule in the S3 API's words."""
    names = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {names.get(key, key): value for key, value in rule.items()}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's words."""
    api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""}}
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    if rule.get("ExpiredObjectDeleteMarker"):
        api["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    return api


def _resolve(value: Any, context: dict[str, str]) -> Any:
    """`Ref`, `Fn::Sub` and `Fn::GetAtt [..., Arn]` against `context`; numbers as the API wants them."""
    if isinstance(value, list):
        return [_resolve(item, context) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        found = context[value["Ref"]]
        return int(found) if found.isdigit() else found
    if set(value) == {"Fn::Sub"}:
        text = str(value["Fn::Sub"])
        for key, replacement in context.items():
            text = text.replace("${" + key + "}", replacement)
        return text
    if set(value) == {"Fn::GetAtt"}:
        return context[f"{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}"]
    return {key: _resolve(item, context) for key, item in value.items()}


def stack_outputs(cloudformation: CloudFormationClient, name: str) -> dict[str, str]:
    stacks: list[Any] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def stack_parameters(
    stage: str, *, alarm_email: str | None, updating: bool, upload_page_origin: str | None = None
) -> list[ParameterTypeDef]:
    """The template's parameters for a stage; an update without an alarm email keeps the one it has. The
    upload page's origin (for the bucket's CORS rule) is the stage's `UPLOAD_BASE_URL`'s."""
    parameters: list[ParameterTypeDef] = [{"ParameterKey": "Stage", "ParameterValue": stage}]
    if alarm_email is not None:
        parameters.append({"ParameterKey": "AlarmEmail", "ParameterValue": alarm_email})
    elif updating:
        parameters.append({"ParameterKey": "AlarmEmail", "UsePreviousValue": True})
    if upload_page_origin:
        parameters.append({"ParameterKey": "UploadPageOrigin", "ParameterValue": upload_page_origin})
    return parameters


def origin_of(url: str) -> str:
    """`https://upload.example.org` for `https://upload.example.org/upload/`: what a browser sends as Origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def deploy_stack(
    cloudformation: CloudFormationClient,
    stage: str,
    *,
    alarm_email: str | None,
    report: Callable[[str], None],
    upload_page_origin: str | None = None,
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
                Parameters=stack_parameters(
                    stage, alarm_email=alarm_email, updating=False, upload_page_origin=upload_page_origin
                ),
                EnableTerminationProtection=stage == "prod",
                Tags=[{"Key": "app", "Value": "vre-broker"}, {"Key": "stage", "Value": stage}],
            )
            waiter: Waiter = cloudformation.get_waiter("stack_create_complete")
        else:
            report(f"updating stack {name} ({status})")
            cloudformation.update_stack(
                StackName=name,
                TemplateBody=body,
                Parameters=stack_parameters(
                    stage, alarm_email=alarm_email, updating=True, upload_page_origin=upload_page_origin
                ),
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
