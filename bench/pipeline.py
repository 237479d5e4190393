"""Pipeline throughput: N workspaces from request to RUNNING through the local stack, against moto's floor.

Each workspace is asked for through the HTTP API (the Chalice app in this process, `POST
/studies/{id}/workspaces`), and the provisioning queue is fed to the app's own SQS handler by
the local stack's pump (`vre_app/local/pump.py`, one batch at a time, in this thread), which
talks to the local OpenStack (servers boot in 0.2 s) and to a moto server on loopback.
The first check is immediate and the next ones come a second later (`DelaySeconds`, which
moto honours), so the wall time includes waiting on the queue: "busy" is the time spent in
requests and in batches that carried messages, which is what CPU the pipeline costs.

The floor is the least the pipeline could ask of the same moto server for the same N, made
directly with boto3 one call at a time: per workspace one TransactWriteItems of 5 items (the
request: quota counter, workspace, its event, audit entry, idempotency key) and two of 2 items
(REQUESTED -> PROVISIONING -> RUNNING, each a workspace and its event); per provisioning message
the pipeline actually used one SendMessage, one ReceiveMessage and one DeleteMessage. Its items
are keys plus a payload of about the real records' size, so the index upkeep is less than the
pipeline's: it is a floor, not a replica.
Run: `make bench` (or `.venv/bin/python -m bench.pipeline --n 50`).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.support.dynamodb_calls import AwsCalls, counting
from tests.support.stack import moto_server

WORKSPACES = 50
# The settings' ceiling for a study's quota: one study holds at most this many workspaces.
MAX_WORKSPACES = 1000
BOOT_SECONDS = 0.2
PAYLOAD = "x" * 400  # about the size of an event or audit record's attributes
SETTINGS = {
    "WORKSPACE_FIRST_CHECK_SECONDS": "0",
    "WORKSPACE_CHECK_INTERVAL_SECONDS": "1",
    "VRW_ENABLED": "false",
    "WORKSPACE_QUOTA_WORKSPACES": str(MAX_WORKSPACES),
    "WORKSPACE_QUOTA_VCPUS": "100000",
}
TIMEOUT_SECONDS = 300.0


@dataclass
class PipelineRun:
    wall: float
    requests: float
    batches: float
    messages: int
    batch_count: int
    openstack: dict[str, Any]
    aws: Counter[str]

    @property
    def busy(self) -> float:
        return self.requests + self.batches


def _pipeline(n: int, calls: AwsCalls, environ: dict[str, str], token: str, openstack: Any) -> PipelineRun:
    from chalice.test import Client

    from chalicelib import wiring
    from chalicelib.services.workspaces.lifecycle import WorkspaceStatus
    from vre_app.local.pump import load_app, process_batch, sqs_handlers, subscribe
    from vre_app.seed import seed_reference

    deps = wiring.dependencies()
    seed_reference(deps.references, deps.catalog)
    app = load_app()
    sqs = boto3.client("sqs", endpoint_url=environ["AWS_ENDPOINT_URL"])
    provisioning = next(s for s in subscribe(sqs, sqs_handlers(app)) if s.handler.name == "provision_workspaces")
    queue_urls = {
        s: sqs.get_queue_url(QueueName=deps.settings.queue_name(s))["QueueUrl"] for s in ("provisioning", "mail")
    }
    os.environ.update({"PROVISIONING_QUEUE_URL": queue_urls["provisioning"], "MAIL_QUEUE_URL": queue_urls["mail"]})
    wiring.reset()
    deps = wiring.dependencies()
    deps.workspace_settings  # noqa: B018  (built now from this environment, not the test client's stage variables)

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with Client(app, stage_name="local") as client:
        answer = client.http.post("/studies", headers=headers, body=json.dumps({"name": "Pipeline bench"}).encode())
        assert answer.status_code == 201, answer.body
        study_id = json.loads(answer.body)["id"]
        openstack.reset(calls_only=True)

        calls.take()
        calls.recording = True
        started = time.perf_counter()
        workspace_ids = []
        for index in range(n):
            body = {"name": f"bench-{index}", "profile": "small", "operating_system": "rocky-9"}
            answer = client.http.post(
                f"/studies/{study_id}/workspaces",
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                body=json.dumps(body).encode(),
            )
            assert answer.status_code == 202, answer.body
            workspace_ids.append(json.loads(answer.body)["id"])
        requests = time.perf_counter() - started

    batches, messages, batch_count = 0.0, 0, 0
    pending = set(workspace_ids)
    while pending:
        if time.perf_counter() - started > TIMEOUT_SECONDS:
            raise SystemExit(f"{len(pending)} of {n} workspaces not RUNNING after {TIMEOUT_SECONDS:.0f} s")
        began = time.perf_counter()
        result = process_batch(sqs, provisioning, wait_seconds=0)
        if result.received:
            batches += time.perf_counter() - began
            messages += result.received
            batch_count += 1
            continue
        # The queue is empty for now (checks wait on their delay): see who is done, outside the count.
        calls.recording = False
        for workspace_id in list(pending):
            workspace = deps.workspaces.get(workspace_id)
            assert workspace is not None
            if workspace.status is WorkspaceStatus.RUNNING:
                pending.discard(workspace_id)
            elif workspace.status is WorkspaceStatus.FAILED:
                raise SystemExit(f"workspace {workspace_id} FAILED: {workspace.status_reason}")
        calls.recording = True
        if pending:
            time.sleep(0.05)
    wall = time.perf_counter() - started
    calls.recording = False
    return PipelineRun(wall, requests, batches, messages, batch_count, openstack.calls(), Counter(calls.take()))


def _item(dynamodb: Any, table: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh item for `table`: its key attributes with new values, and a payload."""
    description = dynamodb.describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    item: dict[str, Any] = dict(payload or {"payload": {"S": PAYLOAD}})
    for key in description["KeySchema"]:
        name = key["AttributeName"]
        item[name] = {"N": str(uuid.uuid4().int % 10**12)} if types[name] == "N" else {"S": str(uuid.uuid4())}
    return item


