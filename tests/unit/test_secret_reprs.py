"""A value that holds a secret never shows it in its repr: tracebacks, logs and debuggers print reprs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from chalicelib.api.schemas import (
    CallbackQuery,
    InvitationAnswer,
    LoginCodeExchange,
    NewApiTokenView,
    SessionView,
    UploadCodeView,
)
from chalicelib.api.tusd import TusdHookQuery
from chalicelib.auth.principal import Principal
from chalicelib.auth.tokens import TokenPolicy
from chalicelib.config import Settings
from chalicelib.providers.oidc import OidcConfig
from chalicelib.services.accounts.api_tokens import NewApiToken
from chalicelib.services.accounts.model import Credential, CredentialKind
from chalicelib.services.mail.ports import OutgoingMail
from chalicelib.services.messages import InvitationMessage
from chalicelib.services.studies.model import Invitation, Role, Study

SECRET = "s3cr3t-value-0123456789"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_messages_and_bodies_that_carry_a_secret_hide_it_and_show_the_rest() -> None:
    values = [
        InvitationMessage(mail_id="m-1", invitation_id="i-1", token=SECRET),
        LoginCodeExchange(login_code=SECRET),
        SessionView(access_token=SECRET, token_type="Bearer", expires_in=3600),
        NewApiTokenView(id="t-1", name="laptop", created_at=NOW, expires_at=None, token=SECRET),
        InvitationAnswer(token=SECRET),
        UploadCodeView(upload_code=SECRET, upload_url="https://upload.test/u/"),
        CallbackQuery(code=SECRET, state=SECRET + "-state"),
        TusdHookQuery(secret=SECRET),
    ]

    for value in values:
        assert SECRET not in repr(value), type(value).__name__
        assert SECRET not in str(value), type(value).__name__
        assert repr(value).startswith(f"{type(value).__name__}(")
    assert repr(values[0]) == "InvitationMessage(mail_id='m-1', invitation_id='i-1', request_id='')"
    # The wire form is untouched: only the repr hides the secret.
    assert msgspec.json.decode(msgspec.json.encode(values[0]))["token"] == SECRET


def test_settings_hide_the_secrets_they_hold() -> None:
    settings = Settings(
        session_signing_key=SECRET,
        oidc_client_secret=SECRET,
        vrw_webhook_secret=SECRET,
        tusd_hook_secret=SECRET,
        oidc_client_secret_parameter="/vre/dev/oidc-client-secret",
    )

    assert SECRET not in repr(settings)
    assert "oidc_client_secret_parameter='/vre/dev/oidc-client-secret'" in repr(settings)


def test_domain_values_that_hold_a_secret_hide_it() -> None:
    values = [
        NewApiToken(
            credential=Credential(key="api_token#t-1", kind=CredentialKind.API_TOKEN, expires_at=None, created_at=NOW),
            token_id="t-1",
            secret=SECRET,
        ),
        OidcConfig(
            issuer="https://idp", client_id="vre", client_secret=SECRET, redirect_uri="https://api/cb", scopes="openid"
        ),
        TokenPolicy(key=SECRET, issuer="vre-broker", audience="vre-broker-api", ttl=timedelta(hours=1)),
        Principal(
            researcher_id="r-1", kind=CredentialKind.API_TOKEN, credential_key="k", token_id="t", secret_hash=SECRET
        ),
        Credential(
            key="pending_login#h",
            kind=CredentialKind.PENDING_LOGIN,
            expires_at=None,
            created_at=NOW,
            secret_hash=SECRET,
            data={"verifier": SECRET, "nonce": SECRET},
        ),
        Study(id="s-1", name="Cohort", owner_id="r-1", upload_code=SECRET, created_at=NOW, updated_at=NOW),
        Invitation(
            id="i-1",
            study_id="s-1",
            email="a@b.example",
            role=Role.VIEWER,
            inviter_id="r-1",
            token_hash=SECRET,
            expires_at=NOW + timedelta(days=1),
            created_at=NOW,
            updated_at=NOW,
        ),
        OutgoingMail(to="a@b.example", subject="Join", text=f"?token={SECRET}", html=f"?token={SECRET}"),
    ]

    for value in values:
        assert SECRET not in repr(value), type(value).__name__
