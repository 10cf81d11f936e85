"""Players online across gateways (SPEC §11): each counted once, a silent gateway forgotten."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bus.presence import PresenceBook
from bus.wire import Presence


def test_a_player_on_two_gateways_is_online_once() -> None:
    """Online moves when a player's first socket anywhere opens and their last one closes."""
    book = PresenceBook()
    assert book.take("g1", Presence(joined=["ann"]), 0.0) == 1
    assert book.take("g2", Presence(joined=["ann", "bob"]), 0.0) == 1
    assert book.take("g1", Presence(left=["ann"]), 0.0) == 0
    assert book.take("g2", Presence(left=["ann"]), 0.0) == -1
    assert book.online == 1


def test_a_silent_gateway_takes_its_players_with_it() -> None:
    """A gateway not heard from for the silence is gone; players also elsewhere stay online."""
    book = PresenceBook()
    book.take("g1", Presence(joined=["ann", "bob"]), 0.0)
    book.take("g2", Presence(joined=["bob"]), 0.0)
    book.heard_from("g2", 4.0)
    assert book.forget_silent(5.5, 5.0) == (["g1"], -1)
    assert book.online == 1 and set(book.where) == {"bob"}


def test_a_whole_report_replaces_what_the_gateway_held() -> None:
    """After a (re)join the gateway's whole set replaces the book's view of it."""
    book = PresenceBook()
    book.take("g1", Presence(joined=["ann", "bob"]), 0.0)
    assert book.take("g1", Presence(joined=["bob", "cy"], whole=True), 1.0) == 0
    assert set(book.where) == {"bob", "cy"}


reports = st.lists(
    st.tuples(
        st.sampled_from(["g1", "g2", "g3"]),
        st.lists(st.sampled_from("abcdef"), max_size=4),
        st.lists(st.sampled_from("abcdef"), max_size=4),
        st.booleans(),
    ),
    max_size=40,
)


@given(reports)
def test_online_is_the_players_some_gateway_holds(
    steps: list[tuple[str, list[str], list[str], bool]],
) -> None:
    """Whatever the reports, online equals the players held by at least one gateway, and the
    sum of the deltas equals online."""
    book, total = PresenceBook(), 0
    held: dict[str, set[str]] = {}
    for gateway, joined, left, whole in steps:
        total += book.take(gateway, Presence(joined=joined, left=left, whole=whole), 0.0)
        mine = set() if whole else held.get(gateway, set())
        held[gateway] = (mine | set(joined)) - set(left)
    assert total == book.online == len(set().union(*held.values()) if held else set())
