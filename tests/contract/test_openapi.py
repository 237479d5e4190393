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
        # The drop-off: the upload code opens it, and the upload's secret each call after the start.
        "/dropoff/uploads",
        "/dropoff/uploads/{upload_id}",
        "/dropoff/uploads/{upload_id}/parts",
        "/dropoff/uploads/{upload_id}/complete",
    }


def test_public_routes_that_are_integration_hooks_guard_themselves() -> None:
    # Public for bearer tokens, not unauthenticated: the hook checks its own secret before the body.
    hooks = [op for op in operations() if op.path.startswith("/hooks/")]

    assert hooks
    assert all(op.public and op.guard is not None for op in hooks)


def test_the_dropoff_routes_after_the_start_need_the_upload_secret() -> None:
    document = _document()
    for op in operations():
        if op.path.startswith("/dropoff/uploads/"):
            described = document["paths"][op.path][op.method.lower()]
            assert op.guard is not None, op.name
            assert {"name": "Upload-Secret", "in": "header"}.items() <= described["parameters"][-1].items()
            assert {"401", "403", "404", "409", "422"} <= set(described["responses"]), op.name


def test_request_bodies_forbid_unknown_fields() -> None:
    schemas = _document()["components"]["schemas"]
    for op in operations():
        # An integration's sender owns its body's shape and may add fields (tusd does): hooks take what they know.
        if op.body is not None and not op.path.startswith("/hooks/"):
            assert schemas[op.body.__name__]["additionalProperties"] is False, op.name


def _schemas_with_timestamps(node: Any, name: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every property schema named like a timestamp (`*_at`, `at`, `timestamp`, `month_start`)."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for key, value in (node.get("properties") or {}).items():
            if key.endswith("_at") or key in ("at", "timestamp", "month_start"):
                found.append((f"{name}.{key}", value))
        for key, value in node.items():
            found += _schemas_with_timestamps(value, key if key not in ("properties",) else name)
    elif isinstance(node, list):
        for value in node:
            found += _schemas_with_timestamps(value, name)
    return found


def test_every_timestamp_is_a_date_time() -> None:
    """`"expires_at": ""` was schema-valid yet refused: every timestamp says it is RFC 3339."""
    timestamps = _schemas_with_timestamps(_document()["components"]["schemas"])
    assert len(timestamps) > 20

    def formats(schema: dict[str, Any]) -> set[str | None]:
        options = schema.get("anyOf") or [schema]
        return {option.get("format") for option in options if option.get("type") == "string"}

    assert [(where, schema) for where, schema in timestamps if formats(schema) != {"date-time"}] == []


def test_every_operation_lists_the_refusals_its_inputs_can_meet() -> None:
    """Derived from the declared inputs, so a schema-valid request's documented 4xx is never a surprise."""
    by_id = {op.name: op for op in operations()}
    for path, item in _document()["paths"].items():
        for method, described in item.items():
            operation = by_id[described["operationId"]]
            listed = {int(status) for status in described["responses"] if status != "default"}
            expected: set[int] = set()
            if operation.body is not None:
                expected |= {400, 413, 415, 422}
            if operation.query is not None or operation.paged:
                expected.add(400)
            if not operation.public:
                expected |= {401, 403}
            if "{" in path:
                expected.add(404)
            assert expected <= listed, (method, path, sorted(listed))


def test_the_refusals_the_outside_fuzzer_found_undocumented_are_listed() -> None:
    paths = _document()["paths"]
    assert "400" in paths["/auth/callback"]["get"]["responses"]
    assert "400" in paths["/studies"]["get"]["responses"]
    assert "422" in paths["/studies"]["post"]["responses"]
    assert "422" in paths["/me"]["patch"]["responses"]
    assert "409" in paths["/studies/{study_id}"]["patch"]["responses"]
    problem = paths["/studies"]["post"]["responses"]["422"]["content"]["application/problem+json"]
    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
