"""Personal API tokens on the fakes: shown once, stored hashed, listed newest first, revocable by their owner."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.services.accounts.api_tokens import create_token, list_tokens, revoke_token, token_id_of
from chalicelib.services.accounts.login import end_session
from chalicelib.services.accounts.model import CredentialKind, Researcher
from chalicelib.services.common.model import PageRequest
from tests.support.fakes import FakeBroker


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def ada(broker: FakeBroker) -> Researcher:
    return broker.researcher("ada")


def test_create_returns_the_secret_once_and_stores_only_its_hash(broker: FakeBroker, ada: Researcher) -> None:
    created = create_token(ada, broker.credentials, name="  laptop ", expires_at=None, now=broker.clock)

    assert created.secret.startswith(f"vre_{ada.id}.{created.token_id}.")
    assert len(created.secret.rpartition(".")[2]) >= 43  # 256 random bits, base64url
    [stored] = broker.credentials.stored()
    assert stored == created.credential
    assert stored.key == f"api_token#{created.token_id}"
    assert stored.kind is CredentialKind.API_TOKEN
    assert stored.owner_id == ada.id
    assert stored.name == "laptop"
    assert stored.created_at == broker.clock.last
    assert stored.expires_at is None
    assert stored.secret_hash == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.secret.rpartition(".")[2] not in repr(stored)
    assert token_id_of(stored) == created.token_id


def test_every_token_is_new(broker: FakeBroker, ada: Researcher) -> None:
    first = create_token(ada, broker.credentials, name="a", expires_at=None, now=broker.clock)
    second = create_token(ada, broker.credentials, name="a", expires_at=None, now=broker.clock)

    assert first.token_id != second.token_id
    assert first.secret != second.secret
    assert first.credential.secret_hash != second.credential.secret_hash


def test_create_with_a_future_expiry_keeps_it(broker: FakeBroker, ada: Researcher) -> None:
    expires = broker.clock.last + timedelta(days=30)

    created = create_token(ada, broker.credentials, name="ci", expires_at=expires, now=broker.clock)

    stored = broker.credentials.get(created.credential.key)
    assert stored is not None
    assert stored.expires_at == expires


@pytest.mark.parametrize("ago", [timedelta(0), timedelta(seconds=1), timedelta(days=1)], ids=str)
def test_create_expiring_in_the_past_is_invalid_and_writes_nothing(
    broker: FakeBroker, ada: Researcher, ago: timedelta
) -> None:
    # The next reading of the ticking clock is one second after `last`.
    expires = broker.clock.last + timedelta(seconds=1) - ago

    with pytest.raises(ValidationError) as raised:
        create_token(ada, broker.credentials, name="old", expires_at=expires, now=broker.clock)

    assert [e.field for e in raised.value.errors] == ["expires_at"]
    assert broker.credentials.stored() == []


def test_list_is_newest_first_paged_and_without_secrets(broker: FakeBroker, ada: Researcher) -> None:
    created = [create_token(ada, broker.credentials, name=f"t{n}", expires_at=None, now=broker.clock) for n in range(3)]
    create_token(broker.researcher("grace"), broker.credentials, name="hers", expires_at=None, now=broker.clock)

    first = list_tokens(ada, broker.credentials, PageRequest(limit=2))
    rest = list_tokens(ada, broker.credentials, PageRequest(limit=2, start=first.next_start))

    assert [c.name for c in first.items + rest.items] == ["t2", "t1", "t0"]
    assert rest.next_start is None
    listed = repr(first.items + rest.items)
    assert all(c.secret.rpartition(".")[2] not in listed for c in created)


def test_list_of_someone_without_tokens_is_empty(broker: FakeBroker, ada: Researcher) -> None:
    assert list_tokens(ada, broker.credentials, PageRequest()).items == []


def test_revoke_own_token_deletes_it(broker: FakeBroker, ada: Researcher) -> None:
    kept = create_token(ada, broker.credentials, name="kept", expires_at=None, now=broker.clock)
    gone = create_token(ada, broker.credentials, name="gone", expires_at=None, now=broker.clock)

    revoke_token(ada, broker.credentials, token_id=gone.token_id)

    assert broker.credentials.get(gone.credential.key) is None
    assert [c.name for c in list_tokens(ada, broker.credentials, PageRequest()).items] == ["kept"]
    assert broker.credentials.get(kept.credential.key) == kept.credential


def test_revoke_twice_is_not_found(broker: FakeBroker, ada: Researcher) -> None:
    token = create_token(ada, broker.credentials, name="once", expires_at=None, now=broker.clock)
    revoke_token(ada, broker.credentials, token_id=token.token_id)

    with pytest.raises(NotFoundError):
        revoke_token(ada, broker.credentials, token_id=token.token_id)


def test_revoke_someone_elses_token_is_not_found_and_keeps_it(broker: FakeBroker, ada: Researcher) -> None:
    hers = create_token(broker.researcher("grace"), broker.credentials, name="hers", expires_at=None, now=broker.clock)

    with pytest.raises(NotFoundError):
        revoke_token(ada, broker.credentials, token_id=hers.token_id)
    assert broker.credentials.get(hers.credential.key) == hers.credential


@pytest.mark.parametrize("token_id", ["", "unknown", "0123456789abcdef"])
def test_revoke_an_unknown_token_is_not_found(broker: FakeBroker, ada: Researcher, token_id: str) -> None:
    with pytest.raises(NotFoundError):
        revoke_token(ada, broker.credentials, token_id=token_id)


def test_revoke_does_not_reach_other_kinds_of_credential(broker: FakeBroker, ada: Researcher) -> None:
    end_session(broker.credentials, token_id="jti-1", expires_at=None, now=broker.clock)

    with pytest.raises(NotFoundError):
        revoke_token(ada, broker.credentials, token_id="jti-1")
    assert broker.credentials.get("revoked_session#jti-1") is not None
