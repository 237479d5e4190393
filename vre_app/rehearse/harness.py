"""`python -m vre_app.rehearse`: the operator's deploy, rehearsed end to end against moto on loopback.

1. moto's server starts on 127.0.0.1 and a free port, behind the patch layer of `vre_app.rehearse.gaps`;
2. the project is copied to a scratch directory (the deploy writes `.chalice/`), and there
   `python -m vre_app deploy --stage dev` runs as a subprocess, exactly as an operator runs it, with fake
   credentials and `AWS_ENDPOINT_URL` pointing boto3 and Chalice at moto;
3. what the deploy wired is read back and printed (`vre_app.rehearse.checks`);
   (the console published into a stand-in of its stack, `vre_app.rehearse.console`);
4. the stage is deployed again (an upgrade), and nothing that should stay may have changed;
5. a poison message is put on the mail queue's dead-letter queue and `python -m vre_app redrive` moves it back.

Exits 0 when every step passed, 1 at the first that failed (saying which). Not deployed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from vre_app.local.environment import PROJECT_ROOT
from vre_app.rehearse.checks import FUNCTIONS, Checks, RehearsalError, require
from vre_app.rehearse.console import check_console, stand_in_console
from vre_app.rehearse.server import PatchedMoto

STAGE = "dev"
REGION = "eu-west-1"
# What the deploy reads of a clone: the app, its package, the ops tool, the templates and the Chalice config.
PROJECT_FILES = ("app.py", "requirements.txt")
PROJECT_DIRS = ("chalicelib", "vre_app", "infra")
STEP_TIMEOUT_SECONDS = 600


def copy_project(into: Path) -> Path:
    """A clone's worth of the project in `into`, so the deploy's writes to .chalice/ stay out of the work tree."""
    for name in PROJECT_FILES:
        shutil.copy(PROJECT_ROOT / name, into / name)
    for name in PROJECT_DIRS:
        shutil.copytree(PROJECT_ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "rehearse"))
    # The built console, which the deploy publishes (`make test` builds it before the tests run).
    if (PROJECT_ROOT / "web" / "dist" / "index.html").is_file():
        shutil.copytree(PROJECT_ROOT / "web" / "dist", into / "web" / "dist")
    (into / ".chalice").mkdir()
    shutil.copy(PROJECT_ROOT / ".chalice" / "config.json", into / ".chalice" / "config.json")
    return into


def aws_environment(endpoint: str) -> dict[str, str]:
    """This process's environment with every AWS setting replaced: fake credentials, moto's endpoint."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environ.update(
        AWS_ACCESS_KEY_ID="rehearsal",
        AWS_SECRET_ACCESS_KEY="rehearsal",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return environ


