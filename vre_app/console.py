"""Publishing the web console: web/dist into the stage's console bucket, `/config.json` naming the stage's API.

The bucket and its CloudFront distribution are infra/console.yaml's stack (`vre-<stage>-console`). Each file gets
its content type and a cache policy: hashed names under assets/ and versioned api-docs/<package>@<version>/ never
change, so they are cached for a year; the pages and config.json are revalidated on every load, so a deploy shows
at once. Files the new build no longer has are deleted after the upload, and CloudFront is told to drop its copies.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vre_app.local.environment import PROJECT_ROOT

CONSOLE_TEMPLATE = PROJECT_ROOT / "infra" / "console.yaml"
WEB_DIST = PROJECT_ROOT / "web" / "dist"
CONFIG_KEY = "config.json"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# What the deploy writes into the stage's environment, by the console stack's output that holds it.
CONSOLE_OUTPUTS = {"FRONTEND_URL": "ConsoleUrl", "UPLOAD_BASE_URL": "UploadBaseUrl"}
# Types Python's table may not know on every machine.
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
}


class ConsoleError(RuntimeError):
    """The console could not be published (not built, or the stack lacks an output)."""


def console_stack_name(stage: str) -> str:
    return f"vre-{stage}-console"


@dataclass(frozen=True)
class PublishedFile:
    key: str
    content_type: str
    cache_control: str


def content_type(name: str) -> str:
    """The Content-Type for a file name; text types say they are UTF-8 (Vite writes UTF-8)."""
    suffix = Path(name).suffix.lower()
    kind = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "application/manifest+json"):
        kind += "; charset=utf-8"
    return kind


def cache_control(key: str) -> str:
    """Content-hashed and versioned files are cached for good; everything else is revalidated."""
    return IMMUTABLE if key.startswith(("assets/", "api-docs/")) else REVALIDATE


def plan(dist: Path) -> Iterator[tuple[Path, PublishedFile]]:
    """Every file of the build with the key, type and cache policy it is uploaded with."""
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        yield path, PublishedFile(key, content_type(path.name), cache_control(key))


def runtime_config(api_base_url: str, upload_base_url: str | None) -> bytes:
    """The console's /config.json (web/src/config.ts reads it)."""
    config: dict[str, str] = {"api_base_url": api_base_url.rstrip("/")}
    if upload_base_url:
        config["upload_base_url"] = upload_base_url
    return (json.dumps(config, indent=2) + "\n").encode()


def publish(
    s3: Any,
    cloudfront: Any,
    *,
    bucket: str,
    distribution_id: str,
    api_base_url: str,
    upload_base_url: str | None,
    dist: Path = WEB_DIST,
) -> list[str]:
    """Upload the build and config.json, delete what the build dropped, invalidate CloudFront; lines to print."""
    if not (dist / "index.html").is_file():
        raise ConsoleError(f"{dist}/index.html is missing: build the console first (cd web && npm ci && npm run build)")
    uploaded: set[str] = set()
    for path, file in plan(dist):
        if file.key == CONFIG_KEY:
            continue  # the stage's own is written below
        s3.put_object(
            Bucket=bucket,
            Key=file.key,
            Body=path.read_bytes(),
            ContentType=file.content_type,
            CacheControl=file.cache_control,
        )
        uploaded.add(file.key)
    s3.put_object(
        Bucket=bucket,
        Key=CONFIG_KEY,
        Body=runtime_config(api_base_url, upload_base_url),
        ContentType=content_type(CONFIG_KEY),
        CacheControl=REVALIDATE,
    )
    uploaded.add(CONFIG_KEY)
    stale = [key for key in _keys(s3, bucket) if key not in uploaded]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale[start : start + 1000]]})
    invalidation = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"deploy-{time.time_ns()}"},
    )["Invalidation"]["Id"]
    return [
        f"uploaded {len(uploaded)} files to s3://{bucket} (config.json: api_base_url {api_base_url.rstrip('/')})",
        f"deleted {len(stale)} files the build no longer has",
        f"CloudFront {distribution_id}: invalidation {invalidation} of /*",
    ]


def _keys(s3: Any, bucket: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield str(item["Key"])


def console_settings(outputs: Mapping[str, str]) -> dict[str, str]:
    """FRONTEND_URL and UPLOAD_BASE_URL from the console stack's outputs."""
    missing = sorted(output for output in CONSOLE_OUTPUTS.values() if not outputs.get(output))
    if missing:
        raise ConsoleError(f"the console stack gave no {', '.join(missing)} output")
    return {variable: outputs[output] for variable, output in CONSOLE_OUTPUTS.items()}


def deployed_api_url(project_dir: Path, stage: str) -> str:
    """The API's URL as `chalice deploy` recorded it in .chalice/deployed/<stage>.json."""
    path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    try:
        resources = json.loads(path.read_text())["resources"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConsoleError(f"{path} names no deployed API: run chalice deploy first ({exc})") from exc
    for resource in resources:
        if resource.get("resource_type") == "rest_api" and resource.get("rest_api_url"):
            return str(resource["rest_api_url"])
    raise ConsoleError(f"{path} names no rest_api_url")


def write_console_settings(config: Path, stage: str, settings: Mapping[str, str]) -> dict[str, str]:
    """Put FRONTEND_URL and UPLOAD_BASE_URL into the stage's environment in config.json; returns what changed."""
    document = json.loads(config.read_text())
    environment = document["stages"][stage].setdefault("environment_variables", {})
    changed = {name: value for name, value in settings.items() if environment.get(name) != value}
    environment.update(changed)
    config.write_text(json.dumps(document, indent=2) + "\n")
    return changed


def publish_stage(session: Any, stage: str, project_dir: Path = PROJECT_ROOT, dist: Path = WEB_DIST) -> list[str]:
    """`python -m vre_app publish-console`: the console stack's URLs into the stage's config, then the files."""
    outputs = console_outputs(session.client("cloudformation"), stage)
    if outputs is None:
        raise ConsoleError(f"no stack {console_stack_name(stage)}: create it from infra/console.yaml first")
    settings = console_settings(outputs)
    changed = write_console_settings(project_dir / ".chalice" / "config.json", stage, settings)
    lines = [f"{name} = {value}" for name, value in settings.items()]
    if changed:
        lines.append("the stage's FRONTEND_URL or UPLOAD_BASE_URL changed: deploy again so the API's links use them")
    lines += publish(
        session.client("s3"),
        session.client("cloudfront"),
        bucket=outputs["ConsoleBucketName"],
        distribution_id=outputs["ConsoleDistributionId"],
        api_base_url=deployed_api_url(project_dir, stage),
        upload_base_url=settings["UPLOAD_BASE_URL"],
        dist=dist,
    )
    return lines


def console_outputs(cloudformation: Any, stage: str) -> dict[str, str] | None:
    """The console stack's outputs, or None when the stage has no console stack (yet)."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=console_stack_name(stage))["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
