"""The engine's side of the board channel as the bus tests play it, over a real game.

``Publisher`` publishes the boards of ``tests.server.board_games.Game`` as the engine will: each
publication's frames are the changes against the previous publication of the same epoch, in both
subprotocols, with the whole board beside them; a restart starts a new epoch whose board
versions count from 1 again, as a new actor's do. ``Client`` is one socket's page: it holds what
a snapshot gave it and applies forwarded frames with ``apply_board``, the client's reference.
"""

from __future__ import annotations

from typing import Any

from bus.board_feed import Action
from bus.wire import Publication
from engine.view import Board
from server import ws_protocol as proto
from server.board_changes import apply_board, board_message
from tests.server.board_games import Game, full, live

CODECS = (proto.JSON, proto.MSGPACK)


class Publisher:
    def __init__(self) -> None:
        self.game = Game()
        self.epoch = 1
        self.last: Board | None = None  # the epoch's previous publication's board
        self.latest: Publication | None = None  # what the latest-board key holds

    def publish(self) -> Publication:
        board = self.game.board()
        base = self.last or board  # the first of an epoch builds on nothing a gateway holds
        frames = {c.name: proto.encode_frame(c, board_message(base, board)) for c in CODECS}
        base_version = 0 if self.last is None else self.last.version
        self.latest = Publication(self.epoch, board.version, base_version, frames, board)
        self.last = board
        return self.latest

    def restart(self) -> None:
        """A new engine process: the same game (from its files), a new epoch, versions from 1."""
        self.epoch += 1
        self.game.version = 0
        self.last = None


def frame_payload(frame: bytes) -> bytes:
    """The payload of one unmasked server frame (RFC 6455 §5.2)."""
    length = frame[1] & 0x7F
    header = 2 if length < 126 else 4 if length == 126 else 10
    return frame[header:]


class Client:
    """A page on one subprotocol: it holds only what the gateway sent it."""

    def __init__(self, codec: proto.Codec = proto.JSON) -> None:
        self.codec = codec
        self.board: dict[str, Any] | None = None

    def receive(self, action: Action, publication: Publication) -> None:
        if action is Action.SNAPSHOT:
            self.board = full(publication.board, self.codec)
        elif action is Action.FORWARD:
            assert self.board is not None, "a board was forwarded before any snapshot"
            message = self.codec.decode(frame_payload(publication.frames[self.codec.name]))
            self.board = apply_board(self.board, message)  # MissedBoard fails the test

    def holds(self, board: Board) -> bool:
        return self.board is not None and live(self.board) == live(full(board, self.codec))