class Rehearsal:
    """One rehearsal in one scratch directory against one moto server."""

    def __init__(self, moto: PatchedMoto, project: Path) -> None:
        import boto3

        self.moto = moto
        self.project = project
        self.environ = aws_environment(moto.url)
        session = boto3.session.Session(
            aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal", region_name=REGION
        )
        self.checks = Checks(_EndpointSession(session, moto.url), STAGE, project)

    def say(self, line: str) -> None:
        print(f"rehearse: {line}", flush=True)

    def ops(self, *args: str) -> str:
        """`python -m vre_app <args>` in the copy, as an operator runs it; its output is shown and returned."""
        command = [sys.executable, "-m", "vre_app", *args]
        self.say(f"$ python -m vre_app {' '.join(args)}")
        began = time.monotonic()
        done = subprocess.run(
            command,
            cwd=self.project,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_SECONDS,
            check=False,
        )
        sys.stdout.write(done.stdout)
        if done.returncode != 0:
            sys.stdout.write(done.stderr)
            raise RehearsalError(f"python -m vre_app {' '.join(args)} exited {done.returncode}")
        self.say(f"  ok in {time.monotonic() - began:.1f} s")
        return done.stdout

    def check(self, what: str, lines: Sequence[str]) -> None:
        self.say(f"checked {what}:")
        for line in lines:
            print(f"    {line}", flush=True)

    def run(self) -> None:
        dist = self.project / "web" / "dist"
        require((dist / "index.html").is_file(), "web/dist is not built (cd web && npm ci && npm run build)")
        console = stand_in_console(self.checks)
        self.ops("deploy", "--stage", STAGE)
        self.check("the console", check_console(self.checks, console, dist))
        self.check_wiring()
        before = self.checks.snapshot()
        self.ops("deploy", "--stage", STAGE)
        self.check_wiring()
        after = self.checks.snapshot()
        changed = sorted(key for key in before if before[key] != after[key])
        require(not changed, f"the upgrade changed {', '.join(changed)}: {before} -> {after}")
        self.check("the upgrade", [f"{key}: unchanged" for key in before])
        self.check("the redrive", self.redrive())
        gaps = sorted(set(self.moto.gaps.patched if self.moto.gaps else []))
        self.check("moto's gaps patched by the harness (README, Rehearsing a deploy)", gaps)

    def check_wiring(self) -> None:
        self.check("the API", self.checks.api())
        self.check("the SQS event source mappings", self.checks.mappings())
        self.check("the schedules", self.checks.schedules())
        self.check("the alarms", self.checks.alarms(self.project / "infra" / "template.yaml"))
        self.check("the roles", self.checks.roles(self.rendered_policies()))
        counts = self.checks.reference_data()
        self.check("the reference data", [", ".join(f"{count} {kind}" for kind, count in counts.items())])

    def rendered_policies(self) -> dict[str, dict[str, Any]]:
        """What `python -m vre_app policies` renders for moto's account, by function."""
        account = self.checks.client("sts").get_caller_identity()["Account"]
        self.ops("policies", "--stage", STAGE, "--account", account, "--region", REGION)
        chalice = self.project / ".chalice"
        return {f: json.loads((chalice / f"policy-{STAGE}-{f}.json").read_text()) for f in FUNCTIONS}

    def redrive(self) -> list[str]:
        """A poison message on the mail queue's dead-letter queue goes back onto the queue."""
        sqs = self.checks.client("sqs")
        url = sqs.get_queue_url(QueueName=f"vre-{STAGE}-mail")["QueueUrl"]
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
        dead = json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[-1]
        dead_url = sqs.get_queue_url(QueueName=dead)["QueueUrl"]
        body = json.dumps({"rehearsal": str(uuid.uuid4())})
        sqs.send_message(QueueUrl=dead_url, MessageBody=body)
        require(_count(sqs, dead_url) == 1, f"the poison message is not on {dead}")
        said = self.ops("redrive", "--stage", STAGE, "--queue", "mail")
        require(_count(sqs, dead_url) == 0, f"{dead} still holds the message after the redrive")
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies = [message["Body"] for message in received.get("Messages", [])]
        require(body in bodies, f"the redriven message is not on vre-{STAGE}-mail (found {bodies})")
        return [f"1 message {dead} -> vre-{STAGE}-mail ({said.strip().splitlines()[-1]})"]


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


class _EndpointSession:
    """A boto3 session whose clients all talk to moto's endpoint."""

    def __init__(self, session: Any, endpoint: str) -> None:
        self._session = session
        self._endpoint = endpoint

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint)


def main() -> int:
    began = time.monotonic()
    moto = PatchedMoto()
    moto.start()
    scratch = Path(tempfile.mkdtemp(prefix="vre-rehearsal-"))
    try:
        print(f"rehearse: moto on {moto.url}; project copied to {scratch}", flush=True)
        Rehearsal(moto, copy_project(scratch)).run()
    except (RehearsalError, subprocess.TimeoutExpired, ClientError) as exc:
        print(f"rehearse: FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        moto.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"rehearse: every step passed in {time.monotonic() - began:.0f} s", flush=True)
    return 0
