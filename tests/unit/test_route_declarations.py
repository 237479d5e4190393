"""Routes declare what the pipeline loads for them; a declaration that does not fit the path fails at import."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api import operations
from chalicelib.api.framework import Call, Resource
from chalicelib.api.loads import Loads, RouteDeclarationError


def _register(path: str, loads: Loads) -> None:
    resource = Resource(__name__, tag="test")

    @resource.route(path, "GET", loads=loads, summary="A test route")
    def view(call: Call[Any], **ids: str) -> None:
        return None


@pytest.mark.parametrize(
    ("path", "loads"),
    [
        # A study or workspace in the path, declared as anything else: its access would go unchecked.
        ("/studies/{study_id}/things", Loads.CALLER),
        ("/studies/{study_id}/things", Loads.NOTHING),
        ("/studies/{study_id}/things", Loads.WORKSPACE),
        ("/workspaces/{workspace_id}/things", Loads.CALLER),
        ("/workspaces/{workspace_id}/things", Loads.STUDY),
        # A load the path gives no id for.
        ("/things", Loads.STUDY),
        ("/things/{thing_id}", Loads.WORKSPACE),
    ],
)
def test_a_declaration_that_does_not_fit_the_path_fails_at_registration(path: str, loads: Loads) -> None:
    with pytest.raises(RouteDeclarationError):
        _register(path, loads)


def test_a_route_naming_a_study_must_declare_something_at_all() -> None:
    resource = Resource(__name__, tag="test")

    with pytest.raises(TypeError):
        resource.route("/studies/{study_id}", "GET", summary="Undeclared")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("path", "loads"),
    [
        ("/studies/{study_id}/things", Loads.STUDY),
        ("/workspaces/{workspace_id}/things", Loads.WORKSPACE),
        ("/things/{thing_id}", Loads.CALLER),
        ("/things/{thing_id}", Loads.NOTHING),
    ],
)
def test_a_fitting_declaration_registers(path: str, loads: Loads) -> None:
    _register(path, loads)


def test_every_served_route_loads_what_its_path_names() -> None:
    served = {(op.method, op.path): op.loads for op in operations()}

    assert served[("GET", "/studies/{study_id}")] is Loads.STUDY
    assert served[("PATCH", "/admin/studies/{study_id}")] is Loads.STUDY
    assert served[("POST", "/workspaces/{workspace_id}/start")] is Loads.WORKSPACE
    assert served[("GET", "/me")] is Loads.CALLER
    assert served[("GET", "/health")] is Loads.NOTHING
    assert all(op.public == (op.loads is Loads.NOTHING) for op in operations())
