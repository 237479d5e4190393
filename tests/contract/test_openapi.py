"""The served OpenAPI document and the app's route table describe the same API."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from app import app
from chalicelib.api import operations
from chalicelib.api.service import openapi_document


def _document() -> dict[str, Any]:
    openapi_document.cache_clear()
    return openapi_document()


def _routes() -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, methods in app.routes.items() for method in methods}


def test_document_is_valid_openapi_3_1() -> None:
    document = _document()

    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_is_in_the_document_and_nothing_else() -> None:
    documented = {(path, method) for path, item in _document()["paths"].items() for method in item}

    assert documented == _routes()


def test_every_route_was_registered_through_an_operation() -> None:
    # A route added with a bare @app.route would skip authentication and problem documents.
    assert {(op.path, op.method.lower()) for op in operations()} == _routes()


def test_public_routes_are_exactly_the_ones_api_md_names() -> None:
    public = {op.path for op in operations() if op.public}

    assert public == {
        "/health",
        "/openapi.json",
        "/docs",
        "/redoc",
        "/auth/login",
        "/auth/callback",
        "/auth/token",
        "/hooks/tusd",
        "/hooks/vrw",
    }


def test_public_routes_that_are_integration_hooks_guard_themselves() -> None:
    # Public for bearer tokens, not unauthenticated: the hook checks its own secret before the body.
    hooks = [op for op in operations() if op.path.startswith("/hooks/")]

    assert hooks
    assert all(op.public and op.guard is not None for op in hooks)


def test_request_bodies_forbid_unknown_fields() -> None:
    schemas = _document()["components"]["schemas"]
    for op in operations():
        # An integration's sender owns its body's shape and may add fields (tusd does): hooks take what they know.
        if op.body is not None and not op.path.startswith("/hooks/"):
            assert schemas[op.body.__name__]["additionalProperties"] is False, op.name
