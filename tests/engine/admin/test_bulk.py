"""Bulk jobs (SPEC §8): chunked steps, progress, cancel, and the interrupted state."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.admin import bulk
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.state import GameState
from tests.conftest import T0, add_player, apply_command, fingerprint, push, run_query


def cmd(state: GameState, op: str, now: float = T0, **fields: Any) -> Any:
    return apply_command(state, {"op": op, "now": now, "admin": "tok", "reason": "r", **fields})


def step(
    state: GameState, job_id: int, limit: int, now: float = T0 + 1, scan: int = bulk.SCAN
) -> dict[str, Any]:
    return apply_command(
        state,
        {"op": "admin_bulk_step", "job_id": job_id, "limit": limit, "scan": scan, "now": now},
    )


def patch(state: GameState, player_id: str, **fields: Any) -> None:
    cmd(state, "admin_patch_player", player_id=player_id, **fields)


@pytest.fixture
def crowd(state: GameState) -> GameState:
    """Twelve players, each with a few clicks; the odd ones on mars."""
    for i in range(12):
        add_player(state, f"p{i:02d}")
        push(state, f"p{i:02d}", "b", [i + 1], T0)
    return state


def test_a_job_over_a_filter_counts_its_matches_and_leaves_later_players_alone(
    crowd: GameState,
) -> None:
    """``total`` is what the filter matched at creation; players who joined after the job are
    never reached, even when they match."""
    job = cmd(crowd, "admin_bulk_create", action="ban", filter={"planet": "mars"})
    assert (job["total"], job["status"], job["selection"]) == (
        6,
        "running",
        {"filter": {"planet": "mars"}},
    )
    add_player(crowd, "late")
    patch(crowd, "late", planet="mars")
    progress = step(crowd, job["id"], 4)
    assert (progress["processed"], progress["done"], progress["remaining"]) == (4, 4, 2)
    progress = step(crowd, job["id"], 4)
    assert (progress["status"], progress["done"], progress["progress"]) == ("done", 6, 1.0)
    banned = sorted(p.id for p in crowd.players.values() if p.status == "banned")
    assert banned == [f"p{i:02d}" for i in range(1, 12, 2)]
    assert [e["action"] for e in crowd.audit] == ["bulk_create", "patch", "bulk_done"]
    with pytest.raises(Conflict):
        step(crowd, job["id"], 4)


def test_cancel_keeps_what_was_done_and_reports_it(crowd: GameState) -> None:
    """A cancelled job stops; the players it already reached stay changed and are counted."""
    ids = [f"p{i:02d}" for i in range(12)]
    job = cmd(crowd, "admin_bulk_create", action="reset_score", player_ids=ids)
    step(crowd, job["id"], 5)
    cancelled = cmd(crowd, "admin_bulk_cancel", job_id=job["id"])
    assert (cancelled["status"], cancelled["done"], cancelled["remaining"]) == ("cancelled", 5, 7)
    assert [crowd.players[i].score for i in ids] == [0] * 5 + list(range(6, 13))
    with pytest.raises(Conflict):
        step(crowd, job["id"], 5)
    with pytest.raises(Conflict):
        cmd(crowd, "admin_bulk_cancel", job_id=job["id"])


def test_skipped_targets_are_counted_not_failed(crowd: GameState) -> None:
    """Unknown ids and players already in the wanted state are skipped."""
    cmd(crowd, "admin_ban", player_id="p00")
    job = cmd(crowd, "admin_bulk_create", action="unban", player_ids=["p00", "p01", "ghost"])
    done = step(crowd, job["id"], 10)
    assert (done["done"], done["skipped"]) == (1, 2)
    moved = cmd(
        crowd, "admin_bulk_create", action="move_planet", planet="mars", player_ids=["p00", "p01"]
    )
    assert step(crowd, moved["id"], 10)["done"] == 1
    assert crowd.players["p00"].planet == "mars"


def test_an_interrupted_job_resumes_only_by_an_admin(crowd: GameState) -> None:
    """A job running at shutdown is interrupted; it can be stepped by a replay or resumed."""
    job = cmd(crowd, "admin_bulk_create", action="ban", player_ids=["p00", "p01", "p02"])
    step(crowd, job["id"], 1)
    assert bulk.interrupt_running(crowd) == [job["id"]]
    assert bulk.running_jobs(crowd) == []
    info = run_query(crowd, {"op": "admin_bulk_job", "job_id": job["id"]})
    assert (info["status"], info["done"]) == ("interrupted", 1)
    resumed = cmd(crowd, "admin_bulk_resume", job_id=job["id"])
    assert resumed["status"] == "running"
    with pytest.raises(Conflict):
        cmd(crowd, "admin_bulk_resume", job_id=job["id"])


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "explode", "player_ids": ["p00"]},
        {"action": "ban"},
        {"action": "ban", "player_ids": ["p00"], "filter": {}},
        {"action": "ban", "player_ids": []},
        {"action": "ban", "player_ids": [1]},
        {"action": "move_planet", "player_ids": ["p00"], "planet": "pluto"},
        {"action": "ban", "filter": {"sort": "age"}},
    ],
)
def test_a_bad_job_is_refused_before_it_exists(crowd: GameState, fields: dict[str, Any]) -> None:
    """Every malformed job is an invalid_request and no job is made."""
    with pytest.raises(InvalidRequest):
        cmd(crowd, "admin_bulk_create", **fields)
    assert crowd.bulk_jobs == {}


def test_steps_refuse_a_bad_limit_or_job(crowd: GameState) -> None:
    """The step's limit is 1 to MAX_STEP; an unknown job is not_found."""
    job = cmd(crowd, "admin_bulk_create", action="ban", player_ids=["p00"])
    with pytest.raises(InvalidRequest):
        step(crowd, job["id"], 0)
    with pytest.raises(NotFound):
        step(crowd, 99, 1)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["ban", "reset_score", "move_planet"]),
    st.lists(st.integers(1, 5), min_size=1, max_size=8),
    st.integers(0, 8),
    st.booleans(),
)
def test_steps_and_cancel_leave_a_consistent_state(action, limits, cancel_after, revoke) -> None:
    """Whatever the step sizes and a cancel, every processed target is changed, no other is,
    and the planet totals still equal the recorded contributions."""
    from engine.rules import Rules
    from engine.state import new_state

    state = new_state(Rules(), ["earth", "mars"])
    apply_command(state, {"op": "tick", "now": T0})
    for i in range(10):
        add_player(state, f"q{i}")
        push(state, f"q{i}", "b", [i + 1], T0)
    extra = {"planet": "mars"} if action == "move_planet" else {}
    if action == "ban":
        extra = {"revoke_round_clicks": revoke}
    job = cmd(state, "admin_bulk_create", action=action, filter={"score_min": 3}, **extra)
    for n, limit in enumerate(limits):
        if n == cancel_after:
            cmd(state, "admin_bulk_cancel", job_id=job["id"])
            break
        if step(state, job["id"], limit)["status"] == "done":
            break
    info = run_query(state, {"op": "admin_bulk_job", "job_id": job["id"]})
    cursor = state.bulk_jobs[job["id"]].cursor  # the slots the walk has passed
    reached = {f"q{i}" for i in range(2, 10) if state.players[f"q{i}"].slot < cursor}
    assert info["done"] + info["skipped"] == info["processed"] == len(reached)
    for pid, player in state.players.items():
        changed = {
            "ban": player.status == "banned",
            "reset_score": player.score == 0,
            "move_planet": player.planet == "mars",
        }[action]
        original_mars = player.slot % 2 == 1
        assert changed == (pid in reached or (action == "move_planet" and original_mars))
    assert state.current is not None
    for planet, by_player in state.current.contributions.items():
        assert state.current.totals[planet] == sum(map(sum, by_player.values()))


