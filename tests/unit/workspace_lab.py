"""A workspace test bench: the fakes wired together, a study with a contributor, and a worker loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from chalicelib.config import Settings
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.messages import MailMessage
from chalicelib.services.studies.model import Role, Study
from chalicelib.services.workspaces import workspaces as service
from chalicelib.services.workspaces.lifecycle import Action, Workspace, WorkspaceSettings, WorkspaceStatus
from chalicelib.services.workspaces.provisioning import Family, handle_message
from chalicelib.services.workspaces.reconciler import Report, reconcile
from chalicelib.services.workspaces.vrw import Inbox
from tests.support.fakes import FakeBroker, TickingClock, wire
from tests.support.fakes_workspaces import FakeCloud, InMemoryCatalog, InMemoryWorkspaces, RecordingProvisioningQueue


@dataclass
class RecordingMail:
    messages: list[dict[str, str]] = field(default_factory=list)

    def send(self, message: MailMessage) -> None:
        self.messages.append(wire(message))

    def events_for(self, workspace_id: str) -> list[str]:
        return [m["event"] for m in self.messages if m.get("workspace_id") == workspace_id]


class Lab:
    """Everything a provisioning test needs; `run()` plays the queue (delays become clock time)."""

    def __init__(self, settings: WorkspaceSettings | None = None, *, boot_polls: int = 1) -> None:
        self.clock = TickingClock()
        self.broker = FakeBroker(self.clock)
        self.catalog = InMemoryCatalog()
        self.workspaces = InMemoryWorkspaces(self.broker.studies)
        self.queue = RecordingProvisioningQueue()
        self.mail = RecordingMail()
        self.cloud = FakeCloud(boot_polls=boot_polls)
        self.settings = settings or WorkspaceSettings.from_settings(Settings())
        self.owner = self.broker.researcher("owner")
        self.study = self.broker.study(self.owner)
        self.contributor = self.broker.researcher("carla")
        self.broker.join(self.study, self.contributor, Role.CONTRIBUTOR)

    @property
    def family(self) -> Family:
        return Family(self.workspaces, self.cloud, self.queue, self.mail, self.settings)

    @property
    def inbox(self) -> Inbox:
        """What VRW's webhook works with (the workspaces' ledger holds its delivery claims)."""
        return Inbox(self.workspaces, self.workspaces.ledger, self.mail, self.settings)

    def member(self, role: Role, name: str = "member") -> Researcher:
        researcher = self.broker.researcher(name)
        self.broker.join(self.study, researcher, role)
        return researcher

    def request(
        self, by: Researcher | None = None, *, study: Study | None = None, key: str | None = None, **fields: Any
    ) -> Workspace:
        values: dict[str, object] = {"name": "Analysis box", "profile": "small", "operating_system": "ubuntu-2404"}
        values.update(fields)
        return service.request_workspace(
            self.broker.access(by or self.contributor, study or self.study),
            self.broker.studies,
            self.catalog,
            self.workspaces,
            self.queue,
            self.settings,
            service.WorkspaceRequest(**values),  # type: ignore[arg-type]
            idempotency_key=key,
            now=self.clock,
        )

    def act(self, workspace: Workspace, action: Action, by: Researcher | None = None) -> Workspace:
        return service.act(
            self.broker.access(by or self.contributor, self.study),
            self.broker.studies,
            self.workspaces,
            self.queue,
            self.settings,
            self.get(workspace.id),
            action,
            now=self.clock,
        )

    def run(self, *, limit: int = 200) -> int:
        """Deliver queued messages (each after its delay) until none is left; returns how many."""
        handled = 0
        while handled < limit:
            waiting = self.queue.sent[self.queue._taken :]
            if not waiting:
                return handled
            self.queue._taken += 1
            message, delay = waiting[0]
            self.clock.last += timedelta(seconds=delay)
            handle_message(self.family, message, now=self.clock)
            handled += 1
        raise AssertionError(f"the queue did not settle after {limit} messages")

    def reconcile(self, *, after: timedelta = timedelta(0)) -> Report:
        self.clock.last += after
        return reconcile(self.family, now=self.clock)

    def get(self, workspace_id: str) -> Workspace:
        found = self.workspaces.get(workspace_id)
        assert found is not None
        return found

    def status(self, workspace: Workspace) -> WorkspaceStatus:
        return self.get(workspace.id).status
