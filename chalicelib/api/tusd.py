"""`POST /hooks/tusd`: tusd v2's HTTP hooks for the data drop-off.

tusd cannot add headers of its own, so it proves itself with a shared secret in its hook URL
(`-hooks-http=https://.../hooks/tusd?secret=...`). The secret is checked before the body is read,
compared in constant time and never logged; a bearer token counts for nothing here, and the secret
counts for nothing anywhere else. pre-create decides whether the upload may be created (a refusal is
a 200 with `RejectUpload` and a 4xx response the uploader reads); post-finish records the upload and
has the study's admins told; post-terminate marks an upload aborted; any other hook is acknowledged
with an empty answer. A body tusd v2 would not send, such as a tusd v1 hook, is a 4xx problem document.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

import msgspec
from chalice.app import Request
from msgspec import Meta, Struct, UnsetType

from chalicelib import metrics
from chalicelib.api.framework import PROBLEM_JSON, Call, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import (
    TusdFileInfoChanges,
    TusdHookRequest,
    TusdHookResponse,
    TusdHttpResponse,
)
from chalicelib.errors import PROBLEM_BASE, AuthenticationError, FieldError, ValidationError
from chalicelib.redaction import redacted_repr
from chalicelib.services.dropoff import uploads as service
from chalicelib.wiring import Dependencies

resource = Resource(__name__, tag="integrations")


class TusdHookQuery(Struct):
    """The hook URL's query: the shared secret (`TUSD_HOOK_SECRET`)."""

    secret: Annotated[str, Meta(min_length=1, max_length=512)]

    def __repr__(self) -> str:
        return redacted_repr(self, {"secret"})


def secrets_match(given: str, expected: str) -> bool:
    """Constant time whatever the two are: their digests are compared, never the strings."""
    digest = hashlib.sha256
    return hmac.compare_digest(
        digest(given.encode("utf-8", "replace")).digest(), digest(expected.encode("utf-8")).digest()
    )


def check_secret(request: Request, deps: Dependencies) -> None:
    """401 unless the query carries tusd's shared secret."""
    given = dict(request.query_params or {}).get("secret")
    if not given:
        metrics.hook_refused("tusd", "no-secret")
        raise AuthenticationError(detail="The tusd hook needs its shared secret: /hooks/tusd?secret=...")
    if not secrets_match(given, deps.secrets.tusd_hook_secret):
        metrics.hook_refused("tusd", "wrong-secret")
        raise AuthenticationError(detail="The tusd hook secret is not right.")


def _upload(hook: TusdHookRequest, request: Request) -> tuple[str, service.TusUpload]:
    """The hook's type and upload; a 422 for a body that is no tusd v2 hook request."""
    if isinstance(hook.Type, UnsetType) or isinstance(hook.Event, UnsetType):
        if not isinstance(hook.Upload, UnsetType) or request.headers.get("hook-name"):
            raise ValidationError(
                detail=(
                    "This is a tusd v1 hook (the hook's name in a Hook-Name header, the upload at the top "
                    "level); this endpoint speaks the hooks of tusd v2: run tusd v2."
                ),
                errors=[FieldError("Type", "required: tusd v2 names the hook here")],
            )
        missing = [name for name in ("Type", "Event") if isinstance(getattr(hook, name), UnsetType)]
        raise ValidationError(
            detail="This is not a tusd v2 hook request.", errors=[FieldError(name, "required") for name in missing]
        )
    upload = hook.Event.Upload
    return hook.Type, service.TusUpload(
        tusd_id=upload.ID,
        size=upload.Size or 0,
        offset=upload.Offset,
        size_deferred=upload.SizeIsDeferred or upload.Size is None,
        concatenated=upload.IsPartial or upload.IsFinal,
        metadata=upload.MetaData or {},
        storage=upload.Storage or {},
    )


def _answer(admission: service.Admission) -> TusdHookResponse:
    if admission.accepted:
        return TusdHookResponse(ChangeFileInfo=TusdFileInfoChanges(ID=admission.tusd_id, MetaData=admission.metadata))
    metrics.hook_refused("tusd", f"upload-{admission.status}")
    problem = {
        "type": PROBLEM_BASE + "upload-refused",
        "title": "Upload refused",
        "status": admission.status,
        "detail": admission.reason,
    }
    return TusdHookResponse(
        RejectUpload=True,
        HTTPResponse=TusdHttpResponse(
            StatusCode=admission.status,
            Body=msgspec.json.encode(problem).decode(),
            Header={"Content-Type": PROBLEM_JSON},
        ),
    )


@resource.route(
    "/hooks/tusd",
    "POST",
    summary="tusd v2 HTTP hooks for the data drop-off",
    body=TusdHookRequest,
    query=TusdHookQuery,
    response=TusdHookResponse,
    loads=Loads.NOTHING,
    guard=check_secret,
)
def tusd_hook(call: Call[Any]) -> TusdHookResponse:
    kind, upload = _upload(call.body, call.request)
    admission = call.services.uploads.tusd_hook(kind, upload)
    return _answer(admission) if admission is not None else TusdHookResponse()
