"""`/studies/{study_id}/uploads`: what arrived through the study's upload link."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Resource
from chalicelib.api.schemas import UploadView
from chalicelib.services import uploads as service
from chalicelib.services.domain import Page, Upload

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
    return view


@resource.route(
    "/studies/{study_id}/uploads", "GET", summary="The uploads received for the study", response=UploadView, paged=True
)
def list_uploads(call: Call[Any], study_id: str) -> Page[UploadView]:
    page = service.list_uploads(call.study_access, call.deps.uploads, call.page)
    return Page([render_upload(upload) for upload in page.items], page.next_start)
