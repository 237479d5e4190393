"""Secrets: from the environment on the local stage; when deployed, from SSM Parameter Store, and VRW's
webhook secret from Secrets Manager (where the VRW team manages it).

Each is fetched once per warm Lambda; rotating one means a new value and new Lambdas (docs/operations.md).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient


class Secrets:
    """The signing key and the OIDC client, OpenStack credential, tusd hook and VRW secrets, resolved lazily."""

    def __init__(
        self,
        settings: Settings,
        ssm: SSMClient | None = None,
        secretsmanager: SecretsManagerClient | None = None,
    ) -> None:
        self._settings = settings
        self._ssm = ssm
        self._secretsmanager = secretsmanager

    def _parameter(self, name: str) -> str:
        if self._ssm is None:
            import boto3

            self._ssm = boto3.client(
                "ssm", region_name=self._settings.aws_region, endpoint_url=self._settings.aws_endpoint_url
            )
        try:
            value = self._ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"].get("Value", "")
        except ClientError as exc:
            raise ConfigurationError(f"SSM parameter {name} cannot be read: {exc}") from exc
        if not value:
            raise ConfigurationError(f"SSM parameter {name} is empty")
        return value

    def _secret_string(self, secret_id: str) -> str:
        if self._secretsmanager is None:
            import boto3

            self._secretsmanager = boto3.client(
                "secretsmanager", region_name=self._settings.aws_region, endpoint_url=self._settings.aws_endpoint_url
            )
        try:
            value = self._secretsmanager.get_secret_value(SecretId=secret_id).get("SecretString", "")
        except ClientError as exc:
            raise ConfigurationError(f"secret {secret_id} cannot be read from Secrets Manager: {exc}") from exc
        if not value:
            raise ConfigurationError(f"secret {secret_id} in Secrets Manager has no SecretString")
        return value

    @cached_property
    def signing_key(self) -> str:
        """The key that signs session tokens and list cursors."""
        s = self._settings
        if s.session_signing_key:
            return s.session_signing_key
        if s.session_signing_key_parameter:
            return self._parameter(s.session_signing_key_parameter)
        raise ConfigurationError("neither SESSION_SIGNING_KEY nor SESSION_SIGNING_KEY_PARAMETER is set")

    @cached_property
    def oidc_client_secret(self) -> str:
        """The confidential client's secret at the identity provider."""
        s = self._settings
        if s.oidc_client_secret:
            return s.oidc_client_secret
        if s.oidc_client_secret_parameter:
            return self._parameter(s.oidc_client_secret_parameter)
        raise ConfigurationError("neither OIDC_CLIENT_SECRET nor OIDC_CLIENT_SECRET_PARAMETER is set")

    @cached_property
    def openstack_application_credential_secret(self) -> str | None:
        """The OpenStack application credential's secret when SSM holds it; None leaves clouds.yaml's in force."""
        name = self._settings.openstack_application_credential_secret_parameter
        return self._parameter(name) if name else None

    @cached_property
    def tusd_hook_secret(self) -> str:
        """The secret tusd carries in its hook URL (`/hooks/tusd?secret=...`)."""
        s = self._settings
        if s.tusd_hook_secret:
            return s.tusd_hook_secret
        if s.tusd_hook_secret_parameter:
            return self._parameter(s.tusd_hook_secret_parameter)
        raise ConfigurationError("neither TUSD_HOOK_SECRET nor TUSD_HOOK_SECRET_PARAMETER is set")

    @cached_property
    def vrw_webhook_secret(self) -> str | None:
        """The secrets VRW signs its webhooks with (space-separated); None when the stage has none."""
        s = self._settings
        if s.vrw_webhook_secret:
            return s.vrw_webhook_secret
        return self._secret_string(s.vrw_webhook_secret_id) if s.vrw_webhook_secret_id else None
