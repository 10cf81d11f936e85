"""Every setting of SPEC §10, read from flags and the environment (flags win) and validated once.

A bad value stops start-up with a message that names the setting and says what is allowed, the
way Phoenix's ``init`` refuses an inconsistent configuration with a sentence.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.rules import DEFAULT_RULES, MAX_ROUND_SECONDS, MAX_ROUND_TARGET, Rules
from setting_values import (
    DEFAULT_ADMIN,
    Network,
    SettingsError,
    admin_tokens,
    choice,
    gateway_id,
    host,
    key,
    networks,
    number,
    path,
    redis_url,
    text,
)

FSYNC_MODES = ("always", "everysec", "no")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


DISTRIBUTION = "click-the-button"  # the name in setup.cfg, under which pip records the version


def package_version() -> str:
    """The installed version from the package's metadata, so it is written only in setup.cfg."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # a checkout run without `pip install`
        return "unknown (not installed)"


def _shipped_planets() -> Path:
    """The shipped planets: ``data/planets.json`` beside this file in a checkout, or the same file
    installed as the ``ctb_defaults`` package beside this module (setup.cfg maps data/ onto it)."""
    here = Path(__file__).parent
    checkout = here / "data" / "planets.json"
    return checkout if checkout.is_file() else here / "ctb_defaults" / "planets.json"


SHIPPED_PLANETS = _shipped_planets()


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 8080
    data_dir: Path = Path("./data")
    click_push_rate: float = DEFAULT_RULES.click_push_rate
    max_cps: int = DEFAULT_RULES.max_cps
    burst_seconds: float = DEFAULT_RULES.burst_seconds
    broadcast_interval: float = 0.25
    snapshot_interval: float = 2.0
    round_target: int = DEFAULT_RULES.round_target
    round_seconds: float = DEFAULT_RULES.round_seconds
    round_break_seconds: float = DEFAULT_RULES.round_break_seconds
    sessions_per_minute: int = 10
    trusted_proxies: tuple[Network, ...] = field(default_factory=tuple)
    fsync: str = "everysec"
    secret_key: str | None = None
    admin_token: str | None = None
    # ADMIN_TOKENS: (name, token) of each named admin (README, docs/admin.md); ADMIN_TOKEN's is
    # named "admin".
    admin_tokens: tuple[tuple[str, str], ...] = ()
    log_level: str = "INFO"
    planets_file: Path = SHIPPED_PLANETS
    start_empty: bool = False
    # Connection limits (docs/operations.md). A real page holds one socket and a few HTTP
    # connections; these only stop one client from holding the server's memory or descriptors.
    ws_buffer_limit: int = 1024 * 1024  # unsent bytes a socket may hold before it is closed 1013
    ws_max_per_player: int = 32  # open sockets of one player
    max_connections_per_address: int = 1000  # open connections (HTTP and WebSocket) per client
    header_timeout: float = 10.0  # seconds to send a request's headers, or the connection closes
    body_timeout: float = 10.0  # seconds from a request's head to the end of its body, likewise
    # Reads that enter the game (your player, the ranks around you, a ws-token) per client
    # address: a bucket of READ_BURST refilled at READ_RATE a second, then 429. The public
    # reads (snapshot, leaderboard, rounds) come from a cache and are not counted.
    read_rate: float = 20.0
    read_burst: int = 60
    # Share of one core the process may use, smoothed, before new sessions and sockets get 503
    # (server/overload.py): the rest of the core answers the players already connected.
    overload_cpu: float = 0.93
    # While overloaded, an address sending a quarter of the requests and more than this many a
    # second gets 429 for a while (server/address_load.py); 0 never sheds (a load test from one
    # machine, say).
    shed_rate: float = 50.0
    # WebSocket rules of SPEC §6, not for operators to change; tests shrink them.
    ws_heartbeat: float = 20.0  # ping after this long without a frame; pong due in half of it
    ws_bad_limit: int = 20  # more bad messages than this ...
    ws_bad_window: float = 60.0  # ... within this many seconds closes with 1008
    ws_slow_ticks: int = 2  # broadcast ticks in a row over the buffer limit before a 1013
    ws_frame_limit: int = 64 * 1024  # aiohttp closes (1009) on bigger frames; 4 KiB+ get `error`
    # The kernel's send buffer per socket. Left to autotuning it grows to megabytes, all of it
    # invisible to the buffer limit; kept small, a client that stops reading shows up in the
    # transport's buffer within a few boards. 64 KiB is many seconds of boards.
    ws_send_buffer: int | None = 64 * 1024
    # `resync` answers with a whole snapshot: a client gets this many at once, then one more
    # every interval; more count as bad messages.
    ws_resync_burst: int = 5
    ws_resync_interval: float = 1.0
    # Admin API (README, Admin API): requests a second per admin token, the bucket's size, and
    # seconds the actor waits between two steps of a bulk job (0: one event-loop iteration).
    admin_rate: float = 20.0
    admin_burst: int = 60
    # Players a second an admin's listings may scan (server/admin/auth.py, the read budget).
    admin_scan_rate: float = 20_000_000.0
    admin_bulk_pace: float = 0.0
    admin_metrics_interval: float = 5.0  # the admin socket's figures (SPEC §8); tests shrink it
    # The garbage collector (server/gc_policy.py): "tuned" freezes the long-lived heap;
    # "default" keeps CPython's own behaviour, to compare.
    gc_policy: str = "tuned"
    # Many processes (SPEC §11): unset REDIS_URL is the single process of sections 1-10.
    redis_url: str | None = None
    role: str = "all"  # all: engine + gateways under one parent; engine; gateway
    gateways: int = field(default_factory=lambda: os.cpu_count() or 1)
    gateway_id: str | None = None  # a gateway's name on the bus; unset: host name and process id
    bus_shed_latency: float = 0.5  # seconds of smoothed reply time past which gateways shed
    # Built once from the fields above (``__post_init__``); every part of the server reads this.
    rules: Rules = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = Rules(
            click_push_rate=self.click_push_rate,
            max_cps=self.max_cps,
            burst_seconds=self.burst_seconds,
            round_target=self.round_target,
            round_seconds=self.round_seconds,
            round_break_seconds=self.round_break_seconds,
        )
        object.__setattr__(self, "rules", rules)  # frozen: the one assignment, at creation


