"""`/dropoff/uploads`: uploads straight to S3 behind a study's upload code, with no upload server.

No bearer token: the start carries the study's upload code, and every later call the `Upload-Secret`
header its answer gave out (a wrong secret, or another upload's, finds nothing: 404).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Request

from chalicelib.api.dropoff_schemas import (
    DropoffComplete,
    DropoffParts,
    DropoffProgress,
    DropoffStart,
    DropoffStarted,
    HeldPartView,
    SignedPartsView,
    SignedPartView,
)
from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import UploadView
from chalicelib.api.uploads import render_upload
from chalicelib.errors import AuthenticationError
from chalicelib.services.dropoff.dropoff import Offer, Progress
from chalicelib.wiring import Dependencies

resource = Resource(__name__, tag="dropoff")

SECRET_HEADER = "upload-secret"
# Behind the secret: an expired upload or a replaced code (403), a finished or aborted upload (409), a part
# number or checksum that does not fit (422), a file larger than it said (413); and on every route, the bucket
# down or throttling (503 with Retry-After: the same request may be sent again).
SECRET_REFUSALS = (403, 409, 413, 422, 503)


def require_secret(request: Request, deps: Dependencies) -> None:
    """401 before the body is read unless the request carries an `Upload-Secret` header (a bearer token is
    no substitute: only the upload's secret opens it)."""
    secret = request.headers.get(SECRET_HEADER) or ""
    if not secret or len(secret) > 256:
        raise AuthenticationError(detail="Send the upload's secret (from its start) as the Upload-Secret header.")


def upload_secret(call: Call[Any]) -> str:
    return str(call.request.headers.get(SECRET_HEADER))


@resource.route(
    "/dropoff/uploads",
    "POST",
    summary="Start an upload behind a study's upload code",
    body=DropoffStart,
    response=DropoffStarted,
    status=201,
    loads=Loads.NOTHING,
    refusals=(403, 503),
)
def start_upload(call: Call[DropoffStart]) -> Reply:
    body = call.body
    offer = Offer(body.upload_code, body.filename, body.size, body.filetype, body.sender_name, body.sender_email)
    started = call.services.dropoff.start(offer)
    upload = started.upload
    assert upload.expires_at is not None
    view = DropoffStarted(upload.id, started.secret, upload.part_size, started.part_count, upload.expires_at)
    return Reply(view, 201, {"Location": f"/dropoff/uploads/{upload.id}"})


@resource.route(
    "/dropoff/uploads/{upload_id}/parts",
    "POST",
    summary="Presigned PUT URLs for parts, each bound to its SHA-256",
    body=DropoffParts,
    response=SignedPartsView,
    loads=Loads.NOTHING,
    guard=require_secret,
    refusals=SECRET_REFUSALS,
    headers=("Upload-Secret",),
)
def sign_parts(call: Call[DropoffParts], upload_id: str) -> SignedPartsView:
    parts = [(part.number, part.checksum_sha256) for part in call.body.parts]
    signed = call.services.dropoff.sign_parts(upload_id, upload_secret(call), parts)
    return SignedPartsView([SignedPartView(p.number, p.url, p.headers, p.expires_at) for p in signed])


def render_progress(progress: Progress) -> DropoffProgress:
    upload = progress.upload
    view = DropoffProgress(
        upload_id=upload.id,
        state=upload.status.value,
        size=upload.size,
        part_size=upload.part_size,
        part_count=progress.part_count,
        parts=[HeldPartView(p.number, p.size, p.etag) for p in progress.parts],
    )
    for held, part in zip(view.parts, progress.parts, strict=True):
        if part.checksum_sha256:
            held.checksum_sha256 = part.checksum_sha256
    if upload.expires_at is not None and upload.status.value == "admitted":
        view.expires_at = upload.expires_at
    return view


@resource.route(
    "/dropoff/uploads/{upload_id}",
    "GET",
    summary="An upload's state and the parts storage holds (to resume)",
    response=DropoffProgress,
    loads=Loads.NOTHING,
    guard=require_secret,
    refusals=SECRET_REFUSALS,
    headers=("Upload-Secret",),
)
def upload_progress(call: Call[Any], upload_id: str) -> DropoffProgress:
    return render_progress(call.services.dropoff.progress(upload_id, upload_secret(call)))


@resource.route(
    "/dropoff/uploads/{upload_id}/complete",
    "POST",
    summary="Join the parts and record the upload (once, however often called)",
    body=DropoffComplete,
    response=UploadView,
    loads=Loads.NOTHING,
    guard=require_secret,
    refusals=SECRET_REFUSALS,
    headers=("Upload-Secret",),
)
def complete_upload(call: Call[DropoffComplete], upload_id: str) -> UploadView:
    return render_upload(call.services.dropoff.complete(upload_id, upload_secret(call), call.body.checksum_sha256))


@resource.route(
    "/dropoff/uploads/{upload_id}",
    "DELETE",
    summary="Abort an upload",
    status=204,
    loads=Loads.NOTHING,
    guard=require_secret,
    refusals=SECRET_REFUSALS,
    headers=("Upload-Secret",),
)
def abort_upload(call: Call[Any], upload_id: str) -> Reply:
    call.services.dropoff.abort(upload_id, upload_secret(call))
    return Reply(status=204)
