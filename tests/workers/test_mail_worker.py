"""The mail worker on moto: each mail goes out once however often SQS delivers it, a failed send comes
back through the queue and is marked failed on its last try, and one bad record fails alone.

The invitations, ledger, studies and researchers are the DynamoDB ones; the mailer is either SES
on moto (to count what it accepted) or a small fake that records or refuses.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import msgspec
import pytest
from chalice.app import SQSEvent
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from app import app
from chalicelib.config import Settings
from chalicelib.providers.mail import SesMailer
from chalicelib.providers.queues import SqsMailQueue
from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.accounts.ports import ResearcherRepository
from chalicelib.services.common.model import AuditEntry, AuditOutcome, new_id, utcnow
from chalicelib.services.common.ports import Ledger
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.mail.delivery import MailDeliveryError, deliver
from chalicelib.services.mail.ports import Mailer, OutgoingMail
from chalicelib.services.messages import InvitationMessage, Message, encode
from chalicelib.services.studies.model import Invitation, InvitationStatus, MailStatus, Role
from chalicelib.services.studies.ports import InvitationRepository, StudyRepository
from chalicelib.services.studies.studies import create_study
from chalicelib.services.workspaces.ports import WorkspaceRepository
from chalicelib.wiring import Dependencies
from chalicelib.workers.mail import handle_mail_batch
from tests.conftest import Person
from vre_app.local.pump import Subscription, process_batch, sqs_handlers, subscribe

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-1"


class RecordingMailer:
    """Keeps every mail; refuses those to an address in `refuse` (or all, with `refuse_all`)."""

    def __init__(self, *, refuse: set[str] | None = None, refuse_all: bool = False) -> None:
        self.sent: list[OutgoingMail] = []
        self.refused: list[OutgoingMail] = []
        self.refuse = refuse or set()
        self.refuse_all = refuse_all

    def send(self, mail: OutgoingMail) -> None:
        if self.refuse_all or mail.to in self.refuse:
            self.refused.append(mail)
            raise MailDeliveryError("the fake mail service refuses")
        self.sent.append(mail)


@dataclass
class MailDeps:
    """What the worker reads of the wiring: the moto-backed repositories, and a mailer of the test's choosing."""

    settings: Settings
    invitations: InvitationRepository
    studies: StudyRepository
    researchers: ResearcherRepository
    ledger: Ledger
    mailer: Mailer
    workspaces: WorkspaceRepository
    uploads: UploadRepository


@dataclass
class Scene:
    """A study, its owner, and invitations made straight in the repository (their mail still queued)."""

    deps: Dependencies
    owner: Person
    study_id: str
    made: list[Invitation] = field(default_factory=list)

    def invite(self, *, email: str | None = None, message: str = "Join us!") -> Invitation:
        now = utcnow()
        invitation = Invitation(
            id=new_id(),
            study_id=self.study_id,
            email=email or f"invitee.{new_id()[:12]}@elsewhere.example",
            role=Role.CONTRIBUTOR,
            inviter_id=self.owner.id,
            token_hash=new_id() + new_id(),
            expires_at=now + timedelta(days=14),
            created_at=now,
            updated_at=now,
            message=message,
            mail_id=new_id(),
        )
        audit = AuditEntry(
            self.study_id, self.owner.id, "invitation.created", f"invitation:{invitation.id}", AuditOutcome.SUCCESS, now
        )
        return self.deps.invitations.create(invitation, audit)

    def change(self, invitation: Invitation, **changes: Any) -> Invitation:
        stored = self.deps.invitations.get(invitation.id)
        assert stored is not None
        now = utcnow()
        audit = AuditEntry(
            self.study_id, self.owner.id, "invitation.changed", f"invitation:{invitation.id}", AuditOutcome.SUCCESS, now
        )
        return self.deps.invitations.update(replace(stored, updated_at=now, **changes), audit)

    def mail_status(self, invitation: Invitation) -> MailStatus:
        stored = self.deps.invitations.get(invitation.id)
        assert stored is not None
        return stored.mail_status


