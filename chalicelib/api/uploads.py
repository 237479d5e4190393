"""`/studies/{study_id}/uploads`: what arrived through the study's upload link, its download, its removal."""

from __future__ import annotations

from typing import Any

from chalicelib.api.dropoff_schemas import DownloadView
from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import UploadView
from chalicelib.services.common.model import Page
from chalicelib.services.dropoff.model import Upload

resource = Resource(__name__, tag="uploads")


def render_upload(upload: Upload) -> UploadView:
    view = UploadView(
        id=upload.id,
        file_name=upload.file_name,
        size=upload.size,
        received_bytes=upload.received_bytes,
        status=upload.status.value,
        at=upload.created_at,
        updated_at=upload.updated_at,
        tusd_id=upload.tusd_id,
        storage=upload.storage,
    )
    if upload.sender_name:
        view.sender_name = upload.sender_name
    if upload.sender_email:
        view.sender_email = upload.sender_email
    if upload.file_type:
        view.file_type = upload.file_type
    if upload.checksum_sha256:
        view.checksum_sha256 = upload.checksum_sha256
    if upload.checksum_parts:
        view.checksum_sha256_parts = upload.checksum_parts
    return view


@resource.route(
    "/studies/{study_id}/uploads",
    "GET",
    loads=Loads.STUDY,
    summary="The uploads received for the study",
    response=UploadView,
    paged=True,
)
def list_uploads(call: Call[Any], study_id: str) -> Page[UploadView]:
    page = call.services.uploads.list_for_study(call.study_access, call.page)
    return Page([render_upload(upload) for upload in page.items], page.next_start)


@resource.route(
    "/studies/{study_id}/uploads/{upload_id}/download",
    "GET",
    loads=Loads.STUDY,
    summary="A short-lived download link for an upload (contributor+), audited",
    description=(
        "A presigned GET on the uploads bucket, valid `DOWNLOAD_URL_SECONDS`. 409 when there is no file of ours "
        "to give: the upload was refused or aborted, or tusd kept it in a store of its own (its filestore, or "
        "S3 elsewhere than the key the broker fixed) rather than in the uploads bucket; run tusd with its "
        "s3store on the uploads bucket for downloadable uploads. 503 (with Retry-After) while the bucket is "
        "not answering."
    ),
    response=DownloadView,
    refusals=(409, 503),
)
def download_upload(call: Call[Any], study_id: str, upload_id: str) -> DownloadView:
    link = call.services.uploads.download_link(call.study_access, upload_id)
    return DownloadView(link.url, link.expires_at)


@resource.route(
    "/studies/{study_id}/uploads/{upload_id}",
    "DELETE",
    loads=Loads.STUDY,
    summary="Delete an upload and its file (admin+)",
    status=204,
    refusals=(503,),
)
def delete_upload(call: Call[Any], study_id: str, upload_id: str) -> Reply:
    call.services.uploads.delete(call.study_access, upload_id)
    return Reply(status=204)
