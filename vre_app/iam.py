"""Least-privilege IAM for the deployed functions: the policy templates, rendering them for a stage and
an account, what an AWS call needs, and whether a policy grants it.

Each function (`api_handler` and every `@app.on_...` handler) has a template `infra/policies/<function>.json`
naming exactly the actions it uses on the stage's own resources. The deploy renders them, with the account
id and region it deploys to, into the files `.chalice/config.json` names per function
(`stages.<stage>.lambda_functions.<function>.iam_policy_file`); CI renders them with a placeholder account
before `chalice package`. The tests record every AWS call the code makes under moto and fail when the
policy of the function that made it does not grant it (tests/support/iam_calls.py).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from chalice.app import Chalice

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POLICY_TEMPLATES = PROJECT_ROOT / "infra" / "policies"
CHALICE_DIR = PROJECT_ROOT / ".chalice"
CHALICE_CONFIG = CHALICE_DIR / "config.json"
# What CI and `--dry-run` render the policies with; moto's default account too.
PLACEHOLDER_ACCOUNT = "123456789012"
API_FUNCTION = "api_handler"
DEPLOYED_STAGES = ("dev", "prod")

# Batch and transactional operations are authorised as the item-level actions they perform.
_TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
# Calls that need no permission at all.
_NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}
_ACCOUNT = re.compile(r"\d{12}")
_LOG_GROUP = re.compile(r"arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:[^*?]+:\*")
# Secrets Manager appends six random characters to a secret's name in its ARN; AWS's own advice for a
# policy that names a secret before it exists is exactly six `?`.
_SECRET = re.compile(r"arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^*?]+-\?{6}")
# S3 ARNs name no account: a bucket counts as concrete when its name holds the account id (the stage's own
# buckets do), and its objects may be named by a key prefix ending in `*`.
_S3 = re.compile(r"arn:aws:s3:::[a-z0-9.-]*\d{12}[a-z0-9.-]*(/[^*?]*\*?)?")
# What each S3 call is authorised as (on the object, unless it lists the bucket).
_S3_OBJECT_ACTIONS = {
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "PutObject": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "ListParts": "ListMultipartUploadParts",
    "HeadObject": "GetObject",
    "GetObject": "GetObject",
}
_S3_BUCKET_ACTIONS = {
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
}


class PolicyError(ValueError):
    """A policy template or a rendered policy is not what the deploy can use."""


@dataclass(frozen=True, slots=True)
class Permission:
    """One IAM action on a resource; `resources` lists equivalent ARNs, any one of which suffices
    (SES authorises a sender's address or its domain). `context` holds the condition keys the call sets."""

    action: str
    resources: tuple[str, ...]
    context: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.action} on {' or '.join(self.resources)}"


@dataclass(frozen=True, slots=True)
class PolicyTarget:
    """Where a stage's functions run: what the policy templates are rendered with."""

    stage: str
    account: str
    region: str
    mail_from: str

    def values(self) -> dict[str, str]:
        """The template placeholders: `${Stage}`, `${AccountId}`, `${Region}`, `${MailFrom}`, `${MailDomain}`."""
        if not _ACCOUNT.fullmatch(self.account):
            raise PolicyError(f"{self.account!r} is not an AWS account id (12 digits)")
        address = parseaddr(self.mail_from)[1]
        if "@" not in address:
            raise PolicyError(f"EMAIL_FROM_ADDRESS {self.mail_from!r} holds no email address")
        return {
            "Stage": self.stage,
            "AccountId": self.account,
            "Region": self.region,
            "MailFrom": address,
            "MailDomain": address.rsplit("@", 1)[1],
        }


def app_functions(app: Chalice) -> list[str]:
    """Every Lambda function Chalice deploys for the app, by the name config.json's `lambda_functions` uses."""
    functions = [API_FUNCTION] if app.routes else []
    functions += [source.name for source in app.event_sources]
    functions += [function.name for function in app.pure_lambda_functions]
    return functions


def lambda_name(app_name: str, stage: str, function: str) -> str:
    """The function's name in Lambda, as Chalice names it (and the template's log groups and alarms do)."""
    return f"{app_name}-{stage}" if function == API_FUNCTION else f"{app_name}-{stage}-{function}"


