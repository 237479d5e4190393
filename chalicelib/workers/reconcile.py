"""The scheduled reconciler's entry point (its own Lambda, with its own IAM policy)."""

from __future__ import annotations

import logging
from typing import Protocol

from chalicelib.logs import bound_request_id
from chalicelib.services.dropoff.upload_reconciler import UploadReport, UploadRound, reconcile_uploads
from chalicelib.services.workspaces.provisioning import Family
from chalicelib.services.workspaces.reconciler import Report, reconcile

log = logging.getLogger(__name__)


class ReconcileServices(Protocol):
    """What the reconciler works with: the provisioning family and the drop-off's round (`wiring.Services`)."""

    @property
    def provisioning(self) -> Family: ...

    @property
    def upload_round(self) -> UploadRound | None: ...


def run_reconciler(services: ReconcileServices) -> Report:
    """One scheduled repair round under a request id of its own; its findings are logged for the operator."""
    with bound_request_id(""):
        report = reconcile(services.provisioning)
        _log(report)
        uploads = services.upload_round
        if uploads is not None:
            found = reconcile_uploads(uploads)
            _log_uploads(found)
    return report


def _log_uploads(report: UploadReport) -> None:
    log.info(
        "reconciler: uploads recovered=%d expired=%d; deleted studies marked=%d purged=%d",
        len(report.recovered),
        len(report.expired),
        len(report.marked),
        len(report.purged),
    )


def _log(report: Report) -> None:
    log.info(
        "reconciler: failed=%d nudged=%d lost=%d orphans=%d (deleted %d) reminded=%d stopped=%d deleted=%d "
        "cleaned=%d owed_mails=%d",
        len(report.failed),
        len(report.nudged),
        len(report.lost),
        len(report.orphans),
        len(report.orphans_deleted),
        len(report.reminded),
        len(report.stopped),
        len(report.deleted),
        len(report.cleaned),
        len(report.owed_mails),
    )
