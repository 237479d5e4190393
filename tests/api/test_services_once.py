"""Each capability's service is built once per warm Lambda: every request (and worker) of the process gets the
same object, bound to the same repositories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.services.studies.service import StudiesService
from chalicelib.services.workspaces.service import CatalogService
from tests.conftest import Person
from tests.support.api import call


def _spy(monkeypatch: pytest.MonkeyPatch, kind: type, method: str) -> list[object]:
    """The service objects `kind.method` is called on, in order."""
    seen: list[object] = []
    real = getattr(kind, method)

    def spy(self: object, *args: Any, **kwargs: Any) -> Any:
        seen.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(kind, method, spy)
    return seen


def test_two_requests_in_one_warm_process_call_the_same_service_object(
    client: Client, person: Callable[..., Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = person("alice")
    listed = _spy(monkeypatch, StudiesService, "list_studies")
    created = _spy(monkeypatch, StudiesService, "create")
    catalogs = _spy(monkeypatch, CatalogService, "read")

    call(client, "POST", "/studies", headers=alice.headers, body={"name": "Sleep"})
    for _ in range(2):
        assert call(client, "GET", "/studies", headers=alice.headers)[0] == 200
        assert call(client, "GET", "/catalog", headers=alice.headers)[0] == 200

    assert len(listed) == 2
    assert len(created) == 1
    assert len(catalogs) == 2
    assert listed[0] is listed[1] is created[0] is wiring.dependencies().services.studies
    assert catalogs[0] is catalogs[1] is wiring.dependencies().services.catalog


def test_the_workers_get_their_service_from_the_same_wiring(deps: wiring.Dependencies) -> None:
    services = wiring.dependencies().services

    assert services is wiring.dependencies().services
    assert services.mail is services.mail
    assert services.provisioning is services.provisioning
    assert services.studies.outbox.invitations is deps.invitations
    assert services.mail.invitations is deps.invitations
