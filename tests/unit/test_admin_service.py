"""Platform administration on the fakes: only platform admins, never on their own account; and the ops
CLI's grant-admin and revoke-admin by email."""

from __future__ import annotations

import pytest

from chalicelib.errors import ConflictError, NotFoundError, PermissionDeniedError
from chalicelib.services.accounts.admin import OPS_CLI, list_researchers, set_platform_admin, update_researcher
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import AuditEntry, PageRequest, new_id, utcnow
from tests.support.fakes import FakeBroker, InMemoryResearchers


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def root(broker: FakeBroker) -> Researcher:
    return broker.researcher("root", is_admin=True)


def audit_of(broker: FakeBroker) -> list[AuditEntry]:
    researchers = broker.researchers
    assert isinstance(researchers, InMemoryResearchers)
    return researchers.audit


def reread(broker: FakeBroker, researcher: Researcher) -> Researcher:
    found = broker.researchers.get(researcher.id)
    assert found is not None
    return found


# list_researchers ----------------------------------------------------------------------------


def test_platform_admin_lists_every_researcher_a_page_at_a_time(broker: FakeBroker, root: Researcher) -> None:
    others = [broker.researcher(name) for name in ("ada", "grace", "disabled")]

    first = list_researchers(root, broker.researchers, PageRequest(limit=3))
    rest = list_researchers(root, broker.researchers, PageRequest(limit=3, start=first.next_start))

    assert len(first.items) == 3
    assert rest.next_start is None
    assert {r.id for r in first.items + rest.items} == {root.id, *(r.id for r in others)}


def test_listing_researchers_needs_a_platform_admin(broker: FakeBroker) -> None:
    with pytest.raises(PermissionDeniedError):
        list_researchers(broker.researcher("ada"), broker.researchers, PageRequest())


# update_researcher ---------------------------------------------------------------------------


def test_platform_admin_disables_and_enables_an_account(broker: FakeBroker, root: Researcher) -> None:
    ada = broker.researcher("ada")

    disabled = update_researcher(root, broker.researchers, researcher_id=ada.id, disabled=True, now=broker.clock)

    assert disabled == reread(broker, ada)
    assert (disabled.disabled, disabled.is_admin) == (True, False)
    assert disabled.updated_at == broker.clock.last
    enabled = update_researcher(root, broker.researchers, researcher_id=ada.id, disabled=False, now=broker.clock)
    assert enabled.disabled is False
    # each change is in the platform's log (no study), by the admin who made it
    assert [(a.study_id, a.actor_id, a.action, a.target, a.detail) for a in audit_of(broker)] == [
        ("", root.id, "researcher.updated", f"researcher:{ada.id}", "disabled: false -> true"),
        ("", root.id, "researcher.updated", f"researcher:{ada.id}", "disabled: true -> false"),
    ]


def test_platform_admin_grants_and_revokes_platform_admin(broker: FakeBroker, root: Researcher) -> None:
    ada = broker.researcher("ada")

    granted = update_researcher(root, broker.researchers, researcher_id=ada.id, is_admin=True, now=broker.clock)
    revoked = update_researcher(root, broker.researchers, researcher_id=ada.id, is_admin=False, now=broker.clock)

    assert granted.is_admin is True
    assert revoked.is_admin is False
    assert reread(broker, ada) == revoked


def test_update_without_changes_writes_nothing(broker: FakeBroker, root: Researcher) -> None:
    ada = broker.researcher("ada")

    same = update_researcher(root, broker.researchers, researcher_id=ada.id, disabled=False, now=broker.clock)
    untouched = update_researcher(root, broker.researchers, researcher_id=ada.id, now=broker.clock)

    assert same == untouched == ada == reread(broker, ada)
    assert audit_of(broker) == []


def test_updating_researchers_needs_a_platform_admin(broker: FakeBroker) -> None:
    ada, grace = broker.researcher("ada"), broker.researcher("grace")

    with pytest.raises(PermissionDeniedError):
        update_researcher(ada, broker.researchers, researcher_id=grace.id, disabled=True)
    with pytest.raises(PermissionDeniedError):
        update_researcher(ada, broker.researchers, researcher_id=ada.id, is_admin=True)
    assert reread(broker, grace) == grace
    assert reread(broker, ada) == ada


def test_a_platform_admin_cannot_change_their_own_account(broker: FakeBroker, root: Researcher) -> None:
    with pytest.raises(ConflictError):
        update_researcher(root, broker.researchers, researcher_id=root.id, is_admin=False)
    with pytest.raises(ConflictError):
        update_researcher(root, broker.researchers, researcher_id=root.id, disabled=True)
    assert reread(broker, root) == root


def test_updating_an_unknown_researcher_is_not_found(broker: FakeBroker, root: Researcher) -> None:
    with pytest.raises(NotFoundError):
        update_researcher(root, broker.researchers, researcher_id=new_id(), disabled=True)


# set_platform_admin (the ops CLI) ------------------------------------------------------------


def test_grant_and_revoke_platform_admin_by_email(broker: FakeBroker) -> None:
    ada = broker.researcher("ada")

    granted = set_platform_admin(broker.researchers, email=f"  {ada.email.upper()} ", is_admin=True, now=broker.clock)

    assert granted.id == ada.id
    assert granted.is_admin is True
    assert granted.updated_at == broker.clock.last
    assert reread(broker, ada) == granted
    revoked = set_platform_admin(broker.researchers, email=ada.email, is_admin=False, now=broker.clock)
    assert revoked.is_admin is False
    assert reread(broker, ada) == revoked
    assert [(a.actor_id, a.detail) for a in audit_of(broker)] == [
        (OPS_CLI, "is_admin: false -> true"),
        (OPS_CLI, "is_admin: true -> false"),
    ]


def test_granting_what_is_already_granted_writes_nothing(broker: FakeBroker, root: Researcher) -> None:
    again = set_platform_admin(broker.researchers, email=root.email, is_admin=True, now=broker.clock)

    assert again == root == reread(broker, root)


def test_grant_to_an_unknown_email_is_not_found(broker: FakeBroker) -> None:
    broker.researcher("ada")

    with pytest.raises(NotFoundError, match="log in once"):
        set_platform_admin(broker.researchers, email="nobody@uni.example", is_admin=True)


def test_set_platform_admin_refuses_an_email_several_researchers_share() -> None:
    researchers = InMemoryResearchers()
    moment = utcnow()
    for subject in ("a", "b"):
        researchers.add(
            Researcher(new_id(), "shared@uu.nl", "Shared", moment, moment, identity=f"https://idp.test|{subject}")
        )

    with pytest.raises(ConflictError):
        set_platform_admin(researchers, email="shared@uu.nl", is_admin=True)

    assert not any(r.is_admin for r in researchers.all_by_email("shared@uu.nl"))
