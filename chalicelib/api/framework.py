"""The one place a request becomes a service call and an answer.

`Resource.route` registers a Chalice route and remembers its `Operation` (the typed body,
query and response the OpenAPI document is generated from, and what it `Loads`). Every
request then goes the same way: size and media type checks, authentication, what the route
declared it loads (the caller; on study routes also the study and the caller's membership in
one read; on workspace routes the workspace first), typed parsing, the view, rendering, and
every `AppError` turned into a problem document here and nowhere else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from chalice.app import Blueprint, CORSConfig, Request, Response

from chalicelib.api.cursors import decode_cursor, encode_cursor
from chalicelib.api.json_body import decode_body
from chalicelib.api.loads import Loads, check_loads
from chalicelib.auth.principal import Principal, authenticate, check_credential
from chalicelib.errors import (
    AppError,
    BadRequestError,
    FieldError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    internal_problem,
)
from chalicelib.logs import current_request_id, new_request_id, sane_request_id
from chalicelib.observability import report_exception
from chalicelib.providers.outages import outage_behind
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import Page, PageRequest, utcnow
from chalicelib.services.studies.access import active_caller, ensure_visible
from chalicelib.services.studies.model import StudyAccess
from chalicelib.services.workspaces.lifecycle import Workspace
from chalicelib.wiring import Dependencies, Services, dependencies

log = logging.getLogger(__name__)

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
# Ids we mint are 32 hex characters; anything far off that cannot name an object.
_PATH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ERROR_PATH = re.compile(r"at `\$\.?([^`]*)`$")
_NAMED_FIELD = re.compile(r"^Object (?:contains unknown|missing required) field `([^`]*)`")

T = TypeVar("T")
# A public route's own authentication (an integration hook's shared secret): runs before the body is read.
Guard = Callable[[Request, Dependencies], None]

# The frontend calls from another origin. Any origin may: credentials are bearer tokens, never
# cookies, so a foreign page gains nothing it did not already hold.
CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Upload-Secret"],
    expose_headers=["Location", "X-Request-Id", "Retry-After"],
    max_age=600,
)


class PageQuery(msgspec.Struct, forbid_unknown_fields=False):
    """`?limit=` and `?cursor=` of every list."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 25
    cursor: Annotated[str, msgspec.Meta(max_length=4096)] | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One route as the OpenAPI document describes it."""

    method: str
    path: str
    name: str
    summary: str
    tag: str
    loads: Loads
    status: int = 200
    # Other success statuses the view may answer with, the same body (an invitation resent: 200, not 201).
    other_statuses: tuple[int, ...] = ()
    body: type | None = None
    query: type | None = None
    response: type | None = None
    paged: bool = False
    # What a body-less `response` route answers with instead (the docs pages, the document itself).
    media_type: str | None = None
    guard: Guard | None = None
    # A longer description for the document, and the headers a redirect answers with.
    description: str = ""
    response_headers: tuple[str, ...] = ("Location",)
    # Refusals the view itself can answer beyond what the pipeline derives (a public route's 403, 409).
    refusals: tuple[int, ...] = ()
    # Request headers the route requires (documented as header parameters).
    headers: tuple[str, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{([^}]+)}", self.path)

    @property
    def public(self) -> bool:
        """No bearer token: anyone may call it (a guard may still ask for a secret of its own)."""
        return self.loads is Loads.NOTHING


@dataclass(slots=True)
class Call(Generic[T]):
    """What a view gets: the parsed request and who is calling."""

    request: Request
    deps: Dependencies
    principal: Principal | None = None
    researcher: Researcher | None = None
    access: StudyAccess | None = None
    workspace: Workspace | None = None
    body: Any = None
    query: Any = None
    page: PageRequest = field(default_factory=PageRequest)

    @property
    def services(self) -> Services:
        """Each capability's service, built once per warm Lambda: what the view calls, once."""
        return self.deps.services

    @property
    def caller(self) -> Researcher:
        """The authenticated, enabled researcher making this request."""
        return active_caller(self.researcher)

    @property
    def study_access(self) -> StudyAccess:
        assert self.access is not None, "only study routes load study access"
        return self.access

    @property
    def target_workspace(self) -> Workspace:
        assert self.workspace is not None, "only workspace routes load the workspace"
        return self.workspace


