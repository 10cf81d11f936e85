"""Games for the listing's tests: players joining, pushing, renamed, moved, banned, flagged."""

from __future__ import annotations

from hypothesis import strategies as st

from engine.rules import Rules
from engine.state import GameState, new_state
from tests.conftest import T0, apply_command

NAMES = ["Ann", "anna", "Bob", "bo b", "Zed", "Émile", "ann-marie", "xx_ANN"]
PLANETS = ["earth", "mars", "venus"]


def build_game(moves: list[tuple[int, int, int, bool, bool]]) -> GameState:
    """Players joining over time, some pushing, renamed, banned, moved or flagged; two rounds."""
    state = new_state(Rules(round_seconds=1000.0), PLANETS)
    apply_command(state, {"op": "tick", "now": T0})
    now = T0
    for i, (name, clicks, planet, banned, flagged) in enumerate(moves):
        now += 1.0
        pid = f"id{i:03d}-{i * 7919 % 1000:03d}"
        apply_command(state, {"op": "create_player", "player_id": pid, "now": now})
        if clicks:
            push = {"op": "push", "player_id": pid, "batch_id": "b", "clicks": [clicks]}
            apply_command(state, {**push, "now": now})
        if i % 3 == 0:
            apply_command(
                state, {"op": "rename", "player_id": pid, "name": NAMES[name], "now": now}
            )
        admin = {"admin": "t", "reason": "r", "player_id": pid, "now": now}
        if planet:
            apply_command(state, {**admin, "op": "admin_patch_player", "planet": PLANETS[planet]})
        if banned:
            apply_command(state, {**admin, "op": "admin_ban"})
        if flagged:
            apply_command(state, {**admin, "op": "admin_flag"})
        if i == len(moves) // 2:  # half the players' round scores are from round 1
            apply_command(state, {"op": "end_round", "now": now})
            apply_command(state, {"op": "tick", "now": now + 100})
            now += 100
    return state


players = st.lists(
    st.tuples(
        st.integers(0, len(NAMES) - 1),
        st.sampled_from([0, 0, 1, 5, 5, 30]),
        st.integers(0, 2),
        st.booleans(),
        st.booleans(),
    ),
    min_size=0,
    max_size=30,
)

queries = st.fixed_dictionaries(
    {"page": st.integers(1, 3), "limit": st.integers(1, 5)},  # pages that cut ties in two
    optional={
        "search": st.sampled_from(["ann", "AN", "b", "id00", "id01", "é", "zzz", "-"]),
        "planet": st.sampled_from(PLANETS),
        "status": st.sampled_from(["active", "banned"]),
        "score_min": st.sampled_from([0, 1, 5, 6]),
        "score_max": st.sampled_from([0, 5, 30]),
        "round_score_min": st.sampled_from([1, 5]),
        "round_score_max": st.sampled_from([0, 5]),
        "active_since": st.floats(T0, T0 + 200),
        "created_since": st.floats(T0, T0 + 200),
        "flagged": st.booleans(),
        "sort": st.sampled_from(["score", "round_score", "last_click", "created", "name"]),
        "order": st.sampled_from(["asc", "desc"]),
    },
)
