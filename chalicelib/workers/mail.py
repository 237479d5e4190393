"""The mail worker: a batch from the `vre-<stage>-mail` queue, one delivery per record.

A record that raises is reported in `batchItemFailures`, so only it comes back (after the
queue's visibility timeout) and, after the queue's receive limit, lands in the dead-letter queue;
the others in its batch are done with. A body that is not a mail message can never succeed: the
batch runner logs and drops it rather than retrying it into the dead-letter queue.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from chalicelib.batch import BatchResponse, Record, run_batch
from chalicelib.metrics import MeteredMailer
from chalicelib.services.common.model import utcnow
from chalicelib.services.mail.delivery import deliver, deliver_workspace_mail
from chalicelib.services.messages import (
    AnswerMessage,
    InvitationMessage,
    InviterStoodDownMessage,
    MailMessage,
    UploadReceivedMessage,
    WorkspaceMessage,
    decode_mail,
)
from chalicelib.services.studies.invitations import revoke_sent_by

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from chalice.app import SQSEvent

    from chalicelib.config import Settings
    from chalicelib.services.accounts.ports import ResearcherRepository
    from chalicelib.services.common.ports import Ledger
    from chalicelib.services.dropoff.ports import UploadRepository
    from chalicelib.services.mail.ports import Mailer
    from chalicelib.services.studies.ports import InvitationRepository, StudyRepository
    from chalicelib.services.workspaces.ports import WorkspaceRepository


class MailDependencies(Protocol):
    """What the mail worker uses of the wiring."""

    @property
    def settings(self) -> Settings: ...
    @property
    def invitations(self) -> InvitationRepository: ...
    @property
    def studies(self) -> StudyRepository: ...
    @property
    def researchers(self) -> ResearcherRepository: ...
    @property
    def uploads(self) -> UploadRepository: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def mailer(self) -> Mailer: ...
    @property
    def workspaces(self) -> WorkspaceRepository: ...


def handle_mail_batch(event: SQSEvent, deps: MailDependencies) -> BatchResponse:
    """Deliver every record of the batch; the answer names the records to deliver again."""
    return run_batch("mail", (record.to_dict() for record in event), decode_mail, lambda r: handle_mail(r, deps))


def handle_mail(record: Record[MailMessage], deps: MailDependencies) -> None:
    """One mail message, dispatched on its type; raises for the queue to deliver it again."""
    mailer = MeteredMailer(deps.mailer, kind=record.message.type)
    match record.message:
        case InviterStoodDownMessage() as message:
            revoked = revoke_sent_by(deps.invitations, message)
            log.info(
                "revoked %d pending invitations of %s in study %s (%s)",
                len(revoked),
                message.inviter_id,
                message.study_id,
                message.reason,
            )
        case WorkspaceMessage() as message:
            deliver_workspace_mail(
                message,
                workspaces=deps.workspaces,
                studies=deps.studies,
                researchers=deps.researchers,
                ledger=deps.ledger,
                mailer=mailer,
                frontend_url=deps.settings.frontend_url,
                now=utcnow(),
            )
        case InvitationMessage() | AnswerMessage() | UploadReceivedMessage() as message:
            deliver(
                message,
                receive_count=record.receive_count,
                invitations=deps.invitations,
                studies=deps.studies,
                researchers=deps.researchers,
                uploads=deps.uploads,
                ledger=deps.ledger,
                mailer=mailer,
                settings=deps.settings,
                now=utcnow(),
            )
