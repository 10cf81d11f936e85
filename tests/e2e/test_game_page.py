"""The game page in a real browser against a real server process (SPEC §4, §6, §9).

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``) driven by Playwright's
sync API; every wait waits for a condition, never for a fixed time.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Route,
    expect,
)

from tests.e2e.conftest import ServerProcess
from tests.e2e.game_page import (
    FAST,
    QUEUED_BATCHES,
    SLOW,
    click,
    open_game,
    push_again,
    record_pushes,
    server_me,
    wait_for_queued_batches,
    wait_for_server_score,
    wait_until,
)

pytestmark = pytest.mark.e2e
BOTH_MODES = True  # the single process, and one engine with two gateways (SPEC §11)


def test_clicks_show_at_once_and_reach_the_server_in_batches(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """Clicks, Space and Enter show in the local count and reach the server in batches."""
    server_process.start(*FAST)
    page = context.new_page()
    held: list[Route] = []
    page.route("**/api/ws-token", lambda route: held.append(route))
    pushes = record_pushes(page)
    with page.expect_request("**/api/ws-token"):
        page.goto(server_process.url)
    banner = page.locator("#conn-banner")
    expect(banner).to_have_attribute("data-state", "connecting")
    expect(banner).to_be_visible()
    wait_until(page, lambda: len(held) == 1)
    held[0].continue_()
    page.unroute("**/api/ws-token")
    expect(banner).to_have_attribute("data-state", "live")
    expect(banner).to_be_hidden()

    click(page, 5)
    page.keyboard.press("Space")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    # press() renders the count in the event's own handler; how soon that shows is not timed here
    expect(page.locator("#count")).to_have_attribute("data-value", "8")

    wait_for_server_score(page, 8)
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "0")
    expect(page.locator("#score")).to_have_text("8")
    expect(page.locator("#round-rank")).to_have_text("#1")
    assert 1 <= len(pushes) < 8, pushes
    assert sum(sum(m["clicks"]) for m in pushes) == 8
    assert len({m["batch_id"] for m in pushes}) == len(pushes)
    assert page.evaluate(QUEUED_BATCHES) == []


def test_a_second_page_sees_the_first_pages_planet_move(
    server_process: ServerProcess, browser: Browser, context: BrowserContext
) -> None:
    """Another player's page sees the race, the top 10 and the online count move live."""
    server_process.start(*FAST)
    first = open_game(context, server_process)
    other = browser.new_context()
    try:
        second = open_game(other, server_process)
        planet = first.locator("#my-planet").get_attribute("data-planet")
        name = first.locator("#my-name").inner_text()
        click(first, 6)
        total = second.locator(f'#planets li[data-planet="{planet}"] .total')
        expect(total).to_have_attribute("data-value", "6")
        expect(second.locator("#leaderboard li").first).to_contain_text(name)
        expect(second.locator("#online")).to_have_text("2")
        expect(first.locator("#online")).to_have_text("2")
    finally:
        other.close()


def test_an_unsent_batch_survives_a_reload_and_is_resent_unchanged(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """A batch the server never got stays in localStorage across a reload and is resent as is."""
    server_process.start(*FAST)
    page = open_game(context, server_process)
    page.route("**/api/push_clicks", lambda route: route.abort())
    page.route("**/api/ws-token", lambda route: route.abort())
    page.reload()  # the socket goes; without a ws token it cannot come back
    banner = page.locator("#conn-banner")
    expect(banner).to_have_attribute("data-state", "offline")
    expect(banner).to_contain_text("Offline")

    click(page, 6)
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "6")
    sealed = wait_for_queued_batches(page)
    page.reload()  # a closed tab: the next page adopts its queue
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "6")
    queued = page.evaluate(QUEUED_BATCHES)
    assert queued[: len(sealed)] == sealed  # sealed batches are kept exactly as they were
    assert sum(sum(b["clicks"]) for b in queued) == 6
    assert server_me(page)["score"] == 0

    delivered = record_pushes(page)
    page.unroute_all()
    page.click("#refresh")  # the way back is open: no need to wait out the backoff
    wait_for_server_score(page, 6)
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "0")
    expect(banner).to_have_attribute("data-state", "live")
    for batch in queued:
        assert {"batch_id": batch["id"], "clicks": batch["clicks"]} in delivered
        assert push_again(page, batch)["duplicate"] is True


