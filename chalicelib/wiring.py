"""Builds the real repositories, secrets and providers, and each capability's service over them, lazily and
once per warm Lambda.

Routes call `dependencies().services.<capability>` (through `Call.services`); app.py hands each worker its
service the same way. Tests call `reset()` (an autouse fixture does) or `install()` a wiring of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.auth.tokens import TokenPolicy
from chalicelib.config import ConfigurationError, Settings, get_settings, reset_settings
from chalicelib.models import TableBinding, bind
from chalicelib.models.access import DynamoAccess
from chalicelib.models.catalog import DynamoCatalog
from chalicelib.models.credentials import DynamoCredentials
from chalicelib.models.invitations import DynamoInvitations
from chalicelib.models.ledger import DynamoLedger
from chalicelib.models.platform import DynamoPlatform
from chalicelib.models.reference import DynamoReference
from chalicelib.models.researchers import DynamoResearchers
from chalicelib.models.studies import DynamoStudies
from chalicelib.models.uploads import DynamoUploads
from chalicelib.models.workspaces import DynamoWorkspaces
from chalicelib.providers.secrets import Secrets
from chalicelib.services.accounts.login import LoginSettings
from chalicelib.services.accounts.ports import CredentialRepository, PlatformRepository, ResearcherRepository
from chalicelib.services.common.ports import Ledger
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.dropoff.settings import DropoffSettings, UploadPolicy
from chalicelib.services.mail.ports import Mailer, MailQueue
from chalicelib.services.studies.invitations import InvitationSettings, Outbox
from chalicelib.services.studies.ports import (
    AccessRepository,
    InvitationRepository,
    ReferenceRepository,
    StudyRepository,
)
from chalicelib.services.workspaces.cloud import Cloud
from chalicelib.services.workspaces.lifecycle import WorkspaceSettings
from chalicelib.services.workspaces.ports import CatalogRepository, ProvisioningQueue, WorkspaceRepository

if TYPE_CHECKING:
    from chalicelib.services.accounts.identity import IdentityProvider
    from chalicelib.services.accounts.service import AccountsService, AdminService, LoginService
    from chalicelib.services.dropoff.dropoff import Dropoff
    from chalicelib.services.dropoff.service import UploadsService
    from chalicelib.services.dropoff.storage import ObjectStorage
    from chalicelib.services.dropoff.upload_reconciler import UploadRound
    from chalicelib.services.mail.service import MailService
    from chalicelib.services.studies.service import ReferenceService, StudiesService
    from chalicelib.services.workspaces.provisioning import Family
    from chalicelib.services.workspaces.service import CatalogService, WorkspacesService


@dataclass(eq=False)
class Dependencies:
    settings: Settings
    researchers: ResearcherRepository
    references: ReferenceRepository
    studies: StudyRepository
    credentials: CredentialRepository
    access: AccessRepository
    secrets: Secrets
    invitations: InvitationRepository
    ledger: Ledger
    workspaces: WorkspaceRepository
    catalog: CatalogRepository
    platform: PlatformRepository
    uploads: UploadRepository
    provider_override: IdentityProvider | None = field(default=None)
    mail_queue_override: MailQueue | None = field(default=None)
    mailer_override: Mailer | None = field(default=None)
    provisioning_queue_override: ProvisioningQueue | None = field(default=None)
    cloud_override: Cloud | None = field(default=None)
    storage_override: ObjectStorage | None = field(default=None)

    @cached_property
    def services(self) -> Services:
        """Each capability's service, built on first use and kept as long as this wiring (a warm Lambda)."""
        return Services(self)

    @cached_property
    def storage(self) -> ObjectStorage:
        """The uploads bucket (S3), its client made on first use."""
        if self.storage_override is not None:
            return self.storage_override
        from chalicelib.providers.storage import S3Storage

        return S3Storage(self.settings)

    @cached_property
    def provisioning_queue(self) -> ProvisioningQueue:
        """The provisioning family's queue (SQS), built on first use."""
        if self.provisioning_queue_override is not None:
            return self.provisioning_queue_override
        from chalicelib.providers.queues import SqsProvisioningQueue

        return SqsProvisioningQueue(self.settings)

    @cached_property
    def cloud(self) -> Cloud:
        """OpenStack, connected on first use; only the provisioning family gets here (it imports openstacksdk)."""
        if self.cloud_override is not None:
            return self.cloud_override
        from chalicelib.providers.openstack import OpenStackCloud

        return OpenStackCloud.from_settings(self.settings, self.secrets)

    @cached_property
    def workspace_settings(self) -> WorkspaceSettings:
        return WorkspaceSettings.from_settings(self.settings)

    @cached_property
    def mail_queue(self) -> MailQueue:
        """The invitations' mail queue (SQS), built on first use."""
        if self.mail_queue_override is not None:
            return self.mail_queue_override
        from chalicelib.providers.queues import SqsMailQueue

        return SqsMailQueue(self.settings)

    @cached_property
    def mailer(self) -> Mailer:
        """SES, built on first use (only the mail family sends)."""
        if self.mailer_override is not None:
            return self.mailer_override
        from chalicelib.providers.mail import SesMailer

        return SesMailer(self.settings)

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.invitations, self.ledger, self.mail_queue)

    @cached_property
    def invitation_settings(self) -> InvitationSettings:
        return InvitationSettings.from_settings(self.settings)

    @cached_property
    def upload_policy(self) -> UploadPolicy:
        return UploadPolicy.from_settings(self.settings)

    @cached_property
    def token_policy(self) -> TokenPolicy:
        return TokenPolicy.from_settings(self.settings, self.secrets.signing_key)

    @cached_property
    def login_settings(self) -> LoginSettings:
        return LoginSettings.from_settings(self.settings)

    @cached_property
    def identity_provider(self) -> IdentityProvider:
        """The OpenID Connect provider, built on the first login (its discovery document is cached in it)."""
        if self.provider_override is not None:
            return self.provider_override
        from chalicelib.providers.oidc import OidcConfig, OidcProvider

        s = self.settings
        if not (s.oidc_issuer and s.oidc_client_id and s.oidc_redirect_uri):
            raise ConfigurationError("OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_REDIRECT_URI must be set to log in")
        return OidcProvider(
            OidcConfig(
                issuer=s.oidc_issuer,
                client_id=s.oidc_client_id,
                client_secret=self.secrets.oidc_client_secret,
                redirect_uri=s.oidc_redirect_uri,
                scopes=s.oidc_scopes,
            )
        )


