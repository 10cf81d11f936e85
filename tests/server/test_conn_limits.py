"""Making room at the descriptor budget (server/conn_limits.py): who is closed first."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.conn_limits import ConnLimits, Counts


@dataclass(eq=False)
class Conn:
    """A connection as the limits see one: it can be closed, and it may be idle."""

    limits: ConnLimits
    key: str | None
    waiting: bool = False  # between requests
    evicted: list[str] = field(default_factory=list)

    def evict(self, reason: str) -> None:
        self.evicted.append(reason)
        self.limits.release(self, self.key)

    def idle(self) -> bool:
        return self.waiting


def limits(max_total: int, per_address: int = 100) -> ConnLimits:
    return ConnLimits(per_address=Counts(per_address), per_player=Counts(1), max_total=max_total)


def connect(lim: ConnLimits, key: str | None = "198.51.100.1") -> tuple[Conn, str | None]:
    conn = Conn(lim, key)
    return conn, lim.admit(conn, key)


def test_at_the_budget_the_oldest_connection_that_never_completed_a_request_goes() -> None:
    """A full budget closes the oldest unused connection for the new one, not a served one."""
    lim = limits(3)
    served, _ = connect(lim)
    lim.lineup.served(served)
    first, _ = connect(lim, "203.0.113.1")
    second, _ = connect(lim, "203.0.113.2")
    _, refused = connect(lim, "192.0.2.9")
    assert refused is None
    assert first.evicted == ["unused"] and second.evicted == [] and served.evicted == []
    assert lim.total == 3
    assert lim.per_address.open == {"198.51.100.1": 1, "203.0.113.2": 1, "192.0.2.9": 1}


def test_then_the_longest_idle_kept_alive_connection_goes() -> None:
    """With every connection served, the one idle between requests the longest goes first;
    one busy with a request is passed over."""
    lim = limits(3)
    conns = [connect(lim, f"203.0.113.{i}")[0] for i in range(3)]
    for conn in conns:
        lim.lineup.served(conn)
    conns[1].waiting = conns[2].waiting = True  # conns[0] is handling a request
    lim.lineup.served(conns[1])  # its latest request came after conns[2]'s
    _, refused = connect(lim)
    assert refused is None
    assert [c.evicted for c in conns] == [[], [], ["idle"]]


def test_with_nobody_to_close_the_new_connection_is_refused() -> None:
    """WebSockets and busy connections are never closed for room: the newcomer gets 503."""
    lim = limits(2)
    for i in range(2):
        conn, _ = connect(lim, f"203.0.113.{i}")
        lim.lineup.left(conn)  # became a WebSocket
    _, refused = connect(lim, "192.0.2.9")
    assert refused == "server_full"
    assert lim.total == 2 and "192.0.2.9" not in lim.per_address.open


def test_the_per_address_cap_refuses_before_anyone_is_closed() -> None:
    """An address at its cap is refused without closing anybody to make room."""
    lim = limits(2, per_address=1)
    mine, _ = connect(lim)
    other, _ = connect(lim, "203.0.113.1")
    _, refused = connect(lim)
    assert refused == "per_address"
    assert mine.evicted == other.evicted == []
