"""DynamoDB round trips per request: constant whatever the data size, within DESIGN.md's budget, no Scan.

Counted through botocore's event hooks on every DynamoDB client the app creates. The large data
set lives in a region of its own, so it neither slows nor disturbs the rest of the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.auth.tokens import issue_session_token
from chalicelib.models.studies import MembershipRecord, StudyRecord
from chalicelib.models.workspace_records import WorkspaceEventRecord, WorkspaceRecord, event_record, workspace_record
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import new_id, utcnow
from chalicelib.services.studies.model import new_upload_code
from chalicelib.services.workspaces.lifecycle import Machine, Workspace, WorkspaceEvent, WorkspaceStatus
from chalicelib.wiring import Dependencies
from tests.conftest import ENVIRONMENT, RecordingMailQueue
from tests.support import dropoff, tusd
from tests.support.api import call
from tests.support.dynamodb_calls import AwsCalls, counting
from tests.support.iam_calls import Call
from tests.support.stack import template_applied
from tests.support.tusd import post_hook
from vre_app.seed import seed_reference

BUDGET = 3
MACHINE = Machine(
    "small",
    "rocky-9",
    "research",
    50,
    "Rocky Linux 9",
    "vre.small",
    "vre-research",
    2,
    8,
    False,
    Decimal("1.30"),
    "rocky",
)
REGION = "eu-central-1"
ROUTES = [
    "/studies",
    "/studies/{study_id}",
    "/studies/{study_id}/members",
    "/studies/{study_id}/audit",
    "/studies/{study_id}/uploads",
    "/universities",
    "/catalog",
    "/studies/{study_id}/workspaces",
    "/studies/{study_id}/usage",
    "/workspaces/{workspace_id}",
    "/workspaces/{workspace_id}/events",
    # The platform admins' lists (the owners here are platform admins too): Queries on an index, not Scans.
    "/admin/researchers",
    "/admin/workspaces",
    "/admin/workspaces?status=RUNNING",
    "/admin/studies",
    "/admin/audit",
]


@dataclass(frozen=True)
class Owner:
    headers: dict[str, str]
    study_id: str
    workspace_id: str


@dataclass(frozen=True)
class BudgetStack:
    calls: AwsCalls
    small: Owner
    large: Owner


def _owner(deps: Dependencies, studies: int, members: int, workspaces: int) -> Owner:
    """A researcher owning `studies` studies, the first with `members` more members and `workspaces`
    workspaces (the first with as many events), written in batches."""
    now = utcnow()
    owner = deps.researchers.add(
        Researcher(
            id=new_id(), email=f"{new_id()}@uni.example", name="Owner", created_at=now, updated_at=now, is_admin=True
        )
    )
    ids = [new_id() for _ in range(studies)]
    with StudyRecord.batch_write() as study_batch, MembershipRecord.batch_write() as member_batch:
        for study_id in ids:
            study_batch.save(
                StudyRecord(
                    id=study_id,
                    name="Study",
                    owner_id=owner.id,
                    upload_code=new_upload_code(),
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )
            member_batch.save(
                MembershipRecord(study_id=study_id, researcher_id=owner.id, role="owner", joined_at=now, version=1)
            )
        for _ in range(members):
            member_batch.save(
                MembershipRecord(study_id=ids[0], researcher_id=new_id(), role="viewer", joined_at=now, version=1)
            )
    workspace_ids = [new_id() for _ in range(workspaces)]
    with WorkspaceRecord.batch_write() as workspace_batch, WorkspaceEventRecord.batch_write() as event_batch:
        for workspace_id in workspace_ids:
            workspace_batch.save(
                workspace_record(
                    Workspace(
                        workspace_id,
                        ids[0],
                        owner.id,
                        "Box",
                        MACHINE,
                        WorkspaceStatus.RUNNING,
                        now,
                        now,
                        now + timedelta(days=90),
                        billing_started_at=now,
                        version=1,
                    )
                )
            )
            event_batch.save(
                event_record(WorkspaceEvent(workspace_ids[0], ids[0], WorkspaceStatus.RUNNING, now, owner.id))
            )
    token = issue_session_token(deps.token_policy, owner.id)
    return Owner({"Authorization": f"Bearer {token}"}, ids[0], workspace_ids[0])


@pytest.fixture(scope="module")
def budget_stack(moto_stack: Dependencies) -> Iterator[BudgetStack]:
    environ = ENVIRONMENT | {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "UPLOAD_BUCKET": f"vre-local-uploads-123456789012-{REGION}",
    }
    try:
        with counting(AwsCalls()) as counter, template_applied(environ):
            # Built now, with the hook in place, so every DynamoDB client it makes is counted.
            deps = wiring.dependencies()
            seed_reference(deps.references, deps.catalog)
            yield BudgetStack(counter, small=_owner(deps, 10, 10, 10), large=_owner(deps, 2000, 300, 300))
    finally:
        wiring.install(moto_stack)


@pytest.mark.parametrize("route", ROUTES)
def test_round_trips_are_few_and_do_not_grow_with_the_data(budget_stack: BudgetStack, route: str) -> None:
    counts = {}
    with Client(app, stage_name="local") as client:
        for label, owner in (("small", budget_stack.small), ("large", budget_stack.large)):
            url = route.format(study_id=owner.study_id, workspace_id=owner.workspace_id)
            operations = budget_stack.calls.during(
                lambda url=url, owner=owner: call(client, "GET", url, headers=owner.headers)  # type: ignore[misc]
            )
            assert "Scan" not in operations
            counts[label] = operations

    assert counts["small"] == counts["large"]
    assert 1 <= len(counts["small"]) <= BUDGET, counts["small"]


def test_the_tusd_hooks_stay_within_the_budget(budget_stack: BudgetStack) -> None:
    # GIVEN the large owner's study and its upload code; notices go to a recording queue
    deps = wiring.dependencies()
    wiring.install(replace(deps, mail_queue_override=RecordingMailQueue()))
    code = StudyRecord.get(budget_stack.large.study_id).upload_code
    try:
        with Client(app, stage_name="local") as client:
            counts: dict[str, list[str]] = {}
            answer: dict[str, Any] = {}

            def pre_create() -> None:
                answer.update(post_hook(client, tusd.pre_create(code))[1])

            counts["pre-create"] = budget_stack.calls.during(pre_create)
            tusd_id = answer["ChangeFileInfo"]["ID"]
            for kind in ("post-finish", "post-terminate"):
                body = tusd.hook(kind, tusd_id=tusd_id)
                counts[kind] = budget_stack.calls.during(
                    lambda body=body: post_hook(client, body)  # type: ignore[misc]
                )
    finally:
        wiring.install(deps)

    # THEN each hook makes at most three DynamoDB round trips, none a Scan
    for kind, operations in counts.items():
        assert "Scan" not in operations, kind
        assert 1 <= len(operations) <= BUDGET, (kind, operations)


def test_the_dropoff_routes_stay_within_the_budget(budget_stack: BudgetStack, aws_calls: list[Call]) -> None:
    # GIVEN the large owner's study and its upload code; notices go to a recording queue
    deps = wiring.dependencies()
    wiring.install(replace(deps, mail_queue_override=RecordingMailQueue()))
    owner = budget_stack.large
    code = StudyRecord.get(owner.study_id).upload_code
    data = b"budget data"
    counts: dict[str, list[str]] = {}
    try:
        with Client(app, stage_name="local") as client:
            # WHEN an upload is started, signed, sent, looked at, completed, fetched and deleted, and another aborted
            upload = dropoff.Started("", "", {})

            def begin() -> None:
                nonlocal upload
                upload = dropoff.started(client, code, data)

            counts["start"] = budget_stack.calls.during(begin)
            signed: dict[str, Any] = {}
            counts["parts"] = budget_stack.calls.during(
                lambda: signed.update(dropoff.sign(client, upload, {1: dropoff.sha_b64(data)})[1])
            )
            (part,) = signed["parts"]
            assert requests.put(part["url"], data=data, headers=part["headers"], timeout=30).status_code == 200
            base = f"/dropoff/uploads/{upload.upload_id}"
            counts["progress"] = budget_stack.calls.during(lambda: call(client, "GET", base, headers=upload.headers))
            counts["complete"] = budget_stack.calls.during(
                lambda: dropoff.complete(client, upload, dropoff.sha_hex(data))
            )
            counts["complete again"] = budget_stack.calls.during(
                lambda: dropoff.complete(client, upload, dropoff.sha_hex(data))
            )
            study_upload = f"/studies/{owner.study_id}/uploads/{upload.upload_id}"
            counts["download"] = budget_stack.calls.during(
                lambda: call(client, "GET", study_upload + "/download", headers=owner.headers)
            )
            counts["delete"] = budget_stack.calls.during(
                lambda: call(client, "DELETE", study_upload, headers=owner.headers)
            )
            other = dropoff.started(client, code, data)
            counts["abort"] = budget_stack.calls.during(
                lambda: call(client, "DELETE", f"/dropoff/uploads/{other.upload_id}", headers=other.headers)
            )
    finally:
        wiring.install(deps)

    # The bucket's name holds its region, which the IAM check renders as the session's: the S3 calls of this
    # region are checked by tests/api/test_dropoff.py in that one.
    aws_calls[:] = [c for c in aws_calls if not c.operation.startswith("s3:")]

    # THEN each makes at most three DynamoDB round trips, none a Scan
    assert upload.upload_id
    for route, operations in counts.items():
        assert "Scan" not in operations, route
        assert 1 <= len(operations) <= BUDGET, (route, operations)