@dataclass(frozen=True, slots=True)
class Reply:
    """A view's answer when it is more than a 200 with a body."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


View = Callable[..., Any]


class Resource:
    """A Blueprint plus the operations registered on it."""

    def __init__(self, import_name: str, tag: str) -> None:
        self.blueprint = Blueprint(import_name)
        self.tag = tag
        self.operations: list[Operation] = []

    def route(
        self,
        path: str,
        method: str,
        *,
        loads: Loads,
        summary: str,
        response: type | None = None,
        body: type | None = None,
        query: type | None = None,
        status: int = 200,
        other_statuses: tuple[int, ...] = (),
        paged: bool = False,
        media_type: str | None = None,
        guard: Guard | None = None,
        description: str = "",
        response_headers: tuple[str, ...] = ("Location",),
        refusals: tuple[int, ...] = (),
        headers: tuple[str, ...] = (),
    ) -> Callable[[View], View]:
        """Register `view` for `method path`; the view gets a `Call` (with what `loads` declares) and the path
        parameters. A declaration that does not fit the path raises `RouteDeclarationError` here, at import."""
        check_loads(path, loads)

        def register(view: View) -> View:
            operation = Operation(
                method=method,
                path=path,
                name=view.__name__,
                summary=summary,
                tag=self.tag,
                loads=loads,
                status=status,
                other_statuses=other_statuses,
                body=body,
                query=query,
                response=response,
                paged=paged,
                media_type=media_type,
                guard=guard,
                description=description,
                response_headers=response_headers,
                refusals=refusals,
                headers=headers,
            )
            self.operations.append(operation)
            blueprint = self.blueprint

            def handler(**path_params: str) -> Response:
                return handle(operation, view, blueprint.current_request, path_params)

            handler.__name__ = view.__name__
            handler.__doc__ = view.__doc__
            # Any content type reaches us, so a wrong one gets our 415 problem, not Chalice's.
            blueprint.route(path, methods=[method], content_types=["*/*"], cors=CORS)(handler)
            return view

        return register


def handle(operation: Operation, view: View, request: Request, path_params: dict[str, str]) -> Response:
    """Run one request through the pipeline; never lets an exception escape as a bare 500."""
    try:
        deps = dependencies()
        call: Call[Any] = Call(request=request, deps=deps)
        _check_path(path_params)
        _check_body_size(request, deps.settings.max_body_bytes)
        if operation.guard is not None:
            operation.guard(request, deps)
        if not operation.public:
            _identify(call, operation.loads, path_params)
        if operation.query is not None:
            call.query = _parse_query(request, operation.query)
        if operation.paged:
            call.page = _parse_page(call)
        if operation.body is not None:
            call.body = _parse_body(request, operation.body)
        result = view(call, **path_params)
        return _render(operation, call, result)
    except AppError as exc:
        return problem_response(exc)
    except Exception as exc:  # the boundary: anything unexpected is logged and answered without detail
        if (outage := outage_behind(exc)) is not None:
            log.warning("dependency unavailable in %s %s: %r", operation.method, operation.path, exc)
            return problem_response(outage)
        request_id = request_id_of(request)
        log.exception("unhandled error in %s %s (request %s)", operation.method, operation.path, request_id)
        report_exception()
        return Response(
            body=msgspec.json.encode(internal_problem(request_id)).decode(),
            status_code=500,
            headers={"Content-Type": PROBLEM_JSON},
        )


def problem_response(error: AppError) -> Response:
    """An `AppError` as a problem document."""
    headers: dict[str, str | list[str]] = {"Content-Type": PROBLEM_JSON, **error.headers}
    return Response(body=msgspec.json.encode(error.problem()).decode(), status_code=error.status, headers=headers)


def request_id_of(request: Request | None) -> str:
    """The id this request's logs, queue messages and answer carry: the one the middleware bound, else a
    client's sane `X-Request-Id` (so a client can follow its own call), else API Gateway's, else a new one."""
    bound = current_request_id()
    if bound:
        return bound
    headers = getattr(request, "headers", None) or {}
    client = sane_request_id(headers.get("x-request-id"))
    if client is not None:
        return client
    context = getattr(request, "context", None) or {}
    request_id = context.get("requestId")
    return str(request_id) if request_id else new_request_id()


def _check_path(path_params: dict[str, str]) -> None:
    for value in path_params.values():
        if not _PATH_ID.match(value):
            raise NotFoundError(detail="No such object.")


def _check_body_size(request: Request, limit: int) -> None:
    raw = request.raw_body or b""
    if len(raw) > limit:
        raise PayloadTooLargeError(detail=f"The request body is larger than {limit} bytes.")


def _identify(call: Call[Any], loads: Loads, path_params: dict[str, str]) -> None:
    """Authenticate, then load what the route declared: the caller, and for a study or workspace route the
    study's access in the same read (a workspace route reads the workspace first, to learn its study)."""
    principal = authenticate(call.request.headers, call.deps.token_policy)
    study_id: str | None = None
    if loads is Loads.STUDY:
        study_id = path_params["study_id"]
    elif loads is Loads.WORKSPACE:
        # Workspace routes belong to the workspace's study: one read for it, one for the access.
        call.workspace = call.deps.workspaces.get(path_params["workspace_id"])
        study_id = call.workspace.study_id if call.workspace is not None else ""
    access = call.deps.access.load(principal.researcher_id, principal.credential_key, study_id or None)
    check_credential(principal, access.credential, utcnow())
    call.principal, call.access = principal, access
    call.researcher = active_caller(access.researcher)
    if study_id is not None:
        # Before the body is even read: a study the caller may not know of is simply not found.
        try:
            ensure_visible(access)
        except NotFoundError:
            raise NotFoundError(detail="No such workspace." if loads is Loads.WORKSPACE else "No such study.") from None