def invitation_message(
    invitation: Invitation, *, token: str = "the-raw-token", mail_id: str | None = None
) -> InvitationMessage:
    return InvitationMessage(mail_id=mail_id or invitation.mail_id, invitation_id=invitation.id, token=token)


def record(body: object, *, message_id: str | None = None, receive_count: int = 1) -> dict[str, Any]:
    """One record of Lambda's SQS event; a body that is not a string is sent as JSON."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body if isinstance(body, str) else encode(body) if isinstance(body, Message) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1700000000000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{DEFAULT_ACCOUNT_ID}:vre-local-mail",
        "awsRegion": REGION,
    }


def sqs_event(*records: dict[str, Any]) -> SQSEvent:
    return SQSEvent({"Records": list(records)}, context=None)


def ses_mails_to(address: str) -> list[Any]:
    """What moto's SES accepted for one address (moto's documented way to look)."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [m for m in backend.sent_messages if address in m.destinations.get("ToAddresses", [])]


@pytest.fixture
def verified_sender(deps: Dependencies) -> None:
    """SES sends only from a verified identity: the configured From address."""
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=deps.settings.email_from_address)


@pytest.fixture
def scene(deps: Dependencies, person: Callable[..., Person]) -> Scene:
    owner = person("inviter")
    made = create_study(owner.researcher, deps.studies, deps.references, name="Cohort study")
    return Scene(deps, owner, made.study.id)


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def worker_deps(deps: Dependencies, mailer: RecordingMailer) -> MailDeps:
    return MailDeps(
        deps.settings,
        deps.invitations,
        deps.studies,
        deps.researchers,
        deps.ledger,
        mailer,
        deps.workspaces,
        deps.uploads,
    )


def settings_with(settings: Settings, **changes: Any) -> Settings:
    return msgspec.structs.replace(settings, **changes)


def test_the_same_message_delivered_three_times_sends_one_mail(
    deps: Dependencies, scene: Scene, verified_sender: None
) -> None:
    # GIVEN an invitation and its queued message, and the worker on SES (moto)
    invitation = scene.invite()
    on_ses = MailDeps(
        deps.settings,
        deps.invitations,
        deps.studies,
        deps.researchers,
        deps.ledger,
        SesMailer(deps.settings),
        deps.workspaces,
        deps.uploads,
    )
    body = invitation_message(invitation)
    message_id = str(uuid.uuid4())

    # WHEN SQS delivers the same message three times
    answers = [
        handle_mail_batch(sqs_event(record(body, message_id=message_id, receive_count=n)), on_ses) for n in (1, 2, 3)
    ]

    # THEN each delivery is acknowledged, one mail went out, and the invitation says it was sent
    assert answers == [{"batchItemFailures": []}] * 3
    (mail,) = ses_mails_to(invitation.email)
    assert mail.source == deps.settings.email_from_address
    assert mail.subject == 'Inviter invites you to the study "Cohort study"'
    assert "/invitations/accept?token=the-raw-token" in mail.body
    assert scene.mail_status(invitation) is MailStatus.SENT


def test_the_invitation_mail_replies_to_the_inviter(
    scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer
) -> None:
    invitation = scene.invite(message="Looking forward to it")

    assert handle_mail_batch(sqs_event(record(invitation_message(invitation))), worker_deps) == {
        "batchItemFailures": []
    }

    (mail,) = mailer.sent
    assert mail.to == invitation.email
    assert mail.reply_to == scene.owner.researcher.email
    assert "> Looking forward to it" in mail.text
    assert f"{worker_deps.settings.frontend_url}/invitations/accept?token=the-raw-token" in mail.text


