"""The roles table of API.md, checked cell by cell against `require`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from chalicelib.services.common.model import AuditOutcome, new_id
from chalicelib.services.studies.access import Permission, active_caller, require
from chalicelib.services.studies.model import Role, StudyAccess
from tests.support.fakes import FakeBroker

# Written out rather than derived from `Permission`, so a change to the code cannot change the expectation.
ALLOWED: dict[Permission, set[Role]] = {
    Permission.READ: {Role.VIEWER, Role.CONTRIBUTOR, Role.ADMIN, Role.OWNER},
    Permission.OPERATE: {Role.CONTRIBUTOR, Role.ADMIN, Role.OWNER},
    Permission.MANAGE: {Role.ADMIN, Role.OWNER},
    Permission.AUDIT: {Role.ADMIN, Role.OWNER},
    Permission.OWN: {Role.OWNER},
}
CELLS = [(p, r) for p in Permission for r in Role]


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


def member_access(broker: FakeBroker, role: Role) -> StudyAccess:
    owner = broker.researcher("owner")
    study = broker.study(owner)
    if role is Role.OWNER:
        return broker.access(owner, study)
    member = broker.researcher(role.value)
    broker.join(study, member, role)
    return broker.access(member, study)


@pytest.mark.parametrize(("permission", "role"), CELLS, ids=[f"{p.name}-{r.value}" for p, r in CELLS])
def test_roles_table(broker: FakeBroker, permission: Permission, role: Role) -> None:
    access = member_access(broker, role)

    if role in ALLOWED[permission]:
        granted = require(access, permission)
        assert granted.role is role
        assert access.study is not None
        assert granted.study.id == access.study.id
    else:
        with pytest.raises(PermissionDeniedError):
            require(access, permission)


@pytest.mark.parametrize("permission", list(Permission), ids=lambda p: p.name)
def test_non_member_is_told_the_study_does_not_exist(broker: FakeBroker, permission: Permission) -> None:
    study = broker.study(broker.researcher("owner"))
    access = broker.access(broker.researcher("stranger"), study)

    with pytest.raises(NotFoundError):
        require(access, permission)


@pytest.mark.parametrize("permission", list(Permission), ids=lambda p: p.name)
def test_unknown_study_is_not_found_even_for_a_platform_admin(broker: FakeBroker, permission: Permission) -> None:
    access = broker.access(broker.researcher("root", is_admin=True), new_id())

    with pytest.raises(NotFoundError):
        require(access, permission)


@pytest.mark.parametrize("permission", [Permission.READ, Permission.AUDIT], ids=lambda p: p.name)
def test_platform_admin_reads_a_study_they_are_not_in(broker: FakeBroker, permission: Permission) -> None:
    study = broker.study(broker.researcher("owner"))
    root = broker.researcher("root", is_admin=True)

    granted = require(broker.access(root, study), permission)

    assert granted.caller.id == root.id
    assert granted.study.id == study.id
    assert granted.role is None


@pytest.mark.parametrize("permission", [Permission.OPERATE, Permission.MANAGE, Permission.OWN], ids=lambda p: p.name)
def test_platform_admin_may_not_change_a_study_they_are_not_in(broker: FakeBroker, permission: Permission) -> None:
    study = broker.study(broker.researcher("owner"))

    with pytest.raises(PermissionDeniedError):
        require(broker.access(broker.researcher("root", is_admin=True), study), permission)


def test_platform_admin_who_is_a_low_member_still_reads_but_changes_only_by_role(broker: FakeBroker) -> None:
    study = broker.study(broker.researcher("owner"))
    root = broker.researcher("root", is_admin=True)
    broker.join(study, root, Role.VIEWER)
    access = broker.access(root, study)

    assert require(access, Permission.AUDIT).role is Role.VIEWER
    with pytest.raises(PermissionDeniedError):
        require(access, Permission.MANAGE)


def test_every_permission_is_distinct() -> None:
    # Two members with equal values would make one an alias of the other, and drop it from the table.
    assert [p.name for p in Permission] == ["READ", "OPERATE", "MANAGE", "AUDIT", "OWN"]


def test_disabled_caller_is_unauthenticated_even_as_owner(broker: FakeBroker) -> None:
    owner = broker.researcher("owner")
    study = broker.study(owner)
    broker.researchers.save(replace(owner, disabled=True))

    with pytest.raises(AuthenticationError):
        require(broker.access(owner, study), Permission.READ)


def test_missing_caller_is_unauthenticated(broker: FakeBroker) -> None:
    study = broker.study(broker.researcher("owner"))
    ghost = new_id()
    broker.join(study, ghost, Role.ADMIN)

    with pytest.raises(AuthenticationError):
        require(broker.access(ghost, study), Permission.READ)


def test_active_caller_passes_an_enabled_researcher_through(broker: FakeBroker) -> None:
    ada = broker.researcher()

    assert active_caller(ada) is ada
    with pytest.raises(AuthenticationError):
        active_caller(None)


def test_refused_members_attempt_is_audited_as_denied(broker: FakeBroker) -> None:
    owner, viewer = broker.researcher("owner"), broker.researcher("viewer")
    study = broker.study(owner)
    broker.join(study, viewer, Role.VIEWER)

    with pytest.raises(PermissionDeniedError):
        require(
            broker.access(viewer, study),
            Permission.MANAGE,
            studies=broker.studies,
            action="study.updated",
            target="study:x",
            now=broker.clock,
        )

    latest = broker.audit(study)[0]
    assert (latest.actor_id, latest.action, latest.target) == (viewer.id, "study.updated", "study:x")
    assert latest.outcome is AuditOutcome.DENIED
    assert latest.at == broker.clock.last
    assert latest.detail == "needs admin"


def test_refused_attempt_targets_the_study_by_default(broker: FakeBroker) -> None:
    owner, viewer = broker.researcher("owner"), broker.researcher("viewer")
    study = broker.study(owner)
    broker.join(study, viewer, Role.VIEWER)

    with pytest.raises(PermissionDeniedError):
        require(broker.access(viewer, study), Permission.OWN, studies=broker.studies, action="study.deleted")

    assert broker.audit(study)[0].target == f"study:{study.id}"


def test_non_members_attempt_is_not_audited(broker: FakeBroker) -> None:
    study = broker.study(broker.researcher("owner"))
    before = broker.audit(study)

    with pytest.raises(NotFoundError):
        require(
            broker.access(broker.researcher("stranger"), study),
            Permission.MANAGE,
            studies=broker.studies,
            action="study.updated",
        )

    assert broker.audit(study) == before


def test_granted_check_and_check_without_action_write_no_audit(broker: FakeBroker) -> None:
    owner, viewer = broker.researcher("owner"), broker.researcher("viewer")
    study = broker.study(owner)
    broker.join(study, viewer, Role.VIEWER)
    before = broker.audit(study)

    require(broker.access(owner, study), Permission.OWN, studies=broker.studies, action="study.deleted")
    with pytest.raises(PermissionDeniedError):
        require(broker.access(viewer, study), Permission.MANAGE, studies=broker.studies)

    assert broker.audit(study) == before
