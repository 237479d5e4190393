"""The local stack, started the way `make run` starts it, driven over HTTP the way the frontend drives it.

One stack per module, on free ports. The last test stops it with SIGINT and checks that nothing
it started is left running and that its ports are free again.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests

from chalicelib.auth.webhooks import parse_secrets, sign
from chalicelib.providers.openstack import OpenStackCloud, OpenStackConfig
from chalicelib.services.workspaces.cloud import ServerSpec
from tests.support import tusd
from tests.support.stack import (
    REQUEST_TIMEOUT_SECONDS,
    ROOT,
    STOP_TIMEOUT_SECONDS,
    RunningStack,
    free_ports,
    local_stack,
    port_is_free,
)
from vre_app.local.environment import stage_variables

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

WORKSPACE_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Researcher:
    email: str
    token: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # Stays out: the stack uses its own OpenStack unless VRE_OPENSTACK_CLOUDS_YAML says otherwise.
    with local_stack(tmp_path_factory.mktemp("local-stack") / "stack.log", OS_CLOUD="a-real-cloud") as running:
        yield running


@pytest.fixture(scope="module")
def owner(stack: RunningStack) -> Researcher:
    email = f"owner.{uuid.uuid4().hex[:8]}@example.org"
    return Researcher(email, stack.token(email, "Study Owner"))


@pytest.fixture(scope="module")
def stranger(stack: RunningStack) -> Researcher:
    email = f"stranger.{uuid.uuid4().hex[:8]}@example.org"
    return Researcher(email, stack.token(email, "A Stranger"))


@pytest.fixture(scope="module")
def study(stack: RunningStack, owner: Researcher) -> dict[str, Any]:
    created = stack.call(
        "POST",
        "/studies",
        owner.token,
        json={"name": "Cohort study", "description": "First", "research_field": "biology"},
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    assert created.headers["Location"] == f"/studies/{body['id']}"
    return body


def test_the_stack_prints_where_everything_is(stack: RunningStack) -> None:
    output = stack.output()

    assert f"API       {stack.api}" in output
    assert f"console   {stack.frontend}  (web/dist" in output
    assert f"log in    {stack.frontend}/login" in output
    assert f"{stack.api}/docs" in output
    assert f"http://127.0.0.1:{stack.moto_port}" in output
    assert f"OIDC      {stack.oidc}" in output
    assert f"OpenStack http://127.0.0.1:{stack.openstack_port}" in output
    assert f"clouds.yaml .local-stack/clouds-{stack.openstack_port}.yaml" in output
    assert f"VRW       local stand-in posting signed events to {stack.api}/hooks/vrw" in output
    assert (
        f'curl -H "Authorization: Bearer $(VRE_MOTO_PORT={stack.moto_port} .venv/bin/python -m vre_app token' in output
    )


def test_health_and_docs_answer_without_a_token(stack: RunningStack) -> None:
    assert stack.call("GET", "/health").json()["status"] == "ok"
    assert stack.call("GET", "/openapi.json").json()["openapi"].startswith("3.")
    assert stack.call("GET", "/docs").status_code == 200


def test_the_console_is_served_at_frontend_url_with_the_stacks_config(stack: RunningStack) -> None:
    # A route of the console, the upload page, and where the one build finds this stack's API
    page = requests.get(f"{stack.frontend}/studies/any", timeout=REQUEST_TIMEOUT_SECONDS)
    upload = requests.get(f"{stack.frontend}/upload/SOMECODE", timeout=REQUEST_TIMEOUT_SECONDS)
    config = requests.get(f"{stack.frontend}/config.json", timeout=REQUEST_TIMEOUT_SECONDS)

    assert page.status_code == 200, page.text
    assert '<div id="app">' in page.text
    assert upload.status_code == 200, upload.text
    assert '<div id="upload">' in upload.text
    assert config.json() == {"api_base_url": stack.api, "upload_base_url": f"{stack.frontend}/upload/"}


def test_me_is_the_researcher_the_cli_made(stack: RunningStack, owner: Researcher) -> None:
    me = stack.call("GET", "/me", owner.token)

    assert me.status_code == 200, me.text
    assert me.json()["email"] == owner.email
    assert me.json()["name"] == "Study Owner"


def test_the_cli_reuses_the_researcher_for_the_same_email(stack: RunningStack, owner: Researcher) -> None:
    again = stack.token(owner.email, "Study Owner")

    assert stack.call("GET", "/me", again).json()["id"] == stack.call("GET", "/me", owner.token).json()["id"]


def test_universities_are_seeded(stack: RunningStack, owner: Researcher) -> None:
    listed = stack.call("GET", "/universities", owner.token, params={"limit": 100})

    assert listed.status_code == 200, listed.text
    ids = {item["id"] for item in listed.json()["items"]}
    assert {"leiden", "eur"} <= ids


def test_a_study_is_created_listed_read_edited_and_audited(
    stack: RunningStack, owner: Researcher, study: dict[str, Any]
) -> None:
    study_id = study["id"]
    assert study["role"] == "owner"

    listed = stack.call("GET", "/studies", owner.token)
    assert listed.status_code == 200, listed.text
    assert study_id in {item["id"] for item in listed.json()["items"]}

    read = stack.call("GET", f"/studies/{study_id}", owner.token)
    assert read.status_code == 200, read.text
    assert read.json()["member_count"] == 1
    # The upload page is the console build's, served by the stack beside the console.
    assert read.json()["upload_url"].startswith(f"{stack.frontend}/upload/")

    edited = stack.call(
        "PATCH",
        f"/studies/{study_id}",
        owner.token,
        json={"name": "Cohort study II", "version": read.json()["version"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "Cohort study II"

    audit = stack.call("GET", f"/studies/{study_id}/audit", owner.token)
    assert audit.status_code == 200, audit.text
    actions = [entry["action"] for entry in audit.json()["items"]]
    assert {"study.created", "study.updated"} <= set(actions)


def test_a_stranger_cannot_tell_the_study_exists(
    stack: RunningStack, stranger: Researcher, study: dict[str, Any]
) -> None:
    answer = stack.call("GET", f"/studies/{study['id']}", stranger.token)

    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_the_frontend_may_call_from_its_own_origin(stack: RunningStack, study: dict[str, Any]) -> None:
    origin = {"Origin": "http://127.0.0.1:3000"}
    preflight = stack.call(
        "OPTIONS",
        f"/studies/{study['id']}",
        headers={**origin, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization"},
    )

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    refused = stack.call("GET", f"/studies/{study['id']}", headers=origin)
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


def test_no_token_is_a_401_problem(stack: RunningStack, study: dict[str, Any]) -> None:
    answer = stack.call("GET", f"/studies/{study['id']}")

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["status"] == 401


def test_the_vrw_hook_takes_only_events_signed_with_the_stages_secret(stack: RunningStack) -> None:
    body = json.dumps(
        {"type": "workspace.configuring", "timestamp": "2025-03-01T09:30:00+00:00", "data": {"workspace_id": "0" * 32}}
    ).encode()
    keys = parse_secrets(stage_variables("local")["VRW_WEBHOOK_SECRET"])
    signed = {**sign(keys, f"msg_{uuid.uuid4().hex}", int(time.time()), body), "Content-Type": "application/json"}

    unsigned = stack.call("POST", "/hooks/vrw", headers={"Content-Type": "application/json"}, data=body)
    tampered = stack.call("POST", "/hooks/vrw", headers=signed, data=body.replace(b"09:30", b"09:31"))
    genuine = stack.call("POST", "/hooks/vrw", headers=signed, data=body)

    assert (unsigned.status_code, tampered.status_code) == (401, 401)
    assert genuine.status_code == 404, genuine.text  # through the signature check, to a workspace that is not there


def log_in(stack: RunningStack, subject: str, claims: dict[str, Any], browser: requests.Session) -> str:
    """The whole login as the browser and the frontend drive it; returns the login code."""
    # The provider's form asks for a subject only; the user and its claims are added at its admin route first.
    claimed = browser.put(
        f"{stack.oidc}/_admin/users/{quote(subject, safe='')}", json={"claims": claims}, timeout=REQUEST_TIMEOUT_SECONDS
    )
    assert claimed.status_code == 204, claimed.text

    start = browser.get(
        f"{stack.api}/auth/login", params={"next": "/studies"}, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS
    )
    assert start.status_code == 302, start.text
    authorize = start.headers["Location"]
    assert authorize.startswith(f"{stack.oidc}/auth?")
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["response_type"] == ["code"]
    assert asked["code_challenge_method"] == ["S256"]
    assert {"state", "nonce", "code_challenge"} <= asked.keys()

    form = browser.get(authorize, timeout=REQUEST_TIMEOUT_SECONDS)
    assert form.status_code == 200, form.text
    assert 'name="sub"' in form.text
    signed_in = browser.post(form.url, data={"sub": subject}, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS)
    callback = follow_provider(browser, signed_in, f"{stack.api}/auth/callback?")
    assert callback.startswith(f"{stack.api}/auth/callback?")
    assert parse_qs(urlsplit(callback).query)["state"] == asked["state"]

    back = browser.get(callback, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS)
    assert back.status_code == 302, back.text
    landing = urlsplit(back.headers["Location"])
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == f"{stack.frontend}/studies"
    (login_code,) = parse_qs(landing.query)["login_code"]
    return login_code


def follow_provider(browser: requests.Session, answer: requests.Response, until: str) -> str:
    """Follow the provider's own redirects (login, consent, resume) until one leaves for `until`."""
    for _ in range(6):
        assert answer.status_code in (302, 303), answer.text
        location = urljoin(answer.url, answer.headers["Location"])
        if location.startswith(until):
            return location
        answer = browser.get(location, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS)
    pytest.fail(f"the provider never redirected to {until}")


