"""`python -m vre_app deploy` against moto: every step, in order, in a fresh AWS account of the session's moto,
with `chalice deploy` played by a fake that makes what Chalice makes (roles, functions, SQS event source
mappings without ReportBatchItemFailures). `--dry-run` calls nothing and writes nothing.
"""

from __future__ import annotations

import io
import json
import random
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from app import app
from vre_app.cli import main
from vre_app.deploy import (
    BATCH_ITEM_FAILURES,
    DeployError,
    Deployment,
    DeployOptions,
    enable_batch_item_failures,
    remove_bytecode,
)
from vre_app.iam import CHALICE_CONFIG, lambda_name, wildcard_resources
from vre_app.infra import StackError, deploy_stack, origin_of
from vre_app.local.pump import sqs_handlers

REGION = "eu-west-1"
UUID = "2c7e8a14-3f51-4d6b-9a0e-5b1f6c8d7e90"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def account(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh AWS account in the session's moto: nothing is deployed there yet."""
    account = str(random.randint(10**11, 10**12 - 1))
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account)
    return account


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Where `chalice deploy` runs: a copy of .chalice/config.json, which the deploy writes to."""
    (tmp_path / ".chalice").mkdir()
    shutil.copy(CHALICE_CONFIG, tmp_path / ".chalice" / "config.json")
    return tmp_path


class FakeChalice:
    """`chalice deploy` as far as the deploy tool can tell.

    It reads what Chalice reads (the stage's policy files and environment), and makes a role and a function
    per handler and an SQS event source mapping per SQS handler, as Chalice does: without
    ReportBatchItemFailures. This process imported app.py for the local stage, so the handler's queue is
    renamed for the stage deployed, as Chalice's own import with the stage's environment names it.
    """

    def __init__(self, *, exit_code: int = 0, make_mappings: bool = True) -> None:
        self.exit_code = exit_code
        self.make_mappings = make_mappings
        self.commands: list[list[str]] = []
        self.policies: dict[str, dict[str, Any]] = {}
        self.environment: dict[str, str] = {}

    def __call__(self, args: Sequence[str], project_dir: Path, environ: Mapping[str, str]) -> int:
        self.commands.append(list(args))
        stage = args[list(args).index("--stage") + 1]
        chalice = project_dir / ".chalice"
        self.policies = {path.name: json.loads(path.read_text()) for path in chalice.glob(f"policy-{stage}-*.json")}
        self.environment = json.loads((chalice / "config.json").read_text())["stages"][stage]["environment_variables"]
        if self.exit_code:
            return self.exit_code
        self._rest_api(chalice, stage)
        iam = boto3.client("iam", region_name=REGION)
        functions = boto3.client("lambda", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        for handler in sqs_handlers(app, stage):
            name = lambda_name(app.app_name, stage, handler.name)
            if functions.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]:
                continue  # Chalice updates what it made before; the mapping keeps its settings
            role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
            functions.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role,
                Handler=f"app.{handler.name}",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )
            if self.make_mappings:
                queue = handler.queue.replace("vre-local-", f"vre-{stage}-")
                url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                functions.create_event_source_mapping(
                    EventSourceArn=arn, FunctionName=name, BatchSize=handler.batch_size, Enabled=True
                )
        return 0

    @staticmethod
    def _rest_api(chalice: Path, stage: str) -> None:
        """The rest API and its stage, recorded in .chalice/deployed/<stage>.json as Chalice records it."""
        deployed = chalice / "deployed" / f"{stage}.json"
        if deployed.exists():
            return
        apigateway = boto3.client("apigateway", region_name=REGION)
        api_id = apigateway.create_rest_api(name=app.app_name)["id"]
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE")
        apigateway.put_integration(
            restApiId=api_id,
            resourceId=root,
            httpMethod="ANY",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri="arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/fn/invocations",
        )
        apigateway.create_deployment(restApiId=api_id, stageName="api")
        deployed.parent.mkdir(exist_ok=True)
        record = {"resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api_id}]}
        deployed.write_text(json.dumps(record))


def deployment(project: Path, chalice: FakeChalice, stage: str = "dev", alarm_email: str | None = None) -> Deployment:
    return Deployment(
        DeployOptions(stage=stage, region=REGION, alarm_email=alarm_email),
        session=boto3.session.Session(region_name=REGION),
        project_dir=project,
        chalice=chalice,
        out=io.StringIO(),
        sleep=lambda seconds: None,
    )


def stage_environment(project: Path, stage: str = "dev") -> dict[str, str]:
    config = json.loads((project / ".chalice" / "config.json").read_text())
    variables: dict[str, str] = config["stages"][stage]["environment_variables"]
    return variables


def mail_mappings(stage: str = "dev") -> list[Any]:
    return function_mappings("deliver_mail", stage)


def api_throttling(project: Path, stage: str = "dev") -> dict[str, Any]:
    """The `*/*` method settings' throttling of the API's stage, as API Gateway reports it."""
    deployed = json.loads((project / ".chalice" / "deployed" / f"{stage}.json").read_text())
    api_id = deployed["resources"][0]["rest_api_id"]
    settings = boto3.client("apigateway", region_name=REGION).get_stage(restApiId=api_id, stageName="api")
    every = settings["methodSettings"]["*/*"]
    return {key: every[key] for key in ("throttlingRateLimit", "throttlingBurstLimit")}


def function_mappings(handler: str, stage: str = "dev") -> list[Any]:
    name = lambda_name(app.app_name, stage, handler)
    return list(
        boto3.client("lambda", region_name=REGION).list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    )


def output_of(run: Deployment) -> str:
    assert isinstance(run.out, io.StringIO)
    return run.out.getvalue()


def test_a_first_deploy_runs_every_step(account: str, project: Path) -> None:
    # GIVEN a fresh account and a clone's config
    chalice = FakeChalice()

    # WHEN the stage is deployed
    run = deployment(project, chalice, alarm_email="ops@uni.example")
    run.run()

    # THEN the stack is there, with the alarm email
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    (stack,) = cloudformation.describe_stacks(StackName="vre-dev-infra")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@uni.example"} in stack["Parameters"]
    # AND its outputs are in the stage's environment, which Chalice then deployed
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert stage_environment(project)["MAIL_QUEUE_URL"] == outputs["MailQueueUrl"]
    assert stage_environment(project)["TABLE_PREFIX"] == "vre-dev-"
    assert chalice.environment["MAIL_QUEUE_URL"] == outputs["MailQueueUrl"]
    # AND Chalice found each function's policy, rendered for this account, without a wildcard
    assert chalice.commands == [["deploy", "--stage", "dev"]]
    assert sorted(chalice.policies) == [
        "policy-dev-api_handler.json",
        "policy-dev-deliver_mail.json",
        "policy-dev-provision_workspaces.json",
        "policy-dev-reconcile_workspaces.json",
        "policy-dev-requeue_invitation_links.json",
    ]
    for policy in chalice.policies.values():
        assert f":{account}:" in json.dumps(policy)
        assert wildcard_resources(policy) == []
    # AND the mail function reports its failed records one by one
    (mapping,) = mail_mappings()
    assert mapping["FunctionResponseTypes"] == [BATCH_ITEM_FAILURES]
    # AND neither worker can take more than its share of concurrency, nor the API more than its rate
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    (provisioning,) = function_mappings("provision_workspaces")
    assert provisioning["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert api_throttling(project) == {"throttlingRateLimit": 20.0, "throttlingBurstLimit": 40}
    # AND the stage logs its requests by resource path, never the query string that carries tusd's secret
    deployed = json.loads((project / ".chalice" / "deployed" / "dev.json").read_text())
    api_id = deployed["resources"][0]["rest_api_id"]
    stage = boto3.client("apigateway", region_name=REGION).get_stage(restApiId=api_id, stageName="api")
    access = stage["accessLogSettings"]
    assert access["destinationArn"].endswith(":log-group:/aws/apigateway/vre-broker-dev-access")
    assert "$context.resourcePath" in access["format"]
    assert "$context.path" not in access["format"]
    # AND the reference data is there
    items = boto3.client("dynamodb", region_name=REGION).query(
        TableName="vre-dev-reference",
        KeyConditionExpression="kind = :kind",
        ExpressionAttributeValues={":kind": {"S": "university"}},
    )["Items"]
    assert items
    said = output_of(run)
    assert [line for line in said.splitlines() if line.startswith("==> ")][1:8] == [
        "==> 1/7 infrastructure stack vre-dev-infra",
        "==> 2/7 stack outputs into .chalice/config.json",
        "==> 3/7 IAM policies",
        "==> 4/7 chalice deploy --stage dev",
        f"==> 5/7 {BATCH_ITEM_FAILURES} and maximum concurrency on the SQS event source mappings; throttling",
        "==> 6/7 reference data",
        "==> 7/7 web console",
    ]
    assert "no stack vre-dev-console: create it from infra/console.yaml" in said


def test_deploying_again_changes_only_what_changed(account: str, project: Path) -> None:
    # GIVEN a deployed stage
    deployment(project, FakeChalice(), alarm_email="ops@uni.example").run()

    # WHEN it is deployed again, without naming the alarm email
    again = deployment(project, FakeChalice())
    again.run()

    # THEN the stack is updated in place (AWS would say it is up to date), the alarm email is kept,
    # and what was done before is not done again
    said = output_of(again)
    assert "updating stack vre-dev-infra (CREATE_COMPLETE)" in said
    assert "already on" in said
    assert "nothing seeded" in said
    stack = boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName="vre-dev-infra")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@uni.example"} in stack["Parameters"]


def test_an_unchanged_stack_is_left_as_it_is() -> None:
    # GIVEN CloudFormation answering an update as AWS does when the template and parameters did not change
    client = boto3.client("cloudformation", region_name=REGION)
    stack = {"StackName": "vre-dev-infra", "StackStatus": "UPDATE_COMPLETE", "CreationTime": "2024-01-01T00:00:00Z"}
    outputs = {"Outputs": [{"OutputKey": "TablePrefix", "OutputValue": "vre-dev-"}]}
    reported: list[str] = []
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", {"Stacks": [stack]})
        stub.add_client_error("update_stack", "ValidationError", "No updates are to be performed.")
        stub.add_response("describe_stacks", {"Stacks": [{**stack, **outputs}]})

        # WHEN the stack is deployed
        found = deploy_stack(client, "dev", alarm_email=None, report=reported.append)

    # THEN it says so and gives the outputs it has
    assert found == {"TablePrefix": "vre-dev-"}
    assert reported == ["updating stack vre-dev-infra (UPDATE_COMPLETE)", "stack vre-dev-infra is up to date"]


def test_the_buckets_cors_rule_names_the_stages_upload_page(account: str, project: Path) -> None:
    # GIVEN dev's upload link on its own host (.chalice/config.json's UPLOAD_BASE_URL)
    # WHEN dev is deployed
    deployment(project, FakeChalice()).run()

    # THEN the stack was given that host's origin for the uploads bucket's CORS rule
    stack = boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName="vre-dev-infra")["Stacks"][0]
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack["Parameters"]}
    assert parameters["UploadPageOrigin"] == "https://upload.dev.vre.example.org"
    assert origin_of("http://127.0.0.1:1080/upload/") == "http://127.0.0.1:1080"
    assert origin_of("not a url") == ""


def test_prod_is_protected_from_deleting_its_stack(account: str, project: Path) -> None:
    deployment(project, FakeChalice(), stage="prod").run()

    stack = boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName="vre-prod-infra")["Stacks"][0]
    assert stack["EnableTerminationProtection"] is True
    assert stage_environment(project, "prod")["MAIL_QUEUE_URL"].endswith(f"/{account}/vre-prod-mail")


def test_a_failed_chalice_deploy_stops_the_deploy(account: str, project: Path) -> None:
    with pytest.raises(DeployError, match="chalice deploy --stage dev failed"):
        deployment(project, FakeChalice(exit_code=2)).run()

    assert mail_mappings() == []


def test_a_function_without_its_mapping_is_a_deploy_that_did_not_finish(account: str, project: Path) -> None:
    with pytest.raises(DeployError, match="vre-broker-dev-deliver_mail has no SQS event source mapping"):
        deployment(project, FakeChalice(make_mappings=False)).run()


def test_a_function_without_a_policy_is_refused_before_anything_is_called(project: Path) -> None:
    # GIVEN a config.json in which the mail function has no policy file (and no AWS at all)
    config = project / ".chalice" / "config.json"
    document = json.loads(config.read_text())
    del document["stages"]["dev"]["lambda_functions"]["deliver_mail"]
    config.write_text(json.dumps(document))

    # WHEN the deploy is planned or run THEN it names the function and the fix
    for step in (deployment(project, FakeChalice()).plan, deployment(project, FakeChalice()).run):
        with pytest.raises(DeployError, match="deliver_mail has no iam_policy_file"):
            step()


def test_the_dry_run_calls_nothing_and_writes_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no credentials and an AWS endpoint where nothing listens
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    before = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
    chalice = FakeChalice()

    # WHEN the plan is made
    plan = deployment(project, chalice, stage="prod", alarm_email="ops@uni.example").plan()

    # THEN it names every step, and nothing ran or changed
    assert plan.startswith("Deploy plan for stage prod in eu-west-1 (dry run")
    for step in ("1. stack vre-prod-infra", "2. write TABLE_PREFIX", "3. render the IAM policies", "4. chalice deploy"):
        assert step in plan
    assert "AlarmEmail=ops@uni.example" in plan
    assert "vre-broker-prod-deliver_mail" in plan
    assert chalice.commands == []
    assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == before


def test_the_cli_dry_run_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    before = CHALICE_CONFIG.read_bytes()

    assert main(["deploy", "--stage", "dev", "--dry-run", "--region", "eu-central-1"]) == 0

    out = capsys.readouterr().out
    assert "Deploy plan for stage dev in eu-central-1" in out
    assert "6. seed university, research_field" in out
    assert CHALICE_CONFIG.read_bytes() == before


def test_the_cli_refuses_local_as_a_deployed_stage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["deploy", "--stage", "local"])
    assert "invalid choice" in capsys.readouterr().err


def test_a_mapping_chalice_is_still_creating_is_tried_again() -> None:
    # GIVEN a mapping that refuses updates while it is being created
    client = boto3.client("lambda", region_name=REGION)
    mapping = {"UUID": UUID, "EventSourceArn": "arn:aws:sqs:eu-west-1:123456789012:vre-dev-mail"}
    waits: list[float] = []
    with Stubber(client) as stub:
        stub.add_response("list_event_source_mappings", {"EventSourceMappings": [mapping]}, {"FunctionName": "fn"})
        stub.add_client_error("update_event_source_mapping", "ResourceInUseException", http_status_code=409)
        stub.add_response(
            "update_event_source_mapping",
            {"UUID": UUID, "FunctionResponseTypes": [BATCH_ITEM_FAILURES]},
            {"UUID": UUID, "FunctionResponseTypes": [BATCH_ITEM_FAILURES]},
        )

        # WHEN batch item failures are turned on
        done = enable_batch_item_failures(client, ["fn"], sleep=waits.append)

        # THEN the second try took it
        stub.assert_no_pending_responses()
    assert done == ["fn <- vre-dev-mail: turned on"]
    assert len(waits) == 1


def test_any_other_refusal_of_a_mapping_is_not_retried() -> None:
    client = boto3.client("lambda", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "list_event_source_mappings",
            {"EventSourceMappings": [{"UUID": UUID, "EventSourceArn": "arn:aws:sqs:eu-west-1:1:q"}]},
        )
        stub.add_client_error("update_event_source_mapping", "AccessDeniedException", http_status_code=403)

        with pytest.raises(ClientError, match="AccessDenied"):
            enable_batch_item_failures(client, ["fn"], sleep=lambda seconds: None)


def test_a_stack_that_failed_its_creation_must_be_deleted_first() -> None:
    client = boto3.client("cloudformation", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "vre-dev-infra",
                        "StackStatus": "ROLLBACK_COMPLETE",
                        "CreationTime": "2024-01-01T00:00:00Z",
                    }
                ]
            },
        )

        with pytest.raises(StackError, match="delete-stack --stack-name vre-dev-infra"):
            deploy_stack(client, "dev", alarm_email=None, report=lambda line: None)


def test_the_stack_outputs_replace_the_placeholders_and_keep_everything_else(project: Path) -> None:
    run = deployment(project, FakeChalice())
    before = stage_environment(project)

    provisioning = "https://sqs/1/vre-dev-provisioning"
    bucket = "vre-dev-uploads-111111111111-eu-west-1"
    changes = run.write_environment(
        {
            "TablePrefix": "vre-dev-",
            "MailQueueUrl": "https://sqs/1/vre-dev-mail",
            "ProvisioningQueueUrl": provisioning,
            "UploadBucketName": bucket,
        }
    )

    after = stage_environment(project)
    assert changes == {
        "MAIL_QUEUE_URL": (before["MAIL_QUEUE_URL"], "https://sqs/1/vre-dev-mail"),
        "PROVISIONING_QUEUE_URL": (before["PROVISIONING_QUEUE_URL"], provisioning),
        "UPLOAD_BUCKET": (before["UPLOAD_BUCKET"], bucket),
    }
    assert list(after) == list(before)
    changed = ("MAIL_QUEUE_URL", "PROVISIONING_QUEUE_URL", "UPLOAD_BUCKET")
    assert {k: v for k, v in after.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}
    with pytest.raises(DeployError, match="MailQueueUrl"):
        run.write_environment({"TablePrefix": "vre-dev-"})


def test_a_changed_maximum_concurrency_is_applied_on_the_next_deploy(account: str, project: Path) -> None:
    # GIVEN a deployed stage
    deployment(project, FakeChalice(), alarm_email="ops@uni.example").run()
    # WHEN config.json raises the mail worker's maximum concurrency and the API's rate, and the stage is deployed
    config = json.loads((project / ".chalice" / "config.json").read_text())
    config["stages"]["dev"]["lambda_functions"]["deliver_mail"]["sqs_maximum_concurrency"] = 3
    config["stages"]["dev"]["api_throttling"] = {"rate_limit": 7, "burst_limit": 9}
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    again = deployment(project, FakeChalice())
    again.run()
    # THEN the mapping and the stage carry the new limits, and the unchanged mapping is left alone
    (mapping,) = mail_mappings()
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert api_throttling(project) == {"throttlingRateLimit": 7.0, "throttlingBurstLimit": 9}
    said = output_of(again)
    assert "vre-broker-dev-deliver_mail <- vre-dev-mail: turned on, maximum concurrency 3" in said
    assert "vre-broker-dev-provision_workspaces <- vre-dev-provisioning: already on, maximum concurrency 2" in said


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("sqs_maximum_concurrency", 1),
        ("sqs_maximum_concurrency", "5"),
        ("api_throttling", {"rate_limit": 10}),
        ("api_throttling", {"rate_limit": 0, "burst_limit": 5}),
    ],
)
def test_a_limit_config_json_gets_wrong_is_refused_with_its_name(project: Path, setting: str, value: object) -> None:
    config = json.loads((project / ".chalice" / "config.json").read_text())
    if setting == "api_throttling":
        config["stages"]["dev"]["api_throttling"] = value
    else:
        config["stages"]["dev"]["lambda_functions"]["deliver_mail"][setting] = value
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    run = deployment(project, FakeChalice())
    with pytest.raises(DeployError, match=setting.split("_")[0]):
        run.maximum_concurrency() if setting.startswith("sqs") else run.throttling()


def test_every_deployed_stage_limits_its_workers_and_its_api() -> None:
    config = json.loads(CHALICE_CONFIG.read_text())
    for stage in ("dev", "prod"):
        functions = config["stages"][stage]["lambda_functions"]
        for handler in sqs_handlers(app, stage):
            assert functions[handler.name]["sqs_maximum_concurrency"] >= 2
            assert functions[handler.name]["sqs_maximum_concurrency"] <= functions[handler.name]["reserved_concurrency"]
        assert set(config["stages"][stage]["api_throttling"]) == {"rate_limit", "burst_limit"}


def test_bytecode_is_removed_from_chalicelib_before_chalice_zips_it(tmp_path: Path) -> None:
    cache = tmp_path / "chalicelib" / "services" / "__pycache__"
    cache.mkdir(parents=True)
    (cache / "domain.cpython-311.pyc").write_bytes(b"stale")
    source = tmp_path / "chalicelib" / "services" / "model.py"
    source.write_text("X = 1\n")

    remove_bytecode(tmp_path)

    assert not cache.exists()
    assert source.read_text() == "X = 1\n"
