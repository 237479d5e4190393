"""The one way a workspace changes state: every edge of the table taken, every other refused, bookkeeping reset."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import get_args

import pytest

from chalicelib.config import Settings
from chalicelib.errors import ConflictError
from chalicelib.models.workspace_records import to_workspace, workspace_record
from chalicelib.services.messages import WorkspaceMailEvent
from chalicelib.services.workspaces.lifecycle import (
    ACTIONS,
    STEP_OF,
    TRANSITIONS,
    CloudStep,
    Machine,
    Notice,
    OwedMail,
    Workspace,
    WorkspaceSettings,
)
from chalicelib.services.workspaces.lifecycle import WorkspaceStatus as S
from chalicelib.services.workspaces.notices import workspace_message
from chalicelib.services.workspaces.transitions import IllegalTransition, note, transition
from chalicelib.services.workspaces.vrw import EDGES

SETTINGS = WorkspaceSettings.from_settings(Settings())
BEFORE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NOW = BEFORE + timedelta(minutes=5)
MACHINE = Machine("small", "ubuntu-2404", "default", 50, "img", "flv", "net", 2, 4, False, Decimal("1.50"), "ubuntu")
# In the enum's order (a frozenset's differs between xdist workers, which must collect the same ids).
EDGES_OF_TABLE = [(source, target) for source in S for target in S if target in TRANSITIONS[source]]
NON_EDGES = [(source, target) for source in S for target in S if target not in TRANSITIONS[source]]


def busy(status: S) -> Workspace:
    """A workspace in `status` with every piece of bookkeeping a state can leave behind."""
    return Workspace(
        id="w" * 32,
        study_id="s" * 32,
        owner_id="o" * 32,
        name="Box",
        machine=MACHINE,
        status=status,
        created_at=BEFORE,
        updated_at=BEFORE,
        expires_at=BEFORE + timedelta(days=90),
        status_reason="why it is here",
        deadline_at=BEFORE + timedelta(minutes=1),
        server_id="srv-1",
        ip="10.0.0.1",
        access_url="https://10.0.0.1.vrw/",
        lease_until=BEFORE + timedelta(minutes=2),
        check_token="t" * 32,
        attempts=3,
        cloud_step=CloudStep.DELETE,
        notice=Notice(OwedMail.READY, "m" * 32),
        billing_started_at=BEFORE,
        version=7,
    )


def test_the_table_names_every_state_and_deleted_is_the_end() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.DELETED] == frozenset()
    assert S.FAILED in TRANSITIONS[S.STOPPED]  # the reconciler finds a stopped workspace's server gone


@pytest.mark.parametrize(("source", "target"), EDGES_OF_TABLE, ids=[f"{s}->{t}" for s, t in EDGES_OF_TABLE])
def test_every_edge_of_the_table_moves_with_fresh_bookkeeping_and_its_event(source: S, target: S) -> None:
    workspace = busy(source)

    change = transition(workspace, target, actor="someone", moment=NOW, settings=SETTINGS)

    moved = change.workspace
    assert (moved.status, moved.updated_at, moved.deadline_at) == (target, NOW, SETTINGS.deadline(target, NOW))
    assert (moved.check_token, moved.cloud_step, moved.attempts, moved.lease_until) == ("", CloudStep.NONE, 0, None)
    assert moved.notice == workspace.notice  # an owed mail stays owed until it is queued
    assert moved.version == workspace.version  # stored conditional on the version read
    event = change.event
    assert (event.workspace_id, event.study_id, event.status, event.previous) == (
        moved.id,
        moved.study_id,
        target,
        source,
    )
    assert (event.actor_id, event.at, event.reason) == ("someone", NOW, moved.status_reason)
    assert workspace.status is source  # the workspace read is left as it was


@pytest.mark.parametrize(("source", "target"), NON_EDGES, ids=[f"{s}->{t}" for s, t in NON_EDGES])
def test_every_move_the_table_lacks_is_refused_with_a_409(source: S, target: S) -> None:
    workspace = busy(source)

    with pytest.raises(IllegalTransition) as refused:
        transition(workspace, target, actor="someone", moment=NOW, settings=SETTINGS)

    assert isinstance(refused.value, ConflictError)
    assert refused.value.status == 409
    assert workspace == busy(source)


def test_a_move_clears_the_old_reason_unless_it_gives_one_and_deleted_keeps_why_it_was_deleted() -> None:
    cleared = transition(busy(S.RUNNING), S.STOPPING, actor="a", moment=NOW, settings=SETTINGS)
    given = transition(busy(S.RUNNING), S.FAILED, actor="a", moment=NOW, settings=SETTINGS, reason="gone")
    deleted = transition(busy(S.DELETING), S.DELETED, actor="a", moment=NOW, settings=SETTINGS)

    assert cleared.workspace.status_reason == ""
    assert (given.workspace.status_reason, given.event.reason) == ("gone", "gone")
    assert (deleted.workspace.status_reason, deleted.event.reason) == ("why it is here", "why it is here")


def test_deleted_frees_the_server_and_ends_billing() -> None:
    gone = transition(busy(S.DELETING), S.DELETED, actor="a", moment=NOW, settings=SETTINGS).workspace
    never_billed = replace(busy(S.DELETING), billing_started_at=None)
    unbilled = transition(never_billed, S.DELETED, actor="a", moment=NOW, settings=SETTINGS).workspace

    assert (gone.server_id, gone.ip, gone.access_url, gone.billing_ended_at) == (None, None, None, NOW)
    assert unbilled.billing_ended_at is None


def test_a_move_writes_the_step_and_the_mail_it_owes() -> None:
    change = transition(
        busy(S.PROVISIONING),
        S.FAILED,
        actor="a",
        moment=NOW,
        settings=SETTINGS,
        reason="no host",
        step=CloudStep.CLEANUP,
        owe=OwedMail.FAILED,
    )

    assert change.workspace.cloud_step is CloudStep.CLEANUP
    assert change.workspace.notice is not None
    assert change.workspace.notice.mail is OwedMail.FAILED
    assert change.workspace.notice.mail_id != "m" * 32


def test_a_note_records_a_report_without_a_move() -> None:
    event = note(busy(S.DELETING), actor="vrw", moment=NOW, reason="VRW says so")

    assert (event.status, event.previous, event.actor_id, event.reason) == (
        S.DELETING,
        S.DELETING,
        "vrw",
        "VRW says so",
    )


def test_every_action_and_every_vrw_event_takes_an_edge_of_the_table() -> None:
    for sources, target in ACTIONS.values():
        assert all(target in TRANSITIONS[source] for source in sources), target
    for target, sources in EDGES.values():
        assert all(target in TRANSITIONS[source] for source in sources), target


def test_cloud_steps_and_notices_are_stored_as_the_same_strings_as_before() -> None:
    # DynamoDB holds these strings: the typed values must read and write them unchanged.
    assert [step.value for step in CloudStep] == ["", "create", "start", "stop", "reboot", "delete", "adopt", "cleanup"]
    assert {STEP_OF[s] for s in (S.STARTING, S.STOPPING, S.REBOOTING)} == {
        CloudStep.START,
        CloudStep.STOP,
        CloudStep.REBOOT,
    }
    workspace = busy(S.RUNNING)
    record = workspace_record(workspace)
    assert (record.cloud_step, record.notice) == ("delete", f"ready#{'m' * 32}")
    assert to_workspace(record).cloud_step is CloudStep.DELETE
    assert to_workspace(record).notice == workspace.notice
    empty = workspace_record(replace(workspace, notice=None, cloud_step=CloudStep.NONE))
    assert (empty.cloud_step, empty.notice) == ("", "")
    assert (to_workspace(empty).notice, to_workspace(empty).cloud_step) == (None, CloudStep.NONE)


def test_every_owed_mail_is_a_mail_the_queue_carries() -> None:
    assert {mail.value for mail in OwedMail} == set(get_args(WorkspaceMailEvent))
    for mail in OwedMail:
        message = workspace_message("w" * 32, Notice(mail, "m" * 32))
        assert (message.event, message.mail_id) == (mail.value, "m" * 32)
