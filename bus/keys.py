"""The names the game uses in Redis (SPEC §11), in one place; every one starts with ``ctb:``.

Streams are capped (``XADD MAXLEN ~``): a stream holds what its reader has not read yet plus a
margin, never a history. Nothing here ever holds a secret.
"""

from __future__ import annotations

COMMANDS = "ctb:cmd"  # stream: every gateway's calls, read by the engine
COMMAND_CAP = 100_000  # entries: minutes of backlog at full load before the oldest go
REPLY_CAP = 10_000  # entries of one gateway's reply stream
BOARDS = "ctb:board"  # channel: each tick's board publication
LATEST_BOARD = "ctb:board:latest"  # key: the newest publication, for a gateway (re)joining
EVENTS = "ctb:events"  # channel: each turn's round and admin events
ENGINE = "ctb:engine"  # channel: the engine's heartbeat, its figures and readiness


def replies(gateway: str) -> str:
    """The stream of the engine's replies to one gateway."""
    return f"ctb:reply:{gateway}"