def _floor(
    n: int, messages: int, environ: dict[str, str], workspace_item: dict[str, Any]
) -> tuple[float, Counter[str]]:
    """The floor's seconds for `n` workspaces and `messages` provisioning messages, and its operations."""
    prefix = environ["TABLE_PREFIX"]
    dynamodb = boto3.client("dynamodb", endpoint_url=environ["AWS_ENDPOINT_URL"])
    sqs = boto3.client("sqs", endpoint_url=environ["AWS_ENDPOINT_URL"])
    queue = sqs.create_queue(QueueName=f"floor-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    tables = {name: prefix + name for name in ("ledger", "workspaces", "workspace_events", "audit")}
    # Items made up front: describing the tables is not the pipeline's work.
    requests = [
        [
            _item(dynamodb, tables["ledger"]),
            _item(dynamodb, tables["workspaces"], workspace_item),
            _item(dynamodb, tables["workspace_events"]),
            _item(dynamodb, tables["audit"]),
            _item(dynamodb, tables["ledger"]),
        ]
        for _ in range(n)
    ]
    moves = [
        [_item(dynamodb, tables["workspaces"], workspace_item), _item(dynamodb, tables["workspace_events"])]
        for _ in range(2 * n)
    ]
    operations: Counter[str] = Counter()

    def put(items: list[dict[str, Any]], tables_in_order: list[str]) -> None:
        dynamodb.transact_write_items(
            TransactItems=[{"Put": {"TableName": t, "Item": i}} for t, i in zip(tables_in_order, items, strict=True)]
        )
        operations[f"dynamodb.TransactWriteItems ({len(items)} items)"] += 1

    started = time.perf_counter()
    for items in requests:
        put(items, [tables[t] for t in ("ledger", "workspaces", "workspace_events", "audit", "ledger")])
    for items in moves:
        put(items, [tables["workspaces"], tables["workspace_events"]])
    body = json.dumps({"kind": "check", "workspace_id": str(uuid.uuid4()), "token": str(uuid.uuid4())})
    for _ in range(messages):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, WaitTimeSeconds=0)["Messages"]
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=received[0]["ReceiptHandle"])
    operations.update({"sqs.SendMessage": messages, "sqs.ReceiveMessage": messages, "sqs.DeleteMessage": messages})
    return time.perf_counter() - started, operations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=WORKSPACES, help=f"workspaces (1-{MAX_WORKSPACES})")
    args = parser.parse_args()
    if not 1 <= args.n <= MAX_WORKSPACES:
        parser.error(f"--n must be 1-{MAX_WORKSPACES}: one study's quota can be at most {MAX_WORKSPACES}")
    n = args.n

    from vre_app.local.openstack import Knobs, LocalOpenStack

    saved = dict(os.environ)
    try:
        with (
            # Before this run's clients exist: botocore copies the built-in handlers when it makes a session.
            counting(AwsCalls(service=None)) as calls,
            LocalOpenStack(port=0, knobs=Knobs(boot_seconds=BOOT_SECONDS)) as openstack,
            tempfile.TemporaryDirectory() as folder,
            moto_server() as stack,
        ):
            os.environ.update(SETTINGS)
            os.environ["OS_CLIENT_CONFIG_FILE"] = str(openstack.write_clouds_yaml(Path(folder) / "clouds.yaml"))
            from chalicelib import wiring

            wiring.reset()
            token, _ = stack.researcher_token()
            run = _pipeline(n, calls, stack.environ, token, openstack)
            table = stack.environ["TABLE_PREFIX"] + "workspaces"
            one = boto3.client("dynamodb", endpoint_url=stack.environ["AWS_ENDPOINT_URL"]).scan(
                TableName=table, Limit=1
            )["Items"][0]
            floor, floor_operations = _floor(n, run.messages, stack.environ, one)
    finally:
        os.environ.clear()
        os.environ.update(saved)

    osc = run.openstack
    print(f"pipeline: {n} workspaces, request to RUNNING through the local stack (boot {BOOT_SECONDS} s,")
    print("  first check at once, then every 1 s), one pump in this thread, in-process app -> moto on loopback")
    print(
        f"  wall {run.wall:.2f} s ({n / run.wall:.1f} workspaces/s), busy {run.busy:.2f} s "
        f"({n / run.busy:.1f} workspaces/s): requests {run.requests:.2f} s "
        f"({run.requests / n * 1000:.0f} ms each), {run.batch_count} batches {run.batches:.2f} s"
    )
    print(
        f"  provisioning messages handled: {run.messages} ({run.messages / n:.2f} per workspace; "
        "converge, the first check, and the checks while it booted)"
    )
    print(
        f"  OpenStack calls: {osc['total']} ({osc['total'] / n:.2f} per workspace; budget 4), "
        f"{osc['auths']} Keystone authentication(s) (one Lambda, connected on its first batch)"
    )
    print(f"  by kind: {osc['by_kind']}")
    aws_total = sum(run.aws.values())
    print(f"  AWS calls: {aws_total} ({aws_total / n:.1f} per workspace): {dict(sorted(run.aws.items()))}")
    floor_total = sum(floor_operations.values())
    print(
        f"floor: the same moto server, boto3, one call at a time: {floor_total} calls "
        f"({floor_total / n:.1f} per workspace)"
    )
    print(f"  {dict(floor_operations)}")
    print(f"  {floor:.2f} s ({floor / n * 1000:.0f} ms per workspace)")
    print(f"ratio: pipeline busy / floor {run.busy / floor:.2f}, pipeline wall / floor {run.wall / floor:.2f}")


if __name__ == "__main__":
    main()
