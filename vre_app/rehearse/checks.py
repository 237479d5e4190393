"""What the rehearsal checks in moto after a deploy: each wired resource, read back through the AWS APIs.

Every check returns the lines it prints and raises `RehearsalError` at the first thing missing or wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vre_app.deploy import BATCH_ITEM_FAILURES
from vre_app.iam import lambda_name
from vre_app.seed import FILES, load_catalog, load_items

APP = "vre-broker"
SQS_QUEUES = {"deliver_mail": "mail", "provision_workspaces": "provisioning"}
SCHEDULED = ("reconcile_workspaces", "requeue_invitation_links")
FUNCTIONS = ("api_handler", "deliver_mail", "provision_workspaces", *SCHEDULED)


class RehearsalError(RuntimeError):
    """A step of the rehearsal failed or a resource the deploy wires is missing."""


def require(condition: object, message: str) -> None:
    if not condition:
        raise RehearsalError(message)


def function_name(stage: str, handler: str) -> str:
    """Chalice names the API handler after the app and stage alone."""
    return f"{APP}-{stage}" if handler == "api_handler" else lambda_name(APP, stage, handler)


@dataclass
class Checks:
    """The checks of one stage, with boto3 clients pointed at moto and the rehearsal's copy of the project."""

    session: Any
    stage: str
    project: Path

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def config(self) -> dict[str, Any]:
        stage: dict[str, Any] = json.loads((self.project / ".chalice" / "config.json").read_text())["stages"][
            self.stage
        ]
        return stage

    def function_arns(self) -> dict[str, str]:
        functions = self.client("lambda")
        arns = {}
        for handler in FUNCTIONS:
            configuration = functions.get_function(FunctionName=function_name(self.stage, handler))["Configuration"]
            arns[handler] = configuration["FunctionArn"]
        return arns

    def api(self) -> list[str]:
        """The rest API sends every route to api_handler (Lambda proxy), and its stage is throttled."""
        apigateway = self.client("apigateway")
        apis = [api for api in apigateway.get_rest_apis()["items"] if api["name"] == APP]
        require(len(apis) == 1, f"expected one rest API named {APP}, found {len(apis)}")
        api_id = apis[0]["id"]
        handler_arn = self.function_arns()["api_handler"]
        proxied = []
        for resource in apigateway.get_resources(restApiId=api_id, limit=500)["items"]:
            for method in resource.get("resourceMethods", {}):
                integration = apigateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
                if str(integration.get("type", "")).upper() == "AWS_PROXY":
                    require(
                        handler_arn in integration.get("uri", ""), f"{method} {resource['path']} is not api_handler"
                    )
                    proxied.append(f"{method} {resource['path']}")
        require(proxied, f"rest API {api_id} has no Lambda proxy integration")
        stage_name = self.config().get("api_gateway_stage", "api")
        every = apigateway.get_stage(restApiId=api_id, stageName=stage_name).get("methodSettings", {}).get("*/*", {})
        wanted = self.config()["api_throttling"]
        got = (every.get("throttlingRateLimit"), every.get("throttlingBurstLimit"))
        require(
            got == (float(wanted["rate_limit"]), int(wanted["burst_limit"])),
            f"stage {stage_name} throttling is {got}, config.json says {wanted}",
        )
        return [
            f"rest API {api_id}: {len(proxied)} methods -> Lambda proxy {handler_arn}",
            f"stage {stage_name}: throttled at {got[0]:g} requests/s, burst {got[1]}",
        ]

    def mappings(self) -> list[str]:
        """Every SQS handler reads its queue, reports failed records one by one and is capped in concurrency."""
        functions = self.client("lambda")
        settings = self.config()["lambda_functions"]
        lines = []
        for handler, queue in SQS_QUEUES.items():
            arn = self.function_arns()[handler]
            found = functions.list_event_source_mappings(FunctionName=arn)["EventSourceMappings"]
            require(len(found) == 1, f"{handler} has {len(found)} event source mappings, expected 1")
            mapping = found[0]
            require(mapping["EventSourceArn"].endswith(f":vre-{self.stage}-{queue}"), f"{handler} reads {mapping}")
            require(BATCH_ITEM_FAILURES in mapping.get("FunctionResponseTypes", []), f"{handler}: no batch failures")
            limit = mapping.get("ScalingConfig", {}).get("MaximumConcurrency")
            wanted = settings[handler]["sqs_maximum_concurrency"]
            require(limit == wanted, f"{handler}'s mapping has MaximumConcurrency {limit}, config.json says {wanted}")
            lines.append(
                f"{handler} <- vre-{self.stage}-{queue}: batch {mapping['BatchSize']}, {BATCH_ITEM_FAILURES}, "
                f"MaximumConcurrency {limit}"
            )
        return lines

    def schedules(self) -> list[str]:
        """An EventBridge rule on a schedule invokes each scheduled function."""
        events = self.client("events")
        targets: dict[str, str] = {}
        for rule in events.list_rules()["Rules"]:
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                targets[target["Arn"]] = f"{rule['Name']} ({rule.get('ScheduleExpression', 'no schedule')})"
        lines = []
        for handler in SCHEDULED:
            arn = self.function_arns()[handler]
            require(arn in targets, f"no EventBridge rule invokes {handler}")
            require("rate(" in targets[arn] or "cron(" in targets[arn], f"{handler}'s rule is not a schedule")
            lines.append(f"{handler} <- {targets[arn]}")
        return lines

    def alarms(self, template: Path) -> list[str]:
        """The alarm topic exists; every alarm in the template notifies it (moto's CloudFormation makes no alarms,
        so those are read from the template the stack was made of)."""
        cloudformation = self.client("cloudformation")
        resources = cloudformation.describe_stack_resources(StackName=f"vre-{self.stage}-infra")["StackResources"]
        topics = [r for r in resources if r.get("ResourceType") == "AWS::SNS::Topic"]
        require(len(topics) == 1, f"expected one SNS topic in the stack, found {len(topics)}")
        topic_arn = topics[0]["PhysicalResourceId"]
        attributes = self.client("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"]
        declared = yaml.safe_load(template.read_text())["Resources"]
        topic_id = topics[0]["LogicalResourceId"]
        alarms = {name: r for name, r in declared.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
        require(alarms, "the template declares no alarm")
        silent = [
            name for name, r in alarms.items() if {"Ref": topic_id} not in r["Properties"].get("AlarmActions", [])
        ]
        require(not silent, f"alarms that do not notify {topic_id}: {', '.join(silent)}")
        key = attributes.get("KmsMasterKeyId", "none")
        return [f"topic {topic_arn} (KMS key {key}); {len(alarms)} alarms in the template notify it"]

    def roles(self, rendered: dict[str, dict[str, Any]]) -> list[str]:
        """Each function's role carries exactly the policy `python -m vre_app policies` renders for it."""
        iam, functions = self.client("iam"), self.client("lambda")
        lines = []
        for handler in FUNCTIONS:
            role = functions.get_function(FunctionName=function_name(self.stage, handler))["Configuration"]["Role"]
            role_name = role.rsplit("/", 1)[-1]
            names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
            require(names, f"role {role_name} has no inline policy")
            documents = [iam.get_role_policy(RoleName=role_name, PolicyName=n)["PolicyDocument"] for n in names]
            documents = [json.loads(d) if isinstance(d, str) else d for d in documents]
            wanted = rendered[handler]
            require(wanted in documents, f"role {role_name} does not carry the rendered policy of {handler}")
            lines.append(f"{handler}: role {role_name} carries policy-{self.stage}-{handler}.json")
        return lines

    def reference_data(self) -> dict[str, int]:
        """Items of each seeded kind in the reference table; each kind holds exactly what the data files hold."""
        dynamodb = self.client("dynamodb")
        counts = {}
        for kind in [*FILES, "catalog"]:
            paginator = dynamodb.get_paginator("query")
            pages = paginator.paginate(
                TableName=f"vre-{self.stage}-reference",
                KeyConditionExpression="kind = :kind",
                ExpressionAttributeValues={":kind": {"S": kind}},
                Select="COUNT",
            )
            counts[kind] = sum(page["Count"] for page in pages)
        wanted = {kind: len(load_items(kind)) for kind in FILES} | {"catalog": len(load_catalog())}
        require(counts == wanted, f"reference data {counts}, the data files hold {wanted}")
        return counts

    def snapshot(self) -> dict[str, Any]:
        """What an upgrade must leave as it is: function ARNs, the API id, the mappings, the item counts."""
        apis = sorted(api["id"] for api in self.client("apigateway").get_rest_apis()["items"])
        mappings = sorted(
            (m["UUID"], m["EventSourceArn"], m["FunctionArn"], m["BatchSize"])
            for m in self.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        )
        return {
            "functions": self.function_arns(),
            "apis": apis,
            "mappings": mappings,
            "reference": self.reference_data(),
        }