def function_policy_files(stage: str, *, config: Path = CHALICE_CONFIG) -> dict[str, str]:
    """Function -> policy file name, as `.chalice/config.json` names them for the stage."""
    document = json.loads(config.read_text())
    functions = document["stages"][stage].get("lambda_functions", {})
    return {name: settings["iam_policy_file"] for name, settings in functions.items() if "iam_policy_file" in settings}


def policy_template(function: str) -> Path:
    return POLICY_TEMPLATES / f"{function}.json"


def render_policy(function: str, target: PolicyTarget) -> dict[str, Any]:
    """The function's policy for the target, checked: concrete resources, no wildcard."""
    path = policy_template(function)
    try:
        text = string.Template(path.read_text()).substitute(target.values())
    except OSError as exc:
        raise PolicyError(f"function {function!r} has no policy template {path}") from exc
    except (KeyError, ValueError) as exc:
        raise PolicyError(f"{path}: unknown or malformed placeholder {exc}") from exc
    policy: dict[str, Any] = json.loads(text)
    problems = wildcard_resources(policy)
    if problems:
        raise PolicyError(f"{path} grants wildcard resources: {', '.join(problems)}")
    return policy


def write_policies(target: PolicyTarget, *, config: Path = CHALICE_CONFIG) -> list[Path]:
    """Render every function's policy for the target into the files config.json names; returns them."""
    written = []
    for function, file_name in function_policy_files(target.stage, config=config).items():
        path = config.parent / file_name
        path.write_text(json.dumps(render_policy(function, target), indent=2) + "\n")
        written.append(path)
    return written


def statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def wildcard_resources(policy: Mapping[str, Any]) -> list[str]:
    """Every resource in the policy that is not one concrete ARN of one concrete account.

    The wildcards allowed: a log group's trailing `:*` (its log streams, whose names Lambda makes up), and a
    secret's trailing `-??????` (the random suffix Secrets Manager gives its ARN).
    """
    problems = []
    for statement in statements(policy):
        if "NotResource" in statement or "NotAction" in statement:
            problems.append(f"{statement.get('Sid', '?')}: NotResource/NotAction")
        for resource in _as_list(statement.get("Resource", [])):
            parts = resource.split(":", 5)
            concrete = len(parts) == 6 and parts[0] == "arn" and bool(_ACCOUNT.fullmatch(parts[4]))
            if _S3.fullmatch(resource):
                continue
            wild = "*" in resource or "?" in resource
            if not concrete or (wild and not (_LOG_GROUP.fullmatch(resource) or _SECRET.fullmatch(resource))):
                problems.append(resource)
    return problems


