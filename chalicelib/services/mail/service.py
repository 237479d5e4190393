"""The mail family's service: what the mail worker delivers with, bound once per warm Lambda."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.services.ports import (
        InvitationRepository,
        Ledger,
        Mailer,
        ResearcherRepository,
        StudyRepository,
        UploadRepository,
        WorkspaceRepository,
    )


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
