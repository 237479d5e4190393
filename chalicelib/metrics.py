"""CloudWatch metrics in the embedded metric format (EMF): a log line CloudWatch turns into metrics.

Lambda ships every stdout line to CloudWatch Logs, and CloudWatch extracts metrics from any JSON line with
an `_aws` key naming them; so a metric costs one log line and no API call, no client and no permission. The
line goes through the `chalicelib.metrics` logger: in JSON format (the deployed stages) the JSON formatter
puts the EMF keys at the top of the line beside timestamp, level and request_id, which is still valid EMF;
in text format (the local console) it reads as a short sentence.

What is counted, in namespace `VREBroker` with dimension `Stage` (docs/operations.md lists them):
workspace steps by `Action` (succeeded, failed, retried), mails by `Kind` (sent, failed) and hook refusals
by `Hook` and `Reason`. Standard library only: the API path imports it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.services.mail.ports import Mailer, OutgoingMail

NAMESPACE = "VREBroker"
log = logging.getLogger(__name__)
_stage = "local"


def configure_metrics(stage: str) -> None:
    """The `Stage` dimension of every metric of this process (set once, beside the logging)."""
    global _stage
    _stage = stage


def emf_document(
    metric: str, dimensions: Mapping[str, str], *, value: float = 1, unit: str = "Count"
) -> dict[str, object]:
    """One EMF document: `metric` with `value`, under `Stage` and the given dimensions."""
    names = ["Stage", *dimensions]
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [names], "Metrics": [{"Name": metric, "Unit": unit}]}
            ],
        },
        "Stage": _stage,
        **dimensions,
        metric: value,
    }


def count(metric: str, **dimensions: str) -> None:
    """Add one to `metric` under these dimensions (keep their values few: each set is a metric)."""
    described = " ".join(f"{key}={value}" for key, value in dimensions.items())
    log.info("metric %s %s", metric, described, extra=emf_document(metric, dimensions))


def workspace_step(action: str, outcome: str) -> None:
    """A provisioning step's outcome: `WorkspaceStepSucceeded`, `...Failed` or `...Retried` by `Action`."""
    count(f"WorkspaceStep{outcome.capitalize()}", Action=action)


def hook_refused(hook: str, reason: str) -> None:
    """`HookRefused` by `Hook` (tusd, vrw) and a short `Reason`."""
    count("HookRefused", Hook=hook, Reason=reason)


def hook_ignored(hook: str, reason: str) -> None:
    """`HookIgnored` by `Hook` and a short `Reason`: acknowledged, but nothing done (an unknown event type)."""
    count("HookIgnored", Hook=hook, Reason=reason)


class MeteredMailer:
    """A `Mailer` that counts `MailSent` and `MailFailed` by `Kind` (the queue message's type)."""

    def __init__(self, mailer: Mailer, *, kind: str) -> None:
        self._mailer = mailer
        self._kind = kind

    def send(self, mail: OutgoingMail) -> None:
        try:
            self._mailer.send(mail)
        except Exception:  # counted, then re-raised unchanged for the worker's retry
            count("MailFailed", Kind=self._kind)
            raise
        count("MailSent", Kind=self._kind)
