"""The game page keeps the right leaderboard when boards come as changes (SPEC §6).

The page's WebSocket is wrapped by an init script that can drop incoming ``board`` messages and
counts the page's ``resync`` requests; other players click through the HTTP API meanwhile.
Every wait waits for a condition.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import ServerProcess, call
from tests.e2e.test_game_page import open_game, wait_until

FAST = ("--click-push-rate", "0.2", "--broadcast-interval", "0.05")

pytestmark = pytest.mark.e2e
BOTH_MODES = True  # the single process, and one engine with two gateways (SPEC §11)

# Wraps the page's WebSocket: boards are dropped while ``__boards.drop`` is set.
WRAP_SOCKET = """
window.__boards = { drop: false, dropped: 0, resyncs: 0, sockets: [] };
const RealSocket = window.WebSocket;
window.WebSocket = class extends RealSocket {
  constructor(...args) {
    super(...args);
    window.__boards.sockets.push(this);
  }
  set onmessage(fn) {
    super.onmessage = !fn ? fn : (event) => {
      if (window.__boards.drop && String(event.data).startsWith('{"type":"board"')) {
        window.__boards.dropped += 1;
        return;
      }
      fn(event);
    };
  }
  get onmessage() {
    return super.onmessage;
  }
  send(data) {
    if (String(data).includes('"resync"')) window.__boards.resyncs += 1;
    super.send(data);
  }
};
"""


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """A fresh profile whose pages must not throw, with the wrapped WebSocket."""
    context = new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WRAP_SOCKET)
    return context


class Clicker:
    """Another player clicking through the HTTP API."""

    def __init__(self, server: ServerProcess, name: str) -> None:
        self.server = server
        self.token = call(server, "POST", "/api/session", {"name": name})["token"]
        self.pushes = 0

    def click(self, count: int) -> None:
        self.pushes += 1
        body = {"batch_id": f"b{self.pushes}", "clicks": [count]}
        call(self.server, "POST", "/api/push_clicks", body, self.token)


def shown_leaders(page: Page) -> list[tuple[str, str]]:
    """The leaderboard as the page shows it: (board key, score text) per row."""
    rows = page.eval_on_selector_all(
        "#leaderboard li",
        "items => items.map(li => [li.dataset.key, li.querySelector('.lb-score').textContent])",
    )
    return [(key, score) for key, score in rows]


def server_leaders(server: ServerProcess) -> list[tuple[str, str]]:
    entries = call(server, "GET", "/api/leaderboard?scope=round&limit=10", None)["entries"]
    return [(str(e["key"]), f"{e['score']:,}") for e in entries]


def boards(page: Page, name: str) -> int:
    return page.evaluate(f"window.__boards.{name}")


def test_a_page_that_missed_boards_resyncs_and_shows_the_right_leaderboard(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """Boards lost on the way make the page ask for resync; its leaderboard is then the server's."""
    server_process.start(*FAST)
    page = open_game(context, server_process)
    players = [Clicker(server_process, name) for name in ("Ada", "Bo", "Cy")]
    players[0].click(3)
    wait_until(page, lambda: len(shown_leaders(page)) == 1)

    page.evaluate("window.__boards.drop = true")
    players[1].click(9)
    wait_until(page, lambda: boards(page, "dropped") >= 1)
    players[2].click(5)
    wait_until(page, lambda: boards(page, "dropped") >= 2)
    page.evaluate("window.__boards.drop = false")
    players[0].click(4)  # the next board builds on a version the page never got

    wait_until(page, lambda: boards(page, "resyncs") >= 1)
    wait_until(page, lambda: shown_leaders(page) == server_leaders(server_process))
    assert [row[1] for row in shown_leaders(page)] == ["9", "7", "5"]
    expect(page.locator("#conn-banner")).to_have_attribute("data-state", "live")


def test_a_page_that_reconnects_after_missed_boards_shows_the_right_leaderboard(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """A socket lost while others click is replaced, and the new snapshot shows their rows."""
    server_process.start(*FAST)
    page = open_game(context, server_process)
    players = [Clicker(server_process, name) for name in ("Ada", "Bo")]
    players[0].click(2)
    wait_until(page, lambda: len(shown_leaders(page)) == 1)

    page.evaluate("window.__boards.drop = true")
    players[1].click(6)
    wait_until(page, lambda: boards(page, "dropped") >= 1)
    page.evaluate("window.__boards.sockets.at(-1).close()")  # the connection is lost
    players[0].click(8)
    page.evaluate("window.__boards.drop = false")

    wait_until(page, lambda: page.evaluate("window.__boards.sockets.length") == 2, timeout=15)
    wait_until(page, lambda: shown_leaders(page) == server_leaders(server_process))
    assert [row[1] for row in shown_leaders(page)] == ["10", "6"]
