"""The provisioning family on fakes: happy path, duplicates, failures, actions, deletion."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.config import Settings
from chalicelib.services.common.model import PageRequest
from chalicelib.services.messages import CheckMessage, ConvergeMessage, MailMessage
from chalicelib.services.workspaces.cloud import CloudError, ServerStatus
from chalicelib.services.workspaces.lifecycle import Action, OwedMail, WorkspaceSettings, WorkspaceStatus
from chalicelib.services.workspaces.provisioning import cloud_init, handle_message
from chalicelib.services.workspaces.workspaces import converge_message
from tests.support.fakes import wire
from tests.unit.workspace_lab import Lab

S = WorkspaceStatus
TIMEOUT = CloudError("OpenStack did not answer in time.", retryable=True)


@pytest.fixture
def lab() -> Lab:
    return Lab()


def test_a_request_becomes_a_running_workspace_with_at_most_four_cloud_calls(lab: Lab) -> None:
    workspace = lab.request(ssh_public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI carla@laptop")
    assert workspace.status is S.REQUESTED

    lab.run()

    done = lab.get(workspace.id)
    assert done.status is S.RUNNING
    assert done.ip is not None
    assert len(lab.cloud.calls) <= 4, lab.cloud.calls
    assert lab.cloud.calls[0] == "create"  # a first try does not look for a server first
    [server] = lab.cloud.servers_of(workspace.id)
    assert server.spec.flavor == "vre.small"
    assert server.spec.volume_gb == 50
    assert server.spec.user_data is not None
    assert "ssh-ed25519" in server.spec.user_data
    assert lab.mail.events_for(workspace.id) == ["ready"]
    history = [e.status for e in lab.workspaces.events(workspace.id, lab_page()).items]
    assert history == [S.REQUESTED, S.PROVISIONING, S.RUNNING]


def lab_page() -> PageRequest:
    return PageRequest(limit=100)


def test_with_vrw_enabled_a_booted_workspace_waits_in_configuring_without_a_ready_mail() -> None:
    lab = Lab(WorkspaceSettings.from_settings(Settings(vrw_enabled=True)))
    workspace = lab.request()
    lab.run()
    assert lab.status(workspace) is S.CONFIGURING
    assert lab.mail.events_for(workspace.id) == []


def test_no_ssh_key_means_no_user_data(lab: Lab) -> None:
    workspace = lab.request()
    assert cloud_init(workspace) is None


def test_the_same_message_three_times_at_once_makes_one_server() -> None:
    lab = Lab()
    workspace = lab.request()
    message = converge_message(workspace)
    barrier = threading.Barrier(3)

    def deliver() -> None:
        barrier.wait()
        handle_message(lab.family, message, now=lab.clock)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lab.run()

    assert len(lab.cloud.servers_of(workspace.id)) == 1
    assert lab.status(workspace) is S.RUNNING


def test_every_message_delivered_twice_still_makes_one_server_and_one_check_chain(lab: Lab) -> None:
    workspace = lab.request()
    for _ in range(10):
        waiting = lab.queue.take()
        if not waiting:
            break
        for message in waiting:
            for _copy in range(2):
                handle_message(lab.family, message, now=lab.clock)
    assert lab.status(workspace) is S.RUNNING
    assert len(lab.cloud.servers_of(workspace.id)) == 1
    assert lab.cloud.calls.count("create") == 1
    assert lab.mail.events_for(workspace.id) == ["ready"]


def test_a_lost_create_answer_is_retried_by_adopting_the_server_it_made(lab: Lab) -> None:
    workspace = lab.request()
    real_create = lab.cloud.create_server

    def create_then_time_out(spec):  # type: ignore[no-untyped-def]
        real_create(spec)
        lab.cloud.create_server = real_create  # type: ignore[method-assign]
        raise TIMEOUT

    lab.cloud.create_server = create_then_time_out  # type: ignore[method-assign]
    lab.run()

    assert lab.status(workspace) is S.RUNNING
    assert len(lab.cloud.servers_of(workspace.id)) == 1
    assert "find" in lab.cloud.calls


def test_retryable_failures_back_off_through_the_queue_then_succeed(lab: Lab) -> None:
    workspace = lab.request()
    lab.cloud.fail_next(TIMEOUT, TIMEOUT)
    lab.run()
    assert lab.status(workspace) is S.RUNNING
    delays = [delay for message, delay in lab.queue.sent if message.type == "check"]
    assert delays[:2] == [10, 20]


def test_failures_past_the_attempt_limit_end_in_failed_with_the_clouds_reason() -> None:
    lab = Lab(WorkspaceSettings.from_settings(Settings(workspace_max_attempts=3)))
    workspace = lab.request()
    lab.cloud.fail_next(*[CloudError("OpenStack is out of capacity for vCPUs (quota exceeded).", retryable=True)] * 3)
    lab.run()
    failed = lab.get(workspace.id)
    assert failed.status is S.FAILED
    assert "quota exceeded" in failed.status_reason
    assert lab.mail.events_for(workspace.id) == ["failed"]
    assert lab.cloud.servers_of(workspace.id) == []


def test_a_refusal_that_retrying_cannot_fix_fails_at_once(lab: Lab) -> None:
    workspace = lab.request()
    lab.cloud.fail_next(CloudError("The operating system image 'Ubuntu 24.04' is not available.", retryable=False))
    lab.run()
    failed = lab.get(workspace.id)
    assert failed.status is S.FAILED
    assert failed.status_reason == "The operating system image 'Ubuntu 24.04' is not available."
    assert lab.cloud.calls.count("create") == 1


def test_a_server_in_error_fails_the_workspace_with_novas_fault_and_is_cleaned_up(lab: Lab) -> None:
    lab.cloud.error_state = True
    workspace = lab.request()
    lab.run()
    failed = lab.get(workspace.id)
    assert failed.status is S.FAILED
    assert "No valid host was found." in failed.status_reason
    assert lab.cloud.servers_of(workspace.id) == []
    assert failed.server_id is None


def test_a_server_that_never_boots_fails_at_the_deadline() -> None:
    lab = Lab(boot_polls=10_000)
    workspace = lab.request()
    lab.run(limit=1000)
    failed = lab.get(workspace.id)
    assert failed.status is S.FAILED
    assert "PROVISIONING after 30 minutes" in failed.status_reason
    assert lab.cloud.servers_of(workspace.id) == []


def test_stop_start_and_reboot_go_through_the_cloud_and_come_back_to_rest(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()

    stopping = lab.act(workspace, Action.STOP)
    assert stopping.status is S.STOPPING
    lab.run()
    assert lab.status(workspace) is S.STOPPED
    [server] = lab.cloud.servers_of(workspace.id)
    assert server.status is ServerStatus.SHUTOFF

    lab.act(workspace, Action.START)
    lab.run()
    assert lab.status(workspace) is S.RUNNING

    lab.act(workspace, Action.REBOOT)
    lab.run()
    assert lab.status(workspace) is S.RUNNING
    assert lab.cloud.calls.count("reboot") == 1


def test_a_repeated_stop_that_nova_refuses_because_it_is_done_still_completes(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()
    lab.act(workspace, Action.STOP)
    [server] = lab.cloud.servers_of(workspace.id)
    server.status = ServerStatus.SHUTOFF  # an earlier copy of the message already stopped it
    lab.cloud.fail_next(CloudError("Cannot 'stop' instance while it is in vm_state stopped", retryable=True))
    lab.run()
    assert lab.status(workspace) is S.STOPPED


def test_an_action_the_state_does_not_allow_is_a_conflict_and_changes_nothing(lab: Lab) -> None:
    from chalicelib.errors import ConflictError

    workspace = lab.request()
    with pytest.raises(ConflictError, match="REQUESTED cannot start"):
        lab.act(workspace, Action.START)
    assert lab.status(workspace) is S.REQUESTED


def test_delete_removes_the_server_and_frees_the_quota(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()
    assert lab.workspaces.usage(lab.study.id).workspaces == 1

    lab.act(workspace, Action.DELETE)
    lab.run()

    gone = lab.get(workspace.id)
    assert gone.status is S.DELETED
    assert gone.billing_ended_at is not None
    assert lab.cloud.servers_of(workspace.id) == []
    assert lab.workspaces.usage(lab.study.id).workspaces == 0
    assert lab.workspaces.usage(lab.study.id).vcpus == 0


def test_deleting_while_the_server_is_being_made_leaves_no_server_behind(lab: Lab) -> None:
    workspace = lab.request()
    real_create = lab.cloud.create_server

    def create_while_deleted(spec):  # type: ignore[no-untyped-def]
        lab.act(workspace, Action.DELETE)  # the researcher deletes it while Nova is still answering
        return real_create(spec)

    lab.cloud.create_server = create_while_deleted  # type: ignore[method-assign]
    lab.run()
    assert lab.status(workspace) is S.DELETED
    assert lab.cloud.servers_of(workspace.id) == []


def test_retry_after_a_failure_makes_a_new_server(lab: Lab) -> None:
    workspace = lab.request()
    lab.cloud.fail_next(CloudError("The flavor is not available.", retryable=False))
    lab.run()
    assert lab.status(workspace) is S.FAILED

    lab.act(workspace, Action.RETRY)
    lab.run()

    assert lab.status(workspace) is S.RUNNING
    assert len(lab.cloud.servers_of(workspace.id)) == 1


def test_a_message_for_an_unknown_workspace_or_an_old_check_is_dropped(lab: Lab) -> None:
    handle_message(lab.family, ConvergeMessage(workspace_id="nope"), now=lab.clock)
    workspace = lab.request()
    lab.run()
    before = list(lab.cloud.calls)
    handle_message(lab.family, CheckMessage(workspace_id=workspace.id, token="old"), now=lab.clock)
    assert lab.cloud.calls == before


def test_thirty_percent_injected_faults_over_a_hundred_workspaces_leave_none_stuck() -> None:
    lab = Lab(WorkspaceSettings.from_settings(Settings(workspace_max_attempts=4)))
    lab.cloud.fault_rate = 0.3
    lab.cloud.rng = random.Random(7).random
    study = lab.broker.studies.get(lab.study.id)
    assert study is not None
    lab.broker.studies._studies[lab.study.id] = replace(study, max_workspaces=1000, max_vcpus=100_000)
    requested = [lab.request(name=f"ws {n}") for n in range(100)]

    lab.run(limit=10_000)

    outcomes = [lab.get(w.id) for w in requested]
    assert all(w.status in (S.RUNNING, S.FAILED) for w in outcomes)
    assert all(w.status_reason for w in outcomes if w.status is S.FAILED)
    assert all(len(lab.cloud.servers_of(w.id)) == (1 if w.status is S.RUNNING else 0) for w in outcomes)
    running = sum(w.status is S.RUNNING for w in outcomes)
    assert running > 50, running  # four tries at 30 % faults: most get through


def test_backoff_grows_and_stays_within_what_sqs_can_delay() -> None:
    settings = WorkspaceSettings.from_settings(Settings())
    assert [settings.backoff(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert settings.backoff(30) == 900


def test_the_deadline_of_each_transitional_state_is_set_when_it_is_entered(lab: Lab) -> None:
    workspace = lab.request()
    assert workspace.deadline_at == workspace.created_at + timedelta(minutes=30)
    lab.run()
    assert lab.get(workspace.id).deadline_at is None


class DyingMail:
    """A mail queue whose sends fail, as if the Lambda died right after the change was written."""

    def __init__(self) -> None:
        self.failing = True
        self.messages: list[dict[str, str]] = []

    def send(self, message: MailMessage) -> None:
        if self.failing:
            raise RuntimeError("the function was killed before the mail was queued")
        self.messages.append(wire(message))


def test_a_mail_owed_when_a_crash_stopped_its_queuing_is_queued_by_the_reconciler_once(lab: Lab) -> None:
    # GIVEN a workspace that became RUNNING, but the worker died before the ready mail was queued
    mail = DyingMail()
    lab.mail = mail  # type: ignore[assignment]
    workspace = lab.request()
    with pytest.raises(RuntimeError):
        lab.run()
    owed = lab.get(workspace.id)
    assert owed.status is WorkspaceStatus.RUNNING
    assert owed.notice is not None
    assert owed.notice.mail is OwedMail.READY

    # WHEN the reconciler runs before the change is old enough, and again after
    mail.failing = False
    early = lab.reconcile()
    late = lab.reconcile(after=lab.settings.nudge_after)
    again = lab.reconcile(after=lab.settings.nudge_after)

    # THEN the mail is queued once, with the id written with the change (so a repeat is dropped by the mail
    # function's claim), and struck off
    assert (early.owed_mails, late.owed_mails, again.owed_mails) == ([], [workspace.id], [])
    assert mail.messages == [
        {"type": "workspace", "event": "ready", "workspace_id": workspace.id, "mail_id": owed.notice.mail_id}
    ]
    assert lab.get(workspace.id).notice is None


def test_every_mail_a_workspace_owes_is_struck_off_once_queued(lab: Lab) -> None:
    workspace = lab.request()
    lab.run()
    failing = lab.request(name="Doomed")
    lab.cloud.fail_next(CloudError("Quota exceeded for instances", retryable=False))
    lab.run()

    assert lab.mail.events_for(workspace.id) == ["ready"]
    assert lab.mail.events_for(failing.id) == ["failed"]
    assert (lab.get(workspace.id).notice, lab.get(failing.id).notice) == (None, None)
