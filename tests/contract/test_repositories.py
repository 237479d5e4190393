"""One set of checks for every repository Protocol, run on the in-memory fakes and on DynamoDB (moto).

If a check passes on one and fails on the other, the fakes no longer stand in for DynamoDB and the
unit tests built on them prove nothing. The DynamoDB tables may be shared with other tests, so
every check makes its own researchers, studies and reference kinds under fresh ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest

from chalicelib.errors import ConflictError
from chalicelib.services.accounts.model import Credential, CredentialKind, Researcher
from chalicelib.services.accounts.ports import CredentialRepository, ResearcherRepository
from chalicelib.services.common.model import AuditEntry, AuditOutcome, Page, PageRequest, new_id, utcnow
from chalicelib.services.studies.model import Membership, ReferenceItem, Role, Study, new_upload_code
from chalicelib.services.studies.ports import AccessRepository, ReferenceRepository, StudyRepository
from tests.support.fakes import (
    InMemoryAccess,
    InMemoryCredentials,
    InMemoryReference,
    InMemoryResearchers,
    InMemoryStudies,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Repositories:
    researchers: ResearcherRepository
    references: ReferenceRepository
    studies: StudyRepository
    credentials: CredentialRepository
    access: AccessRepository


@pytest.fixture(params=["in-memory", "dynamodb"])
def repos(request: pytest.FixtureRequest) -> Repositories:
    if request.param == "in-memory":
        researchers, credentials = InMemoryResearchers(), InMemoryCredentials()
        studies = InMemoryStudies(researchers)
        return Repositories(
            researchers, InMemoryReference(), studies, credentials, InMemoryAccess(researchers, studies, credentials)
        )
    deps = request.getfixturevalue("deps")
    return Repositories(deps.researchers, deps.references, deps.studies, deps.credentials, deps.access)


# Factories -----------------------------------------------------------------------------------


def a_researcher(repos: Repositories, **changes: Any) -> Researcher:
    moment = utcnow()
    rid = new_id()
    fresh = Researcher(rid, f"{rid}@uni.example", "Ada Lovelace", moment, moment, identity=f"https://idp.example|{rid}")
    return repos.researchers.add(replace(fresh, **changes))


def new_study(owner_id: str) -> Study:
    moment = utcnow()
    return Study(
        id=new_id(),
        name="Cohort study",
        owner_id=owner_id,
        upload_code=new_upload_code(),
        created_at=moment,
        updated_at=moment,
        description="Patients over time",
        research_field_id="health-sciences",
    )


def entry(study_id: str, actor_id: str, action: str, *, at: datetime | None = None) -> AuditEntry:
    return AuditEntry(study_id, actor_id, action, f"study:{study_id}", AuditOutcome.SUCCESS, at or utcnow())


def a_study(repos: Repositories, owner: Researcher) -> Study:
    study = new_study(owner.id)
    repos.studies.create(
        study, Membership(study.id, owner.id, Role.OWNER, study.created_at), entry(study.id, owner.id, "study.created")
    )
    stored = repos.studies.get(study.id)
    assert stored is not None
    return stored


def join(repos: Repositories, study: Study, researcher_id: str, role: Role = Role.VIEWER) -> Membership:
    return repos.studies.add_member(
        Membership(study.id, researcher_id, role, utcnow()), entry(study.id, study.owner_id, "member.added")
    )


def every_page(fetch: Callable[[PageRequest], Page[T]], limit: int, *, at_most: int = 50) -> list[list[T]]:
    """Follow `next_start` to the end; DynamoDB may end on an empty page, which is dropped."""
    pages: list[list[T]] = []
    start = None
    for _ in range(at_most):
        page = fetch(PageRequest(limit=limit, start=start))
        assert len(page.items) <= limit
        if page.items:
            pages.append(page.items)
        if page.next_start is None:
            return pages
        start = page.next_start
    raise AssertionError("paging did not end")


def actions(log: Page[AuditEntry]) -> list[str]:
    return [e.action for e in log.items]


# Researchers ---------------------------------------------------------------------------------


def test_added_researcher_reads_back_by_id_email_and_identity_at_version_one(repos: Repositories) -> None:
    added = a_researcher(repos, phone="+31 20 123 4567", university_id="uva")

    assert added.version == 1
    assert repos.researchers.get(added.id) == added
    assert repos.researchers.by_email(added.email) == added
    assert added.identity is not None
    assert repos.researchers.by_identity(added.identity) == added


def test_add_stores_a_new_researcher_at_version_one_whatever_version_it_carries(repos: Repositories) -> None:
    moment = utcnow()
    rid = new_id()
    added = repos.researchers.add(Researcher(rid, f"{rid}@uni.example", "A", moment, moment, version=7))

    assert added.version == 1
    stored = repos.researchers.get(rid)
    assert stored is not None
    assert stored.version == 1


def test_unknown_researcher_reads_as_none(repos: Repositories) -> None:
    assert repos.researchers.get(new_id()) is None
    assert repos.researchers.by_email(f"{new_id()}@nowhere.example") is None
    assert repos.researchers.by_identity(f"https://idp.example|{new_id()}") is None


def test_get_many_returns_the_known_ones_by_id(repos: Repositories) -> None:
    first, second = a_researcher(repos), a_researcher(repos)

    found = repos.researchers.get_many([first.id, new_id(), second.id, first.id])

    assert found == {first.id: first, second.id: second}
    assert repos.researchers.get_many([]) == {}


def test_add_with_a_taken_id_conflicts(repos: Repositories) -> None:
    existing = a_researcher(repos)

    with pytest.raises(ConflictError):
        repos.researchers.add(replace(existing, email=f"{new_id()}@other.example", name="Impostor"))
    assert repos.researchers.get(existing.id) == existing


def test_two_researchers_may_share_an_email_and_identity_tells_them_apart(repos: Repositories) -> None:
    first = a_researcher(repos)
    second = a_researcher(repos, email=first.email)

    assert first.id != second.id
    assert first.identity is not None
    assert second.identity is not None
    assert repos.researchers.by_identity(first.identity) == first
    assert repos.researchers.by_identity(second.identity) == second
    assert repos.researchers.by_email(first.email) in (first, second)
    assert sorted(r.id for r in repos.researchers.all_by_email(first.email)) == sorted([first.id, second.id])


def test_an_identity_belongs_to_one_researcher(repos: Repositories) -> None:
    first = a_researcher(repos)
    rid = new_id()

    with pytest.raises(ConflictError):
        a_researcher(repos, id=rid, identity=first.identity)

    assert repos.researchers.get(rid) is None
    assert repos.researchers.by_identity(str(first.identity)) == first


def test_every_pages_through_all_researchers_once(repos: Repositories) -> None:
    added = {a_researcher(repos).id for _ in range(5)}

    # The DynamoDB table is shared with the rest of the session: look for ours among everyone.
    pages = every_page(repos.researchers.every, limit=4, at_most=10_000)

    found = [r.id for p in pages for r in p]
    assert len(found) == len(set(found))
    assert added <= set(found)
    assert all(repos.researchers.get(r.id) == r for r in pages[0])


def test_save_stores_changes_and_bumps_the_version(repos: Repositories) -> None:
    added = a_researcher(repos)

    saved = repos.researchers.save(replace(added, name="Grace Hopper", is_admin=True, phone=None))

    assert saved.version == 2
    assert repos.researchers.get(added.id) == saved
    assert (saved.name, saved.is_admin) == ("Grace Hopper", True)


def test_save_with_a_stale_version_conflicts_and_keeps_the_newer_write(repos: Repositories) -> None:
    added = a_researcher(repos)
    newer = repos.researchers.save(replace(added, name="First writer"))

    with pytest.raises(ConflictError):
        repos.researchers.save(replace(added, name="Second writer"))
    assert repos.researchers.get(added.id) == newer


# Reference data ------------------------------------------------------------------------------


def test_reference_item_reads_back_and_put_overwrites(repos: Repositories) -> None:
    kind = f"kind-{new_id()}"
    repos.references.put(kind, ReferenceItem("uva", "University of Amsterdam", {"city": "Amsterdam"}))
    latest = ReferenceItem("uva", "Universiteit van Amsterdam", {"city": "Amsterdam", "schac": "uva.nl"})
    repos.references.put(kind, latest)

    assert repos.references.get(kind, "uva") == latest
    assert repos.references.get(kind, "vu") is None
    assert repos.references.get(f"kind-{new_id()}", "uva") is None


def test_reference_list_pages_through_one_kind_in_id_order(repos: Repositories) -> None:
    kind, other = f"kind-{new_id()}", f"kind-{new_id()}"
    ids = [f"item-{n}" for n in range(7)]
    for item_id in reversed(ids):
        repos.references.put(kind, ReferenceItem(item_id, item_id.upper(), {"code": item_id, "city": "Utrecht"}))
    repos.references.put(other, ReferenceItem("elsewhere", "Elsewhere"))

    pages = every_page(lambda page: repos.references.list(kind, page), limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i.id for p in pages for i in p] == ids
    assert pages[0][0] == ReferenceItem("item-0", "ITEM-0", {"code": "item-0", "city": "Utrecht"})


def test_reference_list_of_an_empty_kind_is_one_empty_page(repos: Repositories) -> None:
    page = repos.references.list(f"kind-{new_id()}", PageRequest())

    assert page.items == []
    assert page.next_start is None


# Creating and reading studies ----------------------------------------------------------------


def test_create_stores_the_study_its_owner_and_the_audit_entry(repos: Repositories) -> None:
    owner = a_researcher(repos)
    study = new_study(owner.id)
    created = entry(study.id, owner.id, "study.created")

    repos.studies.create(study, Membership(study.id, owner.id, Role.OWNER, study.created_at), created)

    assert repos.studies.get(study.id) == replace(study, version=1)
    membership = repos.studies.membership(study.id, owner.id)
    assert membership == Membership(study.id, owner.id, Role.OWNER, study.created_at, version=1)
    assert repos.studies.member_count(study.id) == 1
    assert repos.studies.audit_log(study.id, PageRequest()).items == [created]


def test_create_with_a_taken_id_conflicts_and_writes_nothing(repos: Repositories) -> None:
    owner, other = a_researcher(repos), a_researcher(repos)
    study = a_study(repos, owner)
    again = replace(new_study(other.id), id=study.id)
    owner_again = Membership(study.id, other.id, Role.OWNER, utcnow())

    with pytest.raises(ConflictError):
        repos.studies.create(again, owner_again, entry(study.id, other.id, "x"))
    assert repos.studies.get(study.id) == study
    assert repos.studies.membership(study.id, other.id) is None
    assert "x" not in actions(repos.studies.audit_log(study.id, PageRequest()))


def test_unknown_study_reads_as_none(repos: Repositories) -> None:
    assert repos.studies.get(new_id()) is None
    assert repos.studies.membership(new_id(), new_id()) is None
    assert repos.studies.member(new_id(), new_id()) is None
    assert repos.studies.member_count(new_id()) == 0


def test_get_many_returns_the_known_studies_by_id(repos: Repositories) -> None:
    owner = a_researcher(repos)
    first, second = a_study(repos, owner), a_study(repos, owner)

    assert repos.studies.get_many([first.id, new_id(), second.id, second.id]) == {first.id: first, second.id: second}
    assert repos.studies.get_many([]) == {}


def test_member_is_the_membership_with_the_profile(repos: Repositories) -> None:
    owner, viewer = a_researcher(repos), a_researcher(repos)
    study = a_study(repos, owner)
    joined = join(repos, study, viewer.id, Role.CONTRIBUTOR)

    found = repos.studies.member(study.id, viewer.id)

    assert found is not None
    assert found.membership == joined
    assert found.researcher == viewer
    assert repos.studies.member(study.id, a_researcher(repos).id) is None


def test_member_whose_account_is_gone_has_no_profile(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    ghost = new_id()
    join(repos, study, ghost)

    found = repos.studies.member(study.id, ghost)

    assert found is not None
    assert found.membership.researcher_id == ghost
    assert found.researcher is None


def test_member_count_counts_every_member(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    for _ in range(4):
        join(repos, study, new_id())

    assert repos.studies.member_count(study.id) == 5


# Memberships ---------------------------------------------------------------------------------


def test_add_member_stores_a_version_one_membership_and_its_audit(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    rid = new_id()
    moment = utcnow()

    added = repos.studies.add_member(
        Membership(study.id, rid, Role.ADMIN, moment, version=4), entry(study.id, study.owner_id, "member.added")
    )

    assert added == Membership(study.id, rid, Role.ADMIN, moment, version=1)
    assert repos.studies.membership(study.id, rid) == added
    assert actions(repos.studies.audit_log(study.id, PageRequest()))[0] == "member.added"


def test_add_member_twice_conflicts_and_keeps_the_first_role(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    first = join(repos, study, new_id(), Role.VIEWER)
    log_before = repos.studies.audit_log(study.id, PageRequest()).items

    with pytest.raises(ConflictError):
        join(repos, study, first.researcher_id, Role.ADMIN)
    assert repos.studies.membership(study.id, first.researcher_id) == first
    assert repos.studies.audit_log(study.id, PageRequest()).items == log_before


def test_memberships_of_pages_through_every_study_of_a_researcher(repos: Repositories) -> None:
    someone = a_researcher(repos)
    studies = [a_study(repos, a_researcher(repos)) for _ in range(7)]
    for study in studies:
        join(repos, study, someone.id)
    a_study(repos, a_researcher(repos))  # one they are not in

    pages = every_page(lambda page: repos.studies.memberships_of(someone.id, page), limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    found = [m.study_id for p in pages for m in p]
    assert sorted(found) == sorted(s.id for s in studies)
    assert {m.researcher_id for p in pages for m in p} == {someone.id}


def test_members_pages_through_every_member_of_a_study(repos: Repositories) -> None:
    owner = a_researcher(repos)
    study = a_study(repos, owner)
    others = [new_id() for _ in range(6)]
    for rid in others:
        join(repos, study, rid)
    join(repos, a_study(repos, a_researcher(repos)), new_id())  # another study's member

    pages = every_page(lambda page: repos.studies.members(study.id, page), limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(m.researcher_id for p in pages for m in p) == sorted([owner.id, *others])
    assert {m.study_id for p in pages for m in p} == {study.id}


def test_memberships_of_a_researcher_without_studies_is_empty(repos: Repositories) -> None:
    page = repos.studies.memberships_of(new_id(), PageRequest())

    assert page.items == []
    assert page.next_start is None


def test_set_role_changes_the_role_and_bumps_the_version(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    member = join(repos, study, new_id(), Role.VIEWER)

    saved = repos.studies.set_role(replace(member, role=Role.ADMIN), entry(study.id, study.owner_id, "role"))

    assert (saved.role, saved.version) == (Role.ADMIN, 2)
    assert repos.studies.membership(study.id, member.researcher_id) == saved
    assert actions(repos.studies.audit_log(study.id, PageRequest()))[0] == "role"


def test_set_role_with_a_stale_version_conflicts_and_writes_nothing(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    member = join(repos, study, new_id(), Role.VIEWER)
    newer = repos.studies.set_role(replace(member, role=Role.CONTRIBUTOR), entry(study.id, study.owner_id, "first"))

    with pytest.raises(ConflictError):
        repos.studies.set_role(replace(member, role=Role.ADMIN), entry(study.id, study.owner_id, "second"))
    assert repos.studies.membership(study.id, member.researcher_id) == newer
    assert "second" not in actions(repos.studies.audit_log(study.id, PageRequest()))


def test_remove_member_deletes_the_membership_and_audits(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    member = join(repos, study, new_id())

    repos.studies.remove_member(member, entry(study.id, study.owner_id, "member.removed"))

    assert repos.studies.membership(study.id, member.researcher_id) is None
    assert repos.studies.member_count(study.id) == 1
    assert actions(repos.studies.audit_log(study.id, PageRequest()))[0] == "member.removed"


def test_remove_member_with_a_stale_version_conflicts_and_keeps_the_member(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    member = join(repos, study, new_id())
    newer = repos.studies.set_role(replace(member, role=Role.ADMIN), entry(study.id, study.owner_id, "promoted"))

    with pytest.raises(ConflictError):
        repos.studies.remove_member(member, entry(study.id, study.owner_id, "member.removed"))
    assert repos.studies.membership(study.id, member.researcher_id) == newer
    assert "member.removed" not in actions(repos.studies.audit_log(study.id, PageRequest()))


# Changing studies ----------------------------------------------------------------------------


def test_update_stores_the_study_bumps_the_version_and_audits(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))

    saved = repos.studies.update(replace(study, name="Renamed"), entry(study.id, study.owner_id, "study.updated"))

    assert saved == replace(study, name="Renamed", version=2)
    assert repos.studies.get(study.id) == saved
    assert actions(repos.studies.audit_log(study.id, PageRequest()))[0] == "study.updated"


def test_update_with_a_stale_version_conflicts_and_writes_nothing(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    newer = repos.studies.update(replace(study, name="First"), entry(study.id, study.owner_id, "first"))

    with pytest.raises(ConflictError):
        repos.studies.update(replace(study, name="Second"), entry(study.id, study.owner_id, "second"))
    assert repos.studies.get(study.id) == newer
    assert "second" not in actions(repos.studies.audit_log(study.id, PageRequest()))


def test_update_of_a_deleted_study_conflicts(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    repos.studies.delete(study, entry(study.id, study.owner_id, "study.deleted"))

    with pytest.raises(ConflictError):
        repos.studies.update(replace(study, name="Back"), entry(study.id, study.owner_id, "study.updated"))
    assert repos.studies.get(study.id) is None


def test_transfer_swaps_owner_and_admin_in_one_write(repos: Repositories) -> None:
    owner, heir = a_researcher(repos), a_researcher(repos)
    study = a_study(repos, owner)
    old = repos.studies.membership(study.id, owner.id)
    new = join(repos, study, heir.id, Role.CONTRIBUTOR)
    assert old is not None

    saved = repos.studies.transfer(
        replace(study, owner_id=heir.id),
        replace(old, role=Role.ADMIN),
        replace(new, role=Role.OWNER),
        entry(study.id, owner.id, "study.transferred"),
    )

    assert saved == replace(study, owner_id=heir.id, version=2)
    assert repos.studies.get(study.id) == saved
    old_after = repos.studies.membership(study.id, owner.id)
    new_after = repos.studies.membership(study.id, heir.id)
    assert old_after is not None
    assert new_after is not None
    assert (old_after.role, old_after.version) == (Role.ADMIN, 2)
    assert (new_after.role, new_after.version) == (Role.OWNER, 2)
    assert actions(repos.studies.audit_log(study.id, PageRequest()))[0] == "study.transferred"


def test_transfer_with_a_stale_membership_changes_nothing(repos: Repositories) -> None:
    owner, heir = a_researcher(repos), a_researcher(repos)
    study = a_study(repos, owner)
    old = repos.studies.membership(study.id, owner.id)
    new = join(repos, study, heir.id, Role.CONTRIBUTOR)
    assert old is not None
    moved_on = repos.studies.set_role(replace(new, role=Role.VIEWER), entry(study.id, owner.id, "demoted"))

    with pytest.raises(ConflictError):
        repos.studies.transfer(
            replace(study, owner_id=heir.id),
            replace(old, role=Role.ADMIN),
            replace(new, role=Role.OWNER),
            entry(study.id, owner.id, "study.transferred"),
        )
    assert repos.studies.get(study.id) == study
    assert repos.studies.membership(study.id, owner.id) == old
    assert repos.studies.membership(study.id, heir.id) == moved_on
    assert "study.transferred" not in actions(repos.studies.audit_log(study.id, PageRequest()))


def test_delete_removes_the_study_and_its_memberships_but_keeps_the_audit_log(repos: Repositories) -> None:
    owner = a_researcher(repos)
    study = a_study(repos, owner)
    member = new_id()
    join(repos, study, member)

    repos.studies.delete(study, entry(study.id, owner.id, "study.deleted"))

    assert repos.studies.get(study.id) is None
    assert repos.studies.membership(study.id, owner.id) is None
    assert repos.studies.membership(study.id, member) is None
    assert repos.studies.member_count(study.id) == 0
    assert repos.studies.memberships_of(member, PageRequest()).items == []
    assert actions(repos.studies.audit_log(study.id, PageRequest())) == [
        "study.deleted",
        "member.added",
        "study.created",
    ]


def test_delete_with_a_stale_version_conflicts_and_keeps_the_study(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    newer = repos.studies.update(replace(study, name="Renamed"), entry(study.id, study.owner_id, "study.updated"))

    with pytest.raises(ConflictError):
        repos.studies.delete(study, entry(study.id, study.owner_id, "study.deleted"))
    assert repos.studies.get(study.id) == newer
    assert repos.studies.member_count(study.id) == 1


# Audit log -----------------------------------------------------------------------------------


def test_recorded_entries_come_back_newest_first_across_pages(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    base = utcnow() + timedelta(minutes=1)  # after the creation entry
    recorded = [entry(study.id, "actor", f"attempt-{n}", at=base + timedelta(seconds=n)) for n in range(6)]
    for shuffled in (recorded[3], recorded[0], recorded[5], recorded[1], recorded[4], recorded[2]):
        repos.studies.record(shuffled)
    repos.studies.record(entry(new_id(), "actor", "elsewhere"))

    pages = every_page(lambda page: repos.studies.audit_log(study.id, page), limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    found = [e for p in pages for e in p]
    assert found[:6] == list(reversed(recorded))
    assert found[6].action == "study.created"


def test_recorded_entry_reads_back_whole(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    later = utcnow() + timedelta(minutes=1)
    denied = AuditEntry(study.id, "actor", "study.updated", "researcher:x", AuditOutcome.DENIED, later, "needs admin")

    repos.studies.record(denied)

    assert repos.studies.audit_log(study.id, PageRequest(limit=1)).items == [denied]


# Credentials ---------------------------------------------------------------------------------


def a_credential(kind: CredentialKind = CredentialKind.LOGIN_CODE, **changes: Any) -> Credential:
    moment = utcnow()
    fresh = Credential(
        key=f"{kind.value}#{new_id()}",
        kind=kind,
        expires_at=moment + timedelta(minutes=1),
        created_at=moment,
        data={"researcher_id": new_id()},
    )
    return replace(fresh, **changes)


def an_api_token(owner_id: str, *, created_at: datetime, key: str | None = None) -> Credential:
    return a_credential(
        CredentialKind.API_TOKEN,
        key=key or f"api_token#{new_id()}",
        owner_id=owner_id,
        created_at=created_at,
        expires_at=None,
        name="laptop",
        secret_hash=new_id() * 2,
        data={},
    )


def test_added_credential_reads_back_whole(repos: Repositories) -> None:
    pending = a_credential(
        CredentialKind.PENDING_LOGIN, data={"nonce": "n-1", "verifier": "v" * 64, "next": "/studies/abc?x=1"}
    )
    token = an_api_token(new_id(), created_at=utcnow())

    repos.credentials.add(pending)
    repos.credentials.add(token)

    assert repos.credentials.get(pending.key) == pending
    assert repos.credentials.get(token.key) == token
    assert repos.credentials.get(f"login_code#{new_id()}") is None


def test_add_with_a_taken_key_conflicts_and_keeps_the_first(repos: Repositories) -> None:
    first = a_credential()
    repos.credentials.add(first)

    with pytest.raises(ConflictError):
        repos.credentials.add(replace(first, data={"researcher_id": "someone else"}))
    assert repos.credentials.get(first.key) == first


def test_take_returns_the_credential_once(repos: Repositories) -> None:
    code = a_credential()
    repos.credentials.add(code)

    assert repos.credentials.take(code.key) == code
    assert repos.credentials.take(code.key) is None
    assert repos.credentials.get(code.key) is None
    assert repos.credentials.take(f"login_code#{new_id()}") is None


def test_owned_by_pages_through_the_owners_api_tokens_newest_first(repos: Repositories) -> None:
    owner = new_id()
    base = utcnow()
    tokens = [an_api_token(owner, created_at=base + timedelta(seconds=n)) for n in range(5)]
    for token in (tokens[2], tokens[0], tokens[4], tokens[1], tokens[3]):
        repos.credentials.add(token)
    repos.credentials.add(an_api_token(new_id(), created_at=base))  # someone else's
    repos.credentials.add(a_credential(data={"researcher_id": owner}))  # theirs, but owned by nobody

    pages = every_page(lambda page: repos.credentials.owned_by(owner, page), limit=2)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [c for p in pages for c in p] == list(reversed(tokens))


def test_owned_by_breaks_ties_in_time_by_key(repos: Repositories) -> None:
    owner, moment, stem = new_id(), utcnow(), new_id()
    tokens = [an_api_token(owner, created_at=moment, key=f"api_token#{stem}{n}") for n in range(3)]
    for token in tokens:
        repos.credentials.add(token)

    assert repos.credentials.owned_by(owner, PageRequest()).items == list(reversed(tokens))


def test_owned_by_someone_without_tokens_is_one_empty_page(repos: Repositories) -> None:
    page = repos.credentials.owned_by(new_id(), PageRequest())

    assert page.items == []
    assert page.next_start is None


def test_delete_owned_deletes_only_the_owners_credential(repos: Repositories) -> None:
    owner = new_id()
    token = an_api_token(owner, created_at=utcnow())
    repos.credentials.add(token)

    assert repos.credentials.delete_owned(token.key, new_id()) is False
    assert repos.credentials.get(token.key) == token
    assert repos.credentials.delete_owned(token.key, owner) is True
    assert repos.credentials.get(token.key) is None
    assert repos.credentials.delete_owned(token.key, owner) is False
    assert repos.credentials.delete_owned(f"api_token#{new_id()}", owner) is False


def test_delete_owned_refuses_a_credential_owned_by_nobody(repos: Repositories) -> None:
    code = a_credential()
    repos.credentials.add(code)

    assert repos.credentials.delete_owned(code.key, code.data["researcher_id"]) is False
    assert repos.credentials.get(code.key) == code


# What a request reads first ------------------------------------------------------------------


def test_load_reads_the_caller_and_their_credential(repos: Repositories) -> None:
    caller = a_researcher(repos)
    token = an_api_token(caller.id, created_at=utcnow())
    repos.credentials.add(token)

    access = repos.access.load(caller.id, token.key)

    assert access.researcher == caller
    assert access.credential == token
    assert (access.study, access.membership) == (None, None)


def test_load_without_a_credential_on_record_has_none(repos: Repositories) -> None:
    caller = a_researcher(repos)

    access = repos.access.load(caller.id, f"revoked_session#{new_id()}")

    assert access.researcher == caller
    assert access.credential is None


def test_load_for_an_unknown_researcher_has_no_researcher(repos: Repositories) -> None:
    token = an_api_token(new_id(), created_at=utcnow())
    repos.credentials.add(token)

    access = repos.access.load(new_id(), token.key)

    assert access.researcher is None
    assert access.credential == token


def test_load_on_a_study_route_reads_the_study_and_membership(repos: Repositories) -> None:
    owner = a_researcher(repos)
    study = a_study(repos, owner)
    revoked = a_credential(CredentialKind.REVOKED_SESSION, data={})
    repos.credentials.add(revoked)

    access = repos.access.load(owner.id, revoked.key, study.id)

    assert access.researcher == owner
    assert access.study == study
    assert access.membership == repos.studies.membership(study.id, owner.id)
    assert access.membership is not None
    assert access.membership.role is Role.OWNER
    assert access.credential == revoked


def test_load_on_a_study_route_by_a_non_member_has_no_membership(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    stranger = a_researcher(repos)

    access = repos.access.load(stranger.id, f"revoked_session#{new_id()}", study.id)

    assert access.researcher == stranger
    assert access.study == study
    assert access.membership is None
    assert access.credential is None


def test_load_on_an_unknown_study_has_no_study(repos: Repositories) -> None:
    caller = a_researcher(repos)

    access = repos.access.load(caller.id, f"revoked_session#{new_id()}", new_id())

    assert access.researcher == caller
    assert (access.study, access.membership, access.credential) == (None, None, None)


def test_record_counted_writes_the_entry_and_its_count_together_up_to_the_limit(repos: Repositories) -> None:
    study = a_study(repos, a_researcher(repos))
    counter, until = f"rate#test#{study.id}", utcnow() + timedelta(hours=2)
    before = len(repos.studies.audit_log(study.id, PageRequest(limit=100)).items)

    written = [
        repos.studies.record_counted(entry(study.id, "uploader", f"upload.refused.{i}"), counter, limit=2, until=until)
        for i in range(3)
    ]

    assert written == [True, True, False]
    log = repos.studies.audit_log(study.id, PageRequest(limit=100)).items
    assert sorted(e.action for e in log[: len(log) - before]) == ["upload.refused.0", "upload.refused.1"]