def test_a_filter_is_tested_on_each_player_when_the_cursor_reaches_them(
    crowd: GameState,
) -> None:
    """A player who matched at creation but no longer does when reached is left alone; one who
    did not match then but does when reached is included; ``remaining`` follows the count at
    creation and a finished job has none."""
    job = cmd(crowd, "admin_bulk_create", action="ban", filter={"planet": "mars"})
    first = step(crowd, job["id"], 2)  # p01 and p03
    assert (first["processed"], first["remaining"]) == (2, 4)
    patch(crowd, "p05", planet="earth")  # matched at creation, not when reached
    patch(crowd, "p08", planet="mars")  # the other way round
    done = step(crowd, job["id"], 100)
    banned = sorted(p.id for p in crowd.players.values() if p.status == "banned")
    assert banned == ["p01", "p03", "p07", "p08", "p09", "p11"]
    assert (done["status"], done["total"], done["processed"], done["remaining"]) == (
        "done",
        6,
        6,
        0,
    )


def test_a_step_over_a_filter_tests_at_most_scan_slots(crowd: GameState) -> None:
    """A step reaches at most ``limit`` players among at most ``scan`` slots, so a filter that
    matches few players still moves in short steps; progress follows the slots walked."""
    cmd(crowd, "admin_ban", player_id="p10")
    job = cmd(crowd, "admin_bulk_create", action="unban", filter={"status": "banned"})
    assert job["total"] == 1
    quiet = step(crowd, job["id"], 5, scan=4)  # slots 0-3: no banned player there
    assert (quiet["processed"], quiet["progress"], quiet["status"]) == (
        0,
        round(4 / 12, 4),
        "running",
    )
    step(crowd, job["id"], 5, scan=4)
    last = step(crowd, job["id"], 5, scan=4)
    assert (last["status"], last["done"], last["progress"]) == ("done", 1, 1.0)
    with pytest.raises(InvalidRequest):
        step(crowd, job["id"], 5, scan=0)


