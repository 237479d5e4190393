"""The scheduled reconciler's entry point (its own Lambda, with its own IAM policy)."""

from __future__ import annotations

import logging

from chalicelib.services.reconciler import Report, reconcile
from chalicelib.workers.provisioning import ProvisioningDependencies

log = logging.getLogger(__name__)


def run_reconciler(deps: ProvisioningDependencies) -> Report:
    """One scheduled repair round; its findings are logged for the operator."""
    report = reconcile(deps.provisioning)
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
    return report
