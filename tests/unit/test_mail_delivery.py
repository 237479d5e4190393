"""The one claim → send → release helper every mail goes through, and the workspace mails that use it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.mail.delivery import CLAIM_LIFETIME, MailDeliveryError, deliver_workspace_mail, send_once
from chalicelib.services.mail.ports import OutgoingMail
from chalicelib.services.mail.render import render_workspace_mail
from chalicelib.services.messages import WorkspaceMessage
from chalicelib.services.studies.model import Study
from chalicelib.services.workspaces.lifecycle import Machine, Workspace, WorkspaceStatus
from tests.support.fakes import InMemoryResearchers
from tests.support.fakes_workspaces import InMemoryLedger

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MAIL = OutgoingMail(to="a@uni.example", subject="Hello", text="hi\n", html="<p>hi</p>")


class Mailer:
    """Keeps what it sent; refuses while `refuse` is set."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.sent: list[OutgoingMail] = []
        self.refuse = refuse

    def send(self, mail: OutgoingMail) -> None:
        if self.refuse:
            raise MailDeliveryError("refused")
        self.sent.append(mail)


def test_send_once_sends_under_a_fresh_claim_and_keeps_it() -> None:
    ledger, mailer = InMemoryLedger(), Mailer()

    assert send_once(MAIL, claim="mail#1", ledger=ledger, mailer=mailer, now=NOW) is True
    assert send_once(MAIL, claim="mail#1", ledger=ledger, mailer=mailer, now=NOW) is False

    assert mailer.sent == [MAIL]
    assert ledger.claims["mail#1"][0] == NOW + CLAIM_LIFETIME


def test_a_failed_send_runs_on_failure_gives_the_claim_back_and_raises() -> None:
    ledger, mailer = InMemoryLedger(), Mailer(refuse=True)
    failures: list[str] = []

    with pytest.raises(MailDeliveryError):
        send_once(MAIL, claim="mail#2", ledger=ledger, mailer=mailer, now=NOW, on_failure=lambda: failures.append("x"))

    assert failures == ["x"]
    assert "mail#2" not in ledger.claims
    mailer.refuse = False
    assert send_once(MAIL, claim="mail#2", ledger=ledger, mailer=mailer, now=NOW) is True


def test_the_claim_is_given_back_even_when_on_failure_raises() -> None:
    ledger = InMemoryLedger()

    def broken() -> None:
        raise RuntimeError("status write failed")

    with pytest.raises(RuntimeError, match="status write failed"):
        send_once(MAIL, claim="mail#3", ledger=ledger, mailer=Mailer(refuse=True), now=NOW, on_failure=broken)

    assert "mail#3" not in ledger.claims


def _workspace(**changes: object) -> Workspace:
    machine = Machine(
        profile_id="p",
        operating_system_id="o",
        network_id="n",
        storage_gb=50,
        image="img",
        flavor="m1",
        network="net",
        vcpus=2,
        ram_gb=8,
        gpu=False,
        price_per_day=Decimal("1.50"),
    )
    workspace = Workspace(
        id="w-1",
        study_id="s-1",
        owner_id="r-1",
        name="Analysis",
        machine=machine,
        status=WorkspaceStatus.RUNNING,
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=3),
        ip="10.0.0.7",
        access_url="https://vm.example/w-1",
        access_username="rita",
    )
    return replace(workspace, **changes)  # type: ignore[arg-type]


def _owner(locale: Locale = Locale.EN) -> Researcher:
    return Researcher(id="r-1", email="rita@uni.example", name="Rita", created_at=NOW, updated_at=NOW, locale=locale)


def test_the_ready_mail_says_how_to_connect_in_the_owners_language() -> None:
    english = render_workspace_mail(_workspace(), "Cohort", _owner(), "ready", "https://vre.example/")
    dutch = render_workspace_mail(_workspace(), "Cohort", _owner(Locale.NL), "ready", "https://vre.example/")

    assert english.to == "rita@uni.example"
    assert english.subject == 'Your workspace "Analysis" is ready'
    assert "Connect to 10.0.0.7 as rita." in english.text
    assert "https://vm.example/w-1" in english.text
    assert "https://vre.example/workspaces/w-1" in english.text
    assert dutch.subject == 'Je werkomgeving "Analysis" staat klaar'
    assert "Maak verbinding met 10.0.0.7 als rita." in dutch.text
    assert '<html lang="nl">' in dutch.html


def test_the_failed_mail_gives_the_reason_and_the_expiring_one_the_date() -> None:
    failed = render_workspace_mail(_workspace(status_reason="no quota"), "Cohort", _owner(), "failed", "https://f")
    expiring = render_workspace_mail(_workspace(), "Cohort", _owner(Locale.NL), "expiring", "https://f")

    assert "Reason: no quota" in failed.text
    assert expiring.subject == 'Je werkomgeving "Analysis" verloopt op 2026-05-04 12:00 UTC'


class OneWorkspace:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def get(self, workspace_id: str) -> Workspace | None:
        return self.workspace if workspace_id == self.workspace.id else None


class OneStudy:
    def get(self, study_id: str) -> Study | None:
        return Study(id=study_id, name="Cohort", owner_id="r-1", upload_code="c", created_at=NOW, updated_at=NOW)


def test_a_workspace_mail_goes_out_once_and_a_failed_one_is_tried_again() -> None:
    researchers = InMemoryResearchers()
    researchers.add(_owner())
    ledger, mailer = InMemoryLedger(), Mailer(refuse=True)
    message = WorkspaceMessage(mail_id="m-9", workspace_id="w-1", event="ready")

    def deliver() -> None:
        deliver_workspace_mail(
            message,
            workspaces=OneWorkspace(_workspace()),  # type: ignore[arg-type]
            studies=OneStudy(),  # type: ignore[arg-type]
            researchers=researchers,
            ledger=ledger,
            mailer=mailer,
            frontend_url="https://f",
            now=NOW,
        )

    with pytest.raises(MailDeliveryError):
        deliver()
    assert "mail#m-9" not in ledger.claims
    mailer.refuse = False
    deliver()
    deliver()

    (mail,) = mailer.sent
    assert mail.subject == 'Your workspace "Analysis" is ready'
    assert "mail#m-9" in ledger.claims
