"""The error family every layer raises, and the problem documents (RFC 9457) they become.

Services raise these without knowing about HTTP; the API layer renders them in one place
(`problem_for`). Each class carries its status and problem type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from chalicelib.logs import current_request_id

PROBLEM_BASE = "https://vre-broker.example/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: where it is (dotted path) and what is wrong with it."""

    field: str
    message: str


@dataclass
class AppError(Exception):
    """Base of every error answered as a problem document: a 4xx the client caused, save `UnavailableError`."""

    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.detail or self.title)

    def problem(self) -> dict[str, Any]:
        """This error as a problem document."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body


class BadRequestError(AppError):
    """Malformed JSON, a malformed query or a tampered cursor."""


class ValidationError(AppError):
    """Well-formed but invalid input; `errors` says which fields."""

    status = 422
    slug = "validation"
    title = "Invalid input"


class AuthenticationError(AppError):
    """No credentials, or credentials that cannot be trusted."""

    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class PermissionDeniedError(AppError):
    """Authenticated, but the caller's role does not allow this."""

    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFoundError(AppError):
    """Unknown id, or an object the caller may not know exists."""

    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowedError(AppError):
    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class ConflictError(AppError):
    """The object's state does not allow this (lifecycle, duplicate, version clash)."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class AlreadyMemberError(ConflictError):
    """Adding a membership that exists already."""


class PayloadTooLargeError(AppError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class UnsupportedMediaTypeError(AppError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class RateLimitedError(AppError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class UnavailableError(AppError):
    """A dependency (the uploads bucket, say) is down or throttling: a 503 with `Retry-After`. Raised only where
    nothing is lost, so the same request can simply be sent again; like every 5xx, its body carries the request id."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"
    retry_after: ClassVar[int] = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        self.headers = {"Retry-After": str(self.retry_after), **self.headers}

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "request_id": current_request_id()}


_BY_STATUS: dict[int, type[AppError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        ValidationError,
        RateLimitedError,
    )
}


def error_for_status(status: int, detail: str) -> AppError:
    """The error class for a 4xx status that did not come from our code (Chalice's own checks)."""
    return _BY_STATUS.get(status, BadRequestError)(detail=detail)


def internal_problem(request_id: str) -> dict[str, Any]:
    """The 500 body: a request id to quote, never a stack trace."""
    return {
        "type": PROBLEM_BASE + "internal",
        "title": "Internal error",
        "status": 500,
        "detail": "The broker failed to handle this request; quote the request id when reporting it.",
        "request_id": request_id,
    }


class QuotaExceededError(ConflictError):
    """A new workspace would take the study past its quota."""

    slug = "quota-exceeded"
    title = "Quota exceeded"
