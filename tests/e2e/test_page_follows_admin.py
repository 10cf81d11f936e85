"""The game page follows what an admin does, live, in real Chromium (SPEC §8, §9): a pause and
its resume, a bulk move to another planet, a ban and its lifting; and the banners and notices
that say so never cover the header's figures or the round clock.

Two parties: a player's page, and the admin API over plain HTTP. Every wait is for a condition;
"within 1 s" is Playwright's expect with a 1 s deadline.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, WebSocketRoute, expect

from tests.e2e.conftest import ADMIN_TOKEN, ServerProcess, call
from tests.e2e.game_page import FAST, click, open_game, server_me, wait_for_server_score, wait_until
from tests.e2e.test_player_experience import no_violations

pytestmark = pytest.mark.e2e
BOTH_MODES = True  # the single process, and one engine with two gateways (SPEC §11)

AT_ONCE = 1_000  # ms: the page shows an admin's change within a second
OTHER = {"earth": "mars", "mars": "earth"}


def admin(server: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    return call(server, method, path, body, ADMIN_TOKEN)


def frozen_clock(server: ServerProcess) -> tuple[str, int]:
    """The round clock as the server stopped it: (m:ss as the page writes it, seconds)."""
    snapshot = call(server, "GET", "/api/snapshot")
    assert snapshot["paused"] is True
    seconds = math.ceil(snapshot["round"]["ends_at"] - snapshot["paused_at"])
    return f"{seconds // 60}:{seconds % 60:02d}", seconds


def shown_seconds(page: Page) -> int:
    minutes, seconds = (page.locator("#countdown").text_content() or "").split(":")
    return int(minutes) * 60 + int(seconds)


class HeldSocket:
    """The page's game socket routed through Playwright, with the server's frames held back on
    demand: the page then does not yet know what the server has done."""

    def __init__(self, page: Page) -> None:
        self.holding = False
        self.held: list[str | bytes] = []
        self.sent: list[dict[str, Any]] = []  # what the page said, parsed
        self.to_page: WebSocketRoute | None = None
        page.route_web_socket(re.compile(r"/ws\?token="), self.route)

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            self.sent.append(json.loads(message))
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if self.holding:
                self.held.append(message)
            else:
                ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)
        self.to_page = ws

    def release(self) -> None:
        assert self.to_page is not None
        self.holding = False
        for message in self.held:
            self.to_page.send(message)
        self.held.clear()


def test_a_pause_stops_the_clock_and_the_button_and_the_clicks_count_after_the_resume(
    server_process: ServerProcess, new_context: Any
) -> None:
    """Within 1 s of a pause the page shows the reason, a disabled "paused" button and the
    clock stopped where the server's stood; after the resume it goes on from there; clicks
    made before the page heard of the pause are kept and count after the resume."""
    server_process.start(*FAST)
    context: BrowserContext = new_context()
    page = context.new_page()
    socket = HeldSocket(page)
    page.goto(server_process.url)
    banner, button = page.locator("#conn-banner"), page.locator("#big-button")
    expect(banner).to_have_attribute("data-state", "live")
    click(page, 2)
    wait_for_server_score(page, 2)

    admin(server_process, "POST", "/api/admin/game/pause", {"reason": "fire drill"})
    expect(banner).to_contain_text("fire drill", timeout=AT_ONCE)
    expect(button).to_be_disabled(timeout=AT_ONCE)
    expect(button).to_have_accessible_name(re.compile("^PAUSED"), timeout=AT_ONCE)
    expect(page.locator("#countdown-label")).to_have_text("paused at", timeout=AT_ONCE)
    frozen, seconds = frozen_clock(server_process)
    expect(page.locator("#countdown")).to_have_text(frozen, timeout=AT_ONCE)
    later = page.evaluate("Date.now()") + 1_500
    page.wait_for_function("(t) => Date.now() >= t", arg=later)
    expect(page.locator("#countdown")).to_have_text(frozen, timeout=100)  # it stood still
    no_violations(page)

    resumed_at = time.monotonic()
    admin(server_process, "POST", "/api/admin/game/resume", {"reason": "all clear"})
    expect(button).to_be_enabled(timeout=AT_ONCE)
    expect(banner).to_have_attribute("data-state", "live", timeout=AT_ONCE)
    shown, since = shown_seconds(page), time.monotonic() - resumed_at
    assert seconds - math.ceil(since) - 1 <= shown <= seconds  # on from where it stood: no jump

    # The page has not heard of this pause yet: its clicks go, and are refused as paused.
    socket.holding = True
    said = len(socket.sent)
    admin(server_process, "POST", "/api/admin/game/pause", {"reason": "second drill"})
    click(page, 3)
    wait_until(page, lambda: any(m["type"] == "clicks" for m in socket.sent[said:]))
    socket.release()
    expect(banner).to_contain_text("second drill", timeout=AT_ONCE)
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "3")
    assert server_me(page)["score"] == 2
    admin(server_process, "POST", "/api/admin/game/resume", {"reason": "all clear"})
    wait_for_server_score(page, 5)
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "0")


def test_a_bulk_move_shows_the_new_planet_at_once(
    server_process: ServerProcess, new_context: Any
) -> None:
    """A bulk job that moves every player of the page's planet: within 1 s the page's planet,
    its "counts for" line and its race card name the new planet, and clicks count for it."""
    server_process.start(*FAST)
    page = open_game(new_context(), server_process)
    old = server_me(page)["planet"]
    new = OTHER[old]
    expect(page.locator("#my-planet")).to_have_attribute("data-planet", old)
    body = {"action": "move_planet", "planet": new, "filter": {"planet": old}, "reason": "even"}
    admin(server_process, "POST", "/api/admin/bulk", body)
    expect(page.locator("#my-planet")).to_have_attribute("data-planet", new, timeout=AT_ONCE)
    expect(page.locator("#how-planet")).to_have_text(new.title(), timeout=AT_ONCE)
    mine = page.locator("#planets li.mine")
    expect(mine).to_have_attribute("data-planet", new, timeout=AT_ONCE)
    expect(mine.locator(".you-tag")).to_have_text("your planet")
    expect(mine.locator(".planet-meta")).to_contain_text("1 player", timeout=AT_ONCE)

    click(page, 2)
    wait_for_server_score(page, 2)
    planets = call(server_process, "GET", "/api/snapshot")["planets"]
    assert {p["name"]: p["total"] for p in planets} == {old: 0, new: 2}


def test_after_an_unban_the_button_works_again_at_once(
    server_process: ServerProcess, new_context: Any
) -> None:
    """Banned, the page says so and disables the button; within 1 s of the unban the button
    works again, with no reload, and its clicks count."""
    server_process.start(*FAST)
    page = open_game(new_context(), server_process)
    click(page, 1)
    wait_for_server_score(page, 1)
    player_id = server_me(page)["id"]
    actions = f"/api/admin/players/{player_id}/actions"
    admin(server_process, "POST", f"{actions}/ban", {"reason": "looked like a bot"})
    banner, button = page.locator("#conn-banner"), page.locator("#big-button")
    expect(banner).to_have_attribute("data-state", "banned")
    expect(button).to_be_disabled()

    admin(server_process, "POST", f"{actions}/unban", {"reason": "appeal granted"})
    expect(button).to_be_enabled(timeout=AT_ONCE)
    expect(page.locator("#notice")).to_contain_text("ban has been lifted")
    click(page, 2)
    wait_for_server_score(page, 3)
    expect(banner).to_have_attribute("data-state", "live")


def test_a_timed_ban_says_why_and_until_when_and_lifts_itself(
    server_process: ServerProcess, new_context: Any
) -> None:
    """Banned for 3 s, the page shows the reason and the ban's end; when it runs out the button
    works again with no admin and no reload, and its clicks count."""
    server_process.start(*FAST)
    page = open_game(new_context(), server_process)
    click(page, 1)
    wait_for_server_score(page, 1)
    player_id = server_me(page)["id"]
    path = f"/api/admin/players/{player_id}/actions/ban"
    admin(server_process, "POST", path, {"reason": "looked like a bot", "duration_seconds": 3})
    banner, button = page.locator("#conn-banner"), page.locator("#big-button")
    expect(banner).to_have_attribute("data-state", "banned")
    expect(banner).to_contain_text("Reason: looked like a bot.")
    expect(banner).to_contain_text("The ban ends")
    expect(button).to_be_disabled()

    expect(button).to_be_enabled(timeout=3_000 + 2 * AT_ONCE)  # the end, then a turn
    expect(page.locator("#notice")).to_contain_text("ban has been lifted")
    click(page, 2)
    wait_for_server_score(page, 3)


LIVE_FIGURES = (".topbar .pill", ".round-head")


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def assert_nothing_covered(page: Page, floating: str) -> None:
    """``floating`` shows and covers none of the header's pills nor the round line."""
    box = page.locator(floating).bounding_box()
    assert box is not None and box["height"] > 0, floating
    for selector in LIVE_FIGURES:
        for figure in page.locator(selector).all():
            found = figure.bounding_box()
            if found is not None:  # a pill hidden at this width covers nothing
                assert not overlaps(box, found), (floating, selector, box, found)