def _field_errors(exc: msgspec.ValidationError) -> list[FieldError]:
    """msgspec names one problem per error: `... - at `$.a.b``, or a field of the object at that path."""
    message = str(exc)
    match = _ERROR_PATH.search(message)
    where = match.group(1) if match else ""
    text = _ERROR_PATH.sub("", message).strip(" -")
    named = _NAMED_FIELD.match(text)
    if named:
        where = f"{where}.{named.group(1)}" if where else named.group(1)
    return [FieldError(where or "body", text)]


def _parse_body(request: Request, schema: type) -> Any:
    content_type = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if content_type != JSON and not content_type.endswith("+json"):
        raise UnsupportedMediaTypeError(detail=f"Send the body as {JSON}, not {content_type}.")
    raw = request.raw_body or b""
    if not raw.strip():
        raise BadRequestError(detail="This route needs a JSON body.")
    return decode_body(raw if isinstance(raw, bytes) else raw.encode(), schema, _field_errors)


def _query_params(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def _parse_query(request: Request, schema: type) -> Any:
    try:
        return msgspec.convert(_query_params(request), schema, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequestError(detail="The query string is not valid.", errors=_field_errors(exc)) from exc


def _cursor_scope(call: Call[Any]) -> str:
    """The list a cursor belongs to: the route, its filters and the caller (a replayed cursor is a 400)."""
    request = call.request
    others = sorted((k, v) for k, v in _query_params(request).items() if k not in ("limit", "cursor"))
    caller = call.principal.researcher_id if call.principal is not None else "-"
    return f"{request.method} {request.path} {others} {caller}"


def _parse_page(call: Call[Any]) -> PageRequest:
    query = _parse_query(call.request, PageQuery)
    start = None
    if query.cursor is not None:
        start = decode_cursor(query.cursor, scope=_cursor_scope(call), key=call.deps.secrets.signing_key)
    return PageRequest(limit=query.limit, start=start)


def _render(operation: Operation, call: Call[Any], result: Any) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(body=result, status=operation.status)
    headers: dict[str, str | list[str]] = dict(reply.headers)
    body = reply.body
    if isinstance(body, Page):
        next_cursor = encode_cursor(body.next_start, scope=_cursor_scope(call), key=call.deps.secrets.signing_key)
        body = {"items": body.items, "next_cursor": next_cursor}
    if body is None:
        return Response(body="", status_code=reply.status, headers=headers)
    headers.setdefault("Content-Type", JSON)
    return Response(body=msgspec.json.encode(body).decode(), status_code=reply.status, headers=headers)