def test_a_failed_send_is_retried_and_the_retry_sends_it(
    scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a mail service that refuses the first try
    invitation = scene.invite()
    mailer.refuse_all = True
    body = invitation_message(invitation)
    message_id = str(uuid.uuid4())

    # WHEN the message comes the first time
    first = handle_mail_batch(sqs_event(record(body, message_id=message_id, receive_count=1)), worker_deps)

    # THEN it is reported for redelivery, nothing went out, and the mail is still queued (not failed yet)
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert len(mailer.refused) == 1
    assert mailer.sent == []
    assert scene.mail_status(invitation) is MailStatus.QUEUED
    assert "failed; SQS delivers it again" in caplog.text

    # AND once the service takes mail again, the redelivery sends it (the claim was given back)
    mailer.refuse_all = False
    second = handle_mail_batch(sqs_event(record(body, message_id=message_id, receive_count=2)), worker_deps)
    assert second == {"batchItemFailures": []}
    assert [mail.to for mail in mailer.sent] == [invitation.email]
    assert scene.mail_status(invitation) is MailStatus.SENT


def test_the_last_try_before_the_dead_letter_queue_marks_the_mail_failed(
    deps: Dependencies, scene: Scene, worker_deps: MailDeps
) -> None:
    # GIVEN a mail service that refuses everything
    invitation = scene.invite()
    refusing = RecordingMailer(refuse_all=True)
    last = deps.settings.mail_max_receive_count

    # WHEN the message fails on every receive up to the queue's limit
    for receive_count in range(1, last + 1):
        with pytest.raises(MailDeliveryError):
            deliver(
                invitation_message(invitation),
                receive_count=receive_count,
                invitations=deps.invitations,
                studies=deps.studies,
                researchers=deps.researchers,
                uploads=deps.uploads,
                ledger=deps.ledger,
                mailer=refusing,
                settings=deps.settings,
                now=utcnow(),
            )
        expected = MailStatus.FAILED if receive_count == last else MailStatus.QUEUED
        # THEN the invitation shows failed only after the last try
        assert scene.mail_status(invitation) is expected

    # AND every try reached the mail service (each released its claim)
    assert len(refusing.refused) == last
    # AND a redrive from the dead-letter queue can still send it
    assert deps.ledger.claim(f"mail#{invitation.mail_id}", until=utcnow() + timedelta(minutes=1))


def test_a_mail_replaced_by_a_resend_is_not_sent(scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer) -> None:
    # GIVEN an invitation that was resent: its current mail is another one
    invitation = scene.invite()
    resent = scene.change(invitation, mail_id=new_id(), token_hash=new_id())

    # WHEN the old message arrives
    answer = handle_mail_batch(sqs_event(record(invitation_message(invitation, token="old-token"))), worker_deps)

    # THEN it is acknowledged and nothing is sent; the new mail's status is untouched
    assert answer == {"batchItemFailures": []}
    assert mailer.sent == []
    assert scene.mail_status(resent) is MailStatus.QUEUED

    # AND the new message is sent
    handle_mail_batch(sqs_event(record(invitation_message(resent, token="new-token"))), worker_deps)
    (mail,) = mailer.sent
    assert "token=new-token" in mail.text
    assert scene.mail_status(resent) is MailStatus.SENT


@pytest.mark.parametrize("status", [InvitationStatus.REVOKED, InvitationStatus.ACCEPTED, InvitationStatus.DECLINED])
def test_an_invitation_no_longer_pending_is_not_mailed(
    status: InvitationStatus, scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer
) -> None:
    invitation = scene.change(scene.invite(), status=status)

    assert handle_mail_batch(sqs_event(record(invitation_message(invitation))), worker_deps) == {
        "batchItemFailures": []
    }
    assert mailer.sent == []


def test_an_expired_invitation_is_not_mailed(scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer) -> None:
    invitation = scene.change(scene.invite(), expires_at=utcnow() - timedelta(seconds=1))

    handle_mail_batch(sqs_event(record(invitation_message(invitation))), worker_deps)

    assert mailer.sent == []


def test_one_bad_record_in_a_batch_fails_alone(scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer) -> None:
    # GIVEN a batch of three where the mail service refuses the middle one
    first, refused, third = (scene.invite() for _ in range(3))
    mailer.refuse = {refused.email}
    records = [record(invitation_message(invitation)) for invitation in (first, refused, third)]

    # WHEN the worker handles the batch
    answer = handle_mail_batch(sqs_event(*records), worker_deps)

    # THEN only that record comes back; the other two were sent and stay done
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    assert sorted(mail.to for mail in mailer.sent) == sorted([first.email, third.email])
    assert scene.mail_status(first) is MailStatus.SENT
    assert scene.mail_status(refused) is MailStatus.QUEUED
    assert scene.mail_status(third) is MailStatus.SENT


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        "[1, 2]",
        '"a string"',
        {"type": "postcard", "mail_id": "m", "invitation_id": "i"},
        {"type": "invitation", "invitation_id": "i", "token": "t"},
        {"type": "invitation_answered", "mail_id": "m", "invitation_id": "i", "answer": "maybe"},
    ],
)
def test_a_malformed_message_is_logged_and_acknowledged(
    body: object, worker_deps: MailDeps, mailer: RecordingMailer, caplog: pytest.LogCaptureFixture
) -> None:
    answer = handle_mail_batch(sqs_event(record(body, receive_count=1)), worker_deps)

    assert answer == {"batchItemFailures": []}
    assert mailer.sent == []
    assert "dropping" in caplog.text


