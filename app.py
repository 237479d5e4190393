"""Chalice entry point: Sentry and logging first, then the app, its blueprints, middleware, workers. Thin by design."""

from __future__ import annotations

from chalicelib.config import load_settings
from chalicelib.logs import configure_logging
from chalicelib.metrics import configure_metrics
from chalicelib.observability import init_sentry

# Read once here, before anything else: Sentry needs them first, and Chalice binds each SQS handler to its
# queue when this module is imported. Every Chalice command (deploy, package, local) and Lambda itself
# import it with the stage's environment, so each stage's handlers read that stage's own queues.
_startup = load_settings()
init_sentry(_startup)
configure_logging(_startup)
configure_metrics(_startup.stage)

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent  # noqa: E402  (after Sentry, so it sees everything below)

from chalicelib import wiring  # noqa: E402
from chalicelib.api import register  # noqa: E402
from chalicelib.api.middleware import problem_documents  # noqa: E402

# Each worker is imported by the function that runs it, so the API's cold start does not pay for them.
BatchResponse = dict[str, list[dict[str, str]]]

app = Chalice(app_name="vre-broker")
app.register_middleware(problem_documents, "http")
register(app)


@app.on_sqs_message(queue=_startup.queue_name("mail"), batch_size=10)
def deliver_mail(event: SQSEvent) -> BatchResponse:
    """Invitation mails and their answers, through SES."""
    from chalicelib.workers.mail import handle_mail_batch

    return handle_mail_batch(event, wiring.dependencies().services.mail)


@app.on_sqs_message(queue=_startup.queue_name("provisioning"), batch_size=5)
def provision_workspaces(event: SQSEvent) -> BatchResponse:
    """Workspace steps on OpenStack: create, check, start, stop, reboot, delete."""
    from chalicelib.workers.provisioning import handle_provisioning_batch

    return handle_provisioning_batch(event, wiring.dependencies().services)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def reconcile_workspaces(event: CloudWatchEvent) -> None:
    """Repair what is stuck, lost or orphaned; reminders, stops and deletions at expiry."""
    from chalicelib.workers.reconcile import run_reconciler

    run_reconciler(wiring.dependencies().services)


@app.schedule(Rate(15, unit=Rate.MINUTES))
def requeue_invitation_links(event: CloudWatchEvent) -> None:
    """Send again, with a new link, invitations whose mail a crash never queued."""
    from chalicelib.workers.invitation_links import run_link_repair

    run_link_repair(wiring.dependencies().services.studies)
