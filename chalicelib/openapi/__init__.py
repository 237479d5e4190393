"""The OpenAPI 3.1 document, generated from the registered operations and their msgspec types."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import msgspec

from chalicelib.api.framework import Operation, PageQuery
from chalicelib.api.schemas import Problem

_REF = "#/components/schemas/{name}"


def _ref(schema_type: type) -> dict[str, Any]:
    return {"$ref": _REF.format(name=schema_type.__name__)}


def _query_parameters(schema_type: type) -> list[dict[str, Any]]:
    (ref,), components = msgspec.json.schema_components([schema_type], ref_template=_REF)
    schema = components[ref["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _response(operation: Operation) -> dict[str, Any]:
    if operation.status == 302:
        headers = {name: {"schema": {"type": "string"}} for name in operation.response_headers}
        return {"description": "Redirect", "headers": headers}
    if operation.response is None:
        if operation.media_type is None:
            return {"description": "No content"}
        return {"description": "OK", "content": {operation.media_type: {"schema": {}}}}
    schema: dict[str, Any] = _ref(operation.response)
    if operation.paged:
        schema = {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": schema},
                "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def problem_statuses(operation: Operation) -> list[int]:
    """The refusals a route can answer, from what it declares: every pipeline step that can refuse adds its own.

    A JSON body can be malformed (400), too large (413), of another media type (415) or not the schema
    (422); a query or a list's cursor can be invalid (400); an authenticated or guarded route refuses the
    caller (401, 403); an id in the path can name nothing (404); a change to an object can meet its state (409).
    """
    statuses: set[int] = set()
    if operation.body is not None:
        statuses |= {400, 413, 415, 422}
    if operation.query is not None or operation.paged:
        statuses.add(400)
    if not operation.public:
        statuses |= {401, 403}
    if operation.guard is not None:
        statuses.add(401)
    if operation.path_params:
        statuses.add(404)
    if operation.method in _MUTATING and not operation.public:
        statuses.add(409)
    statuses.update(operation.refusals)
    return sorted(statuses)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref(Problem)}}}


def _operation(operation: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in operation.path_params
    ]
    parameters += [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 256}}
        for name in operation.headers
    ]
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if operation.paged:
        parameters += _query_parameters(PageQuery)
    document: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        **({"description": operation.description} if operation.description else {}),
        "tags": [operation.tag],
        "responses": {
            **{str(status): _response(operation) for status in (operation.status, *operation.other_statuses)},
            **{str(status): _problem(HTTPStatus(status).phrase) for status in problem_statuses(operation)},
            "default": _problem("A problem document"),
        },
    }
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.body)}}}
    if operation.public:
        document["security"] = []
    return document


def build_document(operations: Iterable[Operation], *, version: str, server_url: str | None = None) -> dict[str, Any]:
    """The whole document for these operations."""
    operations = list(operations)
    types: set[type] = {Problem}
    for operation in operations:
        types.update(t for t in (operation.body, operation.response) if t is not None)
    _, components = msgspec.json.schema_components(sorted(types, key=lambda t: t.__name__), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "VRE Broker",
            "version": version,
            "description": "Research Workspace Broker: studies, members, invitations, workspaces and data drop-off.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
