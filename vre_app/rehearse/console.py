"""The console's part of the rehearsal: a stand-in for its stack, and what the deploy must have published.

moto's CloudFormation makes no CloudFront resources (no distribution, origin access control or function; a
template that names one fails), so `infra/console.yaml` cannot be applied to it. Before the first deploy the
harness makes what that stack would: the bucket (through moto's CloudFormation, as the stack `vre-<stage>-console`)
and the distribution (through moto's CloudFront API), with the outputs the template declares. The deploy then finds
the stack as it would on AWS; checkov, cfn-lint and tests/contract/test_console_infra.py check the template itself.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from vre_app.console import IMMUTABLE, REVALIDATE, console_stack_name
from vre_app.rehearse.checks import Checks, require


def stand_in_console(checks: Checks) -> dict[str, str]:
    """The console stack's outputs, its bucket and distribution made in moto; returns them."""
    stage = checks.stage
    account = checks.client("sts").get_caller_identity()["Account"]
    bucket = f"vre-{stage}-console-{account}"
    distribution = checks.client("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": f"vre-{stage}-console",
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "console-bucket",
                        "DomainName": f"{bucket}.s3.eu-west-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "console-bucket", "ViewerProtocolPolicy": "redirect-to-https"},
        }
    )["Distribution"]
    domain = distribution["DomainName"]
    template = {
        "Resources": {"ConsoleBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket}}},
        "Outputs": {
            "ConsoleBucketName": {"Value": {"Ref": "ConsoleBucket"}},
            "ConsoleDistributionId": {"Value": distribution["Id"]},
            "ConsoleUrl": {"Value": f"https://{domain}"},
            "UploadBaseUrl": {"Value": f"https://{domain}/upload/"},
        },
    }
    checks.client("cloudformation").create_stack(StackName=console_stack_name(stage), TemplateBody=json.dumps(template))
    return {
        "ConsoleBucketName": bucket,
        "ConsoleDistributionId": distribution["Id"],
        "ConsoleUrl": f"https://{domain}",
        "UploadBaseUrl": f"https://{domain}/upload/",
    }


def check_console(checks: Checks, console: dict[str, str], dist: Path) -> list[str]:
    """Every file of web/dist is in the bucket with its type and cache policy, config.json names the deployed API,
    the stage's FRONTEND_URL and UPLOAD_BASE_URL are the distribution's, and CloudFront was told."""
    s3, bucket = checks.client("s3"), console["ConsoleBucketName"]
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    built = {p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file()} | {"config.json"}
    require(keys == built, f"the bucket holds {sorted(keys ^ built)} more or less than web/dist")
    index = s3.head_object(Bucket=bucket, Key="index.html")
    require(
        (index["ContentType"], index["CacheControl"]) == ("text/html; charset=utf-8", REVALIDATE),
        f"index.html is {index['ContentType']}, {index['CacheControl']}",
    )
    scripts = sorted(key for key in keys if key.startswith("assets/") and key.endswith(".js"))
    require(scripts, "no assets/*.js in the bucket")
    script = s3.head_object(Bucket=bucket, Key=scripts[0])
    require(
        (script["ContentType"], script["CacheControl"]) == ("text/javascript; charset=utf-8", IMMUTABLE),
        f"{scripts[0]} is {script['ContentType']}, {script['CacheControl']}",
    )
    docs = sorted(key for key in keys if key.startswith("api-docs/") and key.endswith(".js"))
    require(len(docs) == 2, f"the API docs' bundles are not both there: {docs}")
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    deployed = json.loads((checks.project / ".chalice" / "deployed" / f"{checks.stage}.json").read_text())
    api_url = next(r["rest_api_url"] for r in deployed["resources"] if r.get("resource_type") == "rest_api")
    require(config["api_base_url"] == api_url.rstrip("/"), f"config.json names {config}, not {api_url}")
    require(config.get("upload_base_url") == console["UploadBaseUrl"], f"config.json upload_base_url: {config}")
    environment: dict[str, Any] = checks.config().get("environment_variables", {})
    require(
        environment.get("FRONTEND_URL") == console["ConsoleUrl"]
        and environment.get("UPLOAD_BASE_URL") == console["UploadBaseUrl"],
        f"the stage's FRONTEND_URL/UPLOAD_BASE_URL are not the distribution's: {environment}",
    )
    listed = checks.client("cloudfront").list_invalidations(DistributionId=console["ConsoleDistributionId"])
    invalidated = listed["InvalidationList"]["Quantity"]
    require(invalidated >= 1, "CloudFront was not told to drop its copies")
    return [
        f"{len(keys)} files in s3://{bucket}, index.html {REVALIDATE}, {scripts[0]} {IMMUTABLE}",
        f"config.json api_base_url {config['api_base_url']}",
        f"FRONTEND_URL {environment['FRONTEND_URL']}, UPLOAD_BASE_URL {environment['UPLOAD_BASE_URL']}",
        f"CloudFront {console['ConsoleDistributionId']}: {invalidated} invalidation(s)",
    ]
