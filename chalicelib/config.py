"""The one typed settings object.

Read from the environment on first use (never at import time), so tests, moto and the
local stack can set the environment first. `reset_settings()` forgets the cached copy.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Literal

import msgspec

Stage = Literal["local", "dev", "prod"]


class ConfigurationError(RuntimeError):
    """The environment does not describe a usable broker."""


# What Windows and macOS run, install, mount or script on a double click, and Office's macro-enabled types
# (`DISALLOWED_EXTENSIONS`'s default; a site that accepts only some types sets `ALLOWED_EXTENSIONS` instead).
DEFAULT_DISALLOWED_EXTENSIONS = (
    # Windows programs, installers and shortcuts
    "exe,com,bat,cmd,scr,pif,cpl,msi,msp,mst,msc,msix,msixbundle,appx,appxbundle,appref-ms,application,"
    "gadget,lnk,url,scf,inf,reg,chm,hlp,hta,jar,ins,isp,job,dll,"
    # Windows scripts
    "ps1,ps1xml,ps2,ps2xml,psc1,psc2,psd1,psm1,vb,vbe,vbs,js,jse,ws,wsc,wsf,wsh,sct,shb,shs,settingcontent-ms,"
    # disk images that mount on a double click (not .img: ANALYZE brain images share it)
    "iso,vhd,vhdx,"
    # Office documents that carry macros
    "docm,dotm,xlsm,xltm,xlam,xll,pptm,potm,ppam,ppsm,sldm,"
    # macOS applications, installers and scripts
    "app,command,tool,terminal,workflow,action,dmg,pkg,mpkg,scpt,scptd,applescript,osax,"
    # Unix scripts and desktop launchers
    "sh,bash,csh,ksh,zsh,desktop,run"
)


class Settings(msgspec.Struct, frozen=True, rename="upper"):
    """Every environment variable the broker reads (the upper-cased field name), typed."""

    stage: Stage = "local"
    aws_region: str = "eu-west-1"
    # Set on the local stack (moto server); unset on AWS.
    aws_endpoint_url: str | None = None
    # Defaults to `vre-<stage>-`; the deploy writes the infrastructure stack's value here.
    table_prefix: str | None = None

    session_signing_key: str | None = None
    token_issuer: str = "vre-broker"
    token_audience: str = "vre-broker-api"
    session_ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=86400)] = 3600

    # SurfConext (or the local stack's provider): a confidential OpenID Connect client.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_redirect_uri: str | None = None
    oidc_scopes: str = "openid email profile"
    # Issuer URLs (space- or comma-separated) whose emails count as verified without `email_verified`.
    oidc_trusted_email_issuers: str = ""
    login_code_ttl_seconds: Annotated[int, msgspec.Meta(ge=10, le=600)] = 60
    pending_login_ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=3600)] = 600
    # Deployed stages keep secrets in SSM Parameter Store (SecureString), fetched once per warm Lambda.
    session_signing_key_parameter: str | None = None
    oidc_client_secret_parameter: str | None = None

    # Invitations and the mail family.
    email_from_address: str = "VRE Broker <no-reply@vre.example.org>"
    mail_queue_url: str | None = None
    mail_max_receive_count: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    invitation_ttl_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 14
    invitations_per_study_per_hour: Annotated[int, msgspec.Meta(ge=1)] = 20
    invitations_per_inviter_per_day: Annotated[int, msgspec.Meta(ge=1)] = 50
    invitation_message_max: Annotated[int, msgspec.Meta(ge=0, le=10000)] = 2000

    # OpenStack, for the provisioning family: the cloud's name in clouds.yaml (found where openstacksdk
    # looks, or at OS_CLIENT_CONFIG_FILE) and how long one API call may take. Deployed stages may keep the
    # application credential's secret in SSM (a SecureString's name); it overrides the one in clouds.yaml.
    openstack_cloud: str = "hpc"
    openstack_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    openstack_application_credential_secret_parameter: str | None = None

    # Workspaces: quota per study (platform admins override per study), lifetime, prices' currency.
    provisioning_queue_url: str | None = None
    workspace_quota_workspaces: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 5
    workspace_quota_vcpus: Annotated[int, msgspec.Meta(ge=0, le=100000)] = 32
    workspace_lifetime_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    workspace_max_lifetime_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 365
    workspace_delete_grace_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 7
    workspace_provision_deadline_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 30
    workspace_first_check_seconds: Annotated[int, msgspec.Meta(ge=0, le=900)] = 45
    workspace_check_interval_seconds: Annotated[int, msgspec.Meta(ge=1, le=900)] = 30
    workspace_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    currency: str = "EUR"
    # Whether VRW configures new workspaces (CONFIGURING until it reports ready) on this stage.
    vrw_enabled: bool = False
    # The secrets VRW signs `/hooks/vrw` with: space-separated `whsec_...` values (several while one
    # rotates); the value on the local stage, a Secrets Manager secret's name (or ARN) when deployed.
    vrw_webhook_secret: str | None = None
    vrw_webhook_secret_id: str | None = None
    # Whether the reconciler deletes servers tagged by the broker that no live workspace owns.
    reconcile_delete_orphans: bool = False

    upload_base_url: str = "http://127.0.0.1:3000/upload/"
    # The data drop-off (tusd): the hook's shared secret (the value on `local`, an SSM name when deployed),
    # the file extensions refused (comma-separated, any case, with or without the dot) and the size limit.
    tusd_hook_secret: str | None = None
    tusd_hook_secret_parameter: str | None = None
    disallowed_extensions: str = DEFAULT_DISALLOWED_EXTENSIONS
    # When set, only these extensions are accepted and the deny-list is not consulted.
    allowed_extensions: str = ""
    upload_max_bytes: Annotated[int, msgspec.Meta(ge=1)] = 50 * 1024**3
    # Refused uploads a study's audit log records per hour; past it they are refused unrecorded (anyone holding
    # an upload link could otherwise fill the log).
    upload_refusals_audited_per_hour: Annotated[int, msgspec.Meta(ge=1)] = 100
    # The drop-off's storage: the stage's uploads bucket (the infrastructure stack's `UploadBucketName`).
    upload_bucket: str | None = None
    # Parts of a drop-off upload: this size (S3's least is 5 MiB), larger for a file that would need more
    # than UPLOAD_MAX_PARTS of them; how long an upload may take, and how long a presigned part URL lasts.
    upload_part_bytes: Annotated[int, msgspec.Meta(ge=5 * 1024**2, le=5 * 1024**3)] = 16 * 1024**2
    upload_max_parts: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 1000
    upload_session_hours: Annotated[int, msgspec.Meta(ge=1, le=168)] = 24
    upload_part_url_seconds: Annotated[int, msgspec.Meta(ge=60, le=3600)] = 900
    # How long a member's download link lasts, and how long a deleted study's files stay in storage.
    download_url_seconds: Annotated[int, msgspec.Meta(ge=10, le=3600)] = 300
    deleted_study_retention_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30
    frontend_url: str = "http://127.0.0.1:3000"
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 256 * 1024

    sentry_dsn: str | None = None
    log_level: str = "INFO"
    # JSON lines (what CloudWatch Logs Insights reads) or text; unset, JSON on dev and prod, text on local.
    log_format: Literal["json", "text"] | None = None

    @property
    def denied_extensions(self) -> frozenset[str]:
        """`DISALLOWED_EXTENSIONS` as a set of lower-case extensions without their dot."""
        return _extensions(self.disallowed_extensions)

    @property
    def allowed_extensions_set(self) -> frozenset[str]:
        """`ALLOWED_EXTENSIONS` as a set of lower-case extensions without their dot; empty when unset."""
        return _extensions(self.allowed_extensions)

    @property
    def trusted_email_issuers(self) -> frozenset[str]:
        """`OIDC_TRUSTED_EMAIL_ISSUERS` as a set of issuer URLs, without trailing slashes."""
        return frozenset(
            issuer.rstrip("/") for issuer in self.oidc_trusted_email_issuers.replace(",", " ").split() if issuer
        )

    @property
    def tables_prefix(self) -> str:
        """Prefix of every table name."""
        return self.table_prefix if self.table_prefix is not None else f"vre-{self.stage}-"

    def queue_name(self, queue: str) -> str:
        """The stage's name for a queue of infra/template.yaml (`mail` is `vre-<stage>-mail`)."""
        return f"vre-{self.stage}-{queue}"


_FIELDS = frozenset(name.upper() for name in Settings.__struct_fields__)


def _extensions(value: str) -> frozenset[str]:
    return frozenset(cleaned for item in value.split(",") if (cleaned := item.strip().lstrip(".").lower()))


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (the process environment by default)."""
    source = os.environ if environ is None else environ
    values = {key: value for key, value in source.items() if key in _FIELDS and value != ""}
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"invalid settings: {exc}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read from the process environment once."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings, so the next call reads the environment again."""
    get_settings.cache_clear()
