"""Builds the real repositories, secrets and providers, lazily and once per warm Lambda.

Handlers ask `dependencies()` for what they need; tests call `reset()` (an autouse fixture
does) or `install()` a wiring of their own.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

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
from chalicelib.services.dropoff.uploads import UploadPolicy
from chalicelib.services.mail.ports import Mailer, MailQueue
from chalicelib.services.studies.invitations import InvitationSettings, Outbox
from chalicelib.services.studies.ports import (
    AccessRepository,
    InvitationRepository,
    ReferenceRepository,
    StudyRepository,
)
from chalicelib.services.workspaces.cloud import Cloud
from chalicelib.services.workspaces.lifecycle import Quota, WorkspaceSettings, WorkspaceStatus
from chalicelib.services.workspaces.ports import CatalogRepository, ProvisioningQueue, WorkspaceRepository

if TYPE_CHECKING:
    from chalicelib.services.accounts.identity import IdentityProvider
    from chalicelib.services.dropoff.dropoff import Dropoff
    from chalicelib.services.dropoff.storage import ObjectStorage
    from chalicelib.services.dropoff.upload_reconciler import UploadRound
    from chalicelib.services.workspaces.provisioning import Family


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
        from chalicelib.services.dropoff.upload_reconciler import UploadRound

        retention = timedelta(days=self.settings.deleted_study_retention_days)
        return UploadRound(self.uploads, self.studies, self.storage, self.mail_queue, retention)

    @cached_property
    def dropoff(self) -> Dropoff:
        """The drop-off's uploads straight to storage, and the members' downloads."""
        from chalicelib.services.dropoff.dropoff import Dropoff, DropoffSettings

        s = self.settings
        settings = DropoffSettings(
            part_bytes=s.upload_part_bytes,
            max_parts=s.upload_max_parts,
            session=timedelta(hours=s.upload_session_hours),
            part_url_seconds=s.upload_part_url_seconds,
        )
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
        s = self.settings
        defaults = WorkspaceSettings()
        deadlines = dict(defaults.deadlines)
        deadlines[WorkspaceStatus.PROVISIONING] = timedelta(minutes=s.workspace_provision_deadline_minutes)
        return WorkspaceSettings(
            quota=Quota(s.workspace_quota_workspaces, s.workspace_quota_vcpus),
            lifetime=timedelta(days=s.workspace_lifetime_days),
            max_lifetime=timedelta(days=s.workspace_max_lifetime_days),
            currency=s.currency,
            vrw_enabled=s.vrw_enabled,
            deadlines=deadlines,
            first_check=timedelta(seconds=s.workspace_first_check_seconds),
            check_interval=timedelta(seconds=s.workspace_check_interval_seconds),
            max_attempts=s.workspace_max_attempts,
            delete_grace=timedelta(days=s.workspace_delete_grace_days),
            delete_orphans=s.reconcile_delete_orphans,
        )

    @property
    def provisioning(self) -> Family:
        """What the provisioning family and the reconciler work with."""
        from chalicelib.services.workspaces.provisioning import Family

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
        s = self.settings
        return InvitationSettings(
            ttl=timedelta(days=s.invitation_ttl_days),
            per_study_per_hour=s.invitations_per_study_per_hour,
            per_inviter_per_day=s.invitations_per_inviter_per_day,
            message_max=s.invitation_message_max,
        )

    @cached_property
    def upload_policy(self) -> UploadPolicy:
        s = self.settings
        return UploadPolicy(
            denied_extensions=s.denied_extensions,
            allowed_extensions=s.allowed_extensions_set,
            max_bytes=s.upload_max_bytes,
            refusals_audited_per_hour=s.upload_refusals_audited_per_hour,
        )

    @cached_property
    def token_policy(self) -> TokenPolicy:
        s = self.settings
        return TokenPolicy(
            key=self.secrets.signing_key,
            issuer=s.token_issuer,
            audience=s.token_audience,
            ttl=timedelta(seconds=s.session_ttl_seconds),
        )

    @cached_property
    def login_settings(self) -> LoginSettings:
        s = self.settings
        return LoginSettings(
            frontend_url=s.frontend_url,
            pending_ttl=timedelta(seconds=s.pending_login_ttl_seconds),
            code_ttl=timedelta(seconds=s.login_code_ttl_seconds),
            cookie_path=login_cookie_path(s.oidc_redirect_uri),
            cookie_secure=s.stage != "local",
            trusted_email_issuers=s.trusted_email_issuers,
        )

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


def login_cookie_path(redirect_uri: str | None) -> str:
    """The folder of the callback as the browser sees it: `/api/auth` behind API Gateway's stage, else `/auth`."""
    path = urlsplit(redirect_uri).path if redirect_uri else ""
    folder = posixpath.dirname(path)
    return folder if folder.startswith("/") else "/auth"


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
