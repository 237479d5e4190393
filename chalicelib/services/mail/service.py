"""The mail family's service: what the mail worker delivers with, bound once per warm Lambda."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.services.accounts.ports import ResearcherRepository
    from chalicelib.services.common.ports import Ledger
    from chalicelib.services.dropoff.ports import UploadRepository
    from chalicelib.services.mail.ports import Mailer
    from chalicelib.services.studies.ports import InvitationRepository, StudyRepository
    from chalicelib.services.workspaces.ports import WorkspaceRepository


@dataclass(eq=False)
class MailService:
    """The repositories a mail is rendered from, the ledger that claims it once, and SES that sends it."""

    settings: Settings
    invitations: InvitationRepository
    studies: StudyRepository
    researchers: ResearcherRepository
    uploads: UploadRepository
    workspaces: WorkspaceRepository
    ledger: Ledger
    mailer: Mailer
