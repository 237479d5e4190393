"""infra/template.yaml, .chalice/config.json, infra/policies/ and the app agree.

Adding a queue, a table or a function is a small edit in each of them; these tests name what is missing:
a handler's queue, its dead-letter queue and their alarms, a function's log group, error and throttle
alarms, config.json entry and policy, and a policy naming something the template does not make.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from app import app
from tests.support.iam_calls import ENTRY_POINTS, ROOT
from vre_app.deploy import STAGE_OUTPUTS
from vre_app.iam import (
    CHALICE_CONFIG,
    DEPLOYED_STAGES,
    POLICY_TEMPLATES,
    Permission,
    PolicyTarget,
    allows,
    app_functions,
    function_policy_files,
    lambda_name,
    render_policy,
    statements,
)
from vre_app.infra import TEMPLATE, apply_template
from vre_app.local.pump import sqs_handlers

ACCOUNT = "123456789012"
REGION = "eu-west-1"
# Chalice's own default when neither the function nor the stage sets one.
CHALICE_DEFAULT_TIMEOUT = 60
FUNCTIONS = app_functions(app)


def resources() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(TEMPLATE.read_text())["Resources"]
    return loaded


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in resources().items() if resource["Type"] == kind}


def sub(value: Any, stage: str) -> str:
    """A name as the template gives it, for a stage (plain strings and `Fn::Sub` on `${Stage}`)."""
    if isinstance(value, dict):
        value = value["Fn::Sub"]
    assert isinstance(value, str), value
    return value.replace("${Stage}", stage)


def queues(stage: str) -> dict[str, str]:
    """Queue name -> logical id."""
    return {sub(q["Properties"]["QueueName"], stage): name for name, q in of_type("AWS::SQS::Queue").items()}


def alarms() -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in of_type("AWS::CloudWatch::Alarm").values()]


def alarm_on(metric: str, dimension: str, value: Any) -> dict[str, Any] | None:
    for alarm in alarms():
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        if alarm["MetricName"] == metric and dimensions.get(dimension) == value:
            return alarm
    return None


def stage_config(stage: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(CHALICE_CONFIG.read_text())["stages"][stage]
    return config


def timeout(stage: str, function: str) -> int:
    config = stage_config(stage)
    value = config.get("lambda_functions", {}).get(function, {}).get("lambda_timeout", config.get("lambda_timeout"))
    return int(value) if value is not None else CHALICE_DEFAULT_TIMEOUT


def target(stage: str) -> PolicyTarget:
    mail_from = stage_config(stage)["environment_variables"]["EMAIL_FROM_ADDRESS"]
    return PolicyTarget(stage=stage, account=ACCOUNT, region=REGION, mail_from=mail_from)


@pytest.mark.parametrize("handler", sqs_handlers(app), ids=lambda h: h.name)
def test_every_sqs_handler_listens_on_a_template_queue_with_a_dead_letter_queue(handler: Any) -> None:
    by_name = queues("local")
    assert handler.queue in by_name, f"{handler.name} listens on {handler.queue}, which infra/template.yaml lacks"
    queue = resources()[by_name[handler.queue]]["Properties"]
    dead_letter = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert of_type("AWS::SQS::Queue")[dead_letter]["Properties"]["MessageRetentionPeriod"] == 1209600


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
@pytest.mark.parametrize("handler", sqs_handlers(app), ids=lambda h: h.name)
def test_a_queue_hides_a_message_at_least_as_long_as_its_function_may_run(handler: Any, stage: str) -> None:
    queue = resources()[queues("local")[handler.queue]]["Properties"]

    assert queue["VisibilityTimeout"] >= timeout(stage, handler.name)


@pytest.mark.parametrize("queue", sorted(queues("local")))
def test_every_queue_alarms_on_age_and_every_dead_letter_queue_on_messages(queue: str) -> None:
    logical = queues("local")[queue]
    properties = resources()[logical]["Properties"]
    if "RedrivePolicy" in properties:
        assert alarm_on("ApproximateAgeOfOldestMessage", "QueueName", {"Fn::GetAtt": [logical, "QueueName"]}), queue
        dead_letter = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        visible = alarm_on(
            "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [dead_letter, "QueueName"]}
        )
        assert visible is not None, f"no alarm on messages in {dead_letter}"
        assert visible["Threshold"] == 1
    else:
        assert any(
            q["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn", {}).get("Fn::GetAtt", [None])[0]
            == logical
            for q in of_type("AWS::SQS::Queue").values()
        ), f"{queue} is neither a dead-letter queue nor has one"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_a_log_group_and_alarms_on_errors_and_throttles(function: str) -> None:
    name = lambda_name(app.app_name, "${Stage}", function)
    log_groups = {sub(g["Properties"]["LogGroupName"], "${Stage}") for g in of_type("AWS::Logs::LogGroup").values()}

    assert f"/aws/lambda/{name}" in log_groups
    for metric in ("Errors", "Throttles"):
        assert alarm_on(metric, "FunctionName", {"Fn::Sub": name}), f"no {metric} alarm on {name}"


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears() -> None:
    for alarm in alarms():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], alarm["AlarmName"]
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}], alarm["AlarmName"]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_alarm_email_is_subscribed_only_when_given() -> None:
    (subscription,) = of_type("AWS::SNS::Subscription").values()

    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_prod_tables_are_protected_from_deletion() -> None:
    for name, table in of_type("AWS::DynamoDB::Table").items():
        assert table["DeletionPolicy"] == "Retain", name
        assert table["Properties"]["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}, name


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_every_function_has_its_own_policy_file_in_config_json(stage: str) -> None:
    files = function_policy_files(stage)

    assert sorted(files) == sorted(FUNCTIONS), f"stages.{stage}.lambda_functions must list exactly the app's functions"
    for function, file_name in files.items():
        assert file_name == f"policy-{stage}-{function}.json"
    assert stage_config(stage)["autogen_policy"] is False
    assert "iam_policy_file" not in stage_config(stage), "a function without its own policy must not inherit one"


def test_every_policy_template_belongs_to_a_function() -> None:
    assert sorted(path.stem for path in POLICY_TEMPLATES.glob("*.json")) == sorted(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_may_write_its_logs_and_no_more(function: str) -> None:
    policy = render_policy(function, target("dev"))
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{lambda_name(app.app_name, 'dev', function)}:*"

    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert allows(policy, Permission(action, (stream,)))
    assert not allows(policy, Permission("logs:CreateLogGroup", (stream,))), "the template makes the log groups"


@pytest.mark.parametrize("handler", sqs_handlers(app), ids=lambda h: h.name)
def test_every_sqs_function_may_poll_its_queue(handler: Any) -> None:
    policy = render_policy(handler.name, target("dev"))
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{handler.queue.replace('vre-local-', 'vre-dev-')}"

    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allows(policy, Permission(action, (queue,))), f"Lambda polls {queue} with {handler.name}'s role"


SECRET_PARAMETERS = tuple(
    f"/vre/dev/{name}"
    for name in (
        "session-signing-key",
        "oidc-client-secret",
        "tusd-hook-secret",
        "openstack-application-credential-secret",
    )
)
# Secrets Manager's, by name with the six `?` that stand for the random suffix of its ARN.
SECRETS = ("secret:vre/dev/vrw-webhook-secret-??????",)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policies_name_only_what_the_template_makes(function: str) -> None:
    tables = {
        sub(t["Properties"]["TableName"], "dev"): t["Properties"] for t in of_type("AWS::DynamoDB::Table").values()
    }
    log_groups = {sub(g["Properties"]["LogGroupName"], "dev") for g in of_type("AWS::Logs::LogGroup").values()}
    buckets = {
        sub(b["Properties"]["BucketName"], "dev")
        .replace("${AWS::AccountId}", ACCOUNT)
        .replace("${AWS::Region}", REGION)
        for b in of_type("AWS::S3::Bucket").values()
    }
    prefix = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:"
    for statement in statements(render_policy(function, target("dev"))):
        for arn in [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]:
            if arn.startswith(prefix.format("dynamodb")):
                table, _, index = arn.removeprefix(prefix.format("dynamodb") + "table/").partition("/index/")
                assert table in tables, f"{arn}: no such table in the template"
                indexes = {i["IndexName"] for i in tables[table].get("GlobalSecondaryIndexes", [])}
                assert not index or index in indexes, f"{arn}: no such index in the template"
            elif arn.startswith(prefix.format("sqs")):
                assert arn.rsplit(":", 1)[-1] in queues("dev"), f"{arn}: no such queue in the template"
            elif arn.startswith(prefix.format("logs")):
                assert arn.removeprefix(prefix.format("logs") + "log-group:").removesuffix(":*") in log_groups
            elif arn.startswith(prefix.format("ssm")):
                assert arn.endswith(SECRET_PARAMETERS), arn
            elif arn.startswith(prefix.format("secretsmanager")):
                assert arn.endswith(SECRETS), arn
            elif arn.startswith("arn:aws:s3:::"):
                bucket = arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]
                assert bucket in buckets, f"{arn}: no such bucket in the template"
            else:
                assert arn.startswith(prefix.format("ses") + "identity/"), f"{arn}: unexpected resource"


def test_every_function_and_every_worker_module_has_an_entry_point_for_the_call_recorder() -> None:
    assert sorted(set(ENTRY_POINTS.values())) == sorted(FUNCTIONS)
    workers = {f"chalicelib/workers/{path.name}" for path in (ROOT / "chalicelib" / "workers").glob("[!_]*.py")}
    assert workers <= set(ENTRY_POINTS), (
        f"tests/support/iam_calls.py ENTRY_POINTS lacks {sorted(workers - set(ENTRY_POINTS))}"
    )
    for prefix in ENTRY_POINTS:
        assert Path(ROOT / prefix).exists(), prefix


def test_the_template_gives_every_output_the_deploy_writes(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # An account of its own in the session's moto, where no dev stack exists yet.
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")

    outputs = apply_template(boto3.client("cloudformation", region_name=REGION), "dev")

    assert set(STAGE_OUTPUTS.values()) <= set(outputs)
    assert outputs["TablePrefix"] == "vre-dev-"
    assert outputs["MailQueueUrl"].endswith("/vre-dev-mail")


def test_the_log_groups_and_the_alarm_topic_are_encrypted_with_the_stages_key_which_cloudwatch_may_use() -> None:
    (key_id,) = of_type("AWS::KMS::Key")
    for name, group in of_type("AWS::Logs::LogGroup").items():
        assert group["Properties"].get("KmsKeyId") == {"Fn::GetAtt": [key_id, "Arn"]}, name
    for name, topic in of_type("AWS::SNS::Topic").items():
        assert topic["Properties"].get("KmsMasterKeyId") == {"Ref": key_id}, name
    key = resources()[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [statement["Principal"] for statement in key["KeyPolicy"]["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals
    assert {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}} in principals


def test_every_checkov_skip_in_the_template_gives_its_reason() -> None:
    for name, resource in resources().items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_"), name
            assert len(skip.get("comment", "")) > 20, f"{name} skips {skip['id']} without a reason"
