"""What the game page tests do in the browser: open the page, click, read the server's view,
watch the pushes and the click queue. The tests are in ``test_game_page.py``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import (
    BrowserContext,
    Page,
    Request,
    expect,
)

from tests.e2e.conftest import ServerProcess

# Pushes every 0.2 s and boards every 0.05 s keep each test to a couple of seconds.
FAST = ("--click-push-rate", "0.2", "--broadcast-interval", "0.05")
SLOW = 15_000  # ms: long enough for a reconnect after a restart (backoff 1, 2, 4 s)


def open_game(context: BrowserContext, server: ServerProcess) -> Page:
    page = context.new_page()
    page.goto(server.url)
    expect(page.locator("#conn-banner")).to_have_attribute("data-state", "live")
    return page


def wait_until(page: Page, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let Playwright deliver its events (route handlers run then) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        page.wait_for_timeout(20)


def click(page: Page, times: int) -> None:
    """Click the big button as fast as a mouse can, once it is enabled."""
    button = page.locator("#big-button")
    expect(button).to_be_enabled()
    box = button.bounding_box()
    assert box is not None
    for _ in range(times):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def server_me(page: Page) -> dict[str, Any]:
    """The player as the server sees it, read with the page's own token."""
    return page.evaluate(
        """async () => {
            const token = localStorage.getItem("ctb.token");
            const res = await fetch("/api/me", {headers: {Authorization: `Bearer ${token}`}});
            return res.json();
        }"""
    )


def wait_for_server_score(page: Page, score: int, timeout: float = 10_000) -> None:
    """Poll ``/api/me`` with the page's token until the server says ``score``.

    A loop here rather than ``wait_for_function``: that takes the Promise an async predicate
    returns as a truthy value and returns at once, without waiting for anything.
    """
    deadline = time.monotonic() + timeout / 1000
    while (seen := server_me(page).get("score")) != score:
        assert time.monotonic() < deadline, f"the server's score is {seen}, never {score}"
        page.wait_for_timeout(100)


def record_pushes(page: Page) -> list[dict[str, Any]]:
    """Every push the page sends from now on, over HTTP or the WebSocket, as {batch_id, clicks}."""
    pushes: list[dict[str, Any]] = []

    def on_request(request: Request) -> None:
        if request.url.endswith("/api/push_clicks"):
            pushes.append(request.post_data_json)

    def on_frame(payload: str | bytes) -> None:
        message = json.loads(payload)
        if message.get("type") == "clicks":
            pushes.append({"batch_id": message["batch_id"], "clicks": message["clicks"]})

    page.on("request", on_request)
    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    return pushes


QUEUED_BATCHES = """() => Object.keys(localStorage)
    .filter((key) => key.startsWith("ctb.q."))
    .flatMap((key) => JSON.parse(localStorage.getItem(key)).batches)"""


def wait_for_queued_batches(page: Page) -> list[dict[str, Any]]:
    """The sealed, unacknowledged batches the page keeps in localStorage, once there is one."""
    page.wait_for_function(f"() => ({QUEUED_BATCHES})().length > 0", polling=50)
    return page.evaluate(QUEUED_BATCHES)


def push_again(page: Page, batch: dict[str, Any]) -> dict[str, Any]:
    """Push a batch by hand, as a retry would: the server's answer tells if it had it already."""
    return page.evaluate(
        """async (batch) => {
            const token = localStorage.getItem("ctb.token");
            const res = await fetch("/api/push_clicks", {
                method: "POST",
                headers: {Authorization: `Bearer ${token}`, "Content-Type": "application/json"},
                body: JSON.stringify({batch_id: batch.id, clicks: batch.clicks}),
            });
            return res.json();
        }""",
        batch,
    )
