"""Random games for the board-changes tests, in Python and, through ``main``, for the page's.

``Game`` plays steps through the engine's command table as the actor would (new players, pushes,
renames, moves, bans, resets, round ends and starts, pauses, the online count) with a top of 3
rows, so rows enter, leave and swap often. ``python -m tests.server.board_games SEED`` prints a
few such games as JSON: each game's first snapshot, then every board message and the whole
board a client must hold after it (``tests/js/board_changes.test.mjs`` reads it).
"""

from __future__ import annotations

import random
import sys
from typing import Any

import orjson

from engine.errors import GameError
from engine.rules import Rules
from engine.state import new_state
from engine.view import Board, build_board
from server import ws_protocol as proto
from server.board_changes import board_message
from server.models import ClientSettings
from server.public_view import snapshot
from settings import Settings
from tests.conftest import T0, apply_command

RULES = Rules(max_cps=5, burst_seconds=2.0, round_target=80, round_seconds=30.0, top_n=3)
PLANETS = ["earth", "mars", "venus"]
NAMES = ["ann", "bob", "cé", "dee", "名前"]
PLAYER_STEPS = ("push", "push", "push", "rename", "move", "ban", "unban", "reset")
CLIENT_SETTINGS = ClientSettings.of(Settings())


class Game:
    """A game, the boards it publishes and the clock, as the actor runs them."""

    def __init__(self) -> None:
        self.state = new_state(RULES, PLANETS)
        self.now = T0
        self.online = 0
        self.version = 0
        self.ids: list[str] = []
        apply_command(self.state, {"op": "tick", "now": self.now})

    def board(self) -> Board:
        self.version += 1
        return build_board(self.state, self.version, self.online)

    def step(self, step: tuple[Any, ...]) -> None:
        kind, *args = step
        self.now += 0.3
        if kind == "wait":
            self.now += args[0]
        if kind == "online":
            self.online = max(0, self.online + args[0])
            return
        cmd = self.command(kind, args)
        if cmd is None:
            return
        try:
            apply_command(self.state, {"op": "tick", "now": self.now})
            apply_command(self.state, {**cmd, "now": self.now})
        except GameError:
            pass

    def command(self, kind: str, args: list[Any]) -> dict[str, Any] | None:
        admin = {"admin": "ops", "reason": "test"}
        if kind == "create":
            self.ids.append(f"p{len(self.ids)}")
            return {"op": "create_player", "player_id": self.ids[-1], "name": args[0]}
        if kind in ("wait", "end_round"):
            return {"op": "tick"} if kind == "wait" else {"op": "end_round"}
        if kind == "pause":
            return {"op": "admin_pause" if args[0] else "admin_resume", **admin}
        if not self.ids:
            return None
        pid = self.ids[args[0] % len(self.ids)]
        return {
            "push": lambda: {"op": "push", "batch_id": f"b{self.version}", "clicks": [args[1]]},
            "rename": lambda: {"op": "rename", "name": args[1]},
            "move": lambda: {"op": "move_player", "planet": args[1]},
            "ban": lambda: {"op": "ban", "revoke_round_clicks": args[1]},
            "unban": lambda: {"op": "unban"},
            "reset": lambda: {"op": "reset_score"},
        }[kind]() | {"player_id": pid}


def random_step(rng: random.Random) -> tuple[Any, ...]:
    """One step, drawn like the hypothesis strategy in ``tests/server/test_board_changes.py``."""
    kind = rng.choice(("create", "create", *PLAYER_STEPS, "end_round", "pause", "online", "wait"))
    player = rng.randrange(8)
    return {
        "create": ("create", rng.choice(NAMES)),
        "push": ("push", player, rng.randint(1, 12)),
        "rename": ("rename", player, rng.choice(NAMES)),
        "move": ("move", player, rng.choice(PLANETS)),
        "ban": ("ban", player, rng.random() < 0.5),
        "unban": ("unban", player),
        "reset": ("reset", player),
        "end_round": ("end_round",),
        "pause": ("pause", rng.random() < 0.5),
        "online": ("online", rng.randint(-2, 2)),
        "wait": ("wait", rng.uniform(0.1, 15.0)),
    }[kind]


def full(board: Board, codec: proto.Codec = proto.JSON) -> dict[str, Any]:
    """The board as a snapshot carries it, through the codec (what a resync gives)."""
    data = codec.decode(codec.encode(snapshot(board, CLIENT_SETTINGS)))
    del data["settings"]
    return data


def live(board: dict[str, Any]) -> dict[str, Any]:
    """A whole board as the live board holds it: rows are named by key, not by player id."""
    rows = {
        scope: [{k: v for k, v in row.items() if k != "id"} for row in entries]
        for scope, entries in board["leaderboard"].items()
    }
    return dict(board, leaderboard=rows)


def wire(base: Board, board: Board, codec: proto.Codec = proto.JSON) -> dict[str, Any]:
    return codec.decode(codec.encode(board_message(base, board)))


def recorded_game(rng: random.Random, steps: int) -> dict[str, Any]:
    """A game's first snapshot and, after each step that a tick sent, the message and board."""
    game = Game()
    base = game.board()
    first = full(base)
    boards = []
    for _ in range(steps):
        game.step(random_step(rng))
        board = game.board()
        if rng.random() < 0.3:
            continue  # published, but no tick came before the next turn
        boards.append({"message": wire(base, board), "board": live(full(board))})
        base = board
    return {"snapshot": first, "boards": boards}


def main(argv: list[str]) -> int:
    rng = random.Random(int(argv[0]) if argv else 0)
    games = [recorded_game(rng, 60) for _ in range(12)]
    sys.stdout.buffer.write(orjson.dumps(games))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
