"""Research IT's pages in a browser against the local stack: a platform admin edits a catalog entry in the console
and the change is what `GET /catalog` then says."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.local_stack import logged_in, running_stack
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("admin-stack")) as running:
        yield running


@pytest.fixture
def admin_token(stack: RunningStack) -> str:
    """A researcher made platform admin with the ops CLI, as docs/operations.md tells research IT."""
    token = stack.token(f"it.{uuid.uuid4().hex[:8]}@example.org", "Research IT")
    researcher_id = stack.call("GET", "/me", token).json()["id"]
    stack.cli("grant-admin", "--researcher-id", researcher_id)
    assert stack.call("GET", "/me", token).json()["is_admin"] is True
    return token


def test_a_platform_admin_edits_a_catalog_entry(
    stack: RunningStack, admin_token: str, context: BrowserContext, page: Page, shot: Callable[[Page, str], Path]
) -> None:
    before = stack.call("GET", "/catalog", admin_token).json()
    profile = before["profiles"][0]
    logged_in(context, stack, admin_token)

    page.goto(f"{stack.frontend}/admin")
    page.get_by_role("link", name="Research IT").first.wait_for()
    expect(page.get_by_role("heading", name="Researchers")).to_be_visible()
    expect(page.get_by_role("cell", name="Research IT").first).to_be_visible()
    shot(page, "researchers")

    page.get_by_role("navigation", name="Research IT sections").get_by_role("link", name="Catalog").click()
    page.get_by_role("button", name=f"Edit {profile['name']}").click()
    form = page.locator("form.card")
    # A mistake is named beside its field, and nothing is sent.
    form.get_by_label("vCPUs").fill("lots")
    form.get_by_role("button", name="Save entry").click()
    expect(form.get_by_role("alert")).to_contain_text("mistakes")
    expect(form.get_by_label("vCPUs")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#catalog-vcpus-error")).to_have_text("A whole number.")
    shot(page, "catalog-field-error")

    # One only the API knows (a name over 200 characters): its problem document's field error, beside the field.
    form.get_by_label("vCPUs").fill(str(int(profile["attributes"]["vcpus"]) + 1))
    form.get_by_label("Name").fill("x" * 201)
    form.get_by_role("button", name="Save entry").click()
    expect(page.locator("#catalog-name-error")).to_be_visible()
    expect(form.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("vCPUs")).not_to_have_attribute("aria-invalid", "true")
    shot(page, "catalog-server-field-error")

    form.get_by_label("Name").fill(f"{profile['name']} (edited)")
    form.get_by_label("Price per day").fill("9.75")
    form.get_by_role("button", name="Save entry").click()
    expect(page.get_by_role("cell", name=f"{profile['name']} (edited)", exact=True)).to_be_visible()
    shot(page, "catalog-saved")

    after = {item["id"]: item for item in stack.call("GET", "/catalog", admin_token).json()["profiles"]}
    edited = after[profile["id"]]
    assert edited["name"] == f"{profile['name']} (edited)"
    assert edited["price_per_day"] == 9.75
    assert edited["attributes"]["vcpus"] == str(int(profile["attributes"]["vcpus"]) + 1)


def test_the_other_sections_render_and_a_stranger_is_turned_away(
    stack: RunningStack,
    admin_token: str,
    browser: Browser,
    page: Page,
    context: BrowserContext,
    shot: Callable[[Page, str], Path],
) -> None:
    logged_in(context, stack, admin_token)
    for section, heading in (("studies", "Studies"), ("workspaces", "Workspaces"), ("audit", "Audit log")):
        page.goto(f"{stack.frontend}/admin/{section}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        shot(page, section)
    # The grant-admin above is on the platform's audit log.
    expect(page.locator("tbody tr").first).to_be_visible()

    stranger = browser.new_context(locale="en-GB")
    logged_in(stranger, stack, stack.token(f"s.{uuid.uuid4().hex[:8]}@example.org", "Stranger"))
    other = stranger.new_page()
    other.goto(f"{stack.frontend}/admin/catalog")
    expect(other.get_by_role("alert")).to_have_text("These pages are for platform admins.")
    expect(other.get_by_role("navigation", name="Main").get_by_role("link", name="Research IT")).to_have_count(0)
    stranger.close()