@pytest.mark.parametrize(
    "viewport",
    [{"width": 320, "height": 640}, {"width": 390, "height": 844}, {"width": 1280, "height": 800}],
    ids=["320", "390", "1280"],
)
def test_banners_and_notices_never_cover_the_live_figures(
    server_process: ServerProcess, new_context: Any, viewport: dict[str, int]
) -> None:
    """At 320, 390 and 1280 px the paused, banned and offline banners and a notice beside
    them leave the header's pills and the round line (its number and clock) uncovered."""
    server_process.start(*FAST)
    phone = viewport["width"] < 800
    context = new_context(viewport=viewport, has_touch=phone, is_mobile=phone)
    page = open_game(context, server_process)
    banner = page.locator("#conn-banner")
    reason = "Maintenance of the database: back in five minutes, sorry for the wait"
    admin(server_process, "POST", "/api/admin/game/pause", {"reason": reason})
    expect(banner).to_have_attribute("data-state", "paused")
    assert_nothing_covered(page, "#conn-banner")

    actions = f"/api/admin/players/{server_me(page)['id']}/actions"
    admin(server_process, "POST", f"{actions}/ban", {"reason": "test"})
    expect(banner).to_have_attribute("data-state", "banned")
    assert_nothing_covered(page, "#conn-banner")
    admin(server_process, "POST", f"{actions}/unban", {"reason": "test"})
    expect(page.locator("#notice")).to_be_visible()
    expect(banner).to_have_attribute("data-state", "paused")
    assert_nothing_covered(page, "#notice")
    assert_nothing_covered(page, "#conn-banner")

    page.route("**/api/ws-token", lambda route: route.abort())
    page.reload()
    expect(banner).to_have_attribute("data-state", "offline")
    assert_nothing_covered(page, "#conn-banner")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
