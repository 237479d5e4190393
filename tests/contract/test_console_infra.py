"""infra/console.yaml: the console's bucket is private and reached only through CloudFront over HTTPS, and the
distribution answers every console path with the right page."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "console.yaml"


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (!Ref, !Sub, !GetAtt) as plain tagged values."""


_Loader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.ScalarNode)
        else {suffix: loader.construct_sequence(node)}
    ),
)


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_Loader)
    found: dict[str, Any] = loaded["Resources"]
    return found


def test_the_bucket_is_private_and_read_only_by_the_distribution(resources: dict[str, Any]) -> None:
    bucket = resources["ConsoleBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    statements = resources["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allow] == [{"Service": "cloudfront.amazonaws.com"}]
    assert "AWS:SourceArn" in allow[0]["Condition"]["StringEquals"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    access = resources["ConsoleOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (access["OriginAccessControlOriginType"], access["SigningBehavior"]) == ("s3", "always")


def test_the_distribution_serves_the_console_over_https_with_its_routes(resources: dict[str, Any]) -> None:
    config = resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    behaviour = config["DefaultCacheBehavior"]
    assert config["DefaultRootObject"] == "index.html"
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["Origins"][0]["OriginAccessControlId"] == {"GetAtt": "ConsoleOriginAccessControl.Id"}
    fallbacks = {(e["ErrorCode"], e["ResponseCode"], e["ResponsePagePath"]) for e in config["CustomErrorResponses"]}
    assert fallbacks == {(403, 200, "/index.html"), (404, 200, "/index.html")}
    [association] = behaviour["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert "/upload/index.html" in resources["ConsoleRouting"]["Properties"]["FunctionCode"]


def test_the_upload_routing_function_sends_upload_pages_to_the_upload_entry(resources: dict[str, Any]) -> None:
    code = resources["ConsoleRouting"]["Properties"]["FunctionCode"]
    script = code + (
        "\nfor (const uri of ['/upload/AbC123', '/upload', '/upload/assets/x.js', '/studies/1', '/upload/']) "
        "console.log(uri + ' ' + handler({request: {uri}}).uri);"
    )
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.splitlines() == [
        "/upload/AbC123 /upload/index.html",
        "/upload /upload/index.html",
        "/upload/assets/x.js /upload/assets/x.js",
        "/studies/1 /studies/1",
        "/upload/ /upload/index.html",
    ]


def test_cfn_lint_passes() -> None:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