def session_token(stack: RunningStack, login_code: str) -> requests.Response:
    return stack.call("POST", "/auth/token", json={"login_code": login_code})


def test_a_researcher_logs_in_through_the_identity_provider_and_out_again(stack: RunningStack) -> None:
    # GIVEN a researcher known to the identity provider
    subject = f"urn:collab:person:leidenuniv.nl:{uuid.uuid4().hex[:8]}"
    email = f"login.{uuid.uuid4().hex[:8]}@leidenuniv.nl"
    claims = {"email": email, "email_verified": True, "name": "Logged In", "schac_home_organization": "leidenuniv.nl"}

    # WHEN they log in in a browser and the frontend trades the login code for a session token
    with requests.Session() as browser:
        login_code = log_in(stack, subject, claims, browser)
    answer = session_token(stack, login_code)

    # THEN the token is a bearer token for them
    assert answer.status_code == 200, answer.text
    issued = answer.json()
    assert issued["token_type"] == "Bearer"
    assert isinstance(issued["expires_in"], int)
    assert issued["expires_in"] > 0
    me = stack.call("GET", "/me", issued["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    assert me.json()["name"] == "Logged In"

    # AND the login code works once only
    replayed = session_token(stack, login_code)
    assert replayed.status_code == 401, replayed.text

    # AND logging out ends the session at once
    out = stack.call("POST", "/auth/logout", issued["access_token"])
    assert out.status_code == 204, out.text
    assert stack.call("GET", "/me", issued["access_token"]).status_code == 401


def test_a_second_login_refreshes_the_same_researcher(stack: RunningStack) -> None:
    # GIVEN a researcher who logged in once
    subject = f"urn:collab:person:tudelft.nl:{uuid.uuid4().hex[:8]}"
    first_claims = {"email": f"first.{uuid.uuid4().hex[:8]}@tudelft.nl", "name": "First Name"}
    with requests.Session() as browser:
        first = session_token(stack, log_in(stack, subject, first_claims, browser))
    assert first.status_code == 200, first.text

    # WHEN they log in again after their email and name changed at the provider
    second_claims = {"email": f"second.{uuid.uuid4().hex[:8]}@tudelft.nl", "name": "Second Name"}
    with requests.Session() as browser:
        second = session_token(stack, log_in(stack, subject, second_claims, browser))
    assert second.status_code == 200, second.text

    # THEN it is the same researcher (keyed on issuer and subject), with the new email and name
    before = stack.call("GET", "/me", first.json()["access_token"]).json()
    after = stack.call("GET", "/me", second.json()["access_token"]).json()
    assert after["id"] == before["id"]
    assert after["email"] == second_claims["email"]
    assert after["name"] == "Second Name"


def test_an_invitee_accepts_with_the_link_from_the_mail(
    stack: RunningStack, owner: Researcher, study: dict[str, Any]
) -> None:
    # GIVEN the owner invites an email address
    email = f"invitee.{uuid.uuid4().hex[:8]}@example.org"
    invited = stack.call(
        "POST",
        f"/studies/{study['id']}/invitations",
        owner.token,
        json={"email": email, "role": "contributor", "message": "Join us <b>soon</b>!"},
    )
    assert invited.status_code == 201, invited.text

    # WHEN the mail arrives (the API queued it; the pump fed it to the mail worker; SES took it)
    mail = stack.wait_for_mail(email)

    # THEN it is from the no-reply address, escapes the message, and carries the link to the frontend
    assert "no-reply@" in mail["sender"]
    assert "Join us &lt;b&gt;soon&lt;/b&gt;!" in mail["body"]
    (link,) = [link for link in mail["links"] if "/invitations/accept?" in link]
    assert link.startswith(f"{stack.frontend}/invitations/accept?token=")
    (token,) = parse_qs(urlsplit(link).query)["token"]

    # AND the invitee, logged in with that email, accepts with the token from the link
    invitee = stack.token(email, "Invited Researcher")
    accepted = stack.call("POST", "/invitations/accept", invitee, json={"token": token})
    assert accepted.status_code == 200, accepted.text

    # AND now sees the study
    listed = stack.call("GET", "/studies", invitee)
    assert listed.status_code == 200, listed.text
    assert study["id"] in {item["id"] for item in listed.json()["items"]}

    # AND the owner hears that the invitation was accepted
    answer = stack.wait_for_mail(owner.email, subject="accepted")
    assert email in answer["subject"]


def test_tusd_drops_off_a_file_and_the_owner_hears_of_it(
    stack: RunningStack, owner: Researcher, study: dict[str, Any]
) -> None:
    # GIVEN the study's upload link, and tusd configured as README says, with the local stage's secret
    read = stack.call("GET", f"/studies/{study['id']}", owner.token)
    code = read.json()["upload_url"].rsplit("/", 1)[1]
    secret = stage_variables("local")["TUSD_HOOK_SECRET"]
    hook_url = f"/hooks/tusd?secret={secret}"

    # WHEN tusd asks before creating an upload, then reports it finished
    asked = stack.call("POST", hook_url, json=tusd.pre_create(code, "interviews.zip", sender_name="Dr. Lab"))
    assert asked.status_code == 200, asked.text
    assert asked.headers["Content-Type"] == "application/json"
    tusd_id = asked.json()["ChangeFileInfo"]["ID"]
    metadata = asked.json()["ChangeFileInfo"]["MetaData"]
    finished = stack.call("POST", hook_url, json=tusd.hook("post-finish", tusd_id=tusd_id, metadata=metadata))
    assert finished.status_code == 200, finished.text

    # THEN the study lists the upload
    listed = stack.call("GET", f"/studies/{study['id']}/uploads", owner.token)
    assert listed.status_code == 200, listed.text
    (upload,) = listed.json()["items"]
    assert (upload["tusd_id"], upload["file_name"], upload["status"]) == (tusd_id, "interviews.zip", "received")

    # AND the owner gets the notice through the queue, the mail worker and SES
    notice = stack.wait_for_mail(owner.email, subject="New data")
    assert "interviews.zip" in notice["subject"]

    # AND without the secret the hook is closed, and the secret is nowhere in the stack's output
    assert stack.call("POST", "/hooks/tusd", owner.token, json=tusd.pre_create(code)).status_code == 401
    assert secret not in stack.output()
    assert "/hooks/tusd?secret=[Filtered]" in stack.output()


def test_a_lab_drops_a_file_straight_into_the_stacks_bucket_and_a_member_fetches_it(
    stack: RunningStack, owner: Researcher, study: dict[str, Any]
) -> None:
    # GIVEN the study's upload code and a file of two parts (the local stage's parts are S3's 16 MiB default)
    code = stack.call("GET", f"/studies/{study['id']}", owner.token).json()["upload_url"].rsplit("/", 1)[1]
    data = os.urandom(16 * 1024**2) + b"the last part"
    pieces = {1: data[: 16 * 1024**2], 2: data[16 * 1024**2 :]}

    # WHEN the page starts the upload, sends the first part to the presigned URL, and is cut off
    started = stack.call(
        "POST", "/dropoff/uploads", json={"upload_code": code, "filename": "t1.nii", "size": len(data)}
    )
    assert started.status_code == 201, started.text
    upload_id, secret = started.json()["upload_id"], started.json()["upload_secret"]
    headers = {"Upload-Secret": secret}
    checksums = [{"number": n, "checksum_sha256": hashlib.sha256(d).hexdigest()} for n, d in pieces.items()]
    signed = stack.call("POST", f"/dropoff/uploads/{upload_id}/parts", headers=headers, json={"parts": checksums})
    assert signed.status_code == 200, signed.text
    first = signed.json()["parts"][0]
    assert requests.put(first["url"], data=pieces[1], headers=first["headers"], timeout=60).status_code == 200

    # AND resumes: asks what the bucket holds, sends the rest, completes
    held = stack.call("GET", f"/dropoff/uploads/{upload_id}", headers=headers).json()["parts"]
    assert [p["number"] for p in held] == [1]
    rest = signed.json()["parts"][1]
    assert requests.put(rest["url"], data=pieces[2], headers=rest["headers"], timeout=60).status_code == 200
    whole = hashlib.sha256(data).hexdigest()
    done = stack.call(
        "POST", f"/dropoff/uploads/{upload_id}/complete", headers=headers, json={"checksum_sha256": whole}
    )
    assert done.status_code == 200, done.text

    # THEN the owner downloads it byte for byte from the stack's moto S3
    link = stack.call("GET", f"/studies/{study['id']}/uploads/{upload_id}/download", owner.token)
    assert link.status_code == 200, link.text
    fetched = requests.get(link.json()["url"], timeout=60)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == whole
    assert done.json()["checksum_sha256"] == whole

    # AND the owner hears of it (moto's state dump, which the mail reader uses, copes with the parts it kept)
    assert "t1.nii" in stack.wait_for_mail(owner.email, subject="t1.nii")["subject"]

    # AND the owner deletes it: the link fetches nothing any more
    deleted = stack.call("DELETE", f"/studies/{study['id']}/uploads/{upload_id}", owner.token)
    assert deleted.status_code == 204, deleted.text
    assert requests.get(link.json()["url"], timeout=60).status_code in (403, 404)


def test_a_busy_port_is_a_clear_failure(stack: RunningStack) -> None:
    # GIVEN something already listening where a second stack's API would go
    (moto_port,) = free_ports(1)
    environ = stack.environ | {"VRE_API_PORT": str(stack.api_port), "VRE_MOTO_PORT": str(moto_port)}

    # WHEN a second stack starts
    done = subprocess.run(
        [sys.executable, "-m", "vre_app", "local"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )

    # THEN it says which port and how to choose another, and leaves nothing behind
    assert done.returncode == 1
    assert f"port {stack.api_port}" in done.stderr
    assert "VRE_API_PORT" in done.stderr
    assert port_is_free(moto_port)


def test_a_busy_identity_provider_port_is_a_clear_failure(stack: RunningStack) -> None:
    # GIVEN something already listening where a second stack's identity provider would go
    api_port, moto_port = free_ports(2)
    environ = stack.environ | {"VRE_API_PORT": str(api_port), "VRE_MOTO_PORT": str(moto_port)}

    # WHEN a second stack starts
    done = subprocess.run(
        [sys.executable, "-m", "vre_app", "local"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )

    # THEN it names the port and the variable, and leaves nothing behind
    assert done.returncode == 1
    assert f"port {stack.oidc_port}" in done.stderr
    assert "VRE_OIDC_PORT" in done.stderr
    assert port_is_free(api_port)
    assert port_is_free(moto_port)


def test_the_broker_reaches_the_stacks_openstack_through_the_clouds_yaml_it_wrote(
    stack: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the clouds.yaml the stack gave its processes
    clouds_yaml = ROOT / ".local-stack" / f"clouds-{stack.openstack_port}.yaml"
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_yaml))
    cloud = OpenStackCloud(OpenStackConfig(cloud="hpc", timeout_seconds=REQUEST_TIMEOUT_SECONDS))
    workspace_id = uuid.uuid4().hex

    # WHEN the provisioning family's cloud boots a workspace's server from the catalog's names
    created = cloud.create_server(
        ServerSpec(
            workspace_id=workspace_id,
            study_id="e2e",
            name=f"vre-{workspace_id}",
            image="Ubuntu 24.04",
            flavor="vre.small",
            network="vre-research",
            volume_gb=20,
        )
    )

    # THEN the stack's OpenStack has it, tagged for the workspace, and lets it go again
    found = cloud.find_server(workspace_id)
    assert found is not None
    assert found.id == created.id
    cloud.delete_server(created.id)
    assert cloud.get_server(created.id) is None
    cloud.close()


def test_a_requested_workspace_runs_on_the_stacks_openstack_and_is_deleted(
    stack: RunningStack, owner: Researcher, study: dict[str, Any]
) -> None:
    openstack = f"http://127.0.0.1:{stack.openstack_port}"

    def ask(name: str) -> dict[str, Any]:
        asked = stack.call(
            "POST",
            f"/studies/{study['id']}/workspaces",
            owner.token,
            headers={"Idempotency-Key": uuid.uuid4().hex},
            json={"name": name, "profile": "small", "operating_system": "ubuntu-2404"},
        )
        assert asked.status_code == 202, asked.text
        body: dict[str, Any] = asked.json()
        return body

    # GIVEN a provisioning worker warmed by a first workspace (its Keystone login, discovery, name lookups)
    first = ask("Warm-up box")
    wait_for_status(stack, owner, first["id"], "RUNNING")
    requests.post(f"{openstack}/_control/reset?only=calls", timeout=REQUEST_TIMEOUT_SECONDS).raise_for_status()

    # WHEN the researcher asks for another one, and the pump feeds the provisioning family
    workspace = ask("E2E box")
    assert workspace["cost_estimate"]["per_day"] == 1.3
    running = wait_for_status(stack, owner, workspace["id"], "RUNNING")

    # THEN the stack's VRW configured it: it has VRW's access details and its history says so,
    # and it cost OpenStack at most four calls and no login
    ip = running["access"]["ip"]
    assert ip
    assert running["access"] == {"ip": ip, "url": f"https://{ip}.vrw.local/", "username": "ubuntu"}
    events = stack.call("GET", f"/workspaces/{workspace['id']}/events", owner.token).json()["items"]
    assert [e["status"] for e in events] == ["REQUESTED", "PROVISIONING", "CONFIGURING", "RUNNING"]
    assert events[-1]["actor_id"] == "vrw"
    calls = requests.get(f"{openstack}/_control/calls", timeout=REQUEST_TIMEOUT_SECONDS).json()
    assert calls["total"] <= 4, calls
    assert calls["auths"] == 0, calls
    mail = stack.wait_for_mail(owner.email, subject="E2E box")
    assert ip in mail["body"]
    assert running["access"]["url"] in mail["body"]

    # AND deleting them removes their servers and frees the study's quota
    for made in (first, workspace):
        deleted = stack.call("DELETE", f"/workspaces/{made['id']}", owner.token)
        assert deleted.status_code == 202, deleted.text
        wait_for_status(stack, owner, made["id"], "DELETED")
    usage = stack.call("GET", f"/studies/{study['id']}/usage", owner.token).json()
    assert usage["workspaces"] == 0


def wait_for_status(stack: RunningStack, who: Researcher, workspace_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WORKSPACE_TIMEOUT_SECONDS
    while True:
        found: dict[str, Any] = stack.call("GET", f"/workspaces/{workspace_id}", who.token).json()
        if found["status"] == status:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"workspace still {found['status']} ({found['status_reason']}):\n{stack.output()[-5000:]}")
        time.sleep(0.5)


def test_a_busy_openstack_port_is_a_clear_failure(stack: RunningStack) -> None:
    # GIVEN something already listening where a second stack's OpenStack would go
    api_port, moto_port, oidc_port = free_ports(3)
    environ = stack.environ | {
        "VRE_API_PORT": str(api_port),
        "VRE_MOTO_PORT": str(moto_port),
        "VRE_OIDC_PORT": str(oidc_port),
    }

    # WHEN a second stack starts
    done = subprocess.run(
        [sys.executable, "-m", "vre_app", "local"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )

    # THEN it names the port and the variable, and leaves nothing behind
    assert done.returncode == 1
    assert f"port {stack.openstack_port}" in done.stderr
    assert "VRE_OPENSTACK_PORT" in done.stderr
    assert port_is_free(api_port)
    assert port_is_free(moto_port)


def test_sigint_stops_everything_and_frees_the_ports(stack: RunningStack) -> None:
    # GIVEN the stack and what it started
    started = descendants(stack.process.pid)
    assert started, "the stack runs `chalice local` as a child process"

    # WHEN it gets Ctrl-C
    stack.process.send_signal(signal.SIGINT)

    # THEN it and its children exit, in time, cleanly, and the ports are free again
    assert stack.process.wait(STOP_TIMEOUT_SECONDS) == 0, stack.output()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.1)
    assert not [pid for pid in started if alive(pid)], "orphaned processes"
    assert port_is_free(stack.api_port)
    assert port_is_free(stack.moto_port)
    assert port_is_free(stack.oidc_port)
    assert port_is_free(stack.openstack_port)
    assert port_is_free(urlsplit(stack.frontend).port or 80)
    assert not (ROOT / ".local-stack" / f"clouds-{stack.openstack_port}.yaml").exists()
    assert "Local stack stopped." in stack.output()


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (`ps` works alike on Linux and macOS)."""
    table = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in table.splitlines():
        child, parent = (int(value) for value in line.split())
        children.setdefault(parent, []).append(child)
    found, pending = [], list(children.get(pid, []))
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
