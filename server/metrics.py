"""Prometheus metrics (SPEC §10), on a registry of the app's own so test apps never share counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(slots=True)
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    ws_connections_active: Gauge = field(init=False)
    ws_connect_total: Counter = field(init=False)
    ws_disconnect_total: Counter = field(init=False)
    ws_broadcast_total: Counter = field(init=False)
    ws_broadcast_fail_total: Counter = field(init=False)
    ws_heartbeat_fail_total: Counter = field(init=False)
    ws_fanout_seconds: Histogram = field(init=False)
    clicks_accepted_total: Counter = field(init=False)
    clicks_throttled_total: Counter = field(init=False)
    pushes_total: Counter = field(init=False)
    http_request_duration_seconds: Histogram = field(init=False)
    actor_queue_depth: Gauge = field(init=False)
    actor_turn_seconds: Histogram = field(init=False)
    snapshot_write_seconds: Histogram = field(init=False)
    snapshot_bytes: Gauge = field(init=False)
    players_total: Gauge = field(init=False)
    journal_writable: Gauge = field(init=False)
    gc_pause_seconds: Histogram = field(init=False)
    gc_frozen_objects: Gauge = field(init=False)
    overloaded: Gauge = field(init=False)
    overload_refused_total: Counter = field(init=False)
    overload_shed_addresses: Gauge = field(init=False)
    broadcast_interval_seconds: Gauge = field(init=False)
    cpu_share: Gauge = field(init=False)
    broadcast_load: Gauge = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.ws_connections_active = Gauge(
            "ws_connections_active", "Open WebSocket connections", registry=r
        )
        self.ws_connect_total = Counter("ws_connect_total", "WebSocket connects", registry=r)
        self.ws_disconnect_total = Counter(
            "ws_disconnect_total", "WebSocket disconnects", ["reason"], registry=r
        )
        self.ws_broadcast_total = Counter(
            "ws_broadcast_total", "Board messages sent to clients", registry=r
        )
        self.ws_broadcast_fail_total = Counter(
            "ws_broadcast_fail_total", "Board sends that failed or were dropped", registry=r
        )
        self.ws_heartbeat_fail_total = Counter(
            "ws_heartbeat_fail_total", "Connections closed for a missing pong", registry=r
        )
        self.ws_fanout_seconds = Histogram(
            "ws_fanout_seconds",
            "Time to write one broadcast to every socket",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.clicks_accepted_total = Counter(
            "clicks_accepted_total", "Clicks added to scores", registry=r
        )
        self.clicks_throttled_total = Counter(
            "clicks_throttled_total", "Clicks clipped by the throttle", registry=r
        )
        self.pushes_total = Counter(
            "pushes_total", "Click pushes by result", ["result"], registry=r
        )
        self.http_request_duration_seconds = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route", "status"],
            registry=r,
        )
        self.actor_queue_depth = Gauge(
            "actor_queue_depth", "Messages waiting in the actor's mailbox", registry=r
        )
        self.actor_turn_seconds = Histogram(
            "actor_turn_seconds",
            "Time the actor spends in one turn",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )
        self.snapshot_write_seconds = Histogram(
            "snapshot_write_seconds", "Time to write a snapshot", registry=r
        )
        self.snapshot_bytes = Gauge("snapshot_bytes", "Size of the last snapshot", registry=r)
        self.players_total = Gauge("players_total", "Players in the game", registry=r)
        self.journal_writable = Gauge(
            "journal_writable",
            "1 while changes can be journaled, 0 after a failed write",
            registry=r,
        )
        self.gc_pause_seconds = Histogram(
            "gc_pause_seconds",
            "Garbage collections by generation and how long each stopped the process",
            ["generation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.gc_frozen_objects = Gauge(
            "gc_frozen_objects", "Objects frozen out of the collector (gc.freeze)", registry=r
        )
        self.overloaded = Gauge(
            "overloaded",
            "1 while the event loop cannot keep up: boards slow down, new connections get 503",
            registry=r,
        )
        self.overload_refused_total = Counter(
            "overload_refused_total",
            "Work refused for an overload: new sessions and sockets (503, what=session|ws), "
            "a shed address's requests and connections (429, what=shed_request|shed_connection)",
            ["what"],
            registry=r,
        )
        self.overload_shed_addresses = Gauge(
            "overload_shed_addresses",
            "Client addresses shed now: the heaviest senders of requests during an overload",
            registry=r,
        )
        self.broadcast_interval_seconds = Gauge(
            "broadcast_interval_seconds",
            "The broadcast interval now: BROADCAST_INTERVAL, stretched while fan-outs overrun it",
            registry=r,
        )
        self.broadcast_load = Gauge(
            "broadcast_load",
            "Smoothed (fan-out + the tick's lag) / BROADCAST_INTERVAL: 1 is a loop just keeping up",
            registry=r,
        )
        self.cpu_share = Gauge(
            "cpu_share",
            "Share of one core the server process uses, smoothed over a few seconds",
            registry=r,
        )