QUEUE_AFTER_CLOSE = """async () => {
    const { ClickQueue } = await import("/static/queue.js");
    const queue = new ClickQueue(() => 200);
    queue.press(1);
    queue.closeInterval();
    const sent = queue.next();
    queue.press(1);
    queue.press(1);
    const first = queue.close();
    const stored = JSON.parse(localStorage.getItem(queue.key));
    localStorage.removeItem(queue.key); // another tab adopts the queue
    queue.closeInterval(); // what a timer still running in the closing tab would do
    queue.press(1);
    queue.remove(first.id); // a late answer
    const after = { stored: localStorage.getItem(queue.key), next: queue.next() };
    queue.reopen(); // back from the back/forward cache: a fresh queue under the same tab
    queue.press(1);
    const reopened = JSON.parse(localStorage.getItem(queue.key));
    return { sent: sent.id, first: first.id, stored, after, reopened };
}"""


def test_a_closed_tab_never_writes_its_queue_again(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """Once a tab has closed, its stored queue is the adopting tab's: a timer or a late answer
    that still runs in the closing tab neither writes it back nor seals a new batch, which
    would hand the same clicks out a second time. A tab restored from the back/forward cache
    starts a fresh queue."""
    server_process.start(*FAST)
    page = context.new_page()
    page.goto(server_process.url + "/api/openapi.json")  # the origin, without the game running
    result = page.evaluate(QUEUE_AFTER_CLOSE)
    assert result["first"] == result["sent"]
    assert result["stored"]["closed"] is True
    assert [b["clicks"] for b in result["stored"]["batches"]] == [[1]]
    assert result["stored"]["open"] == [2]
    assert result["after"] == {"stored": None, "next": None}
    reopened = result["reopened"]
    assert (reopened["closed"], reopened["batches"], reopened["open"], reopened["cur"]) == (
        False,
        [],
        [],
        1,
    )


def test_a_closed_tabs_clicks_are_delivered_by_another_tab_of_the_player(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """Two tabs of one player keep separate queues; a closed tab's queue is taken over."""
    server_process.start(*FAST)
    staying = open_game(context, server_process)
    closing = context.new_page()  # same profile, so the same token and player
    closing.route("**/api/push_clicks", lambda route: route.abort())
    closing.route("**/api/ws-token", lambda route: route.abort())
    closing.goto(server_process.url)
    expect(closing.locator("#my-name")).to_have_text(staying.locator("#my-name").inner_text())

    click(staying, 4)
    click(closing, 5)
    expect(closing.locator("#pending-line")).to_have_attribute("data-value", "5")
    wait_for_server_score(staying, 4)
    closing.close(run_before_unload=True)

    wait_for_server_score(staying, 9)
    expect(staying.locator("#pending-line")).to_have_attribute("data-value", "0")
    assert staying.evaluate(QUEUED_BATCHES) == []


def test_clicks_made_while_the_server_is_down_arrive_after_it_restarts(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """While the server is down the banner says so; the queued clicks arrive once it is back."""
    server_process.start(*FAST)
    page = open_game(context, server_process)
    click(page, 3)
    wait_for_server_score(page, 3)

    server_process.kill()
    banner = page.locator("#conn-banner")
    expect(banner).to_have_attribute("data-state", re.compile("reconnecting|offline"))
    click(page, 4)
    expect(page.locator("#count")).to_have_attribute("data-value", "7")
    batch = wait_for_queued_batches(page)[0]
    expect(banner).to_have_attribute("data-state", "offline", timeout=SLOW)

    server_process.start(*FAST)  # same port, same data directory
    expect(banner).to_have_attribute("data-state", "live", timeout=SLOW)
    wait_for_server_score(page, 7, timeout=SLOW)
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "0")
    assert push_again(page, batch)["duplicate"] is True


def test_throttled_clicks_are_corrected_to_the_servers_numbers(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """Clicks over the throttle show at once, then the count falls back to what the server took."""
    server_process.start(*FAST, "--max-cps", "2", "--burst-seconds", "1")
    page = open_game(context, server_process)
    page.evaluate(
        """() => {
            const count = document.getElementById("count");
            window.highest = 0;
            new MutationObserver(() => {
                window.highest = Math.max(window.highest, Number(count.dataset.value));
            }).observe(count, {attributes: true});
        }"""
    )
    click(page, 15)
    count = page.locator("#count")
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "0")
    expect(page.locator("#notice")).to_contain_text("Slow down")
    server = server_me(page)
    assert 0 < server["round_score"] < 15
    expect(count).to_have_attribute("data-value", str(server["round_score"]))
    assert page.evaluate("window.highest") > server["round_score"]  # shown first, then corrected
    expect(page.locator("#score")).to_have_attribute("data-value", str(server["score"]))


def test_the_round_result_shows_and_the_button_waits_for_the_next_round(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """Reaching the target shows the winner and disables the button until the next round."""
    server_process.start(*FAST, "--round-target", "5", "--round-break-seconds", "2")
    page = open_game(context, server_process)
    planet = page.locator("#my-planet").inner_text()
    expect(page.locator("#round-id")).to_have_text("1")
    click(page, 5)
    result = page.locator("#result")
    expect(result).to_contain_text(f"{planet} wins round 1")
    expect(result).to_contain_text("Your planet won")
    button = page.locator("#big-button")
    expect(button).to_be_disabled()
    expect(page.locator("#countdown-label")).to_have_text("next round in")
    page.keyboard.press("Space")  # no clicks between rounds
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "0")

    expect(page.locator("#round-id")).to_have_text("2", timeout=SLOW)
    expect(button).to_be_enabled()
    expect(result).to_be_hidden()
    expect(page.locator("#count")).to_have_attribute("data-value", "0")
    expect(page.locator("#score")).to_have_attribute("data-value", "5")


def test_clicks_refused_between_rounds_are_dropped_and_said_so(
    server_process: ServerProcess, browser: Browser, context: BrowserContext
) -> None:
    """Clicks that reach the server after the round ended are dropped, with a notice."""
    server_process.start(*FAST, "--round-target", "5", "--round-break-seconds", "30")
    page = open_game(context, server_process)
    page.route("**/api/push_clicks", lambda route: route.abort())
    page.route("**/api/ws-token", lambda route: route.abort())
    page.reload()  # cut off: the page still believes round 1 is on
    expect(page.locator("#conn-banner")).to_have_attribute("data-state", "offline")
    click(page, 3)
    wait_for_queued_batches(page)

    other = browser.new_context()
    try:
        winner = open_game(other, server_process)
        click(winner, 5)
        expect(winner.locator("#result")).to_contain_text("wins round 1")
    finally:
        other.close()

    page.unroute_all()
    page.click("#refresh")
    expect(page.locator("#notice")).to_contain_text("3 clicks came too late")
    expect(page.locator("#pending-line")).to_have_attribute("data-value", "0")
    expect(page.locator("#big-button")).to_be_disabled()
    assert page.evaluate(QUEUED_BATCHES) == []
    assert server_me(page)["score"] == 0


def test_rename_changes_the_name_and_shows_the_servers_refusal(
    server_process: ServerProcess, context: BrowserContext
) -> None:
    """Rename sends PATCH /api/me; the new name shows, and a refused one shows the reason."""
    server_process.start(*FAST)
    page = open_game(context, server_process)
    page.click("#rename")
    page.fill("#name-input", "  Ada Lovelace ")
    page.click("#rename-form button[type=submit]")
    expect(page.locator("#my-name")).to_have_text("Ada Lovelace")
    expect(page.locator("#rename-form")).to_be_hidden()
    assert server_me(page)["name"] == "Ada Lovelace"

    page.click("#rename")
    page.fill("#name-input", "no <tags> please")
    page.press("#name-input", "Enter")
    expect(page.locator("#rename-error")).to_contain_text("name must be")
    expect(page.locator("#my-name")).to_have_text("Ada Lovelace")
    expect(page.locator("#count")).to_have_attribute("data-value", "0")  # Enter in a form
