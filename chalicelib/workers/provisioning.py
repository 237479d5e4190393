"""The provisioning family's entry point: a batch from the provisioning queue.

Each record is one step (`services.provisioning.handle_message`). A record that raises is
reported in `batchItemFailures` and comes back after the visibility timeout (and, after the
queue's receive limit, lands in the dead-letter queue for an operator); cloud failures the
family understands are retried with backoff through delayed messages instead, so they never
raise here. A body that is not a JSON object can never succeed: it is logged and dropped.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.observability import report_exception
from chalicelib.services.provisioning import Family, handle_message

if TYPE_CHECKING:
    from chalice.app import SQSEvent

log = logging.getLogger(__name__)

BatchResponse = dict[str, list[dict[str, str]]]


class ProvisioningDependencies(Protocol):
    @property
    def provisioning(self) -> Family: ...


def handle_provisioning_batch(event: SQSEvent, deps: ProvisioningDependencies) -> BatchResponse:
    """Take one step per record; the answer names the records to deliver again."""
    family = deps.provisioning
    failures = []
    for record in event:
        raw: dict[str, Any] = record.to_dict()
        message_id = str(raw["messageId"])
        try:
            message = json.loads(record.body)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not all(isinstance(v, str) for v in message.values()):
            log.error("dropping provisioning message %s: not a JSON object of strings", message_id)
            continue
        try:
            handle_message(family, message)
        except Exception:  # the record's boundary: it alone comes back, the rest of the batch is done
            log.exception("provisioning message %s failed; SQS delivers it again", message_id)
            report_exception()
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
