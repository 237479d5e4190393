"""Shared fixtures: a clean environment, moto with the real template applied, and factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from chalicelib import wiring
from chalicelib.auth.tokens import issue_session_token
from chalicelib.services.domain import AuditEntry, Membership, Outcome, Researcher, Role, utcnow
from chalicelib.services.researchers import ensure_researcher
from chalicelib.services.studies import create_study
from chalicelib.wiring import Dependencies
from vre_app.infra import apply_template
from vre_app.seed import seed_reference

SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with the local stage's settings, fake AWS credentials and no endpoint."""
    for name, value in {
        "STAGE": "local",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "SESSION_SIGNING_KEY": SIGNING_KEY,
        "UPLOAD_BASE_URL": "https://upload.test/u/",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "TABLE_PREFIX", "SENTRY_DSN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process, with `infra/template.yaml` applied for the local stage."""
    with mock_aws():
        apply_template(boto3.client("cloudformation", region_name="eu-west-1"), "local")
        yield


@pytest.fixture
def deps(aws: None) -> Dependencies:
    """The real DynamoDB repositories, on moto, with the reference data seeded."""
    built = wiring.dependencies()
    seed_reference(built.references)
    return built


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
    counter = iter(range(1_000_000))

    def make(name: str = "", *, is_admin: bool = False) -> Person:
        n = next(counter)
        name = name or f"researcher{n}"
        researcher = ensure_researcher(deps.researchers, email=f"{name}@uni{n}.example", name=name.title())
        if is_admin:
            researcher = deps.researchers.save(_replace_admin(researcher))
        return Person(researcher, issue_session_token(deps.token_policy, researcher.id))

    return make


def _replace_admin(researcher: Researcher) -> Researcher:
    from dataclasses import replace

    return replace(researcher, is_admin=True)


def join(deps: Dependencies, study_id: str, member: Person, role: Role, by: Person) -> None:
    """Make `member` a member of the study (invitations do this through the API later)."""
    now = utcnow()
    deps.studies.add_member(
        Membership(study_id, member.id, role, now),
        AuditEntry(study_id, by.id, "member.added", f"researcher:{member.id}", Outcome.SUCCESS, now),
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
    )
