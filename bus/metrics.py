"""A gateway's figures of the bus and of the engine behind it, read at each scrape (SPEC §11).

A collector rather than counters bumped as calls go: the figures are kept as plain numbers by
``bus/gateway.py`` and the engine's heartbeat, and read only when Prometheus asks. Every gateway's
``/metrics`` carries the engine's figures as the heartbeat last gave them, so one scrape of any
gateway shows the whole game's state (players, online, turns, queue, stream length) beside that
gateway's own traffic; the counters of requests and sockets are each gateway's own.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bus.gateway import RemoteGame


class BusCollector(Collector):
    def __init__(self, game: RemoteGame) -> None:
        self.game = game

    def collect(self) -> Iterator[Metric]:
        game = self.game
        alive = game.alive
        figures = alive.get("figures") or {}
        yield GaugeMetricFamily(
            "bus_redis_reachable", "1 while this process reaches Redis", game.health.reachable
        )
        yield GaugeMetricFamily(
            "bus_engine_reachable", "1 while the engine's heartbeat is heard", game.engine_heard
        )
        yield CounterMetricFamily("bus_calls", "Calls sent to the engine", game.sent)
        yield CounterMetricFamily("bus_replies", "Replies read from the engine", game.answered)
        yield CounterMetricFamily(
            "bus_call_timeouts", "Calls answered 503 for want of a reply in time", game.timeouts
        )
        yield GaugeMetricFamily("bus_calls_pending", "Calls waiting for a reply", len(game.pending))
        yield GaugeMetricFamily(
            "bus_reply_seconds", "Smoothed seconds from a call to its reply", game.latency
        )
        yield GaugeMetricFamily(
            "bus_behind", "1 while new sessions and sockets wait for the engine", bool(game.behind)
        )
        yield GaugeMetricFamily(
            "bus_board_gaps",
            "Boards sent whole after publications went missing or a new engine started",
            game.feed.gaps + game.feed.epochs,
        )
        yield GaugeMetricFamily(
            "bus_connections_elsewhere",
            "Connections other gateways hold from the busy client addresses this one also serves",
            sum(game.presence.elsewhere.values()),
        )
        yield CounterMetricFamily(
            "engine_commands", "Calls the engine read, every gateway's", alive.get("commands", 0)
        )
        yield GaugeMetricFamily(
            "engine_command_stream_length",
            "Entries in the command stream (capped)",
            alive.get("stream_length", 0),
        )
        yield GaugeMetricFamily(
            "engine_queue_depth",
            "Messages waiting in the engine's actor",
            figures.get("actor_queue_depth", 0),
        )
        yield CounterMetricFamily(
            "engine_turns", "The engine's turns", figures.get("actor_turns", 0)
        )
        yield GaugeMetricFamily(
            "engine_journal_writable",
            "1 while the engine's journal takes writes",
            figures.get("journal_writable", False),
        )
        yield GaugeMetricFamily(
            "engine_online", "Players online, counted once across gateways", alive.get("online", 0)
        )


def register(registry: CollectorRegistry, game: RemoteGame) -> None:
    registry.register(BusCollector(game))
