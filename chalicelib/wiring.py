"""Builds the real repositories, secrets and providers, lazily and once per warm Lambda.

Handlers ask `dependencies()` for what they need; tests call `reset()` (an autouse fixture
does) or `install()` a wiring of their own.
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
from chalicelib.services.cloud import Cloud
from chalicelib.services.invitations import InvitationSettings, Outbox
from chalicelib.services.lifecycle import WorkspaceSettings
from chalicelib.services.login import LoginSettings
from chalicelib.services.ports import (
    AccessRepository,
    CatalogRepository,
    CredentialRepository,
    InvitationRepository,
    Ledger,
    Mailer,
    MailQueue,
    PlatformRepository,
    ProvisioningQueue,
    ReferenceRepository,
    ResearcherRepository,
    StudyRepository,
    UploadRepository,
    WorkspaceRepository,
)
from chalicelib.services.upload_settings import DropoffSettings, UploadPolicy

if TYPE_CHECKING:
    from chalicelib.services.dropoff import Dropoff
    from chalicelib.services.identity import IdentityProvider
    from chalicelib.services.provisioning import Family
    from chalicelib.services.storage import ObjectStorage
    from chalicelib.services.upload_reconciler import UploadRound


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
    def storage(self) -> ObjectStorage:
        """The uploads bucket (S3), its client made on first use."""
        if self.storage_override is not None:
            return self.storage_override
        from chalicelib.providers.storage import S3Storage

        return S3Storage(self.settings)

    @property
    def upload_round(self) -> UploadRound | None:
        """What the reconciler's drop-off round works with; None on a stage without an uploads bucket."""
        if not self.settings.upload_bucket and self.storage_override is None:
            return None
        from chalicelib.services.upload_reconciler import UploadRound

        retention = timedelta(days=self.settings.deleted_study_retention_days)
        return UploadRound(self.uploads, self.studies, self.storage, self.mail_queue, retention)

    @cached_property
    def dropoff(self) -> Dropoff:
        """The drop-off's uploads straight to storage, and the members' downloads."""
        from chalicelib.services.dropoff import Dropoff

        settings = DropoffSettings.from_settings(self.settings)
        return Dropoff(self.studies, self.uploads, self.storage, self.mail_queue, self.upload_policy, settings)

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

    @property
    def provisioning(self) -> Family:
        """What the provisioning family and the reconciler work with."""
        from chalicelib.services.provisioning import Family

        return Family(self.workspaces, self.cloud, self.provisioning_queue, self.mail_queue, self.workspace_settings)

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
