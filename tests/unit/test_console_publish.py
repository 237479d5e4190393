"""Publishing the console: content types, cache headers, the stage's config.json, stale files gone, CloudFront told."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from vre_app.console import (
    IMMUTABLE,
    REVALIDATE,
    ConsoleError,
    console_settings,
    content_type,
    deployed_api_url,
    publish,
    publish_stage,
)

REGION = "eu-west-1"
BUCKET = "vre-dev-console-123456789012"


def _exists(s3: Any) -> bool:
    return BUCKET in {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any, str]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for old in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []) if _exists(s3) else []:
            s3.delete_object(Bucket=BUCKET, Key=old["Key"])
        if not _exists(s3):
            s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        cloudfront = boto3.client("cloudfront", region_name=REGION)
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": uuid.uuid4().hex,
                "Comment": "vre-dev-console",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "console-bucket",
                            "DomainName": f"{BUCKET}.s3.{REGION}.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "console-bucket",
                    "ViewerProtocolPolicy": "redirect-to-https",
                },
            }
        )["Distribution"]["Id"]
        yield s3, cloudfront, distribution


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    files = {
        "index.html": "<!doctype html><title>console</title>",
        "upload/index.html": "<!doctype html><title>upload</title>",
        "assets/console-abc123.js": "export {}",
        "assets/console-abc123.css": "body{}",
        "api-docs/redoc@2.5.4/redoc.standalone.js": "redoc",
        "config.json": '{"api_base_url": "http://127.0.0.1:8000"}',  # a dev build's, never published
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def head(s3: Any, key: str) -> dict[str, Any]:
    response: dict[str, Any] = s3.head_object(Bucket=BUCKET, Key=key)
    return response


def test_every_file_gets_its_type_and_cache_policy(aws: tuple[Any, Any, str], dist: Path) -> None:
    s3, cloudfront, distribution = aws

    said = publish(
        s3,
        cloudfront,
        bucket=BUCKET,
        distribution_id=distribution,
        api_base_url="https://abc.execute-api.eu-west-1.amazonaws.com/api/",
        upload_base_url="https://d1.cloudfront.net/upload/",
        dist=dist,
    )

    wanted = {
        "index.html": ("text/html; charset=utf-8", REVALIDATE),
        "upload/index.html": ("text/html; charset=utf-8", REVALIDATE),
        "assets/console-abc123.js": ("text/javascript; charset=utf-8", IMMUTABLE),
        "assets/console-abc123.css": ("text/css; charset=utf-8", IMMUTABLE),
        "api-docs/redoc@2.5.4/redoc.standalone.js": ("text/javascript; charset=utf-8", IMMUTABLE),
        "config.json": ("application/json; charset=utf-8", REVALIDATE),
    }
    for key, (kind, cache) in wanted.items():
        found = head(s3, key)
        assert (found["ContentType"], found["CacheControl"]) == (kind, cache), key
    config = json.loads(s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert config == {
        "api_base_url": "https://abc.execute-api.eu-west-1.amazonaws.com/api",
        "upload_base_url": "https://d1.cloudfront.net/upload/",
    }
    assert said[0].startswith(f"uploaded 6 files to s3://{BUCKET}")
    invalidations = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert invalidations["Quantity"] == 1


def test_files_the_new_build_dropped_are_deleted(aws: tuple[Any, Any, str], dist: Path) -> None:
    s3, cloudfront, distribution = aws
    s3.put_object(Bucket=BUCKET, Key="assets/console-old.js", Body=b"old")

    said = publish(
        s3,
        cloudfront,
        bucket=BUCKET,
        distribution_id=distribution,
        api_base_url="https://api.example.org",
        upload_base_url=None,
        dist=dist,
    )

    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "assets/console-old.js" not in keys
    assert "index.html" in keys
    assert "deleted 1 files" in said[1]
    assert json.loads(s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read()) == {
        "api_base_url": "https://api.example.org"
    }


def test_an_unbuilt_console_is_refused_before_anything_is_uploaded(aws: tuple[Any, Any, str], tmp_path: Path) -> None:
    s3, cloudfront, distribution = aws

    with pytest.raises(ConsoleError, match="build the console first"):
        publish(
            s3,
            cloudfront,
            bucket=BUCKET,
            distribution_id=distribution,
            api_base_url="https://a",
            upload_base_url=None,
            dist=tmp_path,
        )
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_content_types_of_what_vite_writes() -> None:
    assert content_type("a.svg") == "image/svg+xml"
    assert content_type("a.woff2") == "font/woff2"
    assert content_type("LICENSE") == "application/octet-stream"


def test_the_stage_settings_come_from_the_console_stack_outputs() -> None:
    assert console_settings({"ConsoleUrl": "https://d1.cloudfront.net", "UploadBaseUrl": "https://d1/upload/"}) == {
        "FRONTEND_URL": "https://d1.cloudfront.net",
        "UPLOAD_BASE_URL": "https://d1/upload/",
    }
    with pytest.raises(ConsoleError, match="UploadBaseUrl"):
        console_settings({"ConsoleUrl": "https://d1.cloudfront.net"})


def test_the_api_url_is_the_one_chalice_deploy_recorded(tmp_path: Path) -> None:
    deployed = tmp_path / ".chalice" / "deployed"
    deployed.mkdir(parents=True)
    (deployed / "dev.json").write_text(
        json.dumps(
            {
                "resources": [
                    {
                        "name": "rest_api",
                        "resource_type": "rest_api",
                        "rest_api_url": "https://abc.execute-api.eu-west-1.amazonaws.com/api/",
                    }
                ]
            }
        )
    )

    assert deployed_api_url(tmp_path, "dev") == "https://abc.execute-api.eu-west-1.amazonaws.com/api/"
    with pytest.raises(ConsoleError, match="run chalice deploy first"):
        deployed_api_url(tmp_path, "prod")


def test_publish_stage_reads_the_console_stack_and_writes_the_stage_settings(
    aws: tuple[Any, Any, str], dist: Path, tmp_path: Path
) -> None:
    s3, cloudfront, distribution = aws
    project = tmp_path / "project"
    (project / ".chalice" / "deployed").mkdir(parents=True)
    (project / ".chalice" / "config.json").write_text(json.dumps({"stages": {"dev": {"environment_variables": {}}}}))
    (project / ".chalice" / "deployed" / "dev.json").write_text(
        json.dumps({"resources": [{"resource_type": "rest_api", "rest_api_url": "https://api.example.org/api/"}]})
    )
    outputs = {
        "ConsoleBucketName": BUCKET,
        "ConsoleDistributionId": distribution,
        "ConsoleUrl": "https://d1.cloudfront.net",
        "UploadBaseUrl": "https://d1.cloudfront.net/upload/",
    }

    class Stacks:
        def describe_stacks(self, StackName: str) -> dict[str, Any]:
            assert StackName == "vre-dev-console"
            return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}

    class Session:
        def client(self, service: str) -> Any:
            return {"cloudformation": Stacks(), "s3": s3, "cloudfront": cloudfront}[service]

    said = publish_stage(Session(), "dev", project_dir=project, dist=dist)

    environment = json.loads((project / ".chalice" / "config.json").read_text())["stages"]["dev"][
        "environment_variables"
    ]
    assert environment == {
        "FRONTEND_URL": "https://d1.cloudfront.net",
        "UPLOAD_BASE_URL": "https://d1.cloudfront.net/upload/",
    }
    assert any("deploy again" in line for line in said)
    config = json.loads(s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert config["api_base_url"] == "https://api.example.org/api"