def test_a_finished_or_cancelled_job_keeps_only_its_summary(crowd: GameState) -> None:
    """Once done or cancelled a job holds no ids, whatever it was made over; its counts stay."""
    ids = [f"p{i:02d}" for i in range(12)]
    over_ids = cmd(crowd, "admin_bulk_create", action="reset_score", player_ids=ids)
    assert crowd.bulk_jobs[over_ids["id"]].ids == ids
    step(crowd, over_ids["id"], 5)
    cmd(crowd, "admin_bulk_cancel", job_id=over_ids["id"])
    over_filter = cmd(crowd, "admin_bulk_create", action="ban", filter={"planet": "earth"})
    step(crowd, over_filter["id"], 100)
    for job_id in (over_ids["id"], over_filter["id"]):
        assert crowd.bulk_jobs[job_id].ids is None
    summary = run_query(crowd, {"op": "admin_bulk_job", "job_id": over_ids["id"]})
    assert (summary["status"], summary["done"], summary["total"]) == ("cancelled", 5, 12)
    assert summary["selection"] == {"player_ids": 12}


def test_a_record_from_before_the_walk_takes_the_ids_matched_at_creation(
    crowd: GameState,
) -> None:
    """``walk: false`` (what a journal of an earlier version holds) targets the players the
    filter matched at creation, whatever they become before they are reached."""
    job = cmd(crowd, "admin_bulk_create", action="ban", filter={"planet": "mars"}, walk=False)
    assert crowd.bulk_jobs[job["id"]].ids == [f"p{i:02d}" for i in range(1, 12, 2)]
    patch(crowd, "p05", planet="earth")
    step(crowd, job["id"], 100)
    banned = sorted(p.id for p in crowd.players.values() if p.status == "banned")
    assert banned == [f"p{i:02d}" for i in range(1, 12, 2)]


@settings(max_examples=80, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "planet": st.sampled_from(["earth", "mars"]),
            "score_min": st.integers(0, 14),
            "score_max": st.integers(0, 14),
            "search": st.sampled_from(["p0", "P1", "1", "am", "0000", "x"]),
        },
    ),
    st.integers(1, 4),
    st.integers(1, 6),
)
def test_with_nothing_changing_a_walk_reaches_exactly_what_the_filter_matched(
    query: dict[str, Any], limit: int, scan: int
) -> None:
    """Whatever the step's limit and scan, a walk over a game that does not change reaches
    exactly the players the listing's filters match (a search included), no step reaching more
    than ``limit`` players or testing more than ``scan`` slots."""
    from engine.rules import Rules
    from engine.state import new_state

    state = new_state(Rules(), ["earth", "mars"])
    apply_command(state, {"op": "tick", "now": T0})
    for i in range(15):
        player_id = f"p{i:02d}-{i * 7:04d}"
        add_player(state, player_id, name="Sam" if i % 3 else f"Pam{i}")
        if i:
            push(state, player_id, "b", [i], T0)
    listing = run_query(state, {"op": "admin_players", "query": {"limit": 500, **query}})
    job = cmd(state, "admin_bulk_create", action="ban", filter=query)
    assert job["total"] == listing["total_count"]
    walked = state.bulk_jobs[job["id"]]
    while walked.status == "running":
        cursor, processed = walked.cursor, walked.done + walked.skipped
        step(state, job["id"], limit, scan=scan)
        assert walked.cursor - cursor <= scan and walked.done + walked.skipped - processed <= limit
    banned = {p.id for p in state.players.values() if p.status == "banned"}
    assert banned == {row["id"] for row in listing["players"]}
    assert (walked.done, walked.skipped) == (len(banned), 0)


