"""Shared fixtures: a clean environment, moto with the real template applied, and factories."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from chalicelib import wiring
from chalicelib.auth.tokens import issue_session_token
from chalicelib.config import reset_settings
from chalicelib.services.accounts.api_tokens import create_token
from chalicelib.services.accounts.identity import Identity, LoginError, LoginFailure
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import AuditEntry, AuditOutcome, new_id, utcnow
from chalicelib.services.messages import MailMessage
from chalicelib.services.studies.model import Membership, Role
from chalicelib.services.studies.studies import create_study
from chalicelib.wiring import Dependencies
from tests.support.fakes import wire
from tests.support.fakes_workspaces import FakeCloud, RecordingProvisioningQueue
from tests.support.iam_calls import Call, CallRecorder, ungranted
from tests.support.stack import template_applied
from vre_app.seed import seed_reference

SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789"
TUSD_HOOK_SECRET = "test-tusd-hook-secret-0123456789abcdef"
# VRW's webhook secret in the tests (Standard Webhooks form: whsec_ + base64 of 32 bytes).
VRW_SECRET = "whsec_dGVzdC12cnctd2ViaG9vay1zZWNyZXQtMzItYnl0ZXM="


ENVIRONMENT = {
    "STAGE": "local",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "SESSION_SIGNING_KEY": SIGNING_KEY,
    "UPLOAD_BASE_URL": "https://upload.test/u/",
    "TUSD_HOOK_SECRET": TUSD_HOOK_SECRET,
    # The template's uploads bucket in moto's default account.
    "UPLOAD_BUCKET": "vre-local-uploads-123456789012-eu-west-1",
    # S3's least part size, so a test file of a few parts stays small.
    "UPLOAD_PART_BYTES": str(5 * 1024**2),
    # A booted workspace is RUNNING at once in these tests; the VRW tests turn VRW on where they need it.
    "VRW_ENABLED": "false",
    "VRW_WEBHOOK_SECRET": VRW_SECRET,
}
UNSET_ENVIRONMENT = ("AWS_ENDPOINT_URL", "TABLE_PREFIX", "SENTRY_DSN", "AWS_PROFILE")


def _apply_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in UNSET_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


# Every AWS call the deployed code makes in any test is checked against its function's IAM policy.
_AWS_CALLS = CallRecorder()
_AWS_CALLS.install()


@pytest.fixture(autouse=True)
def aws_calls() -> Iterator[list[Call]]:
    """The AWS calls this test's deployed code made, by function; one that the function's policy
    (infra/policies/<function>.json) does not grant fails the test."""
    with _AWS_CALLS.recording() as calls:
        yield calls
    problems = ungranted(calls)
    if problems:
        pytest.fail("IAM policy does not grant what the code calls:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with the local stage's settings, fake AWS credentials and no endpoint."""
    _apply_environment(monkeypatch)
    reset_settings()
    yield
    reset_settings()


@pytest.fixture(scope="session")
def moto_stack() -> Iterator[Dependencies]:
    """moto in-process for the whole session (per xdist worker), with `infra/template.yaml` applied
    and the reference data seeded. Each test starts from the seeded tables (`aws`); ids are random all
    the same, so a test never depends on what another left behind."""
    with mock_aws(), template_applied(ENVIRONMENT, unset=UNSET_ENVIRONMENT):
        built = replace(
            wiring.dependencies(),
            mail_queue_override=RecordingMailQueue(),
            provisioning_queue_override=RecordingProvisioningQueue(),
            cloud_override=FakeCloud(),
        )
        wiring.install(built)
        seed_reference(built.references, built.catalog)
        _SEEDED.update(_dynamodb_items())
        yield built


# What the tables hold once the template is applied and the reference data seeded.
_SEEDED: dict[str, Any] = {}


def _dynamodb_items() -> dict[str, Any]:
    """A deep copy of every item of every table in the session's moto (its own storage, not a Scan)."""
    tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][ENVIRONMENT["AWS_REGION"]].tables
    return {name: copy.deepcopy(table.items) for name, table in tables.items()}


def _restore_seeded_tables() -> None:
    # moto keeps the session's tables in memory and answers a Query on an index by walking every item, so
    # a session that kept what each test wrote would slow every test after it and grow to gigabytes.
    tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][ENVIRONMENT["AWS_REGION"]].tables
    for name, table in tables.items():
        table.items = copy.deepcopy(_SEEDED[name])


@pytest.fixture
def aws(moto_stack: Dependencies) -> Iterator[None]:
    """The session's moto, with the tables as seeded and the session's wiring in place for this test."""
    _restore_seeded_tables()
    wiring.install(moto_stack)
    yield
    wiring.reset()


