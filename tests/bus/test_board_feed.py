"""The gateway's board follower (SPEC §11): clients hold a whole, real board, whatever arrives.

A hypothesis strategy plays a real game on the engine's side, publishing boards and restarting
the engine (a new epoch), while the network between it and one gateway drops, duplicates and
reorders publications and the gateway now and then reads the latest board (a re-join). After
every delivery, a client that applied what the follower told it to holds exactly the board the
follower says it holds, never an older one than it held before; once the latest publication
arrives, exactly the engine's latest board.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bus.board_feed import Action, BoardFeed
from bus.wire import Publication
from server import ws_protocol as proto
from tests.bus.publisher import Client, Publisher
from tests.server.board_games import NAMES

PLAYER_MOVE = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(NAMES)),
    st.tuples(st.just("push"), st.integers(0, 7), st.integers(1, 12)),
    st.tuples(st.just("wait"), st.floats(0.1, 15.0)),
    st.tuples(st.just("online"), st.integers(-2, 2)),
    st.tuples(st.just("rename"), st.integers(0, 7), st.sampled_from(NAMES)),
    st.tuples(st.just("ban"), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("end_round")),
    st.tuples(st.just("pause"), st.booleans()),
)
# What happens next: the game moves (or not), then the engine or the network does one thing.
NETWORK = st.lists(
    st.tuples(
        st.one_of(st.none(), PLAYER_MOVE),
        st.sampled_from(
            [
                *("publish", "publish", "publish", "restart", "restart"),
                *("deliver", "deliver", "deliver", "duplicate", "drop", "drop", "read_latest"),
            ]
        ),
        st.integers(0, 7),  # which publication in flight: any of them, so they reorder
    ),
    min_size=1,
    max_size=30,
)


class Gateway:
    """One gateway's feed and its clients, each on a subprotocol; it checks every delivery."""

    def __init__(self) -> None:
        self.feed = BoardFeed()
        self.clients = [Client(proto.JSON), Client(proto.MSGPACK)]
        self.shown: tuple[int, int] = (0, 0)  # (epoch, version) of the board the clients hold

    def deliver(self, publication: Publication) -> None:
        action = self.feed.take(publication)
        for client in self.clients:
            client.receive(action, publication)
        if action is not Action.DROP:
            order = (publication.epoch, publication.version)
            assert order > self.shown, "the clients went back to an older board"
            self.shown = order
        held = self.feed.held
        assert held is not None and (held.epoch, held.version) == self.shown
        assert all(client.holds(held.board) for client in self.clients)


@settings(max_examples=300, deadline=None)
@given(steps=NETWORK)
def test_clients_hold_the_engines_board_through_drops_duplicates_reorders_and_restarts(
    steps: list[tuple[Any, str, int]],
) -> None:
    """Every client holds a board the engine published, never an older one than before, and
    ends on the engine's latest."""
    engine, gateway = Publisher(), Gateway()
    in_flight: list[Publication] = []
    for move, kind, pick in steps:
        if move is not None:
            engine.game.step(move)
        if kind == "publish":
            in_flight.append(engine.publish())
        elif kind == "restart":
            engine.restart()
        elif kind == "read_latest" and engine.latest is not None:
            gateway.deliver(engine.latest)
        elif in_flight and kind in ("deliver", "duplicate", "drop"):
            at = pick % len(in_flight)
            publication = in_flight[at] if kind == "duplicate" else in_flight.pop(at)
            if kind != "drop":
                gateway.deliver(publication)
    if engine.latest is None:
        return
    gateway.deliver(engine.latest)  # the next read of the latest board, at the latest
    assert gateway.feed.held == engine.latest


def test_the_first_board_after_joining_is_a_snapshot() -> None:
    """A gateway that holds nothing yet gives its clients the whole board."""
    engine, feed = Publisher(), BoardFeed()
    assert feed.take(engine.publish()) is Action.SNAPSHOT


def test_a_board_building_on_the_held_one_is_forwarded_and_a_repeat_dropped() -> None:
    """The next board of the same epoch goes out as it is; the same board again is dropped."""
    engine, feed = Publisher(), BoardFeed()
    feed.take(engine.publish())
    engine.game.step(("create", "ann"))
    second = engine.publish()
    assert feed.take(second) is Action.FORWARD
    assert feed.take(second) is Action.DROP
    assert (feed.forwarded, feed.dropped) == (1, 1)


def test_a_gap_gives_a_snapshot_and_the_late_board_is_dropped() -> None:
    """A board whose base the clients lack is a gap; the missing one, arriving late, is old."""
    engine, feed = Publisher(), BoardFeed()
    feed.take(engine.publish())
    engine.game.step(("create", "ann"))
    missed = engine.publish()
    engine.game.step(("create", "bob"))
    assert feed.take(engine.publish()) is Action.SNAPSHOT
    assert feed.take(missed) is Action.DROP
    assert feed.gaps == 1


def test_a_new_epoch_gives_a_snapshot_even_when_its_base_matches() -> None:
    """After an engine restart a version number says nothing: the new epoch is a snapshot."""
    engine, feed = Publisher(), BoardFeed()
    feed.take(engine.publish())
    engine.restart()
    engine.game.step(("create", "ann"))
    first = engine.publish()
    engine.game.step(("create", "bob"))
    restarted = engine.publish()  # version 2, base 1: the numbers the gateway holds, an epoch on
    assert (restarted.version, restarted.base) == (2, 1)
    feed.held = Publication(1, 1, 0, {}, first.board)
    assert feed.take(restarted) is Action.SNAPSHOT
    assert feed.epochs == 1


def test_a_straggler_of_an_earlier_epoch_is_dropped() -> None:
    """A board from the engine before the restart, arriving after the new one's, is old."""
    engine, feed = Publisher(), BoardFeed()
    old = engine.publish()
    engine.restart()
    feed.take(engine.publish())
    assert feed.take(old) is Action.DROP
