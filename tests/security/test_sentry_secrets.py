"""What reaches Sentry when something breaks while a secret is at hand: the error, never the secret.

Each test installs Sentry with the broker's own options (`init_sentry`) and a transport that keeps every
envelope instead of sending it, breaks something deep inside a request or a queued mail, and looks for the
secret anywhere in what would have gone out.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import msgspec
import pytest
import sentry_sdk
from chalice.test import Client
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from chalicelib import observability, wiring
from chalicelib.config import Settings
from chalicelib.services.accounts.model import Credential
from chalicelib.services.accounts.ports import CredentialRepository, ResearcherRepository
from chalicelib.services.common.model import AuditEntry, AuditOutcome, new_id, utcnow
from chalicelib.services.common.ports import Ledger
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.mail.ports import Mailer, OutgoingMail
from chalicelib.services.messages import InvitationMessage, encode
from chalicelib.services.studies.model import Invitation, Role
from chalicelib.services.studies.ports import InvitationRepository, StudyRepository
from chalicelib.services.studies.studies import create_study
from chalicelib.services.workspaces.ports import WorkspaceRepository
from chalicelib.wiring import Dependencies
from chalicelib.workers.mail import handle_mail_batch
from tests.conftest import Person
from tests.support.api import call
from tests.workers.test_mail_worker import record, sqs_event


class CapturingTransport(Transport):
    """Keeps every envelope the SDK would send."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def serialised(self) -> str:
        """Everything that would have gone out, as the bytes on the wire."""
        return "\n".join(envelope.serialize().decode() for envelope in self.envelopes)

    def events(self) -> list[Any]:
        return [event for envelope in self.envelopes if (event := envelope.get_event()) is not None]


@pytest.fixture(params=["as configured", "frame locals forced on"])
def sentry(request: pytest.FixtureRequest, deps: Dependencies) -> Iterator[CapturingTransport]:
    """Sentry on, with the broker's options and a capturing transport; off again afterwards.

    Run twice: as `init_sentry` configures it, and with frame locals switched back on, to show that
    `before_send` alone keeps them out as well (the second line, should the first ever be lost).
    """
    transport = CapturingTransport()
    settings = msgspec.structs.replace(deps.settings, sentry_dsn="https://public@sentry.invalid/1")
    init = sentry_sdk.init

    def with_locals(*args: Any, **options: Any) -> Any:
        return init(*args, **{**options, "include_local_variables": True})

    with pytest.MonkeyPatch.context() as patch:
        if request.param == "frame locals forced on":
            patch.setattr(sentry_sdk, "init", with_locals)
        assert observability.init_sentry(settings, transport=transport)
    if request.param == "frame locals forced on":
        assert sentry_sdk.get_client().options["include_local_variables"] is True
    else:
        assert sentry_sdk.get_client().options["include_local_variables"] is False
    yield transport
    # Back to no client at all (`init()` without a DSN would leave one, integrations and all, for later tests).
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    assert not sentry_sdk.get_client().is_active()
    observability._enabled = False


class ExplodingCredentials:
    """The credentials table failing on a read, as DynamoDB might, after the login code is in hand."""

    def __init__(self, inner: CredentialRepository) -> None:
        self.inner = inner

    def take(self, key: str) -> Credential | None:
        raise RuntimeError("the credentials table is on fire")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_crash_in_post_auth_token_sends_sentry_no_login_code(
    client: Client, deps: Dependencies, sentry: CapturingTransport
) -> None:
    login_code = secrets.token_urlsafe(32)
    bearer = secrets.token_urlsafe(32)
    cookie = secrets.token_urlsafe(32)
    wiring.install(replace(deps, credentials=ExplodingCredentials(deps.credentials)))
    try:
        status, _, _ = call(
            client,
            "POST",
            "/auth/token",
            body={"login_code": login_code},
            headers={"Authorization": f"Bearer {bearer}", "Cookie": f"vre_session={cookie}"},
        )
    finally:
        wiring.install(deps)

    assert status == 500
    events = sentry.events()
    assert events, "the crash reached Sentry"
    assert any(
        value["type"] == "RuntimeError" and value["value"] == "the credentials table is on fire"
        for event in events
        for value in event.get("exception", {}).get("values", [])
    )
    wire = sentry.serialised()
    for secret in (login_code, bearer, cookie):
        assert secret not in wire


@dataclass
class MailDeps:
    settings: Settings
    invitations: InvitationRepository
    studies: StudyRepository
    researchers: ResearcherRepository
    ledger: Ledger
    mailer: Mailer
    workspaces: WorkspaceRepository
    uploads: UploadRepository


class ExplodingMailer:
    """A mail service that breaks in a way nobody planned for."""

    def send(self, mail: OutgoingMail) -> None:
        raise RuntimeError("the mail service is on fire")


def test_a_crash_in_the_mail_worker_sends_sentry_no_invitation_token(
    deps: Dependencies, person: Callable[..., Person], sentry: CapturingTransport
) -> None:
    owner = person("inviter")
    study = create_study(owner.researcher, deps.studies, deps.references, name="Cohort study").study
    now = utcnow()
    invitation = deps.invitations.create(
        Invitation(
            id=new_id(),
            study_id=study.id,
            email=f"invitee.{new_id()[:12]}@elsewhere.example",
            role=Role.CONTRIBUTOR,
            inviter_id=owner.id,
            token_hash=new_id() + new_id(),
            expires_at=now + timedelta(days=14),
            created_at=now,
            updated_at=now,
            mail_id=new_id(),
        ),
        AuditEntry(study.id, owner.id, "invitation.created", "invitation:x", AuditOutcome.SUCCESS, now),
    )
    token = secrets.token_urlsafe(32)
    message = InvitationMessage(mail_id=invitation.mail_id, invitation_id=invitation.id, token=token)
    worker = MailDeps(
        deps.settings,
        deps.invitations,
        deps.studies,
        deps.researchers,
        deps.ledger,
        ExplodingMailer(),
        deps.workspaces,
        deps.uploads,
    )

    answer = handle_mail_batch(sqs_event(record(encode(message), message_id="m-1")), worker)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    events = sentry.events()
    assert events, "the crash reached Sentry"
    assert any(
        value["type"] == "RuntimeError" and value["value"] == "the mail service is on fire"
        for event in events
        for value in event.get("exception", {}).get("values", [])
    )
    assert token not in sentry.serialised()
