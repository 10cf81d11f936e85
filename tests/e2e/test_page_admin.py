"""The admin page in a real browser against a real server process (SPEC §8, §9).

Players are made and clicks pushed over plain HTTP, as a game page would; the admin works the
page. axe-core (``tests/e2e/node_modules``, installed by ``make test``) is injected to check
accessibility. Every wait is for a condition.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_page import FAST, confirm, new_player, push, search, sign_in
from tests.e2e.conftest import ADMIN_TOKEN, ServerProcess, call

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
FIGURES_WAIT = 20_000  # ms: the admin socket sends figures every 5 s

pytestmark = pytest.mark.e2e
BOTH_MODES = True  # the single process, and one engine with two gateways (SPEC §11)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A fresh tab whose scripts must not throw: an uncaught error fails the test."""
    return context.new_page()


@pytest.fixture
def server(server_process: ServerProcess) -> ServerProcess:
    server_process.start(*FAST)
    return server_process


def planet_total(page: Page, planet: str) -> Any:
    return page.locator(f'#planet-rows tr[data-planet="{planet}"] td').first


def test_a_wrong_token_is_refused_and_the_right_one_is_kept_for_the_tab(
    server: ServerProcess, page: Page
) -> None:
    """401 shows the refusal; the accepted token survives a reload and Forget clears it."""
    page.goto(server.url + "/admin")
    expect(page.locator("#players-card")).to_be_hidden()
    page.fill("#token-input", "not-the-token")
    page.press("#token-input", "Enter")
    expect(page.locator("#token-error")).to_contain_text("refused this admin token")
    expect(page.locator("#players-card")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('ctb.admin_token')") is None

    page.fill("#token-input", ADMIN_TOKEN)
    page.press("#token-input", "Enter")
    expect(page.locator("#players-card")).to_be_visible()
    expect(page.locator("#signin")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('ctb.admin_token')") == ADMIN_TOKEN

    page.reload()
    expect(page.locator("#players-card")).to_be_visible()
    page.click("#forget")
    expect(page.locator("#token-input")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ctb.admin_token')") is None


def test_search_a_player_ban_them_and_read_the_audit_entry(
    server: ServerProcess, page: Page
) -> None:
    """The table searches on the server; a ban with a reason shows in the table and the log."""
    new_player(server, "Ordinary")
    _, cheat = new_player(server, "Cheater")
    sign_in(page, server)
    expect(page.locator("#player-rows tr[data-player]")).to_have_count(2)

    search(page, "heat")  # a name substring
    row = page.locator("#player-rows tr[data-player]")
    expect(row).to_have_attribute("data-player", cheat["id"])
    search(page, cheat["id"][:6])  # an id prefix
    page.get_by_role("button", name="Open Cheater").click()
    expect(page.locator("#detail-card")).to_have_attribute("data-player", cheat["id"])
    expect(page.locator("#detail-title")).to_be_focused()

    page.click("#detail-actions [data-action=ban]")
    confirm(page, "autoclicker seen in the logs", revoke=False)
    expect(page.locator("#announcer")).to_contain_text("Ban: done for Cheater")
    expect(row.locator(".tag")).to_have_text("Banned")
    expect(page.locator('#detail-body [data-fact="Status"] dd')).to_have_text("Banned")

    entry = page.locator('#audit-rows tr[data-action="ban"]')
    expect(entry).to_have_count(1)
    expect(entry.locator("td").nth(3)).to_have_text("Cheater")  # the target, by name
    expect(entry.locator("td").nth(3)).to_have_attribute("title", cheat["id"])
    expect(entry).to_contain_text("autoclicker seen in the logs")
    page.select_option("#a-action", "kick")
    expect(page.locator("#audit-rows tr[data-audit]")).to_have_count(0)


def test_the_clicks_chart_moves_with_pushed_clicks(server: ServerProcess, page: Page) -> None:
    """Figures come from the admin socket: clicks pushed over HTTP show in the next point."""
    token, _ = new_player(server, "Pusher")
    sign_in(page, server)
    chart = page.locator("#chart-clicks")
    expect(chart).to_have_attribute("data-points", re.compile(r"[1-9]"))
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "live")

    assert push(server, token, [5, 5, 5])["accepted"] == 15
    expect(chart).to_have_attribute(
        "data-latest", re.compile(r"^[0-9.]*[1-9]"), timeout=FIGURES_WAIT
    )
    expect(chart.locator("polyline")).not_to_have_count(0)


def test_a_flagged_player_is_banned_from_the_queue_and_their_round_clicks_revoked(
    server: ServerProcess, page: Page
) -> None:
    """Flag by hand, resolve with the ban template (revoke ticked): the planet's total drops."""
    token, player = new_player(server, "Suspect")
    assert push(server, token, [7, 8])["accepted"] == 15
    planet = player["planet"]
    sign_in(page, server)
    expect(planet_total(page, planet)).to_have_text("15")

    search(page, "Suspect")
    page.get_by_role("button", name="Open Suspect").click()
    page.click("#detail-actions [data-action=flag]")
    confirm(page, "clicks at an odd rhythm")
    case = page.locator("#case-list li.case").first
    expect(case).to_have_attribute("data-status", "open")
    expect(case).to_contain_text("clicks at an odd rhythm")  # the evidence of a manual flag

    case.locator("button[data-resolve=ban]").click()
    expect(page.locator("#confirm-reason")).to_have_value("Banned the player")
    expect(page.locator("#confirm-revoke")).to_be_checked()
    page.click("#confirm-ok")
    expect(case).to_have_attribute("data-status", "resolved")
    expect(planet_total(page, planet)).to_have_text("0")
    expect(page.locator('#detail-body [data-fact="Status"] dd')).to_have_text("Banned")


def test_the_admin_page_has_no_accessibility_violations(server: ServerProcess, page: Page) -> None:
    """axe-core finds nothing on the signed-in page with a player's detail open."""
    token, _ = new_player(server, "Someone")
    push(server, token, [3])
    sign_in(page, server)
    search(page, "Someone")
    page.get_by_role("button", name="Open Someone").click()
    expect(page.locator("#detail-card")).to_be_visible()
    expect(page.locator("#case-list li")).to_have_count(1)
    expect(page.locator("#audit-rows tr")).to_have_count(1)
    page.evaluate(AXE.read_text())  # through the driver: the page's CSP allows no inline script
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations = [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]
    assert violations == []


def test_a_job_a_restart_interrupted_is_resumed_from_the_page(
    server_process: ServerProcess, page: Page
) -> None:
    """A bulk job caught mid-way by kill -9 shows as interrupted with its progress; Resume, with
    a reason, runs it to the end."""
    server = server_process
    server.env.update(ADMIN_BULK_PACE="0.5")  # slow steps: the kill lands while it runs
    server.start(*FAST)
    ghosts = [f"ghost{i}" for i in range(3000)]  # ids of no player: every one is skipped
    body = {"action": "ban", "player_ids": ghosts, "reason": "bot farm"}
    job = call(server, "POST", "/api/admin/bulk", body, ADMIN_TOKEN)
    item = page.locator(f'#job-list li[data-job="{job["id"]}"]')
    sign_in(page, server)
    expect(item).to_have_attribute("data-status", "running")
    server.kill()
    server.env["ADMIN_BULK_PACE"] = "0"
    server.start(*FAST)
    page.reload()
    expect(item).to_have_attribute("data-status", "interrupted")
    page.get_by_role("button", name=f"Resume bulk job {job['id']}").click()
    confirm(page, "the restart stopped it")
    expect(item).to_have_attribute("data-status", "done", timeout=20_000)
    finished = call(server, "GET", f"/api/admin/bulk/{job['id']}", token=ADMIN_TOKEN)
    assert (finished["processed"], finished["status"]) == (3000, "done")


def test_a_bulk_job_over_the_filters_sends_them_typed_as_the_server_declares_them(
    server: ServerProcess, page: Page
) -> None:
    """The page reads the filter list from the server's document, and a job over the filter
    form sends a score as a number and a flag as a boolean and touches only the players named."""
    high, _ = new_player(server, "High")
    _, low = new_player(server, "Low")
    push(server, high, [9])
    with page.expect_response("**/api/openapi.json") as document:
        sign_in(page, server)
    assert document.value.ok
    page.fill("#f-score-max", "5")
    page.select_option("#f-flagged", "false")
    expect(page.locator("#player-rows tr[data-player]")).to_have_count(1)
    page.select_option("#bulk-action", "ban")
    page.check('#bulk-form input[name="bulk-scope"][value="filter"]')
    page.click("#bulk-form button[type=submit]")
    confirm(page, "a wave of low scorers")
    jobs = page.locator("#job-list li[data-job]")
    expect(jobs.first).to_have_attribute("data-status", "done", timeout=20_000)
    (job,) = call(server, "GET", "/api/admin/bulk", token=ADMIN_TOKEN)["jobs"]
    assert job["selection"] == {"filter": {"score_max": 5, "flagged": False}}
    assert (job["total"], job["done"]) == (1, 1)
    banned = call(server, "GET", f"/api/admin/players/{low['id']}", token=ADMIN_TOKEN)
    assert banned["player"]["status"] == "banned"
