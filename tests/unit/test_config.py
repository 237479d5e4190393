"""Settings: defaults, parsing of the environment, and refusal of what cannot be a working broker."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigurationError, get_settings, load_settings, reset_settings


def test_defaults_describe_the_local_stage() -> None:
    settings = load_settings({})

    assert settings.stage == "local"
    assert settings.aws_region == "eu-west-1"
    assert settings.aws_endpoint_url is None
    assert settings.tables_prefix == "vre-local-"
    assert settings.session_ttl_seconds == 3600
    assert settings.max_body_bytes == 256 * 1024
    assert settings.log_level == "INFO"


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_table_prefix_defaults_to_the_stage(stage: str) -> None:
    assert load_settings({"STAGE": stage}).tables_prefix == f"vre-{stage}-"


def test_table_prefix_from_the_environment_wins() -> None:
    assert load_settings({"STAGE": "prod", "TABLE_PREFIX": "vre-infra-abc-"}).tables_prefix == "vre-infra-abc-"


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_queue_names_carry_the_stage_as_the_template_makes_them(stage: str) -> None:
    assert load_settings({"STAGE": stage}).queue_name("mail") == f"vre-{stage}-mail"


def test_empty_variable_counts_as_unset() -> None:
    settings = load_settings({"TABLE_PREFIX": "", "SESSION_TTL_SECONDS": "", "STAGE": "dev"})

    assert settings.tables_prefix == "vre-dev-"
    assert settings.session_ttl_seconds == 3600


def test_integers_are_parsed_from_strings() -> None:
    settings = load_settings({"SESSION_TTL_SECONDS": "7200", "MAX_BODY_BYTES": "1048576"})

    assert settings.session_ttl_seconds == 7200
    assert settings.max_body_bytes == 1048576


def test_strings_are_taken_as_given() -> None:
    settings = load_settings(
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "TOKEN_ISSUER": "broker-x", "AWS_REGION": "eu-central-1"}
    )

    assert (settings.aws_endpoint_url, settings.token_issuer, settings.aws_region) == (
        "http://127.0.0.1:5000",
        "broker-x",
        "eu-central-1",
    )


def test_unrelated_and_lower_case_variables_are_ignored() -> None:
    settings = load_settings({"HOME": "/root", "stage": "prod", "PATH": "/bin"})

    assert settings.stage == "local"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_TTL_SECONDS", "an hour"),
        ("SESSION_TTL_SECONDS", "59"),
        ("SESSION_TTL_SECONDS", "86401"),
        ("SESSION_TTL_SECONDS", "3600.5"),
        ("MAX_BODY_BYTES", "1023"),
        ("STAGE", "staging"),
        ("LOGIN_CODE_TTL_SECONDS", "9"),
        ("LOGIN_CODE_TTL_SECONDS", "601"),
        ("PENDING_LOGIN_TTL_SECONDS", "59"),
        ("PENDING_LOGIN_TTL_SECONDS", "3601"),
    ],
)
def test_invalid_value_is_a_configuration_error(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"\$\.{name}\b"):
        load_settings({name: value})


def test_secrets_are_unset_by_default() -> None:
    settings = load_settings({})

    assert settings.session_signing_key is None
    assert settings.session_signing_key_parameter is None
    assert settings.oidc_client_secret is None
    assert settings.oidc_client_secret_parameter is None


def test_secrets_and_their_parameters_are_read_as_given() -> None:
    settings = load_settings(
        {
            "SESSION_SIGNING_KEY": "k" * 32,
            "OIDC_CLIENT_SECRET": "s3cret",
            "SESSION_SIGNING_KEY_PARAMETER": "/vre/prod/signing-key",
            "OIDC_CLIENT_SECRET_PARAMETER": "/vre/prod/oidc-client-secret",
        }
    )

    assert (settings.session_signing_key, settings.oidc_client_secret) == ("k" * 32, "s3cret")
    assert settings.session_signing_key_parameter == "/vre/prod/signing-key"
    assert settings.oidc_client_secret_parameter == "/vre/prod/oidc-client-secret"


def test_login_defaults_leave_the_provider_unconfigured() -> None:
    settings = load_settings({})

    assert (settings.oidc_issuer, settings.oidc_client_id, settings.oidc_redirect_uri) == (None, None, None)
    assert settings.oidc_scopes == "openid email profile"
    assert settings.login_code_ttl_seconds == 60
    assert settings.pending_login_ttl_seconds == 600
    assert settings.frontend_url == "http://127.0.0.1:3000"


def test_login_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        {
            "OIDC_ISSUER": "https://connect.test.surfconext.nl",
            "OIDC_CLIENT_ID": "vre-broker",
            "OIDC_REDIRECT_URI": "https://api.vre.example/auth/callback",
            "OIDC_SCOPES": "openid email profile schac_home_organization",
            "LOGIN_CODE_TTL_SECONDS": "30",
            "PENDING_LOGIN_TTL_SECONDS": "900",
            "FRONTEND_URL": "https://vre.example",
        }
    )

    assert settings.oidc_issuer == "https://connect.test.surfconext.nl"
    assert settings.oidc_client_id == "vre-broker"
    assert settings.oidc_redirect_uri == "https://api.vre.example/auth/callback"
    assert settings.oidc_scopes == "openid email profile schac_home_organization"
    assert (settings.login_code_ttl_seconds, settings.pending_login_ttl_seconds) == (30, 900)
    assert settings.frontend_url == "https://vre.example"


def test_process_settings_are_read_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "dev")
    reset_settings()
    first = get_settings()

    monkeypatch.setenv("STAGE", "prod")
    assert get_settings() is first
    assert first.stage == "dev"

    reset_settings()
    assert get_settings().stage == "prod"


def test_the_drop_off_defaults_deny_the_original_extensions_and_hold_no_secret() -> None:
    settings = load_settings({})

    assert settings.denied_extensions >= frozenset({"exe", "com", "bat", "lnk", "sh"})
    assert settings.allowed_extensions_set == frozenset()
    assert settings.upload_max_bytes == 50 * 1024**3
    assert (settings.tusd_hook_secret, settings.tusd_hook_secret_parameter) == (None, None)


def test_the_drop_off_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        {"DISALLOWED_EXTENSIONS": "exe,.MSI", "UPLOAD_MAX_BYTES": "1048576", "TUSD_HOOK_SECRET_PARAMETER": "/vre/x"}
    )

    assert settings.denied_extensions == frozenset({"exe", "msi"})
    assert settings.upload_max_bytes == 1048576
    assert settings.tusd_hook_secret_parameter == "/vre/x"


def test_a_size_limit_below_one_byte_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        load_settings({"UPLOAD_MAX_BYTES": "0"})
