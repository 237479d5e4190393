"""The mail worker: a batch from the `vre-<stage>-mail` queue, one `deliver` per record.

A record that raises is reported in `batchItemFailures`, so only it comes back (after the
queue's visibility timeout) and, after the queue's receive limit, lands in the dead-letter queue;
the others in its batch are done with. A body that is not JSON can never succeed: it is logged
and dropped rather than retried into the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.observability import report_exception
from chalicelib.services.domain import utcnow
from chalicelib.services.mail import deliver
from chalicelib.services.workspace_mail import deliver_workspace_mail

if TYPE_CHECKING:
    from chalice.app import SQSEvent

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

log = logging.getLogger(__name__)

BatchResponse = dict[str, list[dict[str, str]]]


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
    failures = []
    for record in event:
        raw: dict[str, Any] = record.to_dict()
        message_id = str(raw["messageId"])
        try:
            message = json.loads(record.body)
        except ValueError:
            log.error("dropping mail message %s: its body is not JSON", message_id)
            continue
        try:
            if isinstance(message, dict) and message.get("type") == "workspace":
                deliver_workspace_mail(
                    message,
                    workspaces=deps.workspaces,
                    studies=deps.studies,
                    researchers=deps.researchers,
                    ledger=deps.ledger,
                    mailer=deps.mailer,
                    frontend_url=deps.settings.frontend_url,
                    now=utcnow(),
                )
                continue
            deliver(
                message,
                receive_count=_receive_count(raw),
                invitations=deps.invitations,
                studies=deps.studies,
                researchers=deps.researchers,
                uploads=deps.uploads,
                ledger=deps.ledger,
                mailer=deps.mailer,
                settings=deps.settings,
                now=utcnow(),
            )
        except Exception:  # the record's boundary: it alone is retried, the rest of the batch is not
            log.exception("mail message %s failed; SQS delivers it again", message_id)
            report_exception()
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _receive_count(record: dict[str, Any]) -> int:
    """How often SQS has handed this message out, this time included (1 if SQS did not say)."""
    try:
        return max(1, int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)))
    except (TypeError, ValueError):
        return 1
