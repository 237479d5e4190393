"""Lists longer than a page in headless Chromium against the local stack: the console shows the first page
(web/src/components/pager.ts's PAGE_SIZE, 25), the researcher presses "Show more" with the keyboard, the rest
appear and the focus lands on the first new row, so Tab goes on from there."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.local_stack import logged_in, running_stack
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PAGE_SIZE = 25  # what the console asks for (web/src/components/pager.ts)
MORE_THAN_A_PAGE = PAGE_SIZE + 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("paging-stack")) as running:
        yield running


@pytest.fixture
def token(stack: RunningStack) -> str:
    return stack.token(f"pager.{uuid.uuid4().hex[:8]}@example.org", "Paging Researcher")


def every(stack: RunningStack, path: str, token: str) -> list[dict[str, Any]]:
    """All items of an API list, page after page (what the console must end up showing)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        answer = stack.call("GET", path, token, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if not (cursor := answer.json()["next_cursor"]):
            return items


def press_show_more(page: Page, section: Any) -> None:
    """Tab to "Show more" (no mouse), press Enter."""
    button = section.get_by_role("button", name="Show more", exact=True)
    expect(button).to_be_visible()
    section.get_by_role("row").last.get_by_role("button").last.focus()
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")


def test_api_tokens_beyond_the_first_page_show_after_show_more(
    stack: RunningStack, token: str, context: BrowserContext, page: Page, shot: Callable[[Page, str], Path]
) -> None:
    # GIVEN a researcher with more API tokens than a page
    for number in range(1, MORE_THAN_A_PAGE + 1):
        made = stack.call("POST", "/me/tokens", token, json={"name": f"Script {number:02d}", "expires_at": None})
        assert made.status_code == 201, made.text
    names = {item["name"] for item in every(stack, "/me/tokens", token)}
    assert len(names) >= MORE_THAN_A_PAGE
    logged_in(context, stack, token)

    # WHEN they open their profile
    page.goto(f"{stack.frontend}/profile")
    tokens = page.get_by_role("region", name="API tokens")
    body_rows = tokens.locator("tbody tr")
    # THEN they see the first page, and a way to the rest
    expect(body_rows).to_have_count(PAGE_SIZE)
    shot(page, "first-page")

    # WHEN they press "Show more" with the keyboard
    press_show_more(page, tokens)

    # THEN every token is listed, the button is gone, and the focus is on the first new row
    expect(body_rows).to_have_count(len(names))
    expect(tokens.get_by_role("button", name="Show more")).to_have_count(0)
    assert set(body_rows.locator("td:first-child").all_inner_texts()) == names
    expect(body_rows.nth(PAGE_SIZE)).to_be_focused()
    page.keyboard.press("Tab")
    expect(body_rows.nth(PAGE_SIZE).get_by_role("button", name="Revoke")).to_be_focused()
    shot(page, "all-tokens")

    # AND revoking one keeps the rest listed (the list is fetched again, as many rows as were shown)
    page.on("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Enter")
    expect(body_rows).to_have_count(len(names) - 1)


def test_studies_beyond_the_first_page_on_the_studies_and_uploads_pages(
    stack: RunningStack, token: str, context: BrowserContext, page: Page, shot: Callable[[Page, str], Path]
) -> None:
    # GIVEN a researcher in more studies than a page
    for number in range(1, MORE_THAN_A_PAGE + 1):
        made = stack.call(
            "POST", "/studies", token, json={"name": f"Cohort {number:02d}", "description": "", "research_field": None}
        )
        assert made.status_code == 201, made.text
    logged_in(context, stack, token)

    # WHEN they open their studies: the first page, then the rest on "Show more"
    page.goto(f"{stack.frontend}/studies")
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    button = page.get_by_role("button", name="Show more", exact=True)
    button.focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(MORE_THAN_A_PAGE)
    expect(button).to_have_count(0)
    expect(rows.nth(PAGE_SIZE)).to_be_focused()
    page.keyboard.press("Tab")
    expect(rows.nth(PAGE_SIZE).get_by_role("link")).to_be_focused()
    listed = set(rows.locator("td:first-child").all_inner_texts())
    assert listed == {f"Cohort {number:02d}" for number in range(1, MORE_THAN_A_PAGE + 1)}
    shot(page, "all-studies")

    # AND the uploads page lists a page of studies, then the rest on "Show more studies"
    page.goto(f"{stack.frontend}/uploads")
    studies = page.locator("main .paged > section")
    expect(studies).to_have_count(PAGE_SIZE)
    expect(studies.first.get_by_text("No uploads yet.")).to_be_visible()
    more = page.get_by_role("button", name="Show more studies")
    more.focus()
    page.keyboard.press("Enter")
    expect(studies).to_have_count(MORE_THAN_A_PAGE)
    expect(studies.nth(PAGE_SIZE)).to_be_focused()
    shot(page, "all-uploads")
