"""The drop-off's uploads as the routes see them: tusd's hooks, and a study's received files (list, download,
delete), bound once per warm Lambda (built in `chalicelib.wiring`; the straight-to-S3 routes use `Dropoff`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.services.dropoff import upload_files, uploads

if TYPE_CHECKING:
    from chalicelib.services.common.model import Page, PageRequest
    from chalicelib.services.dropoff.model import Upload
    from chalicelib.services.dropoff.ports import UploadRepository
    from chalicelib.services.dropoff.settings import UploadPolicy
    from chalicelib.services.dropoff.storage import ObjectStorage
    from chalicelib.services.dropoff.upload_files import DownloadLink
    from chalicelib.services.dropoff.uploads import Admission, TusUpload
    from chalicelib.services.mail.ports import MailQueue
    from chalicelib.services.studies.model import StudyAccess
    from chalicelib.services.studies.ports import StudyRepository

# The tusd v2 hooks the broker acts on; any other is acknowledged and ignored.
PRE_CREATE = "pre-create"
POST_FINISH = "post-finish"
POST_TERMINATE = "post-terminate"


@dataclass(eq=False)
class UploadsService:
    """What arrived for a study through its upload link, and tusd's hooks that record it."""

    studies: StudyRepository
    uploads: UploadRepository
    storage: ObjectStorage
    mail: MailQueue
    policy: UploadPolicy
    download_seconds: int

    def tusd_hook(self, kind: str, upload: TusUpload) -> Admission | None:
        """pre-create's admission; post-finish records the upload and has the admins told; post-terminate marks
        it aborted; None for those and any other hook."""
        if kind == PRE_CREATE:
            return uploads.admit(upload, self.studies, self.uploads, self.policy)
        if kind == POST_FINISH:
            uploads.record_finished(upload, self.studies, self.uploads, self.mail)
        elif kind == POST_TERMINATE:
            uploads.record_terminated(upload, self.studies, self.uploads)
        return None

    def list_for_study(self, access: StudyAccess, page: PageRequest) -> Page[Upload]:
        return uploads.list_uploads(access, self.uploads, page)

    def download_link(self, access: StudyAccess, upload_id: str) -> DownloadLink:
        return upload_files.download_link(
            access, upload_id, self.uploads, self.studies, self.storage, ttl=self.download_seconds
        )

    def delete(self, access: StudyAccess, upload_id: str) -> None:
        upload_files.delete_upload(access, upload_id, self.uploads, self.studies, self.storage)
