"""The OpenAPI 3.1 document, generated from the registered operations and their msgspec types."""

from __future__ import annotations

from collections.abc import Iterable
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


def _operation(operation: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in operation.path_params
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
            "default": {
                "description": "A problem document",
                "content": {"application/problem+json": {"schema": _ref(Problem)}},
            },
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
