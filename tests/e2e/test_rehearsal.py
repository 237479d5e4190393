"""`make rehearse` as `make test` runs it: the operator's deploy, upgrade and redrive against moto, end to end.

The harness runs `python -m vre_app deploy --stage dev` twice and `python -m vre_app redrive` as subprocesses
in a copy of the project (about 30 s; Chalice builds the deployment package, pip fetching the Lambda wheels).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from vre_app.local.environment import PROJECT_ROOT

pytestmark = pytest.mark.xdist_group("rehearsal")

REHEARSAL_TIMEOUT_SECONDS = 600


def test_the_deploy_rehearsal_passes_every_step() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vre_app.rehearse"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=REHEARSAL_TIMEOUT_SECONDS,
        check=False,
    )
    said = done.stdout
    assert done.returncode == 0, f"the rehearsal failed:\n{said}\n{done.stderr[-4000:]}"
    for checked in (
        "checked the console:",
        "checked the API:",
        "checked the SQS event source mappings:",
        "checked the schedules:",
        "checked the alarms:",
        "checked the roles:",
        "checked the reference data:",
        "checked the upgrade:",
        "checked the redrive:",
    ):
        assert checked in said
    assert "Lambda proxy arn:aws:lambda:eu-west-1:123456789012:function:vre-broker-dev" in said
    assert "deliver_mail <- vre-dev-mail: batch 10, ReportBatchItemFailures, MaximumConcurrency 2" in said
    assert "stage api: throttled at 20 requests/s, burst 40" in said
    assert "14 university, 20 research_field, 12 catalog" in said
    assert "config.json api_base_url https://" in said
    assert ".cloudfront.net/upload/" in said
    assert "moved 1 message(s) from vre-dev-mail-dlq back to vre-dev-mail" in said