@pytest.fixture
def deps(aws: None, moto_stack: Dependencies) -> Dependencies:
    """The real DynamoDB repositories, on moto, with the reference data seeded."""
    return moto_stack


class RecordingMailQueue:
    """The mail queue as the API tests see it: every message kept, in order."""

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.typed: list[MailMessage] = []

    def send(self, message: MailMessage) -> None:
        self.typed.append(message)
        self.messages.append(wire(message))

    def last_token_for(self, invitation_id: str) -> str:
        """The token in the newest invitation mail for this invitation."""
        for message in reversed(self.messages):
            if message["type"] == "invitation" and message["invitation_id"] == invitation_id:
                return message["token"]
        raise AssertionError(f"no invitation mail queued for {invitation_id}")


@pytest.fixture
def mail_queue(deps: Dependencies) -> RecordingMailQueue:
    queue = deps.mail_queue
    assert isinstance(queue, RecordingMailQueue)
    return queue


class FakeIdentityProvider:
    """An identity provider that says whatever a test tells it to: identities by authorization code."""

    issuer = "https://idp.test"

    def __init__(self) -> None:
        self.identities: dict[str, Identity] = {}
        self.exchanges: list[dict[str, str]] = []
        self.challenges: list[str] = []

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        self.challenges.append(code_challenge)
        query = urlencode({"state": state, "nonce": nonce, "code_challenge": code_challenge})
        return f"https://idp.test/authorize?{query}"

    def exchange(self, *, code: str, code_verifier: str, nonce: str) -> Identity:
        self.exchanges.append({"code": code, "code_verifier": code_verifier, "nonce": nonce})
        if code not in self.identities:
            raise LoginError(detail="The identity provider refused the code.", reason=LoginFailure.CODE_INVALID)
        return self.identities[code]


@pytest.fixture
def identity_provider(deps: Dependencies) -> Iterator[FakeIdentityProvider]:
    """A fake provider wired in for this test."""
    fake = FakeIdentityProvider()
    wiring.install(replace(deps, provider_override=fake))
    yield fake
    wiring.install(deps)


@pytest.fixture
def client(deps: Dependencies) -> Iterator[Client]:
    """The real app through `chalice.test.Client`, on the local stage's configuration."""
    from app import app

    with Client(app, stage_name="local") as test_client:
        yield test_client


@dataclass(frozen=True)
class Person:
    researcher: Researcher
    token: str

    @property
    def id(self) -> str:
        return self.researcher.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def person(deps: Dependencies) -> Callable[..., Person]:
    """Make a researcher and a session token for them."""

    def make(name: str = "researcher", *, is_admin: bool = False, email_verified: bool = True) -> Person:
        # The moto tables live for the whole session: every person is new, whatever their name.
        email = f"{name}.{uuid.uuid4().hex[:12]}@uni.example"
        now = utcnow()
        researcher = deps.researchers.add(
            Researcher(
                id=new_id(),
                email=email,
                name=name.title(),
                created_at=now,
                updated_at=now,
                is_admin=is_admin,
                email_verified=email_verified,
            )
        )
        return Person(researcher, issue_session_token(deps.token_policy, researcher.id))

    return make


def join(deps: Dependencies, study_id: str, member: Person, role: Role, by: Person) -> None:
    """Make `member` a member of the study (invitations do this through the API later)."""
    now = utcnow()
    deps.studies.add_member(
        Membership(study_id, member.id, role, now),
        AuditEntry(study_id, by.id, "member.added", f"researcher:{member.id}", AuditOutcome.SUCCESS, now),
    )


@dataclass(frozen=True)
class StudyCast:
    """A study with one researcher in every role, plus a stranger and a platform admin."""

    study_id: str
    owner: Person
    admin: Person
    contributor: Person
    viewer: Person
    stranger: Person
    platform_admin: Person
    owner_token: Person  # the owner again, with a personal API token instead of a session

    def by_role(self, role: str) -> Person:
        return getattr(self, role)  # type: ignore[no-any-return]


@pytest.fixture
def cast(deps: Dependencies, person: Callable[..., Person]) -> StudyCast:
    owner = person("owner")
    study = create_study(owner.researcher, deps.studies, deps.references, name="Cohort study")
    members = {role: person(role.value) for role in (Role.ADMIN, Role.CONTRIBUTOR, Role.VIEWER)}
    for role, member in members.items():
        join(deps, study.study.id, member, role, owner)
    return StudyCast(
        study_id=study.study.id,
        owner=owner,
        admin=members[Role.ADMIN],
        contributor=members[Role.CONTRIBUTOR],
        viewer=members[Role.VIEWER],
        stranger=person("stranger"),
        platform_admin=person("platformadmin", is_admin=True),
        owner_token=Person(
            owner.researcher, create_token(owner.researcher, deps.credentials, name="cli", expires_at=None).secret
        ),
    )
