"""Requests and answers as the local OpenStack's services see them, apart from the HTTP server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A path segment after one of these names an item of the collection (for counting calls by kind).
COLLECTIONS = frozenset({"servers", "flavors", "images", "networks"})
# ... unless it is one of these: a view of the collection, not an item.
COLLECTION_VIEWS = frozenset({"detail"})


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    service: str
    # The path below the service's prefix, split on "/", without empty segments.
    path: tuple[str, ...]
    query: Mapping[str, list[str]]
    # Header names lower-cased.
    headers: Mapping[str, str]
    body: bytes
    # Where the endpoint is reached, for links and the service catalog.
    base_url: str

    def json(self) -> Any:
        """The body as JSON; a `BadRequestError` when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise BadRequestError(f"Malformed request body: {exc}") from exc

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def token(self) -> str | None:
        return self.headers.get("x-auth-token")

    @property
    def kind(self) -> str:
        """The path with item ids replaced by `{id}`: what the call counters count by."""
        kinds = [
            "{id}" if index > 0 and self.path[index - 1] in COLLECTIONS and segment not in COLLECTION_VIEWS else segment
            for index, segment in enumerate(self.path)
        ]
        return "/" + "/".join(kinds)


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # A non-JSON body (Glance answers errors in HTML).
    text: str | None = None
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.text is not None:
            return self.text.encode()
        return b"" if self.body is None else json.dumps(self.body).encode()


class ApiError(Exception):
    """An error answer; each service renders it in its own shape."""

    status = 500
    nova_key = "computeFault"
    title = "Internal Server Error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequestError(ApiError):
    status, nova_key, title = 400, "badRequest", "Bad Request"


class UnauthorizedError(ApiError):
    status, nova_key, title = 401, "unauthorized", "Unauthorized"


class ForbiddenError(ApiError):
    status, nova_key, title = 403, "forbidden", "Forbidden"


class NotFoundError(ApiError):
    status, nova_key, title = 404, "itemNotFound", "Not Found"


class MethodNotAllowedError(ApiError):
    status, nova_key, title = 405, "methodNotAllowed", "Method Not Allowed"


class NotAcceptableError(ApiError):
    status, nova_key, title = 406, "notAcceptable", "Not Acceptable"


class OverLimitError(ApiError):
    status, nova_key, title = 413, "overLimit", "Request Entity Too Large"


class ConflictError(ApiError):
    status, nova_key, title = 409, "conflictingRequest", "Conflict"


def unauthenticated() -> UnauthorizedError:
    return UnauthorizedError("The request you have made requires authentication.")
