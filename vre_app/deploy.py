"""`python -m vre_app deploy --stage dev|prod`: a stage on AWS from a clone, in one command.

The steps, in order; each is safe to repeat, so a deploy that stopped half-way is finished by deploying again:

1. the infrastructure stack (`infra/template.yaml`) is created or updated, and waited for;
2. its outputs go into the stage's environment in `.chalice/config.json` (table prefix, queue URLs);
3. each function's IAM policy is rendered for the account and region (`vre_app.iam`);
4. `chalice deploy --stage <stage>`;
5. `ReportBatchItemFailures` is turned on for every SQS event source mapping of the stage's functions:
   Chalice does not, and without it Lambda deletes a whole batch whose handler returned, failures and all;
   each mapping gets its function's `sqs_maximum_concurrency` (config.json) as `ScalingConfig`, so a flood
   of messages cannot take every worker or overload OpenStack; and the API's stage gets the stage's
   `api_throttling` (rate and burst for every method), which Chalice's config cannot say;
6. the reference data is seeded where a kind has none.

`--dry-run` prints the plan and checks what can be checked offline (config.json, the policy templates,
the app's functions); it makes no AWS call and writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import yaml
from botocore.exceptions import ClientError

from vre_app.console import (
    console_outputs,
    console_settings,
    console_stack_name,
    deployed_api_url,
    publish,
    write_console_settings,
)
from vre_app.iam import (
    PLACEHOLDER_ACCOUNT,
    PolicyError,
    PolicyTarget,
    app_functions,
    function_policy_files,
    lambda_name,
    render_policy,
    write_policies,
)
from vre_app.infra import TEMPLATE, deploy_stack, origin_of, stack_name
from vre_app.local.environment import OUTPUT_VARIABLES, PROJECT_ROOT, stage_variables
from vre_app.local.pump import load_app, sqs_handlers
from vre_app.seed import FILES, seed_missing

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_lambda import LambdaClient

STAGES = ("dev", "prod")
# What the deploy writes into the stage's environment, by the stack output that holds it: the local stack's
# variables (OUTPUT_VARIABLES) and the table prefix, which the local stage leaves to its default.
STAGE_OUTPUTS = {"TABLE_PREFIX": "TablePrefix", **OUTPUT_VARIABLES}
BATCH_ITEM_FAILURES: Final = "ReportBatchItemFailures"
# A mapping Chalice has just made is `Creating` for a few seconds and refuses updates meanwhile.
MAPPING_ATTEMPTS = 30
MAPPING_RETRY_SECONDS = 2.0
# The API stage's access log: the resource path (`/hooks/tusd`), never `$context.path`'s request with its query
# string, which carries tusd's hook secret.
ACCESS_LOG_FORMAT: Final = json.dumps(
    {
        "requestId": "$context.requestId",
        "time": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "resource": "$context.resourcePath",
        "status": "$context.status",
        "length": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
    },
    separators=(",", ":"),
)
# The stage's rate limits are set on every method of the API's stage (API Gateway's `*/*`).
_THROTTLING_PATHS = {"rate_limit": "/*/*/throttling/rateLimit", "burst_limit": "/*/*/throttling/burstLimit"}
_CHALICE_MAIN = "import sys; from chalice.cli import main; sys.exit(main())"

ChaliceRunner = Callable[[Sequence[str], Path, Mapping[str, str]], int]


class DeployError(RuntimeError):
    """The deploy cannot go on; the message says what to do."""


def remove_bytecode(project_dir: Path) -> None:
    """Delete chalicelib's `__pycache__` folders: Chalice zips the folder whole, and bytecode left by tests and
    by modules since moved would ship with it (about 0.3 MB of a 30 MB budget)."""
    for folder in sorted((project_dir / "chalicelib").rglob("__pycache__"), reverse=True):
        shutil.rmtree(folder, ignore_errors=True)


def run_chalice(args: Sequence[str], project_dir: Path, environ: Mapping[str, str]) -> int:
    """The Chalice CLI in the project, with its output on ours; returns its exit code."""
    if args and args[0] in ("deploy", "package"):
        remove_bytecode(project_dir)
    command = [sys.executable, "-c", _CHALICE_MAIN, "--project-dir", str(project_dir), *args]
    return subprocess.run(command, cwd=project_dir, env=dict(environ), check=False).returncode


@dataclass(frozen=True, slots=True)
class DeployOptions:
    stage: str
    region: str
    alarm_email: str | None = None


@dataclass
class Deployment:
    """One deploy of one stage; `session` (boto3) and `chalice` are what it talks to AWS with.

    `project_dir` is where `chalice deploy` runs and whose .chalice/ it writes; the app is always this
    project's own `app.py`.
    """

    options: DeployOptions
    session: boto3.session.Session | None = None
    project_dir: Path = PROJECT_ROOT
    chalice: ChaliceRunner = run_chalice
    out: TextIO = field(default=sys.stdout)
    sleep: Callable[[float], None] = time.sleep

    @property
    def stage(self) -> str:
        return self.options.stage

    @property
    def config(self) -> Path:
        return self.project_dir / ".chalice" / "config.json"

    def functions(self) -> list[str]:
        """The app's functions (the API handler and every event handler)."""
        return app_functions(load_app())

    def check(self) -> dict[str, str]:
        """What can be checked offline, before AWS is touched; returns function -> policy file.

        Every function needs a policy file in config.json, and every policy template must render to
        concrete resources (checked with a placeholder account).
        """
        if self.stage not in STAGES:
            raise DeployError(f"stage {self.stage!r} is not deployed to AWS; choose one of {', '.join(STAGES)}")
        variables = stage_variables(self.stage, config=self.config)
        files = function_policy_files(self.stage, config=self.config)
        unlisted = [function for function in self.functions() if function not in files]
        if unlisted:
            raise DeployError(
                f"{', '.join(unlisted)} has no iam_policy_file in {self.config} "
                f"stages.{self.stage}.lambda_functions; add one and a template in infra/policies/"
            )
        target = self._target(PLACEHOLDER_ACCOUNT, variables)
        for function in files:
            render_policy(function, target)
        return files

    def plan(self) -> str:
        """The steps, as `--dry-run` prints them (after `check()`)."""
        files = self.check()
        stage, region = self.stage, self.options.region
        if self.options.alarm_email is not None:
            email = f"AlarmEmail={self.options.alarm_email or '(none)'}"
        else:
            email = "AlarmEmail kept as it is (none on a new stack)"
        outputs = ", ".join(f"{variable} <- {output}" for variable, output in STAGE_OUTPUTS.items())
        policies = ", ".join(f".chalice/{name}" for name in files.values())
        sqs_functions = self._sqs_functions()
        lines = [
            f"Deploy plan for stage {stage} in {region} (dry run: no AWS call, nothing written)",
            f"  1. stack {stack_name(stage)} from {TEMPLATE.relative_to(PROJECT_ROOT)}: {_template_summary()}; "
            f"Stage={stage}, {email}; create or update, and wait",
            f"  2. write {outputs} into .chalice/config.json stages.{stage}.environment_variables",
            f"  3. render the IAM policies {policies} for the account sts get-caller-identity names "
            f"(rendered now with {PLACEHOLDER_ACCOUNT}: concrete resources, no wildcard)",
            f"  4. chalice deploy --stage {stage}",
            f"  5. turn on {BATCH_ITEM_FAILURES} and set the maximum concurrency for the SQS event source "
            f"mappings of {', '.join(sqs_functions) or '-'}; set the API stage's throttling {self.throttling()}",
            f"  6. seed {', '.join(FILES)} where the reference table has none",
            f"  7. when stack {console_stack_name(stage)} (infra/console.yaml) exists: its FRONTEND_URL and "
            "UPLOAD_BASE_URL into the stage's environment before step 4, then web/dist and config.json (the "
            "deployed API's URL) into its bucket, and a CloudFront invalidation",
        ]
        return "\n".join(lines)

    def run(self) -> None:
        """Every step, in order; raises `DeployError` (or `StackError`, `PolicyError`) at the first that fails."""
        self.check()
        session = self._session()
        stage, region = self.stage, self.options.region
        account = session.client("sts").get_caller_identity()["Account"]
        self._say(f"deploying stage {stage} to account {account} in {region}")

        self._say(f"1/7 infrastructure stack {stack_name(stage)}")
        page = origin_of(stage_variables(stage, config=self.config).get("UPLOAD_BASE_URL", ""))
        outputs = deploy_stack(
            session.client("cloudformation"),
            stage,
            alarm_email=self.options.alarm_email,
            report=self._detail,
            upload_page_origin=page or None,
        )

        self._say("2/7 stack outputs into .chalice/config.json")
        for variable, (old, new) in self.write_environment(outputs).items():
            self._detail(f"{variable} = {new}" + ("" if old is None else f" (was {old})"))
        console = console_outputs(session.client("cloudformation"), stage)
        if console is not None:
            for variable, value in write_console_settings(self.config, stage, console_settings(console)).items():
                self._detail(f"{variable} = {value}")

        self._say("3/7 IAM policies")
        variables = stage_variables(stage, config=self.config)
        for path in write_policies(self._target(account, variables), config=self.config):
            self._detail(f"wrote {path.relative_to(self.project_dir)}")

        self._say(f"4/7 chalice deploy --stage {stage}")
        environ = {**os.environ, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
        code = self.chalice(["deploy", "--stage", stage], self.project_dir, environ)
        if code != 0:
            raise DeployError(f"chalice deploy --stage {stage} failed (exit {code}); fix what it said and deploy again")

        self._say(f"5/7 {BATCH_ITEM_FAILURES} and maximum concurrency on the SQS event source mappings; throttling")
        for line in enable_batch_item_failures(
            session.client("lambda"),
            self._sqs_functions(),
            sleep=self.sleep,
            maximum_concurrency=self.maximum_concurrency(),
        ):
            self._detail(line)
        self._detail(self.configure_api_stage(session.client("apigateway"), outputs.get("ApiAccessLogGroupArn", "")))

        self._say("6/7 reference data")
        counts = self.seed(outputs["TablePrefix"])
        seeded = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        self._detail(f"seeded {seeded}" if counts else "already there; nothing seeded")
        self._say("7/7 web console")
        if console is None:
            self._detail(
                f"no stack {console_stack_name(stage)}: create it from infra/console.yaml (docs/operations.md) "
                "and deploy again to publish the console"
            )
        else:
            for line in publish(
                session.client("s3"),
                session.client("cloudfront"),
                bucket=console["ConsoleBucketName"],
                distribution_id=console["ConsoleDistributionId"],
                api_base_url=deployed_api_url(self.project_dir, stage),
                upload_base_url=console_settings(console)["UPLOAD_BASE_URL"],
                dist=self.project_dir / "web" / "dist",
            ):
                self._detail(line)
        self._say(f"stage {stage} deployed")

    def write_environment(self, outputs: Mapping[str, str]) -> dict[str, tuple[str | None, str]]:
        """Put the stack's outputs into the stage's environment in config.json; returns what changed."""
        missing = sorted(output for output in STAGE_OUTPUTS.values() if not outputs.get(output))
        if missing:
            raise DeployError(f"the stack gave no {', '.join(missing)} output")
        document = json.loads(self.config.read_text())
        environment = document["stages"][self.stage].setdefault("environment_variables", {})
        changes: dict[str, tuple[str | None, str]] = {}
        for variable, output in STAGE_OUTPUTS.items():
            if environment.get(variable) != outputs[output]:
                changes[variable] = (environment.get(variable), outputs[output])
                environment[variable] = outputs[output]
        self.config.write_text(json.dumps(document, indent=2) + "\n")
        return changes

    def seed(self, table_prefix: str) -> dict[str, int]:
        """Seed the kinds of reference data the stage's table has none of."""
        from chalicelib.models import TableBinding, bind
        from chalicelib.models.catalog import DynamoCatalog
        from chalicelib.models.reference import DynamoReference

        bind(TableBinding(table_prefix, self.options.region))
        return seed_missing(DynamoReference(), DynamoCatalog())

    def maximum_concurrency(self) -> dict[str, int]:
        """Lambda function name -> the `sqs_maximum_concurrency` config.json gives its handler on this stage."""
        functions = json.loads(self.config.read_text())["stages"][self.stage].get("lambda_functions", {})
        app_name = load_app().app_name
        limits: dict[str, int] = {}
        for handler, settings in functions.items():
            value = settings.get("sqs_maximum_concurrency")
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= 1000:
                raise DeployError(f"{handler}'s sqs_maximum_concurrency in {self.config} must be 2-1000, not {value!r}")
            limits[lambda_name(app_name, self.stage, handler)] = value
        return limits

    def throttling(self) -> dict[str, float]:
        """The stage's `api_throttling` from config.json: rate_limit (requests/s) and burst_limit (requests)."""
        stage = json.loads(self.config.read_text())["stages"][self.stage]
        throttling = stage.get("api_throttling")
        if not isinstance(throttling, dict) or set(throttling) != set(_THROTTLING_PATHS):
            raise DeployError(f"stage {self.stage} in {self.config} needs api_throttling {{rate_limit, burst_limit}}")
        for key, value in throttling.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise DeployError(
                    f"api_throttling.{key} of stage {self.stage} must be a positive number, not {value!r}"
                )
        return {key: float(value) for key, value in throttling.items()}

    def configure_api_stage(self, apigateway: Any, access_log_group_arn: str) -> str:
        """Set the stage's throttling and access log on the API Chalice deployed (its id is in
        .chalice/deployed/<stage>.json); Chalice's config can say neither."""
        if not access_log_group_arn:
            raise DeployError("the stack gave no ApiAccessLogGroupArn output")
        throttling = self.throttling()
        api_id, api_stage = self._rest_api()
        operations = [
            {"op": "replace", "path": _THROTTLING_PATHS[key], "value": f"{value:g}"}
            for key, value in sorted(throttling.items())
        ]
        destination = access_log_group_arn.removesuffix(":*")  # API Gateway takes the log group's ARN bare
        operations.append({"op": "replace", "path": "/accessLogSettings/destinationArn", "value": destination})
        operations.append({"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_LOG_FORMAT})
        apigateway.update_stage(restApiId=api_id, stageName=api_stage, patchOperations=operations)
        rate, burst = throttling["rate_limit"], throttling["burst_limit"]
        return f"API {api_id} stage {api_stage}: {rate:g} requests/s, burst {burst:g}; access log {destination}"

    def _rest_api(self) -> tuple[str, str]:
        deployed = self.project_dir / ".chalice" / "deployed" / f"{self.stage}.json"
        try:
            resources = json.loads(deployed.read_text())["resources"]
        except (OSError, ValueError, KeyError) as exc:
            raise DeployError(f"{deployed} does not say what chalice deployed ({exc}); deploy again") from exc
        for resource in resources:
            if resource.get("resource_type") == "rest_api":
                stage = json.loads(self.config.read_text())["stages"][self.stage].get("api_gateway_stage", "api")
                return str(resource["rest_api_id"]), str(stage)
        raise DeployError(f"{deployed} names no rest_api; did chalice deploy finish?")

    def _sqs_functions(self) -> list[str]:
        app = load_app()
        return [lambda_name(app.app_name, self.stage, handler.name) for handler in sqs_handlers(app, self.stage)]

    def _target(self, account: str, variables: Mapping[str, str]) -> PolicyTarget:
        mail_from = variables.get("EMAIL_FROM_ADDRESS")
        if not mail_from:
            raise PolicyError(f"stage {self.stage} sets no EMAIL_FROM_ADDRESS in {self.config}")
        return PolicyTarget(stage=self.stage, account=account, region=self.options.region, mail_from=mail_from)

    def _session(self) -> boto3.session.Session:
        if self.session is None:
            import boto3

            self.session = boto3.session.Session(region_name=self.options.region)
        return self.session

    def _say(self, line: str) -> None:
        print(f"==> {line}", file=self.out, flush=True)

    def _detail(self, line: str) -> None:
        print(f"    {line}", file=self.out, flush=True)


def enable_batch_item_failures(
    lambda_client: LambdaClient,
    function_names: Sequence[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = MAPPING_ATTEMPTS,
    maximum_concurrency: Mapping[str, int] | None = None,
) -> list[str]:
    """Turn on ReportBatchItemFailures for every SQS event source mapping of these functions; says what it did.

    A function named in `maximum_concurrency` also gets that `ScalingConfig.MaximumConcurrency` on its
    mappings. Each function must have at least one: a function without is a deploy that did not finish.
    """
    limits = maximum_concurrency or {}
    done = []
    for function in function_names:
        mappings = [
            mapping
            for page in lambda_client.get_paginator("list_event_source_mappings").paginate(FunctionName=function)
            for mapping in page["EventSourceMappings"]
            if mapping.get("EventSourceArn", "").startswith("arn:aws:sqs:")
        ]
        if not mappings:
            raise DeployError(f"{function} has no SQS event source mapping; did chalice deploy finish?")
        for mapping in mappings:
            queue = mapping.get("EventSourceArn", "").rsplit(":", 1)[-1]
            limit = limits.get(function)
            scaled = f", maximum concurrency {limit}" if limit is not None else ""
            update: dict[str, Any] = {}
            if BATCH_ITEM_FAILURES not in mapping.get("FunctionResponseTypes", []):
                update["FunctionResponseTypes"] = [BATCH_ITEM_FAILURES]
            if limit is not None and mapping.get("ScalingConfig", {}).get("MaximumConcurrency") != limit:
                update["ScalingConfig"] = {"MaximumConcurrency": limit}
            if not update:
                done.append(f"{function} <- {queue}: already on{scaled}")
                continue
            update.setdefault("FunctionResponseTypes", [BATCH_ITEM_FAILURES])
            _update_mapping(lambda_client, mapping["UUID"], update, sleep=sleep, attempts=attempts)
            done.append(f"{function} <- {queue}: turned on{scaled}")
    return done


def _update_mapping(
    lambda_client: LambdaClient,
    uuid: str,
    update: Mapping[str, Any],
    *,
    sleep: Callable[[float], None],
    attempts: int,
) -> None:
    for attempt in range(1, attempts + 1):
        try:
            lambda_client.update_event_source_mapping(UUID=uuid, **update)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException" or attempt == attempts:
                raise
            sleep(MAPPING_RETRY_SECONDS)


def _template_summary() -> str:
    resources: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text())["Resources"]
    counts = Counter(resource["Type"].rsplit("::", 1)[-1] for resource in resources.values())
    return ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