def _pattern(value: str) -> re.Pattern[str]:
    """IAM's wildcard matching: `*` any run of characters, `?` any one."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value), re.DOTALL)


def _matches(patterns: str | Sequence[str], value: str, *, ignore_case: bool = False) -> bool:
    subject = value.lower() if ignore_case else value
    for pattern in _as_list(patterns):
        if _pattern(pattern.lower() if ignore_case else pattern).fullmatch(subject):
            return True
    return False


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """StringEquals and StringLike on keys the call sets; anything else does not hold (fail closed)."""
    for operator, tests in condition.items():
        for key, expected in tests.items():
            value = context.get(key)
            if value is None:
                return False
            if operator == "StringEquals" and value not in _as_list(expected):
                return False
            if operator == "StringLike" and not _matches(expected, value):
                return False
            if operator not in ("StringEquals", "StringLike"):
                return False
    return True


def allows(policy: Mapping[str, Any], permission: Permission) -> bool:
    """True when an Allow statement grants the permission and no Deny statement refuses it."""
    context = dict(permission.context)
    allowed = False
    for statement in statements(policy):
        if not _matches(statement.get("Action", []), permission.action, ignore_case=True):
            continue
        if not any(_matches(statement.get("Resource", []), arn) for arn in permission.resources):
            continue
        if "Condition" in statement and not _condition_holds(statement["Condition"], context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def permissions_for(
    service: str, operation: str, params: Mapping[str, Any], *, region: str, account: str
) -> list[Permission]:
    """The IAM permissions one API call needs (service as IAM prefixes it, operation as botocore names it)."""
    if (service, operation) in _NO_PERMISSION_NEEDED:
        return []
    if service == "dynamodb":
        return _dynamodb(operation, params, f"arn:aws:dynamodb:{region}:{account}:table/")
    if service == "sqs":
        return _sqs(operation, params, region, account)
    if service == "ses" and operation in ("SendEmail", "SendRawEmail"):
        return [_ses_send(operation, params, region, account)]
    if service == "ssm" and operation in ("GetParameter", "GetParameters"):
        names = [params["Name"]] if operation == "GetParameter" else list(params.get("Names", []))
        return [
            Permission(f"ssm:{operation}", (f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}",))
            for name in names
        ]
    if service == "s3":
        return _s3(operation, params)
    if service == "secretsmanager" and operation == "GetSecretValue":
        return [Permission("secretsmanager:GetSecretValue", (_secret_arn(params["SecretId"], region, account),))]
    return [Permission(f"{service}:{operation}", ("*",))]


def _secret_arn(secret_id: str, region: str, account: str) -> str:
    """The ARN a GetSecretValue by name or ARN is authorised against (a name gets a stand-in random suffix)."""
    if secret_id.startswith("arn:"):
        return secret_id
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}-AbC123"


def _dynamodb(operation: str, params: Mapping[str, Any], table_arn: str) -> list[Permission]:
    if operation == "TransactWriteItems":
        found = []
        for item in params.get("TransactItems", []):
            for kind, request in item.items():
                found.append(
                    Permission(f"dynamodb:{_TRANSACT_WRITE_ACTIONS[kind]}", (table_arn + request["TableName"],))
                )
        return found
    if operation == "TransactGetItems":
        return [
            Permission("dynamodb:GetItem", (table_arn + item["Get"]["TableName"],))
            for item in params.get("TransactItems", [])
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Permission(f"dynamodb:{operation}", (table_arn + table,)) for table in params.get("RequestItems", {})]
    resource = table_arn + str(params.get("TableName", "*"))
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return [Permission(f"dynamodb:{operation}", (resource,))]


def _s3(operation: str, params: Mapping[str, Any]) -> list[Permission]:
    bucket = f"arn:aws:s3:::{params.get('Bucket', '*')}"
    if operation in _S3_OBJECT_ACTIONS:
        action = _S3_OBJECT_ACTIONS[operation]
        if params.get("VersionId") and action == "GetObject":
            action = "GetObjectVersion"
        return [Permission(f"s3:{action}", (f"{bucket}/{params.get('Key', '*')}",))]
    if operation == "DeleteObject":
        action = "DeleteObjectVersion" if params.get("VersionId") else "DeleteObject"
        return [Permission(f"s3:{action}", (f"{bucket}/{params.get('Key', '*')}",))]
    if operation == "DeleteObjects":
        # Authorised object by object, as the single deletes they stand for.
        return [
            Permission(
                "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject", (f"{bucket}/{item['Key']}",)
            )
            for item in params.get("Delete", {}).get("Objects", [])
        ]
    if operation in _S3_BUCKET_ACTIONS:
        prefix = (("s3:prefix", str(params.get("Prefix", ""))),)
        return [Permission(f"s3:{_S3_BUCKET_ACTIONS[operation]}", (bucket,), prefix)]
    return [Permission(f"s3:{operation}", ("*",))]


def _sqs(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[Permission]:
    if "QueueUrl" in params:
        path = urlsplit(str(params["QueueUrl"])).path.strip("/").split("/")
        queue_account, queue = (path[0], path[-1]) if len(path) >= 2 else (account, path[-1])
    else:
        queue_account, queue = str(params.get("QueueOwnerAWSAccountId", account)), str(params.get("QueueName", "*"))
    action = _SQS_BATCH_ACTIONS.get(operation, operation)
    return [Permission(f"sqs:{action}", (f"arn:aws:sqs:{region}:{queue_account}:{queue}",))]


def _ses_send(operation: str, params: Mapping[str, Any], region: str, account: str) -> Permission:
    address = parseaddr(str(params.get("Source", "")))[1]
    domain = address.rsplit("@", 1)[-1]
    identities = tuple(f"arn:aws:ses:{region}:{account}:identity/{identity}" for identity in (address, domain))
    return Permission(f"ses:{operation}", identities, (("ses:FromAddress", address),))


def missing(policy: Mapping[str, Any], needed: Iterable[Permission]) -> list[Permission]:
    """The permissions among `needed` that the policy does not grant, each once, in order."""
    seen: dict[Permission, None] = {}
    for permission in needed:
        if permission not in seen and not allows(policy, permission):
            seen[permission] = None
    return list(seen)
