"""The admin console an operator would choose, in real Chromium against a real server (SPEC §8,
§9): the player's detail in view beside the list with its actions, players named everywhere
(a short id beside a name two players share), readable audit changes, and charts that start
filled from the server's 10-minute history. Every wait is for a condition.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_page import FAST, confirm, new_player, push, search, sign_in
from tests.e2e.axe import axe_violations
from tests.e2e.conftest import ADMIN_TOKEN, ServerProcess, call

pytestmark = pytest.mark.e2e
BOTH_MODES = True  # the single process, and one engine with two gateways (SPEC §11)

LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A fresh 1280x800 tab whose scripts must not throw."""
    return new_context(viewport=LAPTOP).new_page()


@pytest.fixture
def server(server_process: ServerProcess) -> ServerProcess:
    server_process.start(*FAST)
    return server_process


def test_the_detail_opens_beside_the_list_with_ban_and_reset_in_view_and_the_ban_is_named(
    server: ServerProcess, page: Page
) -> None:
    """At 1280x800 the detail opens beside the list with Ban and Reset in the viewport; a ban
    with a reason shows in the audit and the events under the player's name, as a readable
    change, Escape closes the detail, and axe-core finds nothing."""
    new_player(server, "Ordinary")
    token, mallory = new_player(server, "Mallory")
    push(server, token, [4, 4])
    sign_in(page, server)
    search(page, "Mallory")
    opener = page.get_by_role("button", name="Open Mallory")
    opener.click()
    panel = page.locator("#detail-card")
    expect(panel).to_have_attribute("data-player", mallory["id"])
    expect(page.locator("#detail-title")).to_be_focused()
    expect(page.locator("#detail-title")).to_have_text("Mallory")
    for action in ("ban", "reset_score"):
        expect(page.locator(f"#detail-actions [data-action={action}]")).to_be_in_viewport(ratio=1)
    panel_box, row_box = panel.bounding_box(), opener.bounding_box()
    assert panel_box is not None and row_box is not None
    assert row_box["x"] + row_box["width"] <= panel_box["x"]  # beside the list, not over it
    expect(page.locator("#detail-body")).to_contain_text("Variation in timing")
    expect(page.locator("#detail-body")).not_to_contain_text("cv interval")

    page.click("#detail-actions [data-action=ban]")
    expect(page.locator("#confirm-duration")).to_have_value("")  # no end unless chosen
    confirm(page, "impersonating a moderator")
    expect(page.locator("#announcer")).to_contain_text("Ban: done for Mallory")
    entry = page.locator('#audit-rows tr[data-action="ban"]')
    expect(entry).to_have_count(1)
    cells = entry.locator("td")
    expect(cells.nth(3)).to_have_text("Mallory")
    expect(cells.nth(4)).to_have_text("impersonating a moderator")
    expect(cells.nth(5)).to_contain_text("status: active → banned")
    written = call(server, "GET", "/api/admin/audit?action=ban", token=ADMIN_TOKEN)
    expect(cells.nth(1)).to_have_text(written["entries"][0]["admin"])  # the server's admin
    expect(page.locator("#event-log li").first).to_contain_text("Mallory banned")
    expect(page.locator('#detail-body [data-fact="Status"] dd')).to_have_text("Banned")
    assert axe_violations(page) == []

    page.locator("#detail-title").focus()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.get_by_role("button", name="Open Mallory")).to_be_focused()


def test_two_players_of_one_name_are_told_apart_by_a_short_id(
    server: ServerProcess, page: Page
) -> None:
    """A player who takes another's exact name shows with a short id beside it, in the detail
    and in the interventions, so neither passes for the other."""
    new_player(server, "Moderator")
    _, copy = new_player(server, "Moderator")
    body = {"player_id": copy["id"], "reason": "took a moderator's name"}
    call(server, "POST", "/api/admin/interventions", body, ADMIN_TOKEN)
    sign_in(page, server)
    search(page, "Moderator", matches=2)
    page.locator(f'#player-rows tr[data-player="{copy["id"]}"] button.link').click()
    expect(page.locator("#detail-title")).to_have_text(f"Moderator ({copy['id'][:8]})")
    case = page.locator("#case-list li.case").first
    expect(case.locator(f'button[data-player="{copy["id"]}"]')).to_have_text(
        f"Moderator ({copy['id'][:8]})"
    )


def test_the_charts_start_filled_on_a_server_that_has_been_running(
    server_process: ServerProcess, page: Page
) -> None:
    """Signed in on a server that has sampled its figures for a while, the charts hold the
    server's history from the start: their first point is older than the page. (With gateways
    each keeps its own history, and the page may be served by another than the one read here.)"""
    server_process.env["ADMIN_METRICS_INTERVAL"] = "0.5"  # a point every 0.5 s, not 5 s
    server_process.start(*FAST)
    token, _ = new_player(server_process, "Clicker")
    push(server_process, token, [5, 5, 5])
    deadline = time.monotonic() + 30
    while True:
        figures = call(server_process, "GET", "/api/admin/metrics?history=1", token=ADMIN_TOKEN)
        if len(figures["history"]) >= 6:
            break
        assert time.monotonic() < deadline, "the server kept no history"
        time.sleep(0.2)
    sampled = figures["history"][-1]["at"]  # the history's newest point before the page opened
    sign_in(page, server_process)
    for name in ("clicks", "pushes", "connections"):
        chart = page.locator(f"#chart-{name}")
        expect(chart).to_have_attribute("data-since", re.compile(r"^[0-9.]+$"))
        assert float(chart.get_attribute("data-since") or "inf") < sampled
        expect(chart.locator("polyline")).not_to_have_count(0)
    expect(page.locator("#chart-note")).to_contain_text("a point every 0.5 s")
    points = int(page.locator("#chart-clicks").get_attribute("data-points") or 0)
    assert points >= 6
