"""Property tests: random games against a small independent model of the rules (SPEC §3, §4).

A hypothesis state machine creates players, pushes random counts at random time steps (tiny ones
included), ticks, and makes admin moves (move, ban with and without revoke, unban, reset_score,
end_round). Like the actor, it ticks the engine before a command whenever a round is due. After
every step it checks the engine against the model:

- planet totals of the active round equal the sum of the recorded contributions, and equal the
  accepted clicks minus the revoked ones;
- no score or total is ever negative, and every score is what the model expects;
- over any window a player's accepted clicks stay within burst + max_cps * elapsed, and the
  pushes let through within 3 + elapsed / (CLICK_PUSH_RATE * 0.5);
- both leaderboards rank exactly like a brute-force sort by (score desc, order of reaching it);
- a refused command changes nothing at all.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.rules_model import (
    BAD_CLICKS,
    BATCH_IDS,
    LONG_STEPS,
    PLANETS,
    SHORT_STEPS,
    VALID_CLICKS,
    Game,
    Operation,
)


def op(name: str, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Operation]:
    return st.tuples(st.just(name), st.fixed_dictionaries(fields))


PLAYER = st.integers(0, 100)
OPERATION_KINDS: dict[str, tuple[int, st.SearchStrategy[Operation]]] = {
    # name: (weight, strategy); pushes dominate so that rounds fill up and throttling bites
    "push": (12, op("push", index=PLAYER, batch=BATCH_IDS, clicks=VALID_CLICKS, step=SHORT_STEPS)),
    "push_invalid": (1, op("push_invalid", index=PLAYER, clicks=BAD_CLICKS, step=SHORT_STEPS)),
    "create": (2, op("create", named=st.booleans())),
    "tick": (2, op("tick", step=LONG_STEPS)),
    "move": (2, op("move", index=PLAYER, planet=st.sampled_from([*PLANETS, "pluto"]))),
    "ban": (2, op("ban", index=PLAYER, revoke=st.booleans())),
    "unban": (2, op("unban", index=PLAYER)),
    "reset_score": (2, op("reset_score", index=PLAYER)),
    "end_round": (1, op("end_round", step=SHORT_STEPS)),
}
OPERATIONS = st.lists(
    st.sampled_from(
        [name for name, (weight, _) in OPERATION_KINDS.items() for _ in range(weight)]
    ).flatmap(lambda name: OPERATION_KINDS[name][1]),
    min_size=10,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(operations=OPERATIONS)
def test_random_games_keep_every_invariant(operations: list[Operation]) -> None:
    """Any mix of creates, pushes, ticks and admin moves keeps the engine equal to the model."""
    game = Game()
    game.check()
    for name, fields in operations:
        getattr(game, name)(**fields)
        game.check()
