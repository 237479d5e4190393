"""The members service on the in-memory repositories: list, change roles, remove, leave."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chalicelib.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import AuditOutcome, PageRequest, new_id
from chalicelib.services.messages import InviterStoodDownMessage
from chalicelib.services.studies.members import change_role, list_members, remove_member
from chalicelib.services.studies.model import Role, Study
from tests.support.fakes import FakeBroker


@dataclass(frozen=True)
class Cast:
    broker: FakeBroker
    study: Study
    owner: Researcher
    admin: Researcher
    contributor: Researcher
    viewer: Researcher

    def role_of(self, researcher: Researcher) -> Role | None:
        found = self.broker.studies.membership(self.study.id, researcher.id)
        return None if found is None else found.role


@pytest.fixture
def cast() -> Cast:
    broker = FakeBroker()
    owner = broker.researcher("owner")
    study = broker.study(owner)
    members = {}
    for role in (Role.ADMIN, Role.CONTRIBUTOR, Role.VIEWER):
        members[role] = broker.researcher(role.value)
        broker.join(study, members[role], role)
    return Cast(broker, study, owner, members[Role.ADMIN], members[Role.CONTRIBUTOR], members[Role.VIEWER])


# List ----------------------------------------------------------------------------------------


def test_members_are_listed_with_their_profiles(cast: Cast) -> None:
    b = cast.broker

    page = list_members(b.access(cast.viewer, cast.study), b.studies, b.researchers, PageRequest())

    listed = {m.membership.researcher_id: (m.membership.role, m.researcher) for m in page.items}
    assert listed == {
        cast.owner.id: (Role.OWNER, cast.owner),
        cast.admin.id: (Role.ADMIN, cast.admin),
        cast.contributor.id: (Role.CONTRIBUTOR, cast.contributor),
        cast.viewer.id: (Role.VIEWER, cast.viewer),
    }


def test_member_whose_account_is_gone_is_listed_without_a_profile(cast: Cast) -> None:
    b = cast.broker
    ghost = new_id()
    b.join(cast.study, ghost, Role.VIEWER)

    page = list_members(b.access(cast.owner, cast.study), b.studies, b.researchers, PageRequest(limit=10))

    [gone] = [m for m in page.items if m.membership.researcher_id == ghost]
    assert gone.researcher is None


def test_stranger_cannot_list_members(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(NotFoundError):
        list_members(b.access(b.researcher("stranger"), cast.study), b.studies, b.researchers, PageRequest())


# Change role ---------------------------------------------------------------------------------


def test_admin_changes_a_members_role_and_it_is_audited(cast: Cast) -> None:
    b = cast.broker

    changed = change_role(
        b.access(cast.admin, cast.study),
        b.studies,
        b.mail,
        researcher_id=cast.contributor.id,
        role=Role.VIEWER,
        now=b.clock,
    )

    assert changed.membership.role is Role.VIEWER
    assert changed.researcher == cast.contributor
    assert cast.role_of(cast.contributor) is Role.VIEWER
    latest = b.audit(cast.study)[0]
    assert (latest.actor_id, latest.action, latest.target, latest.detail, latest.outcome) == (
        cast.admin.id,
        "member.role_changed",
        f"researcher:{cast.contributor.id}",
        "contributor -> viewer",
        AuditOutcome.SUCCESS,
    )


def test_admin_may_make_another_admin(cast: Cast) -> None:
    b = cast.broker

    change_role(b.access(cast.admin, cast.study), b.studies, b.mail, researcher_id=cast.viewer.id, role=Role.ADMIN)

    assert cast.role_of(cast.viewer) is Role.ADMIN


def test_same_role_writes_nothing(cast: Cast) -> None:
    b = cast.broker
    before = b.audit(cast.study)

    same = change_role(
        b.access(cast.owner, cast.study), b.studies, b.mail, researcher_id=cast.viewer.id, role=Role.VIEWER
    )

    assert same.membership.role is Role.VIEWER
    assert b.audit(cast.study) == before


def test_contributor_may_not_change_roles_and_the_attempt_is_audited(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(PermissionDeniedError):
        change_role(
            b.access(cast.contributor, cast.study), b.studies, b.mail, researcher_id=cast.viewer.id, role=Role.ADMIN
        )

    assert cast.role_of(cast.viewer) is Role.VIEWER
    latest = b.audit(cast.study)[0]
    assert (latest.actor_id, latest.action, latest.target, latest.outcome) == (
        cast.contributor.id,
        "member.role_changed",
        f"researcher:{cast.viewer.id}",
        AuditOutcome.DENIED,
    )


def test_owners_role_cannot_change(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(PermissionDeniedError):
        change_role(b.access(cast.admin, cast.study), b.studies, b.mail, researcher_id=cast.owner.id, role=Role.VIEWER)

    assert cast.role_of(cast.owner) is Role.OWNER


def test_owner_cannot_demote_themselves(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(PermissionDeniedError):
        change_role(b.access(cast.owner, cast.study), b.studies, b.mail, researcher_id=cast.owner.id, role=Role.ADMIN)

    assert cast.role_of(cast.owner) is Role.OWNER


def test_role_owner_is_refused_even_for_the_owner(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(ValidationError) as raised:
        change_role(b.access(cast.owner, cast.study), b.studies, b.mail, researcher_id=cast.admin.id, role=Role.OWNER)

    assert [e.field for e in raised.value.errors] == ["role"]
    assert cast.role_of(cast.admin) is Role.ADMIN


def test_changing_an_unknown_members_role_is_not_found(cast: Cast) -> None:
    b = cast.broker
    outsider = b.researcher("outsider")

    with pytest.raises(NotFoundError):
        change_role(b.access(cast.admin, cast.study), b.studies, b.mail, researcher_id=outsider.id, role=Role.VIEWER)

    assert cast.role_of(outsider) is None


# Remove and leave ----------------------------------------------------------------------------


def test_admin_removes_a_contributor_and_it_is_audited(cast: Cast) -> None:
    b = cast.broker

    remove_member(b.access(cast.admin, cast.study), b.studies, b.mail, researcher_id=cast.contributor.id, now=b.clock)

    assert cast.role_of(cast.contributor) is None
    latest = b.audit(cast.study)[0]
    assert (latest.actor_id, latest.action, latest.target, latest.at) == (
        cast.admin.id,
        "member.removed",
        f"researcher:{cast.contributor.id}",
        b.clock.last,
    )


@pytest.mark.parametrize("remover", ["admin", "contributor", "viewer"])
def test_nobody_removes_the_owner(cast: Cast, remover: str) -> None:
    b = cast.broker
    by: Researcher = getattr(cast, remover)

    with pytest.raises(PermissionDeniedError):
        remove_member(b.access(by, cast.study), b.studies, b.mail, researcher_id=cast.owner.id)

    assert cast.role_of(cast.owner) is Role.OWNER


def test_contributor_may_not_remove_a_viewer(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(PermissionDeniedError):
        remove_member(b.access(cast.contributor, cast.study), b.studies, b.mail, researcher_id=cast.viewer.id)

    assert cast.role_of(cast.viewer) is Role.VIEWER
    assert b.audit(cast.study)[0].outcome is AuditOutcome.DENIED


def test_removing_a_non_member_is_not_found(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(NotFoundError):
        remove_member(b.access(cast.admin, cast.study), b.studies, b.mail, researcher_id=b.researcher("outsider").id)


@pytest.mark.parametrize("leaver", ["admin", "contributor", "viewer"])
def test_member_leaves_the_study(cast: Cast, leaver: str) -> None:
    b = cast.broker
    member: Researcher = getattr(cast, leaver)

    remove_member(b.access(member, cast.study), b.studies, b.mail, researcher_id=member.id)

    assert cast.role_of(member) is None
    latest = b.audit(cast.study)[0]
    assert (latest.actor_id, latest.action, latest.target) == (member.id, "member.left", f"researcher:{member.id}")


def test_owner_cannot_leave(cast: Cast) -> None:
    b = cast.broker

    with pytest.raises(ConflictError):
        remove_member(b.access(cast.owner, cast.study), b.studies, b.mail, researcher_id=cast.owner.id)

    assert cast.role_of(cast.owner) is Role.OWNER


def test_stranger_cannot_leave_or_remove(cast: Cast) -> None:
    b = cast.broker
    stranger = b.researcher("stranger")
    before = b.audit(cast.study)

    for target in (stranger.id, cast.viewer.id):
        with pytest.raises(NotFoundError):
            remove_member(b.access(stranger, cast.study), b.studies, b.mail, researcher_id=target)

    assert cast.role_of(cast.viewer) is Role.VIEWER
    assert b.audit(cast.study) == before


# Who may no longer invite ---------------------------------------------------------------------


def _stood_down(cast: Cast) -> list[tuple[str, str, str, str]]:
    return [
        (m.study_id, m.inviter_id, m.actor_id, m.reason)
        for m in cast.broker.mail.sent
        if isinstance(m, InviterStoodDownMessage)
    ]


def test_an_admin_removed_left_or_demoted_has_their_invitations_revoked_by_the_worker(cast: Cast) -> None:
    b = cast.broker
    second = b.researcher("second")
    third = b.researcher("third")
    b.join(cast.study, second, Role.ADMIN)
    b.join(cast.study, third, Role.ADMIN)

    remove_member(b.access(cast.owner, cast.study), b.studies, b.mail, researcher_id=cast.admin.id)
    remove_member(b.access(second, cast.study), b.studies, b.mail, researcher_id=second.id)
    change_role(b.access(cast.owner, cast.study), b.studies, b.mail, researcher_id=third.id, role=Role.CONTRIBUTOR)

    assert _stood_down(cast) == [
        (cast.study.id, cast.admin.id, cast.owner.id, "removed"),
        (cast.study.id, second.id, second.id, "left"),
        (cast.study.id, third.id, cast.owner.id, "demoted"),
    ]


def test_who_never_could_invite_or_still_can_sends_nothing(cast: Cast) -> None:
    b = cast.broker
    owner_access = b.access(cast.owner, cast.study)

    change_role(owner_access, b.studies, b.mail, researcher_id=cast.viewer.id, role=Role.ADMIN)  # promoted
    change_role(owner_access, b.studies, b.mail, researcher_id=cast.contributor.id, role=Role.VIEWER)
    remove_member(owner_access, b.studies, b.mail, researcher_id=cast.contributor.id)

    assert b.mail.sent == []
