"""`make run` pointed at another identity provider by the caller's settings, as README shows for SurfConext.

The caller's OIDC_ISSUER, client and FRONTEND_URL win over the local stage's: the stack starts no
provider of its own, its banner names the caller's, and a login goes through the caller's provider (a
second instance of the local one, on its own port, with a client of its own) and lands on the
caller's frontend.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.e2e.test_local_stack import follow_provider
from tests.support.stack import REQUEST_TIMEOUT_SECONDS, RunningStack, free_ports, local_stack, port_is_free
from vre_app.local.identity_provider import LocalClient, LocalIdentityProvider

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def caller_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, LocalIdentityProvider]]:
    api_port, moto_port, oidc_port, openstack_port, other_port, frontend_port = free_ports(6)
    client = LocalClient(
        "entity-id.example.org", "caller-secret-" + uuid.uuid4().hex, f"http://127.0.0.1:{api_port}/auth/callback"
    )
    provider = LocalIdentityProvider("127.0.0.1", other_port, client=client)
    provider.start()
    settings = {
        "VRE_API_PORT": str(api_port),
        "VRE_MOTO_PORT": str(moto_port),
        "VRE_OIDC_PORT": str(oidc_port),
        "VRE_OPENSTACK_PORT": str(openstack_port),
        "OIDC_ISSUER": provider.url,
        "OIDC_CLIENT_ID": client.client_id,
        "OIDC_CLIENT_SECRET": client.client_secret,
        "OIDC_REDIRECT_URI": client.redirect_uri,
        "FRONTEND_URL": f"http://127.0.0.1:{frontend_port}",
    }
    try:
        with local_stack(tmp_path_factory.mktemp("caller-stack") / "stack.log", **settings) as running:
            yield running, provider
    finally:
        provider.stop()


def test_the_callers_provider_is_used_and_named(caller_stack: tuple[RunningStack, LocalIdentityProvider]) -> None:
    stack, provider = caller_stack

    # THEN the banner names the caller's provider and the stack's own port stays unused
    assert f"OIDC      {provider.url}" in stack.output()
    assert "your OIDC_ISSUER" in stack.output()
    assert port_is_free(stack.oidc_port)

    # AND a login goes through the caller's provider and lands on the caller's frontend
    subject = f"urn:collab:person:surf.nl:{uuid.uuid4().hex[:8]}"
    email = f"caller.{uuid.uuid4().hex[:8]}@surf.nl"
    provider.add_user(subject, {"email": email, "email_verified": True, "name": "Via Caller"})
    with requests.Session() as browser:
        start = browser.get(
            f"{stack.api}/auth/login",
            params={"next": "/studies"},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        assert start.status_code == 302, start.text
        authorize = start.headers["Location"]
        assert authorize.startswith(f"{provider.url}/auth?")
        assert parse_qs(urlsplit(authorize).query)["client_id"] == ["entity-id.example.org"]
        form = browser.get(authorize, timeout=REQUEST_TIMEOUT_SECONDS)
        signed_in = browser.post(
            form.url, data={"sub": subject}, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS
        )
        callback = follow_provider(browser, signed_in, f"{stack.api}/auth/callback?")
        back = browser.get(callback, allow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS)
    assert back.status_code == 302, back.text
    landing = urlsplit(back.headers["Location"])
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == f"{stack.frontend}/studies"
    (login_code,) = parse_qs(landing.query)["login_code"]
    issued = stack.call("POST", "/auth/token", json={"login_code": login_code})
    assert issued.status_code == 200, issued.text
    me = stack.call("GET", "/me", issued.json()["access_token"])
    assert me.json()["email"] == email
