"""Boards as changes (SPEC §6): what one published board changed against the last one sent.

Every ``board`` message carries every planet's total, so a tool that reads only the race keeps
working; the rest — the round, the leaderboards' rows, the names, ``online`` — comes only when it
changed since the base board, whose version the message names (``base``). A leaderboard row is
named by its player's board key (``LeaderEntry.key``, the player's slot, which ``me.key`` gives
a client for its own rows): the snapshot and the ``players`` changes introduce a key with its name
and planet once, and from then on a row costs ``key`` in the order and ``[key, score]`` when its
score moves. A player's id is not on the live board: it is in the snapshot's rows and in
``/api/leaderboard``. When the all-time rows change exactly as the round's do (the first round of
a game, or a round led by the all-time leaders), ``all`` says ``"round"`` instead of repeating them.

The change is computed once per tick from two immutable boards, so it is the same for every
client and is encoded once per subprotocol. ``apply_board`` is the client's side, in Python: the
reference the page's ``state.js`` follows and the tests hold the server to.
"""

from __future__ import annotations

from typing import Any, Final

from msgspec import UNSET

from engine.view import Board, LeaderEntry
from server.models import (
    BoardChanges,
    BoardMessage,
    LeaderboardChanges,
    RowChanges,
    RowPlayer,
)

SCOPES = ("round", "all")
# The parts of a board sent whole when they changed (the planets are sent every time).
PLAIN = ("round", "online", "players_total")
SAME_AS_ROUND: Final = "round"  # ``all``'s changes, when they are exactly the round's


class MissedBoard(Exception):
    """A board built on a version the client does not hold: it asks for ``resync``."""


def board_message(base: Board, board: Board) -> BoardMessage:
    """The ``board`` message that takes a client holding ``base`` to ``board``."""
    return BoardMessage(v=board.version, base=base.version, data=board_changes(base, board))


def board_changes(base: Board, board: Board) -> BoardChanges:
    changes = BoardChanges(planets=board.planets)
    for name in PLAIN:
        value = getattr(board, name)
        if value != getattr(base, name):
            setattr(changes, name, value)
    if (board.paused, board.pause_reason, board.paused_at) != (
        base.paused,
        base.pause_reason,
        base.paused_at,
    ):
        changes.paused, changes.pause_reason = board.paused, board.pause_reason
        changes.paused_at = board.paused_at
    round_rows = row_changes(base.leaderboard.round, board.leaderboard.round)
    all_rows = row_changes(base.leaderboard.all, board.leaderboard.all)
    if round_rows is not None or all_rows is not None:
        rows = LeaderboardChanges()
        if round_rows is not None:
            rows.round = round_rows
        if all_rows is not None:
            rows.all = SAME_AS_ROUND if all_rows == round_rows else all_rows
        changes.leaderboard = rows
    players = new_players(base, board)
    if players:
        changes.players = players
    return changes


def row_changes(base: tuple[LeaderEntry, ...], rows: tuple[LeaderEntry, ...]) -> RowChanges | None:
    """The order when it moved, and ``[key, score]`` of each row whose score is new."""
    change = RowChanges()
    order = [row.key for row in rows]
    if order != [row.key for row in base]:
        change.top = order
    before = {row.key: row.score for row in base}
    scores = [(row.key, row.score) for row in rows if before.get(row.key) != row.score]
    if scores:
        change.scores = scores
    if change.top is UNSET and change.scores is UNSET:
        return None
    return change


def new_players(base: Board, board: Board) -> list[RowPlayer]:
    """Players of the new rows that the base rows did not hold, or held with another name."""
    known = {row.key: row for scope in SCOPES for row in getattr(base.leaderboard, scope)}
    found: dict[int, RowPlayer] = {}
    for scope in SCOPES:
        for row in getattr(board.leaderboard, scope):
            if row.key in found:
                continue
            was = known.get(row.key)
            if was is None or (was.name, was.planet) != (row.name, row.planet):
                found[row.key] = (row.key, row.name, row.planet)
    return list(found.values())


# -- the client's side ----------------------------------------------------------------------


def apply_board(held: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """The whole board after ``message``, from the whole board ``held`` (plain decoded values).

    ``held`` is a snapshot's data or the result of the last call; its ``version`` must be the
    message's ``base``, else ``MissedBoard``. ``held`` itself is not changed. The rows come out
    without ``id``: the live board names a row by ``key`` alone.
    """
    if message["base"] != held["version"]:
        base, have = message["base"], held["version"]
        raise MissedBoard(f"board {message['v']} builds on {base}, the client holds {have}")
    data = message["data"]
    board = dict(held, version=message["v"], planets=data["planets"])
    for name in (*PLAIN, "paused", "pause_reason", "paused_at"):
        if name in data:
            board[name] = data[name]
    players = {
        row["key"]: (row["name"], row["planet"])
        for scope in SCOPES
        for row in held["leaderboard"][scope]
    }
    for key, name, planet in data.get("players", ()):
        players[key] = (name, planet)
    changes = data.get("leaderboard", {})
    leaderboard = {}
    for scope in SCOPES:
        rows = held["leaderboard"][scope]
        change = changes.get(scope, {})
        if change == SAME_AS_ROUND:
            change = changes["round"]
        scores = {row["key"]: row["score"] for row in rows}
        scores.update((key, score) for key, score in change.get("scores", ()))
        order = change.get("top", [row["key"] for row in rows])
        leaderboard[scope] = [
            {
                "rank": rank,
                "name": players[key][0],
                "planet": players[key][1],
                "score": scores[key],
                "key": key,
            }
            for rank, key in enumerate(order, 1)
        ]
    board["leaderboard"] = leaderboard
    return board
