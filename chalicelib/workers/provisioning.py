"""The provisioning family's entry point: a batch from the provisioning queue.

Each record is one step (`services.workspaces.provisioning.handle_message`). A record that raises is
reported in `batchItemFailures` and comes back after the visibility timeout (and, after the
queue's receive limit, lands in the dead-letter queue for an operator); cloud failures the
family understands are retried with backoff through delayed messages instead, so they never
raise here. A body that is not a provisioning message can never succeed: the batch runner logs
and drops it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chalicelib.batch import BatchResponse, Record, run_batch
from chalicelib.services.messages import ProvisioningMessage, decode_provisioning
from chalicelib.services.workspaces.provisioning import Family, handle_message

if TYPE_CHECKING:
    from chalice.app import SQSEvent


class ProvisioningDependencies(Protocol):
    """What the worker works with: the provisioning family (`wiring.Services.provisioning`)."""

    @property
    def provisioning(self) -> Family: ...


def handle_provisioning_batch(event: SQSEvent, deps: ProvisioningDependencies) -> BatchResponse:
    """Take one step per record; the answer names the records to deliver again."""
    family = deps.provisioning

    def step(record: Record[ProvisioningMessage]) -> None:
        handle_message(family, record.message)

    return run_batch("provisioning", (record.to_dict() for record in event), decode_provisioning, step)