class Services:
    """Each capability's service, bound once per warm Lambda to the repositories, clients and settings it needs
    (as azul's app keeps its controllers): routes call `call.services.<capability>`, workers get theirs in app.py.
    Each is imported when first built, so the API's cold start pays only for what its first request needs; heavy
    clients (OpenStack, the identity provider) stay lazy too: building a service connects to nothing."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    @cached_property
    def studies(self) -> StudiesService:
        from chalicelib.services.studies.service import StudiesService

        d = self._deps
        return StudiesService(d.studies, d.researchers, d.references, d.outbox, d.mail_queue, d.invitation_settings)

    @cached_property
    def reference(self) -> ReferenceService:
        from chalicelib.services.studies.service import ReferenceService

        return ReferenceService(self._deps.references)

    @cached_property
    def accounts(self) -> AccountsService:
        from chalicelib.services.accounts.service import AccountsService

        d = self._deps
        return AccountsService(d.researchers, d.references, d.credentials)

    @cached_property
    def login(self) -> LoginService:
        from chalicelib.services.accounts.service import LoginService

        d = self._deps

        def provider() -> IdentityProvider:
            return d.identity_provider

        return LoginService(provider, d.credentials, d.researchers, d.references, d.login_settings, d.token_policy)

    @cached_property
    def admin(self) -> AdminService:
        from chalicelib.services.accounts.service import AdminService

        d = self._deps
        return AdminService(d.researchers, d.platform, d.studies, d.workspaces, d.workspace_settings)

    @cached_property
    def workspaces(self) -> WorkspacesService:
        from chalicelib.services.workspaces.service import WorkspacesService

        d = self._deps
        return WorkspacesService(
            d.studies, d.catalog, d.workspaces, d.provisioning_queue, d.ledger, d.mail_queue, d.workspace_settings
        )

    @cached_property
    def catalog(self) -> CatalogService:
        from chalicelib.services.workspaces.service import CatalogService

        return CatalogService(self._deps.catalog, self._deps.workspace_settings.currency)

    @cached_property
    def uploads(self) -> UploadsService:
        from chalicelib.services.dropoff.service import UploadsService

        d = self._deps
        return UploadsService(
            d.studies, d.uploads, d.storage, d.mail_queue, d.upload_policy, d.settings.download_url_seconds
        )

    @cached_property
    def dropoff(self) -> Dropoff:
        """The drop-off's uploads straight to storage."""
        from chalicelib.services.dropoff.dropoff import Dropoff

        d = self._deps
        settings = DropoffSettings.from_settings(d.settings)
        return Dropoff(d.studies, d.uploads, d.storage, d.mail_queue, d.upload_policy, settings)

    @cached_property
    def provisioning(self) -> Family:
        """The provisioning family: what its worker and the reconciler work with (OpenStack on first use)."""
        from chalicelib.services.workspaces.provisioning import Family

        d = self._deps
        return Family(d.workspaces, d.cloud, d.provisioning_queue, d.mail_queue, d.workspace_settings)

    @cached_property
    def upload_round(self) -> UploadRound | None:
        """What the reconciler's drop-off round works with; None on a stage without an uploads bucket."""
        d = self._deps
        if not d.settings.upload_bucket and d.storage_override is None:
            return None
        from chalicelib.services.dropoff.upload_reconciler import UploadRound

        retention = timedelta(days=d.settings.deleted_study_retention_days)
        return UploadRound(d.uploads, d.studies, d.storage, d.mail_queue, retention)

    @cached_property
    def mail(self) -> MailService:
        from chalicelib.services.mail.service import MailService

        d = self._deps
        return MailService(
            d.settings, d.invitations, d.studies, d.researchers, d.uploads, d.workspaces, d.ledger, d.mailer
        )


_current: Dependencies | None = None


def dependencies() -> Dependencies:
    """The wired dependencies, built on first use."""
    global _current
    if _current is None:
        _current = _build(get_settings())
    return _current


def _binding(settings: Settings) -> TableBinding:
    return TableBinding(settings.tables_prefix, settings.aws_region, settings.aws_endpoint_url)


def _build(settings: Settings) -> Dependencies:
    connection = bind(_binding(settings))
    return Dependencies(
        settings=settings,
        researchers=DynamoResearchers(connection),
        references=DynamoReference(),
        studies=DynamoStudies(connection),
        credentials=DynamoCredentials(),
        access=DynamoAccess(connection),
        secrets=Secrets(settings),
        invitations=DynamoInvitations(connection),
        ledger=DynamoLedger(),
        workspaces=DynamoWorkspaces(connection),
        catalog=DynamoCatalog(connection),
        platform=DynamoPlatform(),
        uploads=DynamoUploads(connection),
    )


def install(built: Dependencies) -> None:
    """Use `built` from now on (tests share one moto-backed wiring across a session)."""
    global _current
    bind(_binding(built.settings))
    _current = built


def reset() -> None:
    """Forget settings and connections; the next `dependencies()` builds them anew."""
    global _current
    _current = None
    reset_settings()
