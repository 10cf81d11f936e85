"""The public state as clients see it: ``/api/snapshot`` and the WebSocket ``snapshot`` message.

Both are built from the actor's published ``Board`` (never from mutable state) plus the settings
a client needs (SPEC §5), so the HTTP and WebSocket views can never drift apart.
"""

from __future__ import annotations

from typing import Any

from engine.view import Board, board_dict
from settings import Settings


def client_settings(settings: Settings) -> dict[str, Any]:
    return {
        "click_push_rate": settings.click_push_rate,
        "max_cps": settings.max_cps,
        "burst_seconds": settings.burst_seconds,
        "broadcast_interval": settings.broadcast_interval,
    }


def snapshot_data(board: Board, settings: Settings) -> dict[str, Any]:
    """``/api/snapshot``'s body; the WebSocket snapshot adds ``me``."""
    data = board_dict(board)
    data["version"] = board.version
    data["settings"] = client_settings(settings)
    return data


def etag(board: Board) -> str:
    """The board's content is a function of the state version and the online count."""
    return f'"{board.state_version}-{board.online}"'
