"""The ops CLI: `token` only on the local stage and only the token on stdout; the local environment it reads;
`mail` lists what SES (moto) accepted."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from chalicelib import wiring
from chalicelib.auth.tokens import verify_session_token
from chalicelib.config import load_settings
from chalicelib.providers.mail import SesMailer
from chalicelib.services.mail.ports import OutgoingMail
from vre_app.cli import main
from vre_app.local.environment import (
    LocalEnvironmentError,
    LocalPorts,
    infrastructure_environment,
    local_ports,
    stack_environment,
    stage_variables,
    use_local_defaults,
)


@pytest.fixture
def restored_environ() -> Iterator[None]:
    """The CLI fills the local stage's variables into `os.environ`; put it back as it was."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def in_process_moto(aws: None, monkeypatch: pytest.MonkeyPatch, restored_environ: None) -> None:
    # Present but empty: no endpoint override, so the CLI talks to the in-process moto.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")


def token_for(email: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["token", "--email", email, "--name", "Cli User"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert out == f"{token}\n", "stdout holds the token and nothing else"
    assert " " not in token
    assert err == ""
    return token


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_token_is_refused_outside_the_local_stage(
    stage: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restored_environ: None
) -> None:
    monkeypatch.setenv("STAGE", stage)

    code = main(["token", "--email", "someone@example.org", "--name", "Someone"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "refused" in err
    assert repr(stage) in err


def test_token_on_the_local_stage_prints_only_a_token_the_api_accepts(
    in_process_moto: None, capsys: pytest.CaptureFixture[str]
) -> None:
    email = f"cli.{uuid.uuid4().hex[:8]}@example.org"

    token = token_for(email, capsys)

    deps = wiring.dependencies()
    claims = verify_session_token(deps.token_policy, token)
    researcher = deps.researchers.get(claims.researcher_id)
    assert researcher is not None
    assert (researcher.email, researcher.name) == (email, "Cli User")


def test_token_twice_for_the_same_email_reuses_the_researcher(
    in_process_moto: None, capsys: pytest.CaptureFixture[str]
) -> None:
    email = f"cli.{uuid.uuid4().hex[:8]}@example.org"

    first = token_for(email, capsys)
    second = token_for(email.upper(), capsys)

    policy = wiring.dependencies().token_policy
    assert first != second
    assert verify_session_token(policy, first).researcher_id == verify_session_token(policy, second).researcher_id


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_grant_and_revoke_admin_by_email_on_any_stage(
    stage: str, in_process_moto: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    email = f"admin.{uuid.uuid4().hex[:8]}@example.org"
    token_for(email, capsys)
    monkeypatch.setenv("STAGE", stage)
    # Whatever the stage, the tables are the in-process moto's local ones here.
    monkeypatch.setenv("TABLE_PREFIX", "vre-local-")

    assert main(["grant-admin", "--email", email.upper()]) == 0
    assert "is now a platform admin" in capsys.readouterr().out
    researcher = wiring.dependencies().researchers.by_email(email)
    assert researcher is not None
    assert researcher.is_admin

    assert main(["revoke-admin", "--email", email]) == 0
    researcher = wiring.dependencies().researchers.by_email(email)
    assert researcher is not None
    assert not researcher.is_admin


def test_grant_admin_for_an_unknown_email_fails_clearly(
    in_process_moto: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grant-admin", "--email", "nobody.ever@example.org"]) == 1
    assert "must log in once first" in capsys.readouterr().err


def test_token_without_a_reachable_stack_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restored_environ: None
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")

    code = main(["token", "--email", "someone@example.org", "--name", "Someone"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "make run" in err


@pytest.mark.parametrize("email", ["", "no-at-sign", "@example.org", "someone@localhost"])
def test_token_needs_an_email_address(email: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "--email", email, "--name", "Someone"])

    assert exited.value.code == 2
    assert capsys.readouterr().out == ""


def test_seed_writes_the_reference_data_where_the_environment_points(
    in_process_moto: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed"]) == 0

    out = capsys.readouterr().out
    assert "university" in out
    assert "research_field" in out
    assert "vre-local-" in out


def test_local_defaults_come_from_the_chalice_config_without_overriding(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"STAGE": "local", "SESSION_SIGNING_KEY": "from-config", "LOG_LEVEL": "DEBUG"})
    environ = {"SESSION_SIGNING_KEY": "mine", "VRE_MOTO_PORT": "5099"}

    assert use_local_defaults(environ, config=config)

    assert environ["SESSION_SIGNING_KEY"] == "mine"
    assert environ["LOG_LEVEL"] == "DEBUG"
    assert environ["STAGE"] == "local"
    assert environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5099"


def test_local_defaults_leave_another_stage_alone(tmp_path: Path) -> None:
    environ = {"STAGE": "prod"}

    assert not use_local_defaults(environ, config=write_config(tmp_path, {"STAGE": "local"}))

    assert environ == {"STAGE": "prod"}


def test_the_stack_environment_is_the_local_stage_on_its_own_moto(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"STAGE": "local", "AWS_ACCESS_KEY_ID": "local"})
    caller = {"STAGE": "dev", "AWS_PROFILE": "work", "AWS_ACCESS_KEY_ID": "AKIAREAL", "PATH": "/bin"}

    environ = stack_environment(caller, LocalPorts(api=8001, moto=5001), config=config)

    assert environ["STAGE"] == "local"
    assert environ["AWS_ACCESS_KEY_ID"] == "local"
    assert environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5001"
    assert "AWS_PROFILE" not in environ
    assert environ["PATH"] == "/bin"


def test_the_checked_in_config_has_a_local_stage() -> None:
    variables = stage_variables("local")

    assert variables["STAGE"] == "local"
    assert variables["SESSION_SIGNING_KEY"]


@pytest.mark.parametrize("value", ["http", "0", "70000", "-1"])
def test_a_bad_port_is_a_clear_error(value: str) -> None:
    with pytest.raises(LocalEnvironmentError, match="VRE_API_PORT"):
        local_ports({"VRE_API_PORT": value})


def write_config(directory: Path, local_variables: dict[str, str]) -> Path:
    path = directory / "config.json"
    path.write_text(
        json.dumps(
            {
                "environment_variables": {"LOG_LEVEL": "INFO"},
                "stages": {"local": {"environment_variables": local_variables}},
            }
        )
    )
    return path


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch, restored_environ: None) -> Iterator[str]:
    """moto over HTTP in a process of its own (so it holds only this test's models), as the local stack runs
    it; the CLI's AWS_ENDPOINT_URL points at it."""
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not answers(url):
            assert server.poll() is None, "moto server exited"
            assert time.monotonic() < deadline, "moto server did not answer within 30 s"
            time.sleep(0.1)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/moto-api/data.json", timeout=1).ok
    except requests.RequestException:
        return False


def send_mail(endpoint: str, to: str, *, subject: str, html: str) -> None:
    """A mail through the broker's SES mailer, from the default (verified) no-reply address."""
    settings = load_settings({"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "eu-west-1"})
    boto3.client("ses", endpoint_url=endpoint, region_name="eu-west-1").verify_email_identity(
        EmailAddress="no-reply@vre.example.org"
    )
    SesMailer(settings).send(OutgoingMail(to, subject, "text", html, reply_to="ada@uni.example"))


def test_mail_lists_what_ses_accepted_with_its_links(moto_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN two mails SES (moto, over HTTP) accepted for one address, and one for another
    to = f"grace.{uuid.uuid4().hex[:8]}@example.org"
    link = "http://127.0.0.1:3000/invitations/accept?token=abc-DEF_123"
    send_mail(moto_server, to, subject="First", html=f'<a href="{link}">Accept</a><small>{link}</small>')
    send_mail(moto_server, f"other.{uuid.uuid4().hex[:8]}@example.org", subject="Not yours", html="<p>x</p>")
    send_mail(moto_server, to, subject="Second", html='<a href="https://x.example/?a=1&amp;b=2">x</a>')

    # WHEN the CLI lists the mail to that address, as JSON
    assert main(["mail", "--to", to.upper(), "--json"]) == 0

    # THEN both are there, oldest first, with their links (each once, entities undone)
    mails = json.loads(capsys.readouterr().out)
    assert [mail["subject"] for mail in mails] == ["First", "Second"]
    assert mails[0]["to"] == [to]
    assert mails[0]["sender"] == "VRE Broker <no-reply@vre.example.org>"
    assert mails[0]["links"] == [link]
    assert mails[1]["links"] == ["https://x.example/?a=1&b=2"]

    # AND the plain listing shows the same for people
    assert main(["mail", "--to", to]) == 0
    out = capsys.readouterr().out
    assert "newest last" in out
    assert f"1. To:      {to}" in out
    assert "Subject: First" in out
    assert f"Link:    {link}" in out
    assert "Not yours" not in out


def test_mail_without_a_running_stack_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restored_environ: None
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")

    assert main(["mail"]) == 1

    assert "make run" in capsys.readouterr().err


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_mail_is_refused_outside_the_local_stage(
    stage: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restored_environ: None
) -> None:
    monkeypatch.setenv("STAGE", stage)

    assert main(["mail"]) == 2

    assert "refused" in capsys.readouterr().err


def test_the_queue_urls_and_the_bucket_come_from_the_template_outputs() -> None:
    mail = "https://sqs.eu-west-1.amazonaws.com/123456789012/vre-local-mail"
    provisioning = "https://sqs.eu-west-1.amazonaws.com/123456789012/vre-local-provisioning"
    bucket = "vre-local-uploads-123456789012-eu-west-1"
    outputs = {
        "MailQueueUrl": mail,
        "ProvisioningQueueUrl": provisioning,
        "UploadBucketName": bucket,
        "TablePrefix": "vre-local-",
    }

    assert infrastructure_environment(outputs) == {
        "MAIL_QUEUE_URL": mail,
        "PROVISIONING_QUEUE_URL": provisioning,
        "UPLOAD_BUCKET": bucket,
    }
    with pytest.raises(LocalEnvironmentError, match="MailQueueUrl"):
        infrastructure_environment({"ProvisioningQueueUrl": provisioning, "UploadBucketName": bucket})
    with pytest.raises(LocalEnvironmentError, match="ProvisioningQueueUrl"):
        infrastructure_environment({"MailQueueUrl": mail, "UploadBucketName": bucket})
    with pytest.raises(LocalEnvironmentError, match="UploadBucketName"):
        infrastructure_environment({"MailQueueUrl": mail, "ProvisioningQueueUrl": provisioning})
