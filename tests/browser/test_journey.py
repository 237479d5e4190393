"""The researcher's journey through the console in headless Chromium, against the stack `make run` starts:
log in at the identity provider, create a study, invite a colleague, who opens the mailed link and accepts,
request a workspace, watch it reach RUNNING, stop it. A screenshot of each page is kept (`shot`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.local_stack import running_stack
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

OWNER = "Lotte de Vries"  # seeded in vre_app/local/oidc/users.json
COLLEAGUE_EMAIL = "d.jansen@tudelft.nl"
COLLEAGUE = "Daan Jansen"
RUNNING_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """`python -m vre_app local` on free ports, the console at a FRONTEND_URL of its own."""
    with running_stack(tmp_path_factory.mktemp("journey-stack")) as running:
        yield running


def log_in_as(page: Page, stack: RunningStack, who: str, path: str = "/") -> None:
    """From the console's login page through the local identity provider's form, back to the console."""
    page.goto(stack.frontend + path)
    page.get_by_role("link", name="Log in").click()
    page.get_by_role("button", name=who).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_researcher_runs_a_study_and_a_colleague_joins(
    stack: RunningStack, browser: Browser, page: Page, shot: Callable[[Page, str], Path]
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    # GIVEN the console's login page
    page.goto(stack.frontend + "/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shot(page, "01-login")

    # WHEN the owner logs in through the identity provider
    log_in_as(page, stack, OWNER)
    expect(page.get_by_role("heading", name="Studies")).to_be_visible()
    shot(page, "02-studies")

    # AND creates a study (the form submits with Enter)
    page.get_by_role("link", name="New study").click()
    page.get_by_label("Name").fill("Journey cohort")
    page.get_by_label("Description").fill("Made in the browser")
    shot(page, "03-new-study")
    page.get_by_label("Name").press("Enter")
    expect(page.get_by_role("heading", name="Journey cohort")).to_be_visible()
    shot(page, "04-study")

    # AND invites a colleague
    page.get_by_label("Email address").fill(COLLEAGUE_EMAIL)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status").filter(has_text=f"Invitation sent to {COLLEAGUE_EMAIL}")).to_be_visible()
    shot(page, "05-invited")

    # THEN the colleague opens the mailed link in a browser of their own, logs in, and accepts
    mail = stack.wait_for_mail(COLLEAGUE_EMAIL)
    (link,) = [link for link in mail["links"] if "/invitations/accept?" in link]
    assert link.startswith(f"{stack.frontend}/invitations/accept?token=")
    colleague_context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    try:
        colleague = colleague_context.new_page()
        colleague.goto(link)
        expect(colleague.get_by_role("heading", name="Log in")).to_be_visible()
        colleague.get_by_role("link", name="Log in").click()
        colleague.get_by_role("button", name=COLLEAGUE).click()
        expect(colleague.get_by_role("heading", name="Invitation")).to_be_visible()
        shot(colleague, "06-invitation")
        colleague.get_by_role("button", name="Accept").click()
        expect(colleague.get_by_role("heading", name="Journey cohort")).to_be_visible()
        shot(colleague, "07-colleague-in-study")
    finally:
        colleague_context.close()

    # AND the owner sees them among the members
    page.reload()
    expect(page.get_by_role("cell", name=COLLEAGUE)).to_be_visible()

    # WHEN the owner requests a workspace, with its cost estimate and the study's quota on the form
    page.get_by_role("link", name="Request a workspace").click()
    page.get_by_label("Name").fill("analysis-1")
    expect(page.locator("#estimate")).to_contain_text("per day")
    shot(page, "08-request-workspace")
    page.get_by_role("button", name="Request", exact=True).click()

    # THEN its page follows it to RUNNING by itself
    expect(page.get_by_role("heading", name="analysis-1")).to_be_visible()
    expect(page.locator(".status")).to_have_text("running", timeout=RUNNING_TIMEOUT_MS)
    shot(page, "09-workspace-running")

    # AND stopping it takes it to STOPPED
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".status")).to_have_text("stopped", timeout=RUNNING_TIMEOUT_MS)
    shot(page, "10-workspace-stopped")

    # (Research IT editing a catalog entry as a platform admin is the admin pages' part of this journey.)


def test_a_failed_login_says_why_and_offers_to_try_again(
    stack: RunningStack, page: Page, shot: Callable[[Page, str], Path]
) -> None:
    page.goto(stack.frontend + "/login?error=access_denied")

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("declined to share your details")
    expect(page.get_by_role("link", name="Try again")).to_have_attribute("href", f"{stack.api}/auth/login?next=%2F")
    shot(page, "login-failed")
