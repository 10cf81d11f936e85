"""A gateway forwards the engine's frames only when they build on what its clients hold.

Publications come through pub/sub in order but may go missing (a reconnect) and an engine that
starts again begins a new epoch whose versions restart. Whatever arrives, the frames a gateway
forwards must take its clients from exactly the board they hold to exactly the newest one; when
that cannot be shown, it forwards nothing and builds the changes from the two whole boards.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bus.gateway import RemoteGame
from bus.wire import Publication
from engine.rules import Rules
from engine.state import new_state
from engine.view import Board, build_board

STATE = new_state(Rules(), ["earth", "mars"])


def publication(epoch: int, version: int, base: int) -> Publication:
    board = build_board(STATE, version, 0)
    frames = {"json": f"j{epoch}.{version}".encode(), "msgpack": f"m{epoch}.{version}".encode()}
    return Publication(epoch, version, base, frames, board)


def gateway() -> RemoteGame:
    return RemoteGame("redis://127.0.0.1:1/0", "test")  # never connects: only boards are fed


def test_consecutive_publications_are_forwarded_together() -> None:
    """Two publications since the clients' board: both frames, in order."""
    game = gateway()
    for version in (1, 2, 3):
        game._take(publication(7, version, version - 1))
    held = game.recent[0].board
    assert game.board_frames(held, game.board) == {"json": b"j7.2j7.3", "msgpack": b"m7.2m7.3"}


def test_a_gap_forwards_nothing() -> None:
    """A publication missing between the clients' board and the newest: no frames."""
    game = gateway()
    game._take(publication(7, 1, 0))
    held = game.board
    game._take(publication(7, 3, 2))
    assert game.board_frames(held, game.board) is None


def test_a_new_epoch_whose_versions_collide_forwards_nothing() -> None:
    """A new engine's version 5 is not the old one's: the boards are told apart by identity."""
    game = gateway()
    game._take(publication(7, 5, 4))
    held = game.board
    for version in (4, 5, 6):
        game._take(publication(9, version, version - 1))
    assert game.board_frames(held, game.board) is None


steps = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=30)


@given(steps)
def test_forwarded_frames_always_chain_from_the_held_board(plan: list[tuple[bool, bool]]) -> None:
    """Over random drops and engine restarts, frames are forwarded only for an unbroken chain
    of one epoch from the held board, and then they are exactly that chain's frames."""
    game = gateway()
    epoch, version, sent = 1, 0, []
    held: Board | None = None
    for dropped, restart in plan:
        if restart:
            epoch, version = epoch + 1, 0
        version += 1
        published = publication(epoch, version, version - 1 if version > 1 else -1)
        sent.append(published)
        if not dropped:
            game._take(published)
        if held is None and game.recent:
            held = game.board
    if held is None:
        return
    frames = game.board_frames(held, game.board)
    start = next(at for at, p in enumerate(sent) if p.board is held)
    end = next(at for at, p in enumerate(sent) if p.board is game.board)
    chain = sent[start + 1 : end + 1]  # what was published from the held board to the newest
    unbroken = (
        bool(chain)
        and all(p.epoch == sent[start].epoch for p in chain)
        and all(any(p is q for q in game.recent) for p in chain)
    )
    if frames is not None:
        assert unbroken
        assert frames["json"] == b"".join(p.frames["json"] for p in chain)
    else:
        assert not unbroken
