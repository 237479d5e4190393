"""The scheduled reconciler's entry point (its own Lambda, with its own IAM policy)."""

from __future__ import annotations

import logging

from chalicelib.logs import bound_request_id
from chalicelib.services.reconciler import Report, reconcile
from chalicelib.workers.provisioning import ProvisioningDependencies

log = logging.getLogger(__name__)


def run_reconciler(deps: ProvisioningDependencies) -> Report:
    """One scheduled repair round under a request id of its own; its findings are logged for the operator."""
    with bound_request_id(""):
        report = reconcile(deps.provisioning)
        _log(report)
    return report


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
