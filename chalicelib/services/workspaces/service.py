"""The workspaces capability as the routes see it: a study's workspaces, VRW's reports on them, and the catalog
they are made of, each service bound once per warm Lambda (built in `chalicelib.wiring`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.errors import NotFoundError
from chalicelib.services.accounts.admin import require_platform_admin
from chalicelib.services.workspaces import catalog, vrw, workspaces
from chalicelib.services.workspaces.catalog_items import CatalogKind

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.services.accounts.model import Researcher
    from chalicelib.services.common.model import Page, PageRequest
    from chalicelib.services.common.ports import Ledger
    from chalicelib.services.mail.ports import MailQueue
    from chalicelib.services.studies.model import StudyAccess
    from chalicelib.services.studies.ports import StudyRepository
    from chalicelib.services.workspaces.catalog import Catalog
    from chalicelib.services.workspaces.catalog_items import CatalogItem
    from chalicelib.services.workspaces.lifecycle import Action, Workspace, WorkspaceEvent, WorkspaceSettings
    from chalicelib.services.workspaces.ports import CatalogRepository, ProvisioningQueue, WorkspaceRepository
    from chalicelib.services.workspaces.workspaces import Usage, WorkspaceRequest


@dataclass(eq=False)
class WorkspacesService:
    """A study's workspaces: requests, changes and actions (sent on to the provisioning family), and VRW's
    reports on the ones it configures."""

    studies: StudyRepository
    catalog: CatalogRepository
    workspaces: WorkspaceRepository
    queue: ProvisioningQueue
    ledger: Ledger
    mail: MailQueue
    settings: WorkspaceSettings

    def request(
        self, access: StudyAccess, request: WorkspaceRequest, *, idempotency_key: str | None = None
    ) -> Workspace:
        return workspaces.request_workspace(
            access,
            self.studies,
            self.catalog,
            self.workspaces,
            self.queue,
            self.settings,
            request,
            idempotency_key=idempotency_key,
        )

    def list_for_study(self, access: StudyAccess, page: PageRequest) -> Page[Workspace]:
        return workspaces.list_for_study(access, self.workspaces, page)

    def usage(self, access: StudyAccess) -> Usage:
        return workspaces.usage(access, self.workspaces, self.settings)

    def read(self, access: StudyAccess, workspace: Workspace) -> Workspace:
        return workspaces.read_workspace(access, workspace)

    def update(
        self, access: StudyAccess, workspace: Workspace, *, name: str | None, expires_at: datetime | None
    ) -> Workspace:
        return workspaces.update(
            access, self.studies, self.workspaces, self.settings, workspace, name=name, expires_at=expires_at
        )

    def act(self, access: StudyAccess, workspace: Workspace, action: Action) -> Workspace:
        return workspaces.act(access, self.studies, self.workspaces, self.queue, self.settings, workspace, action)

    def history(self, access: StudyAccess, workspace: Workspace, page: PageRequest) -> Page[WorkspaceEvent]:
        return workspaces.history(access, self.workspaces, workspace, page)

    def receive_vrw(self, delivery_id: str, event: vrw.VrwEvent) -> vrw.Receipt:
        """One VRW webhook delivery of a kind the broker acts on (once, however often VRW delivers it)."""
        inbox = vrw.Inbox(self.workspaces, self.ledger, self.mail, self.settings)
        return vrw.receive(inbox, delivery_id, event)


@dataclass(eq=False)
class CatalogService:
    """What a workspace can be made of: read by everyone logged in, changed by platform admins."""

    catalog: CatalogRepository
    currency: str

    def read(self) -> Catalog:
        return catalog.read(self.catalog)

    def put(
        self,
        caller: Researcher,
        kind: str,
        item_id: str,
        *,
        name: str,
        price_per_day: str,
        attributes: Mapping[str, object],
    ) -> CatalogItem:
        require_platform_admin(caller)
        item = catalog.validate_item(catalog_kind(kind), item_id, name, price_per_day, attributes)
        return catalog.put_item(self.catalog, item, actor_id=caller.id)

    def delete(self, caller: Researcher, kind: str, item_id: str) -> None:
        require_platform_admin(caller)
        catalog.delete_item(self.catalog, catalog_kind(kind), item_id, actor_id=caller.id)


def catalog_kind(kind: str) -> CatalogKind:
    """The kind a path names; 404 for one there is not (after the admin check: a stranger learns nothing)."""
    try:
        return CatalogKind(kind)
    except ValueError:
        raise NotFoundError(detail=f"No catalog kind {kind}; the kinds are {', '.join(CatalogKind)}.") from None
