"""The IAM checker: what a call needs, whether a policy grants it, rendering, the wildcard rule, and the
recorder that tells which function made a call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.iam_calls import Call, CallRecorder, policy_for_tests, ungranted
from vre_app.iam import (
    PLACEHOLDER_ACCOUNT,
    Permission,
    PolicyError,
    PolicyTarget,
    allows,
    permissions_for,
    render_policy,
    wildcard_resources,
    write_policies,
)

REGION = "eu-west-1"
ACCOUNT = PLACEHOLDER_ACCOUNT
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"


def needs(service: str, operation: str, **params: Any) -> list[Permission]:
    return permissions_for(service, operation, params, region=REGION, account=ACCOUNT)


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_a_transactional_write_needs_the_item_level_action_of_each_item() -> None:
    permissions = needs(
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[
            {"Put": {"TableName": "vre-dev-studies"}},
            {"Update": {"TableName": "vre-dev-invitations"}},
            {"Delete": {"TableName": "vre-dev-memberships"}},
            {"ConditionCheck": {"TableName": "vre-dev-studies"}},
        ],
    )

    assert [(p.action, p.resources) for p in permissions] == [
        ("dynamodb:PutItem", (TABLE + "vre-dev-studies",)),
        ("dynamodb:UpdateItem", (TABLE + "vre-dev-invitations",)),
        ("dynamodb:DeleteItem", (TABLE + "vre-dev-memberships",)),
        ("dynamodb:ConditionCheckItem", (TABLE + "vre-dev-studies",)),
    ]


def test_a_transactional_read_is_a_get_item_on_each_table() -> None:
    permissions = needs("dynamodb", "TransactGetItems", TransactItems=[{"Get": {"TableName": "vre-dev-audit"}}])

    assert permissions == [Permission("dynamodb:GetItem", (TABLE + "vre-dev-audit",))]


def test_a_query_on_an_index_needs_the_index() -> None:
    (permission,) = needs("dynamodb", "Query", TableName="vre-dev-researchers", IndexName="by_email")

    assert permission == Permission("dynamodb:Query", (TABLE + "vre-dev-researchers/index/by_email",))


def test_batch_operations_name_every_table() -> None:
    permissions = needs("dynamodb", "BatchGetItem", RequestItems={"vre-dev-a": {}, "vre-dev-b": {}})

    assert [p.resources for p in permissions] == [(TABLE + "vre-dev-a",), (TABLE + "vre-dev-b",)]


def test_sqs_batch_calls_are_authorised_as_their_single_action_on_the_queue_of_the_url() -> None:
    (permission,) = needs("sqs", "SendMessageBatch", QueueUrl="https://sqs.eu-west-1.amazonaws.com/210987654321/q")

    assert permission == Permission("sqs:SendMessage", ("arn:aws:sqs:eu-west-1:210987654321:q",))


def test_ses_authorises_the_sender_or_its_domain_with_the_from_address_as_context() -> None:
    (permission,) = needs("ses", "SendEmail", Source="VRE <no-reply@vre.example.org>")

    assert permission.resources == (
        f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/no-reply@vre.example.org",
        f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/vre.example.org",
    )
    assert permission.context == (("ses:FromAddress", "no-reply@vre.example.org"),)


def test_ssm_parameters_are_arns_without_the_leading_slash() -> None:
    (permission,) = needs("ssm", "GetParameter", Name="/vre/dev/session-signing-key")

    assert permission.resources == (f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/vre/dev/session-signing-key",)


def test_an_unknown_call_needs_its_action_on_anything_and_caller_identity_needs_nothing() -> None:
    assert needs("kms", "Decrypt") == [Permission("kms:Decrypt", ("*",))]
    assert needs("sts", "GetCallerIdentity") == []


def test_a_grant_needs_the_action_and_the_resource() -> None:
    granted = policy({"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": TABLE + "vre-dev-studies"})

    assert allows(granted, Permission("dynamodb:GetItem", (TABLE + "vre-dev-studies",)))
    assert allows(granted, Permission("DynamoDB:getitem", (TABLE + "vre-dev-studies",))), "actions ignore case"
    assert not allows(granted, Permission("dynamodb:PutItem", (TABLE + "vre-dev-studies",)))
    assert not allows(granted, Permission("dynamodb:GetItem", (TABLE + "vre-prod-studies",)))
    assert not allows(granted, Permission("dynamodb:GetItem", (TABLE + "vre-dev-studies/index/by_code",)))


def test_wildcards_match_as_iam_matches_them() -> None:
    granted = policy({"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:r:1:log-group:/g:*"})

    assert allows(granted, Permission("logs:PutLogEvents", ("arn:aws:logs:r:1:log-group:/g:log-stream:x",)))
    assert not allows(granted, Permission("logs:PutLogEvents", ("arn:aws:logs:r:1:log-group:/other:x",)))


def test_a_condition_must_hold_and_an_unknown_one_never_does() -> None:
    ses = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:r:1:identity/a.org"}
    equals = policy({**ses, "Condition": {"StringEquals": {"ses:FromAddress": "no-reply@a.org"}}})
    unknown = policy({**ses, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}})
    send = Permission("ses:SendEmail", ("arn:aws:ses:r:1:identity/a.org",), (("ses:FromAddress", "no-reply@a.org"),))
    forged = Permission("ses:SendEmail", ("arn:aws:ses:r:1:identity/a.org",), (("ses:FromAddress", "ceo@a.org"),))

    assert allows(equals, send)
    assert not allows(equals, forged)
    assert not allows(unknown, send)


def test_a_deny_wins() -> None:
    both = policy(
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:r:1:q"},
        {"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "arn:aws:sqs:r:1:q"},
    )

    assert allows(both, Permission("sqs:SendMessage", ("arn:aws:sqs:r:1:q",)))
    assert not allows(both, Permission("sqs:DeleteQueue", ("arn:aws:sqs:r:1:q",)))


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:dynamodb:eu-west-1:*:table/vre-dev-studies",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/vre-dev-*",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/vre-dev-studies/index/*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:*",
        "arn:aws:sqs:eu-west-1:${AccountId}:vre-dev-mail",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vre/dev/*",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vre/dev/vrw-webhook-secret-?????",
        # S3 ARNs carry no account: only a bucket whose name holds one is the stage's own
        "arn:aws:s3:::some-bucket/*",
        "arn:aws:s3:::*",
        "arn:aws:s3:::vre-dev-uploads-123456789012-eu-west-1/a*b",
    ],
)
def test_wildcard_and_unrendered_resources_are_refused(resource: str) -> None:
    assert wildcard_resources(policy({"Effect": "Allow", "Action": "x:Y", "Resource": [resource]})) == [resource]


def test_a_log_groups_streams_and_a_secrets_random_suffix_are_the_wildcards_allowed() -> None:
    streams = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/vre-broker-dev:*"
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vre/dev/vrw-webhook-secret-??????"

    assert wildcard_resources(policy({"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": streams})) == []
    assert wildcard_resources(policy({"Effect": "Allow", "Action": "x:Y", "Resource": secret})) == []


def test_the_stages_bucket_and_a_key_prefix_in_it_are_concrete() -> None:
    bucket = "arn:aws:s3:::vre-dev-uploads-123456789012-eu-west-1"
    resources = [bucket, f"{bucket}/*", f"{bucket}/_deleted/*"]

    assert wildcard_resources(policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources})) == []


def test_s3_calls_are_authorised_as_the_object_or_bucket_actions_iam_names() -> None:
    bucket = "arn:aws:s3:::b-123456789012"
    key = {"Bucket": "b-123456789012", "Key": "s/u/file"}
    assert [str(p) for p in needs("s3", "CreateMultipartUpload", **key)] == [f"s3:PutObject on {bucket}/s/u/file"]
    assert needs("s3", "UploadPart", **key)[0].action == "s3:PutObject"
    assert needs("s3", "CompleteMultipartUpload", **key)[0].action == "s3:PutObject"
    assert needs("s3", "ListParts", **key)[0].action == "s3:ListMultipartUploadParts"
    assert needs("s3", "HeadObject", **key)[0].action == "s3:GetObject"
    assert needs("s3", "DeleteObject", **key, VersionId="v1")[0].action == "s3:DeleteObjectVersion"
    deleted = needs(
        "s3", "DeleteObjects", Bucket="b-123456789012", Delete={"Objects": [{"Key": "a", "VersionId": "1"}]}
    )
    assert [str(p) for p in deleted] == [f"s3:DeleteObjectVersion on {bucket}/a"]
    (listing,) = needs("s3", "ListObjectVersions", Bucket="b-123456789012", Prefix="s/u")
    assert (listing.action, listing.resources, listing.context) == (
        "s3:ListBucketVersions",
        (bucket,),
        (("s3:prefix", "s/u"),),
    )


def test_a_secret_read_by_name_is_authorised_against_its_arn_with_any_suffix() -> None:
    (by_name,) = needs("secretsmanager", "GetSecretValue", SecretId="vre/dev/vrw-webhook-secret")
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:vre/dev/vrw-webhook-secret-Xy12Zq"
    (by_arn,) = needs("secretsmanager", "GetSecretValue", SecretId=arn)
    granted = policy(
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:vre/dev/vrw-webhook-secret-??????",
        }
    )

    assert by_arn.resources == (arn,)
    assert allows(granted, by_name)
    assert allows(granted, by_arn)
    assert not allows(granted, Permission("secretsmanager:GetSecretValue", (arn.replace("/dev/", "/prod/"),)))


def test_rendering_fills_the_stage_account_region_and_sender() -> None:
    target = PolicyTarget(stage="prod", account="210987654321", region="eu-central-1", mail_from="VRE <no-reply@x.nl>")

    rendered = json.dumps(render_policy("deliver_mail", target))

    assert "arn:aws:dynamodb:eu-central-1:210987654321:table/vre-prod-invitations" in rendered
    assert "arn:aws:ses:eu-central-1:210987654321:identity/x.nl" in rendered
    assert '"ses:FromAddress": "no-reply@x.nl"' in rendered
    assert "${" not in rendered


@pytest.mark.parametrize(
    ("account", "mail_from", "problem"),
    [("12345", "a@b.nl", "account id"), ("123456789012", "nobody", "no email address")],
)
def test_rendering_refuses_a_bad_account_or_sender(account: str, mail_from: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        render_policy("api_handler", PolicyTarget(stage="dev", account=account, region=REGION, mail_from=mail_from))


def test_a_function_without_a_template_is_refused() -> None:
    with pytest.raises(PolicyError, match="no policy template"):
        render_policy("no_such_function", PolicyTarget("dev", ACCOUNT, REGION, "a@b.nl"))


def test_policies_are_written_where_config_json_names_them(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"stages": {"dev": {"lambda_functions": {"deliver_mail": {"iam_policy_file": "p-mail.json"}}}}})
    )

    (written,) = write_policies(PolicyTarget("dev", ACCOUNT, REGION, "a@b.nl"), config=config)

    assert written == tmp_path / "p-mail.json"
    assert wildcard_resources(json.loads(written.read_text())) == []


def test_a_call_the_policy_lacks_is_reported() -> None:
    # GIVEN the mail function scanning a table, which its policy does not grant
    scan = Call("deliver_mail", "dynamodb:Scan", tuple(needs("dynamodb", "Scan", TableName="vre-local-researchers")))
    get = Call("deliver_mail", "dynamodb:GetItem", tuple(needs("dynamodb", "GetItem", TableName="vre-local-studies")))

    # WHEN the calls are checked THEN the scan is named, the granted read is not
    (problem,) = ungranted([get, scan, scan])
    assert problem.startswith("deliver_mail (dynamodb:Scan) needs dynamodb:Scan on")
    assert "infra/policies/deliver_mail.json" in problem


def test_the_recorder_tells_the_function_by_the_code_on_the_stack(aws: None) -> None:
    # GIVEN a recorder that takes this test file for the mail function's code, hooked into one client
    here = Path(__file__).resolve()
    recorder = CallRecorder(root=here.parent, entry_points={here.name: "deliver_mail"})
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.meta.events.register("before-parameter-build", recorder.on_call)

    # WHEN that code scans a table
    with recorder.recording() as calls:
        dynamodb.scan(TableName="vre-local-researchers", Limit=1)

    # THEN the scan is the mail function's, and its policy does not grant it
    assert [(call.function, call.operation) for call in calls] == [("deliver_mail", "dynamodb:Scan")]
    assert ungranted(calls) != []


def test_calls_outside_any_function_are_not_recorded(aws: None) -> None:
    recorder = CallRecorder()
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.meta.events.register("before-parameter-build", recorder.on_call)

    with recorder.recording() as calls:
        sqs.list_queues()

    assert calls == []


def test_the_tests_render_every_policy_for_the_local_stage() -> None:
    assert "vre-local-studies" in json.dumps(policy_for_tests("api_handler"))
