"""The researchers service on the in-memory repositories: own profile, and the local token command's account."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ValidationError
from chalicelib.services.accounts.emails import normalise_email
from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.accounts.researchers import ensure_researcher, update_profile
from tests.support.fakes import FakeBroker


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def ada(broker: FakeBroker) -> Researcher:
    researcher = broker.researcher("ada")
    return broker.researchers.save(replace(researcher, phone="+31 6 1234 5678", research_field_id="physics"))


def reread(broker: FakeBroker, researcher: Researcher) -> Researcher:
    found = broker.researchers.get(researcher.id)
    assert found is not None
    return found


# update_profile ------------------------------------------------------------------------------


def test_update_profile_changes_only_the_fields_given(broker: FakeBroker, ada: Researcher) -> None:
    updated = update_profile(ada, broker.researchers, broker.references, name="  Ada King ", now=broker.clock)

    assert updated == reread(broker, ada)
    assert updated == replace(ada, name="Ada King", updated_at=broker.clock.last, version=updated.version)
    assert updated.version != ada.version


def test_update_profile_sets_every_field_at_once(broker: FakeBroker, ada: Researcher) -> None:
    updated = update_profile(
        ada,
        broker.researchers,
        broker.references,
        name="Ada",
        research_field=FakeBroker.RESEARCH_FIELD,
        phone="+31 20 000 0000",
        locale=Locale.NL,
    )

    stored = reread(broker, ada)
    assert stored == updated
    assert (stored.name, stored.research_field_id, stored.phone, stored.locale) == (
        "Ada",
        FakeBroker.RESEARCH_FIELD,
        "+31 20 000 0000",
        Locale.NL,
    )


def test_none_clears_a_field_but_unset_leaves_it(broker: FakeBroker, ada: Researcher) -> None:
    updated = update_profile(ada, broker.researchers, broker.references, phone=None)

    stored = reread(broker, ada)
    assert stored == updated
    assert stored.phone is None
    assert stored.research_field_id == "physics"


def test_research_field_none_clears_it(broker: FakeBroker, ada: Researcher) -> None:
    update_profile(ada, broker.researchers, broker.references, research_field=None)

    assert reread(broker, ada).research_field_id is None


def test_unknown_research_field_is_invalid_and_nothing_is_saved(broker: FakeBroker, ada: Researcher) -> None:
    with pytest.raises(ValidationError) as raised:
        update_profile(ada, broker.researchers, broker.references, name="Changed", research_field="alchemy")

    assert [e.field for e in raised.value.errors] == ["research_field"]
    assert reread(broker, ada) == ada


def test_update_profile_without_changes_writes_nothing(broker: FakeBroker, ada: Researcher) -> None:
    same = update_profile(ada, broker.researchers, broker.references, name=ada.name, phone=ada.phone)

    assert same == ada
    assert reread(broker, ada).version == ada.version


# ensure_researcher ---------------------------------------------------------------------------


def test_ensure_researcher_creates_one_with_a_normalised_email(broker: FakeBroker) -> None:
    made = ensure_researcher(broker.researchers, email="  Grace.Hopper@Navy.EXAMPLE ", name=" Grace ", now=broker.clock)

    assert made.email == "grace.hopper@navy.example"
    assert made.name == "Grace"
    assert made.created_at == made.updated_at == broker.clock.last
    assert broker.researchers.by_email("grace.hopper@navy.example") == made
    assert (made.is_admin, made.disabled) == (False, False)


def test_ensure_researcher_is_idempotent_whatever_the_case(broker: FakeBroker) -> None:
    first = ensure_researcher(broker.researchers, email="grace@navy.example", name="Grace")

    again = ensure_researcher(broker.researchers, email="GRACE@navy.example ", name="Someone else")

    assert again == first
    assert again.name == "Grace"


@pytest.mark.parametrize(
    ("given", "normal"),
    [("a@b.example", "a@b.example"), (" A@B.Example\n", "a@b.example"), ("\tMiXeD@Case.NL ", "mixed@case.nl")],
)
def test_normalise_email(given: str, normal: str) -> None:
    assert normalise_email(given) == normal
