"""The functions' IAM policies grant what the code calls, with nothing AWS faked.

Most tests fake the mail queue and keep secrets in the environment, so the calls a deployed stage makes to
SSM, SQS and SES would go unchecked there. This test runs a stage's flow configured as `dev` and `prod`
are: secrets from SSM Parameter Store, an invitation through the real mail queue to the mail function and
SES. The autouse `aws_calls` fixture (tests/conftest.py) fails it if a function calls what its policy does not
grant; the test makes sure those calls happened, and by the function that should make them.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
import responses
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.auth.tokens import TokenPolicy, issue_session_token
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import new_id, utcnow
from chalicelib.wiring import Dependencies
from tests.conftest import VRW_SECRET
from tests.support import dropoff
from tests.support.iam_calls import Call, ungranted
from tests.support.vrw import event_body, signed_headers
from vre_app.local.pump import process_batch, sqs_handlers, subscribe

REGION = "eu-west-1"
ISSUER = "https://idp.test"
SIGNING_KEY = "signing-key-from-ssm-0123456789abcdef0123456789"
PARAMETERS = {
    "SESSION_SIGNING_KEY_PARAMETER": ("/vre/local/session-signing-key", SIGNING_KEY),
    "OIDC_CLIENT_SECRET_PARAMETER": ("/vre/local/oidc-client-secret", "client-secret-from-ssm"),
}
VRW_SECRET_ID = "vre/local/vrw-webhook-secret"
SENDER = "no-reply@vre.example.org"


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dependencies]:
    """The wiring as a deployed stage builds it: nothing overridden, secrets in SSM, mail on the template's queue."""
    ssm = boto3.client("ssm", region_name=REGION)
    for variable, (name, value) in PARAMETERS.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        monkeypatch.setenv(variable, name)
    monkeypatch.delenv("SESSION_SIGNING_KEY")
    monkeypatch.delenv("OIDC_CLIENT_SECRET", raising=False)  # the local stage's plain value would win over SSM
    secretsmanager = boto3.client("secretsmanager", region_name=REGION)
    with contextlib.suppress(secretsmanager.exceptions.ResourceExistsException):  # an earlier test made it
        secretsmanager.create_secret(Name=VRW_SECRET_ID, SecretString=VRW_SECRET)
    monkeypatch.setenv("VRW_WEBHOOK_SECRET_ID", VRW_SECRET_ID)
    monkeypatch.delenv("VRW_WEBHOOK_SECRET")
    sqs = boto3.client("sqs", region_name=REGION)
    monkeypatch.setenv("MAIL_QUEUE_URL", sqs.get_queue_url(QueueName="vre-local-mail")["QueueUrl"])
    monkeypatch.setenv("OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("OIDC_CLIENT_ID", "vre-broker")
    monkeypatch.setenv("OIDC_REDIRECT_URI", "https://api.test/auth/callback")
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    wiring.reset()
    yield wiring.dependencies()
    wiring.reset()


def discovery() -> dict[str, str]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "jwks_uri": f"{ISSUER}/jwks",
    }


def test_a_deployed_flow_calls_only_what_each_function_is_granted(
    deployed: Dependencies, aws_calls: list[Call]
) -> None:
    # GIVEN a researcher, and a session token signed with the key the API will read from SSM
    now = utcnow()
    researcher = deployed.researchers.add(
        Researcher(
            id=new_id(), email=f"iam.{uuid.uuid4().hex[:12]}@uni.example", name="Iam", created_at=now, updated_at=now
        )
    )
    s = deployed.settings
    policy = TokenPolicy(key=SIGNING_KEY, issuer=s.token_issuer, audience=s.token_audience, ttl=timedelta(hours=1))
    headers = {
        "Authorization": f"Bearer {issue_session_token(policy, researcher.id)}",
        "Content-Type": "application/json",
    }

    # WHEN a login starts, a study is made, someone is invited, and VRW reports on a workspace nobody has
    with Client(app, stage_name="local") as client, responses.RequestsMock() as provider:
        provider.add(responses.GET, f"{ISSUER}/.well-known/openid-configuration", json=discovery())
        login = client.http.get("/auth/login?next=/")
        study = client.http.post("/studies", headers=headers, body=json.dumps({"name": "IAM study"}))
        study_id = json.loads(study.body)["id"]
        invite = client.http.post(
            f"/studies/{study_id}/invitations",
            headers=headers,
            body=json.dumps({"email": f"guest.{uuid.uuid4().hex[:12]}@uni.example", "role": "viewer"}),
        )
        event = event_body("configuring", new_id())
        vrw = client.http.post("/hooks/vrw", headers=signed_headers(body=event), body=event)
    # AND a lab drops a file off straight into the bucket (the page PUTs its parts), and the owner downloads it
    with Client(app, stage_name="local") as client:
        code = deployed.studies.get(study_id).upload_code  # type: ignore[union-attr]
        upload, _ = dropoff.send(client, code, b"dropped off")
        download = client.http.get(f"/studies/{study_id}/uploads/{upload.upload_id}/download", headers=headers)
    assert (login.status_code, study.status_code, invite.status_code, vrw.status_code) == (302, 201, 201, 404)
    assert download.status_code == 200

    # AND the mail function takes the message off the queue, as Lambda would
    sqs = boto3.client("sqs", region_name=REGION)
    (subscription,) = (s for s in subscribe(sqs, sqs_handlers(app)) if s.handler.name == "deliver_mail")
    batch = process_batch(sqs, subscription, wait_seconds=0)
    assert batch.received >= 1
    assert batch.kept == ()

    # THEN each function made the calls only a deployed stage makes, and its policy grants them all
    made = {(call.function, permission) for call in aws_calls for permission in call.permissions}
    secrets = {
        permission.resources[0].rsplit(":parameter", 1)[1]
        for function, permission in made
        if function == "api_handler" and permission.action == "ssm:GetParameter"
    }
    assert secrets == {name for name, _ in PARAMETERS.values()}
    assert any(f == "api_handler" and p.action == "secretsmanager:GetSecretValue" for f, p in made)
    assert any(f == "api_handler" and p.action == "sqs:SendMessage" for f, p in made)
    assert any(f == "deliver_mail" and p.action == "ses:SendEmail" for f, p in made)
    assert not any(f == "deliver_mail" and p.action.startswith("ssm:") for f, p in made)
    s3 = {p.action for f, p in made if f == "api_handler" and p.action.startswith("s3:")}
    assert {"s3:PutObject", "s3:ListMultipartUploadParts", "s3:GetObject"} <= s3
    assert ungranted(aws_calls) == []
