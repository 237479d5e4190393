"""Invitation links whose mail a crash never queued are sent again, with a new link, by the scheduled repair."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from chalicelib.services.common.model import PageRequest, utcnow
from chalicelib.services.messages import MailMessage
from chalicelib.services.studies.invitations import UNQUEUED_AFTER, Outbox, accept, invite
from chalicelib.services.studies.model import Invitation, MailStatus, Role
from chalicelib.wiring import Dependencies
from chalicelib.workers.invitation_links import run_link_repair
from tests.conftest import Person, RecordingMailQueue, StudyCast


class DeadQueue:
    """The mail queue of a function that dies right after the invitation was written."""

    def send(self, message: MailMessage) -> None:
        raise RuntimeError("killed before the mail was queued")


def invite_at(deps: Dependencies, cast: StudyCast, moment: datetime, *, mail_lost: bool) -> Invitation:
    """An invitation made at `moment`; with `mail_lost`, the function died before its mail was queued."""
    outbox = Outbox(deps.invitations, deps.ledger, DeadQueue()) if mail_lost else deps.outbox
    access = deps.access.load(cast.owner.id, "none#none", cast.study_id)
    email = f"guest.{moment.timestamp()}@elsewhere.example"

    def make() -> Invitation:
        settings = deps.invitation_settings
        made, _ = invite(
            access, deps.studies, deps.researchers, outbox, settings, email=email, role=Role.VIEWER, now=lambda: moment
        )
        return made

    if not mail_lost:
        return make()
    with pytest.raises(RuntimeError):
        make()
    (lost,) = [i for i in deps.invitations.of_study(cast.study_id, PageRequest(limit=100)).items if i.email == email]
    return lost


def test_a_link_whose_mail_was_never_queued_is_sent_again_once_with_a_new_token_that_works(
    deps: Dependencies, cast: StudyCast, mail_queue: RecordingMailQueue, person: Callable[..., Person]
) -> None:
    # GIVEN an invitation whose mail was lost 31 minutes ago, one that went out, and one lost only just now
    now = utcnow()
    lost = invite_at(deps, cast, now - UNQUEUED_AFTER - timedelta(minutes=1), mail_lost=True)
    queued = invite_at(deps, cast, now - timedelta(hours=1), mail_lost=False)
    deps.invitations.set_mail_status(queued.id, queued.mail_id, MailStatus.SENT)
    recent = invite_at(deps, cast, now - timedelta(minutes=5), mail_lost=True)
    before = len(mail_queue.messages)

    # WHEN the repair runs, twice
    first = run_link_repair(deps)
    second = run_link_repair(deps)

    # THEN only the old lost one is sent again, once, with a new mail id and the same expiry
    assert (first, second) == ([lost.id], [])
    (message,) = mail_queue.messages[before:]
    renewed = deps.invitations.get(lost.id)
    assert renewed is not None
    assert message["invitation_id"] == lost.id
    assert message["mail_id"] == renewed.mail_id != lost.mail_id
    assert (renewed.expires_at, renewed.mail_status) == (lost.expires_at, MailStatus.QUEUED)
    assert deps.invitations.get(recent.id) == recent
    # AND the new link works for the invitee, and the study's log says what happened
    invitee = person("guest")
    invitee = Person(replace(invitee.researcher, email=lost.email), invitee.token)
    deps.researchers.save(invitee.researcher)
    membership = accept(invitee.researcher, deps.studies, deps.outbox, token=message["token"])
    assert (membership.study_id, membership.role) == (cast.study_id, Role.VIEWER)
    log = deps.studies.audit_log(cast.study_id, PageRequest(limit=100)).items
    assert [(e.actor_id, e.target) for e in log if e.action == "invitation.requeued"] == [
        ("broker", f"invitation:{lost.id}")
    ]