def test_a_walk_across_the_name_blocks_finds_what_the_listing_finds(state: GameState) -> None:
    """Windows that start and end inside the index's blocks of names find, together, exactly
    the players a search over the whole game finds."""
    for i in range(9000):
        add_player(state, f"{i:05d}-id", name=f"n{i * 37 % 1000:03d}x")

    def run(action: str, query: dict[str, Any]) -> dict[str, Any]:
        job = cmd(state, "admin_bulk_create", action=action, filter=query)
        while state.bulk_jobs[job["id"]].status == "running":
            step(state, job["id"], 5000, scan=2500)
        return job

    for search in ("12", "0801", "n99", "33x"):
        listing = run_query(
            state, {"op": "admin_players", "query": {"search": search, "limit": 500}}
        )
        assert 0 < listing["total_count"] <= 500
        job = run("ban", {"search": search})
        banned = {p.id for p in state.players.values() if p.status == "banned"}
        assert banned == {row["id"] for row in listing["players"]}
        assert job["total"] == len(banned)
        run("unban", {"status": "banned"})


def test_each_step_names_the_players_it_changed(crowd: GameState) -> None:
    """A step's event names the players it reached, so their pages hear at once; only a ban's
    step also names them for closing."""
    mars = sorted(p.id for p in crowd.players.values() if p.planet == "mars")
    job = cmd(crowd, "admin_bulk_create", action="move_planet", planet="earth", player_ids=mars)
    crowd.outbox.clear()
    step(crowd, job["id"], 4)
    event = crowd.outbox[-1]
    assert (event["changed"], "banned" in event) == (mars[:4], False)
    job = cmd(crowd, "admin_bulk_create", action="ban", player_ids=mars[:2])
    step(crowd, job["id"], 5)
    assert crowd.outbox[-1]["changed"] == crowd.outbox[-1]["banned"] == mars[:2]


def test_a_filter_job_reads_its_search_as_the_listing_does(crowd: GameState) -> None:
    """A job's search is trimmed like the listing's, and one on two lines or a time that is not
    a finite number is refused before any job exists."""
    job = cmd(crowd, "admin_bulk_create", action="ban", filter={"search": "  p0 "})
    assert job["selection"] == {"filter": {"search": "p0"}}
    for bad in ({"search": "p0\np1"}, {"search": "   "}, {"active_since": float("inf")}):
        with pytest.raises(InvalidRequest) as refused:
            cmd(crowd, "admin_bulk_create", action="ban", filter=bad)
        assert refused.value.details["field"] in ("search", "active_since"), bad
    assert list(crowd.bulk_jobs) == [job["id"]]


def test_a_dry_run_counts_and_names_what_the_job_would_reach_and_creates_nothing(
    crowd: GameState,
) -> None:
    """Over a filter: the job's own total and the first ten matches in the order it walks; over
    ids: the ids that are players, once each. No job, no audit entry, no change."""
    for i in range(12, 24):
        add_player(crowd, f"p{i:02d}")
    before = fingerprint(crowd)
    preview = run_query(crowd, {"op": "admin_bulk_preview", "action": "ban", "filter": {}})
    assert (preview["dry_run"], preview["total"]) == (True, 24)
    assert preview["sample"] == [{"id": f"p{i:02d}", "name": f"player-p{i:02d}"} for i in range(10)]
    mars = {"op": "admin_bulk_preview", "action": "ban", "filter": {"planet": "mars"}}
    by_ids = {"op": "admin_bulk_preview", "action": "unban", "player_ids": ["p03", "nobody", "p03"]}
    assert run_query(crowd, by_ids) == {
        "dry_run": True,
        "total": 1,
        "sample": [{"id": "p03", "name": "player-p03"}],
    }
    counted = run_query(crowd, mars)["total"]
    assert (fingerprint(crowd), crowd.bulk_jobs) == (before, {})
    assert cmd(crowd, "admin_bulk_create", action="ban", filter={"planet": "mars"})["total"] == (
        counted
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "explode", "player_ids": ["p00"]},
        {"action": "ban"},
        {"action": "ban", "player_ids": ["p00"], "filter": {}},
        {"action": "move_planet", "player_ids": ["p00"], "planet": "pluto"},
        {"action": "ban", "filter": {"sort": "age"}},
    ],
)
def test_a_dry_run_refuses_what_the_job_would(crowd: GameState, fields: dict[str, Any]) -> None:
    """A dry run of a malformed job is the same invalid_request the job would get."""
    with pytest.raises(InvalidRequest):
        run_query(crowd, {"op": "admin_bulk_preview", **fields})