def test_a_message_for_an_invitation_that_is_gone_is_acknowledged(
    worker_deps: MailDeps, mailer: RecordingMailer
) -> None:
    body = {"type": "invitation", "mail_id": new_id(), "invitation_id": new_id(), "token": "t"}

    assert handle_mail_batch(sqs_event(record(body)), worker_deps) == {"batchItemFailures": []}
    assert mailer.sent == []


def add_researcher(deps: Dependencies, email: str, locale: Locale) -> Researcher:
    now = utcnow()
    return deps.researchers.add(
        Researcher(id=new_id(), email=email, name="Grace Hopper", created_at=now, updated_at=now, locale=locale)
    )


def test_the_invitation_is_in_the_invitees_language_if_they_have_an_account(
    deps: Dependencies, scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer
) -> None:
    invitee = add_researcher(deps, f"grace.{new_id()[:12]}@uni.example", Locale.NL)
    invitation = scene.invite(email=invitee.email)

    handle_mail_batch(sqs_event(record(invitation_message(invitation))), worker_deps)

    (mail,) = mailer.sent
    assert mail.subject == 'Inviter nodigt je uit voor de studie "Cohort study"'


def test_otherwise_it_is_in_the_inviters_language(
    deps: Dependencies, scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer
) -> None:
    deps.researchers.save(replace(scene.owner.researcher, locale=Locale.NL))
    invitation = scene.invite()

    handle_mail_batch(sqs_event(record(invitation_message(invitation))), worker_deps)

    (mail,) = mailer.sent
    assert "nodigt je uit" in mail.subject


@pytest.mark.parametrize("answer", ["accepted", "declined"])
def test_the_inviter_is_told_the_answer_once(
    answer: str, deps: Dependencies, scene: Scene, worker_deps: MailDeps, mailer: RecordingMailer
) -> None:
    # GIVEN an invitee with an account who answered
    invitee = add_researcher(deps, f"grace.{new_id()[:12]}@uni.example", Locale.NL)
    invitation = scene.change(scene.invite(email=invitee.email), status=InvitationStatus(answer))
    body = {"type": "invitation_answered", "mail_id": new_id(), "invitation_id": invitation.id, "answer": answer}

    # WHEN the message arrives twice
    for _ in range(2):
        assert handle_mail_batch(sqs_event(record(body)), worker_deps) == {"batchItemFailures": []}

    # THEN the inviter got one mail, in the inviter's language, naming the invitee, replies going to them
    (mail,) = mailer.sent
    assert mail.to == scene.owner.researcher.email
    assert mail.reply_to == invitee.email
    assert mail.subject.startswith(f"Grace Hopper ({invitee.email}) {answer}")
    assert '"Cohort study"' in mail.subject


