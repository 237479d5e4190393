"""The scheduled repair of invitation links whose mail was never queued (its own Lambda and IAM policy)."""

from __future__ import annotations

import logging
from typing import Protocol

from chalicelib.logs import bound_request_id
from chalicelib.services.studies.invitations import InvitationSettings, Outbox, requeue_lost_links

log = logging.getLogger(__name__)


class InvitationDependencies(Protocol):
    @property
    def outbox(self) -> Outbox: ...
    @property
    def invitation_settings(self) -> InvitationSettings: ...


def run_link_repair(deps: InvitationDependencies) -> list[str]:
    """One round under a request id of its own; what it sent again is logged (it should be rare: each is a crash)."""
    with bound_request_id(""):
        requeued = requeue_lost_links(deps.outbox, deps.invitation_settings)
        if requeued:
            log.warning("invitations whose mail was never queued, sent again with a new link: %s", ", ".join(requeued))
    return requeued
