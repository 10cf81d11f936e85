"""What the admin page tests do in the browser: make players and clicks over plain HTTP, as a
game page would, sign in, search, confirm a dialog. The tests are in ``test_page_admin.py`` and
``test_page_admin_console.py``."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_TOKEN, ServerProcess, call

FAST = ("--click-push-rate", "0.2")


def new_player(server: ServerProcess, name: str) -> tuple[str, dict[str, Any]]:
    answer = call(server, "POST", "/api/session", {"name": name})
    return answer["token"], answer["player"]


def push(server: ServerProcess, token: str, clicks: list[int]) -> dict[str, Any]:
    body = {"batch_id": uuid.uuid4().hex, "clicks": clicks}
    return call(server, "POST", "/api/push_clicks", body, token)


def sign_in(page: Page, server: ServerProcess) -> None:
    page.goto(server.url + "/admin")
    page.fill("#token-input", ADMIN_TOKEN)
    page.press("#token-input", "Enter")
    expect(page.locator("#players-card")).to_be_visible()


def search(page: Page, text: str, matches: int = 1) -> None:
    page.fill("#f-search", text)
    expect(page.locator("#player-rows tr[data-player]")).to_have_count(matches)


def confirm(page: Page, reason: str, revoke: bool | None = None) -> None:
    """Fill the confirmation dialog's reason (and the revoke box) and confirm."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-reason")).to_be_focused()
    page.fill("#confirm-reason", reason)
    if revoke is not None:
        page.locator("#confirm-revoke").set_checked(revoke)
    page.click("#confirm-ok")
    expect(dialog).to_be_hidden()
