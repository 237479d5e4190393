"""The studies service on the in-memory repositories."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import pytest

from chalicelib.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import AuditOutcome, PageRequest, new_id
from chalicelib.services.studies.model import Role, Study, new_upload_code
from chalicelib.services.studies.studies import (
    audit_log,
    create_study,
    delete_study,
    get_study,
    list_studies,
    may_see_upload_code,
    rotate_upload_code,
    transfer_study,
    update_study,
)
from tests.support.fakes import FakeBroker


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


def study_with(broker: FakeBroker, *roles: Role) -> tuple[Study, Researcher, list[Researcher]]:
    """A study, its owner, and one member for each role given."""
    owner = broker.researcher("owner")
    study = broker.study(owner)
    members = []
    for role in roles:
        member = broker.researcher(role.value)
        broker.join(study, member, role)
        members.append(member)
    return study, owner, members


def stored(broker: FakeBroker, study: Study) -> Study:
    found = broker.studies.get(study.id)
    assert found is not None
    return found


# Create --------------------------------------------------------------------------------------


def test_create_makes_the_caller_owner_and_audits_it(broker: FakeBroker) -> None:
    ada = broker.researcher()

    created = create_study(
        ada,
        broker.studies,
        broker.references,
        name="  Cohort study ",
        description="Patients over time",
        research_field=FakeBroker.RESEARCH_FIELD,
        now=broker.clock,
    )

    study = stored(broker, created.study)
    assert (study.name, study.description, study.research_field_id) == (
        "Cohort study",
        "Patients over time",
        FakeBroker.RESEARCH_FIELD,
    )
    assert study.owner_id == ada.id
    assert (created.role, created.member_count) == (Role.OWNER, 1)
    membership = broker.studies.membership(study.id, ada.id)
    assert membership is not None
    assert membership.role is Role.OWNER
    [entry] = broker.audit(study)
    assert (entry.actor_id, entry.action, entry.outcome) == (ada.id, "study.created", AuditOutcome.SUCCESS)
    assert entry.at == study.created_at == broker.clock.last


def test_create_gives_every_study_its_own_id_and_upload_code(broker: FakeBroker) -> None:
    ada = broker.researcher()

    first = create_study(ada, broker.studies, broker.references, name="One")
    second = create_study(ada, broker.studies, broker.references, name="Two")

    assert first.study.id != second.study.id
    assert first.study.upload_code != second.study.upload_code


def test_create_with_an_unknown_research_field_is_invalid_and_stores_nothing(broker: FakeBroker) -> None:
    ada = broker.researcher()

    with pytest.raises(ValidationError) as raised:
        create_study(ada, broker.studies, broker.references, name="Cohort", research_field="alchemy")

    assert [e.field for e in raised.value.errors] == ["research_field"]
    assert broker.studies.memberships_of(ada.id, PageRequest()).items == []


# List and read -------------------------------------------------------------------------------


def test_list_shows_the_callers_studies_with_their_role(broker: FakeBroker) -> None:
    ada = broker.researcher()
    owned = broker.study(ada)
    viewed, _, _ = study_with(broker)
    broker.join(viewed, ada, Role.VIEWER)
    study_with(broker)  # not ada's

    page = list_studies(ada, broker.studies, PageRequest())

    assert {(s.study.id, s.role) for s in page.items} == {(owned.id, Role.OWNER), (viewed.id, Role.VIEWER)}


def test_list_skips_memberships_whose_study_is_gone(broker: FakeBroker) -> None:
    ada = broker.researcher()
    kept = broker.study(ada)
    broker.join(Study(new_id(), "Gone", ada.id, "code", kept.created_at, kept.created_at), ada, Role.ADMIN)

    page = list_studies(ada, broker.studies, PageRequest())

    assert [s.study.id for s in page.items] == [kept.id]


def test_list_passes_the_next_start_on(broker: FakeBroker) -> None:
    ada = broker.researcher()
    for _ in range(3):
        broker.study(ada)

    first = list_studies(ada, broker.studies, PageRequest(limit=2))
    rest = list_studies(ada, broker.studies, PageRequest(limit=2, start=first.next_start))

    assert len(first.items) == 2
    assert len(rest.items) == 1
    assert rest.next_start is None
    assert {s.study.id for s in first.items}.isdisjoint(s.study.id for s in rest.items)


def test_get_study_counts_members_and_gives_the_callers_role(broker: FakeBroker) -> None:
    study, _, (viewer, _) = study_with(broker, Role.VIEWER, Role.ADMIN)

    seen = get_study(broker.access(viewer, study), broker.studies)

    assert seen.study == study
    assert (seen.role, seen.member_count) == (Role.VIEWER, 3)


def test_get_study_hides_it_from_a_stranger(broker: FakeBroker) -> None:
    study, _, _ = study_with(broker)

    with pytest.raises(NotFoundError):
        get_study(broker.access(broker.researcher("stranger"), study), broker.studies)


@pytest.mark.parametrize(
    ("role", "sees"),
    [(None, False), (Role.VIEWER, False), (Role.CONTRIBUTOR, True), (Role.ADMIN, True), (Role.OWNER, True)],
)
def test_upload_code_is_shown_to_contributors_and_up(role: Role | None, sees: bool) -> None:
    assert may_see_upload_code(role) is sees


# Update --------------------------------------------------------------------------------------


def test_update_writes_only_changed_fields_and_names_them_in_the_audit(broker: FakeBroker) -> None:
    study, _, (admin,) = study_with(broker, Role.ADMIN)

    updated = update_study(
        broker.access(admin, study),
        broker.studies,
        broker.references,
        name=" Renamed ",
        description=study.description,
        research_field="physics",
        now=broker.clock,
    )

    after = stored(broker, study)
    assert updated.study == after
    assert after == replace(
        study, name="Renamed", research_field_id="physics", updated_at=broker.clock.last, version=after.version
    )
    assert after.version != study.version
    latest = broker.audit(study)[0]
    assert (latest.actor_id, latest.action, latest.outcome) == (admin.id, "study.updated", AuditOutcome.SUCCESS)
    # Named as the API or as the store names them; either way only the two that changed, in order.
    changed = latest.detail.removeprefix("changed ").split(", ")
    assert latest.detail.startswith("changed ")
    assert [name.removesuffix("_id") for name in changed] == ["name", "research_field"]


def test_update_can_clear_the_research_field(broker: FakeBroker) -> None:
    study, owner, _ = study_with(broker)
    update_study(broker.access(owner, study), broker.studies, broker.references, research_field="physics")

    update_study(broker.access(owner, study), broker.studies, broker.references, research_field=None)

    assert stored(broker, study).research_field_id is None


def test_update_without_changes_writes_nothing(broker: FakeBroker) -> None:
    study, owner, _ = study_with(broker)
    before = broker.audit(study)

    result = update_study(broker.access(owner, study), broker.studies, broker.references, name=study.name)

    assert result.study == study
    assert stored(broker, study).version == study.version
    assert broker.audit(study) == before


def test_update_with_a_stale_expected_version_conflicts(broker: FakeBroker) -> None:
    study, owner, _ = study_with(broker)
    read_version = study.version
    update_study(broker.access(owner, study), broker.studies, broker.references, name="First")

    with pytest.raises(ConflictError):
        update_study(
            broker.access(owner, study),
            broker.studies,
            broker.references,
            name="Second",
            expected_version=read_version,
        )
    assert stored(broker, study).name == "First"


def test_update_with_the_current_expected_version_succeeds(broker: FakeBroker) -> None:
    study, owner, _ = study_with(broker)

    update_study(
        broker.access(owner, study), broker.studies, broker.references, name="Next", expected_version=study.version
    )

    assert stored(broker, study).name == "Next"


def test_update_with_an_unknown_research_field_is_invalid(broker: FakeBroker) -> None:
    study, owner, _ = study_with(broker)

    with pytest.raises(ValidationError) as raised:
        update_study(broker.access(owner, study), broker.studies, broker.references, name="X", research_field="magic")

    assert [e.field for e in raised.value.errors] == ["research_field"]
    assert stored(broker, study) == study


def test_contributor_may_not_update_and_the_attempt_is_audited(broker: FakeBroker) -> None:
    study, _, (contributor,) = study_with(broker, Role.CONTRIBUTOR)

    with pytest.raises(PermissionDeniedError):
        update_study(broker.access(contributor, study), broker.studies, broker.references, name="Mine")

    assert stored(broker, study) == study
    latest = broker.audit(study)[0]
    assert (latest.actor_id, latest.action, latest.outcome) == (contributor.id, "study.updated", AuditOutcome.DENIED)


# Delete --------------------------------------------------------------------------------------


def test_owner_deletes_the_study_and_the_audit_log_stays(broker: FakeBroker) -> None:
    study, owner, (viewer,) = study_with(broker, Role.VIEWER)

    delete_study(broker.access(owner, study), broker.studies, now=broker.clock)

    assert broker.studies.get(study.id) is None
    assert broker.studies.membership(study.id, viewer.id) is None
    latest = broker.audit(study)[0]
    assert (latest.actor_id, latest.action, latest.at) == (owner.id, "study.deleted", broker.clock.last)


def test_admin_may_not_delete_the_study(broker: FakeBroker) -> None:
    study, _, (admin,) = study_with(broker, Role.ADMIN)

    with pytest.raises(PermissionDeniedError):
        delete_study(broker.access(admin, study), broker.studies)

    assert broker.studies.get(study.id) == study
    assert broker.audit(study)[0].outcome is AuditOutcome.DENIED


# Transfer ------------------------------------------------------------------------------------


def test_transfer_makes_the_new_owner_owner_and_the_old_one_admin(broker: FakeBroker) -> None:
    study, owner, (heir,) = study_with(broker, Role.CONTRIBUTOR)

    moved = transfer_study(broker.access(owner, study), broker.studies, new_owner_id=heir.id, now=broker.clock)

    assert moved.role is Role.ADMIN
    assert stored(broker, study).owner_id == heir.id
    old = broker.studies.membership(study.id, owner.id)
    new = broker.studies.membership(study.id, heir.id)
    assert old is not None
    assert new is not None
    assert (old.role, new.role) == (Role.ADMIN, Role.OWNER)
    latest = broker.audit(study)[0]
    assert (latest.action, latest.target) == ("study.transferred", f"researcher:{heir.id}")


def test_transfer_to_a_non_member_is_invalid(broker: FakeBroker) -> None:
    study, owner, _ = study_with(broker)
    outsider = broker.researcher("outsider")

    with pytest.raises(ValidationError) as raised:
        transfer_study(broker.access(owner, study), broker.studies, new_owner_id=outsider.id)

    assert [e.field for e in raised.value.errors] == ["researcher_id"]
    assert stored(broker, study).owner_id == owner.id


def test_transfer_to_yourself_is_invalid(broker: FakeBroker) -> None:
    study, owner, _ = study_with(broker)

    with pytest.raises(ValidationError):
        transfer_study(broker.access(owner, study), broker.studies, new_owner_id=owner.id)

    membership = broker.studies.membership(study.id, owner.id)
    assert membership is not None
    assert membership.role is Role.OWNER


def test_admin_may_not_transfer(broker: FakeBroker) -> None:
    study, owner, (admin,) = study_with(broker, Role.ADMIN)

    with pytest.raises(PermissionDeniedError):
        transfer_study(broker.access(admin, study), broker.studies, new_owner_id=admin.id)

    assert stored(broker, study).owner_id == owner.id


# Upload code ---------------------------------------------------------------------------------


def test_rotating_the_upload_code_replaces_it(broker: FakeBroker) -> None:
    study, _, (admin,) = study_with(broker, Role.ADMIN)

    rotated = rotate_upload_code(broker.access(admin, study), broker.studies, now=broker.clock)

    assert rotated.upload_code != study.upload_code
    assert stored(broker, study).upload_code == rotated.upload_code
    latest = broker.audit(study)[0]
    assert (latest.actor_id, latest.action) == (admin.id, "study.upload_code_rotated")


def test_contributor_may_not_rotate_the_upload_code(broker: FakeBroker) -> None:
    study, _, (contributor,) = study_with(broker, Role.CONTRIBUTOR)

    with pytest.raises(PermissionDeniedError):
        rotate_upload_code(broker.access(contributor, study), broker.studies)

    assert stored(broker, study).upload_code == study.upload_code


def test_upload_code_is_url_safe_and_carries_at_least_128_random_bits() -> None:
    codes = {new_upload_code() for _ in range(200)}

    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code)
        assert len(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))) >= 16


# Audit log -----------------------------------------------------------------------------------


def test_admin_and_platform_admin_read_the_audit_log_but_a_contributor_may_not(broker: FakeBroker) -> None:
    study, _, (admin, contributor) = study_with(broker, Role.ADMIN, Role.CONTRIBUTOR)
    root = broker.researcher("root", is_admin=True)

    for reader in (admin, root):
        assert audit_log(broker.access(reader, study), broker.studies, PageRequest()).items == broker.audit(study)
    with pytest.raises(PermissionDeniedError):
        audit_log(broker.access(contributor, study), broker.studies, PageRequest())
