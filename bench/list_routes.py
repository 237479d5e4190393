"""DynamoDB calls and latency per request for every list route, at 10 and at 10,000 items.

The list routes are the app's own: every GET operation that answers a page. Each one's items
are written straight to the tables (batch writes, through the models' own record mapping) by a
seeder in SEEDERS; a list route without one is reported loudly, never skipped quietly.
Requests go through the Chalice app in this process (an API Gateway event, as Lambda gets it)
to a moto server on loopback; DynamoDB calls are counted through botocore's event hooks, by the
counter tests/api/test_budgets.py uses (tests/support/dynamodb_calls.py). DESIGN.md's budget: at
most 3 calls, the same at both sizes.
Latency is moto's, not DynamoDB's: moto filters a partition in Python, so it grows with the
data where DynamoDB would not; the call count is the figure that carries over to AWS.
Run: `make bench` (or `.venv/bin/python -m bench.list_routes --requests 21`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any

from pynamodb.models import Model

from chalicelib import wiring
from chalicelib.api import operations
from chalicelib.auth.principal import credential_key, hash_secret
from chalicelib.auth.tokens import issue_session_token
from chalicelib.models.audit import audit_record
from chalicelib.models.credentials import credential_record
from chalicelib.models.invitations import invitation_record
from chalicelib.models.reference import ReferenceRecord
from chalicelib.models.researchers import to_record
from chalicelib.models.studies import membership_record, study_record
from chalicelib.models.uploads import upload_record
from chalicelib.models.workspace_records import event_record, workspace_record
from chalicelib.services.accounts.model import Credential, CredentialKind, Researcher
from chalicelib.services.common.model import AuditEntry, AuditOutcome, new_id, utcnow
from chalicelib.services.dropoff.model import Upload, UploadStatus
from chalicelib.services.studies.model import Invitation, Membership, Role, Study, new_upload_code
from chalicelib.services.studies.reference import RESEARCH_FIELDS, UNIVERSITIES
from chalicelib.services.workspaces.lifecycle import Machine, Workspace, WorkspaceEvent, WorkspaceStatus
from tests.support.dynamodb_calls import AwsCalls, counting

SIZES = (10, 10_000)
BUDGET = 3


@dataclass(frozen=True)
class World:
    """The caller (a platform admin, so every list answers) and the moment the data was made."""

    caller: Researcher
    now: datetime

    def researcher(self, name: str = "Member") -> Researcher:
        return Researcher(
            id=new_id(), email=f"{new_id()}@uni.example", name=name, created_at=self.now, updated_at=self.now
        )

    def study(self, owner_id: str) -> tuple[Study, Membership]:
        study = Study(
            id=new_id(),
            name="Bench study",
            owner_id=owner_id,
            upload_code=new_upload_code(),
            created_at=self.now,
            updated_at=self.now,
            version=1,
        )
        return study, Membership(study.id, owner_id, Role.OWNER, self.now, version=1)

    def invitation(self, study_id: str, email: str, index: int) -> Invitation:
        return Invitation(
            id=new_id(),
            study_id=study_id,
            email=email,
            role=Role.VIEWER,
            inviter_id=self.caller.id,
            token_hash=hash_secret(new_id()),
            expires_at=self.now + timedelta(days=14),
            created_at=self.now + timedelta(microseconds=index),
            updated_at=self.now,
            version=1,
        )


MACHINE = Machine(
    "small", "rocky-9", "research", 50, "Rocky Linux 9", "vre.small", "vre-research", 2, 8, False, Decimal("1.30")
)


def _workspace(world: World, study_id: str, index: int) -> Workspace:
    at = world.now + timedelta(microseconds=index)
    status = WorkspaceStatus.RUNNING if index % 2 else WorkspaceStatus.STOPPED
    return Workspace(
        new_id(), study_id, world.caller.id, f"Box {index}", MACHINE, status, at, at, at + timedelta(days=90), version=1
    )


# What a seeder returns: the route's path parameters, once its `n` items are in the tables.
Seeder = Callable[[World, int], dict[str, str]]


def _write(records: Iterable[Model]) -> None:
    """Batch writes, one batch per table."""
    for _, same_table in groupby(records, key=type):
        batch_of: list[Model] = list(same_table)
        with type(batch_of[0]).batch_write() as batch:
            for record in batch_of:
                batch.save(record)


def _owned_study(world: World) -> str:
    study, owner = world.study(world.caller.id)
    _write([study_record(study)])
    _write([membership_record(owner)])
    return study.id


def seed_studies(world: World, n: int) -> dict[str, str]:
    studies = [world.study(world.caller.id) for _ in range(n)]
    _write(study_record(study) for study, _ in studies)
    _write(membership_record(owner) for _, owner in studies)
    return {}


def seed_members(world: World, n: int) -> dict[str, str]:
    study_id = _owned_study(world)
    others = [world.researcher() for _ in range(n - 1)]
    _write(to_record(researcher) for researcher in others)
    _write(membership_record(Membership(study_id, r.id, Role.VIEWER, world.now, version=1)) for r in others)
    return {"study_id": study_id}


def seed_audit(world: World, n: int) -> dict[str, str]:
    study_id = _owned_study(world)
    _write(
        audit_record(
            AuditEntry(
                study_id, world.caller.id, "study.update", study_id, AuditOutcome.SUCCESS, world.now + timedelta(0, i)
            )
        )
        for i in range(n)
    )
    return {"study_id": study_id}


def seed_study_invitations(world: World, n: int) -> dict[str, str]:
    study_id = _owned_study(world)
    _write(invitation_record(world.invitation(study_id, f"{new_id()}@uni.example", i)) for i in range(n))
    return {"study_id": study_id}


def seed_my_invitations(world: World, n: int) -> dict[str, str]:
    studies = [world.study(world.researcher().id)[0] for _ in range(n)]
    _write(study_record(study) for study in studies)
    _write(invitation_record(world.invitation(study.id, world.caller.email, i)) for i, study in enumerate(studies))
    return {}


def seed_tokens(world: World, n: int) -> dict[str, str]:
    _write(
        credential_record(
            Credential(
                key=credential_key(CredentialKind.API_TOKEN, new_id()[:16]),
                kind=CredentialKind.API_TOKEN,
                expires_at=None,
                created_at=world.now + timedelta(microseconds=i),
                owner_id=world.caller.id,
                name=f"token {i}",
                secret_hash=hash_secret(new_id()),
            )
        )
        for i in range(n)
    )
    return {}


def _reference(kind: str) -> Seeder:
    def seed(world: World, n: int) -> dict[str, str]:
        _write(ReferenceRecord(kind=kind, id=f"{kind}-{i:05d}", name=f"{kind} {i}", attributes={}) for i in range(n))
        return {}

    return seed


def seed_platform_studies(world: World, n: int) -> dict[str, str]:
    studies = [world.study(world.caller.id) for _ in range(n)]
    _write(study_record(study) for study, _ in studies)
    return {}


def seed_platform_audit(world: World, n: int) -> dict[str, str]:
    # Spread over studies and the platform's own partition, as the log is.
    scopes = [new_id() for _ in range(max(1, n // 100))] + [""]
    _write(
        audit_record(
            AuditEntry(
                scopes[i % len(scopes)],
                world.caller.id,
                "study.update",
                "study",
                AuditOutcome.SUCCESS,
                world.now + timedelta(microseconds=i),
            )
        )
        for i in range(n)
    )
    return {}


def seed_researchers(world: World, n: int) -> dict[str, str]:
    _write(to_record(world.researcher()) for _ in range(n - 1))
    return {}


def seed_study_workspaces(world: World, n: int) -> dict[str, str]:
    study_id = _owned_study(world)
    _write(workspace_record(_workspace(world, study_id, i)) for i in range(n))
    return {"study_id": study_id}


def seed_all_workspaces(world: World, n: int) -> dict[str, str]:
    # Spread over studies, as a platform's workspaces are; the route lists them all.
    study_ids = [_owned_study(world) for _ in range(max(1, n // 100))]
    _write(workspace_record(_workspace(world, study_ids[i % len(study_ids)], i)) for i in range(n))
    return {}


def seed_events(world: World, n: int) -> dict[str, str]:
    workspace = _workspace(world, _owned_study(world), 0)
    _write([workspace_record(workspace)])
    _write(
        event_record(
            WorkspaceEvent(
                workspace.id, workspace.study_id, WorkspaceStatus.RUNNING, world.now + timedelta(0, i), world.caller.id
            )
        )
        for i in range(n)
    )
    return {"workspace_id": workspace.id}


def seed_uploads(world: World, n: int) -> dict[str, str]:
    study_id = _owned_study(world)

    def upload(index: int) -> Upload:
        upload_id, at = new_id(), world.now + timedelta(microseconds=index)
        return Upload(
            upload_id, f"{study_id}/{upload_id}", study_id, f"data-{index}.csv", 10, 10, UploadStatus.RECEIVED, at, at
        )

    _write(upload_record(upload(i)) for i in range(n))
    return {"study_id": study_id}


SEEDERS: dict[str, Seeder] = {
    "/studies": seed_studies,
    "/studies/{study_id}/members": seed_members,
    "/studies/{study_id}/audit": seed_audit,
    "/studies/{study_id}/invitations": seed_study_invitations,
    "/me/invitations": seed_my_invitations,
    "/me/tokens": seed_tokens,
    "/universities": _reference(UNIVERSITIES),
    "/research-fields": _reference(RESEARCH_FIELDS),
    "/admin/researchers": seed_researchers,
    "/admin/workspaces": seed_all_workspaces,
    "/admin/studies": seed_platform_studies,
    "/admin/audit": seed_platform_audit,
    "/studies/{study_id}/workspaces": seed_study_workspaces,
    "/workspaces/{workspace_id}/events": seed_events,
    "/studies/{study_id}/uploads": seed_uploads,
}


def list_routes() -> list[str]:
    """Every GET operation that answers a page, as the app registers it."""
    return sorted(op.path for op in operations() if op.paged and op.method == "GET")


def _event(path: str, params: dict[str, str], token: str) -> dict[str, Any]:
    concrete = path.format(**params)
    headers = {"authorization": f"Bearer {token}"}
    return {
        "resource": path,
        "path": concrete,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": "GET", "requestId": "bench", "path": f"/api{concrete}"},
        "body": None,
        "isBase64Encoded": False,
    }


@dataclass(frozen=True)
class Figure:
    route: str
    size: int
    calls: list[str]
    steady: bool
    times_ms: list[float]

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(size: int, routes: list[str], requests: int, counter: AwsCalls) -> Iterator[Figure]:
    """One fresh moto per size: seed every route, then time `requests` calls of each."""
    from app import app
    from tests.support.stack import moto_server

    with moto_server():
        deps = wiring.dependencies()
        now = utcnow()
        # Verified, so GET /me/invitations answers (it refuses an address the identity provider did not verify).
        caller = deps.researchers.add(
            Researcher(
                id=new_id(),
                email="bench@uni.example",
                name="Bench",
                created_at=now,
                updated_at=now,
                is_admin=True,
                email_verified=True,
            )
        )
        world = World(caller, now)
        token = issue_session_token(deps.token_policy, caller.id)
        for route in routes:
            started = time.perf_counter()
            params = SEEDERS[route](world, size)
            seeded_s = time.perf_counter() - started
            event = _event(route, params, token)
            answer = app(event, None)  # warm: the first call builds clients and caches
            assert answer["statusCode"] == 200, (route, answer)
            runs: list[tuple[list[str], float]] = []
            for _ in range(requests):
                began = time.perf_counter()
                calls = counter.during(lambda event=event: app(event, None))  # type: ignore[misc]
                runs.append((calls, (time.perf_counter() - began) * 1000))
            first = runs[0][0]
            print(f"  seeded {size:>6} items for GET {route} in {seeded_s:.1f} s", flush=True)
            yield Figure(route, size, first, all(calls == first for calls, _ in runs), [ms for _, ms in runs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=21, help="timed requests per route and size")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="item counts, comma-separated")
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(","))

    routes = list_routes()
    missing = [route for route in routes if route not in SEEDERS]
    seeded = [route for route in routes if route in SEEDERS]
    with counting(AwsCalls()) as counter:
        figures = [figure for size in sizes for figure in measure(size, seeded, args.requests, counter)]

    print(f"\nlist routes: DynamoDB calls and latency per request ({args.requests} requests each, default page of 25)")
    print("in-process Chalice app -> moto server on loopback; latency is moto's (it scans in Python), calls are AWS's")
    print(f"{'route':<36}{'items':>7}{'calls':>7}  {'operations':<38}{'median ms':>10}{'p95 ms':>8}")
    misses: list[str] = []
    for route in seeded:
        at = {figure.size: figure for figure in figures if figure.route == route}
        for size in sizes:
            figure = at[size]
            note = "" if figure.steady else "  (varied between requests)"
            print(
                f"{'GET ' + route:<36}{size:>7}{len(figure.calls):>7}  {','.join(figure.calls):<38}"
                f"{statistics.median(figure.times_ms):>10.1f}{figure.p95:>8.1f}{note}"
            )
        counts = {len(at[size].calls) for size in sizes}
        same = len(counts) == 1 and all(at[size].steady for size in sizes)
        scans = any("Scan" in at[size].calls for size in sizes)
        if not same or max(counts) > BUDGET or scans:
            misses.append(f"GET {route}" + (" (Scan)" if scans else ""))
    print(f"budget: at most {BUDGET} calls, the same at {sizes[0]:,} and {sizes[-1]:,} items, no Scan: ", end="")
    print(f"NOT MET by {', '.join(misses)}" if misses else "met by every seeded list route")
    for route in missing:
        print(f"!!! NO SEEDER for list route GET {route}: add one to SEEDERS in bench/list_routes.py !!!")


if __name__ == "__main__":
    main()