# The whole path on moto: the queue, the pump as Lambda's event source, the app's handler, SES.


@pytest.fixture
def sqs(aws: None) -> SQSClient:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def private_queue(sqs: SQSClient) -> Iterator[tuple[str, str]]:
    """A queue of this test's own, shaped like `vre-<stage>-mail`: (url, arn)."""
    url = sqs.create_queue(QueueName=f"mail-test-{uuid.uuid4().hex[:12]}", Attributes={"VisibilityTimeout": "180"})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield url, arn
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def receipts() -> list[str]:
    return []


@pytest.fixture
def app_subscription(private_queue: tuple[str, str], receipts: list[str]) -> Subscription:
    """The app's own mail handler, fed from the private queue; `receipts` gets each record's receipt handle."""
    (handler,) = (h for h in sqs_handlers(app) if h.name == "deliver_mail")

    def noting_receipts(event: dict[str, Any], context: Any) -> Any:
        receipts.extend(record["receiptHandle"] for record in event["Records"])
        return handler.function(event, context)

    url, arn = private_queue
    return Subscription(replace(handler, function=noting_receipts), url, arn, REGION)


def test_the_app_pumps_vre_mail_into_its_mail_handler(sqs: SQSClient) -> None:
    (subscription,) = (s for s in subscribe(sqs, sqs_handlers(app)) if s.handler.name == "deliver_mail")

    assert subscription.queue_url.endswith("/vre-local-mail")
    assert subscription.handler.batch_size == 10


def test_a_queued_invitation_reaches_ses_through_the_pump(
    deps: Dependencies, scene: Scene, sqs: SQSClient, app_subscription: Subscription, verified_sender: None
) -> None:
    # GIVEN an invitation whose message went onto the queue through the real SQS mail queue
    invitation = scene.invite()
    queue = SqsMailQueue(settings_with(deps.settings, mail_queue_url=app_subscription.queue_url), sqs)
    queue.send(invitation_message(invitation, token="pumped-token"))

    # WHEN the pump hands the batch to the app's handler
    result = process_batch(sqs, app_subscription, wait_seconds=0)

    # THEN the message is done with and SES (moto) has the mail
    assert result.received == 1
    assert result.kept == ()
    (mail,) = ses_mails_to(invitation.email)
    assert "token=pumped-token" in mail.body
    assert scene.mail_status(invitation) is MailStatus.SENT


def test_the_pump_passes_the_receive_count_so_the_last_try_marks_the_mail_failed(
    deps: Dependencies, scene: Scene, sqs: SQSClient, app_subscription: Subscription, receipts: list[str]
) -> None:
    # GIVEN the app wired to a mail service that refuses everything, with two tries before the dead-letter queue
    from chalicelib import wiring

    wiring.install(
        replace(
            deps,
            settings=settings_with(deps.settings, mail_max_receive_count=2),
            mailer_override=RecordingMailer(refuse_all=True),
        )
    )
    invitation = scene.invite()
    sqs.send_message(QueueUrl=app_subscription.queue_url, MessageBody=encode(invitation_message(invitation)))

    # WHEN the message is received once, fails, and is received again
    first = process_batch(sqs, app_subscription, wait_seconds=0)
    assert len(first.kept) == 1
    assert scene.mail_status(invitation) is MailStatus.QUEUED
    make_visible_again(sqs, app_subscription.queue_url, receipts[-1])
    second = process_batch(sqs, app_subscription, wait_seconds=0)

    # THEN the second receive was the last try: the invitation shows the mail failed
    assert second.kept == first.kept
    assert scene.mail_status(invitation) is MailStatus.FAILED


def make_visible_again(sqs: SQSClient, queue_url: str, receipt_handle: str) -> None:
    """What the end of the visibility timeout does, at once."""
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
