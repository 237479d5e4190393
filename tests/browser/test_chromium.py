"""The browser the page tests drive starts here and renders a page (so a broken Chromium fails one clear test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page


def test_chromium_renders_a_page_and_keeps_a_screenshot(page: Page, shot: Callable[[Page, str], Path]) -> None:
    page.set_content(
        "<main><h1>VRE Broker</h1><button type=button onclick=\"this.textContent='done'\">go</button></main>"
    )
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.get_by_role("button").inner_text() == "done"
    assert shot(page, "rendered").stat().st_size > 0
