"""The admin page in a real browser (SPEC §9): the token prompt and the live public figures."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ServerProcess

ADMIN_TOKEN = "e2e-admin-token-0123456789"  # what ServerProcess gives the server

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_admin_page_asks_for_the_token_then_shows_the_live_figures(
    server_process: ServerProcess, page: Page
) -> None:
    """The token is kept for the tab, and the figures are the server's published ones."""
    server_process.start()
    game = page.context.new_page()
    game.goto(server_process.url)  # one player, online
    expect(game.locator("#conn-banner")).to_have_attribute("data-state", "live")

    page.goto(server_process.url + "/admin")
    expect(page.locator("#token-input")).to_be_visible()
    expect(page.locator("#live")).to_be_hidden()
    page.fill("#token-input", ADMIN_TOKEN)
    page.press("#token-input", "Enter")

    expect(page.locator("#live")).to_be_visible()
    expect(page.locator("#signin")).to_be_hidden()
    expect(page.locator("#fig-players")).to_have_text("1")
    expect(page.locator("#fig-online")).to_have_text("1")
    expect(page.locator("#fig-round")).to_have_text("1")
    expect(page.locator("#fig-status")).to_have_text("Active")
    expect(page.locator("#fig-target")).to_have_text("10,000")
    expect(page.locator("#planet-rows tr")).to_have_count(2)
    expect(page.locator("#api-status")).to_have_attribute("data-state", re.compile("missing|ready"))
    assert page.evaluate("sessionStorage.getItem('ctb.admin_token')") == ADMIN_TOKEN
    # Honest: nothing on the page offers an action the server cannot carry out yet.
    labels = page.locator("button:visible").all_inner_texts()
    assert labels == ["Forget token"]

    page.reload()  # the same tab keeps the token
    expect(page.locator("#live")).to_be_visible()
    page.click("#forget")
    expect(page.locator("#token-input")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ctb.admin_token')") is None