def _check_admins(values: dict[str, Any]) -> None:
    """ADMIN_TOKEN's admin is named "admin": ADMIN_TOKENS may not name another one so."""
    single, named = values.get("admin_token"), values.get("admin_tokens", ())
    if single is not None and any(a == DEFAULT_ADMIN or t == single for a, t in named):
        raise SettingsError(
            f"ADMIN_TOKENS may not name an admin {DEFAULT_ADMIN!r} or reuse ADMIN_TOKEN: "
            f"ADMIN_TOKEN's admin is {DEFAULT_ADMIN!r}"
        )


# (setting, parser, help): the environment variable is the upper-case name, the flag the
# lower-case name with dashes.
SPECS: list[tuple[str, Callable[[str, str], Any], str]] = [
    ("HOST", host, "address to listen on"),
    ("PORT", number(int, 1, 65535), "TCP port"),
    ("DATA_DIR", path, "directory for the snapshot, journal, keys and tokens"),
    (
        "CLICK_PUSH_RATE",
        number(float, 0.05, 60),
        "seconds between click pushes from a page",
    ),
    ("MAX_CPS", number(int, 1, 1000), "clicks per second a player may make"),
    ("BURST_SECONDS", number(float, 0, 3600), "seconds of clicks a player may save up"),
    ("BROADCAST_INTERVAL", number(float, 0.01, 60), "seconds between board broadcasts"),
    ("SNAPSHOT_INTERVAL", number(float, 0.05, 3600), "seconds between snapshot checks"),
    (
        "ROUND_TARGET",
        number(int, 1, MAX_ROUND_TARGET),
        "clicks a planet needs to win a round",
    ),
    ("ROUND_SECONDS", number(float, 1, MAX_ROUND_SECONDS), "longest round, in seconds"),
    ("ROUND_BREAK_SECONDS", number(float, 0, 3600), "break between rounds, in seconds"),
    (
        "SESSIONS_PER_MINUTE",
        number(int, 1, 100000),
        "new sessions per client address a minute",
    ),
    ("TRUSTED_PROXIES", networks, "proxies whose X-Forwarded-For is believed (comma list)"),
    ("FSYNC", choice(FSYNC_MODES), "journal fsync policy: always, everysec or no"),
    (
        "SECRET_KEY",
        key(32),
        "JWT HS256 key, 32 bytes or more (default: generated in DATA_DIR)",
    ),
    (
        "ADMIN_TOKEN",
        text(16),
        "admin bearer token, its admin named admin (default: generated once in DATA_DIR "
        "unless ADMIN_TOKENS is set)",
    ),
    (
        "ADMIN_TOKENS",
        admin_tokens,
        "named admin tokens, name:token,... (names 1-32 of A-Z a-z 0-9 _ . -, tokens 16+ "
        "characters); the audit and the logs name each admin",
    ),
    ("LOG_LEVEL", choice(LOG_LEVELS, upper=True), "DEBUG, INFO, WARNING or ERROR"),
    ("PLANETS_FILE", path, "JSON list of planet names"),
    (
        "WS_BUFFER_LIMIT",
        number(int, 4096, 2**30),
        "unsent bytes a WebSocket may hold (1013)",
    ),
    ("WS_MAX_PER_PLAYER", number(int, 1, 100000), "open WebSockets per player"),
    (
        "MAX_CONNECTIONS_PER_ADDRESS",
        number(int, 1, 10**6),
        "open connections (HTTP and WebSocket) per client address",
    ),
    (
        "HEADER_TIMEOUT",
        number(float, 0.1, 3600),
        "seconds a client has to send its headers",
    ),
    (
        "BODY_TIMEOUT",
        number(float, 0.1, 3600),
        "seconds a client has to send a request's body, from the end of its headers",
    ),
    (
        "READ_RATE",
        number(float, 0.1, 100000),
        "reads of your player, ranks around you and ws-tokens a second per address (429 beyond)",
    ),
    ("READ_BURST", number(int, 1, 100000), "such reads allowed at once per address"),
    (
        "OVERLOAD_CPU",
        number(float, 0.01, 1000),
        "share of one core in use above which new sessions and sockets get 503",
    ),
    (
        "SHED_RATE",
        number(float, 0, 10**6),
        "requests a second above which an address with a quarter of all requests is shed "
        "(429) during an overload; 0: never",
    ),
    ("ADMIN_RATE", number(float, 0.1, 100000), "admin API requests a second (429 beyond)"),
    ("ADMIN_BURST", number(int, 1, 100000), "admin API requests allowed at once"),
    (
        "ADMIN_SCAN_RATE",
        number(float, 1000, 10**12),
        "players a second an admin's player listings may scan (429 beyond)",
    ),
    ("ADMIN_BULK_PACE", number(float, 0, 60), "seconds between two steps of a bulk job"),
    (
        "ADMIN_METRICS_INTERVAL",
        number(float, 0.5, 60),
        "seconds between two samples of the admin figures (socket pushes, 10-minute history)",
    ),
    ("GC_POLICY", choice(("tuned", "default")), "garbage collector: tuned or default"),
    (
        "REDIS_URL",
        redis_url,
        "Redis joining one engine and many gateways (unset: one process)",
    ),
    (
        "ROLE",
        choice(("all", "engine", "gateway")),
        "with REDIS_URL: all, engine or gateway",
    ),
    (
        "GATEWAYS",
        number(int, 1, 256),
        "with ROLE=all: gateway processes (default: the cores)",
    ),
    ("GATEWAY_ID", gateway_id, "a gateway's name on the bus (default: host name and pid)"),
    (
        "BUS_SHED_LATENCY",
        number(float, 0.0, 60),
        "seconds of smoothed reply time from the engine past which a gateway refuses new players",
    ),
]


def _default(name: str) -> Any:
    value = getattr(Settings(), name.lower())
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def build_parser() -> argparse.ArgumentParser:
    # The program's name comes from how it was started: run.py, or the installed command.
    parser = argparse.ArgumentParser(
        description="Click the Button server. Every setting is also an environment variable; "
        "a flag wins over the environment.",
    )
    for name, _, help_text in SPECS:
        parser.add_argument(
            "--" + name.lower().replace("_", "-"),
            dest=name,
            metavar=name,
            default=None,
            help=f"{help_text} [env {name}] (default: {_default(name) or 'unset'})",
        )
    parser.add_argument(
        "--start-empty",
        action="store_true",
        help="start with an empty game when no valid saved state can be loaded",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser


def load(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read flags, then the environment, then defaults; raise SettingsError on a bad value."""
    environ = os.environ if environ is None else environ
    args = build_parser().parse_args(argv)
    values: dict[str, Any] = {}
    for name, parse, _ in SPECS:
        raw = getattr(args, name)
        if raw is None:
            raw = environ.get(name)
        if raw is None:
            continue
        values[name.lower()] = parse(name, raw)
    values["start_empty"] = bool(args.start_empty)
    _check_admins(values)
    return Settings(**values)
