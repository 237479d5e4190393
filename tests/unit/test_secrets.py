"""Secrets: the environment's value on the local stage, otherwise the SSM parameter, read once and decrypted."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

import pytest

from chalicelib.config import ConfigurationError, load_settings
from chalicelib.providers.secrets import Secrets

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient


class FakeSSM:
    """The one SSM call `Secrets` makes, over a dict of parameters, recording each call."""

    def __init__(self, parameters: dict[str, str] | None = None) -> None:
        self.parameters = parameters or {}
        self.calls: list[dict[str, Any]] = []

    def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        name = kwargs["Name"]
        if name not in self.parameters:
            raise LookupError(f"no parameter {name}")  # boto3 would raise ParameterNotFound
        return {"Parameter": {"Name": name, "Type": "SecureString", "Value": self.parameters[name]}}


class FakeSecretsManager:
    """The one Secrets Manager call `Secrets` makes, over a dict of secret strings, recording each call."""

    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self.secrets = secrets or {}
        self.calls: list[dict[str, Any]] = []

    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Name": kwargs["SecretId"], "SecretString": self.secrets[kwargs["SecretId"]]}


def secrets_of(environ: dict[str, str], ssm: FakeSSM, secretsmanager: FakeSecretsManager | None = None) -> Secrets:
    return Secrets(
        load_settings(environ),
        cast("SSMClient", ssm),
        cast("SecretsManagerClient", secretsmanager or FakeSecretsManager()),
    )


SIGNING_PARAMETER = "/vre/prod/session-signing-key"
CLIENT_PARAMETER = "/vre/prod/oidc-client-secret"
TUSD_PARAMETER = "/vre/prod/tusd-hook-secret"


def test_environment_values_win_and_ssm_is_not_asked() -> None:
    ssm = FakeSSM({SIGNING_PARAMETER: "from-ssm", CLIENT_PARAMETER: "from-ssm"})
    secrets = secrets_of(
        {
            "SESSION_SIGNING_KEY": "k" * 32,
            "SESSION_SIGNING_KEY_PARAMETER": SIGNING_PARAMETER,
            "OIDC_CLIENT_SECRET": "client-secret",
            "OIDC_CLIENT_SECRET_PARAMETER": CLIENT_PARAMETER,
        },
        ssm,
    )

    assert secrets.signing_key == "k" * 32
    assert secrets.oidc_client_secret == "client-secret"
    assert ssm.calls == []


def test_parameters_are_fetched_decrypted_once_per_instance() -> None:
    ssm = FakeSSM({SIGNING_PARAMETER: "signing-key-from-ssm", CLIENT_PARAMETER: "client-secret-from-ssm"})
    secrets = secrets_of(
        {"SESSION_SIGNING_KEY_PARAMETER": SIGNING_PARAMETER, "OIDC_CLIENT_SECRET_PARAMETER": CLIENT_PARAMETER}, ssm
    )

    assert secrets.signing_key == "signing-key-from-ssm"
    assert secrets.oidc_client_secret == "client-secret-from-ssm"
    ssm.parameters = {SIGNING_PARAMETER: "rotated", CLIENT_PARAMETER: "rotated"}
    assert (secrets.signing_key, secrets.oidc_client_secret) == ("signing-key-from-ssm", "client-secret-from-ssm")

    assert ssm.calls == [
        {"Name": SIGNING_PARAMETER, "WithDecryption": True},
        {"Name": CLIENT_PARAMETER, "WithDecryption": True},
    ]


def test_a_new_instance_fetches_again() -> None:
    ssm = FakeSSM({SIGNING_PARAMETER: "first"})
    environ = {"SESSION_SIGNING_KEY_PARAMETER": SIGNING_PARAMETER}
    assert secrets_of(environ, ssm).signing_key == "first"

    ssm.parameters[SIGNING_PARAMETER] = "rotated"

    assert secrets_of(environ, ssm).signing_key == "rotated"
    assert len(ssm.calls) == 2


@pytest.mark.parametrize(
    ("environ", "read"),
    [
        ({"SESSION_SIGNING_KEY_PARAMETER": SIGNING_PARAMETER}, "signing_key"),
        ({"OIDC_CLIENT_SECRET_PARAMETER": CLIENT_PARAMETER}, "oidc_client_secret"),
        ({"TUSD_HOOK_SECRET_PARAMETER": TUSD_PARAMETER}, "tusd_hook_secret"),
    ],
    ids=["signing-key", "client-secret", "tusd-hook-secret"],
)
def test_an_empty_parameter_is_a_configuration_error(environ: dict[str, str], read: str) -> None:
    secrets = secrets_of(environ, FakeSSM({SIGNING_PARAMETER: "", CLIENT_PARAMETER: "", TUSD_PARAMETER: ""}))

    with pytest.raises(ConfigurationError, match="is empty"):
        getattr(secrets, read)


@pytest.mark.parametrize(
    ("read", "names"),
    [
        ("signing_key", "SESSION_SIGNING_KEY_PARAMETER"),
        ("oidc_client_secret", "OIDC_CLIENT_SECRET_PARAMETER"),
        ("tusd_hook_secret", "TUSD_HOOK_SECRET_PARAMETER"),
    ],
)
def test_neither_value_nor_parameter_is_a_configuration_error(read: str, names: str) -> None:
    ssm = FakeSSM()
    secrets = secrets_of({}, ssm)

    with pytest.raises(ConfigurationError, match=names):
        getattr(secrets, read)
    assert ssm.calls == []


def test_the_openstack_secret_is_none_without_a_parameter_and_fetched_once_with_one() -> None:
    parameter = "/vre/prod/openstack-application-credential-secret"
    ssm = FakeSSM({parameter: "app-credential-secret"})

    assert secrets_of({}, ssm).openstack_application_credential_secret is None
    secrets = secrets_of({"OPENSTACK_APPLICATION_CREDENTIAL_SECRET_PARAMETER": parameter}, ssm)
    assert secrets.openstack_application_credential_secret == "app-credential-secret"
    assert secrets.openstack_application_credential_secret == "app-credential-secret"

    assert ssm.calls == [{"Name": parameter, "WithDecryption": True}]


def test_the_tusd_hook_secret_is_the_environments_on_local_and_ssms_when_deployed() -> None:
    ssm = FakeSSM({TUSD_PARAMETER: "tusd-secret-from-ssm"})

    local = secrets_of({"TUSD_HOOK_SECRET": "local-value", "TUSD_HOOK_SECRET_PARAMETER": TUSD_PARAMETER}, ssm)
    assert local.tusd_hook_secret == "local-value"
    assert ssm.calls == []

    deployed = secrets_of({"TUSD_HOOK_SECRET_PARAMETER": TUSD_PARAMETER}, ssm)
    assert (deployed.tusd_hook_secret, deployed.tusd_hook_secret) == ("tusd-secret-from-ssm", "tusd-secret-from-ssm")
    assert ssm.calls == [{"Name": TUSD_PARAMETER, "WithDecryption": True}]


def test_vrws_webhook_secret_comes_from_the_environment_or_secrets_manager_once_and_may_be_absent() -> None:
    secret_id = "vre/prod/vrw-webhook-secret"
    manager = FakeSecretsManager({secret_id: "whsec_old whsec_new"})

    both = {"VRW_WEBHOOK_SECRET": "whsec_local", "VRW_WEBHOOK_SECRET_ID": secret_id}

    assert secrets_of({}, FakeSSM(), manager).vrw_webhook_secret is None
    assert secrets_of(both, FakeSSM(), manager).vrw_webhook_secret == "whsec_local"
    secrets = secrets_of({"VRW_WEBHOOK_SECRET_ID": secret_id}, FakeSSM(), manager)
    assert secrets.vrw_webhook_secret == "whsec_old whsec_new"
    assert secrets.vrw_webhook_secret == "whsec_old whsec_new"

    assert manager.calls == [{"SecretId": secret_id}]


def test_a_missing_or_empty_vrw_secret_in_secrets_manager_is_a_configuration_error(aws: None) -> None:
    import boto3

    client = boto3.client("secretsmanager", region_name="eu-west-1")
    empty = f"vre/prod/empty-{uuid.uuid4().hex}"
    client.create_secret(Name=empty, SecretBinary=b"not a string")

    for secret_id, problem in ((f"vre/prod/none-{uuid.uuid4().hex}", "cannot be read"), (empty, "no SecretString")):
        secrets = Secrets(load_settings({"VRW_WEBHOOK_SECRET_ID": secret_id, "AWS_REGION": "eu-west-1"}))
        with pytest.raises(ConfigurationError, match=problem):
            _ = secrets.vrw_webhook_secret
