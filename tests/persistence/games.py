"""Random games for persistence tests: command lists played the way the actor plays them.

``play`` applies each command through ``engine.commands.apply`` with the actor's rules of
journaling: a ``tick`` goes first whenever a round is due, a refused command is dropped, and a
command is recorded only when it changed the state. The records are what the journal would hold.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from engine import commands
from engine.errors import GameError
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.conftest import T0, apply_command, fingerprint

RULES = Rules(
    max_cps=5,
    burst_seconds=2.0,
    round_target=60,
    round_seconds=40.0,
    round_break_seconds=3.0,
    batch_memory=4,
)
PLANETS = ["earth", "mars", "venus"]
PLAYER_IDS = [f"p{i}" for i in range(6)]

Command = dict[str, Any]

player_ids = st.sampled_from(PLAYER_IDS)
steps = st.one_of(st.just(0.0), st.floats(0.01, 1.5), st.floats(1.5, 45.0))

push = st.builds(
    lambda pid, batch, clicks: {
        "op": "push",
        "player_id": pid,
        "batch_id": batch,
        "clicks": clicks,
    },
    player_ids,
    st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]),
    st.lists(st.integers(1, 30), min_size=1, max_size=3),
)

other = st.one_of(
    st.builds(
        lambda pid, name: {"op": "create_player", "player_id": pid, "name": name},
        player_ids,
        st.one_of(st.none(), st.text("abc XYZ_-é", min_size=1, max_size=10)),
    ),
    st.builds(lambda pid: {"op": "rename", "player_id": pid, "name": "Renamed"}, player_ids),
    st.builds(
        lambda pid, planet: {"op": "move_player", "player_id": pid, "planet": planet},
        player_ids,
        st.sampled_from(PLANETS),
    ),
    st.builds(
        lambda pid, revoke: {"op": "ban", "player_id": pid, "revoke_round_clicks": revoke},
        player_ids,
        st.booleans(),
    ),
    st.builds(lambda pid: {"op": "unban", "player_id": pid}, player_ids),
    st.builds(lambda pid: {"op": "reset_score", "player_id": pid}, player_ids),
    st.builds(
        lambda target, seconds: {"op": "queue_round", "target": target, "seconds": seconds},
        st.integers(5, 100),
        st.integers(5, 60),
    ),
    st.just({"op": "end_round"}),
    st.just({"op": "tick"}),
)
command = st.booleans().flatmap(lambda is_push: push if is_push else other)  # half are pushes

joins = [(0.0, {"op": "create_player", "player_id": pid, "name": None}) for pid in PLAYER_IDS[:4]]
# Four players join first, so most pushes land; the other ids may join later or never.
games = st.lists(st.tuples(steps, command), min_size=3, max_size=60).map(
    lambda moves: joins + moves
)


def play(
    moves: list[tuple[float, Command]], state: GameState | None = None, start: float = T0
) -> tuple[GameState, list[Command], float]:
    """Play the moves on ``state`` (a new game when None); return it, the records and the time."""
    if state is None:
        state = new_state(RULES, PLANETS)
    records: list[Command] = []
    now = start
    for step, cmd in moves:
        now += step
        if commands.is_due(state, now):
            tick = {"op": "tick", "now": now}
            apply_command(state, tick)
            records.append(tick)
        if cmd["op"] == "tick":
            continue
        stamped = {**cmd, "now": now}
        before = state.version
        try:
            apply_command(state, stamped)
        except GameError:
            continue
        if state.version != before:
            records.append(stamped)
    return state, records, now


def full_print(state: GameState) -> dict[str, Any]:
    """``fingerprint`` plus every order a dict comparison would ignore, and the ranks."""
    printed = fingerprint(state)
    printed["players_order"] = list(state.players)
    printed["batch_order"] = {pid: p.batch_ids for pid, p in state.players.items()}
    printed["slots"] = list(state.slots.ids)
    current = state.current
    printed["contribution_order"] = (
        None
        if current is None
        else {planet: list(by_player) for planet, by_player in current.contributions.items()}
    )
    printed["ranks"] = {
        pid: (state.all_board.rank(p.slot), state.round_board.rank(p.slot))
        for pid, p in state.players.items()
    }
    return printed
