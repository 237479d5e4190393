"""`/docs` and `/redoc` render the API with the network closed: their bundles come from the console's own static
files (pinned npm packages), never from a CDN."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from tests.browser.local_stack import running_stack
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("docs-stack")) as running:
        yield running


@pytest.fixture
def offline(context: BrowserContext) -> list[str]:
    """Abort every request that leaves the machine; the list holds what was refused."""
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    return refused


def test_swagger_ui_renders_the_operations_offline(
    stack: RunningStack, offline: list[str], page: Page, shot: Callable[[Page, str], Path]
) -> None:
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))

    page.goto(f"{stack.api}/docs")

    page.locator(".opblock-summary-path", has_text="/studies/{study_id}/members").first.wait_for()
    assert page.locator(".opblock").count() > 20
    assert any(url.startswith(f"{stack.frontend}/api-docs/swagger-ui-dist@") for url in loaded), loaded
    shot(page, "swagger-ui")
    assert offline == []


def test_redoc_renders_the_operations_offline(
    stack: RunningStack, offline: list[str], page: Page, shot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{stack.api}/redoc")

    page.get_by_role("heading", name="Liveness").wait_for()
    assert page.locator("[data-section-id^='operation/']").count() > 20
    shot(page, "redoc")
    assert offline == []
